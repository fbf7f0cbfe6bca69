import vscode = require('vscode');
import { l10n } from 'vscode';
import { buildAuthorizeUrl } from '../keap/authorize';
import { accountKey } from '../session/accounts';
import { endpointProblem } from '../keap/endpoints';
import { Logger } from '../log';
import { AuthorizationResponse, CallbackParseError, parsePastedCallback, readAuthorizationResponse } from '../signin/callback';
import { FlowEnvironment, PASTE_ONLY_REDIRECT_URI, pickFlow } from '../signin/flows';
import { keapSays } from '../signin/keapText';
import { outsideText } from '../outsideText';
import { LoopbackListener, LoopbackPortBusyError, LoopbackReply, startLoopbackListener } from '../signin/loopback';
import { ForeignPasteKind, KnownValues, recognizeForeignPaste } from '../signin/pasteCheck';
import { newStateNonce, PendingSignIn } from '../signin/pending';
import { encodeState, EXTENSION_AUTHORITY } from '../signin/relayState';
import { answeredSignIn, CallbackResult, CallbackSource, DENIAL_HINT, SignInOutcome, SignInService } from '../signin/signInService';
import { Settings } from './config';
import { RedactingLogger } from './log';
import { OutcomeChannel, SECRET_KEYS, Secrets } from './secrets';
import { offerReload, SessionModel } from './sessionModel';
import { TokenStatusBar } from './statusBar';

/** The path of this extension's URIs: `<uriScheme>://keap-community.infusionsoft-oauth/callback`. */
export const CALLBACK_PATH = '/callback';

/** What Paste Callback URL did: the callback's result, or a value refused before anything was sent. */
export type PasteResult = CallbackResult | { readonly kind: 'not-a-callback'; readonly looksLike: ForeignPasteKind };

/** What `infusionsoft.signIn` does when an app of this client ID is already signed in. */
export type IfSignedIn = 'ask' | 'proceed' | 'cancel';

/**
 * The VS Code side of signing in: picks a flow, opens Keap's authorize page with
 * `env.openExternal`, waits in a cancellable progress notification (with a "Paste URL…" way out,
 * case V1), and feeds every callback — UriHandler, loopback or paste — to {@link SignInService}.
 * The URI handler only forwards; the service decides.
 */
export class SignInController implements vscode.UriHandler, vscode.Disposable {
  private readonly waiters = new Map<string, (o: SignInOutcome) => void>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Loopback listeners of sign-ins in this window, each closed when its sign-in ends. */
  private readonly listeners = new Set<LoopbackListener>();
  /**
   * The sign-in this window waits for. `ended` is cancelled when it ends, which closes its paste
   * box; `finished` resolves once its loopback listener is closed (a new one may need the port).
   */
  private active: { state: string; cancel: () => void; ended: vscode.CancellationTokenSource; finished: Promise<void> } | undefined;
  /** A message said "the sign-in is still waiting" during the current sign-in: its end must be said too (issue 19.2). */
  private toldStillWaiting = false;
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

