import * as path from 'path';
import * as vscode from 'vscode';
import { EnvKeyError, EnvValueError, upsertEnv } from '../dotenv/envFile';
import { addGitignoreEntry, gitFileStatus } from '../dotenv/gitStatus';
import { ENV_PRESETS, EnvVariableNames, envValuesFor } from '../dotenv/variables';
import { Logger } from '../log';
import { accountKey } from '../session/accounts';
import { TokenSet } from '../session/tokenSet';
import { Secrets } from './secrets';

const SYNCED_FILES_KEY = 'infusionsoft.envFiles';

/** The `.env` settings. */
function envSettings() {
  const c = vscode.workspace.getConfiguration('infusionsoft.env');
  const preset = c.get<'keap' | 'infusionsoft-php'>('preset', 'keap');
  const base = ENV_PRESETS[preset] ?? ENV_PRESETS.keap;
  const override = c.get<Partial<Record<keyof EnvVariableNames, string>>>('variables', {});
  const names: EnvVariableNames = { ...base };
  for (const [k, v] of Object.entries(override ?? {})) if (typeof v === 'string' && v.trim()) (names as Record<string, string>)[k] = v.trim();
  return {
    file: c.get<string>('file', '.env').trim() || '.env',
    names,
    includeClientCredentials: c.get<boolean>('includeClientCredentials', false),
    keepInSync: c.get<boolean>('keepInSync', true),
  };
}

/**
 * Writes the token set into a workspace `.env` as a WorkspaceEdit (undoable; an open editor's
 * unsaved text is what gets edited) and saves it. Every byte not naming a target variable stays
 * as it was (src/dotenv/envFile). Warns before a file git tracks or would not ignore.
 */
