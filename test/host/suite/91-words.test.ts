import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { accountKey } from '../../../src/session/accounts';
import { api, ensureSignedIn, fake, harness, tokenRequests, waitFor } from '../util';

const H = 3_600_000;

/** Issue 19.2: the words and colours a user reads are true now. */
describe('State words in a real VS Code (issue 19)', function () {
  this.timeout(180_000);

  before(ensureSignedIn);
  after(async () => {
    await fake.reset();
    await harness.closeSecondWindow();
  });

  it('the status bar\'s first paint after a reload with a stored session never reads "Sign in"', async () => {
    await harness.openSecondWindow();
    await waitFor(async () => (await harness.statusBar2()).find(t => /Keap ab123/.test(t)), 60_000, 'window 2 shows the session');
    const seen = await harness.reloadSecondWindowWatching('Keap ab123');
    console.log(`      window 2 status bar after reload, in order: ${JSON.stringify(seen)}`);
    assert.ok(seen.length > 0);
    assert.ok(!seen.some(t => /Sign in/i.test(t)), `never "Sign in": ${JSON.stringify(seen)}`);
    assert.match(seen[seen.length - 1], /Keap ab123/);
    await harness.closeSecondWindow();
  });

  it('a failed Refresh Token of a fresh token leaves the row without "refresh failing" and the status bar without a warning colour', async () => {
    const a = await api();
    await fake.reset();
    // A token Keap has just issued: 24 hours left, nowhere near due.
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'refreshed');
    assert.equal(a.statusBackground(), undefined);
    await fake.fault({ status: 503, body: '<html>Service Unavailable</html>', contentType: 'text/html' });
    await vscode.commands.executeCommand('notifications.clearAll');
    const before = (await tokenRequests('refresh_token')).length;
    await vscode.commands.executeCommand('infusionsoft.refreshToken');
    assert.equal((await tokenRequests('refresh_token')).length, before + 1, 'the Refresh Token went out and failed');
    const key = a.model.activeKey!;
    const row = a.tree.getTreeItem({ kind: 'account', account: key });
    assert.doesNotMatch(String(row.description ?? ''), /refresh failing/);
    assert.equal(a.statusBackground(), undefined, 'no warning colour');
    assert.doesNotMatch(a.statusText(), /warning/);
    assert.match(a.statusTooltip(), /still valid/);
    assert.match(a.statusTooltip(), /next automatic refresh is/);
    // The notification centre lists every notification of the window, shown as a toast or not.
    await vscode.commands.executeCommand('notifications.showList');
    const shown = await waitFor(async () => (await harness.notifications()).find(t => /still valid/.test(t)), 10_000, 'the notification');
    assert.match(shown, /next automatic refresh is in/);
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('notifications.hideList');
  });

  it('an access token that expires while automatic refresh keeps failing gets exactly one notification, with Refresh Token', async () => {
    const a = await api();
    await fake.reset();
    // Every token request fails (a Keap outage); the stored token is due and lapses in 25 s.
    await fake.fault({ status: 503, body: '<html>Service Unavailable</html>', contentType: 'text/html', times: 1000 });
    await vscode.commands.executeCommand('notifications.clearAll');
    const current = (await a.model.store.read())!;
    const expiresAt = Date.now() + 25_000;
    await a.model.store.write({ ...current, refreshTokenIssuedAt: Date.now() - 23.5 * H, accessTokenExpiresAt: expiresAt });
    await waitFor(() => a.autoRefresher.healthOf(accountKey(current)).kind === 'retrying', 60_000, 'automatic refresh failing');
    // Wait until an automatic attempt after the expiry has failed too (the notification must not repeat).
    await waitFor(async () => (await tokenRequests('refresh_token')).some(r => r.status === 503 && r.at > expiresAt), 150_000, 'a failed automatic refresh after the expiry');
    await new Promise(r => setTimeout(r, 2000));
    // The notification centre lists every notification of the window, shown as a toast or not.
    await vscode.commands.executeCommand('notifications.showList');
    const expired = await waitFor(async () => {
      const items = (await harness.notifications()).filter(t => /access token expired/.test(t));
      return items.length > 0 && items;
    }, 10_000, 'the expiry notification');
    const appearances = expired.length;
    const text = expired[0];
    assert.equal(appearances, 1, 'exactly one notification');
    assert.match(text, /automatic refresh keeps failing/);
    assert.match(text, /Refresh Token/);
    // Keap is back: Refresh Token from the notification's button ends it.
    await fake.reset();
    await harness.clickNotification('access token expired', 'Refresh Token');
    await vscode.commands.executeCommand('notifications.hideList');
    await waitFor(() => a.autoRefresher.healthOf(accountKey(current)).kind === 'ok' && (a.model.tokenSet?.accessTokenExpiresAt ?? 0) > Date.now() + H, 30_000, 'refreshed from the button');
  });
});
