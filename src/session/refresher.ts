import { KeapError } from '../keap/errors';
import { KeapTokenClient } from '../keap/tokenClient';
import { sameEndpoint } from '../keap/endpoints';
import { Logger, urlForLog } from '../log';
import type { AppRotation } from '../dotenv/appRotation';
import { accountKey, fingerprint } from './accounts';
import { LockHandle } from './fileLock';
import { admitAutomatic, LedgerStore, SUPERSEDED_HOLD_MS, MemoryLedgerStore, outcomeOf, recordFresh, recordOutcome, recordRequest, RefreshLedger, RefreshPause } from './refreshSchedule';
import { KeyringError, SessionStore } from './store';
import { REAL_TIMERS, TimeLimitError, Timers, withTimeLimit } from './timeLimit';
import { logWhen } from './timeWords';
import { TokenSet } from './tokenSet';

/** Default time limit of one SecretStorage read or write under the refresh lock (ms, case K13). */
export const STORE_TIME_LIMIT_MS = 10_000;

export interface RefresherDeps {
  readonly store: SessionStore;
  readonly tokenClient: KeapTokenClient;
  /** Takes the user-wide refresh lock of one account (key from {@link accountKey}), waiting up to its own limit. */
  readonly lock: (account: string) => Promise<LockHandle>;
  readonly credentials: (clientId: string) => Promise<{ clientId: string; clientSecret: string } | undefined>;
  readonly now: () => number;
  readonly log: Logger;
  /** This account's request ledger, shared by every window (default: one in memory, this window's only). */
  readonly ledger?: LedgerStore;
  /** Time limit of each secret read or write under the lock, in milliseconds (default {@link STORE_TIME_LIMIT_MS}). */
  readonly storeTimeLimitMs?: number;
  readonly timers?: Timers;
  /**
   * Refresh tokens the user's own app wrote back to the `.env` files this extension wrote for the
   * set's account (src/dotenv/appRotation; issue 13.6). Asked only under the lock, after Keap
   * refused the stored refresh token.
   */
  readonly appRotations?: (set: TokenSet) => Promise<readonly AppRotation[]>;
}

/** What an automatic refresh passes: it is held to the ledger's schedule (case K10). */
export interface AutomaticRefresh {
  /** Re-checked under the lock against the stored set. */
  stillNeeded(current: TokenSet): boolean;
  /** When the user last acted in this window (epoch ms): a pause recorded before then no longer holds. */
  readonly resumedAt?: number;
}

export type RefreshResult =
  /** `unsaved`: Keap rotated the pair but storing it failed; this window holds it in memory and uses it (case K11). */
  | { readonly kind: 'refreshed'; readonly tokenSet: TokenSet; readonly unsaved?: Error }
  /** Another window or process refreshed first (or no refresh was needed); nothing was sent. */
  | { readonly kind: 'already-refreshed'; readonly tokenSet: TokenSet }
  | { readonly kind: 'signed-out' }
  /** Another window stored a newer token set that this window cannot read yet; nothing was sent (its refresh token may be dead). */
  | { readonly kind: 'stale-view'; readonly tokenSet: TokenSet }
  /** An automatic refresh that the schedule holds back until `until` (epoch ms); nothing was sent. */
  | { readonly kind: 'deferred'; readonly why: 'interval' | 'fresh' | 'backoff' | 'budget'; readonly until: number }
  /** Automatic refresh of this account is paused until the user acts; nothing was sent. */
  | { readonly kind: 'paused'; readonly pause: RefreshPause }
  /**
   * Another window holds the rotated pair and could not store it yet; the stored refresh token is
   * dead, so nothing was sent (Refresh Token too, for {@link SUPERSEDED_HOLD_MS}: Keap would refuse
   * it and the session would be marked dead). Ends when that window stores it, or with a sign-in.
   */
  | { readonly kind: 'superseded' };

/**
 * Single-flight refresh across every window and process of the user (case K1): take the lock,
 * re-read storage, skip the request if another window already rotated the refresh token, ask the
 * shared ledger whether an automatic request may go out now (case K10), send the refresh grant,
 * write the rotated pair to storage before anything else, release.
 * On `invalid_grant` storage is re-read once before the refresh token is declared dead.
 * Every secret read and write under the lock has a time limit (case K13). A rotated pair that
 * cannot be stored is kept in memory, used by every later refresh of this window and written again
 * by {@link retrySave}; the dead refresh token it replaced is never sent again (case K11).
 */
