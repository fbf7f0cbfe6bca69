// Shared pieces of the host harness: code-server (a real VS Code 1.139 server) with an isolated
// state folder, headless Debian chromium driven by playwright-core, the fake Keap server, and a
// small control server the tests inside the extension host call to act in the browser (click
// Allow/Deny on the authorize page, read the status bar from the page, take screenshots).
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '../..');
const TOOLS = process.env.KEAP_HOST_TOOLS || path.join(os.homedir(), '.cache/infusionsoft-oauth-host');
const NODE24 = path.join(TOOLS, 'node/bin/node');
const CS_ENTRY = path.join(TOOLS, 'cs/node_modules/code-server/out/node/entry.js');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

function log(...a) { console.log('[harness]', ...a); }

function freePort() {
  return new Promise((resolve, reject) => {
    const s = require('net').createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/** Whether nothing listens on 127.0.0.1:`port` yet. */
function portIsFree(port) {
  return new Promise(resolve => {
    const s = require('net').createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Whether any process of the process group `pgid` is still alive. */
function groupAlive(pgid) {
  try { process.kill(-pgid, 0); return true; } catch { return false; }
}

async function waitFor(check, timeoutMs, what) {
  const t0 = Date.now();
  for (;;) {
    try { if (await check()) return; } catch { /* not yet */ }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
}

/** Starts the fake Keap server in this process (compiled by `npm run compile`). */
async function startFake(opts = {}) {
  const { startFakeKeap } = require(path.join(ROOT, 'out/test/fake-keap/server.js'));
  return startFakeKeap({ staticDir: path.join(ROOT, 'dist/relay'), ...opts });
}

/** User settings that point the extension at the fake server and quiet the workbench. */
function userSettings(fake, extra = {}) {
  return {
    'infusionsoft.authorizeUrl': fake.authorizeUrl,
    'infusionsoft.tokenUrl': fake.tokenUrl,
    'infusionsoft.apiBaseUrl': fake.apiBaseUrl,
    'infusionsoft.redirectUri': fake.relayUrl,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'security.workspace.trust.enabled': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'chat.disableAIFeatures': true,
    ...extra,
  };
}

/**
 * Starts code-server on 127.0.0.1 with its own user-data, extensions and XDG folders under
 * `stateDir`, so nothing is written to $HOME. `smokeTestDriver` (tests and the bench only) passes
 * `--vscode-option enable-smoke-test-driver`: VS Code then honours the `payload` of
 * {@link workbenchUrl} (the test runner) and reports through `codeAutomationExit`, but also hides
 * every notification toast, so a person's window (the demo) must never have it.
 * Returns { url, port, stop(), stopAndWait(), exited } (`exited` resolves once the group's leader is gone).
 */
async function startCodeServer({ stateDir, workspace, settings, env = {}, port, installVsix, smokeTestDriver = false }) {
  if (!fs.existsSync(CS_ENTRY)) throw new Error(`code-server is not installed in ${TOOLS}; run scripts/host/install.sh`);
  port = port || await freePort();
  const ud = path.join(stateDir, 'ud');
  fs.mkdirSync(path.join(ud, 'User'), { recursive: true });
  fs.mkdirSync(workspace, { recursive: true });
  fs.writeFileSync(path.join(ud, 'User/settings.json'), JSON.stringify(settings, null, 2));
  const xdg = { XDG_CONFIG_HOME: path.join(stateDir, 'xdg/config'), XDG_DATA_HOME: path.join(stateDir, 'xdg/data'), XDG_CACHE_HOME: path.join(stateDir, 'xdg/cache') };
  const args = ['--user-data-dir', ud, '--extensions-dir', path.join(stateDir, 'exts'), '--config', path.join(stateDir, 'config.yaml')];
  const childEnv = { ...process.env, ...xdg, ...env };
  if (installVsix) execFileSync(NODE24, [CS_ENTRY, ...args, '--install-extension', installVsix], { env: childEnv, stdio: 'ignore' });
  const out = fs.openSync(path.join(stateDir, 'code-server.log'), 'a');
  const child = spawn(NODE24, [CS_ENTRY, ...args, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry',
    '--disable-update-check', '--disable-workspace-trust', ...(smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []), workspace],
  { env: childEnv, stdio: ['ignore', out, out], detached: true });
  const exited = new Promise(resolve => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const stop = () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } };
  /** Stops the whole process group and resolves once none of it is left (SIGKILL after 10 s), so its folders can be removed. */
  const stopAndWait = async () => {
    stop();
    const t0 = Date.now();
    while (groupAlive(child.pid) && Date.now() - t0 < 10000) await new Promise(r => setTimeout(r, 100));
    if (groupAlive(child.pid)) { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }
    while (groupAlive(child.pid) && Date.now() - t0 < 15000) await new Promise(r => setTimeout(r, 100));
  };
  process.on('exit', stop);
  await waitFor(() => new Promise(res => http.get(`${url}/healthz`, r => { r.resume(); res(r.statusCode === 200); }).on('error', () => res(false))), 60000, 'code-server /healthz');
  return { url, port, stop, stopAndWait, child, exited };
}

async function launchBrowser() {
  const { chromium } = require('playwright-core');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/host/install.sh)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** The workbench URL; with `payload` the dev extension and test entry (needs startCodeServer's `smokeTestDriver`). */
function workbenchUrl(csUrl, folder, { devPath, testsPath } = {}) {
  const authority = new URL(csUrl).host;
  const remote = p => `vscode-remote://${authority}${p}`;
  let url = `${csUrl}/?folder=${encodeURIComponent(folder)}`;
  const payload = [];
  if (devPath) payload.push(['extensionDevelopmentPath', remote(devPath)]);
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  if (payload.length) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

/**
 * Watches every page the browser context opens. On Keap's (fake) authorize page it does what the
 * current plan says: 'allow' or 'deny' clicks that button; 'none' leaves the page alone. With a
 * plan app (POST /plan {plan: 'allow', app}) it first picks that Keap app in the page's
 * `<select id="app">` (shown when the Keap user has several apps). Records every URL the popups
 * reach, so tests can ask where the browser landed.
 */
function watchPopups(context, fake, state) {
  context.on('page', page => {
    state.popups.push(page);
    page.on('console', m => { if (process.env.VERBOSE) log('[popup console]', m.text()); });
    const onUrl = async url => {
      state.landed.push(url);
      if (process.env.VERBOSE) log('popup at:', url.slice(0, 160));
      // code-server's openExternal sends localhost URLs through its own /proxy/<port>/ route.
      if (!/\/app\/oauth\/authorize(\?|$)/.test(url)) return;
      const plan = state.plan;
      const app = plan === 'allow' ? state.planApp : undefined;
      state.authorizeVisits.push(app ? { url, plan, app } : { url, plan });
      if (plan !== 'allow' && plan !== 'deny') return;
      try {
        await page.waitForSelector(`#${plan}`, { timeout: 10000 });
        if (app) {
          // Throws (and is logged below, without a click) when the page offers no such app.
          await page.selectOption('#app', app, { timeout: 10000 });
          log(`picked Keap app ${app} on the authorize page`);
        }
        if (state.artifacts && !state.authorizeShot) {
          state.authorizeShot = true;
          await page.screenshot({ path: path.join(state.artifacts, 'authorize-page.png') }).catch(() => {});
        }
        await page.click(`#${plan}`, { timeout: 10000 });
        log(`clicked ${plan} on the authorize page`);
      } catch (e) {
        log('popup handling failed:', e.message);
      }
    };
    // A popup reaches this event already at its first URL; later ones come as navigations.
    if (page.url() !== 'about:blank') void onUrl(page.url());
    page.on('framenavigated', f => { if (f === page.mainFrame()) void onUrl(f.url()); });
  });
}

/** Runs a command from the command palette of `page`, by its title, as a user does. */
async function runCommand(page, title) {
  await page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } }).catch(() => {});
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10000 });
  await input.fill('>' + title);
  // Click the row whose label is exactly the title: Enter would run whatever ranks first (recently used).
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) }).first();
  await row.waitFor({ timeout: 10000 });
  await row.click();
}

