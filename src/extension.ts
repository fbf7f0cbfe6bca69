import os = require('os');
import path = require('path');
import vscode = require('vscode');
import { l10n } from 'vscode';
import { HandOutConsent } from './handOutConsent';
import { KeapClock } from './keap/keapClock';
import { argumentUse } from './commandArguments';
import { KeapTokenClient } from './keap/tokenClient';
import { accountFileId, AccountStore } from './session/accounts';
import { ClockWatch } from './session/clockWatch';
import { FileLock } from './session/fileLock';
import { FileLedgerStore } from './session/ledgerFile';
import { Refresher } from './session/refresher';
import { REAL_TIMERS } from './session/timeLimit';
import type { TokenSet } from './session/tokenSet';
import type { CallbackResult } from './signin/signInService';
import type { AccountCommands } from './vscode/accountCommands';
import { AutoRefreshers } from './vscode/autoRefresh';
import { KeapAuthenticationProvider } from './vscode/authProvider';
import { apiKeyTerminalExportOn, customEndpointNote, Settings, terminalExportOn, tokenHelperEnabled } from './vscode/config';
import type { Core } from './vscode/core';
import type { EnvWriter } from './vscode/envWriter';
import { lazy } from './vscode/lazy';
import { RedactingLogger } from './vscode/log';
import { SECRET_KEYS, Secrets } from './vscode/secrets';
import { accountListSignal, SessionModel } from './vscode/sessionModel';
import type { SignInController } from './vscode/signIn';
import { registerCredentials } from './vscode/credentialsShell';
import { appEnvironmentIn, ENVIRONMENT_MARKS_KEY } from './session/environmentGuard';
import { TokenStatusBar } from './vscode/statusBar';
import type { TokenTests } from './vscode/testToken';
import type { TokenHelper } from './vscode/tokenHelper';
import { isSessionNode, SessionTreeProvider } from './vscode/tree';

/** What the extension returns from `activate`, only in development and test mode (it can read the status). */
export interface TestApi {
  statusText(): string;
  statusTooltip(): string;
  /** The status bar item's background ThemeColor id (e.g. `statusBarItem.warningBackground`), undefined when none. */
  statusBackground(): string | undefined;
  /** The sign-in controller; the first call builds it (as the first Sign In or callback does). */
  signIn(): Promise<SignInController>;
  /** Fires after each callback was handled, from whichever path built the sign-in (subscribe before it exists). */
  onDidHandleCallback: vscode.Event<CallbackResult>;
  model: SessionModel;
  autoRefresher: AutoRefreshers;
  tree: SessionTreeProvider;
  authProvider: KeapAuthenticationProvider;
  /** The folder of lock and signal files shared by every window (globalStorageUri). */
  storageDir: string;
  /** What new integrated terminals get (infusionsoft.terminal.exportTokens, infusionsoft.apiKey.exportToTerminals per folder, and keap-token's address). */
  terminalEnv: vscode.GlobalEnvironmentVariableCollection;
  /** The token helper once built (`infusionsoft.accessToken` or the setting built it). */
  tokenHelper(): TokenHelper | undefined;
  /** The status bar tooltip as VS Code gets it: markdown source, trusted or not, HTML or not (issue 17.2). */
  statusTooltipMarkdown(): { value: string; isTrusted: boolean; supportHtml: boolean } | undefined;
  /** Guards command arguments as an installed extension does (true) or not (false, the default under tests; issue 17.7). */
  guardArguments(on: boolean): void;
}

/**
 * Set Client Credentials' arguments as src/commandArguments decides: guarded, a client ID only
 * fills the box and a client secret is dropped (the user types it).
 */
