import { Logger } from '../log';
import { decideRefresh, RefreshPolicy, retryDelayMs } from './policy';
import { outcomeOf, RefreshOutcome, RefreshPause } from './refreshSchedule';
import { RefreshResult } from './refresher';
import { Timers } from './timeLimit';
import { logWhen } from './timeWords';
import { onLocalClock, TokenSet } from './tokenSet';

/** What the last refresh left behind, for the status bar and the tree. Times are epoch ms. */
export type RefreshHealth =
  /**
   * All is well. `lastFailure`: the user's own Refresh Token of a token that was not due failed with
   * a throttled or transient error; the token is still valid and the next automatic attempt is at
   * `nextAt` (undefined: none, automatic refresh is off). Said in the tooltip, never as a warning.
   */
  | { readonly kind: 'ok'; readonly lastFailure?: { readonly message: string; readonly at: number; readonly nextAt?: number } }
  /** A throttled or transient failure, or the daily budget: the next automatic attempt is armed for `nextAt`. */
  | { readonly kind: 'retrying'; readonly attempt: number; readonly nextAt: number; readonly reason: 'throttled' | 'transient' | 'budget'; readonly message: string }
  /** Automatic refresh stopped after a refusal that will not fix itself, until the user acts (`pause.resume`). */
  | { readonly kind: 'paused'; readonly pause: RefreshPause }
  /** Keap rotated the pair, storing it failed; this window holds and uses it and stores it again at `nextAt` (case K11). */
  | { readonly kind: 'unsaved'; readonly nextAt: number; readonly message: string }
  /** Another window refreshed; this window's SecretStorage view has not caught up (seen in code-server). */
  | { readonly kind: 'stale-view' }
  /** Another window holds the rotated pair and has not stored it yet; this window sends nothing. */
  | { readonly kind: 'superseded' };

/** The wall clock and timers of the scheduler (a fake clock in tests). */
export interface SchedulerClock extends Timers {
  now(): number;
}

/** The part of {@link Refresher} the scheduler drives. */
export interface RefresherLike {
  refresh: import('./refresher').Refresher['refresh'];
  retrySave(): Promise<boolean>;
  readonly unsaved: TokenSet | undefined;
}

export interface RefreshSchedulerDeps {
  readonly refresher: RefresherLike;
  /** This window's view of the account's token set (undefined when signed out). */
  readonly tokenSet: () => TokenSet | undefined;
  readonly policy: () => RefreshPolicy;
  /** The `infusionsoft.autoRefresh` setting. */
  readonly enabled: () => boolean;
  readonly clock: SchedulerClock;
  readonly log: Logger;
  /** The app's name, for the log. */
  readonly label: () => string;
  /** A refresh produced the set this window must now show and use (undefined: signed out). */
  readonly onTokenSet: (set: TokenSet | undefined) => void;
  readonly onHealth: (health: RefreshHealth) => void;
  /** A refresh failed (after health was updated); `manual` when the user asked for it. */
  readonly onFailure?: (error: unknown, outcome: RefreshOutcome, manual: boolean) => void;
  /**
   * Keap's clock minus this machine's in use now (ms; src/keap/keapClock `usedOffsetMs`): the
   * access token's expiry is read by Keap's clock ({@link onLocalClock}). Default: this machine's.
   */
  readonly keapOffsetMs?: () => number | undefined;
}

/** Longest single timer (ms): a keep-alive 30 days out is re-decided from the wall clock now and then. */
export const MAX_TIMER_MS = 6 * 3_600_000;
/** Shortest timer (ms): after any refresh the next decision waits at least this long, so no code path spins. */
export const MIN_TIMER_MS = 1000;
/**
 * Shortest time (ms) between two writes of a kept pair that {@link RefreshScheduler.storeKeptNow}
 * starts (a SecretStorage call that worked, window focus): however often those happen, storing
 * again is tried at most once per this interval, besides its own backoff.
 */
export const STORE_NUDGE_MIN_MS = 5000;

/**
 * When this window next sends an automatic refresh of `set`: its due time (decideRefresh, from the
 * wall clock, case V4), but not before `notBefore`. Undefined when never (a rejected refresh token).
 */
export function nextAutomaticAt(set: TokenSet, nowMs: number, policy: RefreshPolicy, notBefore?: number): number | undefined {
  const d = decideRefresh(set, nowMs, policy);
  if (d.action === 'none') return undefined;
  const due = d.action === 'wait' ? d.untilMs : nowMs;
  return Math.max(due, notBefore ?? -Infinity);
}