export class Refresher {
  private inFlight: Promise<RefreshResult> | undefined;
  private readonly ledger: LedgerStore;
  private readonly timers: Timers;
  /**
   * A rotated pair Keap issued that storage refused, and the stored set it replaces (its refresh
   * token is dead at Keap, and stays stored until the write succeeds).
   */
  private unsavedPair: { readonly set: TokenSet; readonly replaced: string; readonly replacedIssuedAt: number } | undefined;
  /** Fingerprints of the refresh tokens found in `.env` files and tried once each (never the tokens). */
  private readonly triedAppTokens = new Set<string>();

  constructor(private readonly deps: RefresherDeps) {
    this.ledger = deps.ledger ?? new MemoryLedgerStore();
    this.timers = deps.timers ?? REAL_TIMERS;
  }

  /** The rotated pair this window holds but could not store, if any. */
  get unsaved(): TokenSet | undefined {
    return this.unsavedPair?.set;
  }

  /**
   * What this window must use in place of the stored set `stored`: the rotated pair it holds
   * unsaved while storage still has the refresh token that pair replaced; otherwise undefined.
   */
  inPlaceOf(stored: TokenSet): TokenSet | undefined {
    const pair = this.unsavedPair;
    return pair && stored.refreshToken === pair.replaced ? pair.set : undefined;
  }

