import { KeapError, KeapErrorKind } from '../keap/errors';
import { fingerprint } from './accounts';
import { maskCredentialEchoes } from '../secretMask';
import { oneLine } from '../textLine';
import { LockTimeoutError } from './fileLock';
import { retryDelayMs } from './policy';
import { KeyringError } from './store';
import { TokenSet } from './tokenSet';

/**
 * The schedule of automatic token requests for one Keap app, as pure functions of (ledger, outcome,
 * clock). Keap's quota (150,000 calls a day per client ID, keap-oauth.md "Rate limits") is shared
 * with the user's own integration, so a loop must be impossible, not just unlikely (case K10):
 * - no automatic token request sooner than {@link MIN_REQUEST_INTERVAL_MS} after the previous one;
 * - at most {@link DAILY_REQUEST_BUDGET} token requests in any 24 hours (automatic ones wait; the
 *   user's own Refresh Token may go over, that is their choice);
 * - throttled and transient failures back off exponentially (30 s doubling to 15 minutes) and
 *   honour Retry-After;
 * - a token Keap has just issued is not refreshed automatically before half its life (an hour when
 *   its expiry is unknown): Keap issued 3600-second tokens in earlier years, which a 60-minute
 *   refresh window would otherwise call due the moment they arrive;
 * - any other failure pauses automatic refresh until the user acts (Refresh Token, Sign In, Set
 *   Client Credentials, a change of `infusionsoft.*` settings).
 * All times are epoch milliseconds; all durations milliseconds.
 */

/** Shortest time between two automatic token requests for one app (ms). */
export const MIN_REQUEST_INTERVAL_MS = 30_000;
/** Most token requests for one app in any 24 hours before automatic ones wait. */
export const DAILY_REQUEST_BUDGET = 100;
export const DAY_MS = 86_400_000;
/**
 * How long Refresh Token respects another window's unsaved pair (ms). That window stores it within
 * seconds once the keyring answers; if it was closed meanwhile the pair is gone, and only trying
 * the stored token (and, if Keap refuses it, signing in) gets the user out.
 */
export const SUPERSEDED_HOLD_MS = 10 * 60_000;
/** How long a token of unknown expiry is left alone after Keap issued it (ms). */
export const UNKNOWN_EXPIRY_REFRESH_MS = 3_600_000;

/** What the user does to resume a paused automatic refresh. */
export type ResumeAction = 'sign-in' | 'set-client-credentials' | 'unlock-keyring' | 'check-settings';

/** Automatic refresh of an app stopped after a refusal that will not fix itself. */
export interface RefreshPause {
  /** What failed: a Keap error kind, `keyring` (SecretStorage), or `unclassified`. */
  readonly cause: KeapErrorKind | 'keyring' | 'unclassified';
  /** The error's own words (never a token). */
  readonly message: string;
  readonly resume: ResumeAction;
  /** When it was recorded. */
  readonly at: number;
  /**
   * `refreshTokenIssuedAt` of the token set it was recorded against: a new token set (a sign-in, or
   * a refresh the user asked for) ends it.
   */
  readonly issuedAt: number;
}

/**
 * What every window knows about one app's token requests, kept beside its refresh lock and
 * changed only under it. Holds no token.
 */
export interface RefreshLedger {
  /** Times of the token requests of the last 24 hours, oldest first. */
  readonly requests: readonly number[];
  /** Throttled or transient failures in a row. */
  readonly attempt: number;
  /** No automatic request before this (backoff, Retry-After). */
  readonly retryAt?: number;
  readonly paused?: RefreshPause;
  /**
   * `refreshTokenIssuedAt` of a stored set whose refresh token Keap has already rotated, while the
   * window that holds the new pair could not store it (case K11): no automatic request may send it.
   */
  readonly supersededIssuedAt?: number;
  /** When `supersededIssuedAt` was recorded: after {@link SUPERSEDED_HOLD_MS} the user's own Refresh Token may try the stored token anyway. */
  readonly supersededAt?: number;
  /**
   * The access token Keap issued last (its expiry, `null` when unknown) and until when it is left
   * alone: a stored set with that expiry is not refreshed automatically before `until`.
   */
  readonly fresh?: { readonly accessTokenExpiresAt: number | null; readonly until: number };
  /**
   * Fingerprints (src/session/accounts `fingerprint`) of refresh tokens Keap rotated in a request
   * the stored chain never saw: Import Tokens refreshing a pair read from a `.env` file, which may
   * still hold it. No refresh sends one again (Keap would refuse it). The newest
   * {@link SPENT_KEPT} only.
   */
  readonly spent?: readonly string[];
}

/** How many fingerprints {@link RefreshLedger.spent} keeps. */
export const SPENT_KEPT = 16;

/** `ledger` with `fingerprint` added to {@link RefreshLedger.spent} (the newest {@link SPENT_KEPT} kept). */
export function recordSpent(ledger: RefreshLedger, fingerprint: string): RefreshLedger {
  const spent = [...(ledger.spent ?? []).filter(f => f !== fingerprint), fingerprint].slice(-SPENT_KEPT);
  return { ...ledger, spent };
}

