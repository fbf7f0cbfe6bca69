import { KeapError, KeapErrorKind } from '../keap/errors';
import { KeapTokenClient } from '../keap/tokenClient';
import { Logger } from '../log';
import { accountKey, StaleViewError } from '../session/accounts';
import { KeyringError } from '../session/store';
import { TokenSet } from '../session/tokenSet';
import { AuthorizationResponse } from './callback';
import { keapSays, oneLine } from './keapText';
import { logWhen } from '../session/timeWords';
import { matchPending, PendingSignIn, prunePending } from './pending';

/** The list of pending sign-ins, shared by every window (SecretStorage in VS Code). */
export interface PendingStore {
  read(): Promise<PendingSignIn[]>;
  write(list: PendingSignIn[]): Promise<void>;
}

/** How a sign-in ended; published so the window that started it learns it even when another window finished it. Holds no token. */
export type SignInOutcome =
  | { readonly state: string; readonly ok: true; readonly appName: string | undefined; readonly at: number }
  | { readonly state: string; readonly ok: false; readonly kind: KeapErrorKind | 'expired' | 'keyring' | 'no-credentials'; readonly message: string; readonly at: number };

export interface SignInDeps {
  readonly now: () => number;
  readonly log: Logger;
  readonly tokenClient: KeapTokenClient;
  readonly pending: PendingStore;
  /** Where token sets are stored: each under its account (client ID + Keap app), see src/session/accounts. */
  readonly sessions: { read(account: string): Promise<TokenSet | undefined>; write(set: TokenSet): Promise<void> };
  /** Claims a `state` once across every window and process; false when it was already claimed (case K8). */
  readonly claim: (state: string) => Promise<boolean>;
  /** Whether a `state` was claimed before (to tell a duplicate callback from a foreign one). */
  readonly wasClaimed: (state: string) => Promise<boolean>;
  /** The client credentials for `clientId`, or undefined when none are set. */
  readonly credentials: (clientId: string) => Promise<{ clientId: string; clientSecret: string } | undefined>;
  readonly publishOutcome: (outcome: SignInOutcome) => Promise<void>;
}

/**
 * Where an authorization response came from. Only `paste` is typed by the user's own hands; the
 * UriHandler and the loopback listener receive whatever any web page opens (cases S2, S3).
 */
export type CallbackSource = 'uri-handler' | 'loopback' | 'paste';

/** What handling one callback did. */
export type CallbackResult =
  | { readonly kind: 'signed-in'; readonly state: string; readonly tokenSet: TokenSet }
  | { readonly kind: 'failed'; readonly state: string; readonly outcome: SignInOutcome & { ok: false } }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'unknown-state' }
  /** A callback without `state` from the UriHandler or the loopback listener: refused, nothing ends (S2, S3). */
  | { readonly kind: 'no-state' }
  /** A pasted bare code Keap refused: likely mistyped; the sign-in keeps waiting for the right answer. */
  | { readonly kind: 'rejected-code'; readonly state: string };

/**
 * Whether a result answered a sign-in this extension started (its `state` matched, whatever the
 * outcome): after one such answer a loopback listener has served its purpose and closes (S4).
 */
export function answeredSignIn(result: CallbackResult): boolean {
  return result.kind === 'signed-in' || result.kind === 'failed' || result.kind === 'duplicate';
}

/** Keap's hint for a denial nobody clicked (keap-oauth.md: a Keap ID with no Keap app gets access_denied after Allow). */
export const DENIAL_HINT = 'If you clicked Allow, check that your Keap ID is attached to a Keap app.';

/**
 * Completes sign-ins: matches a callback to its pending sign-in by `state`, claims it once,
 * exchanges the code with the exact redirect URI that was sent, stores the token set and
 * publishes the outcome. Never touches the existing session on failure.
 */
export class SignInService {
  constructor(private readonly deps: SignInDeps) {}

  /** Records a sign-in that waits for Keap's answer. */
  async begin(p: PendingSignIn): Promise<void> {
    const list = prunePending(await this.deps.pending.read(), this.deps.now());
    list.push(p);
    await this.deps.pending.write(list);
    this.deps.log.info(`sign-in started: flow ${p.flow}, waiting until ${logWhen(p.expiresAt, this.deps.now())}`);
  }

