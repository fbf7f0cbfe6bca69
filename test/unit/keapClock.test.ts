import assert from 'node:assert/strict';
import { clockSample, KEAP_CLOCK_THRESHOLD_MS, KeapClock, MAX_KEAP_CLOCK_OFFSET_MS, parseHttpDate } from '../../src/keap/keapClock';
import { userInfoUrl } from '../../src/keap/endpoints';
import { checkUserInfo } from '../../src/keap/tokenCheck';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { CLOCK_JUMP_MS, CLOCK_TICK_MS, ClockWatch } from '../../src/session/clockWatch';
import { Refresher } from '../../src/session/refresher';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { onLocalClock, parseStoredTokenSet, serializeTokenSet, TokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, httpDate, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FakeClock } from '../support/fakeClock';
import { MemoryLock, MemorySessionStore } from '../support/memoryStores';
import { windowScheduler } from '../support/windowScheduler';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (l: string) => lines.push(l);
  return { lines, trace: push, debug: push, info: push, warn: push, error: push };
}

describe("Keap's Date header and clock offset (issue 13.4, RFC 7231 §7.1.1)", () => {
  it('reads IMF-fixdate and the two obsolete forms a recipient must accept; anything else is no date', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), t);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), t);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), t);
    assert.equal(parseHttpDate(httpDate(t)), t, "the fake server's Date");
    for (const bad of [undefined, null, '', ' ', '1', '0', '784111777', 'tomorrow', '1994-11-06T08:49:37Z', 'Sun, 06 Nov 1994 08:49:37', 'Sun, 06 Nov 1994 08:49:37 +0000', 'Sun, 99 Nov 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 25:49:37 GMT', 'Sun, 06 Foo 1994 08:49:37 GMT', 'x'.repeat(10_000)]) {
      assert.equal(parseHttpDate(bad), undefined, String(bad).slice(0, 40));
    }
  });

  it('a sample is taken at the midpoint of the round trip, half a second into the Date’s second, and is good to half the round trip plus half a second', () => {
    const keap = Date.UTC(2030, 0, 1, 12, 0, 0);
    // Sent at 12:09:58.000, answered at 12:10:00.000 local: Keap wrote 12:00:00.xxx.
    const sent = keap + 10 * MIN - 2 * S;
    const s = clockSample(httpDate(keap), sent, sent + 2 * S);
    assert.deepEqual(s, { offsetMs: -10 * MIN + 1500, errorMs: 1500 });
  });

  it('ignores a missing or unreadable Date, a slow or backwards round trip, and an offset over 24 hours', () => {
    const now = Date.UTC(2030, 0, 1);
    assert.equal(clockSample(undefined, now, now + 100), undefined);
    assert.equal(clockSample('garbage', now, now + 100), undefined);
    assert.equal(clockSample(httpDate(now), now, now + 10_001), undefined, 'a round trip over 10 s');
    assert.equal(clockSample(httpDate(now), now, now - 1), undefined, 'received before sent');
    assert.equal(clockSample(httpDate(now + MAX_KEAP_CLOCK_OFFSET_MS + 2 * S), now, now), undefined, 'more than 24 h ahead');
    assert.equal(clockSample(httpDate(now - MAX_KEAP_CLOCK_OFFSET_MS - 2 * S), now, now), undefined, 'more than 24 h behind');
    assert.ok(clockSample(httpDate(now + 23 * H), now, now), '23 h is a (badly set) clock');
  });

  it('is used only beyond 2 minutes; below it, this machine’s clock (offset 0); unknown before any usable Date', () => {
    const now = Date.UTC(2030, 0, 1);
    const clock = new KeapClock();
    assert.equal(clock.usedOffsetMs(), undefined);
    clock.observe(httpDate(now + 119 * S), now, now);
    assert.equal(clock.usedOffsetMs(), 0, '1:59.5 off: this machine’s clock');
    clock.observe(httpDate(now + KEAP_CLOCK_THRESHOLD_MS + 2 * S), now, now);
    assert.equal(clock.usedOffsetMs(), 122_500);
    clock.observe(httpDate(now - 7 * MIN), now, now);
    assert.equal(clock.usedOffsetMs(), -7 * MIN + 500, 'Keap behind');
    clock.observe('not a date', now, now);
    assert.equal(clock.usedOffsetMs(), -7 * MIN + 500, 'a bad header changes nothing');
    clock.forget();
    assert.equal(clock.usedOffsetMs(), undefined, 'after a local clock jump: unknown again');
  });

  it('a local clock set back moves the offset by the jump (none known: taken as 0); a jump forward, maybe a sleep, forgets it', () => {
    const now = Date.UTC(2030, 0, 1);
    const clock = new KeapClock();
    clock.localClockJumped(-10 * MIN);
    assert.equal(clock.usedOffsetMs(), 10 * MIN, 'Keap is now 10 minutes ahead of this machine');
    clock.observe(httpDate(now), now, now);
    assert.equal(clock.usedOffsetMs(), 0, "Keap's next answer replaces the guess");
    clock.observe(httpDate(now + 5 * MIN), now, now);
    clock.localClockJumped(-3 * MIN);
    assert.equal(clock.usedOffsetMs(), 8 * MIN + 500);
    clock.localClockJumped(2 * H);
    assert.equal(clock.usedOffsetMs(), undefined, 'forward: a sleep or a clock set forward, unknown until Keap answers');
    clock.localClockJumped(-25 * H);
    assert.equal(clock.usedOffsetMs(), undefined, 'over 24 hours: unknown');
  });

  it("the Date's one-second steps and the round trip's jitter never move the offset, nor decide anew around the threshold", () => {
    const clock = new KeapClock();
    let changes = 0;
    clock.onDidChange = () => changes++;
    // Keap exactly 2:00.4 ahead: each answer's Date truncates to the second, round trips of 0 to 400 ms.
    const truth = KEAP_CLOCK_THRESHOLD_MS + 400;
    const used = new Set<number | undefined>();
    let local = Date.UTC(2030, 0, 1);
    for (let i = 0; i < 500; i++) {
      local += 997 + (i % 13) * 31;
      const rtt = (i * 37) % 400;
      clock.observe(httpDate(local + rtt / 2 + truth), local, local + rtt);
      used.add(clock.usedOffsetMs());
    }
    assert.equal(used.size, 1, `one decision, not ${[...used].join(', ')}`);
    assert.equal(changes, 1, 'told once (the first answer)');
    // A real change (Keap's clock, or this machine's, moved by 5 s) is taken.
    clock.observe(httpDate(local + truth + 5 * S), local, local);
    assert.equal(changes, 2);
  });

  it('a stored set keeps the offset it arrived under; a set stored by 0.1 (none) and an implausible one read as unknown', () => {
    const now = Date.UTC(2030, 0, 1);
    const set: TokenSet = { accessToken: 'a', refreshToken: 'r', accessTokenExpiresAt: now + H, refreshTokenIssuedAt: now, scope: 'full|ab123.infusionsoft.com', appName: 'ab123', clientId: 'c', keapClockOffsetMs: 7 * MIN };
    assert.equal(parseStoredTokenSet(serializeTokenSet(set), now).keapClockOffsetMs, 7 * MIN);
    const old = JSON.stringify({ v: 1, ...set, keapClockOffsetMs: undefined });
    assert.equal(parseStoredTokenSet(old, now).keapClockOffsetMs, undefined);
    assert.equal(parseStoredTokenSet(JSON.stringify({ ...set, keapClockOffsetMs: 3 * 86_400_000 }), now).keapClockOffsetMs, undefined);
    assert.equal(parseStoredTokenSet(JSON.stringify({ ...set, keapClockOffsetMs: '5' }), now).keapClockOffsetMs, undefined);
  });

  it("a set's expiry, kept by Keap's clock, moves by how much the offset changed since it arrived; unknown offsets move nothing", () => {
    const e = Date.UTC(2030, 0, 1);
    const base = { accessTokenExpiresAt: e };
    assert.equal(onLocalClock({ ...base, keapClockOffsetMs: 0 }, 10 * MIN).accessTokenExpiresAt, e - 10 * MIN, 'this machine fell 10 min behind Keap since');
    assert.equal(onLocalClock({ ...base, keapClockOffsetMs: 7 * MIN }, 0).accessTokenExpiresAt, e, 'this machine was set right since: never later than its own clock says (a Date can be a lie)');
    assert.equal(onLocalClock({ ...base, keapClockOffsetMs: 7 * MIN }, 7 * MIN).accessTokenExpiresAt, e, 'the same skew all along');
    assert.equal(onLocalClock(base, 10 * MIN).accessTokenExpiresAt, e, 'a set stored by 0.1');
    assert.equal(onLocalClock({ ...base, keapClockOffsetMs: 0 }, undefined).accessTokenExpiresAt, e, 'no Keap answer in this window yet');
    assert.equal(onLocalClock({ accessTokenExpiresAt: undefined, keapClockOffsetMs: 0 }, 10 * MIN).accessTokenExpiresAt, undefined);
  });
});