function guardedCredentialArgs(
  args: { clientId?: string; clientSecret?: string; quiet?: boolean } | undefined,
  guarded: boolean,
): { clientId?: string; clientSecret?: string; quiet?: boolean; prefillClientId?: string } | undefined {
  if (!args) return undefined;
  const id = argumentUse('setClientCredentials.clientId', guarded);
  const secret = argumentUse('setClientCredentials.clientSecret', guarded);
  return {
    clientId: id === 'as-given' ? args.clientId : undefined,
    prefillClientId: id === 'prefill' ? args.clientId : undefined,
    clientSecret: secret === 'as-given' ? args.clientSecret : undefined,
    quiet: args.quiet,
  };
}

/**
 * Builds what the first status bar paint needs (the session model, automatic refresh, the status
 * bar, the view, the Accounts menu's provider) and registers every command and the URI handler as
 * a shell; the sign-in, the account commands, the `.env` writer, Test Token and the terminal export
 * are read and built at their first use (each a file of its own, scripts/bundle.js).
 */
export function activate(context: vscode.ExtensionContext): TestApi | undefined {
  const activateStart = performance.now();
  const log = new RedactingLogger(vscode.window.createOutputChannel('Infusionsoft', { log: true }));
  const settings = new Settings();
  const secrets = new Secrets(context.secrets);
  const now = () => Date.now();
  const storageDir = context.globalStorageUri.scheme === 'file' ? context.globalStorageUri.fsPath : path.join(os.tmpdir(), 'infusionsoft-oauth');

  // Keap's clock from the Date of its answers: refreshes are timed by it when this machine's is over 2 minutes off.
  const keapClock = new KeapClock();
  const tokenClient = new KeapTokenClient({ endpoints: () => settings.endpoints(), timeoutMs: () => settings.requestTimeoutMs(), now, log, keapClock });
  const listSignal = accountListSignal(storageDir);
  const accountStore = new AccountStore(
    secrets,
    () => new FileLock(path.join(storageDir, 'locks', 'accounts.lock'), { staleMs: 30_000 }).acquire(35_000),
    log,
    {
      now,
      onIndexChanged: generation => listSignal.notify(generation),
      announcedIndexGeneration: () => listSignal.generation(),
    },
  );
  const model = new SessionModel(accountStore, secrets, storageDir, { workspace: context.workspaceState, global: context.globalState }, log);
  const credentials = async (clientId: string) => {
    const clientSecret = await secrets.clientSecret(clientId);
    log.addSecret(clientSecret);
    return clientSecret ? { clientId, clientSecret } : undefined;
  };
  // One refresher per account, each with its own single flight and its own user-wide lock file.
  // A lease the holder renews: one that stops answering (a closed code-server tab) loses it within 15 s (case K13).
  const refreshLock = (account: string) =>
    new FileLock(path.join(storageDir, 'locks', `refresh-${accountFileId(account)}.lock`), { staleMs: 15_000 }).acquire(settings.requestTimeoutMs() * 3 + 15_000);
  // Each account's token requests and their outcomes, shared by every window: the schedule that keeps automatic refresh from looping (case K10).
  const ledgerFor = (key: string) => new FileLedgerStore(path.join(storageDir, 'locks', `refresh-${accountFileId(key)}.ledger.json`));
  // Built on first use; each keeps its state for the rest of the window's life.
  const failed = (what: string) => (e: unknown) => {
    log.error(`${what} could not be loaded: ${(e as Error)?.message ?? e}`);
    throw e;
  };
  const envWriter = lazy<EnvWriter>(async () => {
    const { EnvWriter } = await import('./vscode/envWriter').catch(failed('the .env writer'));
    return new EnvWriter(context.workspaceState, secrets, () => settings.relayUrl(), log, key => model.get(key));
  });
  // Issue 13.6: a refresh token the user's app wrote back to a .env file this extension wrote, tried once when Keap refuses ours.
  const appRotations = async (set: TokenSet) => {
    const found = await (await envWriter()).appRotations(set);
    for (const f of found) log.addSecret(f.refreshToken);
    return found;
  };
  const refresherFor = (key: string) => new Refresher({ store: model.storeFor(key), tokenClient, credentials, now, log, lock: refreshLock, ledger: ledgerFor(key), appRotations });
  const autoRefresher = new AutoRefreshers(model, refresherFor, settings, log, now, () => keapClock.usedOffsetMs());
  // Set Client Credentials (in any window) resumes that client's paused refreshes.
  const resumeOnSecret = secrets.onDidChange(e => {
    if (e.key.startsWith(SECRET_KEYS.clientSecretPrefix)) autoRefresher.resumeClient(e.key.slice(SECRET_KEYS.clientSecretPrefix.length), 'client credentials set');
  });
  // Any SecretStorage call that works means the keyring answers again: kept tokens are stored at once (issue 19.4).
  const storeKept = secrets.onDidSucceed(() => autoRefresher.storeKeptNow('SecretStorage answered'));
  const statusBar = new TokenStatusBar(model, {
    health: key => autoRefresher.healthOf(key),
    onDidChangeHealth: autoRefresher.onDidChangeHealth,
    refreshTokenLifetimeMs: () => settings.refreshTokenLifetimeMs(),
    customEndpoint: set => customEndpointNote(set, settings.endpoints()),
    clockNote: () => autoRefresher.clockNote(),
    environment: key => appEnvironmentIn(context.globalState.get(ENVIRONMENT_MARKS_KEY), key),
  }, now);
  const tree = new SessionTreeProvider(
    model,
    () => settings.refreshTokenLifetimeMs(),
    { of: key => autoRefresher.healthOf(key), onDidChange: autoRefresher.onDidChangeHealth, clockNote: () => autoRefresher.clockNote() },
    now,
    set => customEndpointNote(set, settings.endpoints()),
  );
  // Issue 17.7: as installed, arguments another extension may pass are guarded (src/commandArguments); tests can ask for that too.
  let argumentsGuarded = context.extensionMode === vscode.ExtensionMode.Production;
  // A credential handed to whoever runs a command: asked once per window and credential, as installed (issue 17.7: another extension gets nothing unseen).
  const handOut = new HandOutConsent(
    () => argumentsGuarded,
    async label => {
      const allow = l10n.t('Allow in This Window');
      const picked = await vscode.window.showWarningMessage(
        l10n.t('Hand the credential of {0} to what asked for it?', label),
        { modal: true, detail: l10n.t('A launch configuration or task (${command:…}) asked, or another extension ran the command: VS Code cannot tell which. Allow it if you just started a launch or a task. Asked once per window.') },
        allow,
      );
      return picked === allow;
    },
  );
  const confirmHandOut = (credential: string, label: string) => handOut.allow(credential, label);
  const core: Core = { context, log, settings, secrets, model, autoRefresher, statusBar, tokenClient, storageDir, now, credentials, refreshLock, argumentsGuarded: () => argumentsGuarded, confirmHandOut };

  // API keys, Import Tokens, production marks: commands and the API Keys view, their code loaded on first use.
  const tokenImport = lazy(async () => new (await import('./vscode/importTokens').catch(failed('Import Tokens'))).TokenImport(core, envWriter, ledgerFor));
  tree.showEnvironments(key => appEnvironmentIn(context.globalState.get(ENVIRONMENT_MARKS_KEY), key));
  const keapCredentials = registerCredentials(core, envWriter, { importTokens: async args => (await tokenImport()).run(args && typeof args === 'object' ? args : undefined), marksChanged: () => {
      tree.refresh();
      // A mark decides where the terminal export puts the token (production: only bound or allowed folders).
      terminalExport.loaded?.update();
    } });

  const signInModule = () => import('./vscode/signInFeature').catch(failed('the sign-in'));
  const handledCallbacks = new vscode.EventEmitter<CallbackResult>();
  const signIn = lazy(async () => {
    const controller = (await signInModule()).buildSignIn(core);
    context.subscriptions.push(controller, controller.onDidHandleCallback(r => handledCallbacks.fire(r)));
    return controller;
  });
  const tokenTests = lazy<TokenTests>(async () => {
    const { TokenTests } = await import('./vscode/testToken').catch(failed('Test Token'));
    const tests = new TokenTests(model, autoRefresher, settings, log, now, (d, sent, got) => tokenClient.observeDate({ get: () => d }, sent, got));
    context.subscriptions.push(tests);
    tree.showTokenTests(tests);
    return tests;
  });
  const commands = lazy<AccountCommands>(async () => new (await import('./vscode/accountCommands').catch(failed('the account commands'))).AccountCommands(core, envWriter, tokenTests, keapCredentials));
  // New terminals get the token only with infusionsoft.terminal.exportTokens on: the export is built when it is on.
  const terminalExport = lazy(async () => {
    const { TerminalTokenExport } = await import('./vscode/terminalEnv').catch(failed('the terminal export'));
    const exporter = new TerminalTokenExport(context.environmentVariableCollection, model, log, context.globalState, async () => (await keapCredentials()).guard);
    context.subscriptions.push(exporter);
    return exporter;
  });
  const exportIfOn = () => void (terminalExportOn() && terminalExport().catch(() => undefined));
  // API keys in new terminals only with infusionsoft.apiKey.exportToTerminals on: built (with the API keys) when it is on.
  const apiKeyExport = lazy(async () => {
    const { ApiKeyTerminalExport } = await import('./vscode/terminalEnv').catch(failed('the terminal export'));
    const exporter = new ApiKeyTerminalExport(context.environmentVariableCollection, await keapCredentials(), log);
    context.subscriptions.push(exporter);
    return exporter;
  });
  const exportKeysIfOn = () => void (apiKeyTerminalExportOn() && apiKeyExport().catch(() => undefined));
  // issue 18: the IPC server keap-token asks runs while the user's setting is on and the workspace is trusted; the command builds it too.
  const tokenHelper = lazy<TokenHelper>(async () => {
    const { TokenHelper } = await import('./vscode/tokenHelper').catch(failed('the token helper'));
    const helper = new TokenHelper(core, async () => (await keapCredentials()).guard);
    context.subscriptions.push(helper);
    return helper;
  });
  const syncTokenHelper = () => {
    if (tokenHelperEnabled() && vscode.workspace.isTrusted) void tokenHelper().then(h => h.start()).catch(e => log.error(`the token helper could not start: ${(e as Error)?.message ?? e}`));
    else void tokenHelper.loaded?.stop();
  };
  // Whatever loads when, no token is ever written to VS Code's storage for terminals.
  context.environmentVariableCollection.persistent = false;

  // Keep inserted .env files in sync once SecretStorage holds an account's new pair (from this or another window).
  const syncedAccessTokens = new Map<string, string>();
  const syncEnv = model.onDidChangeAccount(({ key, set }) => {
    // Signed out: the next sign-in to this app is a change its files follow ('' never equals a token).
    if (!set) return void syncedAccessTokens.set(key, '');
    const seen = syncedAccessTokens.get(key);
    if (set.accessToken === seen) return;
    syncedAccessTokens.set(key, set.accessToken);
    if (seen !== undefined) void envWriter().then(w => w.sync(set)).catch(e => log.warn(`.env sync failed: ${(e as Error).message}`));
  });

  const signOut = async (arg?: unknown, options?: { envFiles?: unknown }) => (await commands()).signOut(arg, options);
  const authProvider = new KeapAuthenticationProvider(
    model,
    autoRefresher,
    async clientId => (await signIn()).signInAccount(clientId ? { clientId } : undefined),
    key => signOut(key),
  );

  const clockChanged = (why: string) => {
    autoRefresher.scheduleAll(why);
    statusBar.render();
    tree.refresh();
  };
  keapClock.onDidChange = () => {
    const off = keapClock.usedOffsetMs();
    log.info(off ? `Keap's clock is ${Math.round(Math.abs(off) / 1000)} s ${off > 0 ? 'ahead of' : 'behind'} this machine's: a refresh goes out when either says the token is due` : "refreshes timed by this machine's clock");
    clockChanged('clock offset');
  };
  // A sleep or a clock set by hand: noticed at the next tick (30 s), and every schedule decided again.
  const clockWatch = new ClockWatch({ ...REAL_TIMERS, now, monotonic: () => performance.now() }, jump => {
    log.warn(`local clock jumped by ${Math.round(jump / 1000)} s`);
    // An offset to Keap's clock measured against the old local clock no longer holds: moved by a clock set back, forgotten otherwise.
    keapClock.localClockJumped(jump);
    clockChanged('local clock jumped');
  });

  const treeView = vscode.window.createTreeView('infusionsoft.session', { treeDataProvider: tree, showCollapseAll: false });
  context.subscriptions.push(
    log,
    tree,
    { dispose: () => clockWatch.dispose() },
    authProvider,
    vscode.authentication.registerAuthenticationProvider('infusionsoft', l10n.t('Keap'), authProvider, { supportsMultipleAccounts: true }),
    syncEnv,
    handledCallbacks,
    // `target` (tests, other extensions): an absolute .env path; `account`: which account (else asked when several).
    vscode.commands.registerCommand('infusionsoft.insertIntoEnv', async (arg?: unknown, account?: unknown) => (await commands()).insertIntoEnv(arg, account)),
    vscode.commands.registerCommand('infusionsoft.switchAccount', async (arg?: unknown) => (await commands()).switchAccount(arg)),
    // The row action: make that app the active one (a tree node or an account key).
    vscode.commands.registerCommand('infusionsoft.useAccount', async (arg?: unknown) => (await commands()).switchAccount(arg)),
    // Keap's authorize page lets the user pick which of their Keap apps; another client ID: Set Client Credentials first.
    vscode.commands.registerCommand('infusionsoft.addAccount', async () => (await signIn()).signIn()),
    treeView,
    model.onDidChange(() => {
      treeView.message = model.staleView ? l10n.t('Another window changed the Keap sign-ins; this window has not caught up. Reload the window (Developer: Reload Window) to see them.') : undefined;
    }),
    vscode.commands.registerCommand('infusionsoft.copyAccessToken', async (arg?: unknown) => (await commands()).copy('access', arg)),
    vscode.commands.registerCommand('infusionsoft.copyRefreshToken', async (arg?: unknown) => (await commands()).copy('refresh', arg)),
    model,
    autoRefresher,
    resumeOnSecret,
    storeKept,
    statusBar,
    // Only forwards: a callback may be the first thing a window sees (a sign-in started in another one).
    vscode.window.registerUriHandler({ handleUri: uri => void signIn().then(s => s.handleUri(uri), () => undefined) }),
    vscode.commands.registerCommand('infusionsoft.signIn', async (arg?: unknown) => {
      // From an app's row or "Sign In Again": that app's client ID, and its name as a hint for Keap's page.
      const o = (isSessionNode(arg) ? model.get(arg.account) : arg && typeof arg === 'object' ? arg : undefined) as { clientId?: unknown; appName?: unknown; signInAgain?: unknown } | undefined;
      return (await signIn()).signIn({
        clientId: typeof o?.clientId === 'string' ? o.clientId : undefined,
        appName: typeof o?.appName === 'string' ? o.appName : undefined,
        // The palette, the walkthrough or a view title (no argument) while signed in: ask first. A row, a
        // button that names the app, or `signInAgain` (tests, scripts) answers it.
        ifSignedIn: typeof o?.signInAgain === 'boolean' ? (o.signInAgain ? 'proceed' : 'cancel') : arg === undefined ? 'ask' : 'proceed',
      });
    }),
    // Nothing to cancel in a window whose sign-in was never built.
    vscode.commands.registerCommand('infusionsoft.cancelSignIn', () => signIn.loaded?.cancelActive()),
    vscode.commands.registerCommand('infusionsoft.pasteCallbackUrl', async (value?: string) =>
      (await signIn()).paste(typeof value === 'string' ? value : undefined, argumentUse('pasteCallbackUrl.value', argumentsGuarded) === 'prefill'),
    ),
    vscode.commands.registerCommand('infusionsoft.setClientCredentials', async (args?: { clientId?: string; clientSecret?: string; quiet?: boolean }) =>
      (await signInModule()).setClientCredentials(settings, secrets, guardedCredentialArgs(args && typeof args === 'object' ? args : undefined, argumentsGuarded)),
    ),
    vscode.commands.registerCommand('infusionsoft.signOut', signOut),
    // The view's title button: VS Code hands it the selected row, which is not a choice the user made there; it always asks (which app, or a confirmation).
    vscode.commands.registerCommand('infusionsoft.signOutOfView', () => signOut()),
    vscode.commands.registerCommand('infusionsoft.refreshToken', async (arg?: unknown) => (await commands()).refreshToken(arg)),
    vscode.commands.registerCommand('infusionsoft.showLog', () => log.channel.show()),
    // `target` (tests, scripts): the folder to write to; otherwise the user picks one.
    vscode.commands.registerCommand('infusionsoft.saveRelayPage', async (target?: unknown) => (await signInModule()).saveRelayPage(context.extensionUri, target)),
    // From the palette (the active app) or an app's row; resolves to what Keap answered (src/keap/tokenCheck TokenTest).
    vscode.commands.registerCommand('infusionsoft.testToken', async (arg?: unknown) => (await commands()).testToken(arg)),
    vscode.workspace.onDidChangeConfiguration(e => e.affectsConfiguration('infusionsoft.terminal.exportTokens') && exportIfOn()),
    vscode.workspace.onDidChangeConfiguration(e => e.affectsConfiguration('infusionsoft.apiKey.exportToTerminals') && exportKeysIfOn()),
    // For `${command:infusionsoft.accessToken}` in launch.json and tasks.json: resolves to the token, or fails the launch with the reason.
    vscode.commands.registerCommand('infusionsoft.accessToken', async (arg?: unknown) => (await tokenHelper()).accessToken(arg)),
    vscode.workspace.onDidChangeConfiguration(e => e.affectsConfiguration('infusionsoft.tokenHelper.enabled') && syncTokenHelper()),
    vscode.workspace.onDidGrantWorkspaceTrust(syncTokenHelper),
  );
  // The first read publishes the session, which schedules the first refresh decision; a window that
  // starts with a fresh token makes no request at all. It starts right after activate() returns
  // (every command, view and handler is registered by then, and each waits for a first read of
  // its own when it runs earlier). The terminal export has nothing to hand out before that read,
  // so its setting is looked at after it.
  setImmediate(() =>
    void model.start().finally(() => {
      exportIfOn();
      exportKeysIfOn();
      syncTokenHelper();
    }),
  );
  // npm run bench reads these figures (ms): activate() itself, and evaluating dist/extension.js (marks from scripts/bundle.js).
  const load = (globalThis as { __keapLoad?: number[] }).__keapLoad;
  const cost = `in ${(performance.now() - activateStart).toFixed(2)} ms${load?.length === 2 ? `; evaluating dist/extension.js took ${(load[1] - load[0]).toFixed(2)} ms` : ''}`;
  log.info(`activated ${cost} (${vscode.env.appName} ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'}${vscode.env.remoteName ? `, remote ${vscode.env.remoteName}` : ''})`);

  if (context.extensionMode !== vscode.ExtensionMode.Production) {
    return {
      statusText: () => statusBar.text,
      statusTooltip: () => statusBar.tooltip,
      statusBackground: () => statusBar.background,
      signIn,
      onDidHandleCallback: handledCallbacks.event,
      model,
      autoRefresher,
      tree,
      authProvider,
      storageDir,
      terminalEnv: context.environmentVariableCollection,
      tokenHelper: () => tokenHelper.loaded,
      statusTooltipMarkdown: () => statusBar.tooltipMarkdown,
      guardArguments: (on: boolean) => void (argumentsGuarded = on),
    };
  }
  return undefined;
}

export function deactivate(): void {}
