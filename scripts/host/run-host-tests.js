#!/usr/bin/env node
// Runs test/host inside code-server's real extension host, against the fake Keap server, with a
// headless chromium as the window. Exit code 0 only when every host test passed.
// Env: ARTIFACTS (default .ci/artifacts), TEST_TIMEOUT_MS, VERBOSE, HOST_GREP (mocha grep).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const util = require('util');
const h = require('./harness');

const ARTIFACTS = path.resolve(process.env.ARTIFACTS || path.join(h.ROOT, '.ci/artifacts'));
const TIMEOUT = +(process.env.TEST_TIMEOUT_MS || 1200000);
const NOISE = /^\[(ChatModelSelection|AgentHost|AccountPolicyGate|Service Worker|reconnection-grace-time)|^(Resolv|Creating a socket|Updating additional)/;

/** Every file under `dir` (except `skip` folders) that contains one of `secrets`. */
function scanForSecrets(dir, secrets, skip) {
  const list = [...new Set(secrets)].filter(s => s && s.length >= 8);
  const hits = [];
  let files = 0;
  (function walk(d) {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (skip.some(s => p === s || p.startsWith(s + path.sep))) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const st = fs.statSync(p);
        if (st.size > 50 * 1024 * 1024) continue;
        files++;
        const text = fs.readFileSync(p).toString('latin1');
        for (const s of list) if (text.includes(s)) hits.push({ file: path.relative(dir, p), secretLength: s.length });
      }
    }
  })(dir);
  return { files, secrets: list.length, hits };
}

/** How many files are under `dir` (0 when it does not exist). */
function countFiles(dir) {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter(e => e.isFile()).length;
}

(async () => {
  const t0 = Date.now();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-host-'));
  const testLog = path.join(ARTIFACTS, 'host-tests.log');
  const resultFile = path.join(ARTIFACTS, 'host-tests.json');
  for (const f of [testLog, resultFile]) fs.rmSync(f, { force: true });

  const fake = await h.startFake();
  const state = { plan: 'none', popups: [], landed: [], authorizeVisits: [], dialogs: [], artifacts: ARTIFACTS };
  let page;
  const workspace = path.join(stateDir, 'ws');
  let cs;
  let context;
  // A second browser page on the same workbench is a second VS Code window with its own extension host.
  const openWindow = async () => {
    const p2 = await context.newPage();
    await p2.goto(h.workbenchUrl(cs.url, workspace, { devPath: h.ROOT }));
    await p2.locator('.statusbar-item', { hasText: /Keap/ }).first().waitFor({ timeout: 60000 });
    h.autoConfirmDialogs(p2, state);
    return p2;
  };
  const control = await h.startControlServer(state, () => page, ARTIFACTS, openWindow);
  // A second, ordinary extension that asks VS Code's authentication API for the Keap session.
  const consumerVsix = path.join(stateDir, 'keap-consumer.vsix');
  require('child_process').execFileSync(process.execPath, [require.resolve('@vscode/vsce/vsce'), 'package', '--no-dependencies', '--skip-license', '-o', consumerVsix],
    { cwd: path.join(h.ROOT, 'test/host/consumer-extension'), stdio: 'ignore' });
  cs = await h.startCodeServer({
    stateDir, workspace, installVsix: consumerVsix, smokeTestDriver: true,
    settings: h.userSettings(fake),
    env: { KEAP_CONSUMER_RESULT: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'keap-consumer-')), 'result.json'), HARNESS_URL: control.url, FAKE_KEAP_URL: fake.baseUrl, VSCODE_TEST_LOG: testLog, VSCODE_TEST_RESULT: resultFile, HOST_GREP: process.env.HOST_GREP || '' },
  });
  h.log(`code-server ${cs.url}, fake Keap ${fake.baseUrl}, state ${stateDir}`);

  const browser = await h.launchBrowser();
  context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  h.watchPopups(context, fake, state);
  page = await context.newPage();
  let done; const exited = new Promise(r => (done = r));
  await page.exposeFunction('codeAutomationExit', code => done(code));
  page.on('console', async m => {
    let args;
    try { args = await Promise.all(m.args().map(a => a.jsonValue())); } catch { args = [m.text()]; }
    if (typeof args[0] === 'string' && /^%c\s*\w+/.test(args[0])) args = args.slice(2);
    const line = util.format(...args);
    if (process.env.VERBOSE || (m.type() !== 'error' && !NOISE.test(line))) console.log(line);
  });
  const stopDialogs = h.autoConfirmDialogs(page, state);
  await page.goto(h.workbenchUrl(cs.url, workspace, { devPath: h.ROOT, testsPath: path.join(h.ROOT, 'out/test/host/index') }));
  const code = await Promise.race([exited, new Promise(r => setTimeout(() => r('timeout'), TIMEOUT))]);
  stopDialogs();
  await page.screenshot({ path: path.join(ARTIFACTS, 'host-tests-end.png') }).catch(() => {});
  fs.writeFileSync(path.join(ARTIFACTS, 'fake-keap-requests.json'), JSON.stringify(fake.requests.map(r => ({ method: r.method, path: r.path, status: r.status })), null, 1));
  await browser.close();
  cs.stop();
  const scan = scanForSecrets(stateDir, fake.issuedSecrets(), [workspace]);
  fs.writeFileSync(path.join(ARTIFACTS, 'secret-scan.json'), JSON.stringify({ ...scan, hits: scan.hits.map(h => ({ file: h.file, secretLength: h.secretLength })) }, null, 1));
  // VS Code's own copies of files: Local History (a copy per save) and hot-exit backups (unsaved editors).
  const copies = ['History', 'Backups'].map(d => `${d} ${countFiles(path.join(stateDir, 'ud', 'User', d))}`).join(', ');
  console.log(`[host] secret scan of ${scan.files} files (logs, settings, globalStorage, code-server state, VS Code's copies: ${copies} files; the workspace .env excluded) for ${scan.secrets} tokens, codes and secrets the fake Keap issued or received: ${scan.hits.length} hits`);
  for (const hit of scan.hits) console.log(`[host]   leak in ${hit.file}`);
  await fake.close();
  let summary = {};
  try { summary = JSON.parse(fs.readFileSync(resultFile, 'utf8')); } catch { /* none */ }
  console.log(`[host] extension host exit code: ${code}; ${summary.passes ?? '?'} passing, ${summary.failures ?? '?'} failing (${Date.now() - t0} ms)`);
  process.exit(code === 0 && summary.failures === 0 && summary.passes > 0 && scan.hits.length === 0 ? 0 : 1);
})().catch(e => { console.error(e); process.exit(2); });