/** The parts of a token set the schedule looks at. */
export type ScheduledSet = Pick<TokenSet, 'refreshTokenIssuedAt' | 'accessTokenExpiresAt'> & { readonly refreshToken?: string };

/** The words of the pause of a stored set whose refresh token is in {@link RefreshLedger.spent}. */
export const SPENT_MESSAGE = 'Import Tokens refreshed this refresh token at Keap but could not store the new pair; sign in again.';

export const EMPTY_LEDGER: RefreshLedger = { requests: [], attempt: 0 };

/** How a token request (or the work around it) ended, for the schedule. */
export type RefreshOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'retryable'; readonly reason: 'throttled' | 'transient'; readonly retryAfterMs?: number; readonly message: string }
  | { readonly kind: 'refusal'; readonly cause: RefreshPause['cause']; readonly resume: ResumeAction; readonly message: string };

/**
 * The most of an error's words an outcome (and so the ledger file, the tooltips and notifications
 * that show a pause) keeps, in characters (issue 17.5, case S11).
 */
export const MAX_OUTCOME_MESSAGE_CHARS = 600;

/** An error's words as an outcome keeps them: one line, bounded, every credential echo masked (case S12). */
function keptMessage(text: string): string {
  return maskCredentialEchoes(oneLine(text, MAX_OUTCOME_MESSAGE_CHARS));
}

/** Classifies any error a refresh throws. Only throttled, transient and a lock wait are worth retrying on their own. */
export function outcomeOf(e: unknown): RefreshOutcome {
  const message = keptMessage((e as Error)?.message ?? String(e));
  if (e instanceof KeapError) {
    if (e.kind === 'throttled' || e.kind === 'transient') return { kind: 'retryable', reason: e.kind, retryAfterMs: e.details.retryAfterMs, message };
    // A token set bound to another token endpoint than the one configured now: sign in against the new one (or set it back).
    const resume: ResumeAction =
      e.kind === 'bad-client-credentials' ? 'set-client-credentials' : e.kind === 'dead-refresh-token' || e.details.error === 'endpoint-changed' ? 'sign-in' : 'check-settings';
    return { kind: 'refusal', cause: e.kind, resume, message };
  }
  // Another window held the lock too long: nothing reached Keap, so waiting and trying again costs no quota.
  if (e instanceof LockTimeoutError) return { kind: 'retryable', reason: 'transient', message };
  if (e instanceof KeyringError) return { kind: 'refusal', cause: 'keyring', resume: 'unlock-keyring', message };
  return { kind: 'refusal', cause: 'unclassified', resume: 'check-settings', message };
}

/** The requests of the 24 hours before `nowMs`. */
function recent(ledger: RefreshLedger, nowMs: number): number[] {
  return ledger.requests.filter(t => t > nowMs - DAY_MS && t <= nowMs);
}

/** True when a pause recorded in the ledger still holds for the stored set, given when the user last acted. */
export function pauseHolds(pause: RefreshPause | undefined, issuedAt: number, resumedAt = -Infinity): pause is RefreshPause {
  return pause !== undefined && pause.issuedAt === issuedAt && pause.at >= resumedAt;
}

export type Admission =
  | { readonly admit: true }
  | { readonly admit: false; readonly why: 'interval' | 'fresh' | 'backoff' | 'budget'; readonly until: number }
  | { readonly admit: false; readonly why: 'paused'; readonly pause: RefreshPause }
  | { readonly admit: false; readonly why: 'superseded' };

/**
 * May an automatic token request for the stored set go out at `nowMs`? Otherwise: until when to
 * wait, or why not at all.
 * @param resumedAt when the user last acted in this window (a pause recorded before it is over).
 */
export function admitAutomatic(ledger: RefreshLedger, nowMs: number, set: ScheduledSet, resumedAt?: number): Admission {
  const issuedAt = set.refreshTokenIssuedAt;
  // Spent at Keap by Import Tokens, whose new pair was never stored: Keap would refuse it (no user action lifts this; a new pair does).
  if (set.refreshToken !== undefined && ledger.spent?.includes(fingerprint(set.refreshToken))) {
    return { admit: false, why: 'paused', pause: { cause: 'dead-refresh-token', message: SPENT_MESSAGE, resume: 'sign-in', at: nowMs, issuedAt } };
  }
  if (ledger.supersededIssuedAt === issuedAt) return { admit: false, why: 'superseded' };
  if (pauseHolds(ledger.paused, issuedAt, resumedAt)) return { admit: false, why: 'paused', pause: ledger.paused };
  const times = recent(ledger, nowMs);
  const candidates: Array<{ why: 'interval' | 'fresh' | 'backoff' | 'budget'; until: number }> = [];
  if (ledger.fresh && ledger.fresh.accessTokenExpiresAt === (set.accessTokenExpiresAt ?? null)) candidates.push({ why: 'fresh', until: ledger.fresh.until });
  if (times.length > 0) candidates.push({ why: 'interval', until: times[times.length - 1] + MIN_REQUEST_INTERVAL_MS });
  // A pause the user ended also ends the backoff it came with.
  if (ledger.retryAt !== undefined) candidates.push({ why: 'backoff', until: ledger.retryAt });
  if (times.length >= DAILY_REQUEST_BUDGET) candidates.push({ why: 'budget', until: times[times.length - DAILY_REQUEST_BUDGET] + DAY_MS });
  const latest = candidates.filter(c => c.until > nowMs).sort((a, b) => b.until - a.until)[0];
  return latest ? { admit: false, ...latest } : { admit: true };
}

