#!/usr/bin/env node
// Localisation check. Fails (exit 1, each problem as file:line) when:
//  (a) l10n/bundle.l10n.json differs from what `vscode-l10n-dev export --outDir ./l10n ./src`
//      produces now (exported to a temp dir and compared as JSON): run `npm run l10n`;
//  (b) a %key% placeholder in package.json (contributes, displayName, description) has no entry in
//      package.nls.json, or package.nls.json has a key nothing uses;
//  (c) src/extension.ts or a file in src/vscode/ passes a raw string or template literal as the
//      message of vscode.window.show{Information,Warning,Error}Message, or as title/prompt/placeHolder
//      of the options of showInputBox/showQuickPick/withProgress (TypeScript AST, not regexes).
//      A literal that is not text to translate can be kept with `// l10n-ignore` on its line or the
//      line above; those are listed, never silently skipped.
// It prints what it counted and first runs a self-test on in-memory bad samples, so it cannot pass
// on nothing. `--self-test` runs only that.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const rel = p => path.relative(root, p).split(path.sep).join('/');

// ---------------------------------------------------------------------------------------------
// (c) raw literals in user-facing VS Code calls

const MESSAGE_FNS = new Set(['showInformationMessage', 'showWarningMessage', 'showErrorMessage']);
const OPTION_FNS = new Map([['showInputBox', 0], ['showQuickPick', 1], ['withProgress', 0]]);
const OPTION_PROPS = new Set(['title', 'prompt', 'placeHolder']);
const HAS_LETTER = /\p{L}/u;

/** Parses `files` ({ name: text }) into one syntax-only program, so local consts can be resolved. */
function makeProgram(files) {
  const options = { noLib: true, noResolve: true, types: [], target: ts.ScriptTarget.ES2022, allowJs: false };
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (name, lang, ...rest) =>
    name in files ? ts.createSourceFile(name, files[name], lang, true, ts.ScriptKind.TS) : getSourceFile(name, lang, ...rest);
  host.fileExists = name => name in files;
  host.readFile = name => files[name];
  const program = ts.createProgram(Object.keys(files), options, host);
  return { program, checker: program.getTypeChecker() };
}

const propName = n => (n && (ts.isIdentifier(n) || ts.isStringLiteral(n)) ? n.text : undefined);

/** Names bound to the 'vscode' module and to its `window` namespace in one file. */
function vscodeBindings(sf) {
  const ns = new Set();
  const win = new Set();
  const isVscodeRequire = e => e && ts.isCallExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === 'require' &&
    e.arguments.length === 1 && ts.isStringLiteral(e.arguments[0]) && e.arguments[0].text === 'vscode';
  (function visit(n) {
    if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier) && n.moduleSpecifier.text === 'vscode' && n.importClause) {
      const b = n.importClause.namedBindings;
      if (n.importClause.name) ns.add(n.importClause.name.text);
      if (b && ts.isNamespaceImport(b)) ns.add(b.name.text);
      if (b && ts.isNamedImports(b)) for (const el of b.elements) if ((el.propertyName || el.name).text === 'window') win.add(el.name.text);
    } else if (ts.isImportEqualsDeclaration(n) && ts.isExternalModuleReference(n.moduleReference) &&
      ts.isStringLiteral(n.moduleReference.expression) && n.moduleReference.expression.text === 'vscode') {
      ns.add(n.name.text);
    } else if (ts.isVariableDeclaration(n) && n.initializer) {
      const init = n.initializer;
      if (ts.isIdentifier(n.name) && isVscodeRequire(init)) ns.add(n.name.text);
      else if (ts.isIdentifier(n.name) && ts.isPropertyAccessExpression(init) && init.name.text === 'window' &&
        ts.isIdentifier(init.expression) && ns.has(init.expression.text)) win.add(n.name.text);
      else if (ts.isObjectBindingPattern(n.name) && ((ts.isIdentifier(init) && ns.has(init.text)) || isVscodeRequire(init))) {
        for (const el of n.name.elements) if (propName(el.propertyName || el.name) === 'window' && ts.isIdentifier(el.name)) win.add(el.name.text);
      }
    }
    ts.forEachChild(n, visit);
  })(sf);
  return { ns, win };
}

function isWindow(expr, b) {
  if (ts.isIdentifier(expr)) return b.win.has(expr.text);
  return ts.isPropertyAccessExpression(expr) && expr.name.text === 'window' && ts.isIdentifier(expr.expression) && b.ns.has(expr.expression.text);
}

