import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import fs = require('fs');
import os = require('os');
import path = require('path');
import * as vscode from 'vscode';
import type { TokenTest } from '../../../src/keap/tokenCheck';
import { api, ensureSignedIn, fake, harness, tokenRequests, waitFor } from '../util';

const USERINFO = '/crm/rest/v1/oauth/connect/userinfo';


/** The account row and its token-test row item (undefined before the first test). */
async function rows() {
  const a = await api();
  const account = a.tree.getChildren().find(n => n.account === a.model.activeKey)!;
  const test = a.tree.getChildren(account).find(n => n.kind === 'tokenTest');
  return { account, test: test && a.tree.getTreeItem(test) };
}

/** The variable names an environment variable collection holds. */
function collectionNames(c: vscode.EnvironmentVariableCollection): string[] {
  const names: string[] = [];
  c.forEach(name => names.push(name));
  return names;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * What a new integrated terminal's shell sees: the SHA-256 of $KEAP_ACCESS_TOKEN (never the token
 * itself in a file) and $KEAP_TOKEN_EXPIRES_AT, or "unset".
 */
async function terminalSees(): Promise<{ tokenHash: string; expiresAt: string }> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keap-term-')), 'env.txt');
  const script =
    'if [ -n "${KEAP_ACCESS_TOKEN+x}" ]; then printf %s "$KEAP_ACCESS_TOKEN" | sha256sum | cut -d" " -f1; else echo unset; fi > "$1.tmp"; ' +
    'printf %s "${KEAP_TOKEN_EXPIRES_AT-unset}" >> "$1.tmp"; mv "$1.tmp" "$1"';
  const terminal = vscode.window.createTerminal({ name: 'keap env probe', shellPath: '/bin/sh', shellArgs: ['-c', script, 'probe', out] });
  try {
    const text = await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8'), 30_000, 'the terminal to report its environment');
    const [tokenHash, expiresAt] = text.split('\n');
    return { tokenHash, expiresAt };
  } finally {
    terminal.dispose();
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

describe('Test Token and terminals in a real VS Code', function () {
  this.timeout(120_000);
  before(ensureSignedIn);
  after(() => vscode.workspace.getConfiguration('infusionsoft').update('terminal.exportTokens', undefined, vscode.ConfigurationTarget.Global));

  it('Test Token: 200, the time it took and the quota Keap reports, on the app\'s row and in a notification; the quota goes down', async () => {
    await fake.reset();
    const t = (await vscode.commands.executeCommand<TokenTest>('infusionsoft.testToken'))!;
    assert.equal(t.first.status, 200);
    assert.equal(t.refresh, undefined);
    const [day, minute] = t.first.quota;
    assert.equal(day.timeUnit, 'day');
    assert.equal(day.limit, 150000);
    assert.ok(day.available! > 0 && day.available! < 150000);
    assert.ok(day.resetsAt! > Date.now() && day.resetsAt! <= Date.now() + 86_400_000, 'the daily bucket resets within a day (epoch ms)');
    assert.equal(minute.timeUnit, 'minute');
    const { test } = await rows();
    assert.ok(test, 'a "Token test" row under the app');
    assert.match(String(test.description), new RegExp(`^200 · \\d+ ms · ${day.available!.toLocaleString()} left per day$`));
    assert.match(String(test.tooltip), /of 150,000 calls left per day, until /);
    assert.equal(test.contextValue, 'tokenTest');
    let seen: string[] = [];
    // A test window shows notifications in the notification center rather than as toasts: open it.
    const note = await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      return (seen = await harness.notifications()).find(n => /Keap app ab123: 200 · \d+ ms\./.test(n));
    }, 15_000, 'the notification').catch(e => {
      throw new Error(`${(e as Error).message}; notifications: ${JSON.stringify(seen)}`);
    });
    assert.match(note, /of 150,000 calls left per day/);
    await vscode.commands.executeCommand('notifications.clearAll');
    assert.equal((await fake.requests()).filter(r => r.path === USERINFO).length, 1);
    await vscode.commands.executeCommand('workbench.view.extension.infusionsoft');
    await harness.screenshot('tree-token-test');

    const again = (await vscode.commands.executeCommand<TokenTest>('infusionsoft.testToken'))!;
    assert.ok(again.first.quota[0].available! < day.available!, 'each call counts against the client\'s daily quota');
  });

  it('401 for a token the extension believes valid: exactly one refresh and one retry, and the row says so', async () => {
    const a = await api();
    const before = (await a.model.store.read())!;
    assert.ok(before.accessTokenExpiresAt! - Date.now() > 3_600_000, 'the stored token has hours left');
    await fake.reset();
    assert.equal((await fake.revokeAccessTokens()).revoked > 0, true);
    const { account } = await rows();
    const t = (await vscode.commands.executeCommand<TokenTest>('infusionsoft.testToken', account))!;
    assert.equal(t.first.status, 401);
    assert.deepEqual(t.refresh, { ok: true });
    assert.equal(t.retry?.status, 200);
    const requests = await fake.requests();
    assert.equal(requests.filter(r => r.path === '/token').length, 1, 'one refresh');
    assert.equal((await tokenRequests('refresh_token')).length, 1);
    assert.deepEqual(requests.filter(r => r.path === USERINFO).map(r => r.status), [401, 200], 'one call, one retry');
    assert.notEqual((await a.model.store.read())!.accessToken, before.accessToken);
    const { test } = await rows();
    assert.match(String(test!.description), /^401 → refreshed → 200 · \d+ ms/);
    assert.match(String(test!.tooltip), /Keap refused the access token \(401\) with 2\dh \d+m left by its expiry; it was refreshed once and the call retried\./);
  });

  it('terminals: with infusionsoft.terminal.exportTokens on, a new terminal holds the token, the fresh one after a refresh, none when turned off or signed out', async () => {
    const a = await api();
    assert.equal(a.terminalEnv.persistent, false, 'never written to disk');
    assert.equal(a.terminalEnv.get('KEAP_ACCESS_TOKEN'), undefined, 'off by default');
    assert.equal((await terminalSees()).tokenHash, 'unset');

    await vscode.workspace.getConfiguration('infusionsoft').update('terminal.exportTokens', true, vscode.ConfigurationTarget.Global);
    let set = (await a.model.store.read())!;
    await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN')?.value === set.accessToken, 10_000, 'the collection to hold the token');
    assert.equal(a.terminalEnv.get('KEAP_REFRESH_TOKEN'), undefined, 'the refresh token is never exported');
    assert.deepEqual(await terminalSees(), { tokenHash: sha256(set.accessToken), expiresAt: new Date(set.accessTokenExpiresAt!).toISOString() });

    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    const fresh = (await a.model.store.read())!;
    assert.notEqual(fresh.accessToken, set.accessToken);
    await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN')?.value === fresh.accessToken, 10_000, 'the fresh token in the collection');
    assert.equal((await terminalSees()).tokenHash, sha256(fresh.accessToken), 'a terminal opened after the refresh holds the fresh token');
    set = fresh;

    await vscode.workspace.getConfiguration('infusionsoft').update('terminal.exportTokens', false, vscode.ConfigurationTarget.Global);
    await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN') === undefined, 10_000, 'the collection to empty');

    // S1: a cloned repository's .vscode/settings.json can neither turn the export on nor rename the variable the token lands in.
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const settingsFile = path.join(folder, '.vscode', 'settings.json');
    const original = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(original ?? '{}'), 'infusionsoft.terminal.exportTokens': true, 'infusionsoft.env.variables': { accessToken: 'NODE_OPTIONS' } }));
    try {
      await waitFor(() => vscode.workspace.getConfiguration('infusionsoft').inspect('env.variables')?.workspaceValue !== undefined, 10_000, 'VS Code to read the workspace settings');
      await new Promise(r => setTimeout(r, 1000));
      assert.deepEqual(collectionNames(a.terminalEnv), [], 'the workspace did not turn the export on');
      await vscode.workspace.getConfiguration('infusionsoft').update('terminal.exportTokens', true, vscode.ConfigurationTarget.Global);
      await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN')?.value === set.accessToken, 10_000, 'the token under its own name');
      assert.deepEqual(collectionNames(a.terminalEnv).sort(), ['KEAP_ACCESS_TOKEN', 'KEAP_TOKEN_EXPIRES_AT'], 'not under the name the workspace chose');
    } finally {
      if (original === undefined) fs.rmSync(settingsFile);
      else fs.writeFileSync(settingsFile, original);
    }

    await vscode.commands.executeCommand('infusionsoft.signOut', 'all');
    await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN') === undefined && a.terminalEnv.get('KEAP_TOKEN_EXPIRES_AT') === undefined, 10_000, 'no token after sign-out');
    assert.equal(collectionNames(a.terminalEnv).length, 0);
    assert.deepEqual(await terminalSees(), { tokenHash: 'unset', expiresAt: 'unset' });
    await ensureSignedIn();
    await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN') !== undefined, 10_000, 'the new sign-in exported');
  });
});