/** Records a token request about to be sent (before it is sent, so one cut short still counts). */
export function recordRequest(ledger: RefreshLedger, nowMs: number): RefreshLedger {
  return { ...ledger, requests: [...recent(ledger, nowMs), nowMs] };
}

/** Records how a request ended: success clears backoff and pause; a retryable failure backs off; a refusal pauses. */
export function recordOutcome(ledger: RefreshLedger, outcome: RefreshOutcome, nowMs: number, issuedAt: number): RefreshLedger {
  const base = { requests: recent(ledger, nowMs), supersededIssuedAt: ledger.supersededIssuedAt, supersededAt: ledger.supersededAt, fresh: ledger.fresh, ...(ledger.spent ? { spent: ledger.spent } : {}) };
  switch (outcome.kind) {
    case 'success':
      return { ...base, attempt: 0 };
    case 'retryable': {
      const attempt = ledger.attempt + 1;
      return { ...base, attempt, retryAt: nowMs + retryDelayMs(attempt, outcome.retryAfterMs) };
    }
    case 'refusal':
      return { ...base, attempt: 0, paused: { cause: outcome.cause, message: outcome.message, resume: outcome.resume, at: nowMs, issuedAt } };
  }
}

/** Records the token set Keap has just issued (at `nowMs`): it is left alone for half its life. */
export function recordFresh(ledger: RefreshLedger, set: ScheduledSet, nowMs: number): RefreshLedger {
  const expiresAt = set.accessTokenExpiresAt;
  const until = expiresAt === undefined ? nowMs + UNKNOWN_EXPIRY_REFRESH_MS : nowMs + Math.max(0, expiresAt - nowMs) / 2;
  return { ...ledger, fresh: { accessTokenExpiresAt: expiresAt ?? null, until } };
}

/** Reads a stored ledger; anything unreadable is the empty ledger (it holds no token, only times). */
export function parseLedger(json: string | undefined): RefreshLedger {
  if (!json) return EMPTY_LEDGER;
  try {
    const o = JSON.parse(json) as Partial<RefreshLedger>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const requests = Array.isArray(o.requests) ? o.requests.filter((t): t is number => num(t) !== undefined).sort((a, b) => a - b) : [];
    const p = o.paused as Partial<RefreshPause> | undefined;
    const paused =
      p && typeof p === 'object' && typeof p.cause === 'string' && typeof p.message === 'string' && typeof p.resume === 'string' && num(p.at) !== undefined && num(p.issuedAt) !== undefined
        ? ({ ...(p as RefreshPause), message: keptMessage(p.message) } as RefreshPause)
        : undefined;
    const f = o.fresh as { accessTokenExpiresAt?: unknown; until?: unknown } | undefined;
    const fresh = f && typeof f === 'object' && num(f.until) !== undefined && (f.accessTokenExpiresAt === null || num(f.accessTokenExpiresAt) !== undefined) ? { accessTokenExpiresAt: f.accessTokenExpiresAt as number | null, until: f.until as number } : undefined;
    const spent = Array.isArray(o.spent) ? o.spent.filter((f): f is string => typeof f === 'string' && /^[0-9a-f]{16}$/.test(f)).slice(-SPENT_KEPT) : [];
    return { requests, attempt: num(o.attempt) ?? 0, retryAt: num(o.retryAt), paused, supersededIssuedAt: num(o.supersededIssuedAt), supersededAt: num(o.supersededAt), fresh, ...(spent.length ? { spent } : {}) };
  } catch {
    return EMPTY_LEDGER;
  }
}

/** Where one app's ledger lives (a file beside its lock in VS Code, memory in tests); used only under the refresh lock. */
export interface LedgerStore {
  read(): Promise<RefreshLedger>;
  write(ledger: RefreshLedger): Promise<void>;
}

/** A ledger in memory: one window's own, or one shared by simulated windows in tests. */
export class MemoryLedgerStore implements LedgerStore {
  private ledger: RefreshLedger = EMPTY_LEDGER;
  async read(): Promise<RefreshLedger> {
    return this.ledger;
  }
  async write(ledger: RefreshLedger): Promise<void> {
    this.ledger = ledger;
  }
}
