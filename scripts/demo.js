#!/usr/bin/env node
// The product's main job, locally, with no Keap account: starts the Keap-compatible server and
// code-server (a real VS Code, without the test driver, so notifications show as they do for a
// user) with the packaged extension installed and pointed at it, then prints the URL to open.
// Runs until Ctrl-C or SIGTERM, then stops both servers and removes its temporary state folder.
// Env: DEMO_PORT (8080), DEMO_KEAP_PORT (8099), DEMO_STATE (a folder to use and keep instead).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('./host/harness');
const { DEMO_API_KEY, DEMO_CLIENT } = require(path.join(h.ROOT, 'out/test/fake-keap/server.js'));

const keepState = !!process.env.DEMO_STATE;
const stateDir = keepState ? path.resolve(process.env.DEMO_STATE) : fs.mkdtempSync(path.join(os.tmpdir(), 'keap-demo-'));
let cs;
let fake;
let stopping = false;

/** Stops code-server (its whole process group) and the fake, then removes the state folder unless DEMO_STATE named it. */
async function stop(code) {
  if (stopping) return;
  stopping = true;
  if (cs) await cs.stopAndWait();
  if (fake) await fake.close().catch(() => {});
  if (keepState) console.log(`Demo stopped. State kept in ${stateDir} (DEMO_STATE).`);
  else {
    fs.rmSync(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    console.log(`Demo stopped. Removed its state folder ${stateDir}.`);
  }
  process.exit(code);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void stop(0));

(async () => {
  const port = +(process.env.DEMO_PORT || 8080);
  const keapPort = +(process.env.DEMO_KEAP_PORT || 8099);
  // The demo Keap user has two Keap apps, so Sign In to Another Keap App has something to add.
  fake = await h.startFake({ port: keapPort, userApps: ['cd456'] }).catch(e => {
    throw new Error(`could not start the Keap-compatible server on port ${keapPort} (${e.code || e.message}); set DEMO_KEAP_PORT to a free port`);
  });
  const workspace = path.join(stateDir, 'workspace');
  fs.mkdirSync(workspace, { recursive: true });
  const vsix = path.join(h.ROOT, 'dist/infusionsoft-oauth.vsix');
  if (!(await h.portIsFree(port))) throw new Error(`port ${port} is in use; set DEMO_PORT to a free port`);
  cs = await h.startCodeServer({
    stateDir, workspace, port, installVsix: vsix,
    settings: h.userSettings(fake, { 'infusionsoft.clientId': DEMO_CLIENT.clientId }),
  });
  console.log(`
  Infusionsoft (Keap) OAuth — demo against the bundled Keap-compatible server

    Open VS Code:         ${cs.url}/?folder=${encodeURIComponent(workspace)}
    Keap-compatible API:  ${fake.baseUrl}  (authorize page, /token, userinfo, relay page)

  In VS Code: click "Keap: Sign in" in the status bar (or F1 → Infusionsoft: Sign In).
  It asks for the client credentials once: client ID ${DEMO_CLIENT.clientId} (already filled in),
  client secret ${DEMO_CLIENT.clientSecret}. If VS Code asks before it opens Keap's page, click Open.
  Then click Allow on the authorize page; the relay page returns you to VS Code, signed in, with
  the time left on the access token in the status bar.

  Several Keap apps: the demo user has two (ab123 and cd456). Run "Infusionsoft: Sign In to
  Another Keap App" (the + in the Keap view) and pick cd456 on the authorize page; then
  "Infusionsoft: Switch Keap App" changes the one the status bar shows.

  API keys: "Infusionsoft: Add API Key…" (or the + in the API Keys view) with any name, the kind
  Personal Access Token, and the demo key ${DEMO_API_KEY.key}
  Keap answers 401 to any other key; Test API Key shows the key's quota (30,000 a day).

  Ctrl-C stops both servers and removes the demo's state: ${stateDir}${keepState ? ' (kept: DEMO_STATE)' : ''}
`);
})().catch(e => {
  console.error(`Demo failed: ${e.message}`);
  void stop(1);
});
