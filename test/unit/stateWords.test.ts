import assert from 'node:assert/strict';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { Refresher } from '../../src/session/refresher';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { tokenState, TokenState } from '../../src/session/stateWords';
import { refreshTokenDaysLeft, TokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FakeClock } from '../support/fakeClock';
import { MemoryLock, MemorySessionStore } from '../support/memoryStores';
import { windowScheduler } from '../support/windowScheduler';

const MIN = 60_000;
const H = 60 * MIN;
const LIMITS = { warnBelowMs: H, warnRefreshDays: 7 };

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (l: string) => lines.push(l);
  return { lines, trace: push, debug: push, info: push, warn: push, error: push };
}

/** Where a window starts: each reached through the real scheduler, refresher and token client against the fake Keap server. */
const STARTS = ['valid', 'valid, failure noted', 'failing', 'paused', 'sign-in-again', 'unsaved', 'waiting'] as const;
type Start = (typeof STARTS)[number];
/** What the user does next. */
const ACTIONS = ['nothing', 'Refresh Token works', 'Refresh Token fails (503)', 'Refresh Token refused (400)', 'settings changed'] as const;
type Action = (typeof ACTIONS)[number];

/**
 * The words every view shows afterwards: "state/attention" plus "+noted" when a failure is noted
 * in the tooltip. Warning colours only where the user must act or the token is about to lapse
 * (issue 19.2); a failed Refresh Token of a token that was not due leaves it "valid".
 */
const TABLE: Record<Start, Record<Action, string>> = {
  valid: {
    nothing: 'valid/none',
    'Refresh Token works': 'valid/none',
    'Refresh Token fails (503)': 'valid/none+noted',
    'Refresh Token refused (400)': 'paused/warning',
    'settings changed': 'valid/none',
  },
  'valid, failure noted': {
    nothing: 'valid/none+noted',
    'Refresh Token works': 'valid/none',
    'Refresh Token fails (503)': 'valid/none+noted',
    'Refresh Token refused (400)': 'paused/warning',
    'settings changed': 'valid/none+noted',
  },
  failing: {
    nothing: 'failing/warning',
    'Refresh Token works': 'valid/none',
    'Refresh Token fails (503)': 'failing/warning',
    'Refresh Token refused (400)': 'paused/warning',
    'settings changed': 'failing/warning',
  },
  paused: {
    nothing: 'paused/warning',
    'Refresh Token works': 'valid/none',
    'Refresh Token fails (503)': 'failing/warning',
    'Refresh Token refused (400)': 'paused/warning',
    // Resumed: valid again, and about to lapse (30 minutes left) until the next automatic refresh.
    'settings changed': 'valid/warning',
  },
  'sign-in-again': {
    nothing: 'sign-in-again/error',
    'Refresh Token works': 'sign-in-again/error',
    'Refresh Token fails (503)': 'sign-in-again/error',
    'Refresh Token refused (400)': 'sign-in-again/error',
    'settings changed': 'sign-in-again/error',
  },
  unsaved: {
    nothing: 'unsaved/warning',
    'Refresh Token works': 'valid/none',
    'Refresh Token fails (503)': 'valid/none+noted',
    'Refresh Token refused (400)': 'paused/warning',
    'settings changed': 'unsaved/warning',
  },
  waiting: {
    nothing: 'waiting/none',
    'Refresh Token works': 'waiting/none',
    'Refresh Token fails (503)': 'waiting/none',
    'Refresh Token refused (400)': 'waiting/none',
    'settings changed': 'waiting/none',
  },
};

function words(s: TokenState): string {
  return `${s.state}/${s.attention}${s.failureNoted ? '+noted' : ''}`;
}

