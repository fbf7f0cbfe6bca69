import assert from 'node:assert/strict';
import * as dotenv from 'dotenv';
import fs = require('fs');
import path = require('path');
import * as vscode from 'vscode';
import { upsertEnv } from '../../../src/dotenv/envFile';
import { api, DEMO, ensureSignedIn, fake, harness, RecordedRequest, waitFor } from '../util';

/** What the user's own script sends as its User-Agent, to tell its requests from the extension's. */
const SCRIPT_AGENT = 'my-keap-script/1.0';
const ADOPTED = /adopted the refresh token your app wrote to (\S+) \(Keap app (\w+)\)/g;


/** The user's own script: reads the .env the extension wrote (dotenv), refreshes at Keap like any HTTP client, writes the new pair back. */
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

/** Every "adopted …" line in this run's Infusionsoft log files (each window's extension host writes its own). */
function adoptedLines(userData: string): string[] {
  const logs = path.join(userData, 'logs');
  const files = fs.existsSync(logs) ? fs.readdirSync(logs, { recursive: true, encoding: 'utf8' }).filter(f => path.basename(f) === 'Infusionsoft.log') : [];
  return files.flatMap(f => fs.readFileSync(path.join(logs, f), 'utf8').match(ADOPTED) ?? []);
}

/** The refresh grants the extension sent (not the script), with what each sent and Keap's status. */
const extensionRefreshes = (reqs: RecordedRequest[]) =>
  reqs.filter(r => r.path === '/token' && r.form?.grant_type === 'refresh_token' && r.headers['user-agent'] !== SCRIPT_AGENT).map(r => ({ token: r.form!.refresh_token, status: r.status }));

describe('Following your own app\'s rotation (issue 13.6) in a real VS Code', function () {
  this.timeout(120_000);

  // The suite before this one sets the infusionsoft-php names in the workspace's settings and then deletes them: wait until VS Code has read that.
  before(() => waitFor(() => vscode.workspace.getConfiguration('infusionsoft.env').get('preset') === 'keap', 30_000, 'the default .env names'));

  it('a .env rotated by "the app" is adopted once: no sign-in asked, the extension holds the adopted pair, the log says so, the file follows', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const before = (await a.model.store.read())!;
    const app = before.appName!;
    const userData = path.resolve(a.storageDir, '..', '..', '..');
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const file = path.join(folder, 'rotation', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '# my integration\nPORT=3000\n');
    // 1. Insert Token into .env, the real command.
    assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file, key))?.fsPath, file);
    assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_REFRESH_TOKEN, before.refreshToken);
    const adoptedBefore = adoptedLines(userData).length;
    await fake.reset();
    await vscode.commands.executeCommand('notifications.clearAll');
    // 2. The user's app refreshes with the file's token and writes the new pair back: the extension's refresh token is dead now.
    const rotated = await appRefreshes(file);
    // 3. The extension refreshes (Refresh Token, as the status bar click does).
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken', key), 'refreshed');
    const reqs = await fake.requests();
    assert.deepEqual(extensionRefreshes(reqs), [
      { token: before.refreshToken, status: 400 },
      { token: rotated.refresh_token, status: 200 },
    ], 'Keap refused the extension\'s token, then accepted the one the app wrote, once');
    assert.ok(!reqs.some(r => r.path === '/app/oauth/authorize' || r.form?.grant_type === 'authorization_code'), 'no sign-in');
    // The extension holds the adopted pair: alive at Keap, same app, not marked for a sign-in.
    const held = (await a.model.store.read())!;
    assert.equal(held.refreshTokenRejectedAt, undefined);
    assert.equal(held.appName, app);
    assert.ok((await fake.tokens()).some(t => t.refreshToken === held.refreshToken), 'the stored refresh token is Keap\'s live one');
    assert.equal(a.autoRefresher.health.kind, 'ok');
    assert.match(a.statusText(), new RegExp(`\\$\\(key\\) Keap ${app} · 23h 59m`));
    await waitFor(async () => (await harness.statusBar()).find(t => new RegExp(`Keap ${app} · 23h`).test(t)), 20_000, 'the status bar to show the session');
    const row = a.tree.getTreeItem(a.tree.getChildren().find(n => n.account === key)!);
    assert.doesNotMatch(String(row.description), /sign in again/);
    const notes = await harness.notifications();
    assert.ok(!notes.some(t => /Sign In Again|sign in again/i.test(t)), `no sign-in asked: ${JSON.stringify(notes)}`);
    // The log line, once.
    const lines = await waitFor(() => {
      const l = adoptedLines(userData);
      return l.length > adoptedBefore && l;
    }, 20_000, 'the "adopted" line in the Infusionsoft log');
    assert.deepEqual(lines.slice(adoptedBefore), [`adopted the refresh token your app wrote to rotation/.env (Keap app ${app})`]);
    // Keep-in-sync writes the new pair into the file, as after any refresh.
    await waitFor(() => dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_REFRESH_TOKEN === held.refreshToken, 15_000, 'the .env to hold the adopted pair\'s successor');
    assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).PORT, '3000');
    await harness.screenshot('app-rotation-adopted');
    // Once: the next Refresh Token is an ordinary refresh, with nothing adopted.
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken', key), 'refreshed');
    assert.deepEqual(extensionRefreshes(await fake.requests()).map(r => r.status), [400, 200, 200]);
    await new Promise(r => setTimeout(r, 1500));
    assert.equal(adoptedLines(userData).length, adoptedBefore + 1, 'adopted once');
  });

  it('at due time too: the automatic refresh adopts the pair the app wrote instead of pausing', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const userData = path.resolve(a.storageDir, '..', '..', '..');
    const file = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'rotation', '.env');
    const current = (await a.model.store.read())!;
    await waitFor(() => dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_REFRESH_TOKEN === current.refreshToken, 15_000, 'the .env to hold the current pair');
    const adoptedBefore = adoptedLines(userData).length;
    await fake.reset();
    const rotated = await appRefreshes(file);
    // 30 minutes of access token left: inside the refresh window, so the automatic refresh is due.
    await a.model.store.write({ ...current, refreshTokenIssuedAt: Date.now() - 23.5 * 3_600_000, accessTokenExpiresAt: Date.now() + 30 * 60_000 });
    // The previous test's requests were under 30 s ago: the automatic one may wait for that.
    const reqs = await waitFor(async () => {
      const r = extensionRefreshes(await fake.requests());
      return r.length >= 2 && r;
    }, 60_000, 'the automatic refresh and the try of the file\'s token');
    assert.deepEqual(reqs, [
      { token: current.refreshToken, status: 400 },
      { token: rotated.refresh_token, status: 200 },
    ]);
    await waitFor(() => a.model.get(key)?.refreshToken !== current.refreshToken, 10_000, 'the model to hold the adopted pair');
    const held = (await a.model.store.read())!;
    assert.ok((await fake.tokens()).some(t => t.refreshToken === held.refreshToken));
    assert.equal(held.refreshTokenRejectedAt, undefined);
    assert.equal(a.autoRefresher.health.kind, 'ok', 'not paused');
    await waitFor(() => adoptedLines(userData).length === adoptedBefore + 1, 20_000, 'one more "adopted" line');
    await new Promise(r => setTimeout(r, 3000));
    assert.equal(extensionRefreshes(await fake.requests()).length, 2, 'nothing more');
  });
});
