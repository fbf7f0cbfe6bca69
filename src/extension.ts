import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { KeapTokenClient } from './keap/tokenClient';
import { ChangeSignal } from './session/changeSignal';
import { ClaimRegistry, FileLock } from './session/fileLock';
import { Refresher } from './session/refresher';
import { SignInService } from './signin/signInService';
import { AutoRefresher } from './vscode/autoRefresh';
import { KeapAuthenticationProvider } from './vscode/authProvider';
import { EnvWriter } from './vscode/envWriter';
import { Settings } from './vscode/config';
import { setClientCredentials } from './vscode/credentials';
import { RedactingLogger } from './vscode/log';
import { OutcomeChannel, SecretPendingStore, Secrets, SecretSessionStore } from './vscode/secrets';
import { SessionModel } from './vscode/sessionModel';
import { SignInController } from './vscode/signIn';
import { TokenStatusBar } from './vscode/statusBar';
import { SessionTreeProvider } from './vscode/tree';

/** What the extension returns from `activate`, only in development and test mode (it can read the status). */
export interface TestApi {
  statusText(): string;
  signIn: SignInController;
  model: SessionModel;
  autoRefresher: AutoRefresher;
  tree: SessionTreeProvider;
  authProvider: KeapAuthenticationProvider;
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

  const tokenClient = new KeapTokenClient({ endpoints: () => settings.endpoints(), timeoutMs: () => settings.requestTimeoutMs(), now, log });
  const model = new SessionModel(new SecretSessionStore(secrets, log, now), secrets, new ChangeSignal(storageDir, 'session'), log);
  // Every write goes through the model's store, so other windows hear of it.
  const store = model.store;
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
      read: () => store.read(),
      write: async set => {
        log.addSecret(set.accessToken);
        log.addSecret(set.refreshToken);
        await store.write(set);
      },
      clear: () => store.clear(),
    },
    claim: s => claims.claim(s),
    wasClaimed: s => claims.wasClaimed(s),
    credentials,
    publishOutcome: o => outcomes.publish(o).catch(e => log.warn(`could not publish the sign-in outcome: ${(e as Error).message}`)),
  });
  const refresher = new Refresher({
    store,
    tokenClient,
    credentials,
    now,
    log,
    lock: clientId =>
      new FileLock(path.join(storageDir, 'locks', `refresh-${Buffer.from(clientId).toString('hex').slice(0, 64)}.lock`), {
        staleMs: settings.requestTimeoutMs() * 2 + 10_000,
      }).acquire(settings.requestTimeoutMs() * 3 + 15_000),
  });
  const autoRefresher = new AutoRefresher(model, refresher, settings, log, now);
  const statusBar = new TokenStatusBar(model, {
    health: () => autoRefresher.health,
    onDidChangeHealth: autoRefresher.onDidChangeHealth,
    refreshTokenLifetimeMs: () => settings.refreshTokenLifetimeMs(),
  }, now);
  const signIn = new SignInController(service, settings, secrets, outcomes, model, statusBar, log, now);

  const tree = new SessionTreeProvider(model, () => settings.refreshTokenLifetimeMs(), now);
  const copy = async (which: 'access' | 'refresh') => {
    const set = model.tokenSet ?? (await model.reload());
    if (!set) return void vscode.window.showWarningMessage(vscode.l10n.t('Infusionsoft: not signed in.'));
    await vscode.env.clipboard.writeText(which === 'access' ? set.accessToken : set.refreshToken);
    void vscode.window.showInformationMessage(
      which === 'access'
        ? vscode.l10n.t('Keap access token copied to the clipboard.')
        : vscode.l10n.t('Keap refresh token copied. It works once: whatever uses it must store the new one Keap returns, and this VS Code session will then need to sign in again.'),
    );
  };

  const envWriter = new EnvWriter(context.workspaceState, secrets, () => settings.relayUrl(), log);
  // Keep inserted .env files in sync once SecretStorage holds a new pair (from this or another window).
  let syncedAccessToken: string | undefined;
  const syncEnv = model.onDidChange(set => {
    if (!set || set.accessToken === syncedAccessToken) return;
    const first = syncedAccessToken === undefined;
    syncedAccessToken = set.accessToken;
    if (!first) void envWriter.sync(set).catch(e => log.warn(`.env sync failed: ${(e as Error).message}`));
  });

  const signOut = async () => {
    try {
      await store.clear();
      model.set(undefined);
      log.info('signed out');
    } catch (e) {
      void vscode.window.showErrorMessage((e as Error).message);
    }
  };
  const authProvider = new KeapAuthenticationProvider(model, autoRefresher, () => signIn.signIn(), signOut);

  context.subscriptions.push(
    log,
    tree,
    authProvider,
    vscode.authentication.registerAuthenticationProvider('infusionsoft', vscode.l10n.t('Infusionsoft (Keap)'), authProvider, { supportsMultipleAccounts: false }),
    syncEnv,
    vscode.commands.registerCommand('infusionsoft.insertIntoEnv', async (target?: unknown) =>
      envWriter.insert(model.tokenSet ?? (await model.reload()), typeof target === 'string' ? target : undefined),
    ),
    vscode.window.createTreeView('infusionsoft.session', { treeDataProvider: tree, showCollapseAll: false }),
    vscode.commands.registerCommand('infusionsoft.copyAccessToken', () => copy('access')),
    vscode.commands.registerCommand('infusionsoft.copyRefreshToken', () => copy('refresh')),
    model,
    autoRefresher,
    statusBar,
    signIn,
    vscode.window.registerUriHandler(signIn),
    vscode.commands.registerCommand('infusionsoft.signIn', () => signIn.signIn()),
    vscode.commands.registerCommand('infusionsoft.cancelSignIn', () => signIn.cancelActive()),
    vscode.commands.registerCommand('infusionsoft.pasteCallbackUrl', (value?: string) => signIn.paste(typeof value === 'string' ? value : undefined)),
    vscode.commands.registerCommand('infusionsoft.setClientCredentials', (args?: { clientId?: string; clientSecret?: string }) =>
      setClientCredentials(settings, secrets, args && typeof args === 'object' ? args : undefined),
    ),
    vscode.commands.registerCommand('infusionsoft.signOut', signOut),
    vscode.commands.registerCommand('infusionsoft.refreshToken', async () => (await autoRefresher.refreshNow())?.kind ?? 'failed'),
    vscode.commands.registerCommand('infusionsoft.showLog', () => log.channel.show()),
  );
  // The first read publishes the session, which schedules the first refresh decision; a window that
  // starts with a fresh token makes no request at all.
  void model.reload();
  log.info(`activated (${vscode.env.appName} ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'}${vscode.env.remoteName ? `, remote ${vscode.env.remoteName}` : ''})`);

  if (context.extensionMode !== vscode.ExtensionMode.Production) {
    return { statusText: () => statusBar.text, signIn, model, autoRefresher, tree, authProvider };
  }
  return undefined;
}

export function deactivate(): void {}
