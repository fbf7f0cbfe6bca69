import vscode = require('vscode');
import { l10n } from 'vscode';
import { ENV_PRESETS, EnvVariableNames } from '../dotenv/variables';
import { accountKey } from '../session/accounts';
import { appEnvironmentIn, ENVIRONMENT_MARKS_KEY } from '../session/environmentGuard';
import { terminalExportPairs, terminalExportPlan } from '../session/terminalExport';
import type { ProductionGuard } from './environments';
import { Logger } from '../log';
import { terminalExportOn } from './config';
import { SessionModel } from './sessionModel';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A setting's value from the user's own settings only, never a workspace's (case S1). */
function userValue<T>(section: string, key: string, fallback: T): T {
  return vscode.workspace.getConfiguration(section).inspect<T>(key)?.globalValue ?? fallback;
}

/**
 * The access token and its expiry, by the names `infusionsoft.env.preset` and
 * `infusionsoft.env.variables` give (user settings only: a cloned repository must not choose which
 * variable the token lands in); a name that is not a shell variable name is left out.
 */
function terminalNames(): EnvVariableNames {
  const preset = ENV_PRESETS[userValue<'keap' | 'infusionsoft-php'>('infusionsoft.env', 'preset', 'keap')] ?? ENV_PRESETS.keap;
  const override = userValue<Partial<Record<keyof EnvVariableNames, unknown>>>('infusionsoft.env', 'variables', {});
  const pick = (k: 'accessToken' | 'expiresAt') => {
    const v = typeof override?.[k] === 'string' && (override[k] as string).trim() ? (override[k] as string).trim() : preset[k];
    return ENV_NAME.test(v) ? v : undefined;
  };
  return { accessToken: pick('accessToken'), expiresAt: pick('expiresAt') };
}

/**
 * With `infusionsoft.terminal.exportTokens` on (an application-wide user setting, default off),
 * new integrated terminals get the active Keap app's access token and its expiry (ISO 8601 UTC)
 * through the extension's environment variable collection: not persisted across restarts
 * (`persistent = false`, so no token is written to VS Code's storage), replaced after every
 * refresh (VS Code marks terminals started before as stale), cleared at sign-out or when the
 * setting is turned off. The refresh token is never exported: it works once. Built only once the
 * setting is on (src/extension.ts), so a window that never exports never reads this file.
 *
 * An app marked production (issue 20) goes only into the terminals of the workspace folders the
 * production guard lets in (bound to the app, or allowed before), through the collection scoped to
 * each folder (`getScoped({ workspaceFolder })`); the window-wide collection then carries no token.
 * For a folder not yet answered, nothing is asked at activation (no unattended question at
 * startup): one log line says the token was held back, and the question is asked once, when a
 * terminal is first opened in this window while the export would happen (that terminal starts
 * without the token; VS Code marks it stale once allowed, offering a relaunch). An answer is
 * remembered per folder by the guard (Allow, Bind); Cancel holds until the window reloads.
 */
export class TerminalTokenExport implements vscode.Disposable {
  /** The pairs in each collection now, as JSON ('[]': none): '' the window-wide one, else a folder's URI. */
  private readonly applied = new Map<string, { readonly folder?: vscode.WorkspaceFolder; readonly pairs: string }>();
  private toldRestricted = false;
  /** Folders (URI) asked in this window, and folders to ask at the next terminal. */
  private readonly asked = new Set<string>();
  private pending: vscode.WorkspaceFolder[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly collection: vscode.GlobalEnvironmentVariableCollection,
    private readonly model: SessionModel,
    private readonly log: Logger,
    /** globalState, where the production marks of signed-in apps are (src/session/environmentGuard). */
    private readonly globalState?: vscode.Memento,
    /** The production guard, loaded only when the active app is marked production. */
    private readonly guard?: () => Promise<ProductionGuard>,
  ) {
    collection.persistent = false;
    collection.description = l10n.t('The access token of the active Keap app and its expiry (setting infusionsoft.terminal.exportTokens).');
    this.disposables = [
      model.onDidChange(() => this.update()),
      vscode.workspace.onDidChangeConfiguration(e => (e.affectsConfiguration('infusionsoft.terminal') || e.affectsConfiguration('infusionsoft.env')) && this.update()),
      // Restricted Mode exports nothing (issue 17.7); trusting the folder starts the export.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.update()),
      vscode.window.onDidOpenTerminal(() => void this.askPending()),
    ];
    this.update();
  }

