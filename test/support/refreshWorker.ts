// One stand-in for a VS Code window in the K1 concurrency test: a separate Node process sharing the
// lock folder and the token store with the others. On each {round, offsetMs} message it decides
// from its (offset) wall clock whether to refresh, and refreshes through the shared lock.
import path = require('path');
import { KeapError } from '../../src/keap/errors';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { FileLock } from '../../src/session/fileLock';
import { decideRefresh } from '../../src/session/policy';
import { Refresher } from '../../src/session/refresher';
import { FileSessionStore } from './fileSessionStore';

const [tokenUrl, dir, clientId, clientSecret] = process.argv.slice(2);
let offsetMs = 0;
const now = () => Date.now() + offsetMs;
const store = new FileSessionStore(path.join(dir, 'session.json'), now);
// The window's own clock stamps the expiry of what it receives, as in VS Code.
const client = new KeapTokenClient({ endpoints: () => ({ authorizeUrl: tokenUrl, tokenUrl, apiBaseUrl: tokenUrl }), timeoutMs: () => 10_000, now });
const refresher = new Refresher({
  store,
  tokenClient: client,
  now,
  log: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  credentials: async id => ({ clientId: id, clientSecret }),
  lock: () => new FileLock(path.join(dir, 'locks', `refresh-${clientId}.lock`), { staleMs: 30_000, retryMs: 10 }).acquire(60_000),
});

process.on('message', async (m: { round: number; offsetMs: number }) => {
  offsetMs = m.offsetMs;
  try {
    const seen = await store.read();
    if (!seen || decideRefresh(seen, now()).action !== 'refresh') return process.send!({ round: m.round, result: 'not-needed' });
    const r = await refresher.refresh(seen, current => decideRefresh(current, now()).action === 'refresh');
    process.send!({ round: m.round, result: r.kind });
  } catch (e) {
    process.send!({ round: m.round, result: 'error', kind: e instanceof KeapError ? e.kind : String(e) });
  }
});
process.send!({ ready: true });
