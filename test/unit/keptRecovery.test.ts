import assert from 'node:assert/strict';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { Refresher } from '../../src/session/refresher';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { STORE_NUDGE_MIN_MS } from '../../src/session/refreshScheduler';
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

describe('kept tokens are stored as soon as the keyring accepts a write (issue 19.4, case K11)', function () {
  this.timeout(30_000);
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
    signedIn = { ...fresh, refreshTokenIssuedAt: clock.now() - 23.5 * H, accessTokenExpiresAt: clock.now() + 30 * MIN };
    store = new MemorySessionStore(signedIn);
    lock = new MemoryLock(clock);
    ledger = new MemoryLedgerStore();
    log = recordingLogger();
  });
  afterEach(() => fake.close());

  function window() {
    const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now, log });
    const refresher = new Refresher({ store, tokenClient, lock: () => lock.acquire(), credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }), now: clock.now, log, ledger, timers: clock });
    const w = windowScheduler(refresher, clock, log, store.set);
    clock.busy.push(() => w.scheduler.busy);
    return { ...w, refresher };
  }

  const refreshRequests = () => fake.requests.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token');

  it('a store that fails, then works: the kept pair is stored at the first nudge, not at the next backoff', async () => {
    const w = window();
    // The refresh's write and the first backoff retry (30 s) fail; the keyring is unlocked after that.
    store.writeFaults.push('throw', 'throw');
    w.scheduler.schedule('start');
    await clock.advance(31_000);
    const kept = w.refresher.unsaved;
    assert.ok(kept, 'the pair is kept in memory');
    assert.equal(w.scheduler.health.kind, 'unsaved');
    assert.equal(store.set?.refreshToken, signedIn.refreshToken, 'storage still holds the old pair');
    // The next backoff try is 60 s after the last one; the keyring answers now (a SecretStorage call worked, or focus).
    await w.scheduler.storeKeptNow('SecretStorage answered');
    assert.equal(store.set?.refreshToken, kept.refreshToken, 'stored at once');
    assert.equal(w.refresher.unsaved, undefined);
    assert.equal(w.scheduler.health.kind, 'ok');
    assert.equal(refreshRequests().length, 1, 'storing sent nothing to Keap');
    assert.ok(log.lines.some(l => /storing the kept tokens of Keap app ab123 again now \(SecretStorage answered\)/.test(l)));
  });

  it('nudges are bounded: one write per STORE_NUDGE_MIN_MS however many SecretStorage calls work', async () => {
    const w = window();
    store.writeFaults.push('throw', 'throw', 'throw', 'throw', 'throw', 'throw');
    w.scheduler.schedule('start');
    await clock.advance(1000);
    assert.ok(w.refresher.unsaved);
    const writesBefore = store.writeFaults.length;
    for (let i = 0; i < 50; i++) await w.scheduler.storeKeptNow('SecretStorage answered');
    assert.equal(writesBefore - store.writeFaults.length, 1, 'fifty nudges in the same instant: one write');
    await clock.advance(STORE_NUDGE_MIN_MS);
    for (let i = 0; i < 50; i++) await w.scheduler.storeKeptNow('SecretStorage answered');
    assert.equal(writesBefore - store.writeFaults.length, 2, 'and one more once the interval has passed');
    assert.equal(w.scheduler.health.kind, 'unsaved');
  });

  it('nothing kept: a nudge does nothing', async () => {
    const w = window();
    await w.scheduler.storeKeptNow('window focused');
    assert.equal(store.writes, 0);
    assert.ok(!log.lines.some(l => /storing the kept tokens/.test(l)));
  });

  it("the other window's status follows the write: it stops waiting as soon as it reads the stored pair", async () => {
    const a = window();
    const b = window();
    store.writeFaults.push('throw');
    a.scheduler.schedule('start');
    await clock.advance(1000);
    b.scheduler.schedule('start');
    await clock.advance(1000);
    assert.equal(b.scheduler.health.kind, 'superseded');
    // As SessionModel does: every window re-reads and re-decides when a write lands (change signal).
    store.onWrite = () => {
      b.setView(store.set);
      b.scheduler.schedule('session changed');
    };
    await a.scheduler.storeKeptNow('window focused');
    await clock.advance(1000);
    assert.equal(b.view()?.refreshToken, store.set?.refreshToken);
    assert.equal(a.scheduler.health.kind, 'ok');
    assert.notEqual(b.scheduler.health.kind, 'superseded');
    assert.equal(refreshRequests().length, 1, 'no window sent the dead refresh token');
  });
});
