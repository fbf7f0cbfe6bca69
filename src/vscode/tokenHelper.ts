import fs = require('fs');
import path = require('path');
import vscode = require('vscode');
import { l10n } from 'vscode';
import { englishReason, handOut, HandOutDeps, HandOutRefusal } from '../tokenHelper/handOut';
import { ENV, helperDir } from '../tokenHelper/ipcPaths';
import { HelperServer, startHelperServer } from '../tokenHelper/ipcServer';
import { commandMinValidSeconds, DEFAULT_MIN_VALID_SECONDS, HelperAnswer, HelperVia, MAX_MIN_VALID_SECONDS } from '../tokenHelper/protocol';
import { outsideText } from '../outsideText';
import { tokenHelperEnabled } from './config';
import type { Core } from './core';
import { accountKey } from '../session/accounts';
import { appEnvironmentIn, ENVIRONMENT_MARKS_KEY, handOutFolder } from '../session/environmentGuard';
import type { ProductionGuard } from './environments';

/** How long keap-token waits for the answer to a production question, in milliseconds (its own wait for an answer is longer: src/tokenHelper/cli ANSWER_WAIT_MS). */
const HELPER_QUESTION_WAIT_MS = 60_000;

/** The user's own value of an `infusionsoft.tokenHelper.*` setting, never a workspace's (it hands tokens to processes). */
function userValue<T>(key: string, fallback: T): T {
  const i = vscode.workspace.getConfiguration('infusionsoft.tokenHelper').inspect<T>(key);
  return i?.globalValue ?? i?.defaultValue ?? fallback;
}

/** Seconds: `infusionsoft.tokenHelper.minValidSeconds` (user settings), 0 to 12 hours. */
function minValidSeconds(): number {
  const v = userValue<unknown>('minValidSeconds', DEFAULT_MIN_VALID_SECONDS);
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(MAX_MIN_VALID_SECONDS, Math.max(0, Math.round(v))) : DEFAULT_MIN_VALID_SECONDS;
}

/** A refusal in the user's language. */
function words(r: HandOutRefusal): string {
  switch (r.refusal) {
    case 'sign-in':
      switch (r.why) {
        case 'no-account':
          return l10n.t('No Keap app is signed in. Run "Infusionsoft: Sign In".');
        case 'unknown-app':
          return l10n.t('No signed-in Keap app matches "{0}". Sign in to it, or name another app.', r.app ?? '');
        case 'ambiguous':
          return l10n.t('Several signed-in Keap apps match "{0}": name the app (such as ab123) or the account key.', r.app ?? '');
        case 'rejected':
          return l10n.t('Keap refused the refresh token of app {0}: sign in again.', r.app ?? '');
      }
      break;
    case 'paused':
      return l10n.t('Automatic refresh of Keap app {0} is paused: {1} Act in VS Code (Refresh Token, Sign In or Set Client Credentials).', r.app, r.message);
    case 'unavailable':
      return r.nextAt
        ? l10n.t('The token of Keap app {0} is expiring and could not be refreshed now ({1}); the next try is at {2}.', r.app, r.message ?? '', new Date(r.nextAt).toLocaleTimeString())
        : l10n.t('The token of Keap app {0} is expiring and could not be refreshed now ({1}).', r.app, r.message ?? '');
  }
  return englishReason(r);
}

/**
 * Hands the access token to other processes (issue 18): the `infusionsoft.accessToken` command
 * (for `${command:infusionsoft.accessToken}` in launch.json and tasks.json) and the IPC server that
 * `keap-token` asks, started while `infusionsoft.tokenHelper.enabled` is on in the user's settings
 * and the workspace is trusted. Both answer through src/tokenHelper/handOut, which refreshes
 * through the account's own scheduler (the same single flight, lock and ledger as every refresh).
 * New terminals get `keap-token` on their PATH, this window's socket, the private folder of every
 * window's socket, this window's secret and the extension host's Node, through the extension's
 * environment variable collection (not persisted). Built on first use (dist/tokenHelper.js).
 */
export class TokenHelper implements vscode.Disposable {
  private server: HelperServer | undefined;
  private starting: Promise<void> | undefined;
  private readonly deps: HandOutDeps;

  constructor(
    private readonly core: Core,
    /** The production guard (src/vscode/environments), loaded only when a production app's token is asked for. */
    private readonly guard?: () => Promise<ProductionGuard>,
  ) {
    const { model, autoRefresher, log, now } = core;
    this.deps = {
      ready: async () => {
        if (!model.isLoaded) await model.reload();
      },
      accounts: () => model.accounts,
      activeKey: () => model.activeKey,
      tokenSet: key => model.get(key),
      health: key => autoRefresher.healthOf(key),
      refreshIfAdmitted: key => autoRefresher.refreshIfAdmitted(key),
      now,
      keapOffsetMs: () => autoRefresher.keapOffsetMs(),
      log,
      words,
    };
  }

