import * as vscode from 'vscode';
import { buildAuthorizeUrl } from '../keap/authorize';
import { accountKey } from '../session/accounts';
import { endpointProblem } from '../keap/endpoints';
import { Logger } from '../log';
import { AuthorizationResponse, CallbackParseError, parsePastedCallback, readAuthorizationResponse } from '../signin/callback';
import { FlowEnvironment, PASTE_ONLY_REDIRECT_URI, pickFlow } from '../signin/flows';
import { LoopbackListener, startLoopbackListener } from '../signin/loopback';
import { newStateNonce, PendingSignIn } from '../signin/pending';
import { encodeState, EXTENSION_AUTHORITY } from '../signin/relayState';
import { CallbackResult, SignInOutcome, SignInService } from '../signin/signInService';
import { Settings } from './config';
import { RedactingLogger } from './log';
import { OutcomeChannel, SECRET_KEYS, Secrets } from './secrets';
import { SessionModel } from './sessionModel';
import { TokenStatusBar } from './statusBar';

/** The path of this extension's URIs: `<uriScheme>://keap-community.infusionsoft-oauth/callback`. */
export const CALLBACK_PATH = '/callback';

/**
 * The VS Code side of signing in: picks a flow, opens Keap's authorize page with
 * `env.openExternal`, waits in a cancellable progress notification (with a "Paste URL…" way out,
 * case V1), and feeds every callback — UriHandler, loopback or paste — to {@link SignInService}.
 * The URI handler only forwards; the service decides.
 */
export class SignInController implements vscode.UriHandler, vscode.Disposable {
  private readonly waiters = new Map<string, (o: SignInOutcome) => void>();
  private readonly disposables: vscode.Disposable[] = [];
  private loopback: LoopbackListener | undefined;
  private active: { state: string; cancel: () => void } | undefined;
  private readonly handled = new vscode.EventEmitter<CallbackResult>();
  /** Fires after each callback was handled (signed in, failed, duplicate or unknown state). */
  readonly onDidHandleCallback = this.handled.event;

  constructor(
    private readonly service: SignInService,
    private readonly settings: Settings,
    private readonly secrets: Secrets,
    private readonly outcomes: OutcomeChannel,
    private readonly model: SessionModel,
    private readonly statusBar: TokenStatusBar,
    private readonly log: Logger & Pick<RedactingLogger, 'addSecret'>,
    private readonly now: () => number = Date.now,
  ) {
    this.disposables.push(
      this.handled,
      secrets.onDidChange(e => {
        if (e.key === SECRET_KEYS.outcome) void this.outcomes.read().then(o => o && this.resolveWaiter(o));
      }),
      // A sign-in finished by another window (case V2) reaches this one through the shared signal.
      outcomes.signal.watch(() => void this.outcomes.read().then(o => o && this.resolveWaiter(o))),
    );
  }

  /** UriHandler: `…/callback?code=…&state=…` from the relay page or code-server's callback route. */
  handleUri(uri: vscode.Uri): void {
    if (uri.path !== CALLBACK_PATH) {
      this.log.warn(`ignored a URI with path ${uri.path}`);
      return;
    }
    let resp: AuthorizationResponse;
    try {
      resp = readAuthorizationResponse(new URLSearchParams(uri.query));
    } catch (e) {
      this.log.warn(`ignored a malformed callback: ${(e as Error).message}`);
      void vscode.window.showWarningMessage(vscode.l10n.t('Ignored a Keap sign-in callback without a code or error.'));
      return;
    }
    void this.complete(resp, 'uri-handler');
  }

  /** Ends the sign-in this window waits for, if any (as its Cancel button does). */
  cancelActive(): void {
    this.active?.cancel();
  }

  /** Milliseconds from the last callback reaching this window to the token set stored and the status bar updated. */
  lastCallbackMs: number | undefined;