  /**
   * UriHandler: `…/callback?code=…&state=…` from the relay page or code-server's callback route.
   * Any web page can open this URI, so what does not match a waiting sign-in is only logged.
   */
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
  async complete(resp: AuthorizationResponse, source: CallbackSource): Promise<CallbackResult> {
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
        // Only the user's own paste earns words; a page that opens the URI or the loopback address earns a log line (S2, S3).
        if (source === 'paste') {
          void vscode.window.showWarningMessage(l10n.t('This Keap sign-in answer does not belong to a sign-in started in VS Code (unknown or expired state); it was ignored.'));
        }
        break;
      case 'no-state':
        break;
      case 'rejected-code':
        this.toldStillWaiting = this.active !== undefined;
        void vscode.window.showWarningMessage(
          l10n.t('Keap did not accept that code. Paste the whole address the browser landed on; the sign-in is still waiting.'),
        );
        break;
      case 'duplicate':
        // A second delivery of the same answer (K8) is normal for the URI handler; a pasted one is a mistake worth saying.
        if (source === 'paste') {
          void vscode.window.showWarningMessage(l10n.t('This Keap sign-in answer was already used. Paste the address the browser landed on for the sign-in that is waiting now.'));
        }
        break;
    }
    this.handled.fire(result);
    return result;
  }

  /**
   * Infusionsoft: Paste Callback URL. `value` lets tests and other commands pass it directly. The
   * box closes when the sign-in it serves ends. A value that is recognisably something else (a
   * client secret, a token, a Keap API key…) is refused here and never sent to Keap.
   */
  async paste(value?: string, prefillOnly = false): Promise<PasteResult | undefined> {
    const known = await this.knownValues();
    const input =
      (prefillOnly ? undefined : value) ??
      (await vscode.window.showInputBox(
        {
          // A value another extension passed only fills the box (issue 17.7): the user confirms it.
          value: prefillOnly ? value : undefined,
          title: l10n.t('Infusionsoft: Paste Callback URL'),
          prompt: l10n.t('Paste the whole address the browser landed on after you clicked Allow (or just the code).'),
          placeHolder: 'https://…?code=…&state=…', // l10n-ignore: an address pattern, the same in every language
          ignoreFocusOut: true,
          validateInput: v => {
            if (!v.trim()) return undefined;
            const foreign = recognizeForeignPaste(v, known);
            if (foreign) return foreignPasteMessage(foreign);
            try {
              parsePastedCallback(v);
              return undefined;
            } catch (e) {
              return (e as Error).message;
            }
          },
        },
        this.active?.ended.token,
      ));
    if (input === undefined) return undefined;
    const foreign = recognizeForeignPaste(input, known);
    if (foreign) {
      this.log.warn(`refused a pasted value that looks like ${foreign}; nothing was sent to Keap`);
      void vscode.window.showErrorMessage(foreignPasteMessage(foreign));
      return { kind: 'not-a-callback', looksLike: foreign };
    }
    let resp: AuthorizationResponse;
    try {
      resp = parsePastedCallback(input);
    } catch (e) {
      const msg = e instanceof CallbackParseError ? e.message : String(e);
      void vscode.window.showErrorMessage(outsideText(msg, 'message', 1000));
      return undefined;
    }
    return this.complete(resp, 'paste');
  }

  /** The client IDs, client secrets and tokens this extension holds, to recognise them when pasted. */
  private async knownValues(): Promise<KnownValues> {
    const accounts = this.model.accounts;
    const clientIds = [...new Set([this.settings.clientId(), ...accounts.map(a => a.clientId)].filter(Boolean))];
    const clientSecrets: string[] = [];
    for (const id of clientIds) {
      const secret = await this.secrets.clientSecret(id).catch(() => undefined);
      if (secret) clientSecrets.push(secret);
    }
    return { clientIds, clientSecrets, accessTokens: accounts.map(a => a.accessToken), refreshTokens: accounts.map(a => a.refreshToken) };
  }

  /**
   * Infusionsoft: Sign In. Resolves when the sign-in ended (true when signed in). Never touches the
   * signed-in accounts unless a new token set arrives; signing in to a Keap app already signed in
   * replaces that account's tokens, another app is added beside the others.
   * @param options.clientId the client ID to sign in with (default: the `infusionsoft.clientId` setting).
   * @param options.appName the Keap app the user means to pick on Keap's page (a hint shown while waiting).
   * @param options.ifSignedIn when an app of this client ID is signed in already: `ask` first (a
   *   non-modal notification), `proceed` (the default, for Add Another Keap App and other
   *   extensions), or `cancel`.
   */
  async signIn(options?: { clientId?: string; appName?: string; ifSignedIn?: IfSignedIn }): Promise<boolean> {
    return (await this.signInAccount(options)) !== undefined;
  }

  /** {@link signIn}, resolving to the signed-in account's key (src/session/accounts), made active in this window. */
  async signInAccount(options?: { clientId?: string; appName?: string; ifSignedIn?: IfSignedIn }): Promise<string | undefined> {
    if (this.model.staleView) {
      // Adding an account from a view that is behind would rewrite the list without the others' changes.
      offerReload(l10n.t('Another window changed the Keap sign-ins and this window has not caught up. Reload it, then sign in.'));
      return undefined;
    }
    if (this.active) {
      const choice = await vscode.window.showInformationMessage(
        l10n.t('A Keap sign-in is already waiting for the browser.'),
        l10n.t('Paste URL…'),
        l10n.t('Start Over'),
      );
      if (choice === l10n.t('Paste URL…')) {
        const r = await this.paste();
        return r?.kind === 'signed-in' ? accountKey(r.tokenSet) : undefined;
      }
      if (choice !== l10n.t('Start Over')) return undefined;
      const previous = this.active;
      previous?.cancel();
      await previous?.finished;
    }
    const endpoints = this.settings.endpoints();
    const problem = endpointProblem(endpoints.authorizeUrl) ?? endpointProblem(endpoints.tokenUrl);
    if (problem) {
      void vscode.window.showErrorMessage(l10n.t('The Keap authorize or token URL setting {0}.', problem));
      return undefined;
    }
    let clientId = options?.clientId?.trim() || this.settings.clientId();
    if (!(await this.confirmAnotherSignIn(clientId, options?.ifSignedIn ?? 'proceed'))) return undefined;
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
    let listener: LoopbackListener | undefined;
    if (flow.id === 'relay') {
      const problemRelay = endpointProblem(env.relayUrl!);
      if (problemRelay || new URL(env.relayUrl!).search) {
        void vscode.window.showErrorMessage(l10n.t('The redirect URI setting {0}.', problemRelay ?? l10n.t('must not have a query string (Keap rejects it)')));
        return undefined;
      }
      redirectUri = env.relayUrl!;
      // The relay forwards to this window's own callback, carried inside state (never in the redirect URI).
      const local = vscode.Uri.parse(`${vscode.env.uriScheme}://${EXTENSION_AUTHORITY}${CALLBACK_PATH}`);
      const external = await vscode.env.asExternalUri(local);
      state = encodeState(nonce, external.toString(true));
    } else if (flow.id === 'loopback') {
      try {
        // One listener per sign-in: it answers once and closes when this sign-in ends (S4).
        listener = await startLoopbackListener(this.settings.loopbackPort(), async r => loopbackReply(r, await this.complete(r, 'loopback')));
        this.listeners.add(listener);
        redirectUri = listener.redirectUri;
      } catch (e) {
        this.log.warn(`loopback listener could not start (${(e as Error).message}); falling back to paste`);
        if (e instanceof LoopbackPortBusyError) {
          // Case K16: said before the browser opens, so Keap's code never goes to the other program.
          void vscode.window.showWarningMessage(
            l10n.t(
              'Port {0} (the infusionsoft.loopbackPort setting) is in use on {1} by another program, so the browser could hand it the sign-in code. This sign-in uses pasting instead; set infusionsoft.loopbackPort to a free port, or to 0 for any free one.',
              e.port,
              e.address === '::1' ? '[::1]' : e.address,
            ),
          );
        }
        redirectUri = PASTE_ONLY_REDIRECT_URI;
      }
    } else {
      redirectUri = PASTE_ONLY_REDIRECT_URI;
    }

    const timeoutMs = this.settings.signInTimeoutMs();
    const pending: PendingSignIn = { state, redirectUri, clientId, tokenUrl: endpoints.tokenUrl, flow: flow.id, createdAt: this.now(), expiresAt: this.now() + timeoutMs };
    try {
      await this.service.begin(pending);
    } catch (e) {
      // The sign-in never started: its listener must not outlive it.
      if (listener) this.listeners.delete(listener);
      await listener?.close();
      throw e;
    }
    const authorizeUrl = buildAuthorizeUrl({ authorizeUrl: endpoints.authorizeUrl, clientId, redirectUri, state });
    this.log.info(`opening Keap's authorize page (flow ${flow.id}: ${flow.description})`);

    const outcome = await this.wait(state, timeoutMs, flow.id, authorizeUrl, options?.appName, listener);
    if (outcome.ok) {
      const key = accountKey({ clientId, appName: outcome.appName });
      // The callback may have landed in another window: read what it stored.
      if (!this.model.get(key)) await this.model.reload();
      await this.model.setActive(key);
      void vscode.window.showInformationMessage(l10n.t('Signed in to Keap app {0}.', outcome.appName ?? ''));
      return key;
    }
    if (outcome.kind === 'bad-client-credentials' || outcome.kind === 'no-credentials') {
      const reenter = l10n.t('Re-enter Credentials');
      void vscode.window.showErrorMessage(outsideText(outcome.message, 'message', 1000), reenter).then(c => {
        if (c === reenter) void vscode.commands.executeCommand('infusionsoft.setClientCredentials', { clientId });
      });
    } else if (outcome.kind !== 'cancelled') {
      void vscode.window.showErrorMessage(outsideText(outcome.message, 'message', 1000));
    } else if (this.toldStillWaiting) {
      // An earlier message said the sign-in still waits; this one says it no longer does.
      void vscode.window.showInformationMessage(l10n.t('The Keap sign-in was cancelled; it no longer waits for the browser.'));
    }
    this.toldStillWaiting = false;
    return undefined;
  }

  /**
   * Asks before another sign-in to a client ID that has a signed-in app (`ask`), with a non-modal
   * notification (test windows refuse modal dialogs). True when the sign-in may start.
   */
  private async confirmAnotherSignIn(clientId: string, ifSignedIn: IfSignedIn): Promise<boolean> {
    const apps = this.model.accounts.filter(a => a.clientId === clientId && clientId);
    if (apps.length === 0 || ifSignedIn === 'proceed') return true;
    if (ifSignedIn === 'cancel') return false;
    const again = l10n.t('Sign In Again');
    const names = apps.map(a => a.appName ?? a.clientId).join(', ');
    const choice = await vscode.window.showInformationMessage(
      l10n.t('Already signed in to Keap app {0}. Start another sign-in? Keap lets you pick the app again; signing in to the same app replaces its tokens.', names),
      again,
    );
    return choice === again;
  }

  private async wait(
    state: string,
    timeoutMs: number,
    flow: string,
    authorizeUrl: string,
    appName?: string,
    listener?: LoopbackListener,
  ): Promise<SignInOutcome | { ok: false; kind: 'cancelled'; message: string }> {
    const done = new Promise<SignInOutcome>(resolve => this.waiters.set(state, resolve));
    let cancel!: () => void;
    const cancelled = new Promise<{ ok: false; kind: 'cancelled'; message: string }>(resolve => {
      cancel = () => {
        this.log.info('sign-in cancelled (Cancel Sign-In or a new sign-in)');
        resolve({ ok: false, kind: 'cancelled', message: l10n.t('Sign-in cancelled.') });
      };
    });
    const ended = new vscode.CancellationTokenSource();
    let markFinished!: () => void;
    const finished = new Promise<void>(resolve => (markFinished = resolve));
    this.active = { state, cancel, ended, finished };
    this.toldStillWaiting = false;
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
                ? l10n.t('No answer from Keap within 1 minute. Run Infusionsoft: Sign In again.')
                : l10n.t('No answer from Keap within {0} minutes. Run Infusionsoft: Sign In again.', minutes),
            at: this.now(),
          });
        },
        timeoutMs,
      );
      void done.finally(() => clearTimeout(t));
    });

    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: l10n.t('Keap: waiting for you to approve access in the browser'), cancellable: true },
        (progress, token) => {
          // VS Code shows "title: message", so the message reads on from the title.
          const back = l10n.t('if the browser does not come back, click "Keap: waiting for sign-in" in the status bar and paste the address it landed on.');
          progress.report({ message: appName ? l10n.t('choose the Keap app {0} on Keap\'s page; {1}', appName, back) : back });
          const onCancel = new Promise<{ ok: false; kind: 'cancelled'; message: string }>(resolve =>
            token.onCancellationRequested(() => {
              this.log.info('sign-in cancelled from the progress notification');
              resolve({ ok: false, kind: 'cancelled', message: l10n.t('Sign-in cancelled.') });
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
      // Closes this sign-in's paste box and loopback listener (cancel, timeout, or success anywhere).
      ended.cancel();
      ended.dispose();
      await this.service.abandon(state).catch(() => undefined);
      if (listener) {
        this.listeners.delete(listener);
        await listener.close();
      }
      markFinished();
    }
  }

  private resolveWaiter(o: SignInOutcome): void {
    const w = this.waiters.get(o.state);
    if (w) {
      this.waiters.delete(o.state);
      w(o);
    }
  }

  dispose(): void {
    this.active?.cancel();
    for (const l of this.listeners) void l.close();
    this.listeners.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/** Words for a pasted value that is recognisably not Keap's answer: what it looks like, and what to paste instead. */
function foreignPasteMessage(kind: ForeignPasteKind): string {
  const instead = l10n.t('Nothing was sent to Keap. Paste the address the browser landed on after you clicked Allow.');
  switch (kind) {
    case 'client-secret':
      return `${l10n.t('That is your client secret, not Keap\'s answer.')} ${instead}`;
    case 'client-id':
      return `${l10n.t('That is your client ID, not Keap\'s answer.')} ${instead}`;
    case 'access-token':
      return `${l10n.t('That is an access token VS Code already holds, not Keap\'s answer.')} ${instead}`;
    case 'refresh-token':
      return `${l10n.t('That is a refresh token VS Code already holds, not Keap\'s answer.')} ${instead}`;
    case 'keap-api-key':
      return `${l10n.t('That looks like a Keap Personal Access Token or Service Account Key (KeapAK-…), not Keap\'s answer.')} ${instead}`;
    case 'authorization-header':
      return `${l10n.t('That looks like an HTTP Authorization header (Bearer or Basic), not Keap\'s answer.')} ${instead}`;
    case 'token-response':
      return `${l10n.t('That looks like a token response (JSON), not Keap\'s answer to the sign-in.')} ${instead}`;
  }
}

/** What the loopback page tells the browser for each result; only an answer that belonged to the sign-in settles the listener. */
function loopbackReply(r: AuthorizationResponse, res: CallbackResult): LoopbackReply {
  const settled = answeredSignIn(res);
  switch (res.kind) {
    case 'signed-in':
      return { ok: true, settled, message: l10n.t('Signed in to Keap app {0}.', res.tokenSet.appName ?? '') };
    case 'failed':
      return { ok: false, settled, message: res.outcome.message };
    case 'duplicate':
      return { ok: false, settled, message: l10n.t('This sign-in answer was already used.') };
    case 'no-state':
      if (r.kind === 'error') {
        // Keap's real denial has an empty state (K7), and so does a forged one: show Keap's words here, end nothing in VS Code.
        const hint = r.error === 'access_denied' ? ` ${DENIAL_HINT}` : '';
        return {
          ok: false,
          settled,
          title: l10n.t('Keap did not grant access'),
          message: `${keapSays(r.errorDescription ?? r.error)}.${hint} ${l10n.t('VS Code is still waiting: click Cancel on its notification, or run Infusionsoft: Paste Callback URL and paste this page\'s address to end the sign-in.')}`,
        };
      }
      return { ok: false, settled, message: l10n.t('This answer has no state, so VS Code cannot tell that it belongs to your sign-in. If you started it, run Infusionsoft: Paste Callback URL in VS Code and paste this page\'s address.') };
    default:
      return { ok: false, settled, message: l10n.t('This answer does not belong to a sign-in that is waiting.') };
  }
}