  /** Whether the IPC server is listening. */
  get running(): boolean {
    return this.server !== undefined;
  }

  /** Where `keap-token` reaches this window (tests): the socket or pipe, and the private folder. */
  get address(): { readonly address: string; readonly dir: string } | undefined {
    return this.server && { address: this.server.address, dir: this.server.dir };
  }

  /** One hand-out. */
  private answer(app: string | undefined, minValidMs: number, via: HelperVia): Promise<HelperAnswer> {
    return handOut(this.deps, { app, minValidMs, via });
  }

  /**
   * `infusionsoft.accessToken`: the access token of the active Keap app, or of the one `arg` names
   * (a string: app name, client ID or account key; or `{ app?: string, minValidSeconds?: number }`),
   * refreshed first when less than `infusionsoft.tokenHelper.minValidSeconds` (default 300 s) is left.
   * @throws Error with the reason (signed out, paused, Keap unreachable, untrusted workspace), so a launch or task using it fails instead of getting an expired token.
   */
  async accessToken(arg?: unknown): Promise<string> {
    if (!vscode.workspace.isTrusted) throw new Error(l10n.t('The Keap access token is not handed to launch and task configurations in Restricted Mode. Trust the workspace first.'));
    const o = typeof arg === 'string' ? { app: arg } : arg && typeof arg === 'object' ? (arg as { app?: unknown; minValidSeconds?: unknown }) : {};
    const app = typeof o.app === 'string' && o.app.trim() ? o.app.trim() : undefined;
    // As keap-token's --min-valid: a value it would refuse fails the launch rather than be read as something else.
    const given = commandMinValidSeconds(o.minValidSeconds);
    if (given === 'invalid') throw new Error(l10n.t('minValidSeconds must be whole seconds from 0 to {0}; the launch or task gave {1}.', MAX_MIN_VALID_SECONDS, outsideText(JSON.stringify(o.minValidSeconds) ?? String(o.minValidSeconds), 'message', 40)));
    const min = given ?? minValidSeconds();
    const a = await this.answer(app, min * 1000, 'command');
    if (!a.ok) throw new Error(a.message);
    await this.guardProduction(a.app, a.clientId);
    if (!(await this.core.confirmHandOut(`token:${a.app}:${a.clientId}`, l10n.t('Keap app {0}', a.app ?? a.clientId)))) throw new Error(l10n.t('You declined to hand out the Keap access token of app {0}.', a.app ?? a.clientId));
    void this.offerHelper();
    return a.token;
  }

  /**
   * A token of an app marked production goes to a launch or task only after the guard allows the
   * folder (src/session/environmentGuard `handOutFolder`: the active editor's folder, else the only
   * one, else none = bound to nothing); asked once per folder, remembered.
   * @throws Error with the reason when the user does not allow it.
   */
  private async guardProduction(app: string | undefined, clientId: string): Promise<void> {
    const editor = vscode.window.activeTextEditor?.document.uri;
    const folder = handOutFolder(vscode.workspace.workspaceFolders, editor && vscode.workspace.getWorkspaceFolder(editor));
    const where = l10n.t('a launch configuration or task');
    if (!(await this.productionAllowed(app, clientId, folder, where))) {
      throw new Error(l10n.t('{0} is marked production and was not allowed into a launch configuration or task of this folder: bind the folder to it or allow it when asked.', l10n.t('Keap app {0}', app ?? clientId)));
    }
  }

