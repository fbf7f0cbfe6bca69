import assert from 'node:assert/strict';
import { KeapError } from '../../src/keap/errors';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { Refresher } from '../../src/session/refresher';
import { admitAutomatic, DAILY_REQUEST_BUDGET, DAY_MS, EMPTY_LEDGER, MemoryLedgerStore, MIN_REQUEST_INTERVAL_MS, recordRequest } from '../../src/session/refreshSchedule';
import { RefreshHealth } from '../../src/session/refreshScheduler';
import { KeyringError } from '../../src/session/store';
import { TokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FakeClock } from '../support/fakeClock';
import { MemoryLock, MemorySessionStore } from '../support/memoryStores';
import { windowScheduler } from '../support/windowScheduler';

const MIN = 60_000;
const H = 60 * MIN;

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (l: string) => lines.push(l);
  return { lines, trace: push, debug: push, info: push, warn: push, error: push };
}

/**
 * One simulated VS Code window: the real RefreshScheduler, Refresher and KeapTokenClient, talking
 * HTTP to the real fake Keap server, on a fake clock; the store, lock and ledger are shared with
 * the other windows of the same test.
 */
function window(env: { fake: FakeKeap; clock: FakeClock; store: MemorySessionStore; lock: MemoryLock; ledger: MemoryLedgerStore; log: Logger }) {
  const { fake, clock, store, lock, ledger, log } = env;
  const healths: RefreshHealth[] = [];
  const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now, log });
  const refresher = new Refresher({
    store,
    tokenClient,
    lock: () => lock.acquire(),
    credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
    now: clock.now,
    log,
    ledger,
    timers: clock,
  });
  const { scheduler, view, setView } = windowScheduler(refresher, clock, log, store.set, { onHealth: h => healths.push(h) });
  clock.busy.push(() => scheduler.busy);
  return { scheduler, refresher, healths, view, setView };
}

