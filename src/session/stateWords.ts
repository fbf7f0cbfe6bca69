import { RefreshHealth } from './refreshScheduler';
import { accessTokenTimeLeft, TokenSet } from './tokenSet';

/**
 * What state one Keap app's tokens are in now, as the status bar and the tree say it (issue 19.2:
 * "state words that are true now"). Pure: no `vscode`; the views turn `state` into words and
 * `attention` into colours.
 *
 * - `sign-in-again`: Keap refused the refresh token; the user must sign in (error colour).
 * - `paused`: automatic refresh stopped after a refusal until the user acts (warning).
 * - `unsaved`: new tokens only in memory; the user must make the keyring work (warning).
 * - `reload`: this window's view is behind; the user must reload it (warning).
 * - `expired`: the access token has lapsed (warning).
 * - `failing`: automatic refresh of a due token keeps failing and retries by itself; a warning only
 *   when the access token is about to lapse (under `warnBelowMs` left).
 * - `waiting`: another window holds the new tokens; nothing to do here (no colour).
 * - `valid`: all is well, or a Refresh Token of a token that was not due failed (`failureNoted`);
 *   a warning only when the access token is about to lapse or the refresh token's days run out.
 */
export type TokenStateKind = 'sign-in-again' | 'paused' | 'unsaved' | 'reload' | 'expired' | 'failing' | 'waiting' | 'valid';

export interface TokenState {
  readonly state: TokenStateKind;
  /** `error`: the user must act now; `warning`: the user must act, or a token is about to lapse; `none`: no colour. */
  readonly attention: 'none' | 'warning' | 'error';
  /** True when nothing gets better until the user does something. */
  readonly userMustAct: boolean;
  /** A failed Refresh Token that left the token valid (its words go in the tooltip, not the label). */
  readonly failureNoted: boolean;
}

export interface TokenStateLimits {
  /** Access-token time left below which it is "about to lapse" (ms). */
  readonly warnBelowMs: number;
  /** Refresh-token days left below which the user is warned to sign in soon. */
  readonly warnRefreshDays: number;
  /** The refresh token's days left now (src/session/tokenSet refreshTokenDaysLeft). */
  readonly refreshDaysLeft: number;
}

/** The state of `set` under `health` at `nowMs` (epoch ms). */
export function tokenState(set: TokenSet, health: RefreshHealth, nowMs: number, limits: TokenStateLimits): TokenState {
  const of = (state: TokenStateKind, attention: TokenState['attention'], userMustAct: boolean, failureNoted = false): TokenState => ({ state, attention, userMustAct, failureNoted });
  if (set.refreshTokenRejectedAt !== undefined || (health.kind === 'paused' && health.pause.resume === 'sign-in')) return of('sign-in-again', 'error', true);
  if (health.kind === 'paused') return of('paused', 'warning', true);
  if (health.kind === 'unsaved') return of('unsaved', 'warning', true);
  if (health.kind === 'stale-view') return of('reload', 'warning', true);
  const left = accessTokenTimeLeft(set, nowMs);
  const lapsing = left !== undefined && left < limits.warnBelowMs;
  if (left !== undefined && left <= 0) return of('expired', 'warning', false);
  if (health.kind === 'retrying') return of('failing', lapsing ? 'warning' : 'none', false);
  if (health.kind === 'superseded') return of('waiting', 'none', false);
  const refreshLapsing = limits.refreshDaysLeft < limits.warnRefreshDays;
  return of('valid', lapsing || refreshLapsing ? 'warning' : 'none', refreshLapsing, health.lastFailure !== undefined);
}
