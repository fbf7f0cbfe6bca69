import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const DIST = path.join(ROOT, 'dist');

interface BundleMeta {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }>; imports: Array<{ path: string; kind: string }> }>;
}

/** The features src/extension.ts builds on first use, and the source files that must stay out of activation with them. */
const FEATURES: Record<string, RegExp> = {
  'signin.js': /^src\/(signin\/|vscode\/(signIn|signInFeature|credentials|relayPage)\.ts$)/,
  'commands.js': /^src\/vscode\/(accountCommands|accountPicker)\.ts$/,
  'env.js': /^src\/(dotenv\/(envFile|envLocation|envPath|gitStatus)|vscode\/envWriter)\.ts$/,
  'testToken.js': /^src\/(vscode\/testToken|keap\/(tokenCheck|quota))\.ts$/,
  'terminal.js': /^src\/vscode\/terminalEnv\.ts$/,
  'tokenHelper.js': /^src\/(vscode\/tokenHelper|tokenHelper\/(handOut|ipcServer|ipcPaths|protocol))\.ts$/,
  'credentials.js': /^src\/(vscode\/(credentialsFeature|apiKeys|environments)|keap\/apiKeys)\.ts$/,
  'import.js': /^src\/(vscode\/importTokens|session\/(importParse|importRefresh))\.ts$/,
};

/**
 * The bundle as VS Code runs it (scripts/bundle.js): the files in dist/, not the tsc output the
 * other unit tests use. Needs `npm run build` first (scripts/test.sh builds before the tests).
 */
