import vscode = require('vscode');
import { l10n } from 'vscode';
import { ENV_PRESETS, EnvVariableNames } from '../dotenv/variables';
import { accountKey } from '../session/accounts';
import { appEnvironmentIn, ENVIRONMENT_MARKS_KEY } from '../session/environmentGuard';
import { apiKeyTerminalPlan, terminalExportPairs, terminalExportPlan } from '../session/terminalExport';
import { envVariableNameProblem } from '../keap/apiKeys';
import type { ProductionGuard } from './environments';
import type { ApiKeys } from './apiKeys';
import { Logger } from '../log';
import { apiKeyTerminalExportOn, terminalExportOn } from './config';
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
 * What each exporter put into one collection (the window-wide one, '', or a folder's, by URI), said
 * in its description: the token export and the API key export share the extension's collection.
 */
const described = new Map<string, Map<'token' | 'apiKey', string>>();

/** Sets (text) or clears (undefined) what `owner` says in the description of the collection of `folder` (undefined: window-wide). */
function describe(collection: vscode.GlobalEnvironmentVariableCollection, folder: vscode.WorkspaceFolder | undefined, owner: 'token' | 'apiKey', text: string | undefined): void {
  const scope = folder?.uri.toString() ?? '';
  const parts = described.get(scope) ?? new Map<'token' | 'apiKey', string>();
  if (text) parts.set(owner, text);
  else parts.delete(owner);
  described.set(scope, parts);
  const c = folder ? collection.getScoped({ workspaceFolder: folder }) : collection;
  c.description = [parts.get('token'), parts.get('apiKey')].filter(Boolean).join(' ') || undefined;
}

/**
 * What both terminal exports follow besides their own sources: the settings under `sections`, the
 * workspace becoming trusted (Restricted Mode exports nothing, issue 17.7; trusting starts the
 * export), the folders changing (each has its collection) → `update`; a terminal opening → `ask`
 * (the folders a production credential was held back from).
 */
function exportTriggers(sections: readonly string[], update: () => void, ask: () => void): vscode.Disposable[] {
  return [
    vscode.workspace.onDidChangeConfiguration(e => sections.some(x => e.affectsConfiguration(x)) && update()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => update()),
    vscode.workspace.onDidChangeWorkspaceFolders(() => update()),
    vscode.window.onDidOpenTerminal(() => ask()),
  ];
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
  private followsGuard = false;

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
    describe(collection, undefined, 'token', this.description);
    this.disposables = [
      model.onDidChange(() => this.update()),
      ...exportTriggers(['infusionsoft.terminal', 'infusionsoft.env'], () => this.update(), () => void this.askPending()),
    ];
    this.update();
  }

  /** Settles when the collections hold what the last update decided (tests). */
  get settled(): Promise<void> {
    return this.chain;
  }

  private get description(): string {
    return l10n.t('The access token of the active Keap app and its expiry (setting infusionsoft.terminal.exportTokens).');
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
      // A folder bound or allowed later changes where the token goes: follow the guard from its first use on.
      if (!this.followsGuard) {
        this.followsGuard = true;
        this.disposables.push(guard.onDidChange(() => this.update()));
      }
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
      if (was.folder) describe(this.collection, was.folder, 'token', undefined);
      this.applied.delete(scope);
    }
    for (const [scope, next] of want) {
      const json = JSON.stringify(next.pairs);
      if (this.applied.get(scope)?.pairs === json) continue;
      // Only its own variables: the collection also carries keap-token's (src/vscode/tokenHelper.ts).
      const c = this.scoped(next.folder);
      for (const [name, value] of next.pairs) c.replace(name, value);
      if (next.folder) describe(this.collection, next.folder, 'token', next.pairs.length ? this.description : undefined);
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

/**
 * The name API keys get in terminals: the user's own `infusionsoft.apiKey.envVariable` (default
 * `KEAP_API_KEY`), never a workspace's (a cloned repository must not choose which variable a key
 * lands in, as for the token's names); undefined when it is not a shell variable name.
 */
function apiKeyTerminalName(): string | undefined {
  const name = userValue<unknown>('infusionsoft.apiKey', 'envVariable', 'KEAP_API_KEY');
  const v = typeof name === 'string' && name.trim() ? name.trim() : 'KEAP_API_KEY';
  return envVariableNameProblem(v) ? undefined : v;
}

/**
 * With `infusionsoft.apiKey.exportToTerminals` on (an application-wide user setting, default off),
 * new integrated terminals of each workspace folder get an API key under the name of
 * `infusionsoft.apiKey.envVariable`: the key the folder is bound to, else the only key stored
 * (src/session/terminalExport `apiKeyTerminalPlan`), through the collection scoped to that folder
 * (`getScoped({ workspaceFolder })`; with no folder open, the window-wide one). Never persisted.
 * A key marked production goes only into folders bound to it or allowed by the production guard;
 * for another folder it is held back, one log line says so, and the guard asks once, when a
 * terminal is next opened in this window (as for a production app's token). Removing the key,
 * turning the setting off, binding the folder elsewhere or Restricted Mode take it out again. A
 * Service Account Key's description says it opens all of the account's data. Built only once the
 * setting is on (src/extension.ts).
 */
export class ApiKeyTerminalExport implements vscode.Disposable {
  /** What each collection holds now: '' the window-wide one, else a folder's URI. */
  private readonly applied = new Map<string, { readonly folder?: vscode.WorkspaceFolder; readonly name: string; readonly value: string; readonly description: string }>();
  /** `<folder URI> apiKey:<id>`: asked in this window. */
  private readonly asked = new Set<string>();
  private pending: Array<{ folder: vscode.WorkspaceFolder; keyId: string }> = [];
  /** Log lines said once per window (Restricted Mode, a bad name, no key chosen for a folder). */
  private readonly told = new Set<string>();
  private chain: Promise<void> = Promise.resolve();
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly collection: vscode.GlobalEnvironmentVariableCollection,
    private readonly credentials: { readonly apiKeys: ApiKeys; readonly guard: ProductionGuard },
    private readonly log: Logger,
  ) {
    collection.persistent = false;
    this.disposables = [
      // A key added, removed or marked (here or, through SecretStorage, in another window).
      credentials.apiKeys.onDidChangeTreeData(() => this.update()),
      // A folder bound elsewhere, or a production key allowed into it.
      credentials.guard.onDidChange(() => this.update()),
      ...exportTriggers(['infusionsoft.apiKey', 'infusionsoft.terminal', 'infusionsoft.env'], () => this.update(), () => void this.askPending()),
    ];
    this.update();
  }

  /** Settles when the collections hold what the last update decided (tests). */
  get settled(): Promise<void> {
    return this.chain;
  }

  update(): void {
    this.chain = this.chain.then(() => this.apply()).catch(e => this.log.error(`terminal export of API keys: ${(e as Error)?.message ?? e}`));
  }

  private once(line: string): void {
    if (this.told.has(line)) return;
    this.told.add(line);
    this.log.info(line);
  }

  private async apply(): Promise<void> {
    const { apiKeys, guard } = this.credentials;
    const on = apiKeyTerminalExportOn();
    const trusted = vscode.workspace.isTrusted;
    const keys = apiKeys.list();
    const name = apiKeyTerminalName();
    if (on && keys.length && !trusted) this.once('new terminals get no Keap API key: this workspace is in Restricted Mode (trust it to export the key)');
    if (on && !name) this.once('new terminals get no Keap API key: the user setting infusionsoft.apiKey.envVariable is not a shell variable name');
    // The token export's names win: one variable cannot hold both.
    const tokenNames = terminalExportOn() ? Object.values(terminalNames()) : [];
    const clash = !!name && tokenNames.includes(name);
    if (on && clash) this.once(`new terminals get no Keap API key: ${name} is the name the access token is exported under`);
    const folders = vscode.workspace.workspaceFolders ?? [];
    const plan = apiKeyTerminalPlan(
      keys,
      folders.map(f => ({ key: f.uri.toString(), state: guard.folderState(f.uri) })),
      this.asked,
      { exportOn: on && !!name && !clash, workspaceTrusted: trusted },
    );
    const want = new Map<string, { folder?: vscode.WorkspaceFolder; keyId: string }>();
    if (plan.window) want.set('', { keyId: plan.window });
    for (const t of plan.exportTo) want.set(t.folder, { folder: folders.find(f => f.uri.toString() === t.folder), keyId: t.keyId });
    for (const f of plan.unchosen) this.once(`new terminals of folder ${folders.find(x => x.uri.toString() === f)?.name ?? f} get no Keap API key: several are stored and the folder is bound to none of them (Bind Folder to Keap Credential)`);
    const pending = plan.ask.map(t => ({ folder: folders.find(f => f.uri.toString() === t.folder)!, keyId: t.keyId })).filter(t => t.folder);
    for (const t of pending) {
      if (!this.pending.some(p => p.folder === t.folder && p.keyId === t.keyId)) {
        this.log.info(`new terminals of folder ${t.folder.name} get no API key "${apiKeys.get(t.keyId)?.label}": it is marked production and the folder is not bound to it (asked when a terminal opens)`);
      }
    }
    this.pending = pending;

    const next = new Map<string, { folder?: vscode.WorkspaceFolder; name: string; value: string; description: string; said: string }>();
    for (const [scope, w] of want) {
      const entry = apiKeys.get(w.keyId);
      const value = entry && (await apiKeys.terminalValue(entry.id));
      if (!entry || !value || !name) continue;
      const description =
        entry.kind === 'sak'
          ? l10n.t('Service Account Key "{0}" as {1} (setting infusionsoft.apiKey.exportToTerminals): admin access to all of the Keap account\'s data.', entry.label, name)
          : l10n.t('Personal Access Token "{0}" as {1} (setting infusionsoft.apiKey.exportToTerminals).', entry.label, name);
      next.set(scope, { folder: w.folder, name, value, description, said: `API key "${entry.label}" (${entry.kind})` });
    }
    for (const [scope, was] of this.applied) {
      const now = next.get(scope);
      if (now && now.name === was.name && now.value === was.value && now.description === was.description) continue;
      this.scoped(was.folder).delete(was.name);
      describe(this.collection, was.folder, 'apiKey', undefined);
      this.applied.delete(scope);
      if (!now) this.log.info(`new terminals${was.folder ? ` of folder ${was.folder.name}` : ''} no longer get ${was.name}`);
    }
    for (const [scope, now] of next) {
      if (this.applied.has(scope)) continue;
      this.scoped(now.folder).replace(now.name, now.value);
      describe(this.collection, now.folder, 'apiKey', now.description);
      this.applied.set(scope, now);
      this.log.info(`new terminals${now.folder ? ` of folder ${now.folder.name}` : ''} get ${now.name}: ${now.said}`);
    }
  }

  private scoped(folder: vscode.WorkspaceFolder | undefined): vscode.EnvironmentVariableCollection {
    return folder ? this.collection.getScoped({ workspaceFolder: folder }) : this.collection;
  }

  /** Asks, once per folder, key and window, about the folders a production key was held back from. */
  private async askPending(): Promise<void> {
    if (!this.pending.length) return;
    const held = this.pending;
    this.pending = [];
    for (const { folder, keyId } of held) {
      const entry = this.credentials.apiKeys.get(keyId);
      const asked = `${folder.uri.toString()} apiKey:${keyId}`;
      if (!entry || this.asked.has(asked)) continue;
      this.asked.add(asked);
      await this.credentials.guard.mayWrite(folder, this.credentials.apiKeys.credential(entry), l10n.t('new terminals'));
    }
    this.update();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const was of this.applied.values()) {
      this.scoped(was.folder).delete(was.name);
      describe(this.collection, was.folder, 'apiKey', undefined);
    }
    this.applied.clear();
  }
}
