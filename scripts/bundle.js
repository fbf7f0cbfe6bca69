#!/usr/bin/env node
// Bundles the extension (src/extension.ts + node-fetch) into one minified CommonJS file,
// dist/extension.js, and the relay page (media/relay/index.html + src/relay/main.ts, and the
// relay-hosts.json template) into dist/relay/, a static page anyone can host over HTTPS as the
// OAuth redirect URI. node-fetch's polyfills for Node versions VS Code no longer runs on are
// replaced by Node's own (scripts/node18). What went into dist/extension.js, and how many bytes
// each input added, is written to out/bundle-meta.json (esbuild's metafile) for
// scripts/check-bundle-size.js.
'use strict';
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');
const { node18Plugin } = require('./node18');
const root = path.resolve(__dirname, '..');
const production = !process.argv.includes('--dev');
(async () => {
  const { metafile } = await esbuild.build({
    entryPoints: [path.join(root, 'src/extension.ts')],
    bundle: true,
    outfile: path.join(root, 'dist/extension.js'),
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    external: ['vscode'],
    minify: production,
    sourcemap: !production,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
    plugins: [node18Plugin],
    metafile: true,
  });
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'out/bundle-meta.json'), JSON.stringify(metafile));
  await esbuild.build({
    entryPoints: [path.join(root, 'src/relay/main.ts')],
    bundle: true,
    outfile: path.join(root, 'dist/relay/relay.js'),
    platform: 'browser',
    format: 'iife',
    target: 'es2019',
    minify: production,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const name of ['index.html', 'relay-hosts.json']) fs.copyFileSync(path.join(root, 'media/relay', name), path.join(root, 'dist/relay', name));
})().catch(() => process.exit(1));
