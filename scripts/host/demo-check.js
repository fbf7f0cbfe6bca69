#!/usr/bin/env node
// Runs `npm run demo`'s server script (scripts/demo.js) as a user would and checks what they see:
// opens the printed URL in headless chromium, runs "Infusionsoft: Sign In" from F1, types the demo
// client secret, clicks Allow on Keap's (fake) authorize page, and waits for the "signed in" notification toast (the demo must show
// notifications: no test driver). Then adds the second Keap app, takes the README's and the
// walkthrough's pictures, stops the demo with SIGTERM and checks that it removed its state folder.
// Exit code 0 only when all of that held.
// Env: SCREENSHOTS (folder for all pictures; default $ARTIFACTS/demo or .ci/artifacts/demo);
// UPDATE_IMAGES=1 also copies the README and walkthrough pictures into docs/images and media/walkthrough.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const h = require('./harness');

const OUT = path.resolve(process.env.SCREENSHOTS || path.join(process.env.ARTIFACTS || path.join(h.ROOT, '.ci/artifacts'), 'demo'));
/** Pictures the README and the walkthrough show: taken name → path in the repository. */
const PUBLISHED = {
  'signed-in.png': 'media/walkthrough/signed-in.png',
  'tree.png': 'media/walkthrough/tree.png',
  'authorize-page.png': 'docs/images/authorize-page.png',
  'tree-two-apps.png': 'docs/images/tree-two-apps.png',
  'walkthrough-signin.png': 'docs/images/walkthrough-signin.png',
};

function fail(message) { throw new Error(message); }

