import assert from 'node:assert/strict';
import { argumentUse, GuardedArgument } from '../../src/commandArguments';
import { ENV_PRESETS } from '../../src/dotenv/variables';
import { checkUserInfo } from '../../src/keap/tokenCheck';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { SILENT_LOGGER } from '../../src/log';
import { Refresher } from '../../src/session/refresher';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { terminalExportPairs } from '../../src/session/terminalExport';
import { TokenSet } from '../../src/session/tokenSet';
import { recognizeForeignPaste, recognizeOtherCredential } from '../../src/signin/pasteCheck';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FakeClock } from '../support/fakeClock';
import { MemoryLock, MemorySessionStore } from '../support/memoryStores';
import { windowScheduler } from '../support/windowScheduler';

const H = 3_600_000;

/** Issue 17.7 (the parts not about variable names) and 17.9 (case K15). */
describe('issue 17.7: smaller doors', function () {
  this.timeout(30_000);
  let fake: FakeKeap;
  beforeEach(async () => (fake = await startFakeKeap()));
  afterEach(() => fake.close());

  async function signedIn(clock: FakeClock): Promise<TokenSet> {
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now });
    const redirectUri = 'http://localhost:9/callback';
    const fresh = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
    // Two minutes left: another extension's getSessions would refresh it.
    return { ...fresh, accessTokenExpiresAt: clock.now() + 2 * 60_000, refreshTokenIssuedAt: clock.now() - 23 * H };
  }

  function scheduler(clock: FakeClock, set: TokenSet, enabled: boolean) {
    const store = new MemorySessionStore(set);
    const lock = new MemoryLock(clock);
    const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now });
    const refresher = new Refresher({
      store,
      tokenClient,
      lock: () => lock.acquire(),
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      now: clock.now,
      log: SILENT_LOGGER,
      ledger: new MemoryLedgerStore(),
      timers: clock,
    });
    return windowScheduler(refresher, clock, SILENT_LOGGER, set, { enabled: () => enabled }).scheduler;
  }

  const refreshRequests = () => fake.requests.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token');

  it("another extension's getSessions (refreshIfAdmitted) never refreshes while automatic refresh is off", async () => {
    const clock = new FakeClock(Date.now());
    const s = scheduler(clock, await signedIn(clock), false);
    assert.equal(await s.refreshIfAdmitted(), undefined);
    assert.equal(refreshRequests().length, 0, 'nothing went to Keap');
    s.dispose();
  });

  it('with automatic refresh on, the same call refreshes (the test above can fail)', async () => {
    const clock = new FakeClock(Date.now());
    const s = scheduler(clock, await signedIn(clock), true);
    const r = await s.refreshIfAdmitted();
    assert.equal(r?.kind, 'refreshed');
    assert.equal(refreshRequests().length, 1);
    s.dispose();
  });

  it('Test Token applies the https-or-loopback check: an http endpoint on another host gets no token', async () => {
    let sent = 0;
    const check = await checkUserInfo('at-secret-0123456789', {
      url: 'http://api.example.com/crm/rest/v1/oauth/connect/userinfo',
      timeoutMs: 5000,
      fetch: async () => {
        sent++;
        throw new Error('must not be called');
      },
    });
    assert.equal(sent, 0);
    assert.equal(check.error?.kind, 'bad-configuration');
    assert.match(check.error!.message, /must be https/);
    // The loopback fake is allowed over http.
    const ok = await checkUserInfo('at-unknown', { url: `${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, timeoutMs: 5000 });
    assert.equal(ok.status, 401);
  });

  it('terminal export: only in a trusted workspace, only with the setting on', () => {
    const set = { accessToken: 'at-0123456789', refreshToken: 'rt', accessTokenExpiresAt: Date.now() + H, refreshTokenIssuedAt: Date.now(), scope: '', appName: 'ab123', clientId: 'c' } as TokenSet;
    const names = { accessToken: ENV_PRESETS.keap.accessToken, expiresAt: ENV_PRESETS.keap.expiresAt };
    assert.ok(terminalExportPairs(set, names, { exportOn: true, workspaceTrusted: true }).some(([, v]) => v === set.accessToken));
    assert.deepEqual(terminalExportPairs(set, names, { exportOn: true, workspaceTrusted: false }), [], 'Restricted Mode: nothing');
    assert.deepEqual(terminalExportPairs(set, names, { exportOn: false, workspaceTrusted: true }), []);
    assert.deepEqual(terminalExportPairs(undefined, names, { exportOn: true, workspaceTrusted: true }), []);
  });

  it('commands with arguments: as installed, a client secret is never taken, a client ID and a callback only fill the box, a refresh-token copy and a file target ask first', () => {
    const table: Record<GuardedArgument, string> = {
      copyRefreshToken: 'confirm',
      'insertIntoEnv.target': 'confirm',
      'setClientCredentials.clientId': 'prefill',
      'setClientCredentials.clientSecret': 'ignore',
      'pasteCallbackUrl.value': 'prefill',
    };
    for (const [arg, use] of Object.entries(table)) {
      assert.equal(argumentUse(arg as GuardedArgument, true), use, arg);
      assert.equal(argumentUse(arg as GuardedArgument, false), 'as-given', `${arg} under tests`);
    }
  });
});

describe('issue 17.9: credentials in the wrong box (K15)', () => {
  const pat = 'KeapAK-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f';
  it('a Keap PAT/SAK, alone, quoted or as a .env line, is named as one', () => {
    for (const v of [pat, ` ${pat} `, `"${pat}"`, `KEAP_API_KEY=${pat}`, `export KEAP_CLIENT_SECRET='${pat}'`]) assert.equal(recognizeOtherCredential(v), 'keap-api-key', v);
  });
  it('an X-Keap-API-Key header line', () => {
    assert.equal(recognizeOtherCredential(`X-Keap-API-Key: ${pat}`), 'keap-api-key-header');
    assert.equal(recognizeOtherCredential('x-keap-api-key:abc'), 'keap-api-key-header');
  });
  it('a legacy API key (32 hexadecimal characters)', () => {
    assert.equal(recognizeOtherCredential('0123456789abcdef0123456789ABCDEF'), 'legacy-api-key');
  });
  it('tokens and Authorization headers', () => {
    assert.equal(recognizeOtherCredential('Bearer abc.def'), 'authorization-header');
    assert.equal(recognizeOtherCredential('{"access_token":"x"}'), 'token-response');
  });
  it("real-looking OAuth client IDs and secrets are not refused (Keap's portal formats)", () => {
    for (const v of ['demo-client-id', 'demo-client-secret', 'a1b2c3d4e5f6g7h8j9k0m1n2', 'Xy7kP2mQ9rT4vW8zA3bC6dE1fG5hJ0kL2nP4qR6sT8uV0wY', 'K3yS3cr3t', '0123456789abcdef0123456789abcde']) {
      assert.equal(recognizeOtherCredential(v), undefined, v);
    }
  });
  it('the paste box and the credential boxes agree on the Keap API key', () => {
    const none = { clientIds: [], clientSecrets: [], accessTokens: [], refreshTokens: [] };
    assert.equal(recognizeForeignPaste(pat, none), 'keap-api-key');
    assert.equal(recognizeOtherCredential(pat), 'keap-api-key');
  });
});
