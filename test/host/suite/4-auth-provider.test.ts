import assert from 'node:assert/strict';
import fs = require('fs');
import path = require('path');
import * as vscode from 'vscode';
import { api, fake, harness, useDemoCredentials, waitFor } from '../util';

describe('AuthenticationProvider "infusionsoft" in a real VS Code', function () {
  this.timeout(120_000);

  before(async () => {
    const a = await api();
    const s = await a.model.store.read();
    if (!s || s.refreshTokenRejectedAt !== undefined) {
      await useDemoCredentials();
      await harness.plan('allow');
      assert.equal(await vscode.commands.executeCommand<boolean>('infusionsoft.signIn', { signInAgain: true }), true);
      await harness.plan('none');
    }
  });
  after(() => harness.closeSecondWindow());

  it('another extension gets a token through vscode.authentication.getSession that the (fake) Keap API accepts', async () => {
    const a = await api();
    const resultFile = process.env.KEAP_CONSUMER_RESULT!;
    assert.ok(resultFile, 'KEAP_CONSUMER_RESULT is set by the harness');
    fs.rmSync(resultFile, { force: true });
    // Test windows refuse modal dialogs, and VS Code asks the user before another extension may use
    // a sign-in; so the consumer runs in a second, ordinary window, where the harness clicks Allow.
    await harness.openSecondWindow();
    await harness.runCommandInSecondWindow('Keap consumer: call Keap with the signed-in session');
    const r = await waitFor(() => fs.existsSync(resultFile) && JSON.parse(fs.readFileSync(resultFile, 'utf8')), 60_000, 'the consumer extension\'s result');
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.status, 200);
    assert.equal(r.body.email, 'dev@example.com');
    assert.deepEqual(r.scopes, ['full']);
    assert.match(r.account, /ab123/);
    assert.equal(r.accessToken, (await a.model.store.read())?.accessToken);
  });

  it('getSessions refreshes an expiring access token through the shared lock before handing it out', async () => {
    const a = await api();
    // Automatic refresh on: getSessions and the window's own schedule share one flight and one lock; one request in all.
    const current = (await a.model.store.read())!;
    await fake.reset();
    clearRefreshLedgers(a.storageDir);
    await a.model.store.write({ ...current, accessTokenExpiresAt: Date.now() + 60_000 });
    await waitFor(() => a.model.tokenSet?.accessTokenExpiresAt === current.accessTokenExpiresAt ? undefined : true, 10_000, 'model reload');
    const sessions = await a.authProvider.getSessions(['full']);
    assert.equal(sessions.length, 1);
    const after = (await a.model.store.read())!;
    assert.notEqual(after.accessToken, current.accessToken);
    assert.equal(sessions[0].accessToken, after.accessToken);
    assert.equal((await fake.requests()).filter(r => r.path === '/token').length, 1);
    assert.equal((await a.authProvider.getSessions(['some-other-scope'])).length, 0);
  });

  it('issue 17.7: with automatic refresh off, getSessions hands out the stored token and never refreshes it', async () => {
    const a = await api();
    const config = vscode.workspace.getConfiguration('infusionsoft');
    await config.update('autoRefresh', false, vscode.ConfigurationTarget.Global);
    const current = (await a.model.store.read())!;
    try {
      await a.model.store.write({ ...current, accessTokenExpiresAt: Date.now() + 60_000 });
      await waitFor(() => a.model.tokenSet?.accessTokenExpiresAt === current.accessTokenExpiresAt ? undefined : true, 10_000, 'model reload');
      await fake.reset();
      clearRefreshLedgers(a.storageDir);
      const sessions = await a.authProvider.getSessions(['full']);
      assert.equal(sessions.length, 1);
      assert.equal(sessions[0].accessToken, current.accessToken, 'the stored token, as it is');
      assert.equal((await fake.requests()).filter(r => r.path === '/token').length, 0, 'nothing sent to Keap');
    } finally {
      await a.model.store.write(current);
      await config.update('autoRefresh', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it("another extension calling getSessions again and again while Keap's token endpoint fails: the refresh schedule holds, not the caller's rate (K10)", async () => {
    const a = await api();
    const config = vscode.workspace.getConfiguration('infusionsoft');
    // Automatic refresh on (with it off getSessions never refreshes, issue 17.7): the window's schedule and the caller share one budget.
    const current = (await a.model.store.read())!;
    try {
      // Keap fails before the token falls due, so the window's own refresh meets the failure too and no pair is rotated.
      await fake.reset();
      clearRefreshLedgers(a.storageDir);
      await fake.fault({ path: '/token', status: 503, body: '<html>Service Unavailable</html>', contentType: 'text/html', times: 1000 });
      await a.model.store.write({ ...current, accessTokenExpiresAt: Date.now() + 60_000 });
      await waitFor(() => a.model.tokenSet?.accessTokenExpiresAt === current.accessTokenExpiresAt ? undefined : true, 10_000, 'model reload');
      // A consumer that asks before every API call (vscode.authentication.getSession does the same).
      for (let i = 0; i < 6; i++) assert.equal((await a.authProvider.getSessions(['full'])).length, 1, 'the session stays (K9)');
      const sent = (await fake.requests()).filter(r => r.path === '/token').length;
      assert.ok(sent <= 1, `${sent} token requests for 6 getSessions calls within seconds`);
    } finally {
      await fake.reset();
      await a.model.store.write(current);
      await config.update('autoRefresh', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('signing out removes the session: the provider fires onDidChangeSessions', async () => {
    const a = await api();
    const saved = (await a.model.store.read())!;
    const removed = new Promise<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>(resolve => {
      const d = a.authProvider.onDidChangeSessions(e => {
        d.dispose();
        resolve(e);
      });
    });
    await vscode.commands.executeCommand('infusionsoft.signOut', 'all');
    const e = await removed;
    assert.equal(e.removed?.length, 1);
    assert.deepEqual(await a.authProvider.getSessions(['full']), []);
    await a.model.store.write(saved);
    await waitFor(() => a.model.tokenSet !== undefined, 10_000, 'session restored');
  });
});

/** Forgets every account's recorded token requests (src/session/ledgerFile), as on a machine that sent none lately. */
function clearRefreshLedgers(storageDir: string): void {
  const locks = path.join(storageDir, 'locks');
  for (const f of fs.existsSync(locks) ? fs.readdirSync(locks) : []) if (f.endsWith('.ledger.json')) fs.rmSync(path.join(locks, f), { force: true });
}
