import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as dotenv from 'dotenv';
import { appRotations, EnvFileRecord, foreignRefreshToken } from '../../src/dotenv/appRotation';
import { envValueOf, upsertEnv } from '../../src/dotenv/envFile';
import { locateEnvFile, readOwnEnvText, writeOwnerOnly } from '../../src/dotenv/envLocation';
import { ENV_PRESETS, envValuesFor } from '../../src/dotenv/variables';
import { KeapError } from '../../src/keap/errors';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { accountKey, fingerprint } from '../../src/session/accounts';
import { Refresher } from '../../src/session/refresher';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { TokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FakeClock } from '../support/fakeClock';
import { MemoryLock, MemorySessionStore } from '../support/memoryStores';
import { windowScheduler } from '../support/windowScheduler';

const H = 3_600_000;
const REDIRECT = 'http://localhost:9/callback';
/** What the user's own script sends as its User-Agent, to tell its requests from the extension's. */
const SCRIPT_AGENT = 'my-keap-script/1.0';
const DEAD_MESSAGE = 'Keap no longer accepts this refresh token; sign in again.';

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (l: string) => lines.push(l);
  return { lines, trace: push, debug: push, info: push, warn: push, error: push };
}

/**
 * Issue 13.6: Keap's refresh tokens are single-use. The user's own script reads the .env file the
 * extension wrote, refreshes, and writes the new pair back; the extension's refresh token is then
 * dead. The real Refresher, KeapTokenClient and fake Keap server over HTTP; the .env files are real
 * files in a temporary workspace folder, read through the same core functions as the VS Code layer
 * (src/vscode/envWriter appRotations: locateEnvFile, readOwnEnvText, src/dotenv/appRotation).
 */
describe('keep-in-sync never writes over a refresh token the user\'s app wrote (found by the refresh property, seed 1052146979)', () => {
  const record: EnvFileRecord = { uri: 'file:///ws/.env', account: 'cid|ab123', keys: ['KEAP_ACCESS_TOKEN', 'KEAP_REFRESH_TOKEN'], refresh: { key: 'KEAP_REFRESH_TOKEN', written: fingerprint('rt-written') } };
  it('names the token only when it is neither the one VS Code wrote last nor the one it is about to write', () => {
    assert.equal(foreignRefreshToken("KEAP_REFRESH_TOKEN='rt-app'\n", record, 'rt-new'), 'rt-app', "the app's rotation is kept");
    assert.equal(foreignRefreshToken('KEAP_REFRESH_TOKEN=rt-written\n', record, 'rt-new'), undefined, 'what VS Code wrote: sync goes on');
    assert.equal(foreignRefreshToken('KEAP_REFRESH_TOKEN=rt-new\n', record, 'rt-new'), undefined, 'already the new one');
    assert.equal(foreignRefreshToken('OTHER=1\n', record, 'rt-new'), undefined, 'no refresh token in the file');
    assert.equal(foreignRefreshToken("KEAP_REFRESH_TOKEN='rt-app'\n", { ...record, refresh: undefined }, 'rt-new'), undefined, 'a 0.1 record without a fingerprint');
    assert.equal(foreignRefreshToken("KEAP_REFRESH_TOKEN='rt-app'\n", { ...record, keys: ['KEAP_ACCESS_TOKEN'] }, 'rt-new'), undefined, 'the refresh token was not written there (includeRefreshToken off)');
  });
});

