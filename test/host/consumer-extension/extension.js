// A stand-in for any extension that wants a Keap token: it asks VS Code's authentication API for
// the "infusionsoft" session, then calls Keap's userinfo with the token it got. Installed as an
// ordinary extension in the host tests; writes what happened to $KEAP_CONSUMER_RESULT.
'use strict';
const fs = require('fs');
const vscode = require('vscode');

exports.activate = context => {
  context.subscriptions.push(
    vscode.commands.registerCommand('keapConsumer.callKeap', async () => {
      const out = process.env.KEAP_CONSUMER_RESULT;
      try {
        const session = await vscode.authentication.getSession('infusionsoft', ['full'], { createIfNone: true });
        const apiBaseUrl = vscode.workspace.getConfiguration('infusionsoft').get('apiBaseUrl');
        const res = await fetch(`${apiBaseUrl}/v1/oauth/connect/userinfo`, { headers: { Authorization: `Bearer ${session.accessToken}` } });
        const result = { status: res.status, body: await res.json(), account: session.account.label, scopes: session.scopes, accessToken: session.accessToken };
        if (out) fs.writeFileSync(out, JSON.stringify(result));
        vscode.window.showInformationMessage(`Keap consumer: userinfo answered ${res.status}`);
        return result;
      } catch (e) {
        if (out) fs.writeFileSync(out, JSON.stringify({ error: String(e && e.message || e) }));
        throw e;
      }
    }),
  );
};
