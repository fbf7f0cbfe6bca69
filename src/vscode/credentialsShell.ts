import vscode = require('vscode');
import type { ApiKeyNode } from './apiKeys';
import type { Core } from './core';
import type { Credentials } from './credentialsFeature';
import type { EnvWriter } from './envWriter';
import { Lazy, lazy } from './lazy';

/** globalState key of the API key list (src/vscode/apiKeys API_KEY_INDEX), read here without loading that file. */
const API_KEY_INDEX = 'infusionsoft.apiKeys';

/**
 * Registers the commands of API keys, Import Tokens and the production marks as shells, and the
 * API Keys view with a provider that loads src/vscode/credentialsFeature (dist/credentials.js)
 * only when there is a key to show or a command is used: activation reads one globalState value.
 * Resolves nothing; every registration goes to `context.subscriptions`.
 */
export function registerCredentials(core: Core, envWriter: () => Promise<EnvWriter>, extra: { importTokens: (args?: unknown) => Promise<unknown>; marksChanged: () => void }): Lazy<Credentials> {
  const { context, log } = core;
  const viewChanged = new vscode.EventEmitter<void>();
  const credentials = lazy<Credentials>(async () => {
    const { Credentials } = await import('./credentialsFeature').catch(e => {
      log.error(`the API keys could not be loaded: ${(e as Error)?.message ?? e}`);
      throw e;
    });
    const c = new Credentials(core, envWriter, extra.marksChanged);
    context.subscriptions.push(c, c.apiKeys.onDidChangeTreeData(() => viewChanged.fire()));
    viewChanged.fire();
    return c;
  });
  const stored = context.globalState.get<unknown[]>(API_KEY_INDEX);
  const hasKeys = () => Array.isArray(context.globalState.get<unknown[]>(API_KEY_INDEX)) && context.globalState.get<unknown[]>(API_KEY_INDEX)!.length > 0;
  void vscode.commands.executeCommand('setContext', 'infusionsoft.hasApiKeys', Array.isArray(stored) && stored.length > 0);
  const keys = async () => (await credentials()).apiKeys;
  const apiKeysView = vscode.window.createTreeView<ApiKeyNode>('infusionsoft.apiKeys', {
    treeDataProvider: {
      onDidChangeTreeData: viewChanged.event,
      // No key stored: the view's welcome text, and nothing loaded.
      getChildren: async node => (!node && !credentials.loaded && !hasKeys() ? [] : (await keys()).getChildren(node)),
      getTreeItem: async node => (await keys()).getTreeItem(node),
    },
  });
  context.subscriptions.push(
    viewChanged,
    apiKeysView,
    // `args` (tests, scripts): { label, kind: 'pat' | 'sak', key, environment?, saveUnchecked? } instead of the prompts.
    vscode.commands.registerCommand('infusionsoft.addApiKey', async (args?: unknown) => (await keys()).add(args && typeof args === 'object' ? args : undefined)),
    vscode.commands.registerCommand('infusionsoft.testApiKey', async (arg?: unknown) => (await keys()).test(arg)),
    vscode.commands.registerCommand('infusionsoft.copyApiKey', async (arg?: unknown) => (await keys()).copy(arg)),
    vscode.commands.registerCommand('infusionsoft.insertApiKeyIntoEnv', async (arg?: unknown, target?: unknown) => (await keys()).insertIntoEnv(arg, target)),
    // For `${command:infusionsoft.apiKey}`: an input's `args` name the key by label or id.
    vscode.commands.registerCommand('infusionsoft.apiKey', async (arg?: unknown) => (await keys()).value(arg)),
    vscode.commands.registerCommand('infusionsoft.removeApiKey', async (arg?: unknown, options?: { confirm?: boolean }) => (await keys()).remove(arg, options)),
    vscode.commands.registerCommand('infusionsoft.markProduction', async (arg?: unknown) => (await credentials()).mark(arg, 'production')),
    vscode.commands.registerCommand('infusionsoft.markSandbox', async (arg?: unknown) => (await credentials()).mark(arg, 'sandbox')),
    vscode.commands.registerCommand('infusionsoft.clearMark', async (arg?: unknown) => (await credentials()).mark(arg, undefined)),
    vscode.commands.registerCommand('infusionsoft.bindFolder', async (args?: { folder?: unknown; credential?: unknown }) => (await credentials()).bindFolder(args)),
    vscode.commands.registerCommand('infusionsoft.importTokens', (args?: unknown) => extra.importTokens(args)),
  );
  return credentials;
}
