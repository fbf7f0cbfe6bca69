import { randomBytes } from 'crypto';
import vscode = require('vscode');
import { l10n } from 'vscode';
import { refuseVariableName } from '../dotenv/variableNames';
import { handOutFolder } from '../session/environmentGuard';
import { outsideText } from '../outsideText';
import {
  accountProfileUrl,
  API_KEY_LIMITS,
  ApiKeyCheck,
  ApiKeyEntry,
  ApiKeyKind,
  ApiKeyUnwrap,
  ApiKeyValueProblem,
  checkApiKey,
  checkPastedApiKey,
  envVariableNameProblem,
  KeapEnvironment,
  keyQuotaOrLimits,
  KnownCredentials,
  labelProblem,
  MAX_API_KEYS,
  parseApiKeyIndex,
  readApiKeyValue,
  suggestEnvironment,
} from '../keap/apiKeys';
import type { Core } from './core';
import type { EnvWriter } from './envWriter';
import { apiKeyCredentialId, environmentIcon, environmentLabel, ProductionGuard } from './environments';

/** globalState: the list of API keys (labels, kinds, marks; never a key). */
export const API_KEY_INDEX = 'infusionsoft.apiKeys';
/** SecretStorage: each key under `infusionsoft.apiKey/<id>`. */
export const API_KEY_SECRET_PREFIX = 'infusionsoft.apiKey/';

/** A row of the API Keys view: a key, or the result of its last test. */
export interface ApiKeyNode {
  readonly apiKey: string;
  readonly row: 'key' | 'test';
}

function isApiKeyNode(x: unknown): x is ApiKeyNode {
  return !!x && typeof x === 'object' && typeof (x as ApiKeyNode).apiKey === 'string' && typeof (x as ApiKeyNode).row === 'string';
}

/** What {@link ApiKeys.add} takes from tests and scripts instead of asking. */
export interface AddApiKeyArgs {
  label?: string;
  kind?: ApiKeyKind;
  key?: string;
  environment?: KeapEnvironment;
  /** Store it although Keap could not be asked (offline); without it such a key is not stored. */
  saveUnchecked?: boolean;
}

/** A run of Test Token on a key: what Keap said and when (epoch ms). */
interface KeyTestRun {
  readonly check: ApiKeyCheck;
  readonly at: number;
}

/** "Personal Access Token" / "Service Account Key". */
export function kindLabel(kind: ApiKeyKind): string {
  return kind === 'sak' ? l10n.t('Service Account Key') : l10n.t('Personal Access Token');
}

/**
 * Keap's API keys (Personal Access Tokens and Service Account Keys) as credentials of their own:
 * Add API Key, Test Token, Copy, Insert into .env, `${command:infusionsoft.apiKey}`, Mark as
 * production or sandbox, Remove, and the API Keys view. The keys live in SecretStorage; the list
 * (labels, kinds, marks, the account's name) in globalState. Built on first use (dist/apiKeys.js).
 */