  /** Forgets a pending sign-in (cancelled or timed out in the window that started it). */
  async abandon(state: string): Promise<void> {
    const list = await this.deps.pending.read();
    const rest = list.filter(p => p.state !== state);
    if (rest.length !== list.length) await this.deps.pending.write(rest);
  }

  /**
   * Handles one authorization response, from whichever window or path received it.
   *
   * A response without `state` is refused unless the user pasted it: anyone can open the
   * UriHandler's URI or the loopback address, but only a matching `state` proves that Keap's answer
   * belongs to a sign-in this user started (RFC 6749 §10.12; cases S2, S3). Keap's own denial comes
   * with an empty state (case K7), so through those paths it ends nothing: the relay or loopback
   * page shows it in the browser, and pasting it here ends the sign-in.
   * @param source where it came from; a bare code or a stateless denial counts only from `paste`.
   * @param onStored called right after the token set is in storage (before userinfo), for timing.
   */
  async handle(resp: AuthorizationResponse, source: CallbackSource, onStored?: (tokenSet: TokenSet) => void): Promise<CallbackResult> {
    const { log, now } = this.deps;
    if (resp.state === undefined && source !== 'paste') {
      log.warn(`refused a callback from ${source} without state (${resp.kind === 'error' ? `error "${oneLine(resp.error, 40)}"` : 'a code'}); any sign-in keeps waiting`);
      return { kind: 'no-state' };
    }
    const all = await this.deps.pending.read();

    // Pasted by the user, Keap's denial with its empty state (case K7) ends every live sign-in.
    if (resp.kind === 'error' && resp.state === undefined) {
      const live = prunePending(all, now());
      if (live.length === 0) {
        log.warn(`authorization error "${oneLine(resp.error, 40)}" from ${source} with no state and no sign-in waiting; ignored`);
        return { kind: 'unknown-state' };
      }
      await this.deps.pending.write([]);
      let last: CallbackResult = { kind: 'unknown-state' };
      for (const p of live) {
        if (await this.deps.claim(p.state)) last = await this.fail(p.state, denialError(resp.error, resp.errorDescription));
      }
      return last;
    }

    const match = matchPending(all, resp.state, now());
    if (match.kind === 'unknown') {
      if (resp.state !== undefined && (await this.deps.wasClaimed(resp.state))) {
        log.info(`callback from ${source} for a sign-in already handled; duplicate ignored`);
        return { kind: 'duplicate' };
      }
      log.warn(`callback from ${source} does not match any pending sign-in (state unknown); ignored`);
      return { kind: 'unknown-state' };
    }
    const pending = match.pending;
    // A pasted bare code carries no state: it is claimed by itself, so a mistyped one leaves the
    // sign-in waiting for the real answer (which is then claimed by its state as usual).
    const bare = resp.kind === 'code' && resp.state === undefined && match.kind === 'found';
    if (!(await this.deps.claim(bare ? `code:${resp.code}` : pending.state))) {
      log.info(`callback from ${source} for a sign-in another handler claimed; duplicate ignored`);
      return { kind: 'duplicate' };
    }
    const settle = async () => {
      if (bare && !(await this.deps.claim(pending.state))) return false;
      await this.deps.pending.write((await this.deps.pending.read()).filter(p => p.state !== pending.state));
      return true;
    };
    if (!bare) await settle();

    if (match.kind === 'expired') {
      return this.fail(pending.state, { kind: 'expired', message: 'The sign-in took too long and expired. Run Infusionsoft: Sign In again.' });
    }
    if (resp.kind === 'error') {
      return this.fail(pending.state, denialError(resp.error, resp.errorDescription));
    }
    const creds = await this.deps.credentials(pending.clientId);
    if (!creds) {
      if (bare) await settle();
      return this.fail(pending.state, { kind: 'no-credentials', message: 'The client secret for this client ID is gone; set the client credentials and sign in again.' });
    }
    let tokenSet: TokenSet;
    try {
      log.info(`exchanging the authorization code (flow ${pending.flow}, via ${source}${bare ? ', a bare code' : ''})`);
      tokenSet = await this.deps.tokenClient.exchangeCode({ ...creds, code: resp.code, redirectUri: pending.redirectUri, tokenUrl: pending.tokenUrl });
    } catch (e) {
      const err = e instanceof KeapError ? e : new KeapError('transient', String((e as Error)?.message ?? e));
      if (bare && err.kind === 'invalid-code') {
        log.warn('Keap refused a pasted bare code; the sign-in keeps waiting');
        return { kind: 'rejected-code', state: pending.state };
      }
      if (bare) await settle();
      return this.fail(pending.state, { kind: err.kind, message: codeExchangeMessage(err) });
    }
    if (bare && !(await settle())) {
      // The real answer arrived meanwhile and was handled; this code was one more for the same sign-in.
      log.info('a pasted bare code arrived after the sign-in was completed another way; ignored');
      return { kind: 'duplicate' };
    }
    try {
      await this.deps.sessions.write(tokenSet);
    } catch (e) {
      const message = e instanceof KeyringError || e instanceof StaleViewError ? e.message : `Could not store the tokens: ${(e as Error)?.message ?? e}`;
      return this.fail(pending.state, { kind: 'keyring', message });
    }
    onStored?.(tokenSet);
    log.info(`signed in to Keap app ${tokenSet.appName ?? '(unknown)'}`);
    await this.deps.publishOutcome({ state: pending.state, ok: true, appName: tokenSet.appName, at: now() });
    return { kind: 'signed-in', state: pending.state, tokenSet: await this.withUser(tokenSet) };
  }

