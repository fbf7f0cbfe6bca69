import path = require('path');
import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import { EnvKeyError, EnvValueError, listEnvKeys, removeEnvKeys, upsertEnv } from '../dotenv/envFile';
import { AppRotation, appRotations, EnvFileRecord, foreignRefreshToken } from '../dotenv/appRotation';
import { decodeEnvBytes, EnvEncodingError, EnvEncodingFinding } from '../dotenv/envEncoding';
import { locateEnvFile, readEnvText, readOwnEnvText, writeOwnerOnly } from '../dotenv/envLocation';
import { EnvPathError, envFileInFolder, isInsideFolder } from '../dotenv/envPath';
import { envFileProtection } from '../dotenv/fileProtection';
import { addGitignoreEntry, gitFileStatus, GitFileStatus, isSafeGitStatus, mayKeepWriting } from '../dotenv/gitStatus';
import { refusedVariableNames, VariableNameRefusal } from '../dotenv/variableNames';
import { ENV_PRESETS, EnvVariableNames, envValuesFor } from '../dotenv/variables';
import { Logger } from '../log';
import { accountKey, fingerprint } from '../session/accounts';
import { TokenSet } from '../session/tokenSet';
import { userSetting } from './config';
import { Secrets } from './secrets';

const SYNCED_FILES_KEY = 'infusionsoft.envFiles';
const FILE_SETTING = 'infusionsoft.env.file';

/** The `.env` settings; `folder` for the resource-scoped `file` setting. */
function envSettings(folder?: vscode.Uri) {
  const c = vscode.workspace.getConfiguration('infusionsoft.env', folder);
  const preset = c.get<'keap' | 'infusionsoft-php'>('preset', 'keap');
  const base = ENV_PRESETS[preset] ?? ENV_PRESETS.keap;
  const override = c.get<Partial<Record<keyof EnvVariableNames, string>>>('variables', {});
  const names: EnvVariableNames = { ...base };
  for (const [k, v] of Object.entries(override ?? {})) if (typeof v === 'string' && v.trim()) (names as Record<string, string>)[k] = v.trim();
  return {
    file: c.get<string>('file', '.env').trim() || '.env',
    names: userSetting<boolean>('env.includeRefreshToken', true) ? names : { ...names, refreshToken: undefined },
    includeClientCredentials: userSetting<boolean>('env.includeClientCredentials', false),
    keepInSync: c.get<boolean>('keepInSync', true),
  };
}

/** A file that may be written: `real` (symbolic links resolved, inside the folder) for `file:` folders. */
interface Target {
  readonly uri: vscode.Uri;
  readonly real?: string;
}

/**
 * Writes the token set into a `.env` file inside a workspace folder and keeps it in sync. The
 * file is written with fs directly, owner-only (envLocation.ts), never through an editor, so VS
 * Code keeps no Local History copy or hot-exit backup of a token whatever the file is called.
 * Every byte not naming a target variable stays as it was (src/dotenv/envFile). Refuses a path
 * that leads out of its folder (envPath.ts) and warns before a file git tracks or would not ignore.
 */
export class EnvWriter {
  constructor(
    private readonly workspaceState: vscode.Memento,
    private readonly secrets: Secrets,
    private readonly redirectUri: () => string | undefined,
    private readonly log: Logger,
    /** The stored token set of an account now (key from accountKey), for the "Insert Token Again" button. */
    private readonly current: (account: string) => TokenSet | undefined = () => undefined,
    /** `vscode.workspace.isTrusted`: false runs no git process (issue 17.1). */
    private readonly trusted: () => boolean = () => vscode.workspace.isTrusted,
  ) {}

