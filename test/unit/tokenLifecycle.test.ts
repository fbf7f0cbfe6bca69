import assert from 'node:assert/strict';
import { mkdtempSync } from 'fs';
import os = require('os');
import path = require('path');
import { KeapError } from '../../src/keap/errors';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { ClaimRegistry, FileLock } from '../../src/session/fileLock';
import { Refresher } from '../../src/session/refresher';
import { PendingSignIn } from '../../src/signin/pending';
import { SignInOutcome, SignInService } from '../../src/signin/signInService';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FileSessionStore } from '../support/fileSessionStore';

/** A logger that keeps every line, to check that no token or secret ever reaches it. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (l: string) => lines.push(l);
  return { lines, trace: push, debug: push, info: push, warn: push, error: push };
}

describe('token client, sign-in service and refresher against the fake Keap server', () => {
  let fake: FakeKeap;
  let dir: string;
  let log: ReturnType<typeof recordingLogger>;
  let client: KeapTokenClient;
  let store: FileSessionStore;

  beforeEach(async () => {
    fake = await startFakeKeap();
    dir = mkdtempSync(path.join(os.tmpdir(), 'keap-unit-'));
    log = recordingLogger();
    client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 2000, log });
    store = new FileSessionStore(path.join(dir, 'session.json'));
  });
  afterEach(async () => {
    await fake.close();
  });

  const codeFor = (redirectUri: string, state: string) => authorizationCode(fake, redirectUri, state);

  function service(outcomes: SignInOutcome[], pending: PendingSignIn[] = []) {
    const claims = new ClaimRegistry(path.join(dir, 'claims'));
    return new SignInService({
      now: Date.now,
      log,
      tokenClient: client,
      pending: { read: async () => [...pending], write: async l => void pending.splice(0, pending.length, ...l) },
      sessions: store,
      claim: s => claims.claim(s),
      wasClaimed: s => claims.wasClaimed(s),
      credentials: async id => (id === DEMO_CLIENT.clientId ? { clientId: id, clientSecret: DEMO_CLIENT.clientSecret } : undefined),
      publishOutcome: async o => void outcomes.push(o),
    });
  }

  /** A service with one sign-in of the demo client started, waiting for its answer. */
  async function started(state: string, redirectUri: string, flow: PendingSignIn['flow']) {
    const outcomes: SignInOutcome[] = [];
    const pending: PendingSignIn[] = [];
    const svc = service(outcomes, pending);
    await svc.begin({ state, redirectUri, clientId: DEMO_CLIENT.clientId, flow, createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
    return { svc, outcomes, pending };
  }

  it('exchanges a code with the exact redirect URI and stores the set; a replay is a quiet duplicate (K6, K8)', async () => {
    const redirectUri = 'http://localhost:53123/callback';
    const { svc, outcomes, pending } = await started('st-1', redirectUri, 'loopback');
    const code = await codeFor(redirectUri, 'st-1');
    const r = await svc.handle({ kind: 'code', code, state: 'st-1' }, 'uri-handler');
    assert.equal(r.kind, 'signed-in');
    const stored = await store.read();
    assert.equal(stored?.appName, 'ab123');
    assert.ok(fake.liveTokens().some(t => t.accessToken === stored?.accessToken));
    assert.equal(pending.length, 0);
    assert.equal((await svc.handle({ kind: 'code', code, state: 'st-1' }, 'uri-handler')).kind, 'duplicate');
    assert.equal(fake.requests.filter(q => q.path === '/token').length, 1);
    assert.deepEqual(outcomes.map(o => o.ok), [true]);
  });

  it('a mistyped bare code leaves the sign-in waiting; the right answer then completes it, once', async () => {
    const redirectUri = 'http://localhost:53124/callback';
    const { svc, outcomes, pending } = await started('st-bare', redirectUri, 'paste');
    const typo = await svc.handle({ kind: 'code', code: 'test', state: undefined }, 'paste');
    assert.equal(typo.kind, 'rejected-code');
    assert.equal(pending.length, 1, 'still waiting');
    assert.equal(outcomes.length, 0, 'no outcome ends the sign-in');
    const code = await codeFor(redirectUri, 'st-bare');
    const r = await svc.handle({ kind: 'code', code, state: undefined }, 'paste');
    assert.equal(r.kind, 'signed-in');
    assert.equal(pending.length, 0);
    assert.deepEqual(outcomes.map(o => o.ok), [true]);
    // The same answer arriving with its state afterwards (the relay, say) is a duplicate.
    assert.equal((await svc.handle({ kind: 'code', code, state: 'st-bare' }, 'uri-handler')).kind, 'duplicate');
    assert.equal(fake.requests.filter(q => q.path === '/token' && q.status === 200).length, 1);
  });

  it('K5: a rejected secret is reported as bad client credentials and the session stays', async () => {
    await store.write({ accessToken: 'OLD', refreshToken: 'OLDR', accessTokenExpiresAt: Date.now() + 1000, refreshTokenIssuedAt: Date.now(), scope: '', appName: 'x', clientId: 'c' });
    const outcomes: SignInOutcome[] = [];
    const claims = new ClaimRegistry(path.join(dir, 'claims'));
    const pending: PendingSignIn[] = [];
    const svc = new SignInService({
      now: Date.now, log, tokenClient: client, sessions: store,
      pending: { read: async () => [...pending], write: async l => void pending.splice(0, pending.length, ...l) },
      claim: s => claims.claim(s), wasClaimed: s => claims.wasClaimed(s),
      credentials: async id => ({ clientId: id, clientSecret: 'wrong' }),
      publishOutcome: async o => void outcomes.push(o),
    });
    const redirectUri = 'https://relay.example/';
    await svc.begin({ state: 's', redirectUri, clientId: DEMO_CLIENT.clientId, flow: 'relay', createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
    const r = await svc.handle({ kind: 'code', code: await codeFor(redirectUri, 's'), state: 's' }, 'uri-handler');
    assert.equal(r.kind === 'failed' && r.outcome.kind, 'bad-client-credentials');
    assert.match(r.kind === 'failed' ? r.outcome.message : '', /client ID or client secret/);
    assert.doesNotMatch(r.kind === 'failed' ? r.outcome.message : '', /expired/);
    assert.equal((await store.read())?.accessToken, 'OLD');
  });

  it('refresh rotates the pair, stores it, and a stale caller sends nothing (K1)', async () => {
    const redirectUri = 'http://localhost:1/callback';
    await store.write(await client.exchangeCode({ ...DEMO_CLIENT, code: await codeFor(redirectUri, 'x'), redirectUri }));
    const first = (await store.read())!;
    const refresher = new Refresher({
      store, tokenClient: client, log, now: Date.now,
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      lock: () => new FileLock(path.join(dir, 'refresh.lock'), { staleMs: 10_000 }).acquire(5000),
    });
    const r1 = await refresher.refresh(first);
    assert.equal(r1.kind, 'refreshed');
    const second = (await store.read())!;
    assert.notEqual(second.refreshToken, first.refreshToken);
    // A window that still holds the first set asks again: nothing is sent, it gets the stored set.
    const before = fake.requests.length;
    const r2 = await refresher.refresh(first);
    assert.equal(r2.kind, 'already-refreshed');
    assert.equal(fake.requests.length, before);
    assert.equal(r2.kind === 'already-refreshed' && r2.tokenSet.refreshToken, second.refreshToken);
  });

  it('a window whose storage view lags behind another window\'s write sends nothing and overwrites nothing (K1 in code-server)', async () => {
    const redirectUri = 'http://localhost:3/callback';
    await store.write({ ...(await client.exchangeCode({ ...DEMO_CLIENT, code: await codeFor(redirectUri, 'z'), redirectUri })), generation: 'g1' });
    const stale = (await store.read())!;
    // Another window rotates and records generation g2; this window's view still returns g1.
    await store.write({ ...(await client.refresh({ ...DEMO_CLIENT, refreshToken: stale.refreshToken })), generation: 'g2' });
    const lagging = { read: async () => stale, write: (s: Parameters<FileSessionStore['write']>[0]) => store.write(s), clear: () => store.clear(), isCurrent: async (s: { generation?: string }) => s.generation === 'g2' };
    const refresher = new Refresher({
      store: lagging, tokenClient: client, log, now: Date.now,
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      lock: () => new FileLock(path.join(dir, 'refresh.lock'), { staleMs: 10_000 }).acquire(5000),
    });
    const before = fake.requests.filter(r => r.path === '/token').length;
    const r = await refresher.refresh(stale);
    assert.equal(r.kind, 'stale-view');
    assert.equal(fake.requests.filter(r => r.path === '/token').length, before, 'no request with the old refresh token');
    const kept = (await store.read())!;
    assert.equal(kept.generation, 'g2');
    assert.ok(fake.liveTokens().some(t => t.refreshToken === kept.refreshToken), 'the session is alive');
  });

  it('a dead refresh token is declared only after re-reading storage, and keeps the account visible', async () => {
    await store.write({ accessToken: 'A', refreshToken: 'never-issued', accessTokenExpiresAt: Date.now() + 1000, refreshTokenIssuedAt: Date.now(), scope: 'full|ab123.infusionsoft.com', appName: 'ab123', clientId: DEMO_CLIENT.clientId });
    const refresher = new Refresher({
      store, tokenClient: client, log, now: Date.now,
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      lock: () => new FileLock(path.join(dir, 'refresh.lock'), { staleMs: 10_000 }).acquire(5000),
    });
    await assert.rejects(refresher.refresh(undefined), (e: unknown) => e instanceof KeapError && e.kind === 'dead-refresh-token');
    const after = await store.read();
    assert.equal(after?.appName, 'ab123');
    assert.ok(after?.refreshTokenRejectedAt);
  });

  it('throttled and transient answers keep the tokens', async () => {
    await store.write({ accessToken: 'A', refreshToken: 'R', accessTokenExpiresAt: Date.now() + 1000, refreshTokenIssuedAt: Date.now(), scope: '', appName: 'ab123', clientId: DEMO_CLIENT.clientId });
    const refresher = new Refresher({
      store, tokenClient: client, log, now: Date.now,
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      lock: () => new FileLock(path.join(dir, 'refresh.lock'), { staleMs: 10_000 }).acquire(5000),
    });
    const faults = [
      { status: 429, body: '{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}', headers: { 'retry-after': '3' }, kind: 'throttled' },
      { status: 429, body: '{"fault":{"faultstring":"Rate limit quota violation","detail":{"errorcode":"policies.ratelimit.QuotaViolation"}}}', kind: 'throttled' },
      { status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html', kind: 'transient' },
      { status: 400, body: '', kind: 'transient' },
      { status: 200, body: 'not json', kind: 'transient' },
      { status: 0, destroySocket: true, kind: 'transient' },
    ];
    for (const f of faults) {
      fake.addFault({ ...f, status: f.status || 500 });
      await assert.rejects(refresher.refresh(undefined), (e: unknown) => e instanceof KeapError && e.kind === f.kind, JSON.stringify(f));
      const kept = await store.read();
      assert.equal(kept?.refreshToken, 'R');
      assert.equal(kept?.refreshTokenRejectedAt, undefined);
    }
  });

  it('every request has a timeout: a stalled Keap is a transient error', async () => {
    const slow = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 200, log });
    fake.addFault({ status: 200, body: '{}', delayMs: 2000 });
    const t0 = Date.now();
    await assert.rejects(slow.refresh({ ...DEMO_CLIENT, refreshToken: 'R' }), (e: unknown) => e instanceof KeapError && e.kind === 'transient' && /did not answer/.test(e.message));
    assert.ok(Date.now() - t0 < 1500);
  });

  it('connection refused is transient', async () => {
    const down = new KeapTokenClient({ endpoints: () => ({ ...fake, tokenUrl: 'http://127.0.0.1:1/token' }), timeoutMs: () => 1000, log });
    await assert.rejects(down.refresh({ ...DEMO_CLIENT, refreshToken: 'R' }), (e: unknown) => e instanceof KeapError && e.kind === 'transient' && /ECONNREFUSED/.test(e.message));
  });

  it('the log never holds a token, code or secret the server issued or received', async () => {
    const redirectUri = 'http://localhost:2/callback';
    const set = await client.exchangeCode({ ...DEMO_CLIENT, code: await codeFor(redirectUri, 'y'), redirectUri });
    await client.refresh({ ...DEMO_CLIENT, refreshToken: set.refreshToken });
    await client.userInfo(set.accessToken).catch(() => undefined);
    fake.addFault({ status: 502, body: 'gateway' });
    await client.refresh({ ...DEMO_CLIENT, refreshToken: 'x' }).catch(() => undefined);
    const secrets = fake.issuedSecrets();
    assert.ok(secrets.length >= 4);
    assert.ok(log.lines.length >= 4);
    for (const s of secrets) for (const l of log.lines) assert.ok(!l.includes(s), `log line leaks a secret: ${l}`);
  });
});