describe("refreshes timed by Keap's clock, against the fake Keap server (issue 13.4)", function () {
  this.timeout(30_000);
  let fake: FakeKeap;
  let clock: FakeClock;

  beforeEach(async () => {
    clock = new FakeClock(Date.UTC(2030, 0, 1, 12));
    // Keap's clock is the test's fake clock, moved apart from the extension's with fake.advance.
    fake = await startFakeKeap({ now: () => clock.now() });
  });
  afterEach(() => fake.close());

  /** A window: the real token client, refresher and scheduler, on the fake clock, learning Keap's clock from its answers. */
  function window(initial: (fresh: TokenSet) => TokenSet) {
    const log = recordingLogger();
    const keapClock = new KeapClock();
    const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now, log, keapClock, timers: clock });
    const store = new MemorySessionStore();
    const refresher = new Refresher({ store, tokenClient, lock: () => new MemoryLock(clock).acquire(), credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }), now: clock.now, log, ledger: new MemoryLedgerStore(), timers: clock });
    const { scheduler, view, setView } = windowScheduler(refresher, clock, log, undefined, { keapOffsetMs: () => keapClock.usedOffsetMs() });
    clock.busy.push(() => scheduler.busy);
    keapClock.onDidChange = () => scheduler.schedule("Keap's clock");
    return {
      log,
      keapClock,
      tokenClient,
      store,
      scheduler,
      view,
      async signIn(): Promise<TokenSet> {
        const redirectUri = 'http://localhost:9/callback';
        const fresh = await tokenClient.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
        const set = initial(fresh);
        setView(set);
        await store.write(set);
        return fresh;
      },
    };
  }
  const refreshes = () => fake.requests.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token');

  it('records the offset in use when a token answer arrives: about +10 min with Keap 10 minutes ahead, 0 within 2 minutes', async () => {
    fake.advance(10 * MIN);
    const w = window(s => s);
    const fresh = await w.signIn();
    assert.ok(Math.abs(fresh.keapClockOffsetMs! - 10 * MIN) <= 1000, String(fresh.keapClockOffsetMs));
    assert.equal(fresh.accessTokenExpiresAt, clock.now() + 86_400_000, "the stored expiry stays on this machine's clock");
    fake.advance(-9 * MIN);
    const again = await w.signIn();
    assert.equal(again.keapClockOffsetMs, 0);
  });

  it("Test Token's answer tells Keap's clock too", async () => {
    const w = window(s => s);
    await w.signIn();
    fake.advance(-10 * MIN);
    // Test Token measures on the real wall clock; Keap's is the fake one, 10 minutes behind it.
    const realNow = Date.now;
    const keapClock = new KeapClock();
    Date.now = () => clock.now();
    try {
      const c = await checkUserInfo(w.view()!.accessToken, { url: userInfoUrl(fake), timeoutMs: 5000, onDate: (d, sent, got) => keapClock.observe(d, sent, got) });
      assert.equal(c.status, 200);
    } finally {
      Date.now = realNow;
    }
    assert.ok(Math.abs(keapClock.usedOffsetMs()! + 10 * MIN) <= 1000, String(keapClock.usedOffsetMs()));
  });

  it("Keap 10 minutes ahead: a token due in 5 minutes by this machine's clock is refreshed now, once, and the new one is left alone", async () => {
    const w = window(fresh => ({ ...fresh, keapClockOffsetMs: 0, refreshTokenIssuedAt: clock.now() - 23 * H, accessTokenExpiresAt: clock.now() + 65 * MIN }));
    await w.signIn();
    const dueAt = w.view()!.accessTokenExpiresAt! - 60 * MIN;
    // Since the sign-in, Keap's clock went 10 minutes ahead (or this machine's fell behind); Test Token's answer says so.
    fake.advance(10 * MIN);
    await w.tokenClient.userInfo(w.view()!.accessToken);
    assert.ok(Math.abs(w.keapClock.usedOffsetMs()! - 10 * MIN) <= 1000);
    w.scheduler.schedule('start');
    await clock.advance(2 * S);
    const sent = refreshes();
    assert.equal(sent.length, 1, "refreshed at once: by Keap's clock the token is inside its 60-minute refresh window");
    assert.ok(clock.now() < dueAt, "by this machine's clock it was not due yet");
    assert.ok(sent[0].at >= dueAt, `by Keap's clock it was: sent at ${new Date(sent[0].at).toISOString()} Keap time, due at ${new Date(dueAt).toISOString()}`);
    assert.ok(Math.abs(w.view()!.keapClockOffsetMs! - 10 * MIN) <= 1000, 'the new set arrived under the 10-minute offset');
    await clock.advance(6 * H);
    assert.equal(refreshes().length, 1, 'and the new token is not refreshed again');
  });

  it("Keap 10 minutes behind: a token due now by this machine's clock is refreshed now, not when Keap's clock says (never later)", async () => {
    const w = window(fresh => ({ ...fresh, keapClockOffsetMs: 0, refreshTokenIssuedAt: clock.now() - 23 * H, accessTokenExpiresAt: clock.now() + 55 * MIN }));
    await w.signIn();
    fake.advance(-10 * MIN);
    await w.tokenClient.userInfo(w.view()!.accessToken);
    assert.ok(Math.abs(w.keapClock.usedOffsetMs()! + 10 * MIN) <= 1000);
    w.scheduler.schedule('start');
    await clock.advance(2 * S);
    assert.equal(refreshes().length, 1, "by this machine's clock the token is inside its 60-minute refresh window: waiting for Keap's clock could only make it later");
  });

  it('one answer whose Date is 23 hours ahead, then honest ones: the token is still refreshed before it expires (a Date can make a refresh earlier, never later)', async () => {
    const w = window(s => s);
    // A proxy (or a glitch) stamps the sign-in's answer 23 hours ahead: the set arrives under a +23 h offset.
    fake.advance(23 * H);
    const signedInAt = clock.now();
    const fresh = await w.signIn();
    assert.ok(Math.abs(fresh.keapClockOffsetMs! - 23 * H) <= 1000, String(fresh.keapClockOffsetMs));
    assert.equal(fresh.accessTokenExpiresAt, signedInAt + 24 * H, 'Keap said expires_in 86400: it dies 24 hours from now, whatever the Date said');
    // Every later answer is honest again (Test Token, say).
    fake.advance(-23 * H);
    await w.tokenClient.userInfo(fresh.accessToken);
    assert.equal(w.keapClock.usedOffsetMs(), 0);
    w.scheduler.schedule('start');
    await clock.advance(24 * H);
    assert.ok(refreshes().length >= 1, 'no refresh before the access token expired: one Date header made it look 23 hours younger than it is');
    assert.ok(refreshes()[0].at < signedInAt + 24 * H);
  });

  it('a clock set back 10 hours after the sign-in: the token is still refreshed before it expires, with no Keap answer in between', async () => {
    const w = window(s => s);
    const fresh = await w.signIn();
    const expiresAt = fresh.accessTokenExpiresAt!;
    const watch = new ClockWatch(clock, jump => {
      w.keapClock.localClockJumped(jump);
      w.scheduler.schedule('local clock jumped');
    });
    try {
      w.scheduler.schedule('start');
      await clock.advance(10 * MIN);
      // This machine's clock is set 10 hours back; Keap's (the fake server's) goes on as before.
      clock.jump(-10 * H);
      fake.advance(10 * H);
      await clock.advance(24 * H);
      assert.ok(refreshes().length >= 1, 'no refresh before the access token expired: its expiry was read 10 hours late');
      assert.ok(refreshes()[0].at < expiresAt, 'sent before the token expired (Keap time)');
    } finally {
      watch.dispose();
    }
  });

  it('a Date more than 24 hours off, or unreadable, is ignored and logged; the schedule stays on the clock it had', async () => {
    const w = window(s => s);
    await w.signIn();
    assert.equal(w.keapClock.usedOffsetMs(), 0);
    for (const date of [httpDate(clock.now() + 3 * 86_400_000), 'Tue, 31 Nov 2030 99:00:00 GMT']) {
      fake.addFault({ path: '/crm/rest/v1/oauth/connect/userinfo', status: 200, body: '{"email":"x@example.com"}', headers: { date } });
      await w.tokenClient.userInfo(w.view()!.accessToken);
      assert.equal(w.keapClock.usedOffsetMs(), 0, date);
      assert.ok(w.log.lines.some(l => l.includes(`Date "${date}" ignored`)), date);
      fake.clearFaults();
    }
  });
});

