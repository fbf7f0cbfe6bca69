#!/usr/bin/env node
// The design's rule: only src/vscode/ and src/extension.ts import 'vscode'; the core stays plain
// TypeScript that unit tests run in Node. Fails with the offending files.
'use strict';
const fs = require('fs');
const path = require('path');
const src = path.resolve(__dirname, '../src');
const bad = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.ts')) {
      const rel = path.relative(src, p).split(path.sep).join('/');
      const allowed = rel === 'extension.ts' || rel.startsWith('vscode/');
      if (!allowed && /(^|\n)\s*import[^;]*from\s+['"]vscode['"]|require\(['"]vscode['"]\)/.test(fs.readFileSync(p, 'utf8'))) bad.push(rel);
    }
  }
})(src);
if (bad.length) {
  console.error(`architecture: these core files import 'vscode' (only src/vscode/ and src/extension.ts may): ${bad.join(', ')}`);
  process.exit(1);
}
console.log('architecture: only src/vscode/ and src/extension.ts import vscode');
