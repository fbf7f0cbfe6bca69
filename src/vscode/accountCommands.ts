import vscode = require('vscode');
import { l10n } from 'vscode';
import { argumentUse } from '../commandArguments';
import { outsideText } from '../outsideText';
import { accountKey, StaleViewError } from '../session/accounts';
import type { TokenTest } from '../keap/tokenCheck';
import { ALL_ACCOUNTS, resolveAccount, switchAccount } from './accountPicker';
import type { Core } from './core';
import type { EnvWriter } from './envWriter';
import { offerReload } from './sessionModel';
import type { TokenTests } from './testToken';
import type { Credentials } from './credentialsFeature';
import { isSessionNode } from './tree';

/**
 * The commands that act on a signed-in account: Copy, Sign Out, Insert into .env, Switch Keap App,
 * Refresh Token, Test Token. Built at the first of them (src/extension.ts registers each as a shell
 * that loads this file, dist/commands.js); the `.env` writer and Test Token are built in turn at
 * their own first use.
 */
export class AccountCommands {
  constructor(
    private readonly core: Core,
    private readonly envWriter: () => Promise<EnvWriter>,
    private readonly tokenTests: () => Promise<TokenTests>,
    /** The production guard and the marks (src/vscode/credentialsFeature), built on first use. */
    private readonly credentials?: () => Promise<Credentials>,
  ) {}

  /** Copy Access Token / Copy Refresh Token, of the active account or the row's. */
  async copy(which: 'access' | 'refresh', arg: unknown): Promise<void> {
    const { model } = this.core;
    const key = await resolveAccount(model, arg, false);
    const set = key === undefined ? undefined : model.get(key);
    if (!set) return void vscode.window.showWarningMessage(l10n.t('Not signed in to Keap.'));
    if (which === 'refresh' && argumentUse('copyRefreshToken', this.core.argumentsGuarded()) === 'confirm') {
      // Any extension can run this command and read the clipboard after it (issue 17.7): the user says yes first.
      const copy = l10n.t('Copy Refresh Token');
      const ok = await vscode.window.showWarningMessage(
        l10n.t('Copy the refresh token of Keap app {0} to the clipboard?', outsideText(set.appName ?? set.clientId, 'message')),
        { modal: true, detail: l10n.t('It works once: whatever uses it gets a new pair from Keap, and VS Code must then sign in again. Anything that can read the clipboard can read it.') },
        copy,
      );
      if (ok !== copy) return;
    }
    await vscode.env.clipboard.writeText(which === 'access' ? set.accessToken : set.refreshToken);
    const app = set.appName ?? set.clientId;
    void vscode.window.showInformationMessage(
      which === 'access'
        ? l10n.t('Access token of Keap app {0} copied to the clipboard.', app)
        : l10n.t('Refresh token of Keap app {0} copied. It works once: whatever uses it must store the new one Keap returns, and VS Code will then need to sign in to {0} again.', app),
    );
  }