  /**
   * `keap-token`'s answer after the production guard: the folder is the one holding the process's
   * working directory (`cwd` of the request), else the window's only folder, else none. The
   * question is shown in VS Code while keap-token waits (at most {@link HELPER_QUESTION_WAIT_MS});
   * calls that arrive while it is open wait for the same question. Declined or unanswered: the
   * `declined` refusal (exit code 7), nothing handed out.
   */
  private async guardHelper(a: HelperAnswer, cwd: string | undefined): Promise<HelperAnswer> {
    if (!a.ok) return a;
    const inFolder = cwd ? vscode.workspace.getWorkspaceFolder(vscode.Uri.file(cwd)) : undefined;
    const folder = inFolder ?? handOutFolder(vscode.workspace.workspaceFolders, undefined);
    let timer: NodeJS.Timeout | undefined;
    const unanswered = new Promise<false>(resolve => (timer = setTimeout(() => resolve(false), HELPER_QUESTION_WAIT_MS)));
    const allowed = await Promise.race([this.productionAllowed(a.app, a.clientId, folder, l10n.t('keap-token in a terminal')), unanswered]).finally(() => clearTimeout(timer));
    if (allowed) return a;
    const app = a.app ?? a.clientId;
    this.core.log.info(`keap-token: the token of production app ${app} was not handed out (folder ${folder?.name ?? 'none'}: not allowed or not answered)`);
    return { ok: false, refusal: 'declined', message: `Keap app ${app} is marked production and was not allowed for ${folder ? `the folder ${folder.name}` : 'a terminal outside every workspace folder'}. Answer the question in VS Code (Allow for This Folder or Bind Folder), or bind the folder with "Infusionsoft: Bind Folder to Keap Credential…", then run keap-token again.` };
  }

  /**
   * Whether the token of the app (`app`, `clientId`) may go to `where` for `folder`: true when the
   * app is not marked production; else the production guard's answer (asked once per folder and
   * remembered; without a folder, each time). Questions for the same folder and app share one answer.
   */
  private productionAllowed(app: string | undefined, clientId: string, folder: vscode.WorkspaceFolder | undefined, where: string): Promise<boolean> {
    const key = accountKey({ clientId, appName: app });
    if (appEnvironmentIn(this.core.context.globalState.get(ENVIRONMENT_MARKS_KEY), key) !== 'production' || !this.guard) return Promise.resolve(true);
    const asking = `${folder?.uri.toString() ?? ''}\n${key}`;
    let pending = this.questions.get(asking);
    if (!pending) {
      const guard = this.guard;
      pending = (async () => (await guard()).mayHandOut(folder, { id: `app:${key}`, label: l10n.t('Keap app {0}', app ?? clientId), environment: 'production' }, where))().finally(() => this.questions.delete(asking));
      this.questions.set(asking, pending);
    }
    return pending;
  }

  /** Open production questions, by folder and account (one question however many callers wait). */
  private readonly questions = new Map<string, Promise<boolean>>();

  /** Once per user: after the first token a configuration got, offer `keap-token` for scripts (the setting, in the user's settings). */
  private async offerHelper(): Promise<void> {
    const asked = 'infusionsoft.tokenHelper.offered';
    if (tokenHelperEnabled() || this.core.context.globalState.get<boolean>(asked)) return;
    await this.core.context.globalState.update(asked, true);
    const turnOn = l10n.t('Turn On');
    const picked = await vscode.window.showInformationMessage(
      l10n.t('Scripts and programs started from VS Code terminals can get a fresh Keap access token too, by running keap-token (VS Code stays the only one that refreshes). Turn on the token helper in your user settings?'),
      turnOn,
      l10n.t('Not Now'),
    );
    if (picked === turnOn) await vscode.workspace.getConfiguration('infusionsoft.tokenHelper').update('enabled', true, vscode.ConfigurationTarget.Global);
  }

  /** Starts the IPC server and hands its address to new terminals (idempotent). */
  start(): Promise<void> {
    if (this.server) return Promise.resolve();
    return (this.starting ??= this.listen().finally(() => (this.starting = undefined)));
  }

  private async listen(): Promise<void> {
    const server = await startHelperServer({
      dir: helperDir(),
      handle: async req => this.guardHelper(await this.answer(req.app, req.minValidSeconds * 1000, 'keap-token'), req.cwd),
      log: this.core.log,
    });
    this.server = server;
    const bin = path.join(this.core.context.extensionPath, 'bin');
    // The wrapper's executable bit may be lost by an unpacker; it is this extension's own file.
    if (process.platform !== 'win32') fs.promises.chmod(path.join(bin, 'keap-token'), 0o755).catch(() => undefined);
    const env = this.core.context.environmentVariableCollection;
    env.persistent = false;
    env.prepend('PATH', bin + path.delimiter);
    env.replace(ENV.address, server.address);
    env.replace(ENV.dir, server.dir);
    env.replace(ENV.secret, server.secret);
    env.replace(ENV.node, process.execPath);
    this.core.log.info(`token helper on: keap-token in new terminals asks this window (${server.address})`);
  }

  /** Stops the server and takes keap-token out of new terminals. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const env = this.core.context.environmentVariableCollection;
    for (const name of ['PATH', ENV.address, ENV.dir, ENV.secret, ENV.node]) env.delete(name);
    await server.dispose();
    this.core.log.info('token helper off');
  }

  dispose(): void {
    void this.stop();
  }
}
