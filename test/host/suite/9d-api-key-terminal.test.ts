import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import fs = require('fs');
import os = require('os');
import path = require('path');
import * as vscode from 'vscode';
import type { ApiKeyEntry } from '../../../src/keap/apiKeys';
import { api, fake, harness, waitFor } from '../util';

/** The fake Keap's demo Personal Access Token (test/fake-keap/server.ts DEMO_API_KEY). */
const DEMO_KEY = 'KeapAK-demo0000personal0000access0000token';
/** A Service Account Key this suite registers with the fake Keap. */
const SAK = 'KeapAK-service-account-terminal-0001';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

async function control(p: string, body: unknown): Promise<void> {
  const res = await fetch(fake.url() + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${p} → ${res.status} ${await res.text()}`);
}

/** The variable names an environment variable collection holds. */
function names(c: vscode.EnvironmentVariableCollection): string[] {
  const out: string[] = [];
  c.forEach(name => out.push(name));
  return out;
}

/** What a new terminal of `folder` sees in `$name`: its SHA-256 (never the key itself in a file), or "unset". */
async function terminalSees(folder: vscode.WorkspaceFolder, name: string): Promise<string> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keap-key-term-')), 'env.txt');
  const script = `if [ -n "\${${name}+x}" ]; then printf %s "$${name}" | sha256sum | cut -d" " -f1; else echo unset; fi > "$1.tmp"; mv "$1.tmp" "$1"`;
  const terminal = vscode.window.createTerminal({ name: 'keap key probe', cwd: folder.uri, shellPath: '/bin/sh', shellArgs: ['-c', script, 'probe', out] });
  try {
    return (await waitFor(() => fs.existsSync(out) && fs.readFileSync(out, 'utf8'), 30_000, 'the terminal to report its environment')).trim();
  } finally {
    terminal.dispose();
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

const setting = (key: string, value: unknown, target = vscode.ConfigurationTarget.Global) => vscode.workspace.getConfiguration('infusionsoft.apiKey').update(key, value, target);

describe('API keys in new terminals (infusionsoft.apiKey.exportToTerminals)', function () {
  this.timeout(120_000);
  const added: string[] = [];
  let folder: vscode.WorkspaceFolder;
  let scoped: vscode.EnvironmentVariableCollection;

  before(async () => {
    folder = vscode.workspace.workspaceFolders![0];
    scoped = (await api()).terminalEnv.getScoped({ workspaceFolder: folder });
  });

  after(async () => {
    await setting('exportToTerminals', undefined);
    await setting('envVariable', undefined);
    for (const id of added) await vscode.commands.executeCommand('infusionsoft.removeApiKey', id, { confirm: false });
    await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
  });

  it('off by default: a stored key goes into no terminal; a workspace setting cannot turn it on or rename it', async () => {
    const entry = await vscode.commands.executeCommand<ApiKeyEntry>('infusionsoft.addApiKey', { label: 'terminal pat', kind: 'pat', key: DEMO_KEY });
    assert.ok(entry, 'the demo key was stored');
    added.push(entry.id);
    // Other suites may leave keys behind: the folder bound to this one picks it.
    await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: `apiKey:${entry.id}` });
    assert.equal(vscode.workspace.getConfiguration('infusionsoft.apiKey').get('exportToTerminals'), false, 'off by default');
    await new Promise(r => setTimeout(r, 1000));
    assert.equal(scoped.get('KEAP_API_KEY'), undefined);
    assert.equal((await api()).terminalEnv.get('KEAP_API_KEY'), undefined);
    assert.equal(await terminalSees(folder, 'KEAP_API_KEY'), 'unset');

    // S1: a cloned repository's .vscode/settings.json turns it on and names the variable: neither counts.
    const settingsFile = path.join(folder.uri.fsPath, '.vscode', 'settings.json');
    const original = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : undefined;
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(original ?? '{}'), 'infusionsoft.apiKey.exportToTerminals': true, 'infusionsoft.apiKey.envVariable': 'NODE_OPTIONS' }));
    try {
      await waitFor(() => vscode.workspace.getConfiguration('infusionsoft.apiKey').inspect('exportToTerminals')?.workspaceValue === true || vscode.workspace.getConfiguration('infusionsoft.apiKey').inspect('envVariable')?.workspaceValue !== undefined, 10_000, 'VS Code to read the workspace settings');
      await new Promise(r => setTimeout(r, 1000));
      assert.deepEqual(names(scoped), [], 'the workspace did not turn the export on');
      assert.equal(await terminalSees(folder, 'KEAP_API_KEY'), 'unset');

      await setting('exportToTerminals', true);
      await waitFor(() => scoped.get('KEAP_API_KEY')?.value === DEMO_KEY, 10_000, 'the key in the folder\'s collection');
      assert.equal(scoped.get('NODE_OPTIONS'), undefined, 'not under the name the workspace chose');
      assert.equal((await api()).terminalEnv.persistent, false, 'never written to disk');
      assert.match(String(scoped.description), /Personal Access Token "terminal pat" as KEAP_API_KEY/);
    } finally {
      if (original === undefined) fs.rmSync(settingsFile);
      else fs.writeFileSync(settingsFile, original);
    }
  });

  it('on: a new terminal of the folder holds the key under the user\'s name; renaming, the setting off and removing the key take it out', async () => {
    await setting('exportToTerminals', true);
    await waitFor(() => scoped.get('KEAP_API_KEY')?.value === DEMO_KEY, 10_000, 'the key in the folder\'s collection');
    assert.equal(await terminalSees(folder, 'KEAP_API_KEY'), sha256(DEMO_KEY));

    await setting('envVariable', 'MY_TERMINAL_KEY');
    await waitFor(() => scoped.get('MY_TERMINAL_KEY')?.value === DEMO_KEY && scoped.get('KEAP_API_KEY') === undefined, 10_000, 'the key under the new name only');
    assert.equal(await terminalSees(folder, 'MY_TERMINAL_KEY'), sha256(DEMO_KEY));
    await setting('envVariable', undefined);
    await waitFor(() => scoped.get('KEAP_API_KEY')?.value === DEMO_KEY, 10_000, 'back under KEAP_API_KEY');

    await setting('exportToTerminals', false);
    await waitFor(() => names(scoped).length === 0, 10_000, 'the folder\'s collection to empty');
    assert.equal(await terminalSees(folder, 'KEAP_API_KEY'), 'unset');

    await setting('exportToTerminals', true);
    await waitFor(() => scoped.get('KEAP_API_KEY')?.value === DEMO_KEY, 10_000, 'exported again');
    const id = added.pop()!;
    assert.equal(await vscode.commands.executeCommand('infusionsoft.removeApiKey', id, { confirm: false }), true);
    await waitFor(() => scoped.get('KEAP_API_KEY') === undefined, 10_000, 'no key once removed');
  });

  it('the folder bound to another key gets that one; a Service Account Key says it opens all data; a production key stays out of a folder bound to none until allowed (asked once)', async () => {
    await setting('exportToTerminals', true);
    await control('/__fake/api-keys', { key: SAK, appName: 'ab123' });
    const pat = await vscode.commands.executeCommand<ApiKeyEntry>('infusionsoft.addApiKey', { label: 'terminal pat 2', kind: 'pat', key: DEMO_KEY });
    const sak = await vscode.commands.executeCommand<ApiKeyEntry>('infusionsoft.addApiKey', { label: 'terminal admin', kind: 'sak', key: SAK, environment: 'production' });
    assert.ok(pat && sak);
    added.push(pat.id, sak.id);

    await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: `apiKey:${pat.id}` });
    await waitFor(() => scoped.get('KEAP_API_KEY')?.value === DEMO_KEY, 10_000, 'the key the folder is bound to');

    // Bound to the production Service Account Key: bound, so it goes in unasked, and the description says what it opens.
    await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: `apiKey:${sak.id}` });
    await waitFor(() => scoped.get('KEAP_API_KEY')?.value === SAK, 10_000, 'the Service Account Key after the binding changed');
    assert.match(String(scoped.description), /Service Account Key "terminal admin" as KEAP_API_KEY .*admin access to all of the Keap account's data/);
    assert.equal(await terminalSees(folder, 'KEAP_API_KEY'), sha256(SAK));

    // Bound to none with several keys: no key is chosen, nothing goes in.
    await vscode.commands.executeCommand('infusionsoft.bindFolder', { folder: folder.uri.toString(), credential: null });
    await waitFor(() => scoped.get('KEAP_API_KEY') === undefined, 10_000, 'nothing once the folder is bound to none of several keys');

    // The production key alone, the folder bound to none: held back (the guard asks when a terminal opens).
    await vscode.commands.executeCommand('infusionsoft.removeApiKey', pat.id, { confirm: false });
    added.splice(added.indexOf(pat.id), 1);
    await new Promise(r => setTimeout(r, 1000));
    assert.equal(scoped.get('KEAP_API_KEY'), undefined, 'a production key is not exported into a folder bound to none');
    assert.equal((await api()).terminalEnv.get('KEAP_API_KEY'), undefined, 'nor window-wide');

    // The next terminal opened asks once; that terminal starts without the key, Allow lets it into the next ones.
    await vscode.commands.executeCommand('notifications.clearAll');
    const first = terminalSees(folder, 'KEAP_API_KEY');
    await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      return (await harness.notifications()).find(t => /API key "terminal admin" is a production credential, and the folder .* is bound to none\. Write it into new terminals anyway\?/.test(t));
    }, 20_000, 'the production question');
    assert.equal(await first, 'unset', 'the terminal that asked started without the key');
    await harness.clickNotification('is a production credential', 'Allow for This Folder');
    await waitFor(() => scoped.get('KEAP_API_KEY')?.value === SAK, 10_000, 'the production key once allowed for the folder');
    assert.equal(await terminalSees(folder, 'KEAP_API_KEY'), sha256(SAK));
    await vscode.commands.executeCommand('notifications.clearAll');
  });
});