/** The initializer of the const an identifier names, if it is one (scope-correct, via the checker). */
function constInitializer(id, checker) {
  const sym = checker.getSymbolAtLocation(id);
  const decl = sym && sym.valueDeclaration;
  if (!decl || !ts.isVariableDeclaration(decl) || !decl.initializer) return undefined;
  return ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const ? decl.initializer : undefined;
}

/** The literal nodes with letters in them that `expr` may evaluate to or be built from. */
function rawLiterals(expr, checker, depth = 0) {
  if (!expr || depth > 8) return [];
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return HAS_LETTER.test(expr.text) ? [expr] : [];
  if (ts.isTemplateExpression(expr)) {
    return [expr.head, ...expr.templateSpans.map(s => s.literal)].some(p => HAS_LETTER.test(p.text)) ? [expr] : [];
  }
  if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || ts.isTypeAssertionExpression(expr) ||
    ts.isNonNullExpression(expr) || (ts.isSatisfiesExpression && ts.isSatisfiesExpression(expr))) {
    return rawLiterals(expr.expression, checker, depth + 1);
  }
  if (ts.isConditionalExpression(expr)) return [...rawLiterals(expr.whenTrue, checker, depth + 1), ...rawLiterals(expr.whenFalse, checker, depth + 1)];
  if (ts.isBinaryExpression(expr) && [ts.SyntaxKind.PlusToken, ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken,
    ts.SyntaxKind.AmpersandAmpersandToken].includes(expr.operatorToken.kind)) {
    return [...rawLiterals(expr.left, checker, depth + 1), ...rawLiterals(expr.right, checker, depth + 1)];
  }
  if (ts.isIdentifier(expr)) return rawLiterals(constInitializer(expr, checker), checker, depth + 1);
  return []; // vscode.l10n.t(...), a runtime value such as e.message, ...
}

/** The title/prompt/placeHolder values of an options argument: [{ prop, node }]. */
function optionFields(expr, checker, depth = 0) {
  if (!expr || depth > 8) return [];
  while (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr) || (ts.isSatisfiesExpression && ts.isSatisfiesExpression(expr))) expr = expr.expression;
  if (ts.isIdentifier(expr)) return optionFields(constInitializer(expr, checker), checker, depth + 1);
  if (!ts.isObjectLiteralExpression(expr)) return [];
  const out = [];
  for (const p of expr.properties) {
    if (ts.isPropertyAssignment(p) && OPTION_PROPS.has(propName(p.name))) out.push({ prop: propName(p.name), node: p.initializer });
    else if (ts.isShorthandPropertyAssignment(p) && OPTION_PROPS.has(p.name.text)) out.push({ prop: p.name.text, node: p.name });
    else if (ts.isSpreadAssignment(p)) out.push(...optionFields(p.expression, checker, depth + 1));
  }
  return out;
}

function ignored(sf, node) {
  const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
  const lines = sf.text.split('\n');
  return [lines[line], lines[line - 1]].some(l => l !== undefined && /\/\/\s*l10n-ignore\b/.test(l));
}

