import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { KeapClock } from './keap/keapClock';
import { KeapTokenClient } from './keap/tokenClient';
import { accountFileId, accountKey, AccountStore, StaleViewError } from './session/accounts';
import { ChangeSignal } from './session/changeSignal';
import { ClockWatch } from './session/clockWatch';
import { REAL_TIMERS } from './session/timeLimit';
import { ClaimRegistry, FileLock } from './session/fileLock';
import { FileLedgerStore } from './session/ledgerFile';
import { Refresher } from './session/refresher';
import { TokenSet } from './session/tokenSet';
import { SignInService } from './signin/signInService';
import { AutoRefreshers } from './vscode/autoRefresh';
import { ALL_ACCOUNTS, resolveAccount, switchAccount } from './vscode/accountPicker';
import { KeapAuthenticationProvider } from './vscode/authProvider';
import { EnvWriter } from './vscode/envWriter';
import { customEndpointNote, Settings } from './vscode/config';
import { setClientCredentials } from './vscode/credentials';
import { RedactingLogger } from './vscode/log';
import { OutcomeChannel, SECRET_KEYS, SecretPendingStore, Secrets } from './vscode/secrets';
import { accountListSignal, SessionModel } from './vscode/sessionModel';
import { saveRelayPage } from './vscode/relayPage';
import { offerReload, SignInController } from './vscode/signIn';
import { TokenStatusBar } from './vscode/statusBar';
import { TerminalTokenExport } from './vscode/terminalEnv';
import { TokenTests } from './vscode/testToken';
import { isSessionNode, SessionTreeProvider } from './vscode/tree';

/** What the extension returns from `activate`, only in development and test mode (it can read the status). */
export interface TestApi {
  statusText(): string;
  statusTooltip(): string;
  signIn: SignInController;
  model: SessionModel;
  autoRefresher: AutoRefreshers;
  tree: SessionTreeProvider;
  authProvider: KeapAuthenticationProvider;
  /** The folder of lock and signal files shared by every window (globalStorageUri). */
  storageDir: string;
  /** What new integrated terminals get (infusionsoft.terminal.exportTokens). */
  terminalEnv: vscode.EnvironmentVariableCollection;
}