  /** Feeds one authorization response to the service and reports what happened. */
  async complete(resp: AuthorizationResponse, source: string): Promise<CallbackResult> {
    const started = performance.now();
    if (resp.kind === 'code') this.log.addSecret(resp.code);
    const result = await this.service.handle(resp, source, stored => {
      // The status bar renders synchronously on this change.
      this.model.set(accountKey(stored), stored);
      this.lastCallbackMs = performance.now() - started;
    });
    switch (result.kind) {
      case 'signed-in':
        this.model.set(accountKey(result.tokenSet), result.tokenSet);
        this.log.info(`sign-in completed ${Math.round(this.lastCallbackMs ?? 0)} ms after the callback arrived`);
        this.resolveWaiter({ state: result.state, ok: true, appName: result.tokenSet.appName, at: this.now() });
        break;
      case 'failed':
        this.resolveWaiter(result.outcome);
        break;
      case 'unknown-state':
        if (source !== 'uri-handler' || this.active) {
          void vscode.window.showWarningMessage(vscode.l10n.t('This Keap sign-in answer does not belong to a sign-in started in VS Code (unknown or expired state); it was ignored.'));
        }
        break;
      case 'rejected-code':
        void vscode.window.showWarningMessage(
          vscode.l10n.t('Keap did not accept that code. Paste the whole address the browser landed on; the sign-in is still waiting.'),
        );
        break;
      case 'duplicate':
        // A second delivery of the same answer (K8) is normal for the URI handler; a pasted one is a mistake worth saying.
        if (source === 'paste') {
          void vscode.window.showWarningMessage(vscode.l10n.t('This Keap sign-in answer was already used. Paste the address the browser landed on for the sign-in that is waiting now.'));
        }
        break;
    }
    this.handled.fire(result);
    return result;
  }

  /** Infusionsoft: Paste Callback URL. `value` lets tests and other commands pass it directly. */
  async paste(value?: string): Promise<CallbackResult | undefined> {
    const input =
      value ??
      (await vscode.window.showInputBox({
        title: vscode.l10n.t('Infusionsoft: Paste Callback URL'),
        prompt: vscode.l10n.t('Paste the whole address the browser landed on after you clicked Allow (or just the code).'),
        placeHolder: 'https://…?code=…&state=…', // l10n-ignore: an address pattern, the same in every language
        ignoreFocusOut: true,
        validateInput: v => {
          try {
            parsePastedCallback(v);
            return undefined;
          } catch (e) {
            return v.trim() ? (e as Error).message : undefined;
          }
        },
      }));
    if (input === undefined) return undefined;
    let resp: AuthorizationResponse;
    try {
      resp = parsePastedCallback(input);
    } catch (e) {
      const msg = e instanceof CallbackParseError ? e.message : String(e);
      void vscode.window.showErrorMessage(msg);
      return undefined;
    }
    return this.complete(resp, 'paste');
  }

  /**
   * Infusionsoft: Sign In. Resolves when the sign-in ended (true when signed in). Never touches the
   * signed-in accounts unless a new token set arrives; signing in to a Keap app already signed in
   * replaces that account's tokens, another app is added beside the others.
   * @param options.clientId the client ID to sign in with (default: the `infusionsoft.clientId` setting).
   * @param options.appName the Keap app the user means to pick on Keap's page (a hint shown while waiting).
   */
  async signIn(options?: { clientId?: string; appName?: string }): Promise<boolean> {
    return (await this.signInAccount(options)) !== undefined;
  }