describe('the bundle in dist/: one activation file, features read on first use, every module once', function () {
  this.timeout(30_000);
  let meta: BundleMeta;

  before(function () {
    const file = path.join(ROOT, 'out/bundle-meta.json');
    if (!fs.existsSync(file) || !fs.existsSync(path.join(DIST, 'extension.js'))) throw new Error('no bundle: run `npm run build` first');
    meta = JSON.parse(fs.readFileSync(file, 'utf8')) as BundleMeta;
  });

  it('activation reads dist/extension.js alone, and the sign-in, the commands, .env, Test Token and the terminal export are not in it', () => {
    const main = meta.outputs['dist/extension.js'];
    assert.deepEqual(main.imports.filter(i => i.kind === 'import-statement' && i.path.startsWith('dist/')), [], 'nothing of dist/ is required as it loads');
    for (const [file, sources] of Object.entries(FEATURES)) {
      assert.ok(main.imports.some(i => i.path === `dist/${file}` && i.kind === 'dynamic-import'), `dist/extension.js loads dist/${file} on first use`);
      const inside = Object.keys(main.inputs).filter(i => sources.test(i));
      assert.deepEqual(inside, [], `activation holds what dist/${file} is for`);
      assert.ok(Object.keys(meta.outputs[`dist/${file}`].inputs).some(i => sources.test(i)), `dist/${file} holds its feature`);
    }
  });

  it('dist/extension.js requires each outside module once, first thing after its load mark (VS Code runs every require() of an extension through its module interceptors), and copies none of them (__toESM)', () => {
    const code = fs.readFileSync(path.join(DIST, 'extension.js'), 'utf8');
    const requires = [...code.matchAll(/\brequire\("([^"]+)"\)/g)].map(m => m[1]).filter(m => !m.startsWith('./'));
    assert.deepEqual([...requires].sort(), [...new Set(requires)].sort(), `each module once: ${requires.join(', ')}`);
    assert.ok(requires.includes('vscode') && requires.includes('fs'), requires.join(', '));
    const head = code.slice(0, code.indexOf(';', code.indexOf('var $keap_')) + 1);
    assert.match(head, /^globalThis\.__keapLoad=\[performance\.now\(\)\];var \$keap_[a-z]+=require\("[a-z]+"\)(,\$keap_[a-z]+=require\("[a-z]+"\))*;$/);
    // esbuild's namespace import helper, called on a required module, copies every property of it.
    assert.doesNotMatch(code, /\(\$keap_[a-z]+\)/, 'no helper is called on a required module');
  });

  it('every source module is in exactly one file (a class checked with instanceof, or a module with state, exists once)', () => {
    const where = new Map<string, string[]>();
    for (const [file, o] of Object.entries(meta.outputs)) {
      // node-fetch, and keap-token (a program of its own, run in another process: it shares no module state with the extension).
      if (file === 'dist/fetch.js' || file === 'dist/keap-token.js') continue;
      for (const input of Object.keys(o.inputs)) where.set(input, [...(where.get(input) ?? []), file]);
    }
    const twice = [...where].filter(([, files]) => files.length > 1);
    assert.deepEqual(twice, []);
    assert.ok(where.has('src/keap/errors.ts') && where.has('src/vscode/sessionModel.ts'));
  });

  it('keap-token (issue 18) is a file of its own: it needs neither vscode nor the extension, only Node and its protocol', () => {
    const cli = meta.outputs['dist/keap-token.js'];
    assert.ok(cli, 'dist/keap-token.js is built');
    assert.deepEqual(Object.keys(cli.inputs).filter(i => i.startsWith('src/')).sort(), ['src/tokenHelper/cli.ts', 'src/tokenHelper/ipcPaths.ts', 'src/tokenHelper/protocol.ts']);
    assert.ok(!fs.readFileSync(path.join(DIST, 'keap-token.js'), 'utf8').includes('require("vscode")'));
    assert.ok(!meta.outputs['dist/extension.js'].imports.some(i => i.path === 'dist/keap-token.js'), 'the extension never loads the CLI');
  });

  it('every file loads in Node as CommonJS, and each feature gets the modules of the dist/extension.js already loaded', () => {
    // A child process: a stand-in for the `vscode` module VS Code provides, then the files the way
    // the extension host reads them (dist/extension.js first, each feature at its first use).
    const files = fs.readdirSync(DIST).filter(f => f.endsWith('.js') && f !== 'fetch.js' && f !== 'extension.js');
    const script = `
      const Module = require('module');
      const path = require('path');
      const load = Module._load;
      const stub = new Proxy(function () {}, { get: () => stub, apply: () => stub, construct: () => stub });
      Module._load = function (request, ...rest) { return request === 'vscode' ? stub : load.call(this, request, ...rest); };
      const dist = ${JSON.stringify(DIST)};
      const main = require(path.join(dist, 'extension.js'));
      const report = { mainExports: Object.keys(main), undefinedExports: Object.keys(main).filter(k => main[k] === undefined), esModule: main.__esModule, esModuleAt: Object.getOwnPropertyNames(main).indexOf('__esModule'), names: Object.getOwnPropertyNames(main).length, features: {} };
      const mainModule = require.cache[path.join(dist, 'extension.js')];
      for (const f of ${JSON.stringify(files)}) {
        const exports = require(path.join(dist, f));
        const m = require.cache[path.join(dist, f)];
        const mains = m.children.filter(c => path.basename(c.filename) === 'extension.js');
        report.features[f] = { exports: Object.keys(exports), mains: mains.length, sameMain: mains.every(c => c === mainModule) };
      }
      report.cached = Object.keys(require.cache).filter(k => k.startsWith(dist + path.sep)).map(k => path.basename(k)).sort();
      process.stdout.write(JSON.stringify(report));`;
    const report = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as {
      mainExports: string[];
      undefinedExports: string[];
      esModule: unknown;
      esModuleAt: number;
      names: number;
      features: Record<string, { exports: string[]; mains: number; sameMain: boolean }>;
      cached: string[];
    };
    assert.ok(report.mainExports.includes('activate') && report.mainExports.includes('deactivate'));
    // scripts/bundle.js exportsOnce: esbuild's export object itself, no copy of it; every export bound once the file has run.
    assert.deepEqual(report.undefinedExports, [], 'every export of dist/extension.js has its value once the file has run');
    assert.equal(report.esModule, true, 'marked as an ES module, as the copy was');
    // esbuild's copy (__toCommonJS) defines __esModule first and then the exports; the object esbuild filled gets it last.
    assert.equal(report.esModuleAt, report.names - 1, 'the exports object esbuild filled, not a copy of it');
    const code = fs.readFileSync(path.join(DIST, 'extension.js'), 'utf8');
    assert.match(code, /module\.exports=Object\.defineProperty\([\w$]+,"__esModule",\{value:!0\}\);/);
    assert.doesNotMatch(code, /module\.exports=[\w$]+\([\w$]+\);/, "no copy of the exports (esbuild's __toCommonJS)");
    for (const f of Object.keys(FEATURES)) {
      const r = report.features[f];
      assert.ok(r, `dist/${f} exists`);
      assert.ok(r.exports.length > 0, `dist/${f} exports its feature`);
      assert.equal(r.mains, 1, `dist/${f} requires dist/extension.js for the modules it shares with activation`);
      assert.ok(r.sameMain, `dist/${f} got the dist/extension.js already loaded, not a copy`);
    }
    assert.deepEqual(report.cached, ['extension.js', ...files].sort(), 'each file loaded once');
  });
});
