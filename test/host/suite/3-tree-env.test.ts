import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as dotenv from 'dotenv';
import fs = require('fs');
import os = require('os');
import path = require('path');
import * as vscode from 'vscode';
import { accountKey } from '../../../src/session/accounts';
import { api, ensureSignedIn, harness, waitFor } from '../util';

/** Files under `dir` holding one of `needles` (relative paths). */
function scanFor(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  (function walk(d: string) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.statSync(p).size < 50 * 1024 * 1024) {
        const text = fs.readFileSync(p).toString('latin1');
        if (needles.some(n => text.includes(n))) hits.push(path.relative(dir, p));
      }
    }
  })(dir);
  return hits;
}


function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the host test window has a workspace folder');
  return folder.uri.fsPath;
}

describe('Tree view and Insert into .env in a real VS Code', function () {
  this.timeout(90_000);

  it('signed out: the tree is empty and the welcome view offers Sign In', async () => {
    const a = await api();
    const saved = await a.model.store.read();
    await vscode.commands.executeCommand('infusionsoft.signOut', 'all');
    try {
      assert.deepEqual(a.tree.getChildren(), []);
      await vscode.commands.executeCommand('workbench.view.extension.infusionsoft');
      const text = await waitFor(async () => {
        const t = await harness.sidebarText();
        return /not signed in to the Keap/.test(t) && t;
      }, 20_000, 'the welcome text in the sidebar');
      assert.match(text, /Sign In/);
      assert.match(text, /Set Client Credentials/);
      await harness.screenshot('tree-signed-out');
    } finally {
      if (saved) await a.model.store.write(saved);
      await waitFor(() => a.model.tokenSet !== undefined || !saved, 10_000, 'session restored');
    }
  });

  it('signed in: the account, both tokens masked with their expiry, and the client ID', async () => {
    await ensureSignedIn();
    const a = await api();
    const set = (await a.model.store.read())!;
    const [account] = a.tree.getChildren();
    const accountItem = a.tree.getTreeItem(account);
    assert.equal(accountItem.label, 'Keap app ab123');
    assert.match(String(accountItem.description), /Dana Developer · dev@example\.com/, 'userinfo fetched once per sign-in');
    const children = a.tree.getChildren(account).map(n => a.tree.getTreeItem(n));
    assert.deepEqual(children.map(c => c.label), ['Access token', 'Refresh token', 'Client ID']);
    assert.match(String(children[0].description), /^••••••••.{4} · expires in 23h \d+m$/);
    assert.match(String(children[1].description), /about 45 days left/);
    assert.equal(children[2].description, 'demo-client-id');
    for (const c of children) assert.ok(!String(c.description).includes(set.accessToken) && !String(c.description).includes(set.refreshToken), 'tokens are masked');
    // A screen reader hears what each row is, not only its tooltip.
    assert.match(children[0].accessibilityInformation?.label ?? '', /^Access token of Keap app ab123, expires in 23h \d+m$/);
    assert.match(children[1].accessibilityInformation?.label ?? '', /^Refresh token of Keap app ab123, about 45 days left$/);
    await vscode.commands.executeCommand('workbench.view.extension.infusionsoft');
    const text = await waitFor(async () => {
      const t = await harness.sidebarText();
      return /Keap app ab123/.test(t) && /Access token/.test(t) && t;
    }, 20_000, 'the tree in the sidebar');
    assert.match(text, /about 45 days left/);
    await harness.screenshot('tree-signed-in');
    await harness.screenshot('readme-tree', '.part.sidebar');
  });

  it('Insert into .env updates a real workspace file in place, keeps every other byte, owner-only (0600), and leaves no editor dirty', async () => {
    await ensureSignedIn();
    const a = await api();
    const set = (await a.model.store.read())!;
    const file = path.join(workspaceDir(), '.env');
    const original = '\uFEFF# my app\r\nAPP_NAME="demo app"\r\nexport KEAP_ACCESS_TOKEN=old-token # keep me\r\n\r\nOTHER=1\r\nKEAP_ACCESS_TOKEN=duplicate';
    fs.writeFileSync(file, original, { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    // Open in an editor (not dirty): it follows the file on disk.
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const written = await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv');
    assert.equal(written?.fsPath, file);
    const after = fs.readFileSync(file, 'utf8');
    const parsed = dotenv.parse(after);
    assert.equal(parsed.KEAP_ACCESS_TOKEN, set.accessToken);
    assert.equal(parsed.KEAP_REFRESH_TOKEN, set.refreshToken);
    assert.equal(parsed.KEAP_TOKEN_EXPIRES_AT, new Date(set.accessTokenExpiresAt!).toISOString());
    assert.equal(parsed.APP_NAME, 'demo app');
    assert.equal(parsed.OTHER, '1');
    assert.ok(after.startsWith('\uFEFF# my app\r\nAPP_NAME="demo app"\r\nexport KEAP_ACCESS_TOKEN='), 'BOM, comment, CRLF and export prefix kept');
    assert.ok(after.includes('\r\n\r\nOTHER=1\r\nKEAP_ACCESS_TOKEN='), 'blank line and order kept; the duplicate updated too');
    assert.equal(after.split('\n').filter(l => l.startsWith('KEAP_ACCESS_TOKEN=') || l.startsWith('export KEAP_ACCESS_TOKEN=')).length, 2);
    assert.ok(!after.includes('old-token') && !after.includes('duplicate'));
    if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'the file holding tokens is owner-only');
    await waitFor(() => doc.getText() === after.replace(/^\uFEFF/, ''), 10_000, 'the open editor to show the new text');
    assert.equal(doc.isDirty, false, 'no unsaved editor holds the token (no hot-exit backup)');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('an editor with unsaved changes to the .env is left alone: nothing written, the user\'s text kept', async () => {
    await ensureSignedIn();
    const file = path.join(workspaceDir(), 'dirty', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'A=1\n');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    await editor.edit(e => e.insert(new vscode.Position(1, 0), 'MINE=unsaved\n'));
    assert.equal(doc.isDirty, true);
    assert.equal(await vscode.commands.executeCommand('infusionsoft.insertIntoEnv', file), undefined);
    assert.equal(fs.readFileSync(file, 'utf8'), 'A=1\n');
    assert.equal(doc.getText(), 'A=1\nMINE=unsaved\n');
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('keeps an inserted .env in sync after a refresh, once SecretStorage holds the new pair', async () => {
    await ensureSignedIn();
    const a = await api();
    const file = path.join(workspaceDir(), 'sync', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '# synced\nKEEP=1\n');
    assert.ok(await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file));
    const before = dotenv.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(before.KEAP_ACCESS_TOKEN, (await a.model.store.read())?.accessToken);
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    const stored = (await a.model.store.read())!;
    assert.notEqual(stored.accessToken, before.KEAP_ACCESS_TOKEN);
    const after = await waitFor(() => {
      const p = dotenv.parse(fs.readFileSync(file, 'utf8'));
      return p.KEAP_ACCESS_TOKEN === stored.accessToken && p;
    }, 15_000, 'the .env to follow the refresh');
    assert.equal(after.KEAP_REFRESH_TOKEN, stored.refreshToken);
    assert.equal(after.KEEP, '1');
    assert.ok(fs.readFileSync(file, 'utf8').startsWith('# synced\nKEEP=1\n'));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('warns before writing into a file git tracks, and writes nothing when the user cancels', async () => {
    await ensureSignedIn();
    const repo = path.join(workspaceDir(), 'tracked-repo');
    fs.mkdirSync(repo, { recursive: true });
    const file = path.join(repo, '.env');
    fs.writeFileSync(file, 'KEAP_ACCESS_TOKEN=placeholder\n');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '-q');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'add', '.env');
    git('-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-q', '-m', 'env');
    await vscode.commands.executeCommand('notifications.clearAll');
    const insert = vscode.commands.executeCommand<vscode.Uri | undefined>('infusionsoft.insertIntoEnv', file);
    // A test window shows notifications in the notification center rather than as toasts: open it.
    const text = await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      return (await harness.notifications()).find(t => /tracked by git/.test(t));
    }, 20_000, 'the git warning').catch(async e => {
      await harness.screenshot('env-git-tracked-warning-missing');
      throw new Error(`${e.message}; notifications: ${JSON.stringify(await harness.notifications())}`);
    });
    assert.match(text, /one commit away/);
    await harness.screenshot('env-git-tracked-warning');
    await harness.clickNotification('tracked by git', 'Cancel');
    assert.equal(await insert, undefined);
    assert.equal(fs.readFileSync(file, 'utf8'), 'KEAP_ACCESS_TOKEN=placeholder\n', 'nothing written');
    await vscode.commands.executeCommand('notifications.hideList');
  });

  it('infusionsoft.env.includeRefreshToken off in user settings leaves the refresh token out; a workspace value is ignored', async () => {
    await ensureSignedIn();
    const a = await api();
    const set = (await a.model.store.read())!;
    const c = () => vscode.workspace.getConfiguration('infusionsoft.env');
    const file = path.join(workspaceDir(), 'norefresh', '.env');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    await c().update('includeRefreshToken', false, vscode.ConfigurationTarget.Global);
    try {
      assert.ok(await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file));
      const parsed = dotenv.parse(fs.readFileSync(file, 'utf8'));
      assert.equal(parsed.KEAP_ACCESS_TOKEN, set.accessToken);
      assert.equal('KEAP_REFRESH_TOKEN' in parsed, false, 'no refresh token written');
    } finally {
      await c().update('includeRefreshToken', undefined, vscode.ConfigurationTarget.Global);
    }
    // A cloned repository's .vscode/settings.json cannot decide it ("scope": "application").
    const settingsFile = path.join(workspaceDir(), '.vscode', 'settings.json');
    const before = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    // The same write sets the resource-scoped env.file, whose new value shows when VS Code has read the file.
    fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(before ?? '{}'), 'infusionsoft.env.includeRefreshToken': false, 'infusionsoft.env.file': 'norefresh/.env' }));
    try {
      await waitFor(() => c().get('file') === 'norefresh/.env', 10_000, 'VS Code to read the workspace settings');
      fs.writeFileSync(file, '');
      assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv'))?.fsPath, file);
      assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_REFRESH_TOKEN, set.refreshToken);
    } finally {
      if (before === undefined) fs.rmSync(settingsFile, { force: true });
      else fs.writeFileSync(settingsFile, before);
      await waitFor(() => c().get('file') !== 'norefresh/.env', 10_000, 'VS Code to read the restored workspace settings');
    }
  });

  describe('S5: .env files stay inside the folder, owner-only, with no copy in Local History', () => {
    const setFile = (value: string | undefined) => vscode.workspace.getConfiguration('infusionsoft.env').update('file', value, vscode.ConfigurationTarget.Workspace);
    let outside: string;
    before(() => {
      outside = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-outside-'));
    });
    after(async () => {
      await setFile(undefined);
      fs.rmSync(outside, { recursive: true, force: true });
    });

    async function refused(value: string, expect: RegExp): Promise<void> {
      await setFile(value);
      await vscode.commands.executeCommand('notifications.clearAll');
      assert.equal(await vscode.commands.executeCommand('infusionsoft.insertIntoEnv'), undefined, `${value} is refused`);
      const text = await waitFor(async () => {
        await vscode.commands.executeCommand('notifications.showList');
        return (await harness.notifications()).find(t => t.includes('infusionsoft.env.file'));
      }, 20_000, `the error naming the setting for ${value}`);
      assert.match(text, expect);
      assert.match(text, /nothing was written/);
      await vscode.commands.executeCommand('notifications.clearAll');
    }

    it('refuses infusionsoft.env.file set to ../outside/keap.env, an absolute path outside, or through a link out; writes nothing', async () => {
      await ensureSignedIn();
      const rel = path.relative(workspaceDir(), path.join(outside, 'keap.env'));
      assert.ok(rel.startsWith('..'));
      await refused(rel, /outside the workspace folder/);
      await refused(path.join(outside, 'abs.env'), /outside the workspace folder/);
      const link = path.join(workspaceDir(), 'linked-out');
      fs.rmSync(link, { force: true });
      fs.symlinkSync(outside, link);
      await refused('linked-out/keap.env', /symbolic link/);
      assert.deepEqual(fs.readdirSync(outside), [], 'nothing written outside');
      // The command's own argument obeys the same rule.
      assert.equal(await vscode.commands.executeCommand('infusionsoft.insertIntoEnv', path.join(outside, 'arg.env')), undefined);
      assert.equal(await vscode.commands.executeCommand('infusionsoft.insertIntoEnv', path.join(link, 'arg.env')), undefined);
      assert.deepEqual(fs.readdirSync(outside), [], 'nothing written outside');
      await vscode.commands.executeCommand('notifications.hideList');
    });

    it('sub/new/.env inside a git repository where sub/new does not exist yet: the git guard asks, and Cancel writes nothing', async () => {
      await ensureSignedIn();
      const repo = path.join(workspaceDir(), 's5-repo');
      fs.mkdirSync(repo, { recursive: true });
      execFileSync('git', ['init', '-q'], { cwd: repo, stdio: 'ignore' });
      const file = path.join(repo, 'sub', 'new', '.env');
      await vscode.commands.executeCommand('notifications.clearAll');
      const insert = vscode.commands.executeCommand<vscode.Uri | undefined>('infusionsoft.insertIntoEnv', file);
      const text = await waitFor(async () => {
        await vscode.commands.executeCommand('notifications.showList');
        return (await harness.notifications()).find(t => /git does not ignore/.test(t));
      }, 20_000, 'the git warning for a file in a folder that does not exist yet');
      assert.match(text, /sub\/new\/\.env/);
      await harness.clickNotification('git does not ignore', 'Cancel');
      assert.equal(await insert, undefined);
      assert.equal(fs.existsSync(path.join(repo, 'sub')), false, 'nothing created');
      await vscode.commands.executeCommand('notifications.hideList');
    });

    it('keap.env: after Insert and a sync, no copy of a token anywhere in the user-data folder (Local History, backups), and the file is 0600', async () => {
      await ensureSignedIn();
      const a = await api();
      // globalStorageUri is <user-data>/User/globalStorage/<extension id>.
      const userData = path.resolve(a.storageDir, '..', '..', '..');
      assert.ok(fs.existsSync(path.join(userData, 'User')), `user data at ${userData}`);
      await setFile('keap.env');
      const file = path.join(workspaceDir(), 'keap.env');
      fs.rmSync(file, { force: true });
      assert.equal((await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv'))?.fsPath, file);
      const first = (await a.model.store.read())!;
      assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
      const second = (await a.model.store.read())!;
      await waitFor(() => dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_ACCESS_TOKEN === second.accessToken, 15_000, 'keap.env to follow the refresh');
      // A control: a file saved from an editor after those writes gets its Local History copy, so
      // Local History is on and has caught up; only then is "no copy of the tokens" meaningful.
      const marker = `control-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const control = path.join(workspaceDir(), 'control.txt');
      fs.writeFileSync(control, 'start\n');
      const doc = await vscode.workspace.openTextDocument(control);
      const editor = await vscode.window.showTextDocument(doc);
      await editor.edit(e => e.insert(new vscode.Position(1, 0), `${marker}\n`));
      assert.ok(await doc.save());
      await waitFor(() => scanFor(userData, [marker]).length > 0, 20_000, 'the control file\'s Local History copy');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      const tokens = [first.accessToken, first.refreshToken, second.accessToken, second.refreshToken];
      assert.deepEqual(scanFor(userData, tokens), [], 'no file under the user-data folder holds a token');
      if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    });

    it('Sign Out lists the .env files it wrote and, on Remove, takes out only its variables: the rest byte-identical', async () => {
      await ensureSignedIn();
      const a = await api();
      const saved = (await a.model.store.read())!;
      await setFile(undefined);
      const file = path.join(workspaceDir(), 'signout', '.env');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const original = '# mine\r\nAPP=1\r\nKEAP_LIKE=keep\r\n';
      fs.writeFileSync(file, original);
      assert.ok(await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file));
      assert.equal(dotenv.parse(fs.readFileSync(file, 'utf8')).KEAP_ACCESS_TOKEN, saved.accessToken);
      await vscode.commands.executeCommand('notifications.clearAll');
      await vscode.commands.executeCommand('infusionsoft.signOut', accountKey(saved));
      try {
        const text = await waitFor(async () => {
          await vscode.commands.executeCommand('notifications.showList');
          return (await harness.notifications()).find(t => /still in/.test(t) && t.includes('signout/.env'));
        }, 20_000, 'the offer to remove the tokens, listing signout/.env');
        assert.match(text, /KEAP_ACCESS_TOKEN, KEAP_REFRESH_TOKEN, KEAP_TOKEN_EXPIRES_AT/);
        await harness.screenshot('env-signout-offer');
        await harness.clickNotification('signout/.env', 'Remove from .env Files');
        await waitFor(() => fs.readFileSync(file, 'utf8') === original, 15_000, 'the file to be exactly what the user had');
        assert.deepEqual(dotenv.parse(fs.readFileSync(file, 'utf8')), { APP: '1', KEAP_LIKE: 'keep' });
      } finally {
        await vscode.commands.executeCommand('notifications.hideList');
        await a.model.store.write(saved);
        await waitFor(() => a.model.tokenSet !== undefined, 10_000, 'session restored');
      }
    });

    it('Sign Out with envFiles "keep" leaves the file as it is; with "remove" the command removes before it returns', async () => {
      await ensureSignedIn();
      const a = await api();
      const saved = (await a.model.store.read())!;
      const file = path.join(workspaceDir(), 'signout2', '.env');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, 'X=1\n');
      assert.ok(await vscode.commands.executeCommand<vscode.Uri>('infusionsoft.insertIntoEnv', file));
      const inserted = fs.readFileSync(file, 'utf8');
      try {
        await vscode.commands.executeCommand('infusionsoft.signOut', accountKey(saved), { envFiles: 'keep' });
        assert.equal(fs.readFileSync(file, 'utf8'), inserted);
        await a.model.store.write(saved);
        await waitFor(() => a.model.tokenSet !== undefined, 10_000, 'session restored');
        await vscode.commands.executeCommand('infusionsoft.signOut', accountKey(saved), { envFiles: 'remove' });
        assert.equal(fs.readFileSync(file, 'utf8'), 'X=1\n');
      } finally {
        await a.model.store.write(saved);
        await waitFor(() => a.model.tokenSet !== undefined, 10_000, 'session restored');
      }
    });
  });
});
