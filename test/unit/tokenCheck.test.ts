import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync } from 'fs';
import os = require('os');
import path = require('path');
import { userInfoUrl } from '../../src/keap/endpoints';
import { parseKeapQuota } from '../../src/keap/quota';
import { ApiCheck, checkUserInfo, testAccessToken } from '../../src/keap/tokenCheck';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { SILENT_LOGGER } from '../../src/log';
import { FileLock } from '../../src/session/fileLock';
import { Refresher } from '../../src/session/refresher';
import { DEMO_CLIENT, FakeClient, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FileSessionStore } from '../support/fileSessionStore';

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe("Keap's quota headers", () => {
  it('reads the daily quota with its reset time and the per-minute throttle, daily first', () => {
    // As Keap sends them (developer.infusionsoft.com/api-token-quota-and-usage-measurements).
    const q = parseKeapQuota(headers({
      'x-keap-product-throttle-limit': '1500',
      'x-keap-product-throttle-time-unit': 'minute',
      'x-keap-product-throttle-interval': '1',
      'x-keap-product-throttle-available': '1497',
      'x-keap-product-throttle-used': '3',
      'x-keap-product-quota-limit': '150000',
      'x-keap-product-quota-time-unit': 'day',
      'x-keap-product-quota-interval': '1',
      'x-keap-product-quota-available': '149987',
      'x-keap-product-quota-used': '13',
      'x-keap-product-quota-expiry-time': '1764633600000',
      'x-keap-tenant-id': 'ab123',
    }));
    assert.deepEqual(q, [
      { timeUnit: 'day', limit: 150000, available: 149987, resetsAt: 1764633600000 },
      { timeUnit: 'minute', limit: 1500, available: 1497, resetsAt: undefined },
    ]);
  });

  it('reads |-joined pairs, one bucket each, with its own expiry', () => {
    const q = parseKeapQuota(headers({
      'x-keap-product-quota-time-unit': 'minute|day',
      'x-keap-product-quota-limit': '1500|150000',
      'x-keap-product-quota-available': '1499 | 149000',
      'x-keap-product-quota-expiry-time': '1764547260000|1764633600000',
    }));
    assert.deepEqual(q, [
      { timeUnit: 'day', limit: 150000, available: 149000, resetsAt: 1764633600000 },
      { timeUnit: 'minute', limit: 1500, available: 1499, resetsAt: 1764547260000 },
    ]);
  });

  it('leaves out what is missing or malformed, and never throws', () => {
    assert.deepEqual(parseKeapQuota(headers({})), []);
    assert.deepEqual(parseKeapQuota(headers({ 'x-keap-product-quota-limit': '150000' })), [], 'no time unit: no bucket');
    assert.deepEqual(
      parseKeapQuota(headers({
        'x-keap-product-quota-time-unit': 'DAY',
        'x-keap-product-quota-limit': '-5',
        'x-keap-product-quota-available': '12.5',
        'x-keap-product-quota-expiry-time': '1764633600', // seconds, not milliseconds: not guessed
      })),
      [{ timeUnit: 'day', limit: undefined, available: undefined, resetsAt: undefined }],
    );
    assert.deepEqual(parseKeapQuota(headers({ 'x-keap-product-quota-time-unit': '<script>|day|', 'x-keap-product-quota-available': 'x|7' })), [
      { timeUnit: 'day', limit: undefined, available: 7, resetsAt: undefined },
    ]);
    assert.deepEqual(parseKeapQuota({ get: () => { throw new Error('bad header'); } }), []);
    assert.deepEqual(parseKeapQuota(headers({ 'x-keap-product-quota-available': '99999999999999999999999', 'x-keap-product-quota-time-unit': 'day' })), [
      { timeUnit: 'day', limit: undefined, available: undefined, resetsAt: undefined },
    ]);
  });

  it('any header values: a list of buckets with safe integers or nothing, never an error (fast-check)', () => {
    const names = ['limit', 'time-unit', 'available', 'used', 'expiry-time'].flatMap(f => [`x-keap-product-quota-${f}`, `x-keap-product-throttle-${f}`]);
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), fc.oneof(fc.string(), fc.stringMatching(/^[0-9|a-z ]{0,30}$/))), h => {
        const q = parseKeapQuota(headers(h));
        assert.ok(q.length <= 8);
        for (const b of q) {
          assert.match(b.timeUnit, /^[a-z]{1,16}$/);
          for (const n of [b.limit, b.available, b.resetsAt]) assert.ok(n === undefined || (Number.isSafeInteger(n) && n >= 0));
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('Test Token against the fake Keap server', function () {
  this.timeout(20_000);
  const OTHER: FakeClient = { clientId: 'other-client-id', clientSecret: 'other-secret', appName: 'cd456' };
  let fake: FakeKeap;
  let client: KeapTokenClient;
  let store: FileSessionStore;
  let refresher: Refresher;
  let dir: string;
  const check = (token: string) => checkUserInfo(token, { url: userInfoUrl(fake), timeoutMs: 5000 });
  /** What Infusionsoft: Test Token does: a refresh through the refresher, then the stored access token. */
  const refresh = async () => {
    const r = await refresher.refresh(await store.read());
    if (r.kind !== 'refreshed' && r.kind !== 'already-refreshed') throw new Error(`no new token: ${r.kind}`);
    return r.tokenSet.accessToken;
  };
  const signIn = async (c: FakeClient) => {
    const redirectUri = 'http://localhost:9/callback';
    return client.exchangeCode({ ...c, code: await authorizationCode(fake, redirectUri, 's', c.clientId), redirectUri });
  };
  const calls = (p: string) => fake.requests.filter(r => r.path === p);

  beforeEach(async () => {
    fake = await startFakeKeap({ clients: [DEMO_CLIENT, OTHER] });
    dir = mkdtempSync(path.join(os.tmpdir(), 'keap-test-token-'));
    client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000 });
    store = new FileSessionStore(path.join(dir, 'session.json'));
    refresher = new Refresher({
      store, tokenClient: client, log: SILENT_LOGGER, now: Date.now,
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      lock: () => new FileLock(path.join(dir, 'refresh.lock'), { staleMs: 10_000 }).acquire(5000),
    });
    await store.write(await signIn(DEMO_CLIENT));
  });
  afterEach(() => fake.close());

  it('200: the status, the time it took and the quota, which goes down with each call of the same client only', async () => {
    const token = (await store.read())!.accessToken;
    const a = await testAccessToken(token, { check, refresh });
    assert.equal(a.first.status, 200);
    assert.equal(a.first.error, undefined);
    assert.ok(Number.isInteger(a.first.elapsedMs) && a.first.elapsedMs >= 0);
    assert.equal(a.refresh, undefined);
    const [day, minute] = a.first.quota;
    assert.equal(day.timeUnit, 'day');
    assert.equal(day.limit, 150000);
    assert.ok(day.resetsAt! > fake.now() && day.resetsAt! <= fake.now() + 86_400_000, 'resets within a day, epoch ms');
    assert.equal(minute.timeUnit, 'minute');
    // The demo client has made 3 counted calls (authorize, token, userinfo); another client's calls do not count.
    assert.equal(day.available, 150000 - 3);
    await signIn(OTHER);
    const b = await testAccessToken(token, { check, refresh });
    assert.equal(b.first.quota[0].available, 150000 - 4);
  });

  it('401 for a token believed valid: exactly one refresh and one retry, which works', async () => {
    const before = (await store.read())!;
    assert.ok(before.accessTokenExpiresAt! > Date.now() + 3_600_000, 'the extension believes the token valid');
    assert.equal(fake.revokeAccessTokens(), 1);
    const t = await testAccessToken(before.accessToken, { check, refresh });
    assert.equal(t.first.status, 401);
    assert.equal(t.first.error?.kind, 'invalid-access-token');
    assert.deepEqual(t.refresh, { ok: true });
    assert.equal(t.retry?.status, 200);
    assert.equal(calls('/token').filter(r => r.form?.grant_type === 'refresh_token').length, 1);
    assert.equal(calls('/crm/rest/v1/oauth/connect/userinfo').length, 2);
    assert.notEqual((await store.read())!.accessToken, before.accessToken);
  });

  it('401 again after the refresh: stops there (one refresh, two calls)', async () => {
    const token = (await store.read())!.accessToken;
    fake.revokeAccessTokens();
    const t = await testAccessToken(token, {
      check,
      refresh: async () => {
        const fresh = await refresh();
        fake.revokeAccessTokens();
        return fresh;
      },
    });
    assert.equal(t.retry?.status, 401);
    assert.equal(calls('/token').length, 2, 'the sign-in and one refresh');
    assert.equal(calls('/crm/rest/v1/oauth/connect/userinfo').length, 2);
  });

  it('401 and a refresh that fails: no retry, and the reason', async () => {
    const token = (await store.read())!.accessToken;
    fake.revokeAccessTokens();
    fake.addFault({ status: 400, body: '{"error":"invalid_grant","error_description":"Invalid refresh token"}' });
    const t = await testAccessToken(token, { check, refresh: () => client.refresh({ ...DEMO_CLIENT, refreshToken: 'x' }).then(s => s.accessToken) });
    assert.equal(t.refresh?.ok, false);
    assert.match((t.refresh as { message: string }).message, /refresh token/);
    assert.equal(t.retry, undefined);
    assert.equal(calls('/crm/rest/v1/oauth/connect/userinfo').length, 1);
  });

  it('other answers are reported as they are, without a refresh', async () => {
    const token = (await store.read())!.accessToken;
    for (const [status, body, kind] of [
      [429, '{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}', 'throttled'],
      [502, '<html>Bad Gateway</html>', 'transient'],
    ] as const) {
      fake.addFault({ path: '/crm/rest/v1/oauth/connect/userinfo', status, body });
      const t = await testAccessToken(token, { check, refresh: () => assert.fail('no refresh') });
      assert.equal(t.first.status, status);
      assert.equal(t.first.error?.kind, kind);
      assert.equal(t.first.quota[0].timeUnit, 'day', 'the quota headers are read on errors too');
    }
  });

  it('never rejects: a stalled Keap and a closed port are transient failures', async () => {
    fake.addFault({ path: '/crm/rest/v1/oauth/connect/userinfo', status: 200, body: '{}', delayMs: 3000 });
    const slow: ApiCheck = await checkUserInfo('t', { url: userInfoUrl(fake), timeoutMs: 200 });
    assert.equal(slow.status, undefined);
    assert.equal(slow.error?.kind, 'transient');
    assert.match(slow.error!.message, /did not answer/);
    const down = await checkUserInfo('t', { url: 'http://127.0.0.1:1/crm/rest/v1/oauth/connect/userinfo', timeoutMs: 2000 });
    assert.equal(down.error?.kind, 'transient');
    assert.match(down.error!.message, /ECONNREFUSED/);
  });
});
