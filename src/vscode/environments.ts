import vscode = require('vscode');
import { l10n } from 'vscode';
import type { KeapEnvironment } from '../keap/apiKeys';
import { Logger } from '../log';
import { outsideText } from '../outsideText';
import { ENVIRONMENT_MARKS_KEY, FolderState, parseAllowed, parseBindings, parseEnvironmentMarks, productionWriteDecision } from '../session/environmentGuard';

/** workspaceState: `{folderUri: credentialId}`, the credential each folder is bound to. */
const BINDINGS_KEY = 'infusionsoft.folderBindings';
/** workspaceState: `{folderUri: credentialId[]}`, production credentials the user let into a folder. */
const ALLOWED_KEY = 'infusionsoft.productionAllowed';

/** A credential as the guard sees it: its id (src/session/environmentGuard), a name to show, its mark. */
export interface GuardedCredential {
  readonly id: string;
  readonly label: string;
  readonly environment?: KeapEnvironment;
}

/** The id of a signed-in Keap app as a credential (src/session/environmentGuard). */
export function appCredentialId(accountKey: string): string {
  return `app:${accountKey}`;
}

/** The id of an API key as a credential. */
export function apiKeyCredentialId(id: string): string {
  return `apiKey:${id}`;
}

/** "Production" / "Sandbox" for people. */
export function environmentLabel(env: KeapEnvironment | undefined): string | undefined {
  return env === 'production' ? l10n.t('production') : env === 'sandbox' ? l10n.t('sandbox') : undefined;
}

/** The icon of a credential marked production (a distinct icon and colour) or sandbox; undefined when unmarked. */
export function environmentIcon(env: KeapEnvironment | undefined): vscode.ThemeIcon | undefined {
  if (env === 'production') return new vscode.ThemeIcon('flame', new vscode.ThemeColor('charts.red'));
  if (env === 'sandbox') return new vscode.ThemeIcon('beaker', new vscode.ThemeColor('charts.green'));
  return undefined;
}

/**
 * Keeps production apart from sandbox: the marks of signed-in Keap apps (globalState, no token),
 * the credential each workspace folder is bound to (workspaceState), and the question asked before
 * a production credential is written into a folder bound to another credential or to none (asked
 * once per folder and credential; the answer is remembered in workspaceState).
 */
export class ProductionGuard implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after a folder was bound (or unbound) or a production credential allowed into one (the terminal export follows). */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly workspaceState: vscode.Memento,
    private readonly globalState: vscode.Memento,
    private readonly log: Logger,
    /** A credential's name for the question ("Keap app ab123", "API key ci"); undefined when it is gone. */
    private readonly describe: (id: string) => string | undefined,
  ) {}

  /** The mark of a signed-in Keap app (by account key). */
  appEnvironment(accountKey: string): KeapEnvironment | undefined {
    return parseEnvironmentMarks(this.globalState.get(ENVIRONMENT_MARKS_KEY))[appCredentialId(accountKey)];
  }

  async markApp(accountKey: string, env: KeapEnvironment | undefined): Promise<void> {
    const marks = parseEnvironmentMarks(this.globalState.get(ENVIRONMENT_MARKS_KEY));
    if (env) marks[appCredentialId(accountKey)] = env;
    else delete marks[appCredentialId(accountKey)];
    await this.globalState.update(ENVIRONMENT_MARKS_KEY, marks);
  }

  folderState(folder: vscode.Uri): FolderState {
    const key = folder.toString();
    return { boundTo: parseBindings(this.workspaceState.get(BINDINGS_KEY))[key], allowed: parseAllowed(this.workspaceState.get(ALLOWED_KEY))[key] ?? [] };
  }

  /** Binds a folder to a credential (undefined: to nothing). */
  async bind(folder: vscode.Uri, credentialId: string | undefined): Promise<void> {
    const all = parseBindings(this.workspaceState.get(BINDINGS_KEY));
    if (credentialId) all[folder.toString()] = credentialId;
    else delete all[folder.toString()];
    await this.workspaceState.update(BINDINGS_KEY, all);
    this.log.info(`workspace folder ${folder.toString()} bound to ${credentialId ?? 'nothing'}`);
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  /**
   * Whether `credential` may be written into `folder` (`where`: "its .env", said in the question).
   * A production credential going into a folder bound to another credential or to none asks first
   * (a notification: Allow for This Folder, Bind Folder, Cancel); the answer is remembered.
   */
  async mayWrite(folder: vscode.WorkspaceFolder, credential: GuardedCredential, where: string): Promise<boolean> {
    const state = this.folderState(folder.uri);
    return this.ask(folder, state, credential, where);
  }

  /**
   * Whether `credential` may be handed to a launch or task configuration (`${command:…}`) run for
   * `folder` (src/session/environmentGuard `handOutFolder`). Without a folder it is treated as one
   * bound to nothing: a production credential asks every time (Allow Once or Cancel; nothing to remember it by).
   */
  async mayHandOut(folder: vscode.WorkspaceFolder | undefined, credential: GuardedCredential, where: string): Promise<boolean> {
    if (folder) return this.mayWrite(folder, credential, where);
    if (productionWriteDecision(credential, { allowed: [] }) === 'write') return true;
    const once = l10n.t('Allow Once');
    const answer = await vscode.window.showWarningMessage(
      l10n.t('{0} is a production credential, and no workspace folder is bound to it. Hand it to {1} anyway?', outsideText(credential.label, 'message'), where),
      once,
      l10n.t('Cancel'),
    );
    if (answer === once) return true;
    this.log.info(`${credential.id} not handed to ${where}: production credential, no folder, not confirmed`);
    return false;
  }

  private async ask(folder: vscode.WorkspaceFolder, state: FolderState, credential: GuardedCredential, where: string): Promise<boolean> {
    if (productionWriteDecision(credential, state) === 'write') return true;
    const allow = l10n.t('Allow for This Folder');
    // Names from Keap (app names), the user's labels and folder names are shown as text, never as a link (src/outsideText).
    const bind = l10n.t('Bind Folder to {0}', outsideText(credential.label, 'plain', 80));
    const named = outsideText(credential.label, 'message');
    const folderName = outsideText(folder.name, 'message');
    const other = state.boundTo ? outsideText(this.describe(state.boundTo) ?? state.boundTo, 'message') : undefined;
    const question = other
      ? l10n.t('{0} is a production credential, and the folder {1} is bound to {2}. Write it into {3} anyway?', named, folderName, other, where)
      : l10n.t('{0} is a production credential, and the folder {1} is bound to none. Write it into {2} anyway?', named, folderName, where);
    const answer = await vscode.window.showWarningMessage(question, allow, bind, l10n.t('Cancel'));
    if (answer === bind) {
      await this.bind(folder.uri, credential.id);
      return true;
    }
    if (answer !== allow) {
      this.log.info(`${credential.id} not written into ${where} of ${folder.name}: production credential, not confirmed`);
      return false;
    }
    const allowed = parseAllowed(this.workspaceState.get(ALLOWED_KEY));
    allowed[folder.uri.toString()] = [...new Set([...(allowed[folder.uri.toString()] ?? []), credential.id])];
    await this.workspaceState.update(ALLOWED_KEY, allowed);
    this.changed.fire();
    return true;
  }
}