  /** {@link signIn}, resolving to the signed-in account's key (src/session/accounts), made active in this window. */
  async signInAccount(options?: { clientId?: string; appName?: string }): Promise<string | undefined> {
    if (this.model.staleView) {
      // Adding an account from a view that is behind would rewrite the list without the others' changes.
      offerReload(vscode.l10n.t('Another window changed the Keap sign-ins and this window has not caught up. Reload it, then sign in.'));
      return undefined;
    }
    if (this.active) {
      const choice = await vscode.window.showInformationMessage(
        vscode.l10n.t('A Keap sign-in is already waiting for the browser.'),
        vscode.l10n.t('Paste URL…'),
        vscode.l10n.t('Start Over'),
      );
      if (choice === vscode.l10n.t('Paste URL…')) {
        const r = await this.paste();
        return r?.kind === 'signed-in' ? accountKey(r.tokenSet) : undefined;
      }
      if (choice !== vscode.l10n.t('Start Over')) return undefined;
      this.active.cancel();
    }
    const endpoints = this.settings.endpoints();
    const problem = endpointProblem(endpoints.authorizeUrl) ?? endpointProblem(endpoints.tokenUrl);
    if (problem) {
      void vscode.window.showErrorMessage(vscode.l10n.t('The Keap authorize or token URL setting {0}.', problem));
      return undefined;
    }
    let clientId = options?.clientId?.trim() || this.settings.clientId();
    let secret = clientId ? await this.secrets.clientSecret(clientId) : undefined;
    if (!clientId || !secret) {
      // Straight to the input boxes (their titles say what is asked), rather than a notification first.
      if (!(await vscode.commands.executeCommand<boolean>('infusionsoft.setClientCredentials', clientId ? { clientId, quiet: true } : { quiet: true }))) return undefined;
      clientId = this.settings.clientId();
      secret = await this.secrets.clientSecret(clientId);
      if (!clientId || !secret) return undefined;
    }

    const env: FlowEnvironment = {
      desktop: vscode.env.uiKind === vscode.UIKind.Desktop,
      remote: vscode.env.remoteName !== undefined,
      relayUrl: this.settings.relayUrl(),
    };
    const flow = pickFlow(env);
    const nonce = newStateNonce();
    let state = nonce;
    let redirectUri: string;
    if (flow.id === 'relay') {
      const problemRelay = endpointProblem(env.relayUrl!);
      if (problemRelay || new URL(env.relayUrl!).search) {
        void vscode.window.showErrorMessage(vscode.l10n.t('The redirect URI setting {0}.', problemRelay ?? vscode.l10n.t('must not have a query string (Keap rejects it)')));
        return undefined;
      }
      redirectUri = env.relayUrl!;
      // The relay forwards to this window's own callback, carried inside state (never in the redirect URI).
      const local = vscode.Uri.parse(`${vscode.env.uriScheme}://${EXTENSION_AUTHORITY}${CALLBACK_PATH}`);
      const external = await vscode.env.asExternalUri(local);
      state = encodeState(nonce, external.toString(true));
    } else if (flow.id === 'loopback') {
      try {
        this.loopback ??= await startLoopbackListener(this.settings.loopbackPort(), async r => {
          const res = await this.complete(r, 'loopback');
          return res.kind === 'signed-in'
            ? { ok: true, message: vscode.l10n.t('Signed in to Keap app {0}.', res.tokenSet.appName ?? '') }
            : { ok: false, message: res.kind === 'failed' ? res.outcome.message : vscode.l10n.t('This answer does not belong to a sign-in that is waiting.') };
        });
        redirectUri = this.loopback.redirectUri;
      } catch (e) {
        this.log.warn(`loopback listener could not start (${(e as Error).message}); falling back to paste`);
        redirectUri = PASTE_ONLY_REDIRECT_URI;
      }
    } else {
      redirectUri = PASTE_ONLY_REDIRECT_URI;
    }

    const timeoutMs = this.settings.signInTimeoutMs();
    const pending: PendingSignIn = { state, redirectUri, clientId, flow: flow.id, createdAt: this.now(), expiresAt: this.now() + timeoutMs };
    await this.service.begin(pending);
    const authorizeUrl = buildAuthorizeUrl({ authorizeUrl: endpoints.authorizeUrl, clientId, redirectUri, state });
    this.log.info(`opening Keap's authorize page (flow ${flow.id}: ${flow.description})`);

    const outcome = await this.wait(state, timeoutMs, flow.id, authorizeUrl, options?.appName);
    if (outcome.ok) {
      const key = accountKey({ clientId, appName: outcome.appName });
      // The callback may have landed in another window: read what it stored.
      if (!this.model.get(key)) await this.model.reload();
      await this.model.setActive(key);
      void vscode.window.showInformationMessage(vscode.l10n.t('Signed in to Keap app {0}.', outcome.appName ?? ''));
      return key;
    }
    if (outcome.kind === 'bad-client-credentials' || outcome.kind === 'no-credentials') {
      const reenter = vscode.l10n.t('Re-enter Credentials');
      void vscode.window.showErrorMessage(outcome.message, reenter).then(c => {
        if (c === reenter) void vscode.commands.executeCommand('infusionsoft.setClientCredentials', { clientId });
      });
    } else if (outcome.kind !== 'cancelled') {
      void vscode.window.showErrorMessage(outcome.message);
    }
    return undefined;
  }

