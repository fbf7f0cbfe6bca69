// An esbuild plugin that leaves out of the bundle what Node 18+ (every VS Code since 1.82) makes
// dead in node-fetch 3's dependency tree: the web-streams polyfill, fetch-blob's Blob and File,
// the FormData polyfill and node-fetch's own multipart parser. Each is replaced by a file of this
// folder built on Node's globals. node-fetch itself stays (the design card names it);
// test/unit/bundledFetch.test.ts runs the bundled node-fetch through these code paths.
'use strict';
const path = require('path');

/** Import path (as node-fetch and its dependencies write it) → replacement file in this folder. */
const REPLACEMENTS = {
  'web-streams-polyfill/dist/ponyfill.es2018.js': 'web-streams-polyfill.js',
  'fetch-blob': 'fetch-blob.js',
  'fetch-blob/from.js': 'fetch-blob-from.js',
  'formdata-polyfill/esm.min.js': 'formdata-polyfill.js',
  './utils/multipart-parser.js': 'multipart-parser.js',
};

const escape = s => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** @type {import('esbuild').Plugin} */
const node18Plugin = {
  name: 'node18-builtins',
  setup(build) {
    const filter = new RegExp(`^(${Object.keys(REPLACEMENTS).map(escape).join('|')})$`);
    build.onResolve({ filter }, args => {
      // node-fetch's relative import only; a file of ours with the same relative name is left alone.
      if (args.path.startsWith('.') && !/[\\/]node-fetch[\\/]/.test(args.importer)) return undefined;
      return { path: path.join(__dirname, REPLACEMENTS[args.path]) };
    });
  },
};

module.exports = { node18Plugin, REPLACEMENTS };
