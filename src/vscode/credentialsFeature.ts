import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import type { KeapEnvironment } from '../keap/apiKeys';
import { accountKey } from '../session/accounts';
import { ApiKeys, kindLabel } from './apiKeys';
import type { Core } from './core';
import type { EnvWriter } from './envWriter';
import { apiKeyCredentialId, appCredentialId, environmentLabel, GuardedCredential, ProductionGuard } from './environments';
import { isSessionNode } from './tree';

/**
 * The credentials a developer holds besides the signed-in apps, and production kept apart from
 * sandbox: the API keys (src/vscode/apiKeys), the production guard (src/vscode/environments), Mark
 * as Production / Sandbox and Bind Folder. Built at the first use of any of them (dist/credentials.js).
 */
export class Credentials implements vscode.Disposable {
  readonly guard: ProductionGuard;
  readonly apiKeys: ApiKeys;

  constructor(
    private readonly core: Core,
    envWriter: () => Promise<EnvWriter>,
    /** Told after the mark of a signed-in app changed (the Signed-in Apps view shows it). */
    private readonly marksChanged: () => void = () => undefined,
  ) {
    this.guard = new ProductionGuard(core.context.workspaceState, core.context.globalState, core.log, id => this.describe(id));
    this.apiKeys = new ApiKeys(core, envWriter, this.guard);
  }

  /** A credential's name by id, for questions; undefined when it is gone. */
  describe(id: string): string | undefined {
    return this.all().find(c => c.id === id)?.label;
  }

  /** Every signed-in app and every API key, as the guard sees them. */
  all(): GuardedCredential[] {
    return [
      ...this.core.model.accounts.map(s => this.app(accountKey(s))!),
      ...this.apiKeys.list().map(e => this.apiKeys.credential(e)),
    ];
  }

  /** A signed-in app as a credential (undefined when not signed in). */
  app(key: string): GuardedCredential | undefined {
    const set = this.core.model.get(key);
    return set && { id: appCredentialId(key), label: l10n.t('Keap app {0}', set.appName ?? set.clientId), environment: this.guard.appEnvironment(key) };
  }

  /**
   * Mark as Production / Mark as Sandbox (`env` undefined: unmark): of an app's row, an API key's
   * row, or `{ account }` / `{ apiKey }`; else a pick of every credential. Resolves to true when marked.
   */
  async mark(arg: unknown, env: KeapEnvironment | undefined): Promise<boolean> {
    let id: string | undefined;
    if (isSessionNode(arg)) id = appCredentialId(arg.account);
    else if (arg && typeof arg === 'object' && typeof (arg as { account?: unknown }).account === 'string') id = appCredentialId((arg as { account: string }).account);
    else if (arg && typeof arg === 'object' && typeof (arg as { apiKey?: unknown }).apiKey === 'string') {
      const entry = await this.apiKeys.resolve((arg as { apiKey: string }).apiKey, '');
      id = entry && apiKeyCredentialId(entry.id);
    } else id = (await this.pick(env ? l10n.t('Mark which credential {0}?', environmentLabel(env) ?? '') : l10n.t('Clear the mark of which credential?')))?.id;
    if (!id) return false;
    if (id.startsWith('app:')) {
      if (!this.core.model.get(id.slice(4))) return false;
      await this.guard.markApp(id.slice(4), env);
      // The view and the status bar show the mark.
      this.core.statusBar.render();
      this.marksChanged();
      this.changedMarks.fire();
      return true;
    }
    return this.apiKeys.mark(id.slice('apiKey:'.length), env);
  }

  private readonly changedMarks = new vscode.EventEmitter<void>();
  /** Fires when the mark of a signed-in app changed. */
  readonly onDidChangeMarks = this.changedMarks.event;

  private async pick(placeHolder: string, withNothing = false): Promise<GuardedCredential | { id: undefined } | undefined> {
    const items: Array<vscode.QuickPickItem & { c: GuardedCredential | { id: undefined } }> = this.all().map(c => ({
      label: `${c.id.startsWith('app:') ? '$(account)' : '$(key)'} ${outsideText(c.label, 'label', 80)}`,
      description: [environmentLabel(c.environment), c.id.startsWith('apiKey:') ? kindLabel(this.apiKeys.get(c.id.slice(7))?.kind ?? 'pat') : undefined].filter(Boolean).join(' · '),
      c,
    }));
    if (withNothing) items.push({ label: `$(circle-slash) ${l10n.t('Nothing')}`, c: { id: undefined } });
    if (items.length === 0) return void vscode.window.showWarningMessage(l10n.t('No Keap app is signed in and no API key is stored.'));
    return (await vscode.window.showQuickPick(items, { placeHolder }))?.c;
  }

  /**
   * Bind Folder to Keap Credential: which credential a workspace folder belongs to (remembered in
   * workspaceState). `args` (tests): `{ folder: uri string or path, credential: id or null }`.
   * Resolves to the bound credential id, null for none, undefined when nothing changed.
   */
  async bindFolder(args?: { folder?: unknown; credential?: unknown }): Promise<string | null | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const given = typeof args?.folder === 'string' ? args.folder : undefined;
    const folder = given
      ? folders.find(f => f.uri.toString() === given || f.uri.fsPath === given)
      : folders.length <= 1
        ? folders[0]
        : await vscode.window.showWorkspaceFolderPick({ placeHolder: l10n.t('Bind which folder?') });
    if (!folder) {
      if (folders.length === 0) void vscode.window.showWarningMessage(l10n.t('Open a folder first; a binding belongs to a workspace folder.'));
      return undefined;
    }
    let id: string | null | undefined;
    if (args && 'credential' in args) id = typeof args.credential === 'string' && this.describe(args.credential) ? args.credential : args.credential === null ? null : undefined;
    else {
      const picked = await this.pick(l10n.t('Bind the folder {0} to which Keap credential?', folder.name), true);
      id = picked === undefined ? undefined : (picked.id ?? null);
    }
    if (id === undefined) return undefined;
    await this.guard.bind(folder.uri, id ?? undefined);
    void vscode.window.showInformationMessage(
      id ? l10n.t('The folder {0} is bound to {1}.', folder.name, this.describe(id) ?? id) : l10n.t('The folder {0} is bound to no Keap credential.', folder.name),
    );
    return id;
  }

  dispose(): void {
    this.apiKeys.dispose();
    this.guard.dispose();
    this.changedMarks.dispose();
  }
}
