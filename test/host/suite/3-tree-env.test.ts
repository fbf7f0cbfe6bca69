import assert from 'node:assert/strict';
import { execFileSync } from 'child_process';
import * as dotenv from 'dotenv';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { api, harness, useDemoCredentials, waitFor } from '../util';

async function ensureSignedIn(): Promise<void> {
  const a = await api();
  if ((await a.model.store.read())?.refreshTokenRejectedAt === undefined && (await a.model.store.read())) return;
  await useDemoCredentials();
  await harness.plan('allow');
  assert.equal(await vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true }), true);
  await harness.plan('none');
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

  it('Insert into .env updates a real workspace file in place, keeps every other byte, and undo restores it', async () => {
    await ensureSignedIn();
    const a = await api();
    const set = (await a.model.store.read())!;
    const file = path.join(workspaceDir(), '.env');
    const original = '\uFEFF# my app\r\nAPP_NAME="demo app"\r\nexport KEAP_ACCESS_TOKEN=old-token # keep me\r\n\r\nOTHER=1\r\nKEAP_ACCESS_TOKEN=duplicate';
    fs.writeFileSync(file, original);
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
    // Undo restores the file's previous text.
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    await waitFor(() => doc.getText() === original.replace(/^\uFEFF/, ''), 10_000, 'undo to restore the text');
    await vscode.commands.executeCommand('workbench.action.files.save');
    await waitFor(() => fs.readFileSync(file, 'utf8') === original, 10_000, 'the undone file on disk');
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
});
