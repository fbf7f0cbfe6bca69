import assert from 'node:assert/strict';
import { mkdtempSync } from 'fs';
import os = require('os');
import path = require('path');
import { customEndpointHost, KeapEndpoints, sameEndpoint } from '../../src/keap/endpoints';
import { KeapError } from '../../src/keap/errors';
import { FetchLike, KeapTokenClient } from '../../src/keap/tokenClient';
import { SILENT_LOGGER } from '../../src/log';
import { FileLock } from '../../src/session/fileLock';
import { Refresher } from '../../src/session/refresher';
import { outcomeOf } from '../../src/session/refreshSchedule';
import { parseStoredTokenSet, serializeTokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FileSessionStore } from '../support/fileSessionStore';
import { signInServiceFor } from '../support/signInService';

/**
 * Tokens stay bound to where they came from (issue 10 point 2; RFC 9700 §4.4, mix-up attacks):
 * the refresh token and the client secret go only to the token endpoint that issued them, and
 * every endpoint is checked before every request. `other` is a second real HTTP server that
 * records whatever reaches it: in every test it must receive nothing.
 */
describe('tokens stay bound to the token endpoint that issued them', () => {
  let keap: FakeKeap;
  let other: FakeKeap;
  let dir: string;
  let store: FileSessionStore;
  /** What the user's settings say now; tests change it as a settings change would. */
  let configured: KeapEndpoints;
  let client: KeapTokenClient;

  beforeEach(async () => {
    keap = await startFakeKeap();
    other = await startFakeKeap();
    configured = { authorizeUrl: keap.authorizeUrl, tokenUrl: keap.tokenUrl, apiBaseUrl: keap.apiBaseUrl };
    client = new KeapTokenClient({ endpoints: () => configured, timeoutMs: () => 2000 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'keap-binding-'));
    store = new FileSessionStore(path.join(dir, 'session.json'));
  });
  afterEach(async () => {
    await keap.close();
    await other.close();
  });

  const refresher = () =>
    new Refresher({
      store, tokenClient: client, log: SILENT_LOGGER, now: Date.now,
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      lock: () => new FileLock(path.join(dir, 'refresh.lock'), { staleMs: 10_000 }).acquire(5000),
    });
  const tokenRequests = (f: FakeKeap) => f.requests.filter(r => r.path === '/token').length;

  async function signedIn() {
    const redirectUri = 'http://localhost:1/callback';
    const set = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(keap, redirectUri, 's'), redirectUri });
    await store.write(set);
    return set;
  }

  it('a new token set remembers the token endpoint that issued it, through storage', async () => {
    const set = await signedIn();
    assert.equal(set.tokenUrl, keap.tokenUrl);
    assert.equal(parseStoredTokenSet(serializeTokenSet(set), Date.now()).tokenUrl, keap.tokenUrl);
  });

  it('after the token endpoint setting changes, refresh sends nothing anywhere, keeps the tokens and says to sign in again', async () => {
    const set = await signedIn();
    const before = tokenRequests(keap);
    configured = { authorizeUrl: other.authorizeUrl, tokenUrl: other.tokenUrl, apiBaseUrl: other.apiBaseUrl };
    await assert.rejects(refresher().refresh(set), (e: unknown) => {
      assert.ok(e instanceof KeapError);
      assert.equal(e.kind, 'bad-configuration');
      assert.equal(e.details.error, 'endpoint-changed');
      assert.match(e.message, /Sign in again/);
      assert.match(e.message, new RegExp(new URL(other.tokenUrl).host.replace(/\./g, '\\.')));
      return true;
    });
    assert.equal(other.requests.length, 0, 'the other server received nothing');
    const refusal = await refresher().refresh(set).catch((e: unknown) => e);
    assert.deepEqual(
      { ...(outcomeOf(refusal) as object), message: undefined },
      { kind: 'refusal', cause: 'bad-configuration', resume: 'sign-in', message: undefined },
      'automatic refresh pauses until the user signs in again (or sets the endpoint back)',
    );
    assert.equal(tokenRequests(keap), before, 'the issuing server received nothing either');
    const kept = await store.read();
    assert.equal(kept?.refreshToken, set.refreshToken);
    assert.equal(kept?.refreshTokenRejectedAt, undefined, 'not marked dead: the refresh token was never spent');
    // Setting it back makes the same refresh token work: it was never spent.
    configured = { authorizeUrl: keap.authorizeUrl, tokenUrl: keap.tokenUrl, apiBaseUrl: keap.apiBaseUrl };
    assert.equal((await refresher().refresh(set)).kind, 'refreshed');
  });

  it('a trailing slash or letter case in the setting is the same endpoint', () => {
    assert.ok(sameEndpoint('https://api.infusionsoft.com/token', 'https://API.infusionsoft.com/token/'));
    assert.ok(!sameEndpoint('https://api.infusionsoft.com/token', 'https://api.infusionsoft.com.evil.example/token'));
    assert.ok(!sameEndpoint('https://api.infusionsoft.com/token', 'https://api.infusionsoft.com:8443/token'));
    assert.ok(!sameEndpoint('https://api.infusionsoft.com/token', 'http://api.infusionsoft.com/token'));
  });

  it('a 0.1 token set (no endpoint stored) is bound to the configured endpoint at its first refresh', async () => {
    const set = await signedIn();
    const { tokenUrl: _dropped, ...legacy } = set;
    await store.write(legacy);
    const r = await refresher().refresh(legacy);
    assert.equal(r.kind, 'refreshed');
    assert.equal((await store.read())?.tokenUrl, keap.tokenUrl);
  });

  it('the code is exchanged at the token endpoint of the sign-in that was started, even if the setting changed while the browser was open', async () => {
    const redirectUri = 'http://localhost:53123/callback';
    const { svc } = signInServiceFor({ fake: keap, dir, sessions: store, log: SILENT_LOGGER, tokenClient: client });
    await svc.begin({ state: 'st', redirectUri, clientId: DEMO_CLIENT.clientId, tokenUrl: keap.tokenUrl, flow: 'loopback', createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
    const code = await authorizationCode(keap, redirectUri, 'st');
    configured = { authorizeUrl: other.authorizeUrl, tokenUrl: other.tokenUrl, apiBaseUrl: keap.apiBaseUrl };
    const r = await svc.handle({ kind: 'code', code, state: 'st' }, 'uri-handler');
    assert.equal(r.kind, 'signed-in');
    assert.equal(tokenRequests(other), 0);
    assert.equal((await store.read())?.tokenUrl, keap.tokenUrl);
  });

  it('every request checks its endpoint first: plain http to a host that is not loopback sends nothing', async () => {
    const calls: string[] = [];
    const recording: FetchLike = async url => {
      calls.push(url);
      throw new Error('must not be called');
    };
    const c = new KeapTokenClient({
      endpoints: () => ({ authorizeUrl: 'http://203.0.113.9/auth', tokenUrl: 'http://203.0.113.9/token', apiBaseUrl: 'http://203.0.113.9/crm/rest' }),
      timeoutMs: () => 1000,
      fetch: recording,
    });
    const isBadConfig = (e: unknown) => e instanceof KeapError && e.kind === 'bad-configuration' && /nothing was sent/.test(e.message);
    await assert.rejects(c.refresh({ ...DEMO_CLIENT, refreshToken: 'R' }), isBadConfig);
    await assert.rejects(c.refresh({ ...DEMO_CLIENT, refreshToken: 'R', tokenUrl: 'ftp://203.0.113.9/token' }), isBadConfig);
    await assert.rejects(c.exchangeCode({ ...DEMO_CLIENT, code: 'C', redirectUri: 'http://localhost:1/callback' }), isBadConfig);
    await assert.rejects(c.userInfo('ACCESS'), isBadConfig);
    assert.deepEqual(calls, []);
  });

  it('names an endpoint that is not Keap\'s own host, so the status bar and tree can show it', () => {
    assert.equal(customEndpointHost('https://api.infusionsoft.com/token'), undefined);
    assert.equal(customEndpointHost('https://accounts.infusionsoft.com/app/oauth/authorize'), undefined);
    assert.equal(customEndpointHost('http://127.0.0.1:8099/token'), '127.0.0.1:8099');
    assert.equal(customEndpointHost('http://api.infusionsoft.com/token'), 'api.infusionsoft.com');
    assert.equal(customEndpointHost('https://api.infusionsoft.com:8443/token'), 'api.infusionsoft.com:8443');
    assert.equal(customEndpointHost('https://api.infusionsoft.com.evil.example/token'), 'api.infusionsoft.com.evil.example');
    assert.equal(customEndpointHost(undefined), undefined);
  });
});