  private async wait(state: string, timeoutMs: number, flow: string, authorizeUrl: string, appName?: string): Promise<SignInOutcome | { ok: false; kind: 'cancelled'; message: string }> {
    const done = new Promise<SignInOutcome>(resolve => this.waiters.set(state, resolve));
    let cancel!: () => void;
    const cancelled = new Promise<{ ok: false; kind: 'cancelled'; message: string }>(resolve => {
      cancel = () => {
        this.log.info('sign-in cancelled (Cancel Sign-In or a new sign-in)');
        resolve({ ok: false, kind: 'cancelled', message: vscode.l10n.t('Sign-in cancelled.') });
      };
    });
    this.active = { state, cancel };
    void vscode.commands.executeCommand('setContext', 'infusionsoft.signingIn', true);
    this.statusBar.setSigningIn(true);

    const opened = await vscode.env.openExternal(vscode.Uri.parse(authorizeUrl, true));
    if (!opened) this.log.warn('the browser could not be opened; waiting for a pasted URL');

    // Where pasting is the way back, ask for the URL at once; elsewhere the status-bar item and the
    // Paste Callback URL command offer it (a notification could not be taken back when the sign-in ends).
    if (flow === 'paste') void this.paste();

    const timeout = new Promise<SignInOutcome>(resolve => {
      const t = setTimeout(
        () => {
          const minutes = Math.max(1, Math.round(timeoutMs / 60_000));
          this.log.warn(`sign-in gave up after ${minutes} min without an answer`);
          resolve({
            state,
            ok: false,
            kind: 'expired',
            message:
              minutes === 1
                ? vscode.l10n.t('No answer from Keap within 1 minute. Run Infusionsoft: Sign In again.')
                : vscode.l10n.t('No answer from Keap within {0} minutes. Run Infusionsoft: Sign In again.', minutes),
            at: this.now(),
          });
        },
        timeoutMs,
      );
      void done.finally(() => clearTimeout(t));
    });

    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Keap: waiting for you to approve access in the browser…'), cancellable: true },
        (progress, token) => {
          const back = vscode.l10n.t('Browser did not come back? Click "Keap: waiting for sign-in" in the status bar to paste the address it landed on.');
          progress.report({ message: appName ? `${vscode.l10n.t('On Keap\'s page, choose the Keap app {0}.', appName)} ${back}` : back });
          const onCancel = new Promise<{ ok: false; kind: 'cancelled'; message: string }>(resolve =>
            token.onCancellationRequested(() => {
              this.log.info('sign-in cancelled from the progress notification');
              resolve({ ok: false, kind: 'cancelled', message: vscode.l10n.t('Sign-in cancelled.') });
            }),
          );
          return Promise.race([done, timeout, cancelled, onCancel]);
        },
      );
    } finally {
      this.waiters.delete(state);
      if (this.active?.state === state) this.active = undefined;
      void vscode.commands.executeCommand('setContext', 'infusionsoft.signingIn', false);
      this.statusBar.setSigningIn(false);
      await this.service.abandon(state).catch(() => undefined);
      await this.closeLoopback();
    }
  }

  private resolveWaiter(o: SignInOutcome): void {
    const w = this.waiters.get(o.state);
    if (w) {
      this.waiters.delete(o.state);
      w(o);
    }
  }

  private async closeLoopback(): Promise<void> {
    const l = this.loopback;
    this.loopback = undefined;
    await l?.close();
  }

  dispose(): void {
    this.active?.cancel();
    void this.closeLoopback();
    for (const d of this.disposables) d.dispose();
  }
}

/** A warning with a Reload Window button, for actions refused because this window's view is behind. */
export function offerReload(message: string): void {
  const reload = vscode.l10n.t('Reload Window');
  void vscode.window.showWarningMessage(message, reload).then(c => {
    if (c === reload) void vscode.commands.executeCommand('workbench.action.reloadWindow');
  });
}