/** Builds the object graph and registers disposables; nothing else. */
export function activate(context: vscode.ExtensionContext): TestApi | undefined {
  const log = new RedactingLogger(vscode.window.createOutputChannel('Infusionsoft', { log: true }));
  const settings = new Settings();
  const secrets = new Secrets(context.secrets);
  const now = () => Date.now();
  const storageDir = context.globalStorageUri.scheme === 'file' ? context.globalStorageUri.fsPath : path.join(os.tmpdir(), 'infusionsoft-oauth');
  const claims = new ClaimRegistry(path.join(storageDir, 'claims'));
  void claims.prune(86_400_000).catch(() => undefined);

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
  const outcomes = new OutcomeChannel(secrets, new ChangeSignal(storageDir, 'signin'));
  const credentials = async (clientId: string) => {
    const clientSecret = await secrets.clientSecret(clientId);
    log.addSecret(clientSecret);
    return clientSecret ? { clientId, clientSecret } : undefined;
  };
  const service = new SignInService({
    now,
    log,
    tokenClient,
    pending: new SecretPendingStore(secrets),
    sessions: {
      read: key => model.storeFor(key).read(),
      // Every write goes through the model's per-account store, so other windows hear of it.
      write: async set => {
        log.addSecret(set.accessToken);
        log.addSecret(set.refreshToken);
        await model.storeFor(accountKey(set)).write(set);
      },
    },
    claim: s => claims.claim(s),
    wasClaimed: s => claims.wasClaimed(s),
    credentials,
    publishOutcome: o => outcomes.publish(o).catch(e => log.warn(`could not publish the sign-in outcome: ${(e as Error).message}`)),
  });
  // One refresher per account, each with its own single flight and its own user-wide lock file.
  // A lease the holder renews: one that stops answering (a closed code-server tab) loses it within 15 s (case K13).
  const refreshLock = (account: string) =>
    new FileLock(path.join(storageDir, 'locks', `refresh-${accountFileId(account)}.lock`), { staleMs: 15_000 }).acquire(settings.requestTimeoutMs() * 3 + 15_000);
  // Each account's token requests and their outcomes, shared by every window: the schedule that keeps automatic refresh from looping (case K10).
  const ledgerFor = (key: string) => new FileLedgerStore(path.join(storageDir, 'locks', `refresh-${accountFileId(key)}.ledger.json`));
  const envWriter = new EnvWriter(context.workspaceState, secrets, () => settings.relayUrl(), log);
  // Issue 13.6: a refresh token the user's app wrote back to a .env file this extension wrote, tried once when Keap refuses ours.
  const appRotations = async (set: TokenSet) => {
    const found = await envWriter.appRotations(set);
    for (const f of found) log.addSecret(f.refreshToken);
    return found;
  };
  const refresherFor = (key: string) => new Refresher({ store: model.storeFor(key), tokenClient, credentials, now, log, lock: refreshLock, ledger: ledgerFor(key), appRotations });
  const autoRefresher = new AutoRefreshers(model, refresherFor, settings, log, now, () => keapClock.usedOffsetMs());
  // Set Client Credentials (in any window) resumes that client's paused refreshes.
  const resumeOnSecret = secrets.onDidChange(e => {
    if (e.key.startsWith(SECRET_KEYS.clientSecretPrefix)) autoRefresher.resumeClient(e.key.slice(SECRET_KEYS.clientSecretPrefix.length), 'client credentials set');
  });
  const statusBar = new TokenStatusBar(model, {
    health: key => autoRefresher.healthOf(key),
    onDidChangeHealth: autoRefresher.onDidChangeHealth,
    refreshTokenLifetimeMs: () => settings.refreshTokenLifetimeMs(),
    customEndpoint: set => customEndpointNote(set, settings.endpoints()),
    clockNote: () => autoRefresher.clockNote(),
  }, now);
  const signIn = new SignInController(service, settings, secrets, outcomes, model, statusBar, log, now);

  const tokenTests = new TokenTests(model, autoRefresher, settings, log, now, (d, sent, got) => tokenClient.observeDate({ get: () => d }, sent, got));
  const tree = new SessionTreeProvider(
    model,
    () => settings.refreshTokenLifetimeMs(),
    { of: key => autoRefresher.healthOf(key), onDidChange: autoRefresher.onDidChangeHealth, clockNote: () => autoRefresher.clockNote() },
    now,
    set => customEndpointNote(set, settings.endpoints()),
    tokenTests,
  );
  const copy = async (which: 'access' | 'refresh', arg: unknown) => {
    const key = await resolveAccount(model, arg, false);
    const set = key === undefined ? undefined : model.get(key);
    if (!set) return void vscode.window.showWarningMessage(vscode.l10n.t('Not signed in to Keap.'));
    await vscode.env.clipboard.writeText(which === 'access' ? set.accessToken : set.refreshToken);
    const app = set.appName ?? set.clientId;
    void vscode.window.showInformationMessage(
      which === 'access'
        ? vscode.l10n.t('Access token of Keap app {0} copied to the clipboard.', app)
        : vscode.l10n.t('Refresh token of Keap app {0} copied. It works once: whatever uses it must store the new one Keap returns, and VS Code will then need to sign in to {0} again.', app),
    );
  };

  // Keep inserted .env files in sync once SecretStorage holds an account's new pair (from this or another window).
  const syncedAccessTokens = new Map<string, string>();
  const syncEnv = model.onDidChangeAccount(({ key, set }) => {
    // Signed out: the next sign-in to this app is a change its files follow ('' never equals a token).
    if (!set) return void syncedAccessTokens.set(key, '');
    const seen = syncedAccessTokens.get(key);
    if (set.accessToken === seen) return;
    syncedAccessTokens.set(key, set.accessToken);
    if (seen !== undefined) void envWriter.sync(set).catch(e => log.warn(`.env sync failed: ${(e as Error).message}`));
  });

  /**
   * Signs one account out (`key`), or asks which when several are signed in; `all` signs every one
   * out. Then offers to remove what was written into .env files; `options.envFiles` ('remove' or
   * 'keep') answers that for tests and other extensions.
   */
  const signOut = async (arg?: unknown, options?: { envFiles?: unknown }) => {
    try {
      const picked =
        arg === 'all' || (arg && typeof arg === 'object' && (arg as { all?: unknown }).all === true)
          ? ALL_ACCOUNTS
          : await resolveAccount(model, arg, { placeHolder: vscode.l10n.t('Sign out of which Keap app?'), allLabel: `$(sign-out) ${vscode.l10n.t('All Keap Apps')}` });
      let keys = picked === ALL_ACCOUNTS ? model.accounts.map(accountKey) : picked === undefined ? [] : [picked];
      if (arg === undefined && keys.length === 1 && model.accounts.length === 1) {
        // From the palette or the view's title with one app: nothing was picked, so confirm (several apps: the pick is the confirmation).
        const signOutLabel = vscode.l10n.t('Sign Out');
        const app = model.get(keys[0])?.appName ?? keys[0];
        const ok = await vscode.window.showWarningMessage(
          vscode.l10n.t('Sign out of Keap app {0}?', app),
          { modal: true, detail: vscode.l10n.t('VS Code forgets its tokens; signing in again needs the browser. Keap itself keeps the app authorized.') },
          signOutLabel,
        );
        if (ok !== signOutLabel) keys = [];
      }
      for (const key of keys) {
        const app = model.get(key)?.appName ?? key;
        // Under the account's refresh lock: a refresh running in any window finishes first (and
        // its write lands before the removal), or finds the account gone; it never brings it back.
        const handle = await refreshLock(key);
        try {
          await model.remove(key);
        } finally {
          await handle.release();
        }
        log.info(`signed out of Keap app ${app}`);
      }
      const envFiles = options?.envFiles === 'remove' || options?.envFiles === 'keep' ? options.envFiles : undefined;
      if (keys.length > 0) await envWriter.afterSignOut(keys, envFiles);
    } catch (e) {
      if (e instanceof StaleViewError) offerReload(vscode.l10n.t('Another window changed the Keap sign-ins and this window has not caught up. Reload it, then sign out.'));
      else void vscode.window.showErrorMessage((e as Error).message);
    }
  };
  const authProvider = new KeapAuthenticationProvider(model, autoRefresher, clientId => signIn.signInAccount(clientId ? { clientId } : undefined), key => signOut(key));

  const clockChanged = (why: string) => {
    autoRefresher.scheduleAll(why);
    statusBar.render();
    tree.refresh();
  };
  keapClock.onDidChange = () => {
    const off = keapClock.usedOffsetMs();
    log.info(`refreshes timed by ${off ? `Keap's clock (${Math.round(off / 1000)} s ahead of this machine's)` : "this machine's clock"}`);
    clockChanged('clock offset');
  };
  // A sleep or a clock set by hand: noticed at the next tick (30 s), and every schedule decided again.
  const clockWatch = new ClockWatch({ ...REAL_TIMERS, now, monotonic: () => performance.now() }, jump => {
    log.warn(`local clock jumped by ${Math.round(jump / 1000)} s`);
    // An offset to Keap's clock measured against the old local clock no longer holds.
    keapClock.forget();
    clockChanged('local clock jumped');
  });

  const treeView = vscode.window.createTreeView('infusionsoft.session', { treeDataProvider: tree, showCollapseAll: false });
  context.subscriptions.push(
    log,
    tree,
    { dispose: () => clockWatch.dispose() },
    authProvider,
    vscode.authentication.registerAuthenticationProvider('infusionsoft', vscode.l10n.t('Keap'), authProvider, { supportsMultipleAccounts: true }),
    syncEnv,
    // `target` (tests, other extensions): an absolute .env path; `account`: which account (else asked when several).
    vscode.commands.registerCommand('infusionsoft.insertIntoEnv', async (arg?: unknown, account?: unknown) => {
      const target = typeof arg === 'string' ? arg : undefined;
      const key = await resolveAccount(model, isSessionNode(arg) ? arg : account, { placeHolder: vscode.l10n.t('Insert the token of which Keap app?') });
      if (key === undefined && model.accounts.length > 1) return undefined;
      return envWriter.insert(key === undefined ? undefined : model.get(key), target);
    }),
    vscode.commands.registerCommand('infusionsoft.switchAccount', (arg?: unknown) => switchAccount(model, arg)),
    // The row action: make that app the active one (a tree node or an account key).
    vscode.commands.registerCommand('infusionsoft.useAccount', (arg?: unknown) => switchAccount(model, arg)),
    // Keap's authorize page lets the user pick which of their Keap apps; another client ID: Set Client Credentials first.
    vscode.commands.registerCommand('infusionsoft.addAccount', () => signIn.signIn()),
    treeView,
    model.onDidChange(() => {
      treeView.message = model.staleView ? vscode.l10n.t('Another window changed the Keap sign-ins; this window has not caught up. Reload the window (Developer: Reload Window) to see them.') : undefined;
    }),
    vscode.commands.registerCommand('infusionsoft.copyAccessToken', (arg?: unknown) => copy('access', arg)),
    vscode.commands.registerCommand('infusionsoft.copyRefreshToken', (arg?: unknown) => copy('refresh', arg)),
    model,
    autoRefresher,
    resumeOnSecret,
    statusBar,
    signIn,
    vscode.window.registerUriHandler(signIn),
    vscode.commands.registerCommand('infusionsoft.signIn', (arg?: unknown) => {
      // From an app's row or "Sign In Again": that app's client ID, and its name as a hint for Keap's page.
      const o = (isSessionNode(arg) ? model.get(arg.account) : arg && typeof arg === 'object' ? arg : undefined) as { clientId?: unknown; appName?: unknown; signInAgain?: unknown } | undefined;
      return signIn.signIn({
        clientId: typeof o?.clientId === 'string' ? o.clientId : undefined,
        appName: typeof o?.appName === 'string' ? o.appName : undefined,
        // The palette, the walkthrough or a view title (no argument) while signed in: ask first. A row, a
        // button that names the app, or `signInAgain` (tests, scripts) answers it.
        ifSignedIn: typeof o?.signInAgain === 'boolean' ? (o.signInAgain ? 'proceed' : 'cancel') : arg === undefined ? 'ask' : 'proceed',
      });
    }),
    vscode.commands.registerCommand('infusionsoft.cancelSignIn', () => signIn.cancelActive()),
    vscode.commands.registerCommand('infusionsoft.pasteCallbackUrl', (value?: string) => signIn.paste(typeof value === 'string' ? value : undefined)),
    vscode.commands.registerCommand('infusionsoft.setClientCredentials', (args?: { clientId?: string; clientSecret?: string; quiet?: boolean }) =>
      setClientCredentials(settings, secrets, args && typeof args === 'object' ? args : undefined),
    ),
    vscode.commands.registerCommand('infusionsoft.signOut', signOut),
    vscode.commands.registerCommand('infusionsoft.refreshToken', async (arg?: unknown) => {
      const key = await resolveAccount(model, arg, false);
      return key === undefined ? 'signed-out' : ((await autoRefresher.refreshNow(key))?.kind ?? 'failed');
    }),
    vscode.commands.registerCommand('infusionsoft.showLog', () => log.channel.show()),
    // `target` (tests, scripts): the folder to write to; otherwise the user picks one.
    vscode.commands.registerCommand('infusionsoft.saveRelayPage', (target?: unknown) => saveRelayPage(context.extensionUri, target)),
    tokenTests,
    // From the palette (the active app) or an app's row; resolves to what Keap answered (src/keap/tokenCheck TokenTest).
    vscode.commands.registerCommand('infusionsoft.testToken', async (arg?: unknown) => {
      const key = await resolveAccount(model, arg, false);
      return key === undefined ? void vscode.window.showWarningMessage(vscode.l10n.t('Not signed in to Keap.')) : tokenTests.run(key);
    }),
    new TerminalTokenExport(context.environmentVariableCollection, model, log),
  );
  // The first read publishes the session, which schedules the first refresh decision; a window that
  // starts with a fresh token makes no request at all.
  void model.reload();
  log.info(`activated (${vscode.env.appName} ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'}${vscode.env.remoteName ? `, remote ${vscode.env.remoteName}` : ''})`);

  if (context.extensionMode !== vscode.ExtensionMode.Production) {
    return { statusText: () => statusBar.text, statusTooltip: () => statusBar.tooltip, signIn, model, autoRefresher, tree, authProvider, storageDir, terminalEnv: context.environmentVariableCollection };
  }
  return undefined;
}

export function deactivate(): void {}
