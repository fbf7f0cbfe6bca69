#!/usr/bin/env node
// Bundles the extension into minified CommonJS files in dist/:
// - dist/extension.js: what VS Code reads at activation, the code of the first status bar paint
//   (scripts/check-bundle-size.js holds its budget). It requires no other file as it loads.
// - one file per feature built on first use (src/extension.ts `import()`s each): dist/signin.js,
//   dist/commands.js, dist/env.js, dist/testToken.js, dist/terminal.js; code that only features
//   share lives in a dist/chunk-<its biggest source file>.js.
// - dist/fetch.js: node-fetch, which src/keap/fetch.ts loads at the first request (a window that
//   starts with a fresh token sends none). node-fetch's polyfills for Node versions VS Code no
//   longer runs on are replaced by Node's own (scripts/node18).
// Every source module is in exactly one file, so a module with state, or a class that
// `instanceof` checks (src/keap/errors.ts), exists once however the files are loaded. How: esbuild
// splits an ESM build (`splitting` exists only for ESM); extension.js and the chunks it imports
// statically are bundled again into one CommonJS dist/extension.js, which also exports what the
// features import from those chunks; every other file is converted to CommonJS on its own
// (`import()` becoming `require()`), its imports of the absorbed chunks becoming one
// `require('./extension.js')`, which Node answers from its module cache: the very module VS Code
// activated (test/host/suite/0-activation.test.ts checks it in a real VS Code).
// `--dev`: not minified.
// Also bundles the relay page (media/relay/index.html + src/relay/main.ts, and the
// relay-hosts.json template) into dist/relay/, a static page anyone can host over HTTPS as the
// OAuth redirect URI.
// What went into each file (bytes per source input) and what each file requires, and how
// (`import-statement`: as it loads; `dynamic-import`: on first use; `require-call`: node-fetch's,
// inside a function), goes to out/bundle-meta.json for scripts/check-bundle-size.js.
'use strict';
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');
const { node18Plugin } = require('./node18');
const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const production = !process.argv.includes('--dev');

/** The files of the features built on first use, by source entry (src/extension.ts imports each with `import()`). */
const FEATURE_FILES = {
  'src/vscode/signInFeature.ts': 'signin.js',
  'src/vscode/accountCommands.ts': 'commands.js',
  'src/vscode/envWriter.ts': 'env.js',
  'src/vscode/testToken.ts': 'testToken.js',
  'src/vscode/terminalEnv.ts': 'terminal.js',
  'src/vscode/tokenHelper.ts': 'tokenHelper.js',
  'src/vscode/credentialsFeature.ts': 'credentials.js',
  'src/vscode/importTokens.ts': 'import.js',
};

/**
 * dist/extension.js with ONE require() per external module it loads as it starts (vscode and
 * Node's built-ins), each bound once at the top. esbuild writes one `require()` per source file
 * that imports the module, some through its `__require` shim: over 30 in all. In VS Code's
 * extension host every `require()` an extension makes goes through its module interceptors (a
 * realpath of the calling file, a lookup of which extension calls), measured at about 0.1 ms each
 * (scripts/measure-activation.js, a CPU profile of the host). Throws when a require of those
 * modules is left in a form this does not rewrite.
 * @param code the minified CommonJS text; @param banner the text it starts with (the load mark), kept first.
 */