  /**
   * @param seen the token set the caller decided on; if storage holds another refresh token by the
   *   time the lock is taken, someone else refreshed and nothing is sent.
   * @param automatic for automatic refreshes: re-checked under the lock, and held to the ledger's
   *   schedule (interval, backoff, daily budget, pause). A bare function is `stillNeeded`.
   *   Without it the refresh is the user's own and goes out now.
   * @throws KeapError (any kind; `dead-refresh-token` only after the re-read), KeyringError,
   *   TimeLimitError, LockTimeoutError.
   */
  refresh(seen: TokenSet | undefined, automatic?: AutomaticRefresh | ((current: TokenSet) => boolean)): Promise<RefreshResult> {
    const auto = typeof automatic === 'function' ? { stillNeeded: automatic } : automatic;
    // One refresh per window at a time; callers in the same window share it.
    this.inFlight ??= this.run(seen, auto).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /**
   * Writes the rotated pair this window holds in memory again (under the lock). Resolves to true
   * when it is stored (or no longer needed), rejects with the store's error otherwise.
   */
  async retrySave(): Promise<boolean> {
    const pair = this.unsavedPair;
    if (!pair) return true;
    const handle = await this.deps.lock(accountKey(pair.set));
    try {
      await this.current();
      return this.unsavedPair === undefined;
    } finally {
      await handle.release();
    }
  }

  private limited<T>(work: Promise<T>, what: string): Promise<T> {
    return withTimeLimit(work, this.deps.storeTimeLimitMs ?? STORE_TIME_LIMIT_MS, what, this.timers).catch(e => {
      // A store that never answers is a keyring fault like any other (case K13): say which call hung.
      throw e instanceof TimeLimitError ? new KeyringError(`SecretStorage: ${e.message}`, e) : e;
    });
  }

  /**
   * The stored set as this window must use it: the unsaved rotated pair while storage still holds
   * the refresh token it replaced (written again first), else what storage holds.
   */
  private async current(): Promise<TokenSet | undefined> {
    const stored = await this.limited(this.deps.store.read(), 'reading the stored session');
    const pair = this.unsavedPair;
    if (!pair) return stored;
    if (!stored || stored.refreshToken !== pair.replaced) {
      // Signed out, signed in again, or stored meanwhile: storage is the newer truth.
      this.unsavedPair = undefined;
      return stored;
    }
    try {
      await this.limited(this.deps.store.write(pair.set), 'storing the session');
      this.unsavedPair = undefined;
      this.deps.log.info(`stored the rotated token pair of Keap app ${pair.set.appName ?? pair.set.clientId} that could not be stored before`);
      await this.writeLedger(l => ({ ...l, supersededIssuedAt: undefined, supersededAt: undefined }));
    } catch (e) {
      this.deps.log.warn(`the rotated token pair of Keap app ${pair.set.appName ?? pair.set.clientId} is still only in this window's memory: ${(e as Error).message}`);
    }
    return pair.set;
  }

  /** Changes the ledger; a ledger that cannot be written is logged, never a reason to lose tokens. */
  private async writeLedger(change: (l: RefreshLedger) => RefreshLedger): Promise<void> {
    try {
      await this.ledger.write(change(await this.ledger.read()));
    } catch (e) {
      this.deps.log.warn(`could not update the refresh ledger: ${(e as Error).message}`);
    }
  }

  private async run(seen: TokenSet | undefined, automatic: AutomaticRefresh | undefined): Promise<RefreshResult> {
    const { log, now } = this.deps;
    const first = this.unsavedPair?.set ?? seen ?? (await this.limited(this.deps.store.read(), 'reading the stored session'));
    if (!first) return { kind: 'signed-out' };
    const app = first.appName ?? first.clientId;
    const handle = await this.deps.lock(accountKey(first));
    if (handle.waited) log.info(`refresh of Keap app ${app} waited ${handle.waited}`);
    try {
      const current = await this.current();
      if (!current) return { kind: 'signed-out' };
      if (current !== this.unsavedPair?.set && this.deps.store.isCurrent && !(await this.limited(this.deps.store.isCurrent(current), 'checking the stored session'))) {
        log.warn(`refresh of Keap app ${app} skipped: another window stored a newer session that this window does not see yet`);
        return { kind: 'stale-view', tokenSet: current };
      }
      if (current.refreshToken !== first.refreshToken) {
        log.info(`refresh of Keap app ${app} skipped: another window already rotated the refresh token`);
        return { kind: 'already-refreshed', tokenSet: current };
      }
      if (automatic && !automatic.stillNeeded(current)) {
        log.info(`refresh of Keap app ${app} skipped: no longer needed`);
        return { kind: 'already-refreshed', tokenSet: current };
      }
      if (current.refreshTokenRejectedAt !== undefined) {
        // The user's own Refresh Token (automatic refresh never gets here): the app may have rotated since.
        const adopted = await this.adoptAppRotation(current, app);
        if (adopted) return adopted;
        throw new KeapError('dead-refresh-token', 'Keap no longer accepts this refresh token; sign in again.');
      }
      const ledger = await this.ledger.read();
      if (ledger.supersededIssuedAt === current.refreshTokenIssuedAt && (automatic || now() - (ledger.supersededAt ?? now()) < SUPERSEDED_HOLD_MS)) {
        // Keap has rotated this refresh token; the window holding the new pair could not store it yet (case K11).
        log.warn(`refresh of Keap app ${app} skipped: another window holds the rotated tokens and has not stored them yet`);
        return { kind: 'superseded' };
      }
      if (automatic) {
        const admission = admitAutomatic(ledger, now(), current, automatic.resumedAt);
        if (!admission.admit) {
          if (admission.why === 'paused') return { kind: 'paused', pause: admission.pause };
          if (admission.why === 'superseded') return { kind: 'superseded' };
          return { kind: 'deferred', why: admission.why, until: admission.until };
        }
      }
      return await this.send(current, ledger, app);
    } finally {
      await handle.release();
    }
  }

  /** Sends the refresh grant for `current` (under the lock) and records it and its outcome in the ledger. */
  private async send(current: TokenSet, before: RefreshLedger, app: string): Promise<RefreshResult> {
    const { log, now } = this.deps;
    const issuedAt = current.refreshTokenIssuedAt;
    // What storage holds: `current` itself, or the dead set an unsaved pair replaces.
    const pair = this.unsavedPair?.set === current ? this.unsavedPair : undefined;
    const stored = pair ? { refreshToken: pair.replaced, issuedAt: pair.replacedIssuedAt } : { refreshToken: current.refreshToken, issuedAt };
    let ledger = before;
    let next: TokenSet;
    try {
      // Bound to the endpoint that issued it (a 0.1 set without one: to the user's configured endpoint).
      const configured = this.deps.tokenClient.configuredTokenUrl();
      const tokenUrl = current.tokenUrl ?? configured;
      if (!sameEndpoint(tokenUrl, configured)) {
        log.warn(`refresh of Keap app ${app} not sent: its tokens came from ${urlForLog(tokenUrl)}, the token endpoint setting now says ${urlForLog(configured)}`);
        throw new KeapError(
          'bad-configuration',
          `The tokens of Keap app ${app} were issued by ${hostOf(tokenUrl)}, but the token endpoint setting now points at ${hostOf(configured)}. Nothing was sent; the tokens are kept. Sign in again to use the new endpoint, or set infusionsoft.tokenUrl back.`,
          { error: 'endpoint-changed' },
        );
      }
      const creds = await this.limited(this.deps.credentials(current.clientId), 'reading the client secret');
      if (!creds) throw new KeapError('bad-client-credentials', 'No client secret is stored for this client ID; set the client credentials.');
      // Recorded before it is sent, so a request cut short still counts against the budget.
      ledger = recordRequest(ledger, now());
      await this.ledger.write(ledger);
      next = await this.deps.tokenClient.refresh({ ...creds, refreshToken: current.refreshToken, refreshTokenIssuedAt: current.refreshTokenIssuedAt, tokenUrl });
    } catch (e) {
      await this.writeLedger(() => recordOutcome(ledger, outcomeOf(e), now(), issuedAt));
      if (e instanceof KeapError && e.kind === 'dead-refresh-token') return this.onDeadRefreshToken(current, stored.refreshToken, app, e);
      throw e;
    }
    return this.keep(next, current, ledger, stored, pair, app);
  }

  /**
   * Stores the pair Keap has just issued in place of `current` (storage holds `stored`): before
   * anything else, since the refresh token sent is dead from now on.
   */
  private async keep(
    next: TokenSet,
    current: TokenSet,
    before: RefreshLedger,
    stored: { readonly refreshToken: string; readonly issuedAt: number },
    pair: Refresher['unsavedPair'],
    app: string,
  ): Promise<RefreshResult> {
    const { store, log, now } = this.deps;
    const issuedAt = current.refreshTokenIssuedAt;
    let ledger = before;
    const merged: TokenSet = { ...next, user: current.user };
    ledger = recordFresh(recordOutcome(ledger, { kind: 'success' }, now(), issuedAt), merged, now());
    const rotated = merged.refreshToken !== current.refreshToken;
    const expiry = merged.accessTokenExpiresAt ? logWhen(merged.accessTokenExpiresAt, now()) : 'unknown';
    try {
      await this.limited(store.write(merged), 'storing the session');
      this.unsavedPair = undefined;
      await this.writeLedger(() => ({ ...ledger, supersededIssuedAt: undefined, supersededAt: undefined }));
      log.info(`refreshed Keap app ${app}: access token valid until ${expiry}`);
      return { kind: 'refreshed', tokenSet: merged };
    } catch (e) {
      // Keap has already killed the stored refresh token (when it rotated): keep the new pair, tell other windows not to send the old one.
      if (rotated) this.unsavedPair = { set: merged, replaced: stored.refreshToken, replacedIssuedAt: stored.issuedAt };
      else if (pair) this.unsavedPair = { ...pair, set: merged };
      await this.writeLedger(() => (rotated || pair ? { ...ledger, supersededIssuedAt: stored.issuedAt, supersededAt: now() } : ledger));
      log.error(`refreshed Keap app ${app} (access token valid until ${expiry}) but could not store the new tokens; this window keeps them in memory and stores them again later: ${(e as Error).message}`);
      return { kind: 'refreshed', tokenSet: merged, unsaved: e as Error };
    }
  }

  /**
   * Under the lock, Keap having refused the refresh token of `stored` (what storage holds): the
   * user's own app may have rotated it and written the new pair to a `.env` file this extension
   * wrote (issue 13.6). Sends the first refresh token found there that this window has not tried
   * yet, once, to the endpoint that issued `stored`, with this client's credentials, and only
   * when the file still reads as it did (else the answer could not go back). Keap's new pair is
   * written back into that file first, whatever app it is for; it is stored as a refresh would
   * store it only when Keap's `scope` names the same Keap app (a file a `git pull` changed must
   * never sign the user in to another app). Undefined when nothing was adopted; the caller then
   * goes on as before.
   */
  private async adoptAppRotation(stored: TokenSet, app: string): Promise<RefreshResult | undefined> {
    const { log, now, tokenClient } = this.deps;
    const tokenUrl = stored.tokenUrl ?? tokenClient.configuredTokenUrl();
    if (!this.deps.appRotations || !stored.appName || !sameEndpoint(tokenUrl, tokenClient.configuredTokenUrl())) return undefined;
    let candidate: AppRotation | undefined;
    let ledger: RefreshLedger;
    let next: TokenSet;
    try {
      const found = await withTimeLimit(this.deps.appRotations(stored), this.deps.storeTimeLimitMs ?? STORE_TIME_LIMIT_MS, 'reading the .env files', this.timers);
      // A token Import Tokens already spent at Keap (read from this very file) is never sent again.
      const spent = new Set((await this.ledger.read()).spent ?? []);
      candidate = found.find(c => c.refreshToken !== stored.refreshToken && !this.triedAppTokens.has(fingerprint(c.refreshToken)) && !spent.has(fingerprint(c.refreshToken)));
      if (!candidate) return undefined;
      // Once per token, whatever the answer: a file that keeps a dead token costs one request, not a loop.
      this.triedAppTokens.add(fingerprint(candidate.refreshToken));
      const creds = await this.limited(this.deps.credentials(stored.clientId), 'reading the client secret');
      if (!creds) return undefined;
      // Sending spends the token at Keap: only while its answer can still go back into the file (issue 17.4).
      const c = candidate;
      if (!(await withTimeLimit(c.stillWritable(), this.deps.storeTimeLimitMs ?? STORE_TIME_LIMIT_MS, `re-reading ${c.where}`, this.timers))) {
        log.warn(`not trying the refresh token in ${c.where}: the file changed since it was read`);
        return undefined;
      }
      log.info(`trying the refresh token your app wrote to ${candidate.where}`);
      // Counted against the budget; if it fails, the ledger keeps the pause the refusal recorded.
      ledger = recordRequest(await this.ledger.read(), now());
      await this.ledger.write(ledger);
      next = await tokenClient.refresh({ ...creds, refreshToken: candidate.refreshToken, tokenUrl });
    } catch (e) {
      log.warn(`the refresh token in ${candidate?.where ?? 'the .env files'} was not adopted: ${(e as Error).message}`);
      return undefined;
    }
    // The file's token is spent now: Keap's new pair goes back into that file before anything else,
    // whatever app it is for, so the user's app keeps a live token (issue 17.4, cases.md S10).
    try {
      await withTimeLimit(candidate.writeBack(next), this.deps.storeTimeLimitMs ?? STORE_TIME_LIMIT_MS, `writing ${candidate.where}`, this.timers);
      log.info(`wrote Keap's new token pair back to ${candidate.where}`);
    } catch (e) {
      log.error(`Keap rotated the refresh token in ${candidate.where}, but the new pair could not be written back there: ${(e as Error).message}`);
    }
    if (next.appName !== stored.appName) {
      log.warn(`did not adopt Keap's answer to the refresh token in ${candidate.where}: it is for Keap app ${next.appName}, not ${stored.appName}`);
      return undefined;
    }
    log.info(`adopted the refresh token your app wrote to ${candidate.where} (Keap app ${stored.appName})`);
    return this.keep(next, stored, ledger, { refreshToken: stored.refreshToken, issuedAt: stored.refreshTokenIssuedAt }, undefined, app);
  }

  /**
   * Keap refused the refresh token of `current` (`storedRefreshToken`: what storage held when it
   * was sent). Another window may have rotated it meanwhile: re-read once.
   * Otherwise mark the stored set dead; a failure while marking it is logged and never hides
   * Keap's refusal, which is rethrown.
   */
  private async onDeadRefreshToken(current: TokenSet, storedRefreshToken: string, app: string, refusal: KeapError): Promise<RefreshResult> {
    const { store, log, now } = this.deps;
    // Keap refused even the newest pair this window holds: it is dead too.
    this.unsavedPair = undefined;
    try {
      const again = await this.limited(store.read(), 'reading the stored session');
      if (again && again.refreshToken !== storedRefreshToken) {
        log.info(`refresh token of Keap app ${app} refused, but storage already holds a newer one: using it`);
        return { kind: 'already-refreshed', tokenSet: again };
      }
      // Only from a current view: a lagging view must never overwrite a newer set.
      if (again && (!store.isCurrent || (await this.limited(store.isCurrent(again), 'checking the stored session')))) {
        const adopted = await this.adoptAppRotation(again, app);
        if (adopted) return adopted;
        await this.limited(store.write({ ...again, refreshTokenRejectedAt: now() }), 'storing the session');
      }
    } catch (e) {
      log.error(`Keap refused the refresh token of Keap app ${app}, and recording that failed: ${(e as Error).message}`);
    }
    throw refusal;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 80);
  }
}