  /**
   * Infusionsoft: Insert Token into .env. `target` (tests, other extensions) names the file as an
   * absolute path inside a workspace folder and skips the folder pick. Resolves to the file
   * written, or undefined when the user stopped or the path was refused (after saying why).
   */
  async insert(set: TokenSet | undefined, target?: string, mayWrite?: (folder: vscode.WorkspaceFolder) => Promise<boolean>): Promise<vscode.Uri | undefined> {
    if (!set) {
      void vscode.window.showWarningMessage(l10n.t('Sign in to Keap before inserting the token into .env.'));
      return undefined;
    }
    const folders = vscode.workspace.workspaceFolders ?? [];
    let folder: vscode.WorkspaceFolder | undefined;
    if (target) {
      folder = folders.find(f => f.uri.scheme === 'file' && isInsideFolder(f.uri.fsPath, path.resolve(target)));
      if (!folder) {
        void vscode.window.showErrorMessage(l10n.t('{0} is outside every workspace folder; nothing was written.', target));
        return undefined;
      }
    } else {
      if (folders.length === 0) {
        void vscode.window.showWarningMessage(l10n.t('Open a folder first; the .env file goes into a workspace folder.'));
        return undefined;
      }
      folder = folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: l10n.t('Which folder\'s .env?') });
      if (!folder) return undefined;
    }
    // The production guard (src/vscode/environments): asked with the folder before anything is written.
    if (mayWrite && !(await mayWrite(folder))) return undefined;
    const s = envSettings(folder.uri);
    const badNames = namesRefusal(s.names);
    if (badNames) {
      void vscode.window.showErrorMessage(l10n.t('{0} Nothing was written.', badNames));
      return undefined;
    }
    const located = await this.locate(folder, target ?? s.file, target ? undefined : `the setting ${FILE_SETTING}`);
    if (!located) return undefined;
    const safety = located.real !== undefined ? await this.confirmGitSafety(located) : { accepted: undefined };
    if (!safety) return undefined;
    let client: { clientSecret: string; redirectUri?: string } | undefined;
    if (s.includeClientCredentials) {
      const secret = await this.secrets.clientSecret(set.clientId);
      if (secret) client = { clientSecret: secret, redirectUri: this.redirectUri() };
    }
    const values = envValuesFor(set, s.names, client);
    if (!(await this.write(located, values))) return undefined;
    await this.remember(located.uri, set, s.names.refreshToken, values.map(([k]) => k), true, safety.accepted);
    // Says what the file now holds and what will happen to it: every variable, owner-only access, and the rewrite after each refresh.
    const names = values.map(([k]) => k).join(', ');
    const where = vscode.workspace.asRelativePath(located.uri);
    const app = set.appName ?? set.clientId;
    // On Windows there is no owner-only mode: the file has its folder's access list (fileProtection.ts).
    const windows = envFileProtection() === 'folder-acl';
    void vscode.window.showInformationMessage(
      windows
        ? s.keepInSync
          ? l10n.t('Keap app {0}: {1} written to {2}, with the Windows permissions of its folder. VS Code rewrites them after every refresh.', app, names, where)
          : l10n.t('Keap app {0}: {1} written to {2}, with the Windows permissions of its folder.', app, names, where)
        : s.keepInSync
          ? l10n.t('Keap app {0}: {1} written to {2} (readable by you only). VS Code rewrites them after every refresh.', app, names, where)
          : l10n.t('Keap app {0}: {1} written to {2} (readable by you only).', app, names, where),
    );
    return located.uri;
  }

  /**
   * Writes fixed `values` (an API key: nothing rotates, so nothing is remembered or synced) into a
   * workspace folder's `.env`, with the same path, link and git checks as {@link insert}.
   * `target`: an absolute path inside a workspace folder (tests), else the folder is picked.
   * `mayWrite` is asked with the folder before anything is written (the production guard).
   * Resolves to the file written, or undefined when the user stopped or the write was refused (after saying why).
   */
  async insertValues(values: Array<[string, string]>, what: string, target?: string, mayWrite?: (folder: vscode.WorkspaceFolder) => Promise<boolean>): Promise<vscode.Uri | undefined> {
    const folders = vscode.workspace.workspaceFolders ?? [];
    const folder = target
      ? folders.find(f => f.uri.scheme === 'file' && isInsideFolder(f.uri.fsPath, path.resolve(target)))
      : folders.length <= 1
        ? folders[0]
        : await vscode.window.showWorkspaceFolderPick({ placeHolder: l10n.t('Which folder\'s .env?') });
    if (!folder) {
      if (target) void vscode.window.showErrorMessage(l10n.t('{0} is outside every workspace folder; nothing was written.', target));
      else if (folders.length === 0) void vscode.window.showWarningMessage(l10n.t('Open a folder first; the .env file goes into a workspace folder.'));
      return undefined;
    }
    if (mayWrite && !(await mayWrite(folder))) return undefined;
    const located = await this.locate(folder, target ?? envSettings(folder.uri).file, target ? undefined : `the setting ${FILE_SETTING}`);
    if (!located) return undefined;
    if (located.real !== undefined && !(await this.confirmGitSafety(located))) return undefined;
    if (!(await this.write(located, values))) return undefined;
    void vscode.window.showInformationMessage(l10n.t('{0}: {1} written to {2} (readable by you only).', what, values.map(([k]) => k).join(', '), vscode.workspace.asRelativePath(located.uri)));
    return located.uri;
  }

  /**
   * After a refresh, once SecretStorage holds the new pair: rewrite the same variables in every file
   * this account's token was inserted into (a file follows the account inserted last). Each file is
   * checked again first, as Insert Token checks it (a symbolic link may have appeared, a `git pull`
   * may have made it tracked or not ignored, it may no longer be UTF-8, the variable names may be
   * refused): a file that fails the git, encoding or name check stops being synced and the user
   * is told once, with "Insert Token Again" to resume ({@link stopSync}); other refusals are logged.
   */
  async sync(set: TokenSet): Promise<void> {
    const key = accountKey(set);
    for (const f of this.files()) {
      // Files remembered by version 0.1 (one account) have no account: the first one to sync claims them.
      if (f.account !== undefined && f.account !== key) continue;
      const uri = vscode.Uri.parse(f.uri);
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      const s = envSettings(folder?.uri);
      if (!s.keepInSync) continue;
      if (f.stopped) {
        this.log.info(`not syncing ${vscode.workspace.asRelativePath(uri)}: syncing it stopped (${f.stopped.reason}); Insert Token into .env resumes it`);
        continue;
      }
      if (!folder) {
        this.log.warn(`not syncing ${uri.fsPath}: it is no longer inside a workspace folder`);
        continue;
      }
      const located = await this.locate(folder, uri.scheme === 'file' ? uri.fsPath : uri.path, undefined, true);
      if (!located || !(await this.exists(located, f, key))) continue;
      const unsafe = await this.stillUnsafe(located, f, s.names);
      if (unsafe) {
        await this.stopSync(f, key, unsafe);
        continue;
      }
      // The user's app wrote its own pair here since VS Code last did: never written over (it may be the live one).
      const text = await this.read(located).catch(() => undefined);
      if (text !== undefined && foreignRefreshToken(text, f, set.refreshToken)) {
        this.log.warn(`not syncing ${vscode.workspace.asRelativePath(uri)}: it holds a refresh token VS Code did not write (your app's?); it is left as it is, and VS Code tries it once if Keap refuses its own`);
        continue;
      }
      let client: { clientSecret: string; redirectUri?: string } | undefined;
      if (s.includeClientCredentials) {
        const secret = await this.secrets.clientSecret(set.clientId).catch(() => undefined);
        if (secret) client = { clientSecret: secret, redirectUri: this.redirectUri() };
      }
      const values = envValuesFor(set, s.names, client);
      if (await this.write(located, values, true, f, key)) {
        await this.remember(uri, set, s.names.refreshToken, values.map(([k]) => k), false, f.accepted);
        this.log.info(`kept ${vscode.workspace.asRelativePath(uri)} in sync with the refreshed token`);
      }
    }
  }

  /**
   * Why `target` (recorded as `f`) may no longer be written by keep-in-sync or the app-rotation
   * write-back, or undefined: refused variable names, or git now saying what Insert Token would
   * have asked about (unless the user accepted exactly that). Encoding is checked by the read.
   */
  private async stillUnsafe(target: Target, f: EnvFileRecord, names: EnvVariableNames): Promise<string | undefined> {
    const badNames = namesRefusal(names);
    if (badNames) return badNames;
    if (target.real === undefined) return undefined;
    const status = await gitFileStatus(target.real, { trusted: this.trusted() });
    if (mayKeepWriting(status, f.accepted)) return undefined;
    const name = vscode.workspace.asRelativePath(target.uri);
    switch (status) {
      case 'tracked':
        return l10n.t('git now tracks {0} (after a pull, a checkout or an add?), so a token written there is one commit from being published.', name);
      case 'not-ignored':
        return l10n.t('git no longer ignores {0} (after a pull or a checkout?), so the next "git add" would take the token with it.', name);
      case 'untrusted':
        return l10n.t('this workspace is in Restricted Mode, where VS Code runs no git to check that git still ignores {0}.', name);
      default:
        return l10n.t('git could not tell whether it still ignores {0} (run "git status" in that folder to see why).', name);
    }
  }

  /**
   * Stops keep-in-sync of the file recorded as `f` and tells the user once (the record keeps
   * `stopped` until Insert Token writes the file again), with "Insert Token Again" to resume.
   */
  private async stopSync(f: EnvFileRecord, account: string, why: string): Promise<void> {
    if (f.stopped) return;
    const uri = vscode.Uri.parse(f.uri);
    const name = vscode.workspace.asRelativePath(uri);
    await this.workspaceState.update(SYNCED_FILES_KEY, this.files().map(r => (r.uri === f.uri ? { ...r, stopped: { reason: why } } : r)));
    this.log.warn(`stopped keeping ${name} in sync: ${why}`);
    const again = l10n.t('Insert Token Again');
    void vscode.window
      .showWarningMessage(l10n.t('VS Code stopped writing Keap tokens to {0}: {1} Nothing was written. Fix that, then insert the token again to resume.', name, why), again)
      .then(choice => (choice === again ? this.insert(this.current(account), uri.scheme === 'file' ? uri.fsPath : undefined) : undefined))
      .then(undefined, e => this.log.warn(`resuming ${name} failed: ${(e as Error).message}`));
  }

  /**
   * The refresh tokens the user's own app wrote back to the files this extension wrote `set`'s
   * token to (src/dotenv/appRotation): only recorded files, each located as a write would be
   * (inside its folder, no link out, no second name), only the recorded variable. Never a file
   * without a record.
   */
  appRotations(set: TokenSet): Promise<AppRotation[]> {
    const account = accountKey(set);
    return appRotations(this.files(), account, async r => {
      const uri = vscode.Uri.parse(r.uri);
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      const where = vscode.workspace.asRelativePath(uri);
      // Trying a token spends it: only in a file its answer may go back to (issue 17.4), checked as a sync write is.
      const s = envSettings(folder?.uri);
      if (!folder || !s.keepInSync) {
        this.log.info(`not reading ${where} for a rotated refresh token: keep-in-sync is off there, so Keap's answer could not go back into it`);
        return undefined;
      }
      const located = await this.locate(folder, uri.scheme === 'file' ? uri.fsPath : uri.path, undefined, true);
      if (!located) return undefined;
      const unsafe = await this.stillUnsafe(located, r, s.names);
      if (unsafe) {
        await this.stopSync(r, account, unsafe);
        return undefined;
      }
      if (this.dirtyEditorOf(located)) {
        this.log.info(`not reading ${where} for a rotated refresh token: it has unsaved changes in an editor`);
        return undefined;
      }
      const readNow = () => (located.real !== undefined ? readOwnEnvText(located.real) : this.read(located));
      try {
        const text = await readNow();
        if (text === undefined) return undefined;
        return {
          text,
          where,
          names: s.names,
          reread: readNow,
          write: async (next, refreshToken) => {
            if (this.dirtyEditorOf(located)) throw new Error(l10n.t('it has unsaved changes in an editor; save or revert them first'));
            await this.writeText(located, next);
            const files = this.files().map(f => (f.uri === r.uri && f.refresh ? { ...f, refresh: { ...f.refresh, written: fingerprint(refreshToken) } } : f));
            await this.workspaceState.update(SYNCED_FILES_KEY, files);
          },
        };
      } catch (e) {
        if (e instanceof EnvEncodingError) await this.stopSync(r, account, encodingWords(e.finding));
        else this.log.warn(`not reading ${where}: ${(e as Error).message}`);
        return undefined;
      }
    });
  }

  /**
   * After Sign Out of `accounts`: the files that still hold variables this extension wrote for
   * them, each with those variables (the rest of the file is not the extension's to touch).
   */
  async writtenFor(accounts: readonly string[]): Promise<Array<{ target: Target; keys: string[] }>> {
    const found: Array<{ target: Target; keys: string[] }> = [];
    for (const f of this.files()) {
      if (f.account === undefined || !accounts.includes(f.account)) continue;
      const uri = vscode.Uri.parse(f.uri);
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      if (!folder) continue;
      const located = await this.locate(folder, uri.scheme === 'file' ? uri.fsPath : uri.path, undefined, true);
      const text = located && (await this.read(located).catch(() => undefined));
      if (!located || text === undefined) continue;
      const written = new Set(f.keys ?? []);
      const keys = listEnvKeys(text).filter(k => written.has(k));
      if (keys.length > 0) found.push({ target: located, keys });
    }
    return found;
  }

  /**
   * Sign Out's offer: lists the files that still hold what this extension wrote for `accounts`
   * (with those variables) in a non-modal message with Remove / Keep, and removes on Remove.
   * `choice` answers for the user (tests, other extensions): then the promise ends after the
   * removal; without it the question is asked and the promise does not wait for the answer.
   * Resolves to the files changed.
   */
  async afterSignOut(accounts: readonly string[], choice?: 'remove' | 'keep'): Promise<vscode.Uri[]> {
    const found = await this.writtenFor(accounts);
    if (found.length === 0 || choice === 'keep') return [];
    if (choice === 'remove') return this.removeWritten(found);
    const remove = l10n.t('Remove from .env Files');
    // Files holding the same variables share one entry: "a/.env, b/.env (KEAP_ACCESS_TOKEN, …)".
    const groups = new Map<string, string[]>();
    for (const f of found) groups.set(f.keys.join(', '), [...(groups.get(f.keys.join(', ')) ?? []), vscode.workspace.asRelativePath(f.target.uri)]);
    const list = [...groups].map(([keys, files]) => `${files.join(', ')} (${keys})`).join('; ');
    void vscode.window
      .showInformationMessage(
        l10n.t(
          'Signed out of Keap app {0}. The tokens VS Code wrote are still in {1}. Remove these variables? Nothing else in the files changes.',
          accounts.map(a => a.split('|')[1] || a).join(', '),
          list,
        ),
        remove,
        l10n.t('Keep'),
      )
      .then(answer => (answer === remove ? this.removeWritten(found) : undefined))
      .then(undefined, e => this.log.warn(`removing the signed-out tokens from .env failed: ${(e as Error).message}`));
    return [];
  }

  private async removeWritten(found: Array<{ target: Target; keys: string[] }>): Promise<vscode.Uri[]> {
    const changed: vscode.Uri[] = [];
    for (const { target, keys } of found) {
      const name = vscode.workspace.asRelativePath(target.uri);
      try {
        if (this.dirtyEditorOf(target)) throw new Error(l10n.t('it has unsaved changes in an editor; save or revert them first'));
        const text = await this.read(target);
        if (text === undefined) continue;
        await this.writeText(target, removeEnvKeys(text, keys).text);
        await this.forget(target.uri);
        this.log.info(`removed ${keys.join(', ')} from ${name}`);
        changed.push(target.uri);
      } catch (e) {
        void vscode.window.showErrorMessage(e instanceof EnvEncodingError ? encodingMessage(name, e.finding) : outsideText(l10n.t('{0} was not changed: {1}', name, (e as Error).message), 'message', 1000));
      }
    }
    if (changed.length > 0) void vscode.window.showInformationMessage(l10n.t('Removed the Keap tokens from {0}.', changed.map(u => vscode.workspace.asRelativePath(u)).join(', ')));
    return changed;
  }

  /** The files inserted into in this workspace, each with the account whose token it holds (workspaceState; never a token). */
  private files(): EnvFileRecord[] {
    const raw = this.workspaceState.get<unknown[]>(SYNCED_FILES_KEY, []);
    return (Array.isArray(raw) ? raw : []).flatMap(e =>
      typeof e === 'string' ? [{ uri: e }] : e && typeof e === 'object' && typeof (e as { uri?: unknown }).uri === 'string' ? [e as EnvFileRecord] : [],
    );
  }

  /**
   * Records that `uri` holds `set`'s token in `keys` (added to those written before, unless
   * `replace`), its refresh token in `refreshKey` (with a fingerprint, never the token).
   */
  private async remember(uri: vscode.Uri, set: TokenSet, refreshKey: string | undefined, keys: readonly string[], replace = false, accepted?: GitFileStatus): Promise<void> {
    const account = accountKey(set);
    const old = this.files().find(f => f.uri === uri.toString());
    const all = replace || old?.account !== account ? keys : [...new Set([...(old?.keys ?? []), ...keys])];
    const files = this.files().filter(f => f.uri !== uri.toString());
    files.push({
      uri: uri.toString(),
      account,
      keys: [...all],
      ...(refreshKey ? { refresh: { key: refreshKey, written: fingerprint(set.refreshToken) } } : {}),
      ...(accepted ? { accepted } : {}),
    });
    await this.workspaceState.update(SYNCED_FILES_KEY, files);
  }

  private async forget(uri: vscode.Uri): Promise<void> {
    await this.workspaceState.update(SYNCED_FILES_KEY, this.files().filter(f => f.uri !== uri.toString()));
  }

  /**
   * Where `given` (relative to `folder`, or absolute) may be written, or undefined after saying
   * why not (an error message; only the log when `quiet`). `source` names the setting it came from.
   */
  private async locate(folder: vscode.WorkspaceFolder, given: string, source?: string, quiet = false): Promise<Target | undefined> {
    try {
      if (folder.uri.scheme !== 'file') {
        // A virtual folder has no symbolic links to follow and no modes: the path alone decides.
        const file = envFileInFolder(folder.uri.path, given, source, path.posix);
        return { uri: folder.uri.with({ path: file }) };
      }
      const { file, real } = await locateEnvFile(folder.uri.fsPath, given, source);
      return { uri: vscode.Uri.file(file), real };
    } catch (e) {
      if (!(e instanceof EnvPathError)) throw e;
      this.log.warn(e.message);
      if (!quiet) void vscode.window.showErrorMessage(outsideText(e.message, 'message', 1000));
      return undefined;
    }
  }

  /**
   * Asks git about the file (never in an untrusted workspace: then the user is asked) and the user
   * when git would publish it. Resolves to undefined when the user stopped, else to the status the
   * user accepted with "Write Anyway" (undefined `accepted` when it was safe or is now ignored).
   */
  private async confirmGitSafety(target: Target): Promise<{ accepted: GitFileStatus | undefined } | undefined> {
    const status = await gitFileStatus(target.real ?? target.uri.fsPath, { trusted: this.trusted() });
    if (isSafeGitStatus(status)) return { accepted: undefined };
    const name = vscode.workspace.asRelativePath(target.uri);
    const write = l10n.t('Write Anyway');
    const cancel = l10n.t('Cancel');
    let choice: string | undefined;
    if (status === 'tracked') {
      choice = await vscode.window.showWarningMessage(
        l10n.t('{0} is tracked by git: a token written there is one commit away from being published. Write it anyway?', name),
        write,
        cancel,
      );
    } else if (status === 'not-ignored') {
      const add = l10n.t('Add to .gitignore');
      choice = await vscode.window.showWarningMessage(l10n.t('git does not ignore {0}; the next "git add" would take your Keap token with it.', name), add, write, cancel);
      if (choice === add) return (await this.addToGitignore(target.uri)) ? { accepted: undefined } : undefined;
    } else if (status === 'untrusted') {
      // Restricted Mode: git would obey the folder's own configuration (core.fsmonitor runs a command), so it is not run.
      choice = await vscode.window.showWarningMessage(
        l10n.t('VS Code could not ask git whether it ignores {0}: this workspace is in Restricted Mode, where VS Code runs no git (a folder\'s git configuration can run commands). Write the token anyway?', name),
        write,
        cancel,
      );
    } else {
      choice = await vscode.window.showWarningMessage(l10n.t('git could not tell whether it ignores {0} (run "git status" in that folder to see why). Write the token anyway?', name), write, cancel);
    }
    return choice === write ? { accepted: status } : undefined;
  }

  private async addToGitignore(file: vscode.Uri): Promise<boolean> {
    const gitignore = vscode.Uri.joinPath(file, '..', '.gitignore');
    let text: string;
    try {
      text = await vscode.workspace.fs.readFile(gitignore).then(b => decodeEnvBytes(b, vscode.workspace.asRelativePath(gitignore)), () => '');
    } catch (e) {
      void vscode.window.showErrorMessage(encodingMessage(vscode.workspace.asRelativePath(gitignore), (e as EnvEncodingError).finding));
      return false;
    }
    await vscode.workspace.fs.writeFile(gitignore, new TextEncoder().encode(addGitignoreEntry(text, path.basename(file.fsPath))));
    this.log.info(`added ${path.basename(file.fsPath)} to ${vscode.workspace.asRelativePath(gitignore)}`);
    return true;
  }

  /** An open editor whose unsaved text a write from disk would clash with. */
  private dirtyEditorOf(target: Target): vscode.TextDocument | undefined {
    return vscode.workspace.textDocuments.find(
      d => d.isDirty && (d.uri.toString() === target.uri.toString() || (target.real !== undefined && d.uri.scheme === 'file' && d.uri.fsPath === target.real)),
    );
  }

  /** Whether the file is there to sync; one that is not UTF-8 stops its sync (`f`, of `account`) with one message. */
  private async exists(target: Target, f?: EnvFileRecord, account?: string): Promise<boolean> {
    try {
      return (await this.read(target)) !== undefined;
    } catch (e) {
      if (e instanceof EnvEncodingError && f && account) await this.stopSync(f, account, encodingWords(e.finding));
      return false;
    }
  }

  /** The file's text, or undefined when it does not exist. @throws EnvEncodingError when it is not UTF-8; EnvPathError. */
  private async read(target: Target): Promise<string | undefined> {
    if (target.real !== undefined) return readEnvText(target.real);
    const bytes = await vscode.workspace.fs.readFile(target.uri).then(b => b, () => undefined);
    return bytes && decodeEnvBytes(bytes, vscode.workspace.asRelativePath(target.uri));
  }

  private async writeText(target: Target, text: string): Promise<void> {
    if (target.real !== undefined) await writeOwnerOnly(target.real, text);
    else await vscode.workspace.fs.writeFile(target.uri, new TextEncoder().encode(text));
  }

  /**
   * Upserts `values` into the file. Returns false (after saying why; only the log when `quiet`) when
   * it cannot; a file that is not UTF-8 is never rewritten (and, for a sync of `f`, its sync stops).
   */
  private async write(target: Target, values: Array<[string, string]>, quiet = false, f?: EnvFileRecord, account?: string): Promise<boolean> {
    const name = vscode.workspace.asRelativePath(target.uri);
    const refuse = (why: string) => {
      const msg = l10n.t('{0} was not changed: {1}', name, why);
      this.log.warn(msg);
      if (!quiet) void vscode.window.showErrorMessage(outsideText(msg, 'message', 1000));
      return false;
    };
    // Its unsaved text would clash with the new bytes on disk; the user's edits win.
    if (this.dirtyEditorOf(target)) return refuse(l10n.t('it has unsaved changes in an editor; save or revert them first'));
    try {
      await this.writeText(target, upsertEnv((await this.read(target)) ?? '', values).text);
    } catch (e) {
      if (e instanceof EnvEncodingError) {
        if (f && account) await this.stopSync(f, account, encodingWords(e.finding));
        this.log.warn(`${name} was not changed: ${e.message}`);
        if (!quiet) void vscode.window.showErrorMessage(encodingMessage(name, e.finding));
        return false;
      }
      if (e instanceof EnvValueError || e instanceof EnvKeyError || e instanceof EnvPathError) return refuse(e.message);
      throw e;
    }
    return true;
  }
}

