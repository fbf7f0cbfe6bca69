import assert from 'node:assert/strict';
import { execFile } from 'child_process';
import { createHash } from 'crypto';
import path = require('path');
import * as vscode from 'vscode';
import { api, ensureSignedIn, harness, notificationMatching, waitFor } from '../util';

describe('Credential routes: production kept apart from launches and terminals', function () {
  this.timeout(120_000);

  after(() => vscode.commands.executeCommand('notifications.clearAll'));

  it('${command:infusionsoft.accessToken} of a production app for an unbound folder asks first: Cancel fails the command with the reason, a bound folder gets the token unasked', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const folder = vscode.workspace.workspaceFolders![0];
    try {
      assert.equal(await vscode.commands.executeCommand('infusionsoft.markProduction', { account: key }), true);
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
      await vscode.commands.executeCommand('notifications.clearAll');
      const asked = Promise.resolve(vscode.commands.executeCommand<string>('infusionsoft.accessToken')).then(
        t => ({ token: t, error: undefined as Error | undefined }),
        (e: Error) => ({ token: undefined, error: e }),
      );
      await notificationMatching(/Keap app \w+ is a production credential, and the folder .* is bound to none\. Write it into a launch configuration or task anyway\?/);
      await harness.clickNotification('is a production credential', 'Cancel');
      const r = await asked;
      assert.equal(r.token, undefined, 'nothing handed out');
      assert.match(String(r.error?.message), /is marked production and was not allowed into a launch configuration or task/);
      // Bound to that app: handed out without a question.
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: `app:${key}` });
      await vscode.commands.executeCommand('notifications.clearAll');
      assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.accessToken'), a.model.get(key)?.accessToken);
      assert.ok(!(await harness.notifications()).some(t => /production credential/.test(t)), 'no question for a folder bound to the app');
    } finally {
      await vscode.commands.executeCommand('infusionsoft.clearMark', { account: key });
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
    }
    // Not marked: no question, the token as before.
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.accessToken'), a.model.get(key)?.accessToken);
  });

  it('keap-token for a production app asks about the folder it runs in: Cancel exits 7 with nothing printed; a folder bound to the app gets the token unasked', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const folder = vscode.workspace.workspaceFolders![0];
    const config = vscode.workspace.getConfiguration('infusionsoft');
    const sha256 = (t: string) => createHash('sha256').update(t).digest('hex');
    const bin = path.join(vscode.extensions.getExtension('keap-community.infusionsoft-oauth')!.extensionPath, 'bin', 'keap-token');
    try {
      await config.update('tokenHelper.enabled', true, vscode.ConfigurationTarget.Global);
      await waitFor(() => a.tokenHelper()?.running && a.terminalEnv.get('KEAP_TOKEN_IPC') !== undefined, 15_000, 'the helper to start');
      const env: NodeJS.ProcessEnv = { ...process.env };
      a.terminalEnv.forEach((name, m) => {
        env[name] = m.type === vscode.EnvironmentVariableMutatorType.Prepend ? m.value + (env[name] ?? '') : m.value;
      });
      // A script in the folder's terminal: its working directory is the folder.
      const run = () =>
        new Promise<{ code: number; stdout: string; stderr: string }>(resolve =>
          execFile(bin, [], { env, cwd: folder.uri.fsPath, timeout: 90_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr })),
        );
      assert.equal(await vscode.commands.executeCommand('infusionsoft.markProduction', { account: key }), true);
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
      await vscode.commands.executeCommand('notifications.clearAll');
      const refused = run();
      await notificationMatching(/Keap app \w+ is a production credential, and the folder .* is bound to none\. Write it into keap-token in a terminal anyway\?/);
      await harness.clickNotification('is a production credential', 'Cancel');
      const r = await refused;
      assert.equal(r.code, 7, r.stderr);
      assert.equal(r.stdout, '', 'nothing printed');
      assert.match(r.stderr, /marked production and was not allowed for the folder/);
      // Bound to the app: the token, no question.
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: `app:${key}` });
      await vscode.commands.executeCommand('notifications.clearAll');
      const ok = await run();
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(sha256(ok.stdout.trim()), sha256(a.model.get(key)!.accessToken));
      assert.ok(!(await harness.notifications()).some(t => /production credential/.test(t)), 'no question for a folder bound to the app');
    } finally {
      await vscode.commands.executeCommand('infusionsoft.clearMark', { account: key });
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
      await config.update('tokenHelper.enabled', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('terminal export follows a production mark and a binding at once, without waiting for a refresh', async () => {
    await ensureSignedIn();
    const a = await api();
    const key = a.model.activeKey!;
    const folder = vscode.workspace.workspaceFolders![0];
    const config = vscode.workspace.getConfiguration('infusionsoft');
    const scoped = a.terminalEnv.getScoped({ workspaceFolder: folder });
    const token = () => a.model.get(key)!.accessToken;
    try {
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
      await config.update('terminal.exportTokens', true, vscode.ConfigurationTarget.Global);
      await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN')?.value === token(), 15_000, 'the token in every new terminal (not marked)');
      // Marked production, the folder bound to nothing: out of every terminal now.
      assert.equal(await vscode.commands.executeCommand('infusionsoft.markProduction', { account: key }), true);
      await waitFor(() => a.terminalEnv.get('KEAP_ACCESS_TOKEN') === undefined && scoped.get('KEAP_ACCESS_TOKEN') === undefined, 15_000, 'the production token out of the terminals of an unbound folder');
      // The folder bound to the app: into that folder's terminals now.
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: `app:${key}` });
      await waitFor(() => scoped.get('KEAP_ACCESS_TOKEN')?.value === token(), 15_000, "the token in the bound folder's terminals");
      assert.equal(a.terminalEnv.get('KEAP_ACCESS_TOKEN'), undefined, 'still not window-wide');
    } finally {
      await config.update('terminal.exportTokens', undefined, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('infusionsoft.clearMark', { account: key });
      await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
      await vscode.commands.executeCommand('notifications.clearAll');
    }
  });
});