describe('state words: every health state × user action (issue 19.2)', function () {
  this.timeout(60_000);
  let fake: FakeKeap;
  let issued: TokenSet;

  before(async () => {
    fake = await startFakeKeap();
  });
  after(() => fake.close());

  beforeEach(async () => {
    fake.clearFaults();
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: Date.now });
    const redirectUri = 'http://localhost:9/callback';
    issued = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
  });

  function window(clock: FakeClock, store: MemorySessionStore, lock: MemoryLock, ledger: MemoryLedgerStore, log: Logger) {
    const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now, log });
    const refresher = new Refresher({ store, tokenClient, lock: () => lock.acquire(), credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }), now: clock.now, log, ledger, timers: clock });
    const w = windowScheduler(refresher, clock, log, store.set);
    clock.busy.push(() => w.scheduler.busy);
    return { ...w, refresher };
  }

  async function reach(start: Start) {
    const clock = new FakeClock(Date.now());
    const due = start !== 'valid' && start !== 'valid, failure noted';
    // Fresh: 24 hours left. Due: issued 23.5 hours ago, 30 minutes left (inside the 60-minute refresh window).
    const set: TokenSet = due ? { ...issued, refreshTokenIssuedAt: clock.now() - 23.5 * H, accessTokenExpiresAt: clock.now() + 30 * MIN } : { ...issued, refreshTokenIssuedAt: clock.now(), accessTokenExpiresAt: clock.now() + 24 * H };
    if (start === 'sign-in-again') Object.assign(set, { refreshToken: 'a-refresh-token-keap-no-longer-knows' });
    const store = new MemorySessionStore(set);
    const lock = new MemoryLock(clock);
    const ledger = new MemoryLedgerStore();
    const log = recordingLogger();
    let w = window(clock, store, lock, ledger, log);
    switch (start) {
      case 'valid':
        w.scheduler.schedule('start');
        break;
      case 'valid, failure noted':
        fake.addFault({ status: 503, body: 'busy' });
        await w.scheduler.refreshNow();
        break;
      case 'failing':
        fake.addFault({ status: 503, body: 'busy' });
        w.scheduler.schedule('start');
        break;
      case 'paused':
        fake.addFault({ status: 400, body: '{"error":"invalid_request","error_description":"Missing parameter: refresh_token"}' });
        w.scheduler.schedule('start');
        break;
      case 'sign-in-again':
        w.scheduler.schedule('start');
        break;
      case 'unsaved':
        store.writeFaults.push('throw');
        w.scheduler.schedule('start');
        break;
      case 'waiting': {
        // Another window refreshed and could not store the pair; this one must not send the dead token.
        const other = window(clock, store, lock, ledger, log);
        store.writeFaults.push('throw', 'throw', 'throw', 'throw');
        other.scheduler.schedule('start');
        await clock.advance(1000);
        other.scheduler.dispose();
        w = window(clock, store, lock, ledger, log);
        w.scheduler.schedule('start');
        break;
      }
    }
    await clock.advance(1000);
    return { clock, store, w, log };
  }

  async function act(action: Action, env: Awaited<ReturnType<typeof reach>>): Promise<void> {
    const { w, clock } = env;
    switch (action) {
      case 'nothing':
        break;
      case 'Refresh Token works':
        fake.clearFaults();
        await w.scheduler.refreshNow();
        break;
      case 'Refresh Token fails (503)':
        fake.addFault({ status: 503, body: 'busy' });
        await w.scheduler.refreshNow();
        break;
      case 'Refresh Token refused (400)':
        fake.addFault({ status: 400, body: '{"error":"invalid_request","error_description":"Missing parameter: refresh_token"}' });
        await w.scheduler.refreshNow();
        break;
      case 'settings changed':
        w.scheduler.resume('settings changed');
        break;
    }
    await clock.advance(100);
  }

  for (const start of STARTS) {
    for (const action of ACTIONS) {
      it(`${start} + ${action} → ${TABLE[start][action]}`, async () => {
        const env = await reach(start);
        await act(action, env);
        fake.clearFaults();
        const { w, clock } = env;
        const set = w.view()!;
        const now = clock.now();
        const s = tokenState(set, w.scheduler.health, now, { ...LIMITS, refreshDaysLeft: refreshTokenDaysLeft(set, now, 60 * 86_400_000) });
        assert.equal(words(s), TABLE[start][action], `health ${JSON.stringify(w.scheduler.health)}`);
        // A warning colour means the user must act, or a token is about to lapse.
        const left = set.accessTokenExpiresAt! - now;
        if (s.attention !== 'none') assert.ok(s.userMustAct || left < LIMITS.warnBelowMs, JSON.stringify(s));
      });
    }
  }
});
