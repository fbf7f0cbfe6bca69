import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as dotenv from 'dotenv';
import fs = require('fs');
import path = require('path');
import * as vscode from 'vscode';
import { upsertEnv } from '../../../src/dotenv/envFile';
import { api, DEMO, ensureSignedIn, fake, harness, waitFor } from '../util';

/** What the user's own script sends as its User-Agent, to tell its requests from the extension's. */
const SCRIPT_AGENT = 'my-keap-script/1.0';

const workspaceDir = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'ignore' });
const commit = (cwd: string, message: string) => git(cwd, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '-m', message);

/** The first notification matching `re` (the notification center is opened: a test window shows no toasts). */
async function notification(re: RegExp, what: string): Promise<string> {
  return waitFor(async () => {
    await vscode.commands.executeCommand('notifications.showList');
    return (await harness.notifications()).find(t => re.test(t));
  }, 20_000, what).catch(async e => {
    throw new Error(`${(e as Error).message}; notifications: ${JSON.stringify(await harness.notifications())}`);
  });
}

/** Every line matching `re` in this run's Infusionsoft log files (each window's extension host writes its own). */
async function logLines(re: RegExp): Promise<string[]> {
  const userData = path.resolve((await api()).storageDir, '..', '..', '..');
  const logs = path.join(userData, 'logs');
  const files = fs.existsSync(logs) ? fs.readdirSync(logs, { recursive: true, encoding: 'utf8' }).filter(f => path.basename(f) === 'Infusionsoft.log') : [];
  return files.flatMap(f => fs.readFileSync(path.join(logs, f), 'utf8').split('\n').filter(l => re.test(l)));
}

