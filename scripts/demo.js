#!/usr/bin/env node
// The product's main job, locally, with no Keap account: starts the Keap-compatible server and
// code-server (a real VS Code) with the packaged extension installed and pointed at it, then
// prints the URL to open. Runs until Ctrl-C. Env: DEMO_PORT (8080), DEMO_KEAP_PORT (8099).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('./host/harness');
const { DEMO_CLIENT } = require(path.join(h.ROOT, 'out/test/fake-keap/server.js'));

(async () => {
  const port = +(process.env.DEMO_PORT || 8080);
  // The demo Keap user has two Keap apps, so Sign In to Another Keap App has something to add.
  const fake = await h.startFake({ port: +(process.env.DEMO_KEAP_PORT || 8099), userApps: ['cd456'] });
  const stateDir = process.env.DEMO_STATE || fs.mkdtempSync(path.join(os.tmpdir(), 'keap-demo-'));
  const workspace = path.join(stateDir, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  const vsix = path.join(h.ROOT, 'dist/infusionsoft-oauth.vsix');
  const cs = await h.startCodeServer({
    stateDir, workspace, port, installVsix: vsix,
    settings: h.userSettings(fake, { 'infusionsoft.clientId': DEMO_CLIENT.clientId }),
  });
  console.log(`
  Infusionsoft (Keap) OAuth — demo against the bundled Keap-compatible server

    Open VS Code:         ${cs.url}/?folder=${encodeURIComponent(workspace)}
    Keap-compatible API:  ${fake.baseUrl}  (authorize page, /token, userinfo, relay page)

  In VS Code: click "Keap: Sign in" in the status bar (or F1 → Infusionsoft: Sign In).
  It asks for the client credentials once: client ID ${DEMO_CLIENT.clientId} (already filled in),
  client secret ${DEMO_CLIENT.clientSecret}. Then click Allow on the authorize page; the relay page
  returns you to VS Code, signed in, with the time left on the access token in the status bar.

  Several Keap apps: the demo user has two (ab123 and cd456). Run "Infusionsoft: Sign In to
  Another Keap App" (the + in the Keap Session view) and pick cd456 on the authorize page; then
  "Infusionsoft: Switch Keap App" changes the one the status bar shows.

  Ctrl-C stops both servers. State: ${stateDir}
`);
  const stop = async () => { cs.stop(); await fake.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
})().catch(e => { console.error(e); process.exit(1); });