  /** Settles when the collections hold what the last update decided (tests). */
  get settled(): Promise<void> {
    return this.chain;
  }

  /** Makes the collections hold what the setting, the active account and the guard say now. */
  update(): void {
    this.chain = this.chain.then(() => this.apply()).catch(e => this.log.error(`terminal export: ${(e as Error)?.message ?? e}`));
  }

  private async apply(): Promise<void> {
    const set = this.model.tokenSet;
    const trusted = vscode.workspace.isTrusted;
    const pairs = terminalExportPairs(set, terminalNames(), { exportOn: terminalExportOn(), workspaceTrusted: trusted });
    if (!trusted && terminalExportOn() && set && !this.toldRestricted) {
      this.toldRestricted = true;
      this.log.info('new terminals get no Keap token: this workspace is in Restricted Mode (trust it to export the token)');
    }
    const want = new Map<string, { folder?: vscode.WorkspaceFolder; pairs: Array<[string, string]> }>();
    const key = set && accountKey(set);
    const production = key !== undefined && pairs.length > 0 && appEnvironmentIn(this.globalState?.get(ENVIRONMENT_MARKS_KEY), key) === 'production';
    if (!production || !this.guard) want.set('', { pairs });
    else {
      const guard = await this.guard();
      const folders = vscode.workspace.workspaceFolders ?? [];
      const plan = terminalExportPlan(
        { id: `app:${key}`, environment: 'production' },
        folders.map(f => ({ key: f.uri.toString(), state: guard.folderState(f.uri) })),
        this.asked,
      );
      for (const f of folders) if (plan.exportTo.includes(f.uri.toString())) want.set(f.uri.toString(), { folder: f, pairs });
      const newlyHeld = folders.filter(f => plan.ask.includes(f.uri.toString()) && !this.pending.includes(f));
      for (const f of newlyHeld) this.log.info(`new terminals of folder ${f.name} get no token of Keap app ${set?.appName}: it is marked production and the folder is not bound to it (asked when a terminal opens)`);
      this.pending = folders.filter(f => plan.ask.includes(f.uri.toString()));
    }
    for (const [scope, was] of this.applied) {
      const next = want.get(scope);
      if (next && JSON.stringify(next.pairs) === was.pairs) continue;
      const c = this.scoped(was.folder);
      for (const [name] of JSON.parse(was.pairs) as [string, string][]) c.delete(name);
      this.applied.delete(scope);
    }
    for (const [scope, next] of want) {
      const json = JSON.stringify(next.pairs);
      if (this.applied.get(scope)?.pairs === json) continue;
      // Only its own variables: the collection also carries keap-token's (src/vscode/tokenHelper.ts).
      const c = this.scoped(next.folder);
      for (const [name, value] of next.pairs) c.replace(name, value);
      if (next.pairs.length || scope === '') this.log.info(next.pairs.length ? `new terminals${next.folder ? ` of folder ${next.folder.name}` : ''} get ${next.pairs.map(p => p[0]).join(' and ')} of Keap app ${set?.appName}` : 'new terminals no longer get a Keap token');
      this.applied.set(scope, { folder: next.folder, pairs: json });
    }
  }

  private scoped(folder: vscode.WorkspaceFolder | undefined): vscode.EnvironmentVariableCollection {
    return folder ? this.collection.getScoped({ workspaceFolder: folder }) : this.collection;
  }

  /** Asks, once per folder and window, about the folders whose terminals a production token was held back from. */
  private async askPending(): Promise<void> {
    const set = this.model.tokenSet;
    if (!this.pending.length || !set || !this.guard) return;
    const folders = this.pending;
    this.pending = [];
    const guard = await this.guard();
    for (const f of folders) {
      if (this.asked.has(f.uri.toString())) continue;
      this.asked.add(f.uri.toString());
      await guard.mayWrite(f, { id: `app:${accountKey(set)}`, label: l10n.t('Keap app {0}', set.appName ?? set.clientId), environment: 'production' }, l10n.t('new terminals'));
    }
    this.update();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const was of this.applied.values()) {
      const c = this.scoped(was.folder);
      for (const [name] of JSON.parse(was.pairs) as [string, string][]) c.delete(name);
    }
  }
}
