import * as path from 'node:path';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger, SILENT_LOGGER } from '../../src/log';
import { accountKey } from '../../src/session/accounts';
import { FileLock } from '../../src/session/fileLock';
import { DEFAULT_REFRESH_POLICY } from '../../src/session/policy';
import { Refresher } from '../../src/session/refresher';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { RefreshScheduler } from '../../src/session/refreshScheduler';
import { TokenSet } from '../../src/session/tokenSet';
import { handOut, HandOutDeps } from '../../src/tokenHelper/handOut';
import { ENV } from '../../src/tokenHelper/ipcPaths';
import { startHelperServer } from '../../src/tokenHelper/ipcServer';
import { FakeKeap } from '../fake-keap/server';
import { MemorySessionStore } from './memoryStores';

/**
 * One simulated VS Code window as src/vscode/tokenHelper.ts builds it: the REAL RefreshScheduler
 * and Refresher (the fake Keap server behind a real KeapTokenClient, a real lock file, the shared
 * ledger), the real hand-out and the real IPC server.
 */
export async function openWindow(o: { fake: FakeKeap; store: MemorySessionStore; ledger: MemoryLedgerStore; lockDir: string; helperDir: string; clientSecret: () => string }) {
  let view: TokenSet | undefined = o.store.set;
  const lines: string[] = [];
  const log: Logger = { ...SILENT_LOGGER, info: m => void lines.push(m), warn: m => void lines.push(m) };
  const refresher = new Refresher({
    store: o.store,
    tokenClient: new KeapTokenClient({ endpoints: () => o.fake, timeoutMs: () => 10_000 }),
    lock: () => new FileLock(path.join(o.lockDir, 'refresh.lock'), { staleMs: 15_000 }).acquire(30_000),
    credentials: async clientId => ({ clientId, clientSecret: o.clientSecret() }),
    now: Date.now,
    log: SILENT_LOGGER,
    ledger: o.ledger,
  });
  const scheduler = new RefreshScheduler({
    refresher,
    tokenSet: () => view,
    policy: () => DEFAULT_REFRESH_POLICY,
    enabled: () => true,
    clock: { now: Date.now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: h => clearTimeout(h as NodeJS.Timeout) },
    log: SILENT_LOGGER,
    label: () => 'ab123',
    onTokenSet: set => (view = set),
    onHealth: () => undefined,
  });
  const deps: HandOutDeps = {
    ready: async () => undefined,
    accounts: () => (view ? [view] : []),
    activeKey: () => view && accountKey(view),
    tokenSet: () => view,
    health: () => scheduler.health,
    refreshIfAdmitted: () => scheduler.refreshIfAdmitted(),
    now: Date.now,
    log,
  };
  const server = await startHelperServer({ dir: o.helperDir, handle: req => handOut(deps, { app: req.app, minValidMs: req.minValidSeconds * 1000, via: 'keap-token' }), log });
  const env = { [ENV.address]: server.address, [ENV.secret]: server.secret, [ENV.dir]: server.dir };
  return {
    server,
    scheduler,
    deps,
    lines,
    env,
    reload: () => (view = o.store.set),
    close: async () => {
      scheduler.dispose();
      await server.dispose();
    },
  };
}

export type HelperWindow = Awaited<ReturnType<typeof openWindow>>;
