import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, ensureSignedIn, harness, waitFor } from '../util';

async function notificationMatching(re: RegExp): Promise<string> {
  return waitFor(async () => {
    await vscode.commands.executeCommand('notifications.showList');
    return (await harness.notifications()).find(t => re.test(t));
  }, 20_000, `a notification matching ${re}`);
}

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
});
