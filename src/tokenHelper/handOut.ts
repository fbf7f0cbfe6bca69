import type { Logger } from '../log';
import { accountKey } from '../session/accounts';
import type { RefreshHealth } from '../session/refreshScheduler';
import { onLocalClock, TokenSet } from '../session/tokenSet';
import { HelperAnswer, HelperVia, mustRefreshFirst, selectAccount, usable } from './protocol';

/** Why no token was handed out, before it is put in words ({@link englishReason}, or the adapter's localized one). */
export type HandOutRefusal =
  | { readonly refusal: 'sign-in'; readonly why: 'no-account' | 'unknown-app' | 'ambiguous' | 'rejected'; readonly app?: string }
  | { readonly refusal: 'paused'; readonly app: string; readonly message: string }
  | { readonly refusal: 'unavailable'; readonly app: string; readonly nextAt?: number; readonly message?: string };

/** What {@link handOut} reads and drives: the window's session model and its refresh scheduler (src/vscode/autoRefresh). */
export interface HandOutDeps {
  /** Loads the stored sessions if not yet loaded. */
  ready(): Promise<void>;
  accounts(): readonly TokenSet[];
  activeKey(): string | undefined;
  /** This window's current view of one account (after a refresh: the new set). */
  tokenSet(key: string): TokenSet | undefined;
  health(key: string): RefreshHealth;
  /**
   * An automatic refresh of one account held to the schedule every window shares (single flight,
   * lock, ledger, pause): `AutoRefreshers.refreshIfAdmitted` / `RefreshScheduler.refreshIfAdmitted`.
   */
  refreshIfAdmitted(key: string): Promise<unknown>;
  /** Epoch ms. */
  now(): number;
  /** Keap's clock minus this machine's in use (ms), when known: expiries are read on Keap's clock. */
  keapOffsetMs?(): number | undefined;
  log: Logger;
  /** Puts a refusal into words (default {@link englishReason}). */
  words?(r: HandOutRefusal): string;
}

export interface HandOutRequest {
  /** Keap app name, client ID or account key; absent: the active app. */
  readonly app?: string;
  /** Refresh first when less is left (ms). */
  readonly minValidMs: number;
  readonly via: HelperVia;
}

/** Plain English words for a refusal (CLI stderr in tests; the extension passes localized ones). */
export function englishReason(r: HandOutRefusal): string {
  switch (r.refusal) {
    case 'sign-in':
      switch (r.why) {
        case 'no-account':
          return 'No Keap app is signed in in VS Code. Run "Infusionsoft: Sign In".';
        case 'unknown-app':
          return `No signed-in Keap app matches "${r.app}". Sign in to it in VS Code, or pick another with --app.`;
        case 'ambiguous':
          return `Several signed-in Keap apps match "${r.app}": name the app (ab123) or the account key.`;
        case 'rejected':
          return `Keap refused the refresh token of app ${r.app}: sign in again in VS Code.`;
      }
      break;
    case 'paused':
      return `Automatic refresh of Keap app ${r.app} is paused: ${r.message} Act in VS Code (Refresh Token, Sign In or Set Client Credentials).`;
    case 'unavailable':
      return `The token of Keap app ${r.app} is expiring and could not be refreshed now${r.message ? ` (${r.message})` : ''}${r.nextAt ? `; next try at ${new Date(r.nextAt).toISOString()}` : ''}.`;
  }
}

/**
 * Hands out one account's access token for another process (issue 18): `keap-token` or the
 * `infusionsoft.accessToken` command. Never a refresh token, never one with less than 30 s left.
 * When less than `minValidMs` is left, it first asks for an automatic refresh through the very
 * scheduler that keeps the account alive (one flight per window, the user-wide lock, the shared
 * ledger's interval, backoff, budget and pause), so a burst of callers costs at most one request
 * and a fresh token costs none. Writes one log line per hand-out (app and helper, never the token).
 * @returns the token, or a refusal: `sign-in` (none signed in, unknown app, refresh token
 *   refused), `paused` (automatic refresh paused until the user acts), `unavailable` (expiring,
 *   and Keap cannot be asked now).
 */
export async function handOut(deps: HandOutDeps, req: HandOutRequest): Promise<HelperAnswer> {
  const refuse = (r: HandOutRefusal): HelperAnswer => {
    deps.log.info(`no Keap access token for ${req.via}${'app' in r && r.app ? ` (app ${r.app})` : ''}: ${r.refusal}${r.refusal === 'sign-in' ? ` (${r.why})` : ''}`);
    return { ok: false, refusal: r.refusal, message: (deps.words ?? englishReason)(r) };
  };
  await deps.ready();
  const accounts = deps.accounts().map(set => ({ key: accountKey(set), appName: set.appName, clientId: set.clientId }));
  const key = selectAccount(accounts, req.app, deps.activeKey());
  if (key === undefined) return refuse({ refusal: 'sign-in', why: req.app === undefined ? 'no-account' : 'unknown-app', app: req.app });
  if (key === 'ambiguous') return refuse({ refusal: 'sign-in', why: 'ambiguous', app: req.app });
  const label = (s?: TokenSet) => s?.appName ?? key;
  const timed = (s: TokenSet) => onLocalClock(s, deps.keapOffsetMs?.());
  const pausedOrRejected = (s: TokenSet | undefined): HandOutRefusal | undefined => {
    if (!s) return { refusal: 'sign-in', why: 'no-account' };
    if (s.refreshTokenRejectedAt !== undefined) return { refusal: 'sign-in', why: 'rejected', app: label(s) };
    const h = deps.health(key);
    if (h.kind === 'paused') return h.pause.resume === 'sign-in' ? { refusal: 'sign-in', why: 'rejected', app: label(s) } : { refusal: 'paused', app: label(s), message: h.pause.message };
    return undefined;
  };
  let set = deps.tokenSet(key);
  if (!set || set.refreshTokenRejectedAt !== undefined) return refuse(pausedOrRejected(set)!);
  if (mustRefreshFirst(timed(set), deps.now(), req.minValidMs)) {
    // Paused: nothing is sent until the user acts (the scheduler would refuse too; say why at once).
    const stop = pausedOrRejected(set);
    if (stop) return refuse(stop);
    await deps.refreshIfAdmitted(key);
    set = deps.tokenSet(key);
    // Still short: a refusal just paused it (every caller hears so until the user acts), or the schedule holds the request back.
    const after = !set || mustRefreshFirst(timed(set), deps.now(), req.minValidMs) ? pausedOrRejected(set) : undefined;
    if (after) return refuse(after);
  }
  if (!set || !usable(timed(set), deps.now())) {
    const h = deps.health(key);
    return refuse({ refusal: 'unavailable', app: label(set), nextAt: h.kind === 'retrying' || h.kind === 'unsaved' ? h.nextAt : undefined, message: 'message' in h ? h.message : undefined });
  }
  deps.log.info(`Keap access token of app ${label(set)} handed to ${req.via}`);
  return { ok: true, token: set.accessToken, expiresAt: set.accessTokenExpiresAt, app: set.appName, clientId: set.clientId };
}
