import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { SILENT_LOGGER } from '../../src/log';
import { accountKey } from '../../src/session/accounts';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { TokenSet } from '../../src/session/tokenSet';
import { CONNECT_BUDGET_MS, runCli } from '../../src/tokenHelper/cli';
import { handOut, HandOutDeps } from '../../src/tokenHelper/handOut';
import { ENV, listEntries } from '../../src/tokenHelper/ipcPaths';
import { startHelperServer } from '../../src/tokenHelper/ipcServer';
import { EXIT } from '../../src/tokenHelper/protocol';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { HelperWindow, openWindow } from '../support/tokenHelperWindow';
import { MemorySessionStore } from '../support/memoryStores';
import { itWhere, WINDOWS } from '../support/platform';

/** Wine serves a named pipe to about 4 waiting clients; the rest of 50 parallel processes are never connected (a Wine limit; real Windows is not exercised here). */
const WINE_PIPES = WINDOWS ? 'Wine serves a named pipe to about 4 parallel clients and never connects the rest' : undefined;

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist/keap-token.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built dist/keap-token.js in a process of its own, as a script in a terminal would. */
function keapToken(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  return new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** keap-token run in this process (the same code), for long loops. */
async function keapTokenHere(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli({ argv: args, env, stdout: t => (stdout += t), stderr: t => (stderr += t), now: Date.now });
  return { code, stdout, stderr };
}

type Window = HelperWindow;

describe('keap-token against the real IPC server, refresher and fake Keap server (issue 18)', function () {
  this.timeout(120_000);
  let fake: FakeKeap;
  let tmp: string;
  let helperDir: string;
  let store: MemorySessionStore;
  let ledger: MemoryLedgerStore;
  let clientSecret: string;
  const windows: Window[] = [];
  const tokenRequests = () => fake.requests.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token').length;
  const open = async () => {
    const w = await openWindow({ fake, store, ledger, lockDir: tmp, helperDir, clientSecret: () => clientSecret });
    windows.push(w);
    return w;
  };

  before(function () {
    if (!fs.existsSync(CLI)) throw new Error('no dist/keap-token.js: run `npm run build` first');
  });

  beforeEach(async () => {
    fake = await startFakeKeap();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-'));
    helperDir = path.join(tmp, 'keap-token');
    const redirectUri = 'http://localhost:9/callback';
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 10_000 });
    store = new MemorySessionStore(await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri }));
    ledger = new MemoryLedgerStore();
    clientSecret = DEMO_CLIENT.clientSecret;
  });

  afterEach(async () => {
    for (const w of windows.splice(0)) await w.close();
    await fake.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The stored access token expires in 60 s: inside the 300-second min-valid, so every call must have it refreshed first. */
  const makeDue = () => {
    store.set = { ...store.set!, accessTokenExpiresAt: Date.now() + 60_000 };
  };

  itWhere(WINE_PIPES, '50 parallel keap-token calls with a due token: exactly 1 token request, all 50 print the same new token', async () => {
    makeDue();
    const old = store.set!.accessToken;
    const w = await open();
    const before = tokenRequests();
    const runs = await Promise.all(Array.from({ length: 50 }, () => keapToken([], w.env)));
    assert.equal(tokenRequests() - before, 1, 'one refresh for all 50 callers');
    const printed = new Set(runs.map(r => r.stdout));
    assert.deepEqual(runs.map(r => r.code), Array(50).fill(0), runs.find(r => r.code)?.stderr);
    assert.equal(printed.size, 1);
    const token = [...printed][0].trim();
    assert.notEqual(token, old);
    assert.ok(fake.liveTokens().some(t => t.accessToken === token), 'the token Keap issued last');
    assert.equal(store.set!.accessToken, token, 'stored first, then handed out');
    assert.ok(runs.every(r => r.stderr === ''));
    // One log line per hand-out, naming the app and the helper, never the token.
    const handed = w.lines.filter(l => l.includes('handed to keap-token'));
    assert.equal(handed.length, 50);
    assert.ok(handed.every(l => l.includes('ab123')) && !w.lines.some(l => l.includes(token) || l.includes(old)));
  });

  it('a loop of 200 calls with a fresh token costs Keap nothing', async () => {
    const w = await open();
    const before = fake.requests.length;
    const token = store.set!.accessToken;
    for (let i = 0; i < 200; i++) {
      const r = await keapTokenHere([], w.env);
      assert.equal(r.code, EXIT.ok, r.stderr);
      assert.equal(r.stdout, `${token}\n`);
    }
    assert.equal(fake.requests.length - before, 0);
  });

  itWhere(WINE_PIPES, 'Keap refuses the refresh: one request, then the paused exit code for every caller until the user acts', async () => {
    makeDue();
    clientSecret = 'wrong-secret';
    const w = await open();
    const before = tokenRequests();
    const first = await Promise.all(Array.from({ length: 50 }, () => keapToken([], w.env)));
    assert.equal(tokenRequests() - before, 1);
    assert.deepEqual(first.map(r => r.code), Array(50).fill(EXIT.paused));
    assert.ok(first.every(r => r.stdout === '' && /paused/.test(r.stderr) && !r.stderr.includes(store.set!.accessToken)), first[0].stderr);
    const again = await Promise.all(Array.from({ length: 10 }, () => keapToken([], w.env)));
    assert.deepEqual(again.map(r => r.code), Array(10).fill(EXIT.paused));
    // A caller content with what is left (60 s, over the 30-second floor) still gets the valid token; asking costs nothing.
    const content = await keapToken(['--min-valid', '0'], w.env);
    assert.equal(content.code, EXIT.ok, content.stderr);
    assert.equal(content.stdout.trim(), store.set!.accessToken);
    assert.equal(tokenRequests() - before, 1, 'no request while paused');
    // The user acts: sets the right secret and runs Refresh Token.
    clientSecret = DEMO_CLIENT.clientSecret;
    await w.scheduler.refreshNow();
    assert.equal(tokenRequests() - before, 2);
    const after = await keapToken([], w.env);
    assert.equal(after.code, EXIT.ok, after.stderr);
    assert.equal(after.stdout.trim(), store.set!.accessToken);
  });

  it('--json, --header and --app; an unknown app or no sign-in is exit 4, bad options exit 2', async () => {
    const w = await open();
    const set = store.set!;
    const json = JSON.parse((await keapToken(['--json', '--app', 'ab123'], w.env)).stdout);
    assert.deepEqual(json, {
      token: set.accessToken,
      expires_at: new Date(set.accessTokenExpiresAt!).toISOString(),
      expires_at_epoch: Math.floor(set.accessTokenExpiresAt! / 1000),
      app: 'ab123',
      client_id: DEMO_CLIENT.clientId,
    });
    assert.equal((await keapToken(['--header'], w.env)).stdout, `Authorization: Bearer ${set.accessToken}\n`);
    const unknown = await keapToken(['--app', 'zz999'], w.env);
    assert.equal(unknown.code, EXIT.signIn);
    assert.match(unknown.stderr, /zz999/);
    const usage = await keapToken(['--min-valid', 'soon'], w.env);
    assert.equal(usage.code, EXIT.usage);
    assert.equal(usage.stdout, '');
    store.set = undefined;
    w.reload();
    const none = await keapToken([], w.env);
    assert.equal(none.code, EXIT.signIn);
    assert.equal(none.stdout, '');
  });

  it('no window running: exit 3 at once, whatever the environment names; it never refreshes on its own', async () => {
    const gone = await open();
    const env = gone.env;
    await windows.pop()!.close();
    const before = fake.requests.length;
    const r = await keapToken([], env);
    assert.equal(r.code, EXIT.notRunning);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no VS Code window/);
    assert.equal(fake.requests.length, before, 'keap-token sent nothing to Keap');
    assert.ok(CONNECT_BUDGET_MS < 2000, 'all connection attempts together stay under 2 seconds');
  });

  it('several windows: when the window a terminal names closes, the next call is answered by another', async () => {
    const a = await open();
    const b = await open();
    assert.equal(listEntries(helperDir).length, 2);
    const envOfA = a.env;
    await a.close();
    windows.splice(windows.indexOf(a), 1);
    const r = await keapToken([], envOfA);
    assert.equal(r.code, EXIT.ok, r.stderr);
    assert.equal(r.stdout.trim(), store.set!.accessToken);
    assert.equal(b.lines.filter(l => l.includes('handed to keap-token')).length, 1, 'window B answered');
  });

  it('the door is the user’s alone: a wrong secret is refused', async () => {
    const w = await open();
    // A wrong secret: refused by the window (and no other window knows it either).
    const wrong = await keapToken([], { ...w.env, [ENV.secret]: 'cd'.repeat(24), [ENV.dir]: path.join(tmp, 'nowhere') });
    assert.equal(wrong.code, EXIT.notRunning);
    assert.ok(w.lines.some(l => /wrong secret/.test(l)));
  });

  itWhere(
    WINDOWS ? 'POSIX file modes: Windows has none (the pipe keeps its default owner-only DACL)' : undefined,
    'the door is the user’s alone: owner-only folder and files, a folder others can open is not trusted',
    async () => {
      const w = await open();
      const mode = (p: string) => fs.statSync(p).mode & 0o777;
      assert.equal(mode(helperDir), 0o700);
      assert.equal(mode(w.server.address), 0o600);
      for (const f of fs.readdirSync(helperDir).filter(n => n.endsWith('.json'))) assert.equal(mode(path.join(helperDir, f)), 0o600);
      // The registry of a folder that others may open is not read (the window's own address still works).
      fs.chmodSync(helperDir, 0o755);
      const viaRegistry = await keapToken([], { [ENV.dir]: helperDir });
      assert.equal(viaRegistry.code, EXIT.notRunning);
      fs.chmodSync(helperDir, 0o700);
      assert.equal((await keapToken([], { [ENV.dir]: helperDir })).code, EXIT.ok);
    },
  );

  it('a new window removes the entries of windows whose process is gone', async () => {
    fs.mkdirSync(helperDir, { mode: 0o700 });
    const deadPid = 2 ** 22 + 12345;
    fs.writeFileSync(path.join(helperDir, 'w-0123456789abcdef.json'), JSON.stringify({ v: 1, address: path.join(helperDir, 'w-0123456789abcdef.sock'), secret: 'ab'.repeat(24), pid: deadPid, startedAt: 1 }), { mode: 0o600 });
    await open();
    assert.deepEqual(
      listEntries(helperDir).map(e => e.pid),
      [process.pid],
    );
  });
});

