import { MAX_ACCESS_TOKEN_LIFETIME_MS, TokenSet } from './tokenSet';

/** When to refresh; all durations in milliseconds. */
export interface RefreshPolicy {
  /** Refresh this long before the access token expires (setting, default 60 minutes). */
  readonly refreshBeforeExpiryMs: number;
  /** Refresh once the refresh token is this old, even if the access token is fresh (setting, default 30 days). */
  readonly keepAliveAfterMs: number;
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicy = { refreshBeforeExpiryMs: 60 * 60_000, keepAliveAfterMs: 30 * 86_400_000 };

export type RefreshDecision =
  | { readonly action: 'refresh'; readonly reason: 'expiry-unknown' | 'access-token-expiring' | 'keep-alive' }
  | { readonly action: 'wait'; readonly untilMs: number }
  | { readonly action: 'none'; readonly reason: 'refresh-token-rejected' };

/** An access token of unknown expiry is refreshed this long after the last answer (ms), so one Keap keeps sending without `expires_in` cannot loop. */
export const UNKNOWN_EXPIRY_REFRESH_MS = 60 * 60_000;

/**
 * Decides from the wall clock (`nowMs`, epoch ms) whether the token set needs a refresh now, and
 * otherwise until when to wait. Called every time a timer fires and when the window regains
 * focus, so a laptop that slept past the expiry refreshes at once (case V4).
 *
 * Never "refresh now" right after an answer: an access token of unknown expiry waits
 * {@link UNKNOWN_EXPIRY_REFRESH_MS}; a short-lived one (Keap issued 3600-second tokens in earlier
 * years) is refreshed at half its life at the earliest; a keep-alive refresh that did not rotate
 * the refresh token (case K12: Keap kept it) is not repeated while the access token it brought is
 * younger than the keep-alive moment.
 */
export function decideRefresh(set: TokenSet, nowMs: number, policy: RefreshPolicy = DEFAULT_REFRESH_POLICY): RefreshDecision {
  if (set.refreshTokenRejectedAt !== undefined) return { action: 'none', reason: 'refresh-token-rejected' };
  if (set.accessTokenExpiresAt === undefined) {
    const due = set.refreshTokenIssuedAt + UNKNOWN_EXPIRY_REFRESH_MS;
    return nowMs >= due ? { action: 'refresh', reason: 'expiry-unknown' } : { action: 'wait', untilMs: due };
  }
  const lifetime = set.accessTokenExpiresAt - set.refreshTokenIssuedAt;
  const before = lifetime > 0 ? Math.min(policy.refreshBeforeExpiryMs, lifetime / 2) : policy.refreshBeforeExpiryMs;
  const accessDue = set.accessTokenExpiresAt - before;
  // Keap's longest access-token lifetime gives the earliest moment this access token can have been issued.
  const accessIssuedNoEarlierThan = set.accessTokenExpiresAt - MAX_ACCESS_TOKEN_LIFETIME_MS;
  const keepAliveDue = set.refreshTokenIssuedAt + policy.keepAliveAfterMs;
  const keepAliveDone = accessIssuedNoEarlierThan >= keepAliveDue;
  if (nowMs >= accessDue) return { action: 'refresh', reason: 'access-token-expiring' };
  if (nowMs >= keepAliveDue && !keepAliveDone) return { action: 'refresh', reason: 'keep-alive' };
  return { action: 'wait', untilMs: keepAliveDone ? accessDue : Math.min(accessDue, keepAliveDue) };
}

/**
 * Delay before retrying a throttled or transient failure: exponential from 30 s, doubled per
 * attempt, capped at 15 minutes, never shorter than Retry-After. Milliseconds.
 * @param attempt 1 for the first retry.
 */
export function retryDelayMs(attempt: number, retryAfterMs?: number): number {
  const backoff = Math.min(15 * 60_000, 30_000 * 2 ** Math.max(0, attempt - 1));
  return Math.max(backoff, retryAfterMs ?? 0);
}