describe('automatic refresh never hammers Keap and never loses a rotated token (K10–K13)', function () {
  this.timeout(60_000);
  let fake: FakeKeap;
  let clock: FakeClock;
  let store: MemorySessionStore;
  let lock: MemoryLock;
  let ledger: MemoryLedgerStore;
  let log: ReturnType<typeof recordingLogger>;
  let signedIn: TokenSet;

  beforeEach(async () => {
    fake = await startFakeKeap();
    clock = new FakeClock(Date.now());
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now });
    const redirectUri = 'http://localhost:9/callback';
    const fresh = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
    // Issued 23.5 hours ago: 30 minutes left, inside the 60-minute refresh window.
    signedIn = { ...fresh, refreshTokenIssuedAt: clock.now() - 23.5 * H, accessTokenExpiresAt: clock.now() + 30 * MIN };
    store = new MemorySessionStore(signedIn);
    lock = new MemoryLock(clock);
    ledger = new MemoryLedgerStore();
    log = recordingLogger();
  });
  afterEach(() => fake.close());

  const refreshRequests = () => fake.requests.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token');

  describe('K10: a refusal that will not fix itself gets one automatic request, then a pause until the user acts', () => {
    const refusals = [
      { name: '400 invalid_request "Missing parameter: refresh_token"', status: 400, body: '{"error":"invalid_request","error_description":"Missing parameter: refresh_token"}', resume: 'check-settings' },
      { name: 'K4 400 "response_type or grant_type is required"', status: 400, body: '{"error":"invalid_request","error_description":"response_type or grant_type is required"}', resume: 'check-settings' },
      { name: '400 unsupported_grant_type', status: 400, body: '{"error":"unsupported_grant_type","error_description":"Unsupported grant type"}', resume: 'check-settings' },
      { name: '401 after the client secret changed at Keap', status: 401, body: '{"error":"invalid_grant","error_description":"Unable to authenticate username and password"}', resume: 'set-client-credentials' },
    ];
    for (const r of refusals) {
      it(r.name, async () => {
        const w = window({ fake, clock, store, lock, ledger, log });
        fake.addFault({ status: r.status, body: r.body, times: 1_000_000 });
        w.scheduler.schedule('start');
        await clock.advance(50_000);
        assert.equal(refreshRequests().length, 1, 'one automatic request in the first 50 s (was 2,166)');
        await clock.advance(48 * H);
        assert.equal(refreshRequests().length, 1, 'and none in the next 48 hours');
        const h = w.scheduler.health;
        assert.equal(h.kind, 'paused');
        assert.equal(h.kind === 'paused' && h.pause.resume, r.resume);
        assert.equal(clock.pending, 0, 'no timer armed while paused');
        assert.equal(store.set?.refreshToken, signedIn.refreshToken, 'tokens kept');
        // A user action (a settings change) allows exactly one more automatic attempt.
        w.scheduler.resume('settings changed');
        await clock.advance(10 * MIN);
        assert.equal(refreshRequests().length, 2);
        assert.equal(w.scheduler.health.kind, 'paused');
        // Keap accepts again; Refresh Token goes out at once and ends the pause.
        fake.clearFaults();
        const done = await w.scheduler.refreshNow();
        assert.equal(done?.kind, 'refreshed');
        assert.equal(w.scheduler.health.kind, 'ok');
        assert.equal(refreshRequests().length, 3);
      });
    }

    it('a second window does not spend its own attempt on a refusal another window already met', async () => {
      const a = window({ fake, clock, store, lock, ledger, log });
      const b = window({ fake, clock, store, lock, ledger, log });
      fake.addFault({ status: 400, body: '{"error":"invalid_request","error_description":"Missing parameter: refresh_token"}', times: 1_000_000 });
      a.scheduler.schedule('start');
      await clock.advance(5_000);
      b.scheduler.schedule('start');
      await clock.advance(24 * H);
      assert.equal(refreshRequests().length, 1);
      assert.equal(b.scheduler.health.kind, 'paused');
    });
  });

  it('a message that announces a retry is followed by that retry at that time', async () => {
    const w = window({ fake, clock, store, lock, ledger, log });
    fake.addFault({ status: 503, body: '<html>Service Unavailable</html>', contentType: 'text/html', times: 2 });
    w.scheduler.schedule('start');
    await clock.advance(1000);
    assert.equal(refreshRequests().length, 1);
    const h = w.scheduler.health;
    assert.ok(h.kind === 'retrying', JSON.stringify(h));
    assert.match(h.message, /503/);
    assert.match(h.message, /Service Unavailable/, 'the first bytes of the body are in the message (issue 12.5)');
    await clock.advance(h.nextAt - clock.now() - 1);
    assert.equal(refreshRequests().length, 1, 'not before the announced time');
    await clock.advance(1);
    assert.equal(refreshRequests().length, 2, 'at the announced time');
    const h2 = w.scheduler.health;
    assert.ok(h2.kind === 'retrying');
    assert.equal(h2.nextAt - clock.now(), 60_000, 'backoff doubles');
    await clock.advance(60_000);
    assert.equal(refreshRequests().length, 3);
    assert.equal(w.scheduler.health.kind, 'ok');
  });

  it('a failed Refresh Token of a token that is not due promises no retry in 30 s: the next try is when it falls due', async () => {
    const notDue = { ...signedIn, refreshTokenIssuedAt: clock.now(), accessTokenExpiresAt: clock.now() + 24 * H };
    store.set = notDue;
    const w = window({ fake, clock, store, lock, ledger, log });
    w.setView(notDue);
    fake.addFault({ status: 429, body: '{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}', headers: { 'retry-after': '30' } });
    assert.equal(await w.scheduler.refreshNow(), undefined);
    const h = w.scheduler.health;
    // Issue 19.2: the token stays valid; the failure is noted with the next automatic attempt, not a "refresh failing" state.
    assert.ok(h.kind === 'ok' && h.lastFailure?.nextAt !== undefined, JSON.stringify(h));
    const nextAt = h.lastFailure.nextAt;
    assert.equal(nextAt, notDue.accessTokenExpiresAt! - H, 'the announced time is when the token falls due');
    await clock.advance(H);
    assert.equal(refreshRequests().length, 1, 'nothing sent meanwhile');
    await clock.advance(nextAt - clock.now());
    assert.equal(refreshRequests().length, 2, 'sent at the announced time');
  });

  it('Retry-After is honoured and automatic requests stay 30 s apart even right after a manual one', async () => {
    const w = window({ fake, clock, store, lock, ledger, log });
    fake.addFault({ status: 429, body: '{"fault":{"faultstring":"Rate limit quota violation","detail":{"errorcode":"policies.ratelimit.QuotaViolation"}}}', headers: { 'retry-after': '600' } });
    w.scheduler.schedule('start');
    await clock.advance(1000);
    const h = w.scheduler.health;
    assert.ok(h.kind === 'retrying' && h.nextAt >= clock.now() + 598_000, JSON.stringify(h));
    await clock.advance(599_000 - 1000);
    assert.equal(refreshRequests().length, 1);
    await clock.advance(2_000);
    assert.equal(refreshRequests().length, 2);
    // A manual refresh, then the stored set is due again at once (another window wrote an odd expiry): the floor holds.
    await w.scheduler.refreshNow();
    const t = clock.now();
    const due = { ...store.set!, accessTokenExpiresAt: t + MIN };
    store.set = due;
    w.setView(due);
    w.scheduler.schedule('session changed');
    await clock.advance(MIN_REQUEST_INTERVAL_MS - 1);
    assert.equal(refreshRequests().length, 3);
    await clock.advance(1);
    assert.equal(refreshRequests().length, 4);
  });

  it('the daily budget: at most 100 token requests in any 24 hours before automatic ones wait', () => {
    let l = EMPTY_LEDGER;
    const t0 = 1_800_000_000_000;
    for (let i = 0; i < DAILY_REQUEST_BUDGET; i++) l = recordRequest(l, t0 + i * MIN_REQUEST_INTERVAL_MS);
    const last = t0 + (DAILY_REQUEST_BUDGET - 1) * MIN_REQUEST_INTERVAL_MS;
    const set = { refreshTokenIssuedAt: 1, accessTokenExpiresAt: undefined };
    const a = admitAutomatic(l, last + 60 * MIN, set);
    assert.deepEqual(a, { admit: false, why: 'budget', until: t0 + DAY_MS });
    assert.deepEqual(admitAutomatic(l, t0 + DAY_MS + 1, set), { admit: true });
  });

  it('a token Keap has just issued is left alone for half its life, in every window (a 3600-second token is due the moment it arrives)', async () => {
    fake.setExpiresIn(3600);
    const a = window({ fake, clock, store, lock, ledger, log });
    const b = window({ fake, clock, store, lock, ledger, log });
    store.set = signedIn;
    a.scheduler.schedule('start');
    await clock.advance(1000);
    assert.equal(refreshRequests().length, 1);
    b.setView(store.set);
    b.scheduler.schedule('session changed');
    await clock.advance(30 * MIN - 2000);
    assert.equal(refreshRequests().length, 1, 'nothing for half the token\'s life, from either window');
    await clock.advance(2000);
    assert.equal(refreshRequests().length, 2, 'then one refresh');
    await clock.advance(24 * 60 * MIN);
    assert.ok(refreshRequests().length <= 2 + 48, `${refreshRequests().length} requests in a day of one-hour tokens: one per half hour at most`);
  });

  describe('K11: a rotated pair that storage refuses is never lost', () => {
    it('keeps it in memory, uses it, never sends the dead refresh token again, and stores it on a later try', async () => {
      const w = window({ fake, clock, store, lock, ledger, log });
      store.writeFaults.push('throw');
      w.scheduler.schedule('start');
      await clock.advance(1000);
      assert.equal(refreshRequests().length, 1);
      const held = w.refresher.unsaved!;
      assert.ok(held, 'the pair is held in memory');
      assert.notEqual(held.refreshToken, signedIn.refreshToken);
      assert.equal(w.view()?.refreshToken, held.refreshToken, 'the window shows and uses the new pair');
      assert.equal(store.set?.refreshToken, signedIn.refreshToken, 'storage still holds the dead one');
      const h = w.scheduler.health;
      assert.ok(h.kind === 'unsaved', JSON.stringify(h));
      assert.match(h.message, /locked collection/);
      assert.ok(log.lines.some(l => /could not store the new tokens/.test(l)));
      // A Refresh Token before the write succeeds sends the NEW refresh token, never the old one.
      store.writeFaults.push('throw');
      const r = await w.scheduler.refreshNow();
      assert.equal(r?.kind, 'refreshed');
      const sent = refreshRequests().map(q => q.form?.refresh_token);
      assert.deepEqual(sent, [signedIn.refreshToken, held.refreshToken]);
      assert.deepEqual(refreshRequests().map(q => q.status), [200, 200], 'no invalid_grant');
      // The write is retried on its own schedule (30 s, then 60 s …) with no token request.
      const before = refreshRequests().length;
      const newest = w.refresher.unsaved ?? store.set!;
      await clock.advance(31_000);
      assert.equal(store.set?.refreshToken, newest.refreshToken, 'stored on the retry');
      assert.equal(w.refresher.unsaved, undefined);
      assert.equal(w.scheduler.health.kind, 'ok');
      assert.equal(refreshRequests().length, before, 'storing again sent nothing to Keap');
      assert.ok(fake.liveTokens().some(t => t.refreshToken === store.set?.refreshToken), 'the stored refresh token is alive at Keap');
    });

    it('another window never sends the refresh token that was rotated but not stored', async () => {
      const a = window({ fake, clock, store, lock, ledger, log });
      const b = window({ fake, clock, store, lock, ledger, log });
      store.writeFaults.push('throw', 'throw', 'throw');
      a.scheduler.schedule('start');
      await clock.advance(1000);
      assert.ok(a.refresher.unsaved);
      b.scheduler.schedule('start');
      await clock.advance(10_000);
      assert.equal(refreshRequests().length, 1, 'window B sent nothing');
      assert.equal(b.scheduler.health.kind, 'superseded');
      assert.equal(fake.requests.filter(q => q.status === 400).length, 0, 'no invalid_grant');
    });

    it('after 10 minutes Refresh Token in the other window may try the stored token; Keap refuses it, and the pair still gets stored', async () => {
      const a = window({ fake, clock, store, lock, ledger, log });
      const b = window({ fake, clock, store, lock, ledger, log });
      // The refresh's write and the next four tries fail (30, 90, 210, 450 s); the one at 930 s succeeds.
      store.writeFaults.push('throw', 'throw', 'throw', 'throw', 'throw');
      a.scheduler.schedule('start');
      await clock.advance(1000);
      const pair = a.refresher.unsaved!;
      assert.ok(pair);
      assert.equal((await b.scheduler.refreshNow())?.kind, 'superseded', 'within 10 minutes the user\'s Refresh Token waits too');
      assert.equal(refreshRequests().length, 1);
      await clock.advance(10 * MIN);
      assert.equal(await b.scheduler.refreshNow(), undefined, 'after 10 minutes it goes out, and Keap refuses the dead token');
      assert.equal(refreshRequests().length, 2);
      assert.equal(refreshRequests()[1].status, 400);
      assert.ok(store.set?.refreshTokenRejectedAt, 'the stored set is marked dead');
      await clock.advance(10 * MIN);
      assert.equal(store.set?.refreshToken, pair.refreshToken, 'the window holding the pair stored it over the dead one');
      assert.equal(store.set?.refreshTokenRejectedAt, undefined);
      assert.ok(fake.liveTokens().some(t => t.refreshToken === store.set?.refreshToken));
    });

    it('a failure while recording a dead refresh token never hides Keap\'s refusal', async () => {
      const w = window({ fake, clock, store, lock, ledger, log });
      store.set = { ...signedIn, refreshToken: 'a-refresh-token-keap-no-longer-knows' };
      store.writeFaults.push('throw');
      await assert.rejects(w.refresher.refresh(undefined), (e: unknown) => e instanceof KeapError && e.kind === 'dead-refresh-token');
      assert.ok(log.lines.some(l => /recording that failed: Cannot create an item in a locked collection/.test(l)));
    });
  });

  describe('K12: a refresh answer with an access token and no refresh token', () => {
    it('keeps the old refresh token, stores the new access token and its expiry, logs a warning', async () => {
      const w = window({ fake, clock, store, lock, ledger, log });
      fake.addFault({ status: 200, body: '{"access_token":"NEW-ACCESS","token_type":"bearer","expires_in":86400,"scope":"full|ab123.infusionsoft.com"}', contentType: 'application/json' });
      const r = await w.refresher.refresh(undefined);
      assert.equal(r.kind, 'refreshed');
      assert.equal(store.set?.accessToken, 'NEW-ACCESS');
      assert.equal(store.set?.refreshToken, signedIn.refreshToken);
      assert.equal(store.set?.refreshTokenIssuedAt, signedIn.refreshTokenIssuedAt, 'the refresh token\'s age goes on counting');
      assert.equal(store.set?.accessTokenExpiresAt, clock.now() + 86_400_000);
      assert.ok(log.lines.some(l => /has no refresh_token: keeping the refresh token sent/.test(l)), log.lines.join('\n'));
    });

    it('a code exchange answer without a refresh token is an error naming exactly that', async () => {
      const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, log });
      fake.addFault({ status: 200, body: '{"access_token":"A","token_type":"bearer","expires_in":86400}', contentType: 'application/json' });
      const redirectUri = 'http://localhost:9/callback';
      await assert.rejects(client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri }), /has no refresh_token\.$/);
      fake.addFault({ status: 200, body: '{"token_type":"bearer","refresh_token":""}', contentType: 'application/json' });
      await assert.rejects(client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri }), /has no access_token and an empty or non-string refresh_token\./);
    });

    it('a 200 answer that is not JSON names the status and the first bytes of the body, in the message and the log', async () => {
      const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, log });
      fake.addFault({ status: 200, body: '<html>\n  <body>Upstream maintenance</body></html>', contentType: 'text/html' });
      await assert.rejects(client.refresh({ ...DEMO_CLIENT, refreshToken: signedIn.refreshToken }), (e: unknown) => {
        assert.ok(e instanceof KeapError && e.kind === 'transient');
        assert.equal(e.message, 'Keap answered the token request with HTTP 200 and a body that is not JSON: "<html> <body>Upstream maintenance</body></html>".');
        return true;
      });
      assert.ok(log.lines.some(l => /→ 200: .*Upstream maintenance/.test(l)), log.lines.join('\n'));
      // A truncated token answer must not put the token on screen.
      fake.addFault({ status: 200, body: `{"access_token":"${'x'.repeat(40)}`, contentType: 'application/json' });
      await assert.rejects(client.refresh({ ...DEMO_CLIENT, refreshToken: 'R' }), (e: unknown) => e instanceof Error && !e.message.includes('x'.repeat(24)) && /\{"access_token":"(…|\*\*\*)/.test(e.message));
    });
  });

  describe('K13: no await under the refresh lock waits forever', () => {
    it('a window whose SecretStorage never answers gives the lock up within 10 s; the waiting window refreshes', async () => {
      const a = window({ fake, clock, store, lock, ledger, log });
      const b = window({ fake, clock, store, lock, ledger, log });
      // Window A's first read under the lock never answers (its code-server tab was closed).
      store.readFaults.push('hang');
      const ra = a.refresher.refresh(signedIn).catch((e: unknown) => e);
      await clock.advance(0);
      const t0 = clock.now();
      const rb = b.refresher.refresh(signedIn);
      await clock.advance(10_000);
      const ea = await ra;
      assert.ok(ea instanceof KeyringError && /reading the stored session did not finish within 10 seconds/.test(ea.message), String(ea));
      assert.equal((await rb).kind, 'refreshed');
      assert.ok(refreshRequests()[0].at - t0 <= 15_000);
      assert.equal(refreshRequests().length, 1);
    });

    it('a write that never answers after Keap rotated: the pair stays in memory and the lock is released', async () => {
      const a = window({ fake, clock, store, lock, ledger, log });
      store.writeFaults.push('hang');
      const r = a.refresher.refresh(signedIn);
      // Real time passes until Keap (the real fake server) has answered and the write has begun.
      for (let i = 0; store.writeFaults.length > 0; i++) {
        assert.ok(i < 1000, 'the write began');
        await new Promise(res => setTimeout(res, 5));
      }
      await clock.advance(10_000);
      const res = await r;
      assert.equal(res.kind, 'refreshed');
      assert.ok(res.kind === 'refreshed' && res.unsaved instanceof KeyringError);
      assert.ok(a.refresher.unsaved);
      const h = await lock.acquire();
      await h.release();
    });
  });
});