/** Runs (c) on the given source files. Returns counts, violations and the l10n-ignored literals. */
function checkCalls(sourceFiles, checker) {
  const res = { files: 0, sites: 0, messages: 0, fields: 0, violations: [], ignored: [] };
  for (const sf of sourceFiles) {
    res.files++;
    const b = vscodeBindings(sf);
    const where = n => `${sf.fileName}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
    const judge = (what, node) => {
      for (const lit of rawLiterals(node, checker)) {
        const entry = `${where(lit)}: raw string ${lit.getText(sf).slice(0, 60)} as ${what}; wrap it in vscode.l10n.t(...)`;
        (ignored(sf, lit) ? res.ignored : res.violations).push(entry);
      }
    };
    (function visit(n) {
      if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && isWindow(n.expression.expression, b)) {
        const fn = n.expression.name.text;
        if (MESSAGE_FNS.has(fn)) {
          res.sites++;
          if (n.arguments.length) {
            res.messages++;
            judge(`the message of window.${fn}`, n.arguments[0]);
          }
        } else if (OPTION_FNS.has(fn)) {
          res.sites++;
          for (const { prop, node } of optionFields(n.arguments[OPTION_FNS.get(fn)], checker)) {
            res.fields++;
            judge(`${prop} of window.${fn}`, node);
          }
        }
      }
      ts.forEachChild(n, visit);
    })(sf);
  }
  return res;
}

/** Where each literal l10n.t(...) message is, by the key l10n-dev gives it: { key: 'file:line' }. */
function l10nCallSites(sourceFiles) {
  const at = {};
  for (const sf of sourceFiles) {
    (function visit(n) {
      if (ts.isCallExpression(n) && n.arguments.length) {
        const c = n.expression;
        const isT = ts.isPropertyAccessExpression(c) && c.name.text === 't' &&
          ((ts.isPropertyAccessExpression(c.expression) && c.expression.name.text === 'l10n') || (ts.isIdentifier(c.expression) && c.expression.text === 'l10n'));
        const a = n.arguments[0];
        let key;
        if (isT && (ts.isStringLiteral(a) || ts.isNoSubstitutionTemplateLiteral(a))) key = a.text;
        else if (isT && ts.isObjectLiteralExpression(a)) {
          const get = name => a.properties.find(p => ts.isPropertyAssignment(p) && propName(p.name) === name);
          const m = get('message');
          const cm = get('comment');
          const str = e => (e && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) ? e.text : undefined);
          const comment = cm && (ts.isArrayLiteralExpression(cm.initializer) ? cm.initializer.elements.map(str).join('') : str(cm.initializer));
          if (m && str(m.initializer) !== undefined) key = comment ? `${str(m.initializer)}/${comment}` : str(m.initializer);
        }
        if (key !== undefined && !(key in at)) at[key] = `${sf.fileName}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
      }
      ts.forEachChild(n, visit);
    })(sf);
  }
  return at;
}

// ---------------------------------------------------------------------------------------------
// (b) package.json %key% placeholders against package.nls.json

const PLACEHOLDER = /^%([\w.-]+)%$/; // what VS Code and vsce replace

/** Line (1-based) of the first occurrence of `needle` in `text`, or undefined. */
function lineOf(text, needle) {
  const i = text.indexOf(needle);
  return i < 0 ? undefined : text.slice(0, i).split('\n').length;
}

function checkNls(pkgName, pkgText, nlsName, nlsText) {
  const pkg = JSON.parse(pkgText);
  const nls = JSON.parse(nlsText);
  const used = new Map(); // key -> in contributes?
  (function walk(v, inContributes) {
    if (typeof v === 'string') {
      const m = PLACEHOLDER.exec(v);
      if (m) used.set(m[1], used.get(m[1]) || inContributes);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, inContributes || (v === pkg && k === 'contributes'));
    }
  })(pkg, false);
  const problems = [];
  for (const key of used.keys()) {
    if (!Object.prototype.hasOwnProperty.call(nls, key)) {
      problems.push(`${pkgName}:${lineOf(pkgText, `"%${key}%"`) ?? '?'}: %${key}% has no entry in ${nlsName}`);
    } else if (typeof nls[key] !== 'string' || !nls[key].trim()) {
      problems.push(`${nlsName}:${lineOf(nlsText, JSON.stringify(key) + ':') ?? '?'}: "${key}" must be a non-empty string`);
    }
  }
  for (const key of Object.keys(nls)) {
    if (!used.has(key)) problems.push(`${nlsName}:${lineOf(nlsText, JSON.stringify(key) + ':') ?? '?'}: "${key}" is not used by any %${key}% in ${pkgName}; remove it`);
  }
  return { placeholders: used.size, inContributes: [...used.values()].filter(Boolean).length, nlsKeys: Object.keys(nls).length, problems };
}

// ---------------------------------------------------------------------------------------------
// (a) l10n/bundle.l10n.json against a fresh export

function compareBundles(bundleName, bundleText, exported, sites) {
  const problems = [];
  let bundle;
  try {
    bundle = JSON.parse(bundleText);
  } catch (e) {
    return { strings: 0, problems: [`${bundleName}:1: not valid JSON (${e.message}); run \`npm run l10n\``] };
  }
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const show = k => JSON.stringify(k.length > 70 ? k.slice(0, 67) + '...' : k);
  for (const k of Object.keys(exported)) {
    if (!has(bundle, k)) problems.push(`${sites[k] || 'src (l10n.t call)'}: ${show(k)} is missing from ${bundleName}`);
    else if (JSON.stringify(bundle[k]) !== JSON.stringify(exported[k])) {
      problems.push(`${bundleName}:${lineOf(bundleText, JSON.stringify(k) + ':') ?? '?'}: ${show(k)} differs from the export`);
    }
  }
  for (const k of Object.keys(bundle)) {
    if (!has(exported, k)) problems.push(`${bundleName}:${lineOf(bundleText, JSON.stringify(k) + ':') ?? '?'}: ${show(k)} is no longer in src/`);
  }
  if (problems.length) problems.push(`${bundleName} is out of date with src/: run \`npm run l10n\` and commit it`);
  return { strings: Object.keys(bundle).length, problems };
}

