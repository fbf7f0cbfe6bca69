import assert from 'node:assert/strict';
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import fs = require('fs');
import os = require('os');
import path = require('path');
import * as vscode from 'vscode';
import { listEntries } from '../../../src/tokenHelper/ipcPaths';
import { api, ensureSignedIn, fake, tokenRequests, waitFor } from '../util';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const config = () => vscode.workspace.getConfiguration('infusionsoft');
const HELPER_VARS = ['KEAP_TOKEN_IPC', 'KEAP_TOKEN_IPC_DIR', 'KEAP_TOKEN_SECRET', 'KEAP_TOKEN_NODE'];

/** Runs a shell script in a new integrated terminal; resolves to what it wrote to "$1" (the script writes hashes and exit codes, never a token). */
async function inTerminal(script: string, opts: { beforeRun?: (out: string) => Promise<void> } = {}): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-helper-term-'));
  const out = path.join(dir, 'out.txt');
  const terminal = vscode.window.createTerminal({ name: 'keap-token probe', shellPath: '/bin/sh', shellArgs: ['-c', `${script}; mv "$1.tmp" "$1"`, 'probe', out] });
  try {
    await opts.beforeRun?.(out);
    return await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8'), 60_000, 'the terminal script to finish');
  } finally {
    terminal.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs bin/keap-token of the extension under test as a child process with the given environment; resolves to its exit code and the hash of what it printed. */
function keapTokenProcess(env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number; stdoutHash: string; stdoutEmpty: boolean; stderr: string }> {
  const bin = path.join(vscode.extensions.getExtension('keap-community.infusionsoft-oauth')!.extensionPath, 'bin', 'keap-token');
  return new Promise(resolve =>
    execFile(bin, args, { env, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdoutHash: sha256(stdout.trim()), stdoutEmpty: stdout === '', stderr }),
    ),
  );
}

/** The environment a new terminal gets from the extension's collection, applied to this process's. */
function terminalEnv(c: vscode.EnvironmentVariableCollection): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  c.forEach((name, m) => {
    if (m.type === vscode.EnvironmentVariableMutatorType.Prepend) env[name] = m.value + (env[name] ?? '');
    else if (m.type === vscode.EnvironmentVariableMutatorType.Append) env[name] = (env[name] ?? '') + m.value;
    else env[name] = m.value;
  });
  return env;
}