export class EnvWriter {
  constructor(
    private readonly workspaceState: vscode.Memento,
    private readonly secrets: Secrets,
    private readonly redirectUri: () => string | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * Infusionsoft: Insert Token into .env. `target` lets tests name the file (absolute path) and
   * skip the folder pick. Resolves to the file written, or undefined when the user stopped.
   */
  async insert(set: TokenSet | undefined, target?: string): Promise<vscode.Uri | undefined> {
    if (!set) {
      void vscode.window.showWarningMessage(vscode.l10n.t('Sign in to Keap before inserting the token into .env.'));
      return undefined;
    }
    const s = envSettings();
    let uri: vscode.Uri;
    if (target) {
      uri = vscode.Uri.file(target);
    } else {
      const folders = vscode.workspace.workspaceFolders ?? [];
      if (folders.length === 0) {
        void vscode.window.showWarningMessage(vscode.l10n.t('Open a folder first; the .env file goes into a workspace folder.'));
        return undefined;
      }
      const folder = folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: vscode.l10n.t('Which folder\'s .env?') });
      if (!folder) return undefined;
      uri = vscode.Uri.joinPath(folder.uri, s.file);
    }
    if (uri.scheme === 'file' && !(await this.confirmGitSafety(uri))) return undefined;
    let client: { clientSecret: string; redirectUri?: string } | undefined;
    if (s.includeClientCredentials) {
      const secret = await this.secrets.clientSecret(set.clientId);
      if (secret) client = { clientSecret: secret, redirectUri: this.redirectUri() };
    }
    const ok = await this.write(uri, envValuesFor(set, s.names, client));
    if (!ok) return undefined;
    await this.remember(uri, accountKey(set));
    void vscode.window.showInformationMessage(vscode.l10n.t('Token of Keap app {0} written to {1}.', set.appName ?? set.clientId, vscode.workspace.asRelativePath(uri)));
    return uri;
  }

  /**
   * After a refresh, once SecretStorage holds the new pair: rewrite the same variables in every file
   * this account's token was inserted into (a file follows the account inserted last).
   */
  async sync(set: TokenSet): Promise<void> {
    const s = envSettings();
    if (!s.keepInSync) return;
    const key = accountKey(set);
    for (const f of this.files()) {
      // Files remembered by version 0.1 (one account) have no account: the first one to sync claims them.
      if (f.account !== undefined && f.account !== key) continue;
      if (f.account === undefined) await this.remember(vscode.Uri.parse(f.uri), key);
      const uri = vscode.Uri.parse(f.uri);
      const exists = await vscode.workspace.fs.stat(uri).then(() => true, () => false);
      if (!exists) continue;
      let client: { clientSecret: string; redirectUri?: string } | undefined;
      if (s.includeClientCredentials) {
        const secret = await this.secrets.clientSecret(set.clientId).catch(() => undefined);
        if (secret) client = { clientSecret: secret, redirectUri: this.redirectUri() };
      }
      if (await this.write(uri, envValuesFor(set, s.names, client), true)) this.log.info(`kept ${vscode.workspace.asRelativePath(uri)} in sync with the refreshed token`);
    }
  }

  /** The files inserted into in this workspace, each with the account whose token it holds (workspaceState; never a token). */
  private files(): Array<{ uri: string; account?: string }> {
    const raw = this.workspaceState.get<unknown[]>(SYNCED_FILES_KEY, []);
    return (Array.isArray(raw) ? raw : []).flatMap(e =>
      typeof e === 'string' ? [{ uri: e }] : e && typeof e === 'object' && typeof (e as { uri?: unknown }).uri === 'string' ? [e as { uri: string; account?: string }] : [],
    );
  }

  private async remember(uri: vscode.Uri, account: string): Promise<void> {
    const files = this.files().filter(f => f.uri !== uri.toString());
    files.push({ uri: uri.toString(), account });
    await this.workspaceState.update(SYNCED_FILES_KEY, files);
  }

  private async confirmGitSafety(uri: vscode.Uri): Promise<boolean> {
    const status = await gitFileStatus(uri.fsPath);
    const name = path.basename(uri.fsPath);
    if (status === 'tracked') {
      const write = vscode.l10n.t('Write Anyway');
      const choice = await vscode.window.showWarningMessage(
        vscode.l10n.t('{0} is tracked by git: a token written there is one commit away from being published. Write it anyway?', name),
        write,
        vscode.l10n.t('Cancel'),
      );
      return choice === write;
    }
    if (status === 'not-ignored') {
      const add = vscode.l10n.t('Add to .gitignore');
      const write = vscode.l10n.t('Write Anyway');
      const choice = await vscode.window.showWarningMessage(vscode.l10n.t('git does not ignore {0}; the next "git add" would take your Keap token with it.', name), add, write, vscode.l10n.t('Cancel'));
      if (choice === add) return this.addToGitignore(uri);
      return choice === write;
    }
    return true;
  }

  private async addToGitignore(file: vscode.Uri): Promise<boolean> {
    const gitignore = vscode.Uri.joinPath(file, '..', '.gitignore');
    const text = await vscode.workspace.fs.readFile(gitignore).then(b => new TextDecoder().decode(b), () => '');
    await vscode.workspace.fs.writeFile(gitignore, new TextEncoder().encode(addGitignoreEntry(text, path.basename(file.fsPath))));
    this.log.info(`added ${path.basename(file.fsPath)} to ${vscode.workspace.asRelativePath(gitignore)}`);
    return true;
  }

  /** Applies the upsert as a minimal WorkspaceEdit and saves. Returns false (after saying why) on a value that cannot be written. */
  private async write(uri: vscode.Uri, values: Array<[string, string]>, quiet = false): Promise<boolean> {
    const exists = await vscode.workspace.fs.stat(uri).then(() => true, () => false);
    if (!exists) {
      const create = new vscode.WorkspaceEdit();
      create.createFile(uri, { ignoreIfExists: true });
      await vscode.workspace.applyEdit(create);
    }
    const doc = await vscode.workspace.openTextDocument(uri);
    const before = doc.getText();
    let after: string;
    try {
      after = upsertEnv(before, values).text;
    } catch (e) {
      if (e instanceof EnvValueError || e instanceof EnvKeyError) {
        const msg = vscode.l10n.t('{0} was not changed: {1}', vscode.workspace.asRelativePath(uri), e.message);
        if (quiet) this.log.warn(msg);
        else void vscode.window.showErrorMessage(msg);
        return false;
      }
      throw e;
    }
    if (after !== before) {
      // Replace only the span that differs, so the cursor and folding elsewhere stay put.
      let start = 0;
      while (start < before.length && start < after.length && before[start] === after[start]) start++;
      // Never split a CRLF or a surrogate pair: VS Code positions cannot point inside them.
      while (start > 0 && (before[start - 1] === '\r' || /[\uD800-\uDBFF]/.test(before[start - 1]))) start--;
      let endB = before.length;
      let endA = after.length;
      while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
        endB--;
        endA--;
      }
      while (endB < before.length && (before[endB] === '\n' || /[\uDC00-\uDFFF]/.test(before[endB]))) {
        endB++;
        endA++;
      }
      const edit = new vscode.WorkspaceEdit();
      edit.replace(uri, new vscode.Range(doc.positionAt(start), doc.positionAt(endB)), after.slice(start, endA));
      if (!(await vscode.workspace.applyEdit(edit))) throw new Error(vscode.l10n.t('VS Code refused the edit of {0}.', vscode.workspace.asRelativePath(uri)));
    }
    await doc.save();
    return true;
  }
}