describe('keap-token tells VS Code its working directory; a declined production question exits 7 (issue 20)', function () {
  this.timeout(60_000);
  it('the built keap-token sends the directory it runs in, prints nothing and exits 7 when the window declines', async function () {
    if (!fs.existsSync(CLI)) throw new Error('no dist/keap-token.js: run `npm run build` first');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kt-cwd-'));
    const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'kt-work-')));
    const seen: Array<string | undefined> = [];
    const server = await startHelperServer({
      dir: path.join(tmp, 'keap-token'),
      handle: async req => (seen.push(req.cwd), { ok: false, refusal: 'declined', message: 'Keap app ab123 is marked production and was not allowed for the folder work.' }),
      log: SILENT_LOGGER,
    });
    try {
      const r = await new Promise<Run>(resolve =>
        execFile(process.execPath, [CLI], { cwd: work, env: { PATH: process.env.PATH, [ENV.address]: server.address, [ENV.dir]: server.dir, [ENV.secret]: server.secret }, timeout: 30_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
        ),
      );
      assert.equal(r.code, EXIT.declined, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /marked production and was not allowed/);
      assert.deepEqual(seen.map(c => c && fs.realpathSync(c)), [work], 'one request, carrying the directory keap-token ran in');
    } finally {
      await server.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});

describe('handOut: refusals and the hand-out log (issue 18)', () => {
  const set: TokenSet = { accessToken: 'at', refreshToken: 'rt', accessTokenExpiresAt: 10_000_000, refreshTokenIssuedAt: 0, scope: 'full|ab123.infusionsoft.com', appName: 'ab123', clientId: 'cid' };
  const deps = (s: TokenSet | undefined, over: Partial<HandOutDeps> = {}): HandOutDeps & { refreshes: number } => {
    const d = {
      refreshes: 0,
      ready: async () => undefined,
      accounts: () => (s ? [s] : []),
      activeKey: () => s && accountKey(s),
      tokenSet: () => s,
      health: () => ({ kind: 'ok' as const }),
      refreshIfAdmitted: async () => void d.refreshes++,
      now: () => 1_000_000,
      log: SILENT_LOGGER,
      ...over,
    };
    return d;
  };

  it('a fresh token: no refresh; a due one: one refresh, then the new token; never the refresh token', async () => {
    const d = deps(set);
    assert.deepEqual(await handOut(d, { minValidMs: 300_000, via: 'command' }), { ok: true, token: 'at', expiresAt: set.accessTokenExpiresAt, app: 'ab123', clientId: 'cid' });
    assert.equal(d.refreshes, 0);
    let current: TokenSet = { ...set, accessTokenExpiresAt: 1_100_000 };
    const due = deps(current, { tokenSet: () => current, refreshIfAdmitted: async () => void (current = { ...set, accessToken: 'new' }) });
    const a = await handOut(due, { minValidMs: 300_000, via: 'command' });
    assert.ok(a.ok && a.token === 'new');
    assert.ok(!JSON.stringify(a).includes('rt'));
  });

  it('an expired token whose refresh was held back is never handed out: unavailable, with the next try', async () => {
    const expired = { ...set, accessTokenExpiresAt: 1_010_000 };
    const a = await handOut(deps(expired, { health: () => ({ kind: 'retrying', attempt: 1, nextAt: 2_000_000, reason: 'transient', message: 'Keap answered 503' }) }), { minValidMs: 0, via: 'command' });
    assert.equal(a.ok, false);
    assert.ok(!a.ok && a.refusal === 'unavailable' && /503/.test(a.message));
  });

  it('paused, or the refresh token refused: no refresh attempt, the reason in words', async () => {
    const pause = { cause: 'bad-client-credentials' as const, message: 'Keap refused the client secret.', resume: 'set-client-credentials' as const, at: 0, issuedAt: 0 };
    const paused = deps({ ...set, accessTokenExpiresAt: 1_100_000 }, { health: () => ({ kind: 'paused', pause }) });
    const a = await handOut(paused, { minValidMs: 300_000, via: 'keap-token' });
    assert.ok(!a.ok && a.refusal === 'paused' && a.message.includes('client secret'));
    assert.equal(paused.refreshes, 0);
    const dead = await handOut(deps({ ...set, refreshTokenRejectedAt: 5 }), { minValidMs: 0, via: 'keap-token' });
    assert.ok(!dead.ok && dead.refusal === 'sign-in');
  });
});