describe('the token for other processes: ${command:infusionsoft.accessToken} and keap-token in a real VS Code (issue 18)', function () {
  this.timeout(180_000);
  before(ensureSignedIn);
  after(async () => {
    await config().update('tokenHelper.enabled', undefined, vscode.ConfigurationTarget.Global);
  });

  it('a task whose options.env uses ${command:infusionsoft.accessToken} gets the current token: refreshed first when it was due (one request), the one another window stored after it rotated the pair', async () => {
    const a = await api();
    // Automatic refresh stays on: the window's own timer and the command share one single flight, so either way exactly one request goes out.
    const current = (await a.model.store.read())!;
    await fake.reset();
    // The command refreshes on the schedule every window shares (30 s between token requests): start from a ledger with no request on it.
    clearRefreshLedgers(a.storageDir);
    // Expires in 60 s: inside the 300-second minimum, so the command refreshes before answering.
    await a.model.store.write({ ...current, accessTokenExpiresAt: Date.now() + 60_000 });
    await waitFor(() => (a.model.tokenSet?.accessTokenExpiresAt !== current.accessTokenExpiresAt ? true : undefined), 10_000, 'model reload');
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const tasksFile = path.join(folder, '.vscode', 'tasks.json');
    const original = fs.existsSync(tasksFile) ? fs.readFileSync(tasksFile, 'utf8') : undefined;
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-task-'));
    const out = path.join(outDir, 'hash.txt');
    fs.mkdirSync(path.dirname(tasksFile), { recursive: true });
    fs.writeFileSync(
      tasksFile,
      JSON.stringify({
        version: '2.0.0',
        tasks: [
          {
            label: 'keap token probe',
            type: 'shell',
            command: `printf %s "$KEAP_ACCESS_TOKEN" | sha256sum | cut -d" " -f1 > '${out}.tmp' && mv '${out}.tmp' '${out}'`,
            options: { env: { KEAP_ACCESS_TOKEN: '${command:infusionsoft.accessToken}' } },
            presentation: { reveal: 'never' },
          },
        ],
      }),
    );
    try {
      const task = await waitFor(async () => (await vscode.tasks.fetchTasks()).find(t => t.name === 'keap token probe'), 20_000, 'VS Code to read tasks.json');
      await vscode.tasks.executeTask(task);
      const seen = (await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8'), 60_000, 'the task to run')).trim();
      const now = (await a.model.store.read())!;
      assert.notEqual(now.accessToken, current.accessToken, 'refreshed first');
      assert.equal(seen, sha256(now.accessToken), 'the task saw the token stored now');
      assert.equal((await tokenRequests('refresh_token')).length, 1);
      // Asked again with a fresh token: no request.
      assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.accessToken'), now.accessToken);
      assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.accessToken', 'ab123'), now.accessToken, 'an argument picks the app');
      assert.equal((await tokenRequests('refresh_token')).length, 1);
      await assert.rejects(() => Promise.resolve(vscode.commands.executeCommand('infusionsoft.accessToken', 'zz999')), /zz999/, 'an app not signed in fails with the reason');

      // Another window rotates the pair (here: a refresh sent straight to Keap, stored as that window would): the next run sees the new token.
      const rotated = await fetch(`${fake.url()}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${now.clientId}:demo-client-secret`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: now.refreshToken }).toString(),
      }).then(r => r.json() as Promise<{ access_token: string; refresh_token: string; expires_in: number }>);
      await a.model.store.write({ ...now, accessToken: rotated.access_token, refreshToken: rotated.refresh_token, accessTokenExpiresAt: Date.now() + rotated.expires_in * 1000, refreshTokenIssuedAt: Date.now() });
      await waitFor(() => (a.model.tokenSet?.accessToken === rotated.access_token ? true : undefined), 10_000, 'this window to see the rotated pair');
      fs.rmSync(out, { force: true });
      await vscode.tasks.executeTask(task);
      const seenAgain = (await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8'), 60_000, 'the task to run again')).trim();
      assert.equal(seenAgain, sha256(rotated.access_token), 'the task saw the token the other window stored');
      assert.equal((await tokenRequests('refresh_token')).length, 2, 'the extension sent nothing itself');
    } finally {
      if (original === undefined) fs.rmSync(tasksFile, { force: true });
      else fs.writeFileSync(tasksFile, original);
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('a workspace setting cannot turn the helper on', async () => {
    const a = await api();
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const settingsFile = path.join(folder, '.vscode', 'settings.json');
    const original = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    // A window-scoped setting beside it tells when VS Code has read the file (an application setting's workspace value is never read).
    fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(original ?? '{}'), 'infusionsoft.tokenHelper.enabled': true, 'infusionsoft.env.keepInSync': false }));
    try {
      await waitFor(() => config().inspect('env.keepInSync')?.workspaceValue === false || undefined, 10_000, 'VS Code to read the workspace settings');
      await new Promise(r => setTimeout(r, 1500));
      assert.ok(!a.tokenHelper()?.running, 'no server');
      for (const v of HELPER_VARS) assert.equal(a.terminalEnv.get(v), undefined, `${v} not handed to terminals`);
    } finally {
      if (original === undefined) fs.rmSync(settingsFile);
      else fs.writeFileSync(settingsFile, original);
    }
  });

  it('keap-token in a terminal opened before a refresh prints the new token; with the helper gone it exits 3', async () => {
    const a = await api();
    await config().update('tokenHelper.enabled', true, vscode.ConfigurationTarget.Global);
    await waitFor(() => a.tokenHelper()?.running && a.terminalEnv.get('KEAP_TOKEN_IPC') !== undefined, 15_000, 'the helper to start');
    assert.equal(a.terminalEnv.persistent, false, 'the secret is never written to disk');
    assert.ok(a.terminalEnv.get('PATH')?.value.includes(path.join('bin', '')), 'keap-token on PATH');
    const address = a.tokenHelper()!.address!;
    assert.equal(fs.statSync(address.dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(address.address).mode & 0o777, 0o600);

    // The terminal opens now and runs keap-token only once the test says so (after the refresh).
    const before = (await a.model.store.read())!;
    let fresh = before;
    const result = await inTerminal('while [ ! -e "$1.go" ]; do sleep 0.2; done; t=$(keap-token); c=$?; printf %s "$t" | sha256sum | cut -d" " -f1 > "$1.tmp"; echo "exit=$c" >> "$1.tmp"; keap-token --json | grep -c expires_at_epoch >> "$1.tmp"', {
      beforeRun: async out => {
        await new Promise(r => setTimeout(r, 1500));
        assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
        fresh = (await a.model.store.read())!;
        assert.notEqual(fresh.accessToken, before.accessToken);
        fs.writeFileSync(`${out}.go`, '');
      },
    });
    assert.deepEqual(result.trim().split('\n'), [sha256(fresh.accessToken), 'exit=0', '1']);

    // The same from a process with the terminals' environment; then the helper goes away: exit 3, nothing printed, nothing sent to Keap.
    const env = terminalEnv(a.terminalEnv);
    const ok = await keapTokenProcess(env, ['--min-valid', '60']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdoutHash, sha256(fresh.accessToken));
    await config().update('tokenHelper.enabled', false, vscode.ConfigurationTarget.Global);
    await waitFor(() => !a.tokenHelper()?.running && a.terminalEnv.get('KEAP_TOKEN_IPC') === undefined, 15_000, 'the helper to stop');
    // Every window turns it off with the user setting (another window's server would answer otherwise).
    await waitFor(() => listEntries(address.dir).length === 0 || undefined, 15_000, 'every window to close its door');
    await fake.reset();
    const gone = await keapTokenProcess(env);
    assert.equal(gone.code, 3, gone.stderr);
    assert.ok(gone.stdoutEmpty);
    assert.match(gone.stderr, /no VS Code window/);
    assert.ok(!fs.existsSync(address.address), 'the socket is removed');
    assert.equal((await fake.requests()).length, 0, 'keap-token never refreshes on its own');
  });
});

/** Forgets every account's recorded token requests (src/session/ledgerFile), as on a machine that sent none lately. */
function clearRefreshLedgers(storageDir: string): void {
  const locks = path.join(storageDir, 'locks');
  for (const f of fs.existsSync(locks) ? fs.readdirSync(locks) : []) if (f.endsWith('.ledger.json')) fs.rmSync(path.join(locks, f), { force: true });
}