function requireOnce(code, banner) {
  const modules = ['vscode', 'fs', 'os', 'path', 'crypto', 'net', 'http'];
  if (!code.startsWith(banner)) throw new Error('bundle: dist/extension.js does not start with its load mark');
  if (code.includes('$keap_')) throw new Error('bundle: dist/extension.js already names a $keap_ binding');
  // esbuild's shim for `import x = require()` in an ESM build: `var x=(e=>typeof require<"u"?require:…)(…)`.
  const shim = code.match(/([\w$]+)\s*=\s*(?:\/\*\s*@__PURE__\s*\*\/\s*)?\(\(?[\w$]+\)?\s*=>\s*typeof require\s*(?:<\s*"u"|!==\s*"undefined")/)?.[1];
  const callers = ['require', ...(shim ? [shim.replace(/\$/g, '\\$')] : [])].join('|');
  const call = new RegExp(`(?<![\\w$.])(?:${callers})\\("(${modules.join('|')})"\\)`, 'g');
  const used = [];
  const body = code.slice(banner.length).replace(call, (_, mod) => {
    if (!used.includes(mod)) used.push(mod);
    return `$keap_${mod}`;
  });
  // Only the bindings esbuild writes (`x=require("fs")`, `x=shim("fs")`) are rewritten: a `$keap_`
  // anywhere else (a string, a comment, a require inside a function) fails the build.
  const elsewhere = /(?<!=\s*)\$keap_/.exec(body);
  if (elsewhere) throw new Error(`bundle: dist/extension.js requires ${body.slice(elsewhere.index, elsewhere.index + 20)}… where requireOnce cannot bind it at the top (only \`x=require("m")\` is rewritten)`);
  const stray = new RegExp(`(?<![\\w$.])require\\(\\s*["'](${modules.join('|')})["']`).exec(body);
  if (stray) throw new Error(`bundle: dist/extension.js still has ${stray[0]}: scripts/bundle.js requireOnce does not rewrite that form`);
  if (!shim && /typeof require\s*(<\s*"u"|!==)/.test(body)) throw new Error("bundle: esbuild's require shim changed its form: scripts/bundle.js requireOnce cannot find its name");
  return used.length ? `${banner}var ${used.map(m => `$keap_${m}=require("${m}")`).join(',')};${body}` : code;
}

/**
 * dist/extension.js's exports as ONE object. esbuild's CommonJS form of an ES module defines a
 * getter per export on an object (`__export`), then copies every one of them onto a second object
 * it exports (`__toCommonJS`: a name list, a descriptor and a define per export; dist/extension.js
 * has about 50, what the features read from it). Evaluating the file in Node with a stand-in
 * `vscode` took 1.14 ms with that copy and 0.99 ms without it (medians of 12 runs, 2026-12-07).
 * The first object is exported as it is,
 * with the `__esModule` mark the copy carries; its getters read the same bindings. Throws when
 * esbuild's output no longer has that form.
 * @param code the minified CommonJS text.
 */
function exportsOnce(code) {
  const found = [...code.matchAll(/module\.exports\s*=\s*([\w$]+)\(([\w$]+)\);/g)];
  if (found.length !== 1) throw new Error(`bundle: dist/extension.js sets module.exports ${found.length} times in esbuild's form; scripts/bundle.js exportsOnce expects once`);
  const [whole, toCommonJS, object] = found[0];
  const q = n => n.replace(/\$/g, '\\$');
  // Minified `Ys=e=>Bt(Ne({},"__esModule",{value:!0}),e)`, or `__toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod)` (--dev).
  const helper = new RegExp(`(?<![\\w$])${q(toCommonJS)}\\s*=\\s*\\(?([\\w$]+)\\)?\\s*=>\\s*[\\w$]+\\([\\w$]+\\(\\{\\},\\s*"__esModule",\\s*\\{\\s*value:\\s*(?:!0|true)\\s*\\}\\),\\s*\\1\\)`);
  if (!helper.test(code)) throw new Error(`bundle: ${toCommonJS} is not esbuild's __toCommonJS as scripts/bundle.js exportsOnce knows it`);
  if (!new RegExp(`(?<![\\w$])var ${q(object)}\\s*=\\s*\\{\\};`).test(code)) throw new Error(`bundle: the exports object ${object} is not a fresh {} as scripts/bundle.js exportsOnce expects`);
  return code.replace(whole, () => `module.exports=Object.defineProperty(${object},"__esModule",{value:!0});`);
}

(async () => {
  const node = {
    bundle: true,
    platform: 'node',
    target: 'node18',
    minify: production,
    legalComments: 'none',
    charset: 'utf8',
    logLevel: 'warning',
    metafile: true,
  };
  // A new build replaces every .js file of the last one (chunk names change with their content).
  fs.mkdirSync(dist, { recursive: true });
  for (const f of fs.readdirSync(dist)) if (f.endsWith('.js') || f.endsWith('.js.map')) fs.rmSync(path.join(dist, f));

  // The extension's `require('node-fetch')` becomes `require('./fetch.js')`, the file built below.
  const fetchApart = {
    name: 'node-fetch-apart',
    setup: build => build.onResolve({ filter: /^node-fetch$/ }, () => ({ path: './fetch.js', external: true })),
  };
  const split = await esbuild.build({
    ...node,
    format: 'esm',
    splitting: true,
    write: false,
    entryPoints: [path.join(root, 'src/extension.ts')],
    outdir: dist,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    external: ['vscode'],
    plugins: [fetchApart],
  });

  // Final names: the main file keeps its name, each feature gets its own, shared chunks keep theirs.
  const rel = f => path.relative(root, path.resolve(root, f)).split(path.sep).join('/');
  const esm = new Map(split.outputFiles.map(f => [path.basename(f.path), f.text]));
  const metaOf = name => split.metafile.outputs[rel(path.join(dist, name))];
  const name = {};
  for (const [out, o] of Object.entries(split.metafile.outputs)) {
    const src = o.entryPoint && rel(o.entryPoint);
    if (FEATURE_FILES[src]) name[path.basename(out)] = FEATURE_FILES[src];
    else {
      // A chunk two features share: named after its biggest source file (chunk-variables.js), stable across builds.
      const [biggest] = Object.entries(o.inputs).sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)[0] ?? ['shared'];
      let n = `chunk-${path.basename(biggest).replace(/\.[^.]*$/, '').replace(/[^\w-]/g, '')}`;
      while (Object.values(name).includes(`${n}.js`)) n += '_';
      name[path.basename(out)] = `${n}.js`;
    }
  }
  const missing = Object.keys(FEATURE_FILES).filter(src => !Object.values(split.metafile.outputs).some(o => o.entryPoint && rel(o.entryPoint) === src));
  if (missing.length) throw new Error(`bundle: ${missing.join(', ')} is no longer a file of its own: src/extension.ts must import() it (or update FEATURE_FILES)`);

  // What activation reads: extension.js and every chunk it imports statically, transitively. Node
  // pays for each file it requires (resolve, read, compile: about 0.3 ms apiece, more than the
  // bytes cost), so these become ONE file: dist/extension.js. The chunks it absorbs export what the
  // lazy files import from them, under short names, and the lazy files require it for those.
  const activation = new Set(['extension.js']);
  for (const f of activation) for (const i of metaOf(f).imports) if (i.kind === 'import-statement' && !i.external) activation.add(path.basename(i.path));
  const shared = new Map(); // `${chunk}\0${export}` → the name dist/extension.js exports it under
  const sharedName = (chunk, exported) => {
    const key = `${chunk}\0${exported}`;
    if (!shared.has(key)) shared.set(key, `_${shared.size.toString(36)}`);
    return shared.get(key);
  };
  const IMPORT = /import\s*(?:\{([^}]*)\}\s*from\s*)?(["'])\.\/([\w-]+\.js)\2\s*;?/g;
  const lazyEsm = new Map();
  for (const [file, text] of esm) {
    if (activation.has(file)) continue;
    const fromMain = [];
    const rewritten = text.replace(IMPORT, (m, specs, q, from) => {
      if (!activation.has(from)) return m.replace(`./${from}`, `./${name[from]}`);
      // One import of extension.js in place of each of the absorbed chunks (a side-effect import: it has run already).
      for (const s of (specs ?? '').split(',').map(x => x.trim()).filter(Boolean)) {
        const [exported, local = exported] = s.split(/\s+as\s+/);
        fromMain.push(`${sharedName(from, exported)} as ${local}`);
      }
      return '';
    });
    const left = [...activation].filter(a => rewritten.includes(`./${a}`));
    if (left.length) throw new Error(`bundle: ${file} imports ${left.join(', ')} in a form scripts/bundle.js does not rewrite`);
    lazyEsm.set(file, (fromMain.length ? `import{${fromMain.join(',')}}from"./extension.js";` : '') + rewritten);
  }
  const exportsOf = new Map();
  for (const [key, as] of shared) {
    const [chunk, exported] = key.split('\0');
    if (!exportsOf.has(chunk)) exportsOf.set(chunk, []);
    exportsOf.get(chunk).push(`${exported} as ${as}`);
  }
  const entry = ['export * from "./extension.js";', ...[...exportsOf].map(([chunk, list]) => `export {${list.join(', ')}} from "./${chunk}";`)].join('\n');
  const fromMemory = {
    name: 'split-files',
    setup(build) {
      build.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, a => (a.path === './entry.js' || activation.has(a.path.slice(2)) ? { path: a.path.slice(2), namespace: 'split' } : { path: `./${name[a.path.slice(2)] ?? a.path.slice(2)}`, external: true }));
      build.onLoad({ filter: /.*/, namespace: 'split' }, a => ({ contents: a.path === 'entry.js' ? entry : esm.get(a.path), loader: 'js', resolveDir: dist }));
    },
  };
  const cjsOptions = { format: 'cjs', platform: 'node', target: 'node18', minify: production, legalComments: 'none', charset: 'utf8', supported: { 'dynamic-import': false } };
  // The extension's own activation cost, measured inside the extension host (npm run bench reads it
  // from the log): when evaluating dist/extension.js began and ended (performance.now(), ms).
  const loadMarks = { banner: { js: 'globalThis.__keapLoad=[performance.now()];' }, footer: { js: 'globalThis.__keapLoad.push(performance.now());' } };
  const main = await esbuild.build({ ...cjsOptions, ...loadMarks, bundle: true, write: false, metafile: true, stdin: { contents: 'export * from "./entry.js";', resolveDir: dist, sourcefile: 'extension.js' }, external: ['vscode'], plugins: [fromMemory], logLevel: 'warning' });

  // The record scripts/check-bundle-size.js reads: each file's bytes, its source inputs and what
  // it requires (from the split build's metafile, by final names).
  const outputs = {};
  const sumInputs = files => {
    const inputs = {};
    for (const f of files) for (const [k, v] of Object.entries(metaOf(f).inputs)) inputs[k] = { bytesInOutput: (inputs[k]?.bytesInOutput ?? 0) + v.bytesInOutput };
    return inputs;
  };
  /** What some split files import from other dist files, by final name, with the split build's kinds (`require-call`: node-fetch's, inside a function). */
  const importsOf = files => {
    const own = new Set(files);
    const list = [];
    for (const f of own) {
      for (const i of metaOf(f).imports) {
        const target = i.path === './fetch.js' ? 'fetch.js' : i.external ? undefined : path.basename(i.path);
        if (!target || own.has(target)) continue;
        const p = `dist/${activation.has(target) ? 'extension.js' : (name[target] ?? target)}`;
        if (!list.some(x => x.path === p && x.kind === i.kind)) list.push({ path: p, kind: i.kind });
      }
    }
    return list;
  };
  const mainCode = exportsOnce(requireOnce(main.outputFiles[0].text, loadMarks.banner.js));
  fs.writeFileSync(path.join(dist, 'extension.js'), mainCode);
  outputs['dist/extension.js'] = {
    bytes: Buffer.byteLength(mainCode),
    files: [...activation],
    inputs: sumInputs(activation),
    imports: importsOf(activation),
  };
  for (const [file, text] of lazyEsm) {
    const cjs = await esbuild.transform(text, { ...cjsOptions, sourcefile: name[file] });
    fs.writeFileSync(path.join(dist, name[file]), cjs.code);
    outputs[`dist/${name[file]}`] = {
      bytes: Buffer.byteLength(cjs.code),
      inputs: sumInputs([file]),
      imports: importsOf([file]),
    };
  }
  // Loads in Node as CommonJS: no `import`/`export` statement is left (a syntax error at activation otherwise).
  for (const f of Object.keys(outputs)) {
    const code = fs.readFileSync(path.join(root, f), 'utf8').replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""');
    if (/(^|[;}\s])(import\s*[{*"]|import\s+[\w$]+\s*(,|from\b)|export\s*[{*]|export\s+(default|const|let|var|function|class|async)\b)/.test(code)) throw new Error(`bundle: ${f} still has an ESM import or export after conversion`);
  }

  const fetch = await esbuild.build({
    ...node,
    format: 'cjs',
    stdin: { contents: "export { default } from 'node-fetch';", resolveDir: root, sourcefile: 'fetch.js' },
    outfile: path.join(dist, 'fetch.js'),
    plugins: [node18Plugin],
  });
  for (const [out, o] of Object.entries(fetch.metafile.outputs)) outputs[rel(out)] = o;
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'out/bundle-meta.json'), JSON.stringify({ outputs }, null, 1));

  // keap-token (issue 18): the command-line helper bin/keap-token runs, a file of its own that
  // nothing in the extension loads; it speaks to the extension's IPC server and never refreshes.
  const cli = await esbuild.build({ ...node, format: 'cjs', entryPoints: [path.join(root, 'src/tokenHelper/cli.ts')], outfile: path.join(dist, 'keap-token.js') });
  for (const [out, o] of Object.entries(cli.metafile.outputs)) outputs[rel(out)] = o;
  fs.writeFileSync(path.join(root, 'out/bundle-meta.json'), JSON.stringify({ outputs }, null, 1));

  await esbuild.build({
    entryPoints: [path.join(root, 'src/relay/main.ts')],
    bundle: true,
    outfile: path.join(dist, 'relay/relay.js'),
    platform: 'browser',
    format: 'iife',
    target: 'es2019',
    minify: production,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const name of ['index.html', 'relay-hosts.json']) fs.copyFileSync(path.join(root, 'media/relay', name), path.join(dist, 'relay', name));
})().catch(e => {
  console.error(e.message ?? e);
  process.exit(1);
});