describe('a local clock that jumps is noticed at the next tick (issue 13.4)', () => {
  it('reports a jump over 1 minute, forward or back, at the first tick after it; a smaller one and normal time pass quietly', async () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 1));
    const jumps: number[] = [];
    const watch = new ClockWatch(clock, j => jumps.push(j));
    await clock.advance(10 * MIN);
    assert.deepEqual(jumps, []);
    clock.jump(CLOCK_JUMP_MS - S);
    await clock.advance(CLOCK_TICK_MS);
    assert.deepEqual(jumps, [], 'a 59-second jump');
    clock.jump(2 * H);
    await clock.advance(CLOCK_TICK_MS);
    assert.deepEqual(jumps, [2 * H], 'a sleep of 2 hours, or a clock set 2 hours forward');
    clock.jump(-5 * MIN);
    await clock.advance(CLOCK_TICK_MS);
    assert.deepEqual(jumps, [2 * H, -5 * MIN], 'a clock set back');
    watch.dispose();
    assert.equal(clock.pending, 0, 'one timer, gone when disposed');
  });

  it('a machine that slept past the refresh time refreshes within one tick of waking, not when the armed timer fires', async () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 1, 12));
    const fake = await startFakeKeap({ now: () => clock.now() });
    try {
      const log = recordingLogger();
      const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now, log, timers: clock });
      const redirectUri = 'http://localhost:9/callback';
      const fresh = await tokenClient.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
      // 3 hours left: due in 2 hours; the scheduler arms one timer for then (monotonic time).
      const initial: TokenSet = { ...fresh, refreshTokenIssuedAt: clock.now() - 21 * H, accessTokenExpiresAt: clock.now() + 3 * H };
      const store = new MemorySessionStore(initial);
      const refresher = new Refresher({ store, tokenClient, lock: () => new MemoryLock(clock).acquire(), credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }), now: clock.now, log, ledger: new MemoryLedgerStore(), timers: clock });
      const { scheduler } = windowScheduler(refresher, clock, log, initial);
      clock.busy.push(() => scheduler.busy);
      const watch = new ClockWatch(clock, j => {
        log.warn(`local clock jumped by ${Math.round(j / 1000)} s`);
        scheduler.schedule('local clock jumped');
      });
      scheduler.schedule('start');
      await clock.advance(10 * MIN);
      // The machine sleeps 2.5 hours: the wall clock (and Keap's) moves on, the monotonic one does not.
      clock.jump(2.5 * H);
      fake.advance(2.5 * H);
      await clock.advance(CLOCK_TICK_MS);
      const sent = fake.requests.filter(r => r.form?.grant_type === 'refresh_token');
      assert.equal(sent.length, 1, `refreshed within one tick of waking (armed timer at ${scheduler.nextDecisionAt})`);
      assert.ok(log.lines.some(l => l === 'local clock jumped by 9000 s'));
      watch.dispose();
      scheduler.dispose();
    } finally {
      await fake.close();
    }
  });
});
