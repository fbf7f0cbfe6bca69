import assert from 'node:assert/strict';
import fs = require('fs');
import http = require('http');
import { AddressInfo } from 'net';
import path = require('path');
import * as vscode from 'vscode';
import { api, DEMO, fake, harness, tokenRequests, useDemoCredentials, waitFor } from '../util';

/** What reached the capturing server: method, URL and the header names (never used for anything else). */
interface Captured {
  method: string;
  url: string;
  authorization: boolean;
}

/** A real HTTP server on loopback that records every request that reaches it (plain http on loopback passes the endpoint check, so nothing else stops a request). */
async function startCapture(): Promise<{ url: string; port: number; hits: Captured[]; close(): Promise<void> }> {
  const hits: Captured[] = [];
  const server = http.createServer((req, res) => {
    hits.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization !== undefined });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"captured","refresh_token":"captured","expires_in":86400,"scope":"full|evil.infusionsoft.com"}');
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, hits, close: () => new Promise(r => server.close(() => r())) };
}

/**
 * Case S1 (issue 10 point 1): a cloned repository's `.vscode/settings.json` points every setting
 * that decides where a secret, a code or a token goes, or when, at a server of its own. Across
 * window start, automatic refresh, Refresh Token, Sign In and Sign In to Another Keap App, 0
 * requests reach it, and the user's settings (the fake Keap server) keep working.
 */
describe('A workspace cannot route secrets (case S1), in a real VS Code', function () {
  this.timeout(180_000);
  let capture: Awaited<ReturnType<typeof startCapture>>;
  let settingsFile: string;

  before(async () => {
    const a = await api();
    capture = await startCapture();
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'the host test window has a workspace folder');
    settingsFile = path.join(folder.uri.fsPath, '.vscode', 'settings.json');
    if (a.model.accounts.length === 0) {
      await useDemoCredentials();
      await harness.plan('allow');
      assert.equal(await vscode.commands.executeCommand<boolean>('infusionsoft.signIn'), true);
      await harness.plan('none');
    }
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(
      settingsFile,
      JSON.stringify(
        {
          'infusionsoft.clientId': 'attacker-client-id',
          'infusionsoft.authorizeUrl': `${capture.url}/app/oauth/authorize`,
          'infusionsoft.tokenUrl': `${capture.url}/token`,
          'infusionsoft.apiBaseUrl': `${capture.url}/crm/rest`,
          'infusionsoft.redirectUri': `${capture.url}/relay/index.html`,
          'infusionsoft.loopbackPort': capture.port,
          'infusionsoft.requestTimeoutSeconds': 1,
          'infusionsoft.signInTimeoutMinutes': 60,
          'infusionsoft.refreshBeforeExpiryMinutes': 1380,
          'infusionsoft.keepAliveAfterDays': 1,
          'infusionsoft.refreshTokenLifetimeDays': 1,
          'infusionsoft.autoRefresh': true,
          'infusionsoft.env.includeClientCredentials': true,
          // A setting a workspace may decide: when it shows, VS Code has read the file.
          'infusionsoft.env.preset': 'infusionsoft-php',
        },
        null,
        2,
      ),
    );
    await waitFor(() => vscode.workspace.getConfiguration('infusionsoft').get('env.preset') === 'infusionsoft-php', 20_000, 'VS Code to read the workspace settings');
  });

  after(async () => {
    fs.rmSync(path.dirname(settingsFile), { recursive: true, force: true });
    await harness.plan('none');
    await harness.closeSecondWindow().catch(() => undefined);
    await capture.close();
  });

  it('VS Code itself ignores the workspace values of the user-only settings', () => {
    const c = vscode.workspace.getConfiguration('infusionsoft');
    assert.equal(c.get('tokenUrl'), `${fake.url()}/token`);
    assert.equal(c.get('clientId'), DEMO.clientId);
    assert.equal(c.get('refreshBeforeExpiryMinutes'), 60);
  });

  it('window start: a new window with the workspace settings sends nothing anywhere', async () => {
    const a = await api();
    await fake.reset();
    // 22 hours left: not due under the user's 60 minutes; due at once if the workspace's 1380 were honoured.
    const current = (await a.model.store.read())!;
    await a.model.store.write({ ...current, accessTokenExpiresAt: Date.now() + 22 * 3_600_000 });
    await harness.openSecondWindow();
    await waitFor(async () => (await harness.statusBar2()).find(t => /Keap ab123 · 2[12]h/.test(t)), 60_000, 'window 2 shows the session');
    await new Promise(r => setTimeout(r, 3000));
    assert.deepEqual(capture.hits, []);
    assert.equal((await tokenRequests('refresh_token')).length, 0, 'the user\'s 60-minute window: nothing due');
  });

  it('automatic refresh goes to the token endpoint that issued the tokens, never to the workspace\'s', async () => {
    const a = await api();
    await fake.reset();
    const current = (await a.model.store.read())!;
    await a.model.store.write({ ...current, accessTokenExpiresAt: Date.now() + 30 * 60_000 });
    // Automatic requests keep 30 s from the previous token request (the refresh schedule), so allow for one just before.
    await waitFor(async () => (await tokenRequests('refresh_token')).length >= 1, 60_000, 'an automatic refresh at the fake Keap server');
    await waitFor(async () => (await a.model.store.read())?.refreshToken !== current.refreshToken, 10_000, 'the rotated pair stored');
    // The pair is stored before the refresh ends (ledger, lock): a Refresh Token before then joins it and sends nothing.
    await waitFor(() => a.autoRefresher.get()?.busy === false, 10_000, 'the automatic refresh finished');
    assert.deepEqual(capture.hits, []);
  });

  it('Refresh Token sends the refresh token and the client secret only to the user\'s Keap', async () => {
    await fake.reset();
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    assert.equal((await tokenRequests('refresh_token')).length, 1);
    assert.deepEqual(capture.hits, []);
  });

  it('Sign In and Sign In to Another Keap App use the user\'s client ID, authorize page and token endpoint', async () => {
    const a = await api();
    await fake.reset();
    await fake.userApps(['cd456']);
    try {
      await harness.plan('allow', 'cd456');
      assert.equal(await vscode.commands.executeCommand<boolean>('infusionsoft.addAccount'), true, 'Sign In to Another Keap App');
      await harness.plan('allow', 'ab123');
      assert.equal(await vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { clientId: DEMO.clientId, appName: 'ab123' }), true, 'Sign In');
    } finally {
      await harness.plan('none');
      await fake.userApps([]);
    }
    const exchanges = await tokenRequests('authorization_code');
    assert.equal(exchanges.length, 2);
    for (const x of exchanges) assert.equal(x.form?.client_id, DEMO.clientId);
    assert.deepEqual(capture.hits, []);
    // Both accounts remember the fake's token endpoint, and the tree says it is not Keap's own host.
    for (const set of a.model.accounts) assert.equal(set.tokenUrl, `${fake.url()}/token`);
    const row = a.tree.getTreeItem({ kind: 'account', account: `${DEMO.clientId}|ab123` });
    assert.match(String(row.description), new RegExp(`custom Keap endpoint: ${new URL(fake.url()).host.replace(/\./g, '\\.')}`));
    await vscode.commands.executeCommand('infusionsoft.signOut', `${DEMO.clientId}|cd456`);
  });
});
