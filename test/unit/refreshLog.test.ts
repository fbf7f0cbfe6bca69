import assert from 'node:assert/strict';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { Refresher } from '../../src/session/refresher';
import { EMPTY_LEDGER, MemoryLedgerStore, recordRequest } from '../../src/session/refreshSchedule';
import { TokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FakeClock } from '../support/fakeClock';
import { MemoryLock, MemorySessionStore } from '../support/memoryStores';
import { windowScheduler } from '../support/windowScheduler';

const MIN = 60_000;
const H = 60 * MIN;

/** Issue 19.2: each log line says what was done, not what was considered. */
describe('automatic refresh log lines say what was sent', function () {
  this.timeout(30_000);
  let fake: FakeKeap;
  let clock: FakeClock;
  let due: TokenSet;
  const lines: string[] = [];
  const log: Logger = { trace: l => lines.push(l), debug: l => lines.push(l), info: l => lines.push(l), warn: l => lines.push(l), error: l => lines.push(l) };

  beforeEach(async () => {
    lines.length = 0;
    fake = await startFakeKeap();
    clock = new FakeClock(Date.now());
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now });
    const redirectUri = 'http://localhost:9/callback';
    const fresh = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
    due = { ...fresh, refreshTokenIssuedAt: clock.now() - 23.5 * H, accessTokenExpiresAt: clock.now() + 30 * MIN };
  });
  afterEach(() => fake.close());

  function window(ledger: MemoryLedgerStore) {
    const store = new MemorySessionStore(due);
    const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now, log });
    const refresher = new Refresher({ store, tokenClient, lock: () => new MemoryLock(clock).acquire(), credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }), now: clock.now, log, ledger, timers: clock });
    const w = windowScheduler(refresher, clock, log, store.set);
    clock.busy.push(() => w.scheduler.busy);
    return w;
  }

  const refreshRequests = () => fake.requests.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token');

  it('held back by the 30-second interval: "nothing sent", with when it may go, and no request', async () => {
    const ledger = new MemoryLedgerStore();
    await ledger.write(recordRequest(EMPTY_LEDGER, clock.now() - 5000));
    const w = window(ledger);
    w.scheduler.schedule('timer');
    await clock.advance(100);
    assert.equal(refreshRequests().length, 0);
    const line = lines.find(l => /^automatic refresh of Keap app ab123 \(due; timer\)/.test(l));
    assert.ok(line, lines.join('\n'));
    assert.match(line, /nothing sent: the previous request was under 30 s ago; not before .*\(\d{4}-\d\d-\d\dT/);
  });

  it('sent: "sent; new tokens stored", once the request went out', async () => {
    const w = window(new MemoryLedgerStore());
    w.scheduler.schedule('timer');
    await clock.advance(100);
    assert.equal(refreshRequests().length, 1);
    assert.ok(lines.some(l => /^automatic refresh of Keap app ab123 \(due; timer\): sent; new tokens stored$/.test(l)), lines.join('\n'));
  });
});