/** Starts scripts/demo.js; resolves with its URL and state folder once it printed them. */
function startDemo(env) {
  const child = spawn(process.execPath, [path.join(h.ROOT, 'scripts/demo.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise(resolve => child.once('exit', code => resolve(code)));
  const ready = new Promise((resolve, reject) => {
    const onData = d => {
      out += d;
      const url = /Open VS Code:\s+(\S+)/.exec(out);
      const state = /removes the demo's state: (\S+)/.exec(out);
      if (url && state) resolve({ url: url[1], stateDir: state[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(code => reject(new Error(`the demo exited (code ${code}) before it printed its URL:\n${out}`)));
  });
  return { child, ready, exited, output: () => out };
}

async function waitForToast(page, pattern) {
  const toast = page.locator('.notification-toast-container .notification-toast', { hasText: pattern }).first();
  await toast.waitFor({ state: 'visible', timeout: 60000 });
  return (await toast.innerText()).replace(/\s+/g, ' ').trim();
}

(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const env = { DEMO_PORT: String(await h.freePort()), DEMO_KEAP_PORT: String(await h.freePort()) };
  delete process.env.DEMO_STATE;
  const t0 = Date.now();
  const demo = startDemo(env);
  let browser;
  let page;
  let stopDialogs = () => {};
  try {
    const { url, stateDir } = await demo.ready;
    h.log(`demo at ${url}, state ${stateDir} (ready ${((Date.now() - t0) / 1000).toFixed(1)} s after start)`);
    browser = await h.launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
    const state = { plan: 'allow', popups: [], landed: [], authorizeVisits: [], dialogs: [], artifacts: OUT };
    h.watchPopups(context, undefined, state);
    page = await context.newPage();
    stopDialogs = h.autoConfirmDialogs(page, state);
    await page.goto(url);
    await page.locator('.statusbar-item', { hasText: /Keap: Sign in/ }).first().waitFor({ timeout: 90000 });

    // A narrow window for the walkthrough's picture: status bar and notification side by side.
    await page.setViewportSize({ width: 600, height: 480 });
    // Sign In from F1, as the demo's instructions say: the client ID is filled in, the secret is typed.
    await h.runCommand(page, 'Infusionsoft: Sign In');
    const input = page.locator('.quick-input-widget input');
    const prompt = page.locator('.quick-input-widget', { hasText: /client (ID|secret)/ });
    await prompt.waitFor({ timeout: 20000 });
    // The client ID is asked only when the setting is empty (the demo fills it in).
    if (/client ID/.test(await prompt.innerText())) await input.press('Enter');
    await page.locator('.quick-input-widget', { hasText: /client secret/ }).waitFor({ timeout: 20000 });
    await input.fill('demo-client-secret');
    await input.press('Enter');
    const toast = await waitForToast(page, /Signed in/i);
    h.log(`notification: ${toast}`);
    await page.locator('.statusbar-item', { hasText: /Keap ab123 · 23h/ }).first().waitFor({ timeout: 20000 });
    await page.screenshot({ path: path.join(OUT, 'demo-signed-in-full.png') });
    // The walkthrough's Sign-in step: the status bar's left end and the notification, readable at walkthrough size.
    const size = page.viewportSize();
    await page.screenshot({ path: path.join(OUT, 'signed-in.png'), clip: { x: 0, y: size.height - 160, width: size.width, height: 160 } });

    await page.setViewportSize({ width: 1000, height: 640 });
    // Sign In to Another Keap App: pick cd456 on Keap's page; the tree then lists both.
    state.planApp = 'cd456';
    await h.runCommand(page, 'Infusionsoft: Sign In to Another Keap App');
    await waitForToast(page, /cd456/);
    await page.locator('.statusbar-item', { hasText: /Keap cd456 · 23h/ }).first().waitFor({ timeout: 20000 });
    await page.locator('.activitybar .action-item a[aria-label^="Keap"]').first().click();
    await page.locator('.part.sidebar', { hasText: /Keap app cd456/ }).waitFor({ timeout: 20000 });
    // Widen the side bar (drag its sash) so the view's title and the rows' descriptions show.
    let sidebar = await page.locator('.part.sidebar').boundingBox();
    await page.mouse.move(sidebar.x + sidebar.width + 1, sidebar.y + 300);
    await page.mouse.down();
    await page.mouse.move(sidebar.x + 380, sidebar.y + 300, { steps: 5 });
    await page.mouse.up();
    sidebar = await page.locator('.part.sidebar').boundingBox();
    await page.screenshot({ path: path.join(OUT, 'tree-two-apps.png'), clip: { x: sidebar.x, y: sidebar.y, width: sidebar.width, height: 230 } });
    await page.screenshot({ path: path.join(OUT, 'tree.png'), clip: { x: sidebar.x, y: sidebar.y, width: sidebar.width, height: 250 } });
    // The walkthrough's Sign-in step, as Help → Get Started shows it (for a person to judge its picture).
    await page.setViewportSize({ width: 1280, height: 720 });
    await h.runCommand(page, 'View: Close Primary Side Bar');
    await h.runCommand(page, 'View: Hide Secondary Side Bar').catch(() => page.keyboard.press('Escape'));
    await h.runCommand(page, 'Welcome: Open Walkthrough...');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Sign in to the Keap API' }).first().click({ timeout: 20000 });
    await page.locator('.getting-started-step', { hasText: /^Sign in/ }).first().click({ timeout: 20000 });
    await page.waitForTimeout(2000);
    await page.screenshot({ path: path.join(OUT, 'walkthrough-signin.png') });
    stopDialogs();
    await browser.close();
    browser = undefined;

    // Ctrl-C (here SIGTERM): both servers stop and the state folder is gone.
    demo.child.kill('SIGTERM');
    const code = await demo.exited;
    if (code !== 0) fail(`the demo exited with code ${code}:\n${demo.output()}`);
    if (fs.existsSync(stateDir)) fail(`the demo left its state folder ${stateDir}`);
    if (!(await h.portIsFree(+env.DEMO_PORT))) fail(`code-server still listens on ${env.DEMO_PORT} after the demo stopped`);
    h.log('the demo stopped and removed its state folder');

    if (process.env.UPDATE_IMAGES) {
      for (const [name, dest] of Object.entries(PUBLISHED)) {
        fs.copyFileSync(path.join(OUT, name), path.join(h.ROOT, dest));
        h.log(`updated ${dest}`);
      }
    }
    console.log(`[demo-check] passed: notifications show ("${toast}"), state removed on exit; pictures in ${OUT}`);
  } catch (e) {
    if (page) await page.screenshot({ path: path.join(OUT, 'failure.png') }).catch(() => {});
    throw e;
  } finally {
    stopDialogs();
    if (browser) await browser.close().catch(() => {});
    if (demo.child.exitCode === null) {
      demo.child.kill('SIGTERM');
      await Promise.race([demo.exited, new Promise(r => setTimeout(r, 20000))]);
    }
  }
})().then(() => process.exit(0), e => { console.error(`[demo-check] FAILED: ${e.message}`); process.exit(1); });