/** The encoding found, in words. */
function encodingName(f: EnvEncodingFinding): string {
  switch (f.kind) {
    case 'utf-16le':
      return l10n.t('UTF-16 LE with a byte order mark (as Windows PowerShell saves it)');
    case 'utf-16be':
      return l10n.t('UTF-16 BE with a byte order mark');
    case 'utf-32le':
      return l10n.t('UTF-32 LE with a byte order mark');
    case 'utf-32be':
      return l10n.t('UTF-32 BE with a byte order mark');
    case 'nul':
      return l10n.t('UTF-16 without a byte order mark, or not text (a NUL byte on line {0})', f.line);
    case 'not-utf-8':
      return l10n.t('an 8-bit encoding such as Windows-1252 (the byte 0x{0} on line {1} is not UTF-8)', f.byte.toString(16).toUpperCase().padStart(2, '0'), f.line);
  }
}

/** Why a sync of a file that is not UTF-8 stopped (a clause for {@link EnvWriter.stopSync}'s message). */
function encodingWords(f: EnvEncodingFinding): string {
  return l10n.t('it is saved as {0}, not UTF-8, and VS Code rewrites only UTF-8 files. Convert it (click the encoding in the status bar, then "Save with Encoding" → UTF-8).', encodingName(f));
}

/** Insert Token's refusal of a file that is not UTF-8: which encoding, how to convert, nothing written. */
function encodingMessage(name: string, f: EnvEncodingFinding): string {
  return l10n.t('{0} was not changed: it is saved as {1}, not UTF-8, and VS Code rewrites only UTF-8 files. Convert it to UTF-8 (in VS Code: click the encoding in the status bar, then "Save with Encoding" → UTF-8) and insert the token again.', name, encodingName(f));
}

