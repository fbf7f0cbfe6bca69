import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, DEMO, ensureSignedIn, fake, tokenRequests } from '../util';

/** Closes the input box a command opened until the command settles; resolves to what it returned. */
async function dismissInputBox<T>(running: Thenable<T>): Promise<T> {
  let settled = false;
  const result = Promise.resolve(running).finally(() => (settled = true));
  for (let i = 0; i < 100 && !settled; i++) {
    await new Promise(r => setTimeout(r, 200));
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  }
  return result;
}

/**
 * Issue 17.7: commands another extension runs with arguments, as the installed extension treats
 * them (the host tests run in Development mode, where arguments are taken as given; the test API
 * switches the guard on).
 */
describe('commands run with arguments by another extension (issue 17.7)', function () {
  this.timeout(60_000);
  before(ensureSignedIn);
  before(async () => (await api()).guardArguments(true));
  after(async () => (await api()).guardArguments(false));

  it('Set Client Credentials never stores a secret it was handed: the box asks, and closing it changes nothing', async () => {
    const r = await dismissInputBox(vscode.commands.executeCommand<boolean>('infusionsoft.setClientCredentials', { clientId: 'planted-client-id', clientSecret: 'planted-client-secret' }));
    assert.equal(r, false);
    assert.equal(vscode.workspace.getConfiguration('infusionsoft').get('clientId'), DEMO.clientId, 'the client ID setting is unchanged');
  });

  it('Paste Callback URL with a value only fills the box: closing it sends nothing to Keap', async () => {
    await fake.reset();
    const r = await dismissInputBox(vscode.commands.executeCommand('infusionsoft.pasteCallbackUrl', 'http://localhost:9/callback?code=planted-code&state=planted-state'));
    assert.equal(r, undefined);
    assert.equal((await tokenRequests('authorization_code')).length, 0, 'no code exchange');
  });

  it('${command:infusionsoft.accessToken} as installed hands out no token unasked: it puts a modal question (which VS Code refuses to show under tests), so the caller gets an error, never the token', async () => {
    const token = (await (await api()).model.store.read())!.accessToken;
    await assert.rejects(Promise.resolve(vscode.commands.executeCommand<string>('infusionsoft.accessToken')), (e: Error) => /Hand the credential of Keap app/.test(e.message) && !e.message.includes(token));
    // The same call in Development mode (the guard off) answers at once: the question was the only difference.
    (await api()).guardArguments(false);
    try {
      assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.accessToken'), token);
    } finally {
      (await api()).guardArguments(true);
    }
  });
});