describe('following the user\'s own app\'s rotation through the .env file the extension wrote (issue 13.6)', function () {
  this.timeout(30_000);
  let fake: FakeKeap;
  let clock: FakeClock;
  let folder: string;
  let store: MemorySessionStore;
  let lock: MemoryLock;
  let ledger: MemoryLedgerStore;
  let log: ReturnType<typeof recordingLogger>;
  let records: EnvFileRecord[];
  /** Files the candidate source read, relative to the folder. */
  let reads: string[];
  let signedIn: TokenSet;

  async function signIn(app?: string): Promise<TokenSet> {
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now });
    return client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, REDIRECT, 's', DEMO_CLIENT.clientId, app), redirectUri: REDIRECT });
  }

  /** Insert into .env as the extension does: the core writer, and a record with the refresh variable's fingerprint. */
  async function insert(rel: string, set: TokenSet): Promise<string> {
    const { file, real } = await locateEnvFile(folder, rel);
    const values = envValuesFor(set, ENV_PRESETS.keap);
    await writeOwnerOnly(real, upsertEnv((await readOwnEnvText(real)) ?? '', values).text);
    records = records.filter(r => r.uri !== pathToFileURL(file).href);
    records.push({ uri: pathToFileURL(file).href, account: accountKey(set), keys: values.map(([k]) => k), refresh: { key: 'KEAP_REFRESH_TOKEN', written: fingerprint(set.refreshToken) } });
    return file;
  }

  /** The user's own script: reads the .env with dotenv, refreshes like any HTTP client, writes the new pair back. */
  async function appRefreshes(file: string, write = true): Promise<{ access_token: string; refresh_token: string; scope: string }> {
    const text = fs.readFileSync(file, 'utf8');
    const res = await fetch(fake.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${DEMO_CLIENT.clientId}:${DEMO_CLIENT.clientSecret}`).toString('base64')}`,
        'user-agent': SCRIPT_AGENT,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: dotenv.parse(text).KEAP_REFRESH_TOKEN }).toString(),
    });
    const answer = (await res.json()) as { access_token: string; refresh_token: string; scope: string };
    assert.equal(res.status, 200, 'the app refreshed');
    if (write) fs.writeFileSync(file, upsertEnv(text, [['KEAP_ACCESS_TOKEN', answer.access_token], ['KEAP_REFRESH_TOKEN', answer.refresh_token]]).text);
    return answer;
  }

  /** Something other than the file's app uses a refresh token (a sign-in elsewhere, another copy): Keap rotates it away. */
  async function killAtKeap(refreshToken: string): Promise<void> {
    const res = await fetch(fake.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${DEMO_CLIENT.clientId}:${DEMO_CLIENT.clientSecret}`).toString('base64')}`, 'user-agent': SCRIPT_AGENT },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    });
    assert.equal(res.status, 200);
  }

  /**
   * What the VS Code layer passes as `appRotations` (EnvWriter.appRotations), over real files: a
   * file it may write now is opened with a way to re-read it and to write Keap's answer back
   * (and the record's fingerprint). `beforeReread` runs before each re-read (the user's app acting
   * between the look and the request).
   */
  function candidateSource(beforeReread?: () => void) {
    return (set: TokenSet) =>
      appRotations(records, accountKey(set), async r => {
        const file = fileURLToPath(r.uri);
        const where = path.relative(folder, file);
        reads.push(where);
        try {
          const { real } = await locateEnvFile(folder, file);
          const text = await readOwnEnvText(real);
          if (text === undefined) return undefined;
          return {
            text,
            where,
            names: ENV_PRESETS.keap,
            reread: async () => (beforeReread?.(), readOwnEnvText(real)),
            write: async (next: string, refreshToken: string) => {
              await writeOwnerOnly(real, next);
              records = records.map(x => (x.uri === r.uri && x.refresh ? { ...x, refresh: { ...x.refresh, written: fingerprint(refreshToken) } } : x));
            },
          };
        } catch {
          return undefined;
        }
      });
  }

  function refresher(withSource = true, beforeReread?: () => void): Refresher {
    const tokenClient = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: clock.now, log });
    return new Refresher({
      store,
      tokenClient,
      lock: () => lock.acquire(),
      credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
      now: clock.now,
      log,
      ledger,
      timers: clock,
      ...(withSource ? { appRotations: candidateSource(beforeReread) } : {}),
    });
  }

  /** Refresh requests the extension sent (not the user's script), with the refresh token each sent and Keap's status. */
  const extensionRefreshes = () =>
    fake.requests.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token' && r.headers['user-agent'] !== SCRIPT_AGENT).map(r => ({ token: r.form!.refresh_token, status: r.status }));
  const live = () => fake.liveTokens().map(t => t.refreshToken);
  const noTokenInLog = () => {
    for (const s of fake.issuedSecrets()) assert.ok(!log.lines.some(l => l.includes(s)), 'no token, code or secret in the log');
  };

  beforeEach(async () => {
    fake = await startFakeKeap({ userApps: ['zz999'] });
    clock = new FakeClock(Date.now());
    folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'keap-rotation-')));
    signedIn = await signIn();
    store = new MemorySessionStore(signedIn);
    lock = new MemoryLock(clock);
    ledger = new MemoryLedgerStore();
    log = recordingLogger();
    records = [];
    reads = [];
  });
  afterEach(async () => {
    await fake.close();
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('the app rotated the pair in .env: Refresh Token adopts it (one extra request), stores the new pair as a refresh does, and logs where it came from', async () => {
    const file = await insert('.env', signedIn);
    const app = await appRefreshes(file);
    const r = await refresher().refresh(signedIn);
    assert.equal(r.kind, 'refreshed', 'no new sign-in needed');
    const stored = store.set!;
    assert.deepEqual(extensionRefreshes(), [
      { token: signedIn.refreshToken, status: 400 },
      { token: app.refresh_token, status: 200 },
    ]);
    assert.equal(stored.refreshTokenRejectedAt, undefined);
    assert.equal(stored.appName, 'ab123');
    assert.equal(stored.tokenUrl, fake.tokenUrl);
    assert.ok(live().includes(stored.refreshToken), 'the stored refresh token is the live one');
    assert.equal(r.kind === 'refreshed' && r.tokenSet.refreshToken, stored.refreshToken);
    assert.ok(log.lines.includes('adopted the refresh token your app wrote to .env (Keap app ab123)'), log.lines.join('\n'));
    // Issue 17.4: the app's token is spent; the new pair went back into its file in the same step, so the app goes on.
    const inFile = dotenv.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(inFile.KEAP_REFRESH_TOKEN, stored.refreshToken, 'Keap\'s answer went back into the file it came from');
    assert.equal(inFile.KEAP_ACCESS_TOKEN, stored.accessToken);
    assert.ok(log.lines.includes('wrote Keap\'s new token pair back to .env'), log.lines.join('\n'));
    const l = await ledger.read();
    assert.equal(l.requests.length, 2, 'both requests count against the daily budget');
    assert.equal(l.paused, undefined, 'no pause left behind');
    noTokenInLog();
    // Once: the next refresh is an ordinary one, and reads no file.
    reads.length = 0;
    assert.equal((await refresher().refresh(stored)).kind, 'refreshed');
    assert.equal(extensionRefreshes().length, 3);
    assert.deepEqual(reads, []);
  });

  it('automatic refresh: adopted instead of pausing, health stays ok', async () => {
    const file = await insert('.env', signedIn);
    await appRefreshes(file);
    // 30 minutes of the access token left: inside the 60-minute refresh window.
    store.set = { ...signedIn, accessTokenExpiresAt: clock.now() + 0.5 * H, refreshTokenIssuedAt: clock.now() - 23.5 * H };
    const initial = store.set;
    const rf = refresher();
    const { scheduler, view } = windowScheduler(rf, clock, log, initial);
    clock.busy.push(() => scheduler.busy);
    scheduler.schedule('start');
    await clock.advance(1000);
    assert.equal(scheduler.health.kind, 'ok');
    assert.equal(extensionRefreshes().length, 2);
    assert.ok(live().includes(store.set!.refreshToken));
    assert.equal(view()?.refreshToken, store.set!.refreshToken);
    await clock.advance(6 * H);
    assert.equal(extensionRefreshes().length, 2, 'a fresh token is left alone');
    scheduler.dispose();
  });

  it('a refresh token of another Keap app in the file: Keap\'s answer goes back into the file (that app keeps its session), nothing stored, the refusal stands', async () => {
    const file = await insert('.env', signedIn);
    // The app rotates ours away (so Keap refuses it); then a git pull puts another app's token in the file.
    await appRefreshes(file, false);
    const other = await signIn('zz999');
    assert.equal(other.appName, 'zz999');
    fs.writeFileSync(file, upsertEnv(fs.readFileSync(file, 'utf8'), [['KEAP_REFRESH_TOKEN', other.refreshToken]]).text);
    const writesBefore = store.writes;
    await assert.rejects(refresher().refresh(signedIn), (e: unknown) => e instanceof KeapError && e.kind === 'dead-refresh-token' && e.message === DEAD_MESSAGE);
    assert.deepEqual(extensionRefreshes().map(r => r.status), [400, 200], 'one extra request, for the file\'s token');
    assert.equal(store.writes - writesBefore, 1, 'one write: the refusal mark, no token set of the other app');
    assert.equal(store.set!.appName, 'ab123');
    assert.equal(store.set!.accessToken, signedIn.accessToken);
    assert.equal(store.set!.refreshToken, signedIn.refreshToken);
    assert.ok(store.set!.refreshTokenRejectedAt, 'marked for a new sign-in, as before');
    assert.ok(log.lines.some(l => /did not adopt Keap's answer to the refresh token in \.env: it is for Keap app zz999, not ab123/.test(l)), log.lines.join('\n'));
    assert.ok(!log.lines.some(l => l.startsWith('adopted')));
    // Issue 17.4: the zz999 token in the file was spent; its new pair is in the file, live, and the file's app refreshes with it.
    const inFile = fs.readFileSync(file, 'utf8');
    const zz = dotenv.parse(inFile).KEAP_REFRESH_TOKEN;
    assert.notEqual(zz, other.refreshToken);
    assert.ok(live().includes(zz), 'the file holds a live refresh token of zz999');
    assert.equal((await appRefreshes(file)).scope.includes('zz999'), true, 'the file\'s app refreshes as before');
    noTokenInLog();
  });

  it('the file\'s token is dead too: paused as before, with exactly one extra request, and never that token again', async () => {
    const file = await insert('.env', signedIn);
    // The app rotated twice but wrote only the first answer back: the file holds a dead token.
    await appRefreshes(file);
    await appRefreshes(file, false);
    const initial: TokenSet = { ...signedIn, accessTokenExpiresAt: clock.now() + 0.5 * H, refreshTokenIssuedAt: clock.now() - 23.5 * H };
    store.set = initial;
    const rf = refresher();
    const { scheduler, setView } = windowScheduler(rf, clock, log, initial);
    clock.busy.push(() => scheduler.busy);
    scheduler.schedule('start');
    await clock.advance(1000);
    const h = scheduler.health;
    assert.ok(h.kind === 'paused' && h.pause.resume === 'sign-in' && h.pause.message === DEAD_MESSAGE, JSON.stringify(h));
    assert.deepEqual(extensionRefreshes().map(r => r.status), [400, 400], 'exactly one extra request');
    assert.ok(store.set!.refreshTokenRejectedAt);
    await clock.advance(48 * H);
    assert.equal(extensionRefreshes().length, 2, 'nothing more while paused');
    // The user's Refresh Token: the file's token was tried already; nothing is sent.
    setView(store.set);
    assert.equal(await scheduler.refreshNow(), undefined);
    assert.equal(extensionRefreshes().length, 2);
    scheduler.dispose();
  });

  it('after a pause, Refresh Token tries a token the app wrote since (once), and adopts it', async () => {
    const file = await insert('.env', signedIn);
    await appRefreshes(file, false);
    const rf = refresher();
    await assert.rejects(rf.refresh(signedIn), /sign in again/);
    assert.equal(extensionRefreshes().length, 1, 'the file still held what the extension wrote: nothing to try');
    // Later the app refreshes again (from its own copy) and writes the pair back.
    const [liveApp] = fake.liveTokens();
    fs.writeFileSync(file, upsertEnv(fs.readFileSync(file, 'utf8'), [['KEAP_REFRESH_TOKEN', liveApp.refreshToken]]).text);
    const r = await rf.refresh(store.set);
    assert.equal(r.kind, 'refreshed');
    assert.deepEqual(extensionRefreshes().map(x => x.status), [400, 200]);
    assert.equal(store.set!.refreshTokenRejectedAt, undefined);
    assert.ok(live().includes(store.set!.refreshToken));
  });

  it('never reads a file it has no record of, another account\'s file, a 0.1 record, or a file a link leads out of', async () => {
    // Each file holds a live refresh token of this very account that is not the extension's.
    const liveToken = async () => (await signIn()).refreshToken;
    const unrecorded = path.join(folder, 'unrecorded.env');
    fs.writeFileSync(unrecorded, `KEAP_REFRESH_TOKEN='${await liveToken()}'\n`);
    fs.writeFileSync(path.join(folder, 'legacy.env'), `KEAP_REFRESH_TOKEN='${await liveToken()}'\n`);
    fs.writeFileSync(path.join(folder, 'other.env'), `KEAP_REFRESH_TOKEN='${await liveToken()}'\n`);
    fs.writeFileSync(path.join(folder, 'old-record.env'), `KEAP_REFRESH_TOKEN='${await liveToken()}'\n`);
    const outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'keap-outside-')));
    fs.writeFileSync(path.join(outside, '.env'), `KEAP_REFRESH_TOKEN='${await liveToken()}'\n`);
    fs.symlinkSync(path.join(outside, '.env'), path.join(folder, 'linked.env'));
    fs.writeFileSync(path.join(folder, 'hard-source.env'), `KEAP_REFRESH_TOKEN='${await liveToken()}'\n`);
    fs.linkSync(path.join(folder, 'hard-source.env'), path.join(folder, 'hard.env'));
    const url = (name: string) => pathToFileURL(path.join(folder, name)).href;
    const key = accountKey(signedIn);
    const refresh = { key: 'KEAP_REFRESH_TOKEN', written: fingerprint(signedIn.refreshToken) };
    records = [
      { uri: url('legacy.env') },
      { uri: url('other.env'), account: `${DEMO_CLIENT.clientId}|zz999`, keys: ['KEAP_REFRESH_TOKEN'], refresh },
      { uri: url('old-record.env'), account: key, keys: ['KEAP_ACCESS_TOKEN', 'KEAP_REFRESH_TOKEN'] },
      { uri: url('linked.env'), account: key, keys: ['KEAP_REFRESH_TOKEN'], refresh },
      { uri: url('hard.env'), account: key, keys: ['KEAP_REFRESH_TOKEN'], refresh },
    ];
    const liveBefore = live();
    await killAtKeap(signedIn.refreshToken);
    await assert.rejects(refresher().refresh(signedIn), /sign in again/);
    assert.deepEqual(reads.sort(), ['hard.env', 'linked.env'], 'only the records of this account that name the refresh variable are opened');
    assert.deepEqual(extensionRefreshes().map(r => r.status), [400], 'nothing from those files was sent');
    for (const t of liveBefore.filter(t => t !== signedIn.refreshToken)) assert.ok(live().includes(t), 'their tokens are untouched at Keap');
    fs.rmSync(outside, { recursive: true, force: true });
  });

  it('a file that still holds a token the extension wrote (no rotation, or an older one when sync is off) costs no request', async () => {
    await insert('.env', signedIn);
    await killAtKeap(signedIn.refreshToken);
    await assert.rejects(refresher().refresh(signedIn), /sign in again/);
    assert.deepEqual(extensionRefreshes().map(r => r.status), [400], 'the file holds the stored token: nothing to try');
    // Signed in again; the extension refreshes without syncing the file (keepInSync off), so the file keeps an older token it wrote.
    const again = await signIn();
    store.set = again;
    await insert('.env', again);
    const r = await refresher().refresh(again);
    assert.equal(r.kind, 'refreshed');
    await killAtKeap(store.set!.refreshToken);
    await assert.rejects(refresher().refresh(store.set), /sign in again/);
    assert.deepEqual(extensionRefreshes().map(x => x.status), [400, 200, 400], 'the token the extension itself wrote is not sent again');
    assert.ok(reads.length > 0, 'the file was read');
  });

  it('two windows race on the same dead token: the pair is adopted once, the other window sends nothing', async () => {
    const file = await insert('.env', signedIn);
    const app = await appRefreshes(file);
    const [a, b] = await Promise.all([refresher().refresh(signedIn), refresher().refresh(signedIn)]);
    assert.deepEqual(
      [a.kind, b.kind].sort(),
      ['already-refreshed', 'refreshed'],
    );
    assert.deepEqual(extensionRefreshes(), [
      { token: signedIn.refreshToken, status: 400 },
      { token: app.refresh_token, status: 200 },
    ]);
    assert.equal(a.kind !== 'signed-out' && 'tokenSet' in a && a.tokenSet.refreshToken, store.set!.refreshToken);
    assert.equal(b.kind !== 'signed-out' && 'tokenSet' in b && b.tokenSet.refreshToken, store.set!.refreshToken);
    assert.equal(log.lines.filter(l => l.startsWith('adopted')).length, 1);
  });

  it('the file changed between the look and the request (the answer could not go back): the token is not tried, and stays live', async () => {
    const file = await insert('.env', signedIn);
    const app = await appRefreshes(file);
    let edits = 0;
    // The user edits the file (another variable) right after the extension read it.
    const edit = () => {
      if (edits++ === 0) fs.appendFileSync(file, 'DEBUG=1\n');
    };
    await assert.rejects(refresher(true, edit).refresh(signedIn), /sign in again/);
    assert.deepEqual(extensionRefreshes().map(r => r.status), [400], 'the file\'s token was never sent');
    assert.ok(live().includes(app.refresh_token), 'the app\'s token is still live');
    assert.ok(log.lines.includes('not trying the refresh token in .env: the file changed since it was read'), log.lines.join('\n'));
    assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).DEBUG, '1', 'the user\'s edit kept');
  });

  it('the file changed while Keap answered: the pair is not written over the change, the error is logged, and VS Code keeps the pair (not lost)', async () => {
    const file = await insert('.env', signedIn);
    await appRefreshes(file);
    let rereads = 0;
    // The first re-read (before sending) finds the file as read; the second (the write-back) finds an edit.
    const edit = () => {
      if (++rereads === 2) fs.appendFileSync(file, 'DEBUG=1\n');
    };
    const r = await refresher(true, edit).refresh(signedIn);
    assert.equal(r.kind, 'refreshed');
    assert.ok(live().includes(store.set!.refreshToken), 'VS Code holds the live pair');
    assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).DEBUG, '1', 'the edit kept');
    assert.ok(log.lines.some(l => /^Keap rotated the refresh token in \.env, but the new pair could not be written back there: \.env changed since it was read$/.test(l)), log.lines.join('\n'));
    noTokenInLog();
  });

  it('reads the refresh variable as dotenv.parse does (the last definition wins, quotes, export, CRLF)', () => {
    for (const text of ["KEAP_REFRESH_TOKEN=a\nKEAP_REFRESH_TOKEN='b|c'\n", 'export KEAP_REFRESH_TOKEN="x y"\r\n', 'OTHER=1\n', 'KEAP_REFRESH_TOKEN=v # note\n']) {
      assert.equal(envValueOf(text, 'KEAP_REFRESH_TOKEN'), dotenv.parse(text).KEAP_REFRESH_TOKEN, JSON.stringify(text));
    }
  });
});
