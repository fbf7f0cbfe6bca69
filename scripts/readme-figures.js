#!/usr/bin/env node
// Writes the README's performance table from the bench's output file, so no figure in the README
// is typed by hand: `npm run bench` measures and writes docs/bench-results.json, then runs this.
// Usage: node scripts/readme-figures.js [results.json] [README.md]
// (defaults: docs/bench-results.json, README.md). Rewrites only what lies between the markers
// <!-- bench:start --> and <!-- bench:end -->; exits 1 when they are missing.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

const bytes = b => (b == null ? 'n/a' : `${b.toLocaleString('en-US')} bytes`);
const stat = s => (s && s.n ? `${s.median} (${s.min}–${s.max}, n=${s.n})` : 'n/a');

/** The Markdown between the markers, from the bench's results (the shape scripts/bench.js writes). */
function renderBenchTable(r) {
  const apps = r.apps || [];
  const perApp = Object.entries(r.tokenRequestsPerApp || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
  // Results of earlier bench versions named the one activation file extensionJs.
  const b = { ...r.bytes, activationJs: r.bytes.activationJs ?? r.bytes.extensionJs, activationBudget: r.bytes.activationBudget ?? r.bytes.extensionJsBudget };
  if (b.budgetRatio == null && b.activationBudget) b.budgetRatio = +(b.activationJs / b.activationBudget).toFixed(2);
  const firstUse = Object.entries(b.firstUseJs || {});
  const where = [r.codeServer && `code-server ${r.codeServer}`, r.cpus && `${r.cpus} CPU cores`, r.commit && `commit ${r.commit}`, r.date && r.date.slice(0, 10)].filter(Boolean).join(', ');
  return [
    `Measured by \`npm run bench\` (${where}; ${r.windows} windows). Written by \`scripts/readme-figures.js\` from`,
    '[`docs/bench-results.json`](docs/bench-results.json); rerun the bench for your own figures.',
    '',
    '| What | Infusionsoft (Keap) OAuth | vscode.github-authentication |',
    '|---|---|---|',
    `| Activation in a fresh window, ms: median (min–max, n) | ${stat(r.activationMs.ours)} | ${stat(r.activationMs.github)} |`,
    `| Activation ratio (ours / GitHub) | ${r.activationMs.ratio ?? 'n/a'} | 1 |`,
    ...(r.ownActivationMs && r.ownActivationMs.totalMs.n
      ? [`| Our own activation cost inside the extension host (evaluating dist/extension.js + activate()), ms: median (min–max, n) | ${stat(r.ownActivationMs.totalMs)} (evaluate ${r.ownActivationMs.evaluateMs.median}, activate() ${r.ownActivationMs.activateMs.median}) | |`]
      : []),
    ...(r.ownActivationMs && r.ownActivationMs.floor && r.ownActivationMs.floor.totalMs.n && r.ownActivationMs.aboveFloorMs != null
      ? [
          `| The floor, measured the same way: an extension that makes the same VS Code calls at activation and nothing else (scripts/floor/build.js), in windows alternating with ours, ms: median (min–max, n) | ${stat(r.ownActivationMs.floor.totalMs)} (evaluate ${r.ownActivationMs.floor.evaluateMs.median}, activate() ${r.ownActivationMs.floor.activateMs.median}) | |`,
          `| Our own activation cost above the floor (difference of the medians), ms | ${r.ownActivationMs.aboveFloorMs} | |`,
        ]
      : []),
    `| Read at activation (${(b.activationFiles || ['dist/extension.js']).join(' + ')}; GitHub: its dist/extension.js) | ${bytes(b.activationJs)} | ${bytes(b.githubAuthenticationJs)} |`,
    ...(b.activationBudget ? [`| Read at activation / its budget of ${bytes(b.activationBudget)} (must be ≤ 1) | ${b.budgetRatio} | |`] : []),
    ...(b.ratio != null ? [`| Read at activation, ratio (ours / GitHub) | ${b.ratio} | 1 |`] : []),
    ...(firstUse.length ? [`| Read on first use: sign-in, account commands, .env, Test Token, terminal export (${firstUse.map(([f]) => f.replace(/^dist\//, '')).join(', ')}) | ${bytes(firstUse.reduce((n, [, v]) => n + v, 0))} | |`] : []),
    ...(b.keapTokenJs != null ? [`| keap-token, run by the CLI in a process of its own, never read by the extension (dist/keap-token.js) | ${bytes(b.keapTokenJs)} | |`] : []),
    ...(b.fetchJs != null ? [`| node-fetch, read at the first request (dist/fetch.js) | ${bytes(b.fetchJs)} | |`] : []),
    ...(b.totalJs != null ? [`| JavaScript shipped in all (dist/*.js) | ${bytes(b.totalJs)} | |`] : []),
    `| .vsix size | ${bytes(r.bytes.vsix)} | (built in) |`,
    `| Callback at UriHandler → token set stored + status bar updated, ms | ${stat(r.callbackToStoredMs)} | |`,
    `| Fake Keap bare token round trip (code exchange), ms | ${stat(r.bareTokenRoundTripMs)} | |`,
    `| Requests when a window starts with a fresh token (must be 0) | ${r.requestsAtStartWithFreshToken} | |`,
    `| Token requests per expiry cycle, ${r.windows} windows open, ${apps.length} Keap apps signed in (must be 1 per app) | ${r.tokenRequestsPerExpiryCycle}${perApp ? ` (${perApp})` : ''} | |`,
    ...(r.keapToken
      ? [
          `| \`keap-token\` answered by a window, ms: median / 95th percentile (n)${r.keapToken.measuredAt ? ` (plain Node, ${[r.keapToken.commit && `commit ${r.keapToken.commit}`, r.keapToken.measuredAt.slice(0, 10)].filter(Boolean).join(', ')})` : ''} | ${r.keapToken.keapTokenMs.median} / ${r.keapToken.keapTokenMs.p95} (n=${r.keapToken.keapTokenMs.n}) | |`,
          `| Bare \`node -e 0\` start in the same run, ms: median / 95th percentile (n) | ${r.keapToken.nodeStartMs.median} / ${r.keapToken.nodeStartMs.p95} (n=${r.keapToken.nodeStartMs.n}) | |`,
          `| Token requests for ${r.keapToken.freshCalls.toLocaleString('en-US')} \`keap-token\` calls with a fresh token (must be 0) | ${r.keapToken.tokenRequestsForFreshCalls} | |`,
          `| \`keap-token\` with no window running: exit code, ms (must be 3, under 2,000) | ${r.keapToken.notRunning.code}, ${r.keapToken.notRunning.ms} | |`,
        ]
      : []),
  ].join('\n');
}

/** `readme` with the text between the markers replaced by the table of `results`; throws without the markers. */
function updateReadme(readme, results) {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README has no ${START} … ${END} block`);
  return `${readme.slice(0, a + START.length)}\n${renderBenchTable(results)}\n${readme.slice(b)}`;
}

if (require.main === module) {
  const resultsFile = path.resolve(process.argv[2] || path.join(ROOT, 'docs/bench-results.json'));
  const readmeFile = path.resolve(process.argv[3] || path.join(ROOT, 'README.md'));
  try {
    const next = updateReadme(fs.readFileSync(readmeFile, 'utf8'), JSON.parse(fs.readFileSync(resultsFile, 'utf8')));
    fs.writeFileSync(readmeFile, next);
    console.log(`${path.relative(ROOT, readmeFile)}: performance table written from ${path.relative(ROOT, resultsFile)}`);
  } catch (e) {
    console.error(`readme-figures: ${e.message}`);
    process.exit(1);
  }
}

module.exports = { renderBenchTable, updateReadme, START, END };
