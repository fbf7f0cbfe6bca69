#!/usr/bin/env node
// The bundle's size budget (issue 13): dist/extension.js must stay at or under 100 KB
// (102,400 bytes; KB = 1024 bytes, as the bench prints it). On failure it names the biggest
// inputs from esbuild's metafile (out/bundle-meta.json, written by scripts/bundle.js).
// A size, not a timing: it gives the same answer on every machine.
'use strict';
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const BUDGET_BYTES = 100 * 1024;
const bundle = path.join(root, 'dist/extension.js');
const bytes = fs.statSync(bundle).size;
const kb = b => `${(b / 1024).toFixed(1)} KB`;

/** Bytes each package (or `src`) adds to the bundle, biggest first, from esbuild's metafile. */
function inputsByPackage() {
  const meta = JSON.parse(fs.readFileSync(path.join(root, 'out/bundle-meta.json'), 'utf8'));
  const output = meta.outputs[Object.keys(meta.outputs).find(k => k.endsWith('extension.js'))];
  const sums = {};
  for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
    const key = m ? m[1] : file.split('/').slice(0, 2).join('/');
    sums[key] = (sums[key] || 0) + bytesInOutput;
  }
  return Object.entries(sums).sort((a, b) => b[1] - a[1]);
}

const top = inputsByPackage().slice(0, 8).map(([k, b]) => `${k} ${kb(b)}`).join(', ');
if (bytes > BUDGET_BYTES) {
  console.error(`bundle size: dist/extension.js is ${bytes} bytes (${kb(bytes)}), over the budget of ${kb(BUDGET_BYTES)}. Biggest inputs: ${top}`);
  process.exit(1);
}
console.log(`bundle size: dist/extension.js is ${bytes} bytes (${kb(bytes)}) of ${kb(BUDGET_BYTES)}; ${top}`);