/** Status-bar texts as the page shows them. */
async function statusBarTexts(page) {
  return (await page.locator('.statusbar-item').allInnerTexts()).map(t => t.replace(/\s+/g, ' ').trim()).filter(Boolean);
}

/**
 * The entries of VS Code's Accounts menu (the person icon at the bottom of the activity bar), as
 * the page shows them: opens the menu, reads every item's text, closes it with Escape.
 */
async function accountsMenu(page) {
  await page.locator('.activitybar [aria-label^="Accounts"]').first().click();
  const items = page.locator('.monaco-menu .action-item .action-label');
  await items.first().waitFor({ timeout: 10000 });
  const texts = (await items.allInnerTexts()).map(t => t.replace(/\s+/g, ' ').trim()).filter(Boolean);
  await page.keyboard.press('Escape');
  return texts;
}

/** Dismisses VS Code's "open external website?" dialog if one shows up. */
function autoConfirmDialogs(page, stateRef) {
  const timer = setInterval(async () => {
    try {
      const dialog = page.locator('.monaco-dialog-box');
      if (await dialog.count()) {
        const text = await dialog.innerText();
        // Only dialogs the harness is meant to answer: opening a localhost page, and another extension asking to use the Keap sign-in.
        if (!/open the external website|wants to sign in using/i.test(text)) return;
        const open = dialog.locator('a.monaco-button, button', { hasText: /^(Open|Allow)$/ }).first();
        if (await open.count()) { log('confirming dialog:', text.replace(/\s+/g, ' ').slice(0, 120)); await open.click(); stateRef.dialogs.push(text); }
      }
      // With several accounts supported, VS Code then asks which account the other extension may use: take the first.
      const pick = page.locator('.quick-input-widget:visible');
      if (await pick.count()) {
        const text = await pick.innerText();
        if (/wants to access an? .* account|Select an account for/i.test(text)) {
          log('choosing the first account in:', text.replace(/\s+/g, ' ').slice(0, 120));
          await page.keyboard.press('Enter');
          stateRef.dialogs.push(text);
        }
      }
    } catch { /* page closing */ }
  }, 300);
  return () => clearInterval(timer);
}

