import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CallbackResult } from '../../../src/signin/signInService';
import { api, EXTENSION_ID, fake, harness, waitFor } from '../util';

const distFile = (name: string) => path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', name);

/** The extension's dist files Node has loaded in this extension host so far (names only). */
function loadedDistFiles(): string[] {
  const dist = distFile('') + path.sep;
  return Object.keys(require.cache)
    .filter(f => f.startsWith(dist))
    .map(f => path.relative(dist, f))
    .sort();
}

// Runs first (files run in name order), before any test signs in or runs a command: what a window
// does at activation, and a callback that is the first thing it sees.
describe('Activation reads only what the status bar needs; the rest loads on first use', function () {
  this.timeout(60_000);
  /** The module VS Code activated, as Node's cache holds it. */
  let activated: NodeJS.Module | undefined;

  it('activation loaded dist/extension.js alone, through Node\'s module cache', async () => {
    const a = await api();
    await waitFor(() => /Keap/.test(a.statusText()), 20_000, 'the status bar to show');
    // The files the lazy features are built from would be here had activation read them.
    assert.deepEqual(loadedDistFiles(), ['extension.js']);
    // Through Node's module cache, where the features' require('./extension.js') finds it: they
    // share its modules (one SessionModel, one error class for `instanceof`), never a second copy.
    activated = require.cache[distFile('extension.js')];
    assert.equal(typeof activated?.exports.activate, 'function');
  });

  it('a callback through the URI handler, before anything else, loads the sign-in and is handled', async () => {
    const a = await api();
    await fake.reset();
    const handled = new Promise<CallbackResult>(resolve => {
      const d = a.onDidHandleCallback(r => {
        d.dispose();
        resolve(r);
      });
    });
    // The way a relayed answer arrives: asExternalUri, code-server's /callback route, the UriHandler.
    const local = vscode.Uri.parse(`${vscode.env.uriScheme}://keap-community.infusionsoft-oauth/callback`);
    const external = (await vscode.env.asExternalUri(local)).toString(true);
    await vscode.env.openExternal(vscode.Uri.parse(`${external}${external.includes('?') ? '&' : '?'}code=first-code&state=no-sign-in-waits`, true));
    // No sign-in of this or any window waits for that state: handled as unknown, nothing sent to Keap.
    assert.equal((await handled).kind, 'unknown-state');
    assert.ok(loadedDistFiles().includes('signin.js'), 'the sign-in was loaded for it');
    // Node lists under a module what it required; dist/signin.js got the very module VS Code activated.
    const mains = require.cache[distFile('signin.js')]!.children.filter(m => path.basename(m.filename) === 'extension.js');
    assert.equal(mains.length, 1);
    assert.ok(activated && mains[0] === activated, 'dist/signin.js must share the activated dist/extension.js, not load a second one');
    assert.equal((await fake.requests()).filter(r => r.path === '/token').length, 0);
    await harness.closePopups();
  });
});