  /**
   * Adds who signed in (userinfo, fetched once per sign-in and kept with the token set). Best
   * effort: a failure is logged and the sign-in stands.
   */
  private async withUser(set: TokenSet): Promise<TokenSet> {
    try {
      const user = await this.deps.tokenClient.userInfo(set.accessToken);
      const current = await this.deps.sessions.read(accountKey(set));
      if (current?.accessToken !== set.accessToken) return current ?? set;
      const withUser = { ...current, user };
      await this.deps.sessions.write(withUser);
      return withUser;
    } catch (e) {
      this.deps.log.warn(`userinfo not available: ${(e as Error).message}`);
      return set;
    }
  }

  private async fail(state: string, e: { kind: Exclude<SignInOutcome, { ok: true }>['kind']; message: string }): Promise<CallbackResult> {
    const outcome = { state, ok: false as const, kind: e.kind, message: e.message, at: this.deps.now() };
    this.deps.log.warn(`sign-in failed: ${e.kind}: ${e.message}`);
    await this.deps.publishOutcome(outcome);
    return { kind: 'failed', state, outcome };
  }
}

/** Words for Keap's answer on the authorize page; Keap's own text is one bounded, labelled line. */
function denialError(error: string, description: string | undefined): { kind: 'denied' | 'bad-configuration'; message: string } {
  const says = keapSays(description ?? error);
  if (error === 'access_denied') {
    return { kind: 'denied', message: `Keap denied access. ${says}. ${DENIAL_HINT}` };
  }
  return { kind: 'bad-configuration', message: `Keap's authorize page refused the sign-in (${oneLine(error, 60)}). ${says}.` };
}

const SIGN_IN_AGAIN = 'An authorization code works only once: run Infusionsoft: Sign In again.';

/**
 * Words for a failed code exchange. The code is spent whatever the cause, so every message says to
 * sign in again (never "usually temporary"); a rejected client is not an expired code (case K5).
 * Keap's own text is one bounded, labelled line.
 */
export function codeExchangeMessage(err: KeapError): string {
  const says = keapSays(err.details.description ?? err.details.bodySnippet);
  const status = err.details.status === undefined ? '' : ` (HTTP ${err.details.status})`;
  const tail = says ? ` ${says}.` : '';
  switch (err.kind) {
    case 'bad-client-credentials':
      return `Keap rejected the client ID or client secret${status}. Check them in the Keap developer portal (keys.developer.keap.com) and set them again.${tail}`;
    case 'invalid-code':
      return `Keap did not accept the authorization code (it was already used or expired)${status}. Run Infusionsoft: Sign In again.${tail}`;
    case 'bad-configuration':
      return `Keap refused the code exchange${status}; check the redirect URI and token URL settings. ${SIGN_IN_AGAIN}${tail}`;
    case 'throttled':
      return `Keap is throttling requests${status}. Wait a minute, then run Infusionsoft: Sign In again (an authorization code works only once).${tail}`;
    default: {
      // Never Keap-side words such as "usually temporary": a retry would need a new code.
      const s = err.details.status;
      const what = s !== undefined && s !== 200 ? `Keap's token endpoint answered HTTP ${s} without a usable answer.` : oneLine(err.message, 160);
      return `The code exchange failed: ${what} ${SIGN_IN_AGAIN}${tail}`;
    }
  }
}