/**
 * Keeps one Keap app's session alive in one window, with no `vscode` import: decides from the wall
 * clock whenever its timer fires or the adapter calls {@link schedule} (session changed, window
 * focused), refreshes through the {@link Refresher} (which holds every automatic request to the
 * ledger shared by all windows: 30 s apart, 100 a day), and reports health.
 * - success: back to the token's own schedule;
 * - throttled or transient: backoff from 30 s doubling to 15 minutes, honouring Retry-After;
 * - anything else: paused after that one attempt, until {@link resume} (a user action) or a new
 *   token set (a sign-in);
 * - a rotated pair that could not be stored: used from memory, stored again with the same backoff.
 */
export class RefreshScheduler {
  private timer: unknown;
  private running = false;
  private disposed = false;
  /** No automatic attempt before this (epoch ms): backoff, or what the ledger said. */
  private notBefore: number | undefined;
  /** Failures in a row that this window backs off from. */
  private attempt = 0;
  private paused: RefreshPause | undefined;
  /** When the user last acted (epoch ms); a shared pause recorded before it no longer holds here. */
  private resumedAt: number | undefined;
  private saveAttempt = 0;
  private saveAt: number | undefined;
  private healthValue: RefreshHealth = { kind: 'ok' };
  private armedAt: number | undefined;
  /** The refresh token this window saw when it found another window ahead ('superseded', 'stale-view'); a new one ends that state. */
  private waitingOn: string | undefined;
  /** When {@link storeKeptNow} last started a write (epoch ms), for {@link STORE_NUDGE_MIN_MS}. */
  private lastNudge: number | undefined;

  constructor(private readonly deps: RefreshSchedulerDeps) {}

  get health(): RefreshHealth {
    return this.healthValue;
  }

  /** True while a refresh or a retried write runs. */
  get busy(): boolean {
    return this.running;
  }

  /** When the armed timer decides next (epoch ms), undefined when none is armed. */
  get nextDecisionAt(): number | undefined {
    return this.armedAt;
  }

  /** `set` as this machine's clock sees it, when Keap's clock times the refreshes. */
  private timed(set: TokenSet): TokenSet {
    return onLocalClock(set, this.deps.keapOffsetMs?.());
  }

  private setHealth(h: RefreshHealth): void {
    this.healthValue = h;
    this.deps.onHealth(h);
  }

  /** Re-decides now (a session change, focus, a timer); refreshes if due, else arms one timer. */
  schedule(why: string): void {
    this.decide(why, false);
  }

  /**
   * A user action (Sign In, Set Client Credentials, a settings change) ends a pause: the next
   * automatic attempt may go out (still 30 s after the previous request).
   */
  resume(why: string): void {
    if (this.paused) this.deps.log.info(`automatic refresh of Keap app ${this.deps.label()} resumed (${why})`);
    this.resumedAt = this.deps.clock.now();
    this.paused = undefined;
    this.attempt = 0;
    this.notBefore = undefined;
    if (this.healthValue.kind === 'paused') this.setHealth({ kind: 'ok' });
    this.decide(why, false);
  }

  /**
   * The keyring may accept writes again (a SecretStorage call just worked, the window regained
   * focus): a rotated pair kept in memory (case K11) is stored now rather than at its next backoff
   * (up to 15 minutes away). No-op when nothing is kept, while a refresh or write runs, or within
   * {@link STORE_NUDGE_MIN_MS} of the last write it started. Resolves when the attempt (if any) ended.
   */
  async storeKeptNow(why: string): Promise<void> {
    if (this.disposed || this.running || !this.deps.refresher.unsaved) return;
    const now = this.deps.clock.now();
    if (this.lastNudge !== undefined && now - this.lastNudge < STORE_NUDGE_MIN_MS) return;
    this.lastNudge = now;
    this.deps.log.info(`storing the kept tokens of Keap app ${this.deps.label()} again now (${why})`);
    this.clearTimer();
    await this.save();
  }

  /**
   * Another extension asks for a token that is about to expire (the AuthenticationProvider's
   * getSessions): an automatic refresh now, held to the schedule shared by every window (interval,
   * backoff, budget) and to a pause, since no user acted and a caller may ask before every API call.
   */
  async refreshIfAdmitted(): Promise<RefreshResult | undefined> {
    // Automatic refresh off (the infusionsoft.autoRefresh setting): another extension's getSessions never refreshes either (issue 17.7).
    if (this.paused || !this.deps.enabled()) return undefined;
    return this.run(false);
  }

  /** Refresh Token (the user's own): goes out now, whatever the schedule says, and ends a pause. */
  async refreshNow(): Promise<RefreshResult | undefined> {
    this.resumedAt = this.deps.clock.now();
    this.paused = undefined;
    return this.run(true);
  }

