#!/usr/bin/env node
// The floor for the extension's own activation cost (issue 18): an extension that makes the same
// VS Code calls inside activate() as dist/extension.js and nothing else (the output channel, the
// status bar item, both tree views, the authentication provider, the URI handler, every command,
// the one context key, the event subscriptions, the terminal environment's persistence), generated
// from package.json so it follows what the extension contributes. The first read of SecretStorage
// is not in it: the extension starts it after activate() returns. It logs
// its own cost the way src/extension.ts does; npm run bench measures it in windows of its own.
// Writes dist/floor.vsix (vsce, from a folder under the OS temp folder).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const root = path.resolve(__dirname, '../..');

function build(out = path.join(root, 'dist/floor.vsix')) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-floor-'));
  const commands = pkg.contributes.commands.map(c => c.command);
  const views = Object.values(pkg.contributes.views).flat().map(v => v.id);
  const floorPkg = {
    name: `${pkg.name}-floor`, displayName: 'Activation floor', publisher: pkg.publisher, version: pkg.version, license: 'MIT',
    engines: pkg.engines, main: './extension.js', activationEvents: pkg.activationEvents,
    contributes: { commands: pkg.contributes.commands.map(c => ({ command: c.command, title: c.command })), viewsContainers: pkg.contributes.viewsContainers, views: pkg.contributes.views, authentication: pkg.contributes.authentication },
  };
  // The icons the contributions name.
  fs.cpSync(path.join(root, 'media'), path.join(dir, 'media'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(floorPkg, null, 2));
  fs.writeFileSync(path.join(dir, 'LICENSE'), 'MIT\n');
  fs.writeFileSync(path.join(dir, '.vscodeignore'), '*.vsix\n');
  fs.writeFileSync(path.join(dir, 'README.md'), 'The activation floor of the Infusionsoft extension (scripts/floor/build.js).\n');
  fs.writeFileSync(path.join(dir, 'extension.js'), `globalThis.__keapLoad=[performance.now()];
const vscode = require('vscode');
exports.activate = context => {
  const start = performance.now();
  const log = vscode.window.createOutputChannel('Infusionsoft', { log: true });
  const item = vscode.window.createStatusBarItem('infusionsoft.status', vscode.StatusBarAlignment.Left, 50);
  item.text = '$(key) Keap';
  item.show();
  const changed = new vscode.EventEmitter();
  const provider = { onDidChangeTreeData: changed.event, getChildren: () => [], getTreeItem: x => x };
  const sessions = new vscode.EventEmitter();
  void vscode.commands.executeCommand('setContext', 'infusionsoft.hasApiKeys', false);
  context.subscriptions.push(
    log, item, changed, sessions,
    ...${JSON.stringify(views)}.map(id => vscode.window.createTreeView(id, { treeDataProvider: provider })),
    vscode.authentication.registerAuthenticationProvider('infusionsoft', 'Keap', { onDidChangeSessions: sessions.event, getSessions: async () => [], createSession: async () => { throw new Error('floor'); }, removeSession: async () => undefined }, { supportsMultipleAccounts: true }),
    vscode.window.registerUriHandler({ handleUri: () => undefined }),
    ...${JSON.stringify(commands)}.map(id => vscode.commands.registerCommand(id, () => undefined)),
    vscode.workspace.onDidChangeConfiguration(() => undefined),
    vscode.workspace.onDidGrantWorkspaceTrust(() => undefined),
    vscode.window.onDidChangeWindowState(() => undefined),
    context.secrets.onDidChange(() => undefined),
  );
  context.environmentVariableCollection.persistent = false;
  const load = globalThis.__keapLoad;
  log.info(\`activated in \${(performance.now() - start).toFixed(2)} ms; evaluating dist/extension.js took \${(load[1] - load[0]).toFixed(2)} ms (floor)\`);
};
exports.deactivate = () => undefined;
globalThis.__keapLoad.push(performance.now());
`);
  try {
    execFileSync(process.execPath, [path.join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', out], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

module.exports = { build };
if (require.main === module) console.log(build());