  /**
   * Signs one account out (`key`), or asks which when several are signed in; `all` signs every one
   * out. Then offers to remove what was written into .env files; `options.envFiles` ('remove' or
   * 'keep') answers that for tests and other extensions.
   */
  async signOut(arg?: unknown, options?: { envFiles?: unknown }): Promise<void> {
    const { model, log } = this.core;
    try {
      const picked =
        arg === 'all' || (arg && typeof arg === 'object' && (arg as { all?: unknown }).all === true)
          ? ALL_ACCOUNTS
          : await resolveAccount(model, arg, { placeHolder: l10n.t('Sign out of which Keap app?'), allLabel: `$(sign-out) ${l10n.t('All Keap Apps')}` });
      let keys = picked === ALL_ACCOUNTS ? model.accounts.map(accountKey) : picked === undefined ? [] : [picked];
      if (arg === undefined && keys.length === 1 && model.accounts.length === 1) {
        // From the palette or the view's title with one app: nothing was picked, so confirm (several apps: the pick is the confirmation).
        const signOutLabel = l10n.t('Sign Out');
        const app = model.get(keys[0])?.appName ?? keys[0];
        const ok = await vscode.window.showWarningMessage(
          l10n.t('Sign out of Keap app {0}?', app),
          { modal: true, detail: l10n.t('VS Code forgets its tokens; signing in again needs the browser. Keap itself keeps the app authorized.') },
          signOutLabel,
        );
        if (ok !== signOutLabel) keys = [];
      }
      for (const key of keys) {
        const app = model.get(key)?.appName ?? key;
        // Under the account's refresh lock: a refresh running in any window finishes first (and
        // its write lands before the removal), or finds the account gone; it never brings it back.
        const handle = await this.core.refreshLock(key);
        try {
          await model.remove(key);
        } finally {
          await handle.release();
        }
        log.info(`signed out of Keap app ${app}`);
      }
      const envFiles = options?.envFiles === 'remove' || options?.envFiles === 'keep' ? options.envFiles : undefined;
      if (keys.length > 0) await (await this.envWriter()).afterSignOut(keys, envFiles);
    } catch (e) {
      if (e instanceof StaleViewError) offerReload(l10n.t('Another window changed the Keap sign-ins and this window has not caught up. Reload it, then sign out.'));
      else void vscode.window.showErrorMessage(outsideText((e as Error).message, 'message', 1000));
    }
  }

  /** Insert Token into .env. `target` (tests, other extensions): an absolute .env path; `account`: which account (else asked when several). */
  async insertIntoEnv(arg?: unknown, account?: unknown): Promise<vscode.Uri | undefined> {
    const { model } = this.core;
    const target = typeof arg === 'string' ? arg : undefined;
    const key = await resolveAccount(model, isSessionNode(arg) ? arg : account, { placeHolder: l10n.t('Insert the token of which Keap app?') });
    if (key === undefined && model.accounts.length > 1) return undefined;
    if (target !== undefined && argumentUse('insertIntoEnv.target', this.core.argumentsGuarded()) === 'confirm') {
      // A file path came with the command, as another extension would pass it (issue 17.7): the user names the file's fate.
      const write = l10n.t('Write Tokens');
      const ok = await vscode.window.showWarningMessage(
        l10n.t('Write the Keap tokens into {0}?', outsideText(target, 'message', 300)),
        { modal: true, detail: l10n.t('This command was run with a file path (as another extension or a task does), not from the Keap view.') },
        write,
      );
      if (ok !== write) return undefined;
    }
    const credentials = this.credentials;
    // A production app's token into a folder bound to something else or to nothing: asked first (once per folder).
    const mayWrite = credentials && key !== undefined ? async (folder: vscode.WorkspaceFolder) => {
      const c = await credentials();
      const app = c.app(key);
      return !app || c.guard.mayWrite(folder, app, l10n.t('its .env'));
    } : undefined;
    return (await this.envWriter()).insert(key === undefined ? undefined : model.get(key), target, mayWrite);
  }

  /** Switch Keap App, and the row action Use This App (a tree node or an account key). */
  switchAccount(arg?: unknown): Promise<string | undefined> {
    return switchAccount(this.core.model, arg);
  }

  /** Refresh Token: resolves to what happened ('refreshed', 'already-refreshed', … 'failed', or 'signed-out'). */
  async refreshToken(arg?: unknown): Promise<string> {
    const key = await resolveAccount(this.core.model, arg, false);
    return key === undefined ? 'signed-out' : ((await this.core.autoRefresher.refreshNow(key))?.kind ?? 'failed');
  }

  /** Test Token, from the palette (the active app) or an app's row; resolves to what Keap answered. */
  async testToken(arg?: unknown): Promise<TokenTest | undefined> {
    const key = await resolveAccount(this.core.model, arg, false);
    if (key === undefined) return void vscode.window.showWarningMessage(l10n.t('Not signed in to Keap.'));
    return (await this.tokenTests()).run(key);
  }
}