  private decide(why: string, afterRun: boolean): void {
    this.clearTimer();
    if (this.disposed || this.running) return;
    const set = this.deps.tokenSet();
    if (!set) return;
    const now = this.deps.clock.now();
    if (this.paused && this.paused.issuedAt !== set.refreshTokenIssuedAt) {
      // A new token set (a sign-in, or another window's refresh) ends the pause.
      this.deps.log.info(`automatic refresh of Keap app ${this.deps.label()} resumed (new token set)`);
      this.paused = undefined;
      if (this.healthValue.kind === 'paused') this.setHealth({ kind: 'ok' });
    }
    if ((this.healthValue.kind === 'superseded' || this.healthValue.kind === 'stale-view') && set.refreshToken !== this.waitingOn) {
      // The other window's tokens reached this one: nothing to wait for any more (issue 19.4: every window's status follows).
      this.attempt = 0;
      this.notBefore = undefined;
      this.setHealth({ kind: 'ok' });
    }
    const saveAt = this.deps.refresher.unsaved ? (this.saveAt ?? now) : undefined;
    const autoAt = this.paused || !this.deps.enabled() ? undefined : nextAutomaticAt(this.timed(set), now, this.deps.policy(), this.notBefore);
    const at = Math.min(saveAt ?? Infinity, autoAt ?? Infinity);
    if (at === Infinity) return;
    if (at > now || afterRun) return this.arm(Math.max(at, afterRun ? now + MIN_TIMER_MS : now), now);
    if (saveAt !== undefined && saveAt <= now) return void this.save();
    // What was done is logged when the refresher has answered (onResult): a decision here may still send nothing.
    void this.run(false, `${decideRefresh(this.timed(set), now, this.deps.policy()).action === 'refresh' ? 'due' : 'retry'}; ${why}`);
  }

  private arm(at: number, now: number): void {
    const delay = Math.min(Math.max(at - now, MIN_TIMER_MS), MAX_TIMER_MS);
    this.armedAt = now + delay;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.armedAt = undefined;
      this.decide('timer', false);
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = undefined;
  }

  private async save(): Promise<void> {
    this.running = true;
    try {
      if (await this.deps.refresher.retrySave()) {
        this.saveAttempt = 0;
        this.saveAt = undefined;
        if (this.healthValue.kind === 'unsaved') this.setHealth({ kind: 'ok' });
        return;
      }
      throw new Error('the session could not be stored');
    } catch (e) {
      this.saveAttempt++;
      this.saveAt = this.deps.clock.now() + retryDelayMs(this.saveAttempt);
      this.setHealth({ kind: 'unsaved', nextAt: this.saveAt, message: (e as Error)?.message ?? String(e) });
    } finally {
      this.running = false;
      this.decide('after storing', true);
    }
  }

  /** @param automaticWhy for an automatic refresh: why it was decided ("due; timer"), for its log line. */
  private async run(manual: boolean, automaticWhy?: string): Promise<RefreshResult | undefined> {
    this.clearTimer();
    this.running = true;
    const policy = this.deps.policy();
    try {
      let r: RefreshResult;
      for (let tries = 0; ; tries++) {
        const seen = this.deps.tokenSet();
        r = await this.deps.refresher.refresh(
          seen,
          manual ? undefined : { stillNeeded: c => decideRefresh(this.timed(c), this.deps.clock.now(), policy).action === 'refresh', resumedAt: this.resumedAt },
        );
        // A manual call that joined an automatic one in flight, held back by the schedule: the user's own goes out now.
        if (!manual || tries > 0 || (r.kind !== 'deferred' && r.kind !== 'paused' && r.kind !== 'superseded')) break;
      }
      if (!manual) this.logAutomatic(r, automaticWhy);
      this.onResult(r);
      return r;
    } catch (e) {
      if (!manual) this.deps.log.info(`automatic refresh of Keap app ${this.deps.label()} (${automaticWhy ?? 'asked by another extension'}) failed: ${(e as Error)?.message ?? String(e)}`);
      this.onError(e, manual);
      return undefined;
    } finally {
      this.running = false;
      this.decide('after refresh', true);
    }
  }

  /** One line saying what an automatic refresh did: sent and refreshed, or nothing sent and why. */
  private logAutomatic(r: RefreshResult, why: string | undefined): void {
    const now = this.deps.clock.now();
    const what = (() => {
      switch (r.kind) {
        case 'refreshed':
          return r.unsaved ? 'sent; new tokens kept in memory (not stored yet)' : 'sent; new tokens stored';
        case 'already-refreshed':
          return 'nothing sent: another window had refreshed, or it was no longer due';
        case 'signed-out':
          return 'nothing sent: signed out';
        case 'stale-view':
          return "nothing sent: this window's view of the stored tokens is behind";
        case 'superseded':
          return 'nothing sent: another window holds the new tokens and has not stored them yet';
        case 'paused':
          return 'nothing sent: paused until you act';
        case 'deferred':
          return `nothing sent: ${r.why === 'interval' ? 'the previous request was under 30 s ago' : r.why === 'fresh' ? 'Keap issued this token recently' : r.why === 'budget' ? 'daily request budget used up' : 'backing off after a failure'}; not before ${logWhen(r.until, now)}`;
      }
    })();
    this.deps.log.info(`automatic refresh of Keap app ${this.deps.label()} (${why ?? 'asked by another extension'}): ${what}`);
  }

