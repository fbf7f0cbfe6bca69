#!/usr/bin/env node
// npm run bench: measures the product in code-server, beside VS Code's own github-authentication,
// in one run. Writes docs/bench-results.json (path: $BENCH_OUT), prints the table, and rewrites the
// README's performance table from that file (scripts/readme-figures.js; BENCH_README=0 skips it).
// Not a test: it reports numbers.
'use strict';
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const h = require('./host/harness');

const WINDOWS = +(process.env.BENCH_WINDOWS || 5);
const OUT = path.resolve(process.env.BENCH_OUT || path.join(h.ROOT, 'docs/bench-results.json'));
const figures = require('./readme-figures');
const median = a => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const r1 = x => Math.round(x * 10) / 10;
const stats = a => (a.length ? { median: r1(median(a)), min: r1(Math.min(...a)), max: r1(Math.max(...a)), n: a.length, samples: a.map(r1) } : { n: 0 });
const sleep = ms => new Promise(r => setTimeout(r, ms));

async function activationTimes(page) {
  await h.runCommand(page, 'Developer: Show Running Extensions');
  const rows = page.locator('.runtime-extensions-editor .monaco-list-row');
  await rows.first().waitFor({ timeout: 30000 });
  await sleep(1000);
  const texts = await rows.allInnerTexts();
  const pick = name => {
    const row = texts.find(t => t.split('\n')[0].trim() === name);
    const m = row && /Activation: (\d+)ms/.exec(row);
    return m ? { ms: +m[1], startup: /Startup Activation/.test(row) } : undefined;
  };
  return { ours: pick('Infusionsoft (Keap) OAuth'), github: pick('GitHub Authentication') };
}

/** Every "activated in X ms; evaluating dist/extension.js took Y ms" line in the Infusionsoft logs under `dir`: the stats of X, Y and X + Y (ms). */
function ownActivationCost(dir) {
  const activate = [], evaluate = [], total = [];
  const walk = d => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'Infusionsoft.log') {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/activated in ([\d.]+) ms; evaluating dist\/extension\.js took ([\d.]+) ms/g)) {
          activate.push(+m[1]); evaluate.push(+m[2]); total.push(+m[1] + +m[2]);
        }
      }
    }
  };
  walk(dir);
  return { activateMs: stats(activate), evaluateMs: stats(evaluate), totalMs: stats(total) };
}

