import assert from 'node:assert/strict';
import fs = require('fs');
import os = require('os');
import path = require('path');
import * as vscode from 'vscode';
import { EXTENSION_ID, harness, waitFor } from '../util';

describe('Infusionsoft: Save Relay Page… in a real VS Code', function () {
  this.timeout(60_000);

  it('writes index.html, relay.js and an empty relay-hosts.json to the folder, keeps an edited host list, and says what to do next', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID)!;
    const dist = path.join(ext.extensionUri.fsPath, 'dist', 'relay');
    const folder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keap-relay-page-')), 'site');
    await vscode.commands.executeCommand('notifications.clearAll');

    const written = await vscode.commands.executeCommand<vscode.Uri[]>('infusionsoft.saveRelayPage', folder);
    assert.deepEqual(written.map(u => path.basename(u.fsPath)), ['index.html', 'relay.js', 'relay-hosts.json']);
    assert.deepEqual(fs.readdirSync(folder).sort(), ['index.html', 'relay-hosts.json', 'relay.js']);
    for (const name of ['index.html', 'relay.js']) {
      assert.ok(fs.readFileSync(path.join(folder, name)).equals(fs.readFileSync(path.join(dist, name))), `${name} is the built page`);
    }
    const hosts = JSON.parse(fs.readFileSync(path.join(folder, 'relay-hosts.json'), 'utf8'));
    assert.deepEqual(hosts.hosts, [], 'no host is trusted until the person hosting the page lists it');
    assert.match(hosts.$comment, /vscode\.dev/, 'with an example');
    assert.match(fs.readFileSync(path.join(folder, 'index.html'), 'utf8'), /<script src="relay\.js"/);

    const next = await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      return (await harness.notifications()).find(t => /Relay page saved/.test(t));
    }, 15_000, 'the next steps');
    assert.match(next, /GitHub Pages/);
    assert.match(next, /infusionsoft\.redirectUri/);
    await vscode.commands.executeCommand('notifications.clearAll');

    // Saving again (a newer extension) replaces the page but keeps the user's host list.
    const mine = JSON.stringify({ hosts: ['code.example.com:8443'] });
    fs.writeFileSync(path.join(folder, 'relay-hosts.json'), mine);
    fs.writeFileSync(path.join(folder, 'relay.js'), 'old');
    await vscode.commands.executeCommand('infusionsoft.saveRelayPage', vscode.Uri.file(folder));
    assert.equal(fs.readFileSync(path.join(folder, 'relay-hosts.json'), 'utf8'), mine);
    assert.ok(fs.readFileSync(path.join(folder, 'relay.js')).equals(fs.readFileSync(path.join(dist, 'relay.js'))));
    await vscode.commands.executeCommand('notifications.clearAll');
  });
});
