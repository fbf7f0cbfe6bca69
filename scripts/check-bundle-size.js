#!/usr/bin/env node
// The bundle's size budget (issue 13): what VS Code reads at activation must stay at or under
// 100 KB (102,400 bytes; KB = 1024 bytes, as the bench prints it). That is dist/extension.js PLUS
// every file it requires as it loads, followed through esbuild's record of each file's imports
// (out/bundle-meta.json, written by scripts/bundle.js: `import-statement` = read at load,
// `dynamic-import` = read on first use) and checked against Node itself: the script requires
// dist/extension.js in a child process with a stand-in `vscode` module and lists the dist files
// Node loaded. The features built on first use (dist/signin.js, commands.js, env.js,
// testToken.js, terminal.js and the chunks they share) and node-fetch (dist/fetch.js, read at the
// first request) are printed beside it, with the total shipped, but are not in the budget. The
// activation files must not hold node-fetch. On failure names the biggest source inputs. A size,
// not a timing: it gives the same answer on every machine.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const BUDGET_BYTES = 100 * 1024;
const kb = b => `${(b / 1024).toFixed(1)} KB`;

/**
 * The dist files and their sizes: `activation` (dist/extension.js and what it requires at load),
 * `lazy` (every other .js file but fetch.js), `fetch` (dist/fetch.js), `total` (all of them).
 */
function measure() {
  const meta = JSON.parse(fs.readFileSync(path.join(root, 'out/bundle-meta.json'), 'utf8'));
  const size = f => fs.statSync(path.join(root, f)).size;
  const files = fs.readdirSync(path.join(root, 'dist')).filter(f => f.endsWith('.js')).map(f => `dist/${f}`);
  const activationFiles = ['dist/extension.js'];
  for (const f of activationFiles) {
    const out = meta.outputs[f];
    if (!out) throw new Error(`out/bundle-meta.json has no record of ${f}: run npm run build`);
    for (const i of out.imports) if (i.kind === 'import-statement' && i.path.startsWith('dist/') && !activationFiles.includes(i.path)) activationFiles.push(i.path);
  }
  const lazy = files.filter(f => !activationFiles.includes(f) && f !== 'dist/fetch.js').sort().map(file => ({ file, bytes: size(file) }));
  const activation = { files: activationFiles, bytes: activationFiles.reduce((n, f) => n + size(f), 0) };
  const fetch = size('dist/fetch.js');
  return { meta, activation, lazy, fetch, total: activation.bytes + lazy.reduce((n, l) => n + l.bytes, 0) + fetch };
}

/** The dist files Node reads when it requires dist/extension.js (with a stand-in for the `vscode` module VS Code provides). */
function loadedByNode() {
  const script = `
    const Module = require('module');
    const load = Module._load;
    const stub = new Proxy(function () {}, { get: () => stub, apply: () => stub, construct: () => stub });
    Module._load = function (request, ...rest) { return request === 'vscode' ? stub : load.call(this, request, ...rest); };
    require(${JSON.stringify(path.join(root, 'dist/extension.js'))});
    process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const dist = path.join(root, 'dist') + path.sep;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }))
    .filter(f => f.startsWith(dist))
    .map(f => `dist/${path.relative(dist, f).split(path.sep).join('/')}`);
}

/** Checks the built files; exits 1 with the reasons when they break the budget. */
function main() {
  const { meta, activation, lazy, fetch, total } = measure();

  /** Bytes each package (or source folder) adds to some output files, biggest first. */
  function inputsByPackage(files) {
    const sums = {};
    for (const f of files) {
      for (const [input, { bytesInOutput }] of Object.entries(meta.outputs[f].inputs)) {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
        const key = m ? m[1] : input;
        sums[key] = (sums[key] || 0) + bytesInOutput;
      }
    }
    return Object.entries(sums).sort((a, b) => b[1] - a[1]);
  }

  const inputs = inputsByPackage(activation.files);
  const top = inputs.slice(0, 8).map(([k, b]) => `${k} ${kb(b)}`).join(', ');
  const problems = [];
  const files = activation.files.join(' + ');
  if (activation.bytes > BUDGET_BYTES) problems.push(`activation reads ${files}: ${activation.bytes} bytes (${kb(activation.bytes)}), over the budget of ${kb(BUDGET_BYTES)}. Biggest inputs: ${top}`);
  const node = loadedByNode();
  const unexpected = node.filter(f => !activation.files.includes(f));
  if (unexpected.length) problems.push(`Node reads ${unexpected.join(', ')} when it loads dist/extension.js, but out/bundle-meta.json does not say so; the budget would miss it`);
  const inlined = inputs.filter(([k]) => /^(node-fetch|fetch-blob|formdata-polyfill|web-streams-polyfill|data-uri-to-buffer|node-domexception)$/.test(k)).map(([k]) => k);
  if (inlined.length) problems.push(`${files} holds ${inlined.join(', ')}; node-fetch belongs in dist/fetch.js (import it only through src/keap/fetch.ts)`);
  if (problems.length) {
    for (const p of problems) console.error(`bundle size: ${p}`);
    process.exit(1);
  }
  console.log(
    [
      `bundle size: read at activation: ${files}, ${activation.bytes} bytes (${kb(activation.bytes)}) of ${kb(BUDGET_BYTES)}. Biggest inputs: ${top}`,
      `  read on first use: ${lazy.map(l => `${l.file} ${l.bytes}`).join(', ')} (${lazy.reduce((n, l) => n + l.bytes, 0)} bytes)`,
      `  dist/fetch.js (node-fetch, read at the first request) ${fetch} bytes; shipped in all: ${total} bytes (${kb(total)})`,
    ].join('\n'),
  );
}

module.exports = { BUDGET_BYTES, measure };
if (require.main === module) main();