(async () => {
  const t0 = Date.now();
  // The fake's Keap user has two Keap apps, so the expiry cycle covers two accounts.
  const fake = await h.startFake({ userApps: ['cd456'] });
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-bench-'));
  const workspace = path.join(stateDir, 'ws');
  const benchOut = path.join(stateDir, 'bench-runner.json');
  const state = { plan: 'none', popups: [], landed: [], authorizeVisits: [], dialogs: [] };
  let mainPage;
  const control = await h.startControlServer(state, () => mainPage, stateDir, async () => undefined);
  let phase = 'wait';
  let written;
  const writtenP = new Promise(r => (written = r));
  const ctrl = http.createServer((req, res) => {
    if (req.url === '/phase') return res.end(phase);
    if (req.url === '/written') { written(); return res.end('ok'); }
    res.statusCode = 404; res.end();
  });
  await new Promise(r => ctrl.listen(0, '127.0.0.1', r));
  const vsix = path.join(h.ROOT, 'dist/infusionsoft-oauth.vsix');
  const cs = await h.startCodeServer({
    stateDir, workspace, installVsix: vsix, smokeTestDriver: true, settings: h.userSettings(fake, { 'infusionsoft.clientId': 'demo-client-id' }),
    env: { HARNESS_URL: control.url, FAKE_KEAP_URL: fake.baseUrl, KEAP_BENCH_OUT: benchOut, KEAP_BENCH_CTRL: `http://127.0.0.1:${ctrl.address().port}` },
  });
  const browser = await h.launchBrowser();
  let commit;
  try { commit = require('child_process').execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: h.ROOT, encoding: 'utf8' }).trim(); } catch { /* not a git checkout */ }
  const results = { windows: WINDOWS, codeServer: '4.139.1 (VS Code 1.139)', cpus: os.cpus().length, commit, date: new Date().toISOString() };

  // 0. keap-token (issue 18), in plain Node before code-server starts (scripts/bench-keap-token.js).
  results.keapToken = await require('./bench-keap-token').run();

  // 1. Activation, as VS Code measures it (Developer: Show Running Extensions), in fresh windows.
  // Beside each, a window of a second code-server that has only the floor extension (scripts/floor/build.js:
  // the same VS Code calls at activation and nothing else), the two alternating so both see the same machine.
  const floorDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-bench-floor-'));
  const floorWorkspace = path.join(floorDir, 'ws');
  const floorCs = await h.startCodeServer({ stateDir: floorDir, workspace: floorWorkspace, installVsix: require('./floor/build').build(path.join(floorDir, 'floor.vsix')), settings: h.userSettings(fake, {}) });
  const floorWindow = async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 4000 } });
    const page = await ctx.newPage();
    await page.goto(`${floorCs.url}/?folder=${encodeURIComponent(floorWorkspace)}`);
    await page.locator('.statusbar-item', { hasText: /Keap/ }).first().waitFor({ timeout: 90000 });
    await sleep(1500);
    await ctx.close();
  };
  const ours = [], github = [];
  for (let i = 0; i < WINDOWS; i++) {
    if (i % 2) await floorWindow();
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 4000 } });
    const page = await ctx.newPage();
    await page.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.statusbar-item', { hasText: /Keap/ }).first().waitFor({ timeout: 90000 });
    await sleep(3000);
    const t = await activationTimes(page);
    if (t.ours) ours.push(t.ours.ms);
    if (t.github) github.push(t.github.ms);
    await ctx.close();
    if (!(i % 2)) await floorWindow();
  }
  await floorCs.stopAndWait();
  results.activationMs = { ours: stats(ours), github: stats(github), ratio: ours.length && github.length ? +(median(ours) / median(github)).toFixed(2) : null };
  // The extension's own cost, measured inside each window's extension host (src/extension.ts logs it:
  // activate() itself, and evaluating dist/extension.js between the marks scripts/bundle.js adds),
  // and the floor's, measured the same way; `aboveFloorMs`: the difference of the two medians.
  results.ownActivationMs = ownActivationCost(stateDir);
  results.ownActivationMs.floor = ownActivationCost(floorDir);
  if (results.ownActivationMs.totalMs.n && results.ownActivationMs.floor.totalMs.n) results.ownActivationMs.aboveFloorMs = r1(results.ownActivationMs.totalMs.median - results.ownActivationMs.floor.totalMs.median);
  fs.rmSync(floorDir, { recursive: true, force: true });

  // 2. Sizes (scripts/check-bundle-size.js measures them): what activation reads (dist/extension.js
  // and what it requires as it loads) beside GitHub's dist/extension.js, which its activation reads
  // whole; the files read on first use; node-fetch (dist/fetch.js, read at the first request).
  const ghBundle = path.join(h.TOOLS, 'cs/node_modules/code-server/lib/vscode/extensions/github-authentication/dist/extension.js');
  const sizes = require('./check-bundle-size').measure();
  results.bytes = {
    activationJs: sizes.activation.bytes,
    activationFiles: sizes.activation.files,
    githubAuthenticationJs: fs.existsSync(ghBundle) ? fs.statSync(ghBundle).size : null,
    // keap-token's own file is run by the CLI in a process of its own, never read by the extension.
    firstUseJs: Object.fromEntries(sizes.lazy.filter(l => l.file !== 'dist/keap-token.js').map(l => [l.file, l.bytes])),
    keapTokenJs: sizes.lazy.find(l => l.file === 'dist/keap-token.js')?.bytes,
    fetchJs: sizes.fetch,
    totalJs: sizes.total,
    vsix: fs.statSync(vsix).size,
    activationBudget: require('./check-bundle-size').BUDGET_BYTES,
  };
  results.bytes.ratio = results.bytes.githubAuthenticationJs ? +(results.bytes.activationJs / results.bytes.githubAuthenticationJs).toFixed(2) : null;
  results.bytes.budgetRatio = +(results.bytes.activationJs / results.bytes.activationBudget).toFixed(2);

  // 3. Callback → token set stored + status bar updated (in the extension), beside the bare token round trip.
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  h.watchPopups(ctx, fake, state);
  mainPage = await ctx.newPage();
  let done; const exited = new Promise(r => (done = r));
  await mainPage.exposeFunction('codeAutomationExit', code => done(code));
  const stopDialogs = h.autoConfirmDialogs(mainPage, state);
  await mainPage.goto(h.workbenchUrl(cs.url, workspace, { devPath: h.ROOT, testsPath: path.join(h.ROOT, 'out/test/bench/index') }));
  // Wait until the runner has signed in and waits for the expiry-cycle phase.
  for (let i = 0; i < 600 && !fs.existsSync(benchOut); i++) await sleep(200);
  const runner = JSON.parse(fs.readFileSync(benchOut, 'utf8'));
  const bare = [];
  for (let i = 0; i < 20; i++) {
    const redirectUri = 'http://localhost:1/callback';
    const r = await fetch(fake.authorizeUrl, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'demo-client-id', redirect_uri: redirectUri, response_type: 'code', scope: 'full', state: 's', decision: 'allow' }).toString() });
    const code = new URL(r.headers.get('location')).searchParams.get('code');
    const s = performance.now();
    const t = await fetch(fake.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'demo-client-id', client_secret: 'demo-client-secret', code, grant_type: 'authorization_code', redirect_uri: redirectUri }).toString() });
    await t.text();
    bare.push(performance.now() - s);
  }
  results.callbackToStoredMs = stats(runner.callbackMs.map(x => +x.toFixed(1)));
  results.bareTokenRoundTripMs = stats(bare.map(x => +x.toFixed(1)));

  // 4. A window that starts with a fresh token makes no request.
  const before = fake.requests.length;
  const extra = [];
  for (let i = 0; i < WINDOWS - 1; i++) {
    const p = await ctx.newPage();
    await p.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}`);
    await p.locator('.statusbar-item', { hasText: /Keap \w+ · 23h/ }).first().waitFor({ timeout: 90000 });
    extra.push(p);
  }
  await sleep(5000);
  results.requestsAtStartWithFreshToken = fake.requests.length - before;

  // 5. One expiry cycle with WINDOWS windows open (the runner's window and WINDOWS-1 more).
  const beforeCycle = fake.requests.filter(r => r.path === '/token').length;
  phase = 'go';
  await writtenP;
  await sleep(8000);
  const cycle = fake.requests.filter(r => r.path === '/token').slice(beforeCycle);
  results.tokenRequestsPerExpiryCycle = cycle.length;
  results.apps = runner.apps;
  // Per Keap app, from the scope of each answer (a failed request counts under 'failed').
  results.tokenRequestsPerApp = {};
  for (const r of cycle) {
    let app = 'failed';
    try { app = (JSON.parse(r.responseBody).scope || '').split('|')[1].split('.')[0]; } catch { /* not a token answer */ }
    results.tokenRequestsPerApp[app] = (results.tokenRequestsPerApp[app] || 0) + 1;
  }
  const bars = [];
  for (const p of [mainPage, ...extra]) bars.push((await h.statusBarTexts(p)).find(t => /Keap/.test(t)));
  results.statusBarsAfterCycle = bars;
  await Promise.race([exited, sleep(10000)]);
  stopDialogs();
  await browser.close();
  cs.stop();
  await fake.close();
  results.totalSeconds = Math.round((Date.now() - t0) / 1000);
  fs.writeFileSync(OUT, JSON.stringify(results, null, 2));

  console.log(`\n${figures.renderBenchTable(results)}\n\nActivation is VS Code's own figure (Developer: Show Running Extensions): ours activates on onStartupFinished, GitHub's on onAuthenticationRequest:github; both load and run activate() in code-server's Node extension host.\nJSON: ${OUT}  (${results.totalSeconds} s)`);
  if (process.env.BENCH_README !== '0') {
    const readme = path.join(h.ROOT, 'README.md');
    fs.writeFileSync(readme, figures.updateReadme(fs.readFileSync(readme, 'utf8'), results));
    console.log('README.md: performance table rewritten from these results');
  }
  process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
