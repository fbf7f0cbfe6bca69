#!/usr/bin/env node
// Bundles the extension into minified CommonJS: src/extension.ts into dist/extension.js, and
// node-fetch into dist/fetch.js, which src/keap/fetch.ts loads at the first request (a window
// that starts with a fresh token sends none, so activation never reads it). node-fetch's
// polyfills for Node versions VS Code no longer runs on are replaced by Node's own
// (scripts/node18). Also bundles the relay page (media/relay/index.html + src/relay/main.ts, and
// the relay-hosts.json template) into dist/relay/, a static page anyone can host over HTTPS as
// the OAuth redirect URI.
// esbuild's metafile (what went into each file, bytes per input) goes to out/bundle-meta.json
// for scripts/check-bundle-size.js.
'use strict';
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');
const { node18Plugin } = require('./node18');
const root = path.resolve(__dirname, '..');
const production = !process.argv.includes('--dev');
(async () => {
  const node = {
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    minify: production,
    sourcemap: !production,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
    metafile: true,
  };
  // The extension's `require('node-fetch')` becomes `require('./fetch.js')`, the file built below.
  const fetchApart = {
    name: 'node-fetch-apart',
    setup: build => build.onResolve({ filter: /^node-fetch$/ }, () => ({ path: './fetch.js', external: true })),
  };
  const extension = await esbuild.build({
    ...node,
    entryPoints: [path.join(root, 'src/extension.ts')],
    outfile: path.join(root, 'dist/extension.js'),
    external: ['vscode'],
    plugins: [fetchApart],
  });
  const fetch = await esbuild.build({
    ...node,
    stdin: { contents: "export { default } from 'node-fetch';", resolveDir: root, sourcefile: 'fetch.js' },
    outfile: path.join(root, 'dist/fetch.js'),
    plugins: [node18Plugin],
  });
  const outputs = { ...extension.metafile.outputs, ...fetch.metafile.outputs };
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'out/bundle-meta.json'), JSON.stringify({ outputs }));
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
