// A window that refreshes once and may be killed at any moment (the crash test sends SIGKILL at
// a random time). Shares the token store and the lock folder with the test.
import path = require('path');
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { FileLock } from '../../src/session/fileLock';
import { Refresher } from '../../src/session/refresher';
import { FileSessionStore } from './fileSessionStore';

const [tokenUrl, dir, clientId, clientSecret] = process.argv.slice(2);
const store = new FileSessionStore(path.join(dir, 'session.json'));
const refresher = new Refresher({
  store,
  tokenClient: new KeapTokenClient({ endpoints: () => ({ authorizeUrl: tokenUrl, tokenUrl, apiBaseUrl: tokenUrl }), timeoutMs: () => 10_000 }),
  now: Date.now,
  log: { trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  credentials: async id => ({ clientId: id, clientSecret }),
  lock: () => new FileLock(path.join(dir, 'locks', `refresh-${clientId}.lock`), { staleMs: 30_000, retryMs: 5 }).acquire(20_000),
});
// Loaded: tell the test, which then kills at a random moment of the refresh itself.
process.stdout.write('R');
refresher.refresh(undefined).then(
  r => process.exit(r.kind === 'refreshed' ? 0 : 3),
  e => {
    process.stderr.write(String((e as Error)?.stack ?? e));
    process.exit(4);
  },
);