  private onResult(r: RefreshResult): void {
    const now = this.deps.clock.now();
    switch (r.kind) {
      case 'refreshed':
      case 'already-refreshed':
        this.attempt = 0;
        this.notBefore = undefined;
        this.paused = undefined;
        this.deps.onTokenSet(r.tokenSet);
        if (r.kind === 'refreshed' && r.unsaved) {
          this.saveAttempt = 1;
          this.saveAt = now + retryDelayMs(1);
          this.setHealth({ kind: 'unsaved', nextAt: this.saveAt, message: r.unsaved.message });
        } else if (!this.deps.refresher.unsaved) this.setHealth({ kind: 'ok' });
        return;
      case 'signed-out':
        this.deps.onTokenSet(undefined);
        this.setHealth({ kind: 'ok' });
        return;
      case 'stale-view':
      case 'superseded':
        // Nothing was sent; look again with backoff (the other window's write, or a reload, ends it).
        this.attempt++;
        this.notBefore = now + retryDelayMs(this.attempt);
        this.waitingOn = this.deps.tokenSet()?.refreshToken;
        this.setHealth({ kind: r.kind });
        return;
      case 'deferred':
        this.notBefore = r.until;
        if (r.why === 'backoff' || r.why === 'budget') {
          const set = this.deps.tokenSet();
          const nextAt = set ? (nextAutomaticAt(this.timed(set), now, this.deps.policy(), r.until) ?? r.until) : r.until;
          this.setHealth({ kind: 'retrying', attempt: this.attempt, nextAt, reason: r.why === 'budget' ? 'budget' : 'transient', message: r.why === 'budget' ? 'daily request budget used up' : 'backing off after a failure in another window' });
        }
        return;
      case 'paused':
        this.pause(r.pause);
        return;
    }
  }

  private pause(p: RefreshPause): void {
    if (!this.paused) this.deps.log.warn(`automatic refresh of Keap app ${this.deps.label()} paused until you act (${p.resume}): ${p.message}`);
    this.paused = p;
    this.notBefore = undefined;
    // Tokens only in memory matter more than the pause (both mean: make the keyring work); storing them goes on.
    if (this.deps.refresher.unsaved && this.saveAt !== undefined) this.setHealth({ kind: 'unsaved', nextAt: this.saveAt, message: p.message });
    else this.setHealth({ kind: 'paused', pause: p });
  }

  private onError(e: unknown, manual: boolean): void {
    const now = this.deps.clock.now();
    const outcome = outcomeOf(e);
    const set = this.deps.tokenSet();
    if (outcome.kind === 'retryable') {
      this.attempt++;
      this.notBefore = now + retryDelayMs(this.attempt, outcome.retryAfterMs);
      const nextAt = set && this.deps.enabled() ? nextAutomaticAt(this.timed(set), now, this.deps.policy(), this.notBefore) : undefined;
      // The user's own Refresh Token of a token that is not due: the token is as valid as before; the failure is noted, not a state.
      const notDue = manual && set !== undefined && decideRefresh(this.timed(set), now, this.deps.policy()).action !== 'refresh';
      this.deps.log.warn(
        `${manual ? 'Refresh Token' : 'automatic refresh'} of Keap app ${this.deps.label()} failed (${outcome.reason}); tokens kept${notDue ? ' (still valid, not due)' : ''}; ${nextAt === undefined ? 'no automatic retry' : `next automatic attempt ${logWhen(nextAt, now)}`}`,
      );
      // Tokens kept only in memory stay the state to show (the user must make the keyring work).
      if (notDue && this.healthValue.kind === 'unsaved' && this.deps.refresher.unsaved) this.setHealth(this.healthValue);
      else if (notDue) this.setHealth({ kind: 'ok', lastFailure: { message: outcome.message, at: now, nextAt } });
      else this.setHealth(nextAt === undefined ? { kind: 'ok' } : { kind: 'retrying', attempt: this.attempt, nextAt, reason: outcome.reason, message: outcome.message });
    } else if (outcome.kind === 'refusal') {
      this.attempt = 0;
      this.pause({ cause: outcome.cause, message: outcome.message, resume: outcome.resume, at: now, issuedAt: set?.refreshTokenIssuedAt ?? NaN });
    }
    this.deps.onFailure?.(e, outcome, manual);
  }

  dispose(): void {
    this.disposed = true;
    this.clearTimer();
  }
}
