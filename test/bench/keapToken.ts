// keap-token's figures for `npm run bench` (issue 18), in plain Node: one simulated VS Code window
// (the real RefreshScheduler, Refresher, hand-out and IPC server, the fake Keap server behind a real
// KeapTokenClient; test/support/tokenHelperWindow.ts) and the built CLI, dist/keap-token.js, run as
// a process of its own through bin/keap-token, as a script in a terminal runs it. Measures its
// latency beside a bare `node -e 0` start (interleaved, same run), and counts the token requests of
// 1,000 calls with a fresh token. Not a test: it reports numbers (scripts/bench-keap-token.js).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { runCli } from '../../src/tokenHelper/cli';
import { ENV } from '../../src/tokenHelper/ipcPaths';
import { DEMO_CLIENT, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { MemorySessionStore } from '../support/memoryStores';
import { openWindow } from '../support/tokenHelperWindow';

const ROOT = path.resolve(__dirname, '../../..');

function gitCommit(): string | undefined {
  try {
    return require('node:child_process').execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number; stdout: string }> {
  const t0 = performance.now();
  return new Promise(resolve =>
    execFile(file, args, { env }, (err, stdout) => resolve({ ms: performance.now() - t0, code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout })),
  );
}

const quantile = (a: number[], q: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const summary = (a: number[]) => ({ median: r1(quantile(a, 0.5)), p95: r1(quantile(a, 0.95)), min: r1(Math.min(...a)), max: r1(Math.max(...a)), n: a.length });

export interface KeapTokenBench {
  /** keap-token (bin/keap-token → dist/keap-token.js) answered by the window, ms. */
  keapTokenMs: ReturnType<typeof summary>;
  /** `node -e 0`, the bare process start, ms. */
  nodeStartMs: ReturnType<typeof summary>;
  /** Token requests at the fake Keap for `freshCalls` calls with a fresh token (must be 0). */
  tokenRequestsForFreshCalls: number;
  freshCalls: number;
  /** keap-token with no window running: exit code and time, ms (must be 3, under 2,000). */
  notRunning: { code: number; ms: number };
  /** When and at which commit (ISO 8601; short hash) this part was measured: alone it may be newer than the rest of the table. */
  measuredAt: string;
  commit?: string;
}

export async function benchKeapToken(calls = Number(process.env.BENCH_KEAP_TOKEN_CALLS || 120), freshCalls = 1000): Promise<KeapTokenBench> {
  const fake = await startFakeKeap();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-bench-'));
  try {
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 10_000 });
    const redirectUri = 'http://localhost:9/callback';
    const store = new MemorySessionStore(await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri }));
    const w = await openWindow({ fake, store, ledger: new MemoryLedgerStore(), lockDir: tmp, helperDir: path.join(tmp, 'keap-token'), clientSecret: () => DEMO_CLIENT.clientSecret });
    const env = { PATH: process.env.PATH, ...w.env, [ENV.node]: process.execPath };
    const bin = path.join(ROOT, 'bin', 'keap-token');
    const keapToken: number[] = [];
    const nodeStart: number[] = [];
    const before = fake.requests.length;
    for (let i = 0; i < calls; i++) {
      const k = await timed(bin, [], env);
      if (k.code !== 0 || k.stdout.trim() !== store.set!.accessToken) throw new Error(`keap-token failed (exit ${k.code})`);
      keapToken.push(k.ms);
      nodeStart.push((await timed(process.execPath, ['-e', '0'], env)).ms);
    }
    // The rest of the 1,000 in this process (the same client code over the same socket; only the process start is left out).
    for (let i = calls; i < freshCalls; i++) {
      const code = await runCli({ argv: [], env: w.env, stdout: () => undefined, stderr: () => undefined, now: Date.now });
      if (code !== 0) throw new Error(`keap-token failed (exit ${code})`);
    }
    const tokenRequestsForFreshCalls = fake.requests.slice(before).filter(r => r.path === '/token').length;
    await w.close();
    const gone = await timed(bin, [], env);
    return {
      keapTokenMs: summary(keapToken),
      nodeStartMs: summary(nodeStart),
      tokenRequestsForFreshCalls,
      freshCalls,
      notRunning: { code: gone.code, ms: r1(gone.ms) },
      measuredAt: new Date().toISOString(),
      commit: gitCommit(),
    };
  } finally {
    await fake.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