/**
 * Runs in a page before VS Code's own scripts: records each new text of a status bar item that
 * mentions Keap, from the first paint on, in window.__keapStatusSeen (textContent: no layout).
 */
const WATCH_STATUS_SCRIPT = `(() => {
  const seen = (window.__keapStatusSeen = []);
  const look = () => {
    for (const el of document.querySelectorAll('.statusbar-item')) {
      const t = (el.textContent || '').replace(/\\s+/g, ' ').trim();
      if (/Keap/.test(t) && seen[seen.length - 1] !== t) seen.push(t);
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true });
})();`;

/**
 * The control server the host tests call (its URL reaches them as HARNESS_URL):
 * POST /plan {plan: 'allow' | 'deny' | 'none', app?: string} (with app, and only for 'allow', the
 * popup watcher picks that Keap app in the authorize page's #app select before clicking Allow; a
 * plan without app clears a previous one), GET /landed, GET /statusbar, GET /statusbar/2, GET /accounts-menu, POST /open-window (a second
 * window: its own extension host), POST /close-window, POST /screenshot {name, selector?, maxHeight?}, GET /authorize-visits.
 */
function startControlServer(state, getPage, artifacts, openWindow) {
  const server = http.createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const json = body ? JSON.parse(body) : {};
    const send = (o, code = 200) => { res.writeHead(code, { 'content-type': 'application/json' }); res.end(JSON.stringify(o)); };
    try {
      if (req.url === '/plan' && req.method === 'POST') {
        state.plan = json.plan;
        state.planApp = typeof json.app === 'string' && json.app !== '' ? json.app : undefined;
        return send(state.planApp ? { plan: state.plan, app: state.planApp } : { plan: state.plan });
      }
      if (req.url === '/landed') return send(state.landed);
      if (req.url === '/authorize-visits') return send(state.authorizeVisits);
      if (req.url === '/statusbar') return send(await statusBarTexts(getPage()));
      if (req.url === '/accounts-menu') return send(await accountsMenu(getPage()));
      if (req.url === '/sidebar-text') return send(await getPage().locator('.part.sidebar').innerText().catch(() => ''));
      // Notifications (toasts) with buttons: what non-modal questions look like in the page.
      if (req.url === '/notifications' && req.method === 'GET') {
        return send(await getPage().locator('.notification-toast .notification-list-item, .notifications-center .notification-list-item').allInnerTexts().catch(() => []));
      }
      // Issue 17.2: the links VS Code rendered inside the message of the notifications holding `containing` (buttons are not counted).
      if (req.url === '/notification-links' && req.method === 'POST') {
        const items = getPage().locator('.notification-toast .notification-list-item, .notifications-center .notification-list-item', { hasText: json.containing });
        const count = await items.count();
        const messages = items.locator('.notification-list-item-message');
        return send({ found: count, links: await messages.locator('a, .monaco-link').count(), images: await messages.locator('img').count(), text: await messages.allInnerTexts() });
      }
      if (req.url === '/notifications' && req.method === 'POST') {
        const toast = getPage().locator('.notification-toast .notification-list-item, .notifications-center .notification-list-item', { hasText: json.containing });
        await toast.first().locator('a.monaco-button, button', { hasText: json.button }).first().click({ timeout: 10000 });
        return send({ ok: true });
      }
      if (req.url === '/command/2' && req.method === 'POST') {
        await runCommand(state.second, json.title);
        return send({ ok: true });
      }
      if (req.url === '/statusbar/2') return send(state.second ? await statusBarTexts(state.second) : []);
      if (req.url === '/open-window' && req.method === 'POST') {
        if (!state.second) state.second = await openWindow();
        return send({ ok: true });
      }
      if (req.url === '/reload-window' && req.method === 'POST') {
        await state.second.reload();
        await state.second.locator('.statusbar-item', { hasText: /Keap/ }).first().waitFor({ timeout: 60000 });
        return send({ ok: true });
      }
      // Reloads window 2 while recording every text its Keap status bar item shows from the first paint on,
      // until one matches `until` (a regular expression source); answers the texts in order.
      if (req.url === '/reload-window-watch' && req.method === 'POST') {
        if (!state.watchingStatus) {
          await state.second.addInitScript(WATCH_STATUS_SCRIPT);
          state.watchingStatus = true;
        }
        await state.second.reload();
        const until = new RegExp(json.until);
        const t0 = Date.now();
        for (;;) {
          const seen = await state.second.evaluate(() => window.__keapStatusSeen || []).catch(() => []);
          if (seen.some(t => until.test(t))) return send(seen);
          if (Date.now() - t0 > 60000) return send({ error: `no status bar text matched ${json.until}`, seen }, 500);
          await new Promise(r => setTimeout(r, 100));
        }
      }
      if (req.url === '/close-window' && req.method === 'POST') {
        if (state.second) await state.second.close().catch(() => {});
        state.second = undefined;
        return send({ ok: true });
      }
      if (req.url === '/close-popups' && req.method === 'POST') {
        const main = getPage();
        const keep = new Set([main, state.second]);
        for (const p of state.popups.splice(0)) if (!keep.has(p)) await p.close().catch(() => {});
        for (const p of keep) if (p) state.popups.push(p);
        return send({ ok: true });
      }
      if (req.url === '/screenshot' && req.method === 'POST') {
        const file = path.join(artifacts, `${String(json.name).replace(/[^\w.-]/g, '_')}.png`);
        // maxHeight (px) keeps only the top of a tall element, e.g. a sidebar whose rows end early.
        const box = json.selector && json.maxHeight ? await getPage().locator(json.selector).first().boundingBox() : null;
        if (box) await getPage().screenshot({ path: file, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, json.maxHeight) } });
        else if (json.selector) await getPage().locator(json.selector).first().screenshot({ path: file });
        else await getPage().screenshot({ path: file });
        return send({ file });
      }
      send({ error: 'unknown' }, 404);
    } catch (e) { send({ error: e.message }, 500); }
  });
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

module.exports = { accountsMenu, runCommand, ROOT, TOOLS, log, freePort, portIsFree, waitFor, startFake, userSettings, startCodeServer, launchBrowser, workbenchUrl, watchPopups, statusBarTexts, autoConfirmDialogs, startControlServer };