export class ApiKeys implements vscode.TreeDataProvider<ApiKeyNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ApiKeyNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly runs = new Map<string, KeyTestRun>();
  private readonly disposables: vscode.Disposable[] = [this.emitter];

  constructor(
    private readonly core: Pick<Core, 'context' | 'log' | 'settings' | 'secrets' | 'now' | 'confirmHandOut' | 'model' | 'credentials'>,
    private readonly envWriter: () => Promise<EnvWriter>,
    readonly guard: ProductionGuard,
  ) {
    // Another window added or removed a key: its secret changed.
    this.disposables.push(core.secrets.onDidChange(e => e.key.startsWith(API_KEY_SECRET_PREFIX) && this.changed()));
    this.publishContext();
  }

  /** Every stored key's entry (no secret), in the order added. */
  list(): ApiKeyEntry[] {
    return parseApiKeyIndex(this.core.context.globalState.get(API_KEY_INDEX));
  }

  get(id: string): ApiKeyEntry | undefined {
    return this.list().find(e => e.id === id);
  }

  private changed(): void {
    this.publishContext();
    this.emitter.fire(undefined);
  }

  private publishContext(): void {
    void vscode.commands.executeCommand('setContext', 'infusionsoft.hasApiKeys', this.list().length > 0);
  }

  private async saveList(list: ApiKeyEntry[]): Promise<void> {
    await this.core.context.globalState.update(API_KEY_INDEX, list);
    this.changed();
  }

  /**
   * A key's secret for new terminals (src/vscode/terminalEnv), asking nothing: the caller decided
   * with the user's setting and the production guard. Masked in the log from here on.
   */
  terminalValue(id: string): Promise<string | undefined> {
    return this.secret(id);
  }

  private async secret(id: string): Promise<string | undefined> {
    const key = await this.core.secrets.get(API_KEY_SECRET_PREFIX + id);
    if (key) this.core.log.addSecret(key);
    return key;
  }

  /**
   * Which key a command acts on: a view row, an id or label (string), `{ id }` or `{ label }`; with
   * nothing, the only key, or a quick pick (`placeHolder`). Undefined when there is none or the pick
   * was dismissed.
   */
  async resolve(arg: unknown, placeHolder: string): Promise<ApiKeyEntry | undefined> {
    const list = this.list();
    const named = isApiKeyNode(arg)
      ? arg.apiKey
      : typeof arg === 'string'
        ? arg
        : arg && typeof arg === 'object'
          ? ((arg as { id?: unknown }).id ?? (arg as { label?: unknown }).label)
          : undefined;
    if (typeof named === 'string') return list.find(e => e.id === named) ?? list.find(e => e.label.toLowerCase() === named.trim().toLowerCase());
    if (list.length <= 1) return list[0];
    const pick = await vscode.window.showQuickPick(
      list.map(e => ({ label: `$(key) ${e.label}`, description: [kindLabel(e.kind), environmentLabel(e.environment), e.profile?.name && outsideText(e.profile.name, 'label', 60)].filter(Boolean).join(' · '), entry: e })),
      { placeHolder },
    );
    return pick?.entry;
  }

  /**
   * Infusionsoft: Add API Key…: a label, the kind (the user says which; the key's text does not
   * tell), the key; checked against Keap's account profile before it is stored. Resolves to the
   * new entry, or undefined when nothing was stored (after saying why).
   */
  async add(args: AddApiKeyArgs = {}): Promise<ApiKeyEntry | undefined> {
    const { log } = this.core;
    const list = this.list();
    if (list.length >= MAX_API_KEYS) return void vscode.window.showErrorMessage(l10n.t('{0} API keys are stored already; remove one first.', MAX_API_KEYS));
    const labelWords = (p: ReturnType<typeof labelProblem>) =>
      p === 'empty'
        ? l10n.t('Give the key a name.')
        : p === 'too-long'
          ? l10n.t('The name is too long.')
          : p === 'control-characters'
            ? l10n.t('The name contains control characters.')
            : p === 'taken'
              ? l10n.t('Another API key has this name.')
              : p === 'secret'
                ? l10n.t('The name holds a key, token or secret: give a name such as the integration it is for, and paste the key in step 3.')
                : undefined;
    // Known before the name is asked: a key pasted into the name box would be kept as plain text.
    const known = await this.knownCredentials();
    const label = (
      args.label ??
      (await vscode.window.showInputBox({
        title: l10n.t('Add Keap API key (1/3): name'),
        prompt: l10n.t('A name for this key, such as the integration or account it is for.'),
        ignoreFocusOut: true,
        validateInput: v => labelWords(labelProblem(v, list, known)),
      })) ??
      ''
    ).trim();
    if (!label && args.label === undefined) return undefined;
    const badLabel = labelWords(labelProblem(label, list, known));
    if (badLabel) return void vscode.window.showErrorMessage(badLabel);
    const kind =
      args.kind ??
      (
        await vscode.window.showQuickPick(
          [
            { label: kindLabel('pat'), detail: l10n.t('Acts as the Keap user who created it.'), keyKind: 'pat' as const },
            { label: kindLabel('sak'), detail: l10n.t('Acts for the account: admin access to all of its data.'), keyKind: 'sak' as const },
          ],
          { title: l10n.t('Add Keap API key (2/3): which kind is it?'), placeHolder: l10n.t('Keap shows the kind where the key was created (Settings → API Settings).'), ignoreFocusOut: true },
        )
      )?.keyKind;
    if (kind !== 'pat' && kind !== 'sak') return undefined;
    const key = (
      args.key ??
      (await vscode.window.showInputBox({
        title: l10n.t('Add Keap API key (3/3): the key'),
        prompt: l10n.t('Kept in VS Code\'s SecretStorage; sent only as X-Keap-API-Key to the Keap REST API of your settings.'),
        placeHolder: 'KeapAK-…', // l10n-ignore: the key's documented prefix, the same in every language
        password: true,
        ignoreFocusOut: true,
        validateInput: v => {
          const read = readApiKeyValue(v, known);
          if (!read.ok) return apiKeyValueWords(read.problem);
          return read.unwrapped ? { message: unwrapWords(read.unwrapped), severity: vscode.InputBoxValidationSeverity.Info } : undefined;
        },
      })) ??
      ''
    ).trim();
    if (!key && args.key === undefined) return undefined;
    // Whatever was pasted may be a secret of some kind: masked in the log from here on.
    if (key) log.addSecret(key);

    const checked = await this.progress(label, () => checkPastedApiKey(key, known, { url: accountProfileUrl(this.core.settings.endpoints()), timeoutMs: this.core.settings.requestTimeoutMs() }));
    if (!checked.ok) {
      log.warn(`API key "${label}" not stored: the value looks like ${checked.problem}; nothing was sent to Keap`);
      return void vscode.window.showErrorMessage(l10n.t('API key "{0}" was not stored; nothing was sent to Keap. {1}', label, apiKeyValueWords(checked.problem)));
    }
    log.addSecret(checked.key);
    const check = checked.check;
    if (check.outcome === 'refused' || check.outcome === 'not-sent') {
      const why = check.outcome === 'refused' ? l10n.t('Keap refused it ({0}): it is revoked, mistyped, or not a Personal Access Token or Service Account Key.', check.status ?? '?') : check.reason ?? '';
      log.warn(`API key "${label}" not stored: ${check.outcome} ${check.status ?? ''}`);
      return void vscode.window.showErrorMessage(l10n.t('API key "{0}" was not stored. {1}', label, why));
    }
    if (check.outcome !== 'ok') {
      const save = l10n.t('Save Unchecked');
      const saveIt =
        args.saveUnchecked ??
        (args.key === undefined && (await vscode.window.showWarningMessage(l10n.t('Keap could not check API key "{0}": {1} Save it unchecked?', label, check.reason ?? ''), save, l10n.t('Cancel'))) === save);
      if (!saveIt) return void vscode.window.showWarningMessage(l10n.t('API key "{0}" was not stored: Keap could not check it ({1}).', label, check.reason ?? ''));
    }
    const entry: ApiKeyEntry = {
      id: randomBytes(8).toString('hex'),
      label,
      kind,
      addedAt: this.core.now(),
      ...(args.environment ? { environment: args.environment } : {}),
      ...(check.profile ? { profile: check.profile } : {}),
    };
    // The secret first: a listed key without its secret would be a row that cannot work.
    await this.core.secrets.store(API_KEY_SECRET_PREFIX + entry.id, checked.key);
    this.runs.set(entry.id, { check, at: this.core.now() });
    await this.saveList([...this.list(), entry]);
    log.info(`API key "${label}" (${kind}) added${check.outcome === 'ok' ? `; Keap account ${check.profile?.name ?? '?'}` : ', unchecked'}`);
    const account = check.profile?.name ? l10n.t('Keap account {0} ({1})', check.profile.name, check.profile.email ?? '?') : l10n.t('an account Keap did not name');
    if (kind === 'sak') {
      void vscode.window.showWarningMessage(
        l10n.t('Service Account Key "{0}" added for {1}. It carries admin access to all of the account\'s data: keep it out of shared files and repositories, and prefer a Personal Access Token or a sandbox account for development.', label, account),
      );
    } else {
      void vscode.window.showInformationMessage(l10n.t('Personal Access Token "{0}" added for {1}.', label, account));
    }
    if (!entry.environment && args.key === undefined) void this.offerMark(entry, check);
    return entry;
  }

  /** After a check that named the account: asks once whether the key is production or sandbox (a guess first, the user decides). */
  private async offerMark(entry: ApiKeyEntry, check: ApiKeyCheck): Promise<void> {
    if (check.outcome !== 'ok') return;
    const suggested = suggestEnvironment(check.profile);
    const production = l10n.t('Production');
    const sandbox = l10n.t('Sandbox');
    const buttons = suggested === 'sandbox' ? [sandbox, production] : [production, sandbox];
    const answer = await vscode.window.showInformationMessage(
      suggested === 'sandbox'
        ? l10n.t('Is API key "{0}" for a sandbox account? Its account profile suggests so. Production credentials are marked and VS Code asks before writing them into a folder bound to something else.', entry.label)
        : l10n.t('Is API key "{0}" for production or a sandbox account? Production credentials are marked and VS Code asks before writing them into a folder bound to something else.', entry.label),
      ...buttons,
    );
    if (answer) await this.mark(entry.id, answer === production ? 'production' : 'sandbox');
  }

  private async check(key: string, label: string): Promise<ApiKeyCheck> {
    const url = accountProfileUrl(this.core.settings.endpoints());
    return this.progress(label, () => checkApiKey(key, { url, timeoutMs: this.core.settings.requestTimeoutMs() }));
  }

  private progress<T>(label: string, task: () => Promise<T>): Promise<T> {
    return Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: l10n.t('Checking API key "{0}" with Keap…', label) }, task));
  }

  /** The client IDs, client secrets and tokens this extension holds, to name them when pasted as a key. */
  private async knownCredentials(): Promise<KnownCredentials> {
    const accounts = this.core.model.accounts;
    const clientIds = [...new Set([this.core.settings.clientId(), ...accounts.map(a => a.clientId)].filter(Boolean))];
    const clientSecrets: string[] = [];
    for (const id of clientIds) {
      const c = await this.core.credentials(id).catch(() => undefined);
      if (c?.clientSecret) clientSecrets.push(c.clientSecret);
    }
    return { clientIds, clientSecrets, accessTokens: accounts.map(a => a.accessToken), refreshTokens: accounts.map(a => a.refreshToken) };
  }

  /** Test Token on a key: status, time, the quota headers; shown in a notification and a row under the key. Resolves to what Keap said. */
  async test(arg?: unknown): Promise<ApiKeyCheck | undefined> {
    const entry = await this.resolve(arg, l10n.t('Test which API key?'));
    if (!entry) return void vscode.window.showWarningMessage(l10n.t('No Keap API key is stored. Add one with Infusionsoft: Add API Key….'));
    const key = await this.secret(entry.id);
    if (!key) return void vscode.window.showErrorMessage(l10n.t('The secret of API key "{0}" is missing from SecretStorage; remove the key and add it again.', entry.label));
    const check = await this.check(key, entry.label);
    this.runs.set(entry.id, { check, at: this.core.now() });
    if (check.outcome === 'ok' && check.profile) await this.saveList(this.list().map(e => (e.id === entry.id ? { ...e, profile: check.profile } : e)));
    else this.emitter.fire(undefined);
    const lines = describeCheck(check);
    this.core.log.info(`Test Token of API key "${entry.label}": ${lines.join(' ')}`);
    const text = l10n.t('API key "{0}": {1}', entry.label, lines.join(' '));
    void (check.outcome === 'ok' ? vscode.window.showInformationMessage(text) : vscode.window.showWarningMessage(text));
    if (check.outcome === 'ok' && !entry.environment) void this.offerMark(entry, check);
    return check;
  }

  /** Copies a key to the clipboard. */
  async copy(arg?: unknown): Promise<boolean> {
    const entry = await this.resolve(arg, l10n.t('Copy which API key?'));
    const key = entry && (await this.secret(entry.id));
    if (!entry || !key) return false;
    await vscode.env.clipboard.writeText(key);
    void vscode.window.showInformationMessage(
      entry.kind === 'sak'
        ? l10n.t('Service Account Key "{0}" copied to the clipboard. It opens all of the account\'s data: paste it only where it is needed.', entry.label)
        : l10n.t('Personal Access Token "{0}" copied to the clipboard.', entry.label),
    );
    return true;
  }

  /**
   * For `${command:infusionsoft.apiKey}` in launch configurations and tasks: the key itself. `arg`
   * (the input's `args`) names it by label or id; with several keys and no name, a quick pick.
   */
  async value(arg?: unknown): Promise<string | undefined> {
    const entry = await this.resolve(arg, l10n.t('Which Keap API key?'));
    if (!entry) {
      if (arg !== undefined) void vscode.window.showErrorMessage(l10n.t('No Keap API key named {0}.', JSON.stringify(arg).slice(0, 80)));
      return undefined;
    }
    // A production key resolved for a folder bound to something else or to nothing: asked first (once per folder).
    // The folder is the active editor's, else the only one; without one a production key asks each time (as the access token does).
    const active = vscode.window.activeTextEditor?.document.uri;
    const folder = handOutFolder(vscode.workspace.workspaceFolders, active && vscode.workspace.getWorkspaceFolder(active));
    if (!(await this.guard.mayHandOut(folder, this.credential(entry), l10n.t('a launch configuration or task')))) return undefined;
    if (!(await this.core.confirmHandOut(`api-key:${entry.id}`, l10n.t('API key {0}', entry.label)))) return undefined;
    return this.secret(entry.id);
  }

  /**
   * Insert API Key into .env: the variable `infusionsoft.apiKey.envVariable` names (default
   * `KEAP_API_KEY`). A production key going into a folder not bound to it asks first. `target`: an
   * absolute path inside a workspace folder (tests). Resolves to the file written.
   */
  async insertIntoEnv(arg?: unknown, target?: unknown): Promise<vscode.Uri | undefined> {
    const entry = await this.resolve(arg, l10n.t('Insert which API key?'));
    if (!entry) return undefined;
    const key = await this.secret(entry.id);
    if (!key) return undefined;
    const file = typeof target === 'string' ? target : undefined;
    const writer = await this.envWriter();
    // The name is read for the folder picked, before anything is written.
    const values: Array<[string, string]> = [['KEAP_API_KEY', key]];
    return writer.insertValues(
      values,
      l10n.t('API key "{0}"', entry.label),
      file,
      async folder => {
        const configured = vscode.workspace.getConfiguration('infusionsoft.apiKey', folder.uri).get<string>('envVariable', 'KEAP_API_KEY').trim() || 'KEAP_API_KEY';
        const refused = envVariableNameProblem(configured) ? ({ kind: 'not-a-shell-name' } as const) : refuseVariableName(configured);
        if (refused) {
          const why =
            refused.kind === 'public-prefix'
              ? l10n.t('starts with {0}, which front-end builds publish to the browser', refused.prefix)
              : l10n.t('is not a name a shell can assign (letters, digits and _ only, not starting with a digit)');
          void vscode.window.showErrorMessage(l10n.t('The setting infusionsoft.apiKey.envVariable ({0}) {1}; nothing was written.', outsideText(configured, 'message', 60), why));
          return false;
        }
        values[0][0] = configured;
        return this.guard.mayWrite(folder, this.credential(entry), l10n.t('its .env'));
      },
    ).then(uri => uri, e => {
      void vscode.window.showErrorMessage((e as Error).message);
      return undefined;
    });
  }

  /** The key as the production guard sees it. */
  credential(entry: ApiKeyEntry): { id: string; label: string; environment?: KeapEnvironment } {
    return { id: apiKeyCredentialId(entry.id), label: l10n.t('API key "{0}"', entry.label), environment: entry.environment };
  }

  /** Marks a key production or sandbox (undefined: unmarked). */
  async mark(arg: unknown, env: KeapEnvironment | undefined): Promise<boolean> {
    const entry = await this.resolve(arg, l10n.t('Mark which API key?'));
    if (!entry) return false;
    await this.saveList(this.list().map(e => (e.id === entry.id ? { ...e, environment: env } : e)));
    this.core.log.info(`API key "${entry.label}" marked ${env ?? 'unmarked'}`);
    return true;
  }

  /** Remove API Key: forgets the key here (Keap keeps it valid until it is revoked there). `confirm: false` skips the question (tests). */
  async remove(arg?: unknown, options?: { confirm?: boolean }): Promise<boolean> {
    const entry = await this.resolve(arg, l10n.t('Remove which API key?'));
    if (!entry) return false;
    if (options?.confirm !== false) {
      const remove = l10n.t('Remove');
      const answer = await vscode.window.showWarningMessage(
        l10n.t('Remove API key "{0}" from VS Code? Keap keeps accepting it until you revoke it in Keap (Settings → API Settings).', entry.label),
        remove,
        l10n.t('Cancel'),
      );
      if (answer !== remove) return false;
    }
    await this.saveList(this.list().filter(e => e.id !== entry.id));
    await this.core.secrets.delete(API_KEY_SECRET_PREFIX + entry.id);
    this.runs.delete(entry.id);
    this.core.log.info(`API key "${entry.label}" removed`);
    return true;
  }

  // ---- the API Keys view ----

  getChildren(node?: ApiKeyNode): ApiKeyNode[] {
    if (!node) return this.list().map(e => ({ apiKey: e.id, row: 'key' }));
    if (node.row === 'key' && this.runs.has(node.apiKey)) return [{ apiKey: node.apiKey, row: 'test' }];
    return [];
  }

  getTreeItem(node: ApiKeyNode): vscode.TreeItem {
    const entry = this.get(node.apiKey);
    if (!entry) return new vscode.TreeItem(l10n.t('Removed'));
    if (node.row === 'test') return this.testItem(entry, this.runs.get(entry.id)!);
    const item = new vscode.TreeItem(entry.label, this.runs.has(entry.id) ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    // A row that gains its test row is a new element to VS Code, which keeps the collapsible state of an id it has shown.
    item.id = `apiKey/${entry.id}${this.runs.has(entry.id) ? '/tested' : ''}`;
    const env = environmentLabel(entry.environment);
    item.description = [kindLabel(entry.kind), entry.kind === 'sak' ? l10n.t('admin access to all data') : undefined, env, entry.profile?.name && outsideText(entry.profile.name, 'label', 60)].filter(Boolean).join(' · ');
    item.iconPath = environmentIcon(entry.environment) ?? new vscode.ThemeIcon(entry.kind === 'sak' ? 'shield' : 'key', entry.kind === 'sak' ? new vscode.ThemeColor('list.warningForeground') : undefined);
    item.tooltip = [
      `${entry.label} — ${kindLabel(entry.kind)}`,
      entry.kind === 'sak' ? l10n.t('A Service Account Key carries admin access to all of the account\'s data.') : l10n.t('A Personal Access Token acts as the Keap user who created it.'),
      entry.profile?.name ? l10n.t('Keap account: {0} ({1})', entry.profile.name, entry.profile.email ?? '?') : undefined,
      env ? l10n.t('Marked {0}.', env) : l10n.t('Not marked production or sandbox.'),
      l10n.t('Sent as the X-Keap-API-Key header. Keap\'s limits per key: {0} a second, {1} a minute, {2} a day.', API_KEY_LIMITS.perSecond, API_KEY_LIMITS.perMinute, API_KEY_LIMITS.perDay.toLocaleString()),
    ]
      .filter(Boolean)
      .join('\n');
    // apiKey.<pat|sak>.<production|sandbox|unmarked>: menus offer the other mark.
    item.contextValue = `apiKey.${entry.kind}.${entry.environment ?? 'unmarked'}`;
    item.accessibilityInformation = { label: [l10n.t('API key {0}', entry.label), kindLabel(entry.kind), env].filter(Boolean).join(', ') };
    return item;
  }

  private testItem(entry: ApiKeyEntry, run: KeyTestRun): vscode.TreeItem {
    const item = new vscode.TreeItem(l10n.t('Key test'));
    item.id = `apiKey/${entry.id}/test`;
    const day = run.check.quota.find(b => b.available !== undefined);
    item.description = summary(run.check) + (day ? ` · ${l10n.t('{0} left per {1}', day.available!.toLocaleString(), day.timeUnit)}` : '');
    item.tooltip = [new Date(run.at).toLocaleTimeString(), ...describeCheck(run.check)].join('\n');
    item.iconPath = new vscode.ThemeIcon(run.check.outcome === 'ok' ? 'pulse' : 'warning', run.check.outcome === 'ok' ? undefined : new vscode.ThemeColor('list.warningForeground'));
    item.contextValue = 'apiKeyTest';
    item.accessibilityInformation = { label: l10n.t('Key test: {0}', item.description) };
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** `200 · 42 ms`, `401 · 40 ms`, `no answer`. */
function summary(c: ApiKeyCheck): string {
  return c.status === undefined ? l10n.t('no answer') : `${c.status} · ${c.elapsedMs} ms`;
}

/** What Keap answered, the account, and each quota bucket (Keap's headers, or Keap's stated key limits): one sentence each. */
function describeCheck(c: ApiKeyCheck): string[] {
  const lines = [`${summary(c)}.`];
  if (c.outcome === 'ok' && c.profile?.name) lines.push(l10n.t('Keap account: {0} ({1}).', c.profile.name, c.profile.email ?? '?'));
  if (c.outcome === 'refused') lines.push(l10n.t('Keap refused the key: it is revoked, mistyped, or not a Personal Access Token or Service Account Key.'));
  else if (c.reason) lines.push(c.reason);
  for (const b of keyQuotaOrLimits(c)) {
    if (b.available === undefined) {
      if (b.limit !== undefined) lines.push(l10n.t('Limit {0} calls per {1}.', b.limit.toLocaleString(), b.timeUnit));
      continue;
    }
    const left = b.limit === undefined ? b.available.toLocaleString() : l10n.t('{0} of {1}', b.available.toLocaleString(), b.limit.toLocaleString());
    lines.push(
      b.resetsAt === undefined
        ? l10n.t('{0} calls left per {1}.', left, b.timeUnit)
        : l10n.t('{0} calls left per {1}, until {2}.', left, b.timeUnit, new Date(b.resetsAt).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' })),
    );
  }
  return lines;
}

/** What a value refused as an API key looks like, and where it belongs instead (issue 20, case K15). */
export function apiKeyValueWords(p: ApiKeyValueProblem): string {
  const importTokens = l10n.t('For an OAuth token pair use Infusionsoft: Import Tokens….');
  const clientCredentials = l10n.t('Client IDs and secrets belong in Infusionsoft: Set Client Credentials.');
  switch (p) {
    case 'empty':
      return l10n.t('The key is empty.');
    case 'white-space':
      return l10n.t('The key contains white space; paste one key only.');
    case 'bearer-token':
      return `${l10n.t('That is an OAuth access token (Bearer), not an API key.')} ${importTokens}`;
    case 'token-response':
      return `${l10n.t('That is a token response (JSON), not an API key.')} ${importTokens}`;
    case 'access-token':
      return `${l10n.t('That is an access token of a Keap app VS Code is signed in to, not an API key.')} ${importTokens}`;
    case 'refresh-token':
      return `${l10n.t('That is a refresh token of a Keap app VS Code is signed in to, not an API key.')} ${importTokens}`;
    case 'basic-auth':
      return `${l10n.t('That is an Authorization: Basic header (a client ID and secret), not an API key.')} ${clientCredentials}`;
    case 'client-secret':
      return `${l10n.t('That is the client secret of your OAuth app, not an API key.')} ${clientCredentials}`;
    case 'client-id':
      return `${l10n.t('That is the client ID of your OAuth app, not an API key.')} ${clientCredentials}`;
    case 'legacy-api-key':
      return l10n.t('That looks like a legacy Keap API key (32 hexadecimal characters), which Keap retired. Create a Personal Access Token or Service Account Key in Keap (Settings → API Settings).');
    case 'not-printable':
      return l10n.t('The key contains a character that is not printable ASCII, such as an invisible space copied from a web page or chat; copy it again from Keap.');
    case 'not-a-key':
      return `${l10n.t('That is not a Keap API key: Personal Access Tokens and Service Account Keys start with KeapAK-.')} ${importTokens} ${clientCredentials}`;
  }
}

/** What was taken off a pasted key, said in the box before it is accepted. */
function unwrapWords(u: ApiKeyUnwrap): string {
  switch (u) {
    case 'header':
      return l10n.t('Only the key is kept: the header name X-Keap-API-Key is left out.');
    case 'bearer':
      return l10n.t('Only the key is kept. Keap takes API keys in the X-Keap-API-Key header, not as Authorization: Bearer.');
    case 'env-line':
      return l10n.t('Only the key is kept: the variable name is left out.');
    case 'quotes':
      return l10n.t('Only the key is kept: the quotes are left out.');
  }
}
