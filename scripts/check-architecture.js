#!/usr/bin/env node
// The design's rule: only src/vscode/ and src/extension.ts import 'vscode'; the core stays plain
// TypeScript that unit tests run in Node. Fails with the offending files.
'use strict';
const fs = require('fs');
const path = require('path');
const src = path.resolve(__dirname, '../src');
const bad = [];
// Value imports of 'vscode' use `import vscode = require('vscode')`: for `import * as vscode from
// 'vscode'` esbuild wraps the require in __toESM, which copies every property of the whole vscode
// API object once per importing file when the bundle is evaluated (measured: 10 ms of a 13.7 ms
// activation). Named imports (`import { l10n } from 'vscode'`, which vscode-l10n-dev reads) compile to
// a plain require, and `import type … from 'vscode'` to nothing; both stay allowed. The same holds
// for Node's modules (`import path = require('path')`, or named imports): a namespace import copies
// the whole module once per file.
const esmValueImports = [];
const NODE_MODULES = 'fs|os|path|crypto|net|http|https|child_process|util|events|stream|url|zlib|readline';
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.ts')) {
      const rel = path.relative(src, p).split(path.sep).join('/');
      const allowed = rel === 'extension.ts' || rel.startsWith('vscode/');
      const text = fs.readFileSync(p, 'utf8');
      if (/(^|\n)\s*import\s+(?!type\b)(\*\s*as\s+\w+|\w+)\s*(,[^;]*)?\s*from\s+['"]vscode['"]/.test(text)) esmValueImports.push(rel);
      if (new RegExp(`(^|\\n)\\s*import\\s+(?!type\\b)(\\*\\s*as\\s+\\w+|\\w+)\\s*(,[^;]*)?\\s*from\\s+['"](node:)?(${NODE_MODULES})(/[\\w/]+)?['"]`).test(text)) esmValueImports.push(rel);
      if (!allowed && /(^|\n)\s*import[^;]*from\s+['"]vscode['"]|require\(['"]vscode['"]\)/.test(fs.readFileSync(p, 'utf8'))) bad.push(rel);
    }
  }
})(src);
if (esmValueImports.length) {
  console.error(`architecture: these files import 'vscode' or a Node module as an ES module namespace or default; write \`import vscode = require('vscode');\` or \`import path = require('path');\` (esbuild's __toESM copies the whole module per file at activation): ${esmValueImports.join(', ')}`);
  process.exit(1);
}
if (bad.length) {
  console.error(`architecture: these core files import 'vscode' (only src/vscode/ and src/extension.ts may): ${bad.join(', ')}`);
  process.exit(1);
}
console.log('architecture: only src/vscode/ and src/extension.ts import vscode');