function exportBundle() {
  const cli = path.join(path.dirname(require.resolve('@vscode/l10n-dev/package.json', { paths: [root] })),
    require('@vscode/l10n-dev/package.json').bin['vscode-l10n-dev']);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'l10n-check-'));
  try {
    try {
      execFileSync(process.execPath, [cli, 'export', '--outDir', out, './src'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(`vscode-l10n-dev export failed: ${String(e.stderr || e.stdout || e.message).trim()}`);
    }
    const f = path.join(out, 'bundle.l10n.json');
    return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) : {};
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// self-test: bad samples must be caught, a good one must pass

function selfTest() {
  const fails = [];
  const expect = (name, cond) => { if (!cond) fails.push(name); };

  const bad = [
    "import * as vscode from 'vscode';",                                              // 1
    "import { window as w } from 'vscode';",                                          // 2
    "const log = { info(_: string) {} };",                                            // 3
    "const raw = 'Saved.';",                                                          // 4
    "export async function f(e: Error, n: number) {",                                 // 5
    "  void vscode.window.showErrorMessage('Sign-in failed.');",                      // 6 bad
    "  void vscode.window.showWarningMessage(`Retry in ${n} s`);",                     // 7 bad
    "  void w.showInformationMessage('Infusionsoft: ' + vscode.l10n.t('ok'));",       // 8 bad
    "  void vscode.window.showInformationMessage(raw);",                              // 9 bad (via const on line 4)
    "  await vscode.window.showInputBox({ title: 'Client ID', prompt: vscode.l10n.t('p') });", // 10 bad
    "  await vscode.window.showQuickPick(['a'], { placeHolder: n ? `Pick` : vscode.l10n.t('x') });", // 11 bad
    "  await vscode.window.withProgress({ location: 15, title: 'Waiting…' }, async () => 1);", // 12 bad
    "  void vscode.window.showErrorMessage(vscode.l10n.t('Fine {0}', n));",           // 13 ok
    "  void vscode.window.showErrorMessage(e.message);",                              // 14 ok (runtime value)
    "  log.info('a log line is fine');",                                              // 15 ok
    "  // l10n-ignore: an example URL, not text",                                     // 16
    "  await vscode.window.showInputBox({ placeHolder: 'https://example/?code=…' });", // 17 ignored
    "  void vscode.window.showErrorMessage(': ');",                                   // 18 ok (no letters)
    "}",
  ].join('\n');
  const { program, checker } = makeProgram({ 'bad.ts': bad });
  const r = checkCalls([program.getSourceFile('bad.ts')], checker);
  const lines = r.violations.map(v => Number(/^bad\.ts:(\d+):/.exec(v)[1])).sort((a, b) => a - b);
  expect(`bad sample: flagged lines ${JSON.stringify(lines)}, want [4,6,7,8,10,11,12]`, JSON.stringify(lines) === '[4,6,7,8,10,11,12]');
  expect(`bad sample: ignored ${r.ignored.length}, want 1`, r.ignored.length === 1);
  expect(`bad sample: call sites ${r.sites}, want 11`, r.sites === 11);

  const good = "import * as vscode from 'vscode';\nvoid vscode.window.showInformationMessage(vscode.l10n.t('Hi'));\nvoid vscode.window.showInputBox({ title: vscode.l10n.t('T') });\n";
  const g = makeProgram({ 'good.ts': good });
  const rg = checkCalls([g.program.getSourceFile('good.ts')], g.checker);
  expect('good sample must pass', rg.violations.length === 0 && rg.sites === 2 && rg.fields === 1);
  expect('good sample: l10n.t sites', JSON.stringify(l10nCallSites([g.program.getSourceFile('good.ts')])) === '{"Hi":"good.ts:2","T":"good.ts:3"}');

  const pkg = JSON.stringify({ displayName: '%name%', contributes: { commands: [{ title: '%cmd.a%' }, { title: '%cmd.b%' }, { title: '100%' }] } }, null, 2);
  const nls = JSON.stringify({ name: 'N', 'cmd.a': 'A', unused: 'U' }, null, 2);
  const n = checkNls('p.json', pkg, 'n.json', nls);
  expect(`nls sample: ${JSON.stringify(n.problems)}`, n.problems.length === 2 && n.problems.some(p => /^p\.json:\d+: %cmd\.b%/.test(p)) &&
    n.problems.some(p => /^n\.json:4: "unused"/.test(p)) && n.placeholders === 3 && n.inContributes === 2);
  expect('nls good sample must pass', checkNls('p', pkg, 'n', JSON.stringify({ name: 'N', 'cmd.a': 'A', 'cmd.b': 'B' })).problems.length === 0);

  const b = compareBundles('b.json', JSON.stringify({ kept: 'kept', stale: 'stale' }, null, 2), { kept: 'kept', added: 'added' }, { added: 'x.ts:9' });
  expect(`bundle sample: ${JSON.stringify(b.problems)}`, b.problems.length === 3 && b.problems[0].startsWith('x.ts:9: "added" is missing') &&
    b.problems[1].startsWith('b.json:3: "stale" is no longer') && /npm run l10n/.test(b.problems[2]));
  expect('bundle good sample must pass', compareBundles('b', '{"a":"a"}', { a: 'a' }, {}).problems.length === 0);

  if (fails.length) {
    console.error(`l10n self-test FAILED (the checker would miss problems):\n  ${fails.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`l10n self-test: ${lines.length} raw literals, 2 nls problems, 3 bundle problems caught in the bad samples; good samples pass`);
}

// ---------------------------------------------------------------------------------------------

function main() {
  selfTest();
  if (process.argv.includes('--self-test')) return;
  const problems = [];

  // (c)
  const srcFiles = [];
  (function walk(dir) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) srcFiles.push(p);
    }
  })(path.join(root, 'src'));
  srcFiles.sort();
  const files = {};
  for (const p of srcFiles) files[rel(p)] = fs.readFileSync(p, 'utf8');
  const { program, checker } = makeProgram(files);
  const all = Object.keys(files).map(f => program.getSourceFile(f));
  const uiFiles = all.filter(sf => sf.fileName === 'src/extension.ts' || sf.fileName.startsWith('src/vscode/'));
  const c = checkCalls(uiFiles, checker);
  problems.push(...c.violations);
  console.log(`l10n: ${c.sites} window.show*Message/showInputBox/showQuickPick/withProgress call sites in ${c.files} files; ` +
    `${c.messages} messages and ${c.fields} title/prompt/placeHolder fields checked, ${c.violations.length} raw`);
  for (const i of c.ignored) console.log(`l10n:   kept by l10n-ignore: ${i}`);
  if (!c.files || !c.sites) problems.push('src/: no user-facing call sites found; the check is looking in the wrong place');

  // (b)
  const pkgText = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
  const nlsText = fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8');
  const n = checkNls('package.json', pkgText, 'package.nls.json', nlsText);
  problems.push(...n.problems);
  console.log(`l10n: ${n.placeholders} %key% placeholders in package.json (${n.inContributes} in contributes), ${n.nlsKeys} keys in package.nls.json, ${n.problems.length} problems`);
  if (!n.placeholders) problems.push('package.json: no %key% placeholders found; the check is looking in the wrong place');
  if (JSON.parse(pkgText).l10n !== './l10n') problems.push(`package.json:${lineOf(pkgText, '"l10n":') ?? 1}: "l10n" must be "./l10n"`);

  // (a)
  const bundlePath = path.join(root, 'l10n', 'bundle.l10n.json');
  const exported = exportBundle();
  const sites = l10nCallSites(all);
  if (!fs.existsSync(bundlePath)) {
    problems.push('l10n/bundle.l10n.json: missing; run `npm run l10n` and commit it');
  } else {
    const bnd = compareBundles('l10n/bundle.l10n.json', fs.readFileSync(bundlePath, 'utf8'), exported, sites);
    problems.push(...bnd.problems);
    console.log(`l10n: ${bnd.strings} strings in l10n/bundle.l10n.json, ${Object.keys(exported).length} in a fresh export of src/ ` +
      `(${Object.keys(sites).length} literal l10n.t messages located)`);
  }
  if (!Object.keys(exported).length) problems.push('src/: vscode-l10n-dev exported no strings; the check is looking in the wrong place');

  if (problems.length) {
    console.error(`l10n: ${problems.length} problem(s):\n${problems.join('\n')}`);
    process.exit(1);
  }
  console.log('l10n: bundle fresh, package.nls.json matches package.json, no raw user-facing strings');
}

main();