/** Insert Token's and keep-in-sync's refusal of the variable names the settings give, or undefined (issue 17.7). */
function namesRefusal(names: EnvVariableNames): string | undefined {
  const refused = refusedVariableNames({ ...names });
  if (refused.length === 0) return undefined;
  const why = (r: VariableNameRefusal) =>
    r.kind === 'public-prefix'
      ? l10n.t('starts with {0}, which front-end builds publish to the browser', r.prefix)
      : l10n.t('is not a name a shell can assign (letters, digits and _ only, not starting with a digit)');
  return l10n.t(
    'The .env variable names in the settings infusionsoft.env.variables / infusionsoft.env.preset are refused: {0}. Choose other names.',
    refused.map(r => `${JSON.stringify(shownName(r.name))} ${why(r.why)}`).join('; '),
  );
}

/**
 * A refused variable name as shown in a notification: it comes from a workspace's settings, and a
 * notification renders `[text](command:…)` as a link, so only letters, digits, `_`, `.` and `-`
 * are shown (anything else as `?`), at most 64 characters.
 */
function shownName(name: string): string {
  const kept = [...name].slice(0, 64).map(c => (/[A-Za-z0-9_.-]/.test(c) ? c : '?')).join('');
  return [...name].length > 64 ? `${kept}…` : kept;
}
