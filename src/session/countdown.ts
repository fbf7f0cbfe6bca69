import { accessTokenTimeLeft, formatDuration, TokenSet } from './tokenSet';

/**
 * The access token's countdown as every view shows it (status bar, tree, account picker), so they
 * agree to the minute: the same rounding (formatDuration: whole minutes, rounded down) and the same
 * moment of change.
 * - `unknown`: no expiry is stored (case K2: an implausible one was dropped).
 * - `expired`: no time left at `nowMs`.
 * - `left`: `text` is the time left ("23h 59m", "2d 4h", "0m"); `nextChangeInMs` is how many
 *   milliseconds from `nowMs` the shown text (or `expired`) next changes, plus a small margin, so
 *   a view that re-renders then shows the new minute.
 */
export type Countdown =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'left'; readonly text: string; readonly nextChangeInMs: number };

/** Milliseconds a re-render waits past the change, so a timer that fires a little early still sees the new minute. */
export const COUNTDOWN_MARGIN_MS = 50;

/** The countdown of `set`'s access token at `nowMs` (epoch milliseconds). */
export function accessTokenCountdown(set: Pick<TokenSet, 'accessTokenExpiresAt'>, nowMs: number): Countdown {
  const left = accessTokenTimeLeft(set as TokenSet, nowMs);
  if (left === undefined) return { kind: 'unknown' };
  if (left <= 0) return { kind: 'expired' };
  // formatDuration shows whole minutes, rounded down (whole hours from 48 hours up): the text drops
  // 1 ms after `left` passes the current whole unit; in the last minute the next change is
  // "expired", at `left` itself.
  const unit = left >= 48 * 3_600_000 ? 3_600_000 : 60_000;
  const untilChange = left >= 60_000 ? (left % unit) + 1 : left;
  return { kind: 'left', text: formatDuration(left), nextChangeInMs: untilChange + COUNTDOWN_MARGIN_MS };
}

/**
 * When a view listing several token sets next needs to re-render, in milliseconds from `nowMs`:
 * the soonest change of any countdown, or undefined when none will change.
 */
export function nextCountdownChangeInMs(sets: ReadonlyArray<Pick<TokenSet, 'accessTokenExpiresAt'>>, nowMs: number): number | undefined {
  let soonest: number | undefined;
  for (const set of sets) {
    const c = accessTokenCountdown(set, nowMs);
    if (c.kind === 'left' && (soonest === undefined || c.nextChangeInMs < soonest)) soonest = c.nextChangeInMs;
  }
  return soonest;
}
