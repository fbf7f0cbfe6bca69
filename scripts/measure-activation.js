#!/usr/bin/env node
// The extension's own activation cost in code-server, alone (the bench's part 1 without the rest):
// opens MEASURE_WINDOWS (default 8) fresh windows on dist/infusionsoft-oauth.vsix (npm run package
// first) and prints the median of what src/extension.ts logs: evaluating dist/extension.js and
// activate() (ms), each measured inside the extension host. With --floor, the same for the floor
// extension (scripts/floor/build.js: the same VS Code calls and nothing else). A tool for working on
// start-up, not a test.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const h = require('./host/harness');

const WINDOWS = +(process.env.MEASURE_WINDOWS || 8);
const median = a => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

(async () => {
  const fake = await h.startFake({});
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-activation-'));
  const workspace = path.join(stateDir, 'ws');
  const cs = await h.startCodeServer({ stateDir, workspace, installVsix: process.argv.includes('--floor') ? require('./floor/build').build(path.join(stateDir, 'floor.vsix')) : path.join(h.ROOT, 'dist/infusionsoft-oauth.vsix'), settings: h.userSettings(fake, { 'infusionsoft.clientId': 'demo-client-id' }) });
  const browser = await h.launchBrowser();
  try {
    for (let i = 0; i < WINDOWS; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${cs.url}/?folder=${encodeURIComponent(workspace)}`);
      await page.locator('.statusbar-item', { hasText: /Keap/ }).first().waitFor({ timeout: 90000 });
      await new Promise(r => setTimeout(r, 1500));
      await ctx.close();
    }
  } finally {
    await browser.close();
    await cs.stopAndWait();
    fake.close?.();
  }
  const activate = [], evaluate = [];
  const walk = d => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'Infusionsoft.log') {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(/activated in ([\d.]+) ms; evaluating dist\/extension\.js took ([\d.]+) ms(.*?)\(/g)) { activate.push(+m[1]); evaluate.push(+m[2]); }
      }
    }
  };
  walk(stateDir);
  const total = activate.map((a, i) => a + evaluate[i]);
  console.log(JSON.stringify({ n: activate.length, evaluateMs: median(evaluate), activateMs: median(activate), totalMs: median(total), evaluate, activate }));
  fs.rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
