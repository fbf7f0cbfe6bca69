import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api, ensureSignedIn, fake, harness, waitFor } from '../util';

/**
 * Issue 17.2 (case S8) in a real VS Code: Keap's words with a command link, an image and HTML in
 * them reach a notification, the status bar tooltip and the Keap view as plain text.
 */
describe('outside text is shown as text (issue 17.2, S8)', function () {
  this.timeout(120_000);
  before(ensureSignedIn);
  after(async () => {
    await fake.reset();
    // Leave a healthy session for the suites after this one.
    await vscode.commands.executeCommand('infusionsoft.refreshToken');
  });

  const WORDS = 'Session needs verification';
  const HOSTILE = `${WORDS}. [Verify](command:infusionsoft.showLog) ![pixel](https://evil.example/p.png) <img src=x onerror=alert(1)> <b>bold</b>`;

  it('the selector sees a real link: a notification of our own with one renders it (control)', async () => {
    void vscode.window.showInformationMessage('Outside-text control: [Open the log](command:infusionsoft.showLog)');
    const seen = await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      const r = await harness.notificationLinks('Outside-text control');
      return r.found > 0 && r;
    }, 15_000, 'the control notification').catch(async e => {
      throw new Error(`${(e as Error).message}; notifications seen: ${JSON.stringify(await harness.notifications())}`);
    });
    assert.ok(seen.links >= 1, `the control's link is rendered as a link: ${JSON.stringify(seen)}`);
  });

  it("a refused refresh whose error_description holds [Verify](command:…): the notification shows the words and no link, image or HTML; the tooltip and the row too", async () => {
    const a = await api();
    await fake.reset();
    await vscode.commands.executeCommand('notifications.clearAll');
    await fake.fault({ status: 400, body: JSON.stringify({ error: 'invalid_request', error_description: HOSTILE }), times: 5 });
    assert.equal(await vscode.commands.executeCommand<string>('infusionsoft.refreshToken'), 'failed');
    const shown = await waitFor(async () => {
      await vscode.commands.executeCommand('notifications.showList');
      const r = await harness.notificationLinks(WORDS);
      return r.found > 0 && r;
    }, 15_000, 'the notification with Keap\'s words');
    await harness.screenshot('outside-text-notification', '.notifications-center');
    assert.equal(shown.links, 0, `no link in the notification: ${JSON.stringify(shown)}`);
    assert.equal(shown.images, 0, 'no image');
    assert.ok(shown.text.some(t => t.includes('Verify') && t.includes('<img')), `the words are shown as text: ${JSON.stringify(shown.text)}`);

    // The status bar tooltip: untrusted, no HTML, Keap's words escaped in its markdown source.
    await waitFor(() => a.autoRefresher.health.kind === 'paused', 10_000, 'the refresh to pause');
    const tip = await waitFor(() => {
      const t = a.statusTooltipMarkdown();
      return t && t.value.includes('Verify') && t;
    }, 10_000, 'the tooltip to name the pause');
    assert.equal(tip.isTrusted, false);
    assert.equal(tip.supportHtml, false);
    assert.ok(!tip.value.includes('[Verify](command:'), `no link syntax left in: ${tip.value}`);
    assert.ok(!/(^|[^\\])<img/.test(tip.value), 'no raw HTML');
    assert.match(a.statusTooltip(), /\[Verify\]\(command:infusionsoft\.showLog\)/, 'the user reads the words as Keap wrote them');

    // The Keap view's row: a plain-text tooltip with the words on one line.
    const [row] = a.tree.getChildren();
    const item = a.tree.getTreeItem(row);
    assert.equal(typeof item.tooltip, 'string');
    assert.match(String(item.tooltip), /Session needs verification/);
    await harness.closePopups();
  });
});