/** The user's own script: refreshes with the file's refresh token and writes the new pair back. */
async function appRefreshes(file: string): Promise<{ access_token: string; refresh_token: string }> {
  const text = fs.readFileSync(file, 'utf8');
  const res = await fetch(`${fake.url()}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${DEMO.clientId}:${DEMO.clientSecret}`).toString('base64')}`,
      'user-agent': SCRIPT_AGENT,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: dotenv.parse(text).KEAP_REFRESH_TOKEN }).toString(),
  });
  assert.equal(res.status, 200, 'the app refreshed with the token the extension wrote');
  const answer = (await res.json()) as { access_token: string; refresh_token: string };
  fs.writeFileSync(file, upsertEnv(text, [['KEAP_ACCESS_TOKEN', answer.access_token], ['KEAP_REFRESH_TOKEN', answer.refresh_token]]).text);
  return answer;
}

describe('Trust boundaries of .env files, round 2 (issue 17) in a real VS Code', function () {
  this.timeout(120_000);

  before(() => waitFor(() => vscode.workspace.getConfiguration('infusionsoft.env').get('preset') === 'keap', 30_000, 'the default .env names'));
  afterEach(async () => {
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('notifications.hideList');
  });

  it('S7: a folder whose .git/config sets core.fsmonitor to a command: Insert Token and the sync after a refresh ask git, and the command never runs', async () => {
    await ensureSignedIn();
    // code-server runs with --disable-workspace-trust: this is the trusted path. The untrusted one
    // (no git process at all) is covered by test/unit/gitGuard.test.ts on the decision function.
    assert.equal(vscode.workspace.isTrusted, true);
    const a = await api();
    const repo = path.join(workspaceDir(), 's7-fsmonitor');
    const marker = path.join(workspaceDir(), 's7-MARKER');
    fs.mkdirSync(repo, { recursive: true });
    git(repo, 'init', '-q');
    fs.writeFileSync(path.join(repo, '.gitignore'), '.env\n');
    git(repo, 'add', '.gitignore');
    commit(repo, 'ignore .env');
    // VS Code's own git extension (in a trusted workspace) runs `git status` in the repositories it
    // finds, which obeys core.fsmonitor as well; its git calls carry VSCODE_GIT_COMMAND, so the
    // command leaves the marker only for anyone else's git (this extension's).
    git(repo, 'config', 'core.fsmonitor', `[ -n "$VSCODE_GIT_COMMAND" ] || env > '${marker}'; false`);
    // The premise: git itself runs the folder's command.
    execFileSync('git', ['status', '--porcelain'], { cwd: repo, stdio: 'ignore' });
    assert.ok(fs.existsSync(marker), 'git ran core.fsmonitor');
    fs.rmSync(marker);
    const file = path.join(repo, '.env');
    fs.writeFileSync(file, 'PORT=3000\n');
    // Ignored: written without a question, after asking git.
    assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file))?.fsPath, file);
    assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_ACCESS_TOKEN, (await a.model.store.read())!.accessToken);
    assert.equal(fs.existsSync(marker), false, `Insert Token ran the folder's git command: ${fs.existsSync(marker) && fs.readFileSync(marker, 'utf8')}`);
    // A refresh: keep-in-sync asks git again before writing (S9), still without running it.
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    const stored = (await a.model.store.read())!;
    await waitFor(() => dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_ACCESS_TOKEN === stored.accessToken, 15_000, 'the .env to follow the refresh');
    assert.equal(fs.existsSync(marker), false, 'the sync ran the folder\'s git command');
  });

  it('S9: a git pull un-ignores the synced .env and it gets added: the next refresh writes nothing, says so once with "Insert Token Again", which resumes', async () => {
    await ensureSignedIn();
    const a = await api();
    const upstream = path.join(workspaceDir(), 's9-upstream');
    const clone = path.join(workspaceDir(), 's9-clone');
    fs.mkdirSync(upstream, { recursive: true });
    git(upstream, 'init', '-q');
    fs.writeFileSync(path.join(upstream, '.gitignore'), '.env\n');
    git(upstream, 'add', '.gitignore');
    commit(upstream, 'ignore .env');
    git(workspaceDir(), 'clone', '-q', upstream, clone);
    const file = path.join(clone, '.env');
    fs.writeFileSync(file, 'PORT=3000\n');
    assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file))?.fsPath, file);
    // Upstream stops ignoring .env; the pull brings that, and a careless "git add ." takes the file.
    fs.writeFileSync(path.join(upstream, '.gitignore'), 'node_modules/\n');
    git(upstream, 'add', '.gitignore');
    commit(upstream, 'stop ignoring .env');
    git(clone, 'pull', '-q', '--ff-only');
    git(clone, 'add', '.');
    const bytes = fs.readFileSync(file);
    await vscode.commands.executeCommand('notifications.clearAll');
    const stoppedBefore = (await logLines(/stopped keeping s9-clone\/\.env in sync/)).length;
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    const text = await notification(/stopped writing Keap tokens to s9-clone\/\.env/, 'the notice that syncing stopped');
    assert.match(text, /git now tracks s9-clone\/\.env/);
    assert.match(text, /Nothing was written/);
    await harness.screenshot('env-sync-stopped-tracked');
    assert.ok(fs.readFileSync(file).equals(bytes), 'nothing written to the tracked file');
    // A second refresh: still nothing written, and no second notice (the log says it skipped).
    const skippedBefore = (await logLines(/not syncing s9-clone\/\.env: syncing it stopped/)).length;
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    await waitFor(async () => (await logLines(/not syncing s9-clone\/\.env: syncing it stopped/)).length > skippedBefore, 15_000, 'the second sync to skip the file');
    assert.equal((await logLines(/stopped keeping s9-clone\/\.env in sync/)).length, stoppedBefore + 1, 'told once');
    assert.ok(fs.readFileSync(file).equals(bytes), 'nothing written at the second refresh either');
    // The user makes git ignore it again and takes the notice's action: the token is written, syncing resumes.
    git(clone, 'rm', '-q', '--cached', '.env');
    fs.appendFileSync(path.join(clone, '.gitignore'), '.env\n');
    await harness.clickNotification('stopped writing Keap tokens to s9-clone/.env', 'Insert Token Again');
    const current = (await a.model.store.read())!;
    await waitFor(() => dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_ACCESS_TOKEN === current.accessToken, 15_000, 'Insert Token Again to write the current token');
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    const next = (await a.model.store.read())!;
    await waitFor(() => dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_ACCESS_TOKEN === next.accessToken, 15_000, 'the resumed sync');
    assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).PORT, '3000');
  });

  it('K14: a .env saved as UTF-16 LE with a BOM (as PowerShell does) is not rewritten: Insert Token names the encoding and how to convert it', async () => {
    await ensureSignedIn();
    const file = path.join(workspaceDir(), 'k14', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('DB_PASSWORD=päss\r\n', 'utf16le')]);
    fs.writeFileSync(file, bytes);
    await vscode.commands.executeCommand('notifications.clearAll');
    assert.equal(await vscode.commands.executeCommand('infusionsoft.insertIntoEnv', file), undefined);
    const text = await notification(/k14\/\.env was not changed/, 'the encoding refusal');
    assert.match(text, /UTF-16 LE/);
    assert.equal(text.match(/was not changed/g)?.length, 1, text);
    assert.match(text, /Save with Encoding/);
    assert.ok(fs.readFileSync(file).equals(bytes), 'every byte as it was');
  });

  it('K14: a synced .env that an editor re-saved as UTF-16: the next refresh writes nothing and says so once', async () => {
    await ensureSignedIn();
    const file = path.join(workspaceDir(), 'k14-sync', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'DB_PASSWORD=päss\n');
    assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file))?.fsPath, file);
    // Saved again by Windows PowerShell (Out-File): UTF-16 LE with a BOM, CRLF.
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(fs.readFileSync(file, 'utf8').replace(/\n/g, '\r\n'), 'utf16le')]);
    fs.writeFileSync(file, bytes);
    await vscode.commands.executeCommand('notifications.clearAll');
    const stoppedBefore = (await logLines(/stopped keeping k14-sync\/\.env in sync/)).length;
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    const text = await notification(/stopped writing Keap tokens to k14-sync\/\.env/, 'the notice that syncing stopped');
    assert.match(text, /UTF-16 LE/);
    assert.match(text, /Save with Encoding/);
    assert.ok(fs.readFileSync(file).equals(bytes), 'not rewritten');
    const skippedBefore = (await logLines(/not syncing k14-sync\/\.env: syncing it stopped/)).length;
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    await waitFor(async () => (await logLines(/not syncing k14-sync\/\.env: syncing it stopped/)).length > skippedBefore, 15_000, 'the second sync to skip the file');
    assert.equal((await logLines(/stopped keeping k14-sync\/\.env in sync/)).length, stoppedBefore + 1, 'one message');
    assert.ok(fs.readFileSync(file).equals(bytes), 'not rewritten at the second refresh either');
  });

  it('issue 17.7: a workspace naming the access token variable VITE_KEAP_TOKEN (and another one a markdown link) is refused: nothing written, the names shown as plain characters', async () => {
    await ensureSignedIn();
    const c = () => vscode.workspace.getConfiguration('infusionsoft.env');
    const file = path.join(workspaceDir(), 'names', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'PORT=3000\n');
    // The second name is also a markdown link: shown as plain characters, never as a link.
    await c().update('variables', { accessToken: 'VITE_KEAP_TOKEN', refreshToken: '[Fix](command:workbench.action.quit)' }, vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor(() => c().get<Record<string, string>>('variables')?.accessToken === 'VITE_KEAP_TOKEN', 10_000, 'VS Code to read the workspace settings');
      await vscode.commands.executeCommand('notifications.clearAll');
      assert.equal(await vscode.commands.executeCommand('infusionsoft.insertIntoEnv', file), undefined);
      const text = await notification(/VITE_KEAP_TOKEN/, 'the refusal of the name');
      assert.match(text, /front-end builds publish/);
      assert.ok(text.includes('"?Fix??command?workbench.action.quit?" is not a name a shell can assign'), text);
      assert.equal(fs.readFileSync(file, 'utf8'), 'PORT=3000\n');
    } finally {
      await c().update('variables', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('S10: a .env git now tracks is not read for the app\'s rotation: its token is not tried (the answer could not go back), and its sync stops with one notice', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const before = (await a.model.store.read())!;
    const repo = path.join(workspaceDir(), 's10-tracked');
    fs.mkdirSync(repo, { recursive: true });
    git(repo, 'init', '-q');
    fs.writeFileSync(path.join(repo, '.gitignore'), '.env\n');
    git(repo, 'add', '.gitignore');
    commit(repo, 'ignore .env');
    const file = path.join(repo, '.env');
    fs.writeFileSync(file, '');
    assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file, key))?.fsPath, file);
    git(repo, 'add', '-f', '.env');
    await fake.reset();
    await vscode.commands.executeCommand('notifications.clearAll');
    const rotated = await appRefreshes(file);
    assert.notEqual(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken', key), 'refreshed');
    const sent = (await fake.requests()).filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token' && r.headers['user-agent'] !== SCRIPT_AGENT);
    assert.deepEqual(sent.map(r => [r.form!.refresh_token, r.status]), [[before.refreshToken, 400]], 'only the extension\'s own token was sent');
    assert.ok((await fake.tokens()).some(t => t.refreshToken === rotated.refresh_token), 'the app\'s refresh token is still live');
    const text = await notification(/stopped writing Keap tokens to s10-tracked\/\.env/, 'the notice that syncing stopped');
    assert.match(text, /git now tracks/);
  });

  it('S10: with keep-in-sync off, the refresh token the app wrote is never tried (its answer could not go back): the app keeps its session', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const before = (await a.model.store.read())!;
    const c = () => vscode.workspace.getConfiguration('infusionsoft.env');
    const file = path.join(workspaceDir(), 's10', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file, key))?.fsPath, file);
    await c().update('keepInSync', false, vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor(() => c().get('keepInSync') === false, 10_000, 'VS Code to read keepInSync');
      await fake.reset();
      // The app rotates: the extension's refresh token is dead, the live one is in the file.
      const rotated = await appRefreshes(file);
      assert.notEqual(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken', key), 'refreshed');
      const sent = (await fake.requests()).filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token' && r.headers['user-agent'] !== SCRIPT_AGENT);
      assert.deepEqual(sent.map(r => [r.form!.refresh_token, r.status]), [[before.refreshToken, 400]], 'only the extension\'s own token was sent');
      assert.ok((await fake.tokens()).some(t => t.refreshToken === rotated.refresh_token), 'the app\'s refresh token is still live');
      assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_REFRESH_TOKEN, rotated.refresh_token);
    } finally {
      await c().update('keepInSync', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
