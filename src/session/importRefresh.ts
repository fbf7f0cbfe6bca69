import { KeapError } from '../keap/errors';
import { accountKey, fingerprint } from './accounts';
import { Refresher, RefresherDeps, STORE_TIME_LIMIT_MS } from './refresher';
import type { LockHandle } from './fileLock';
import { LedgerStore, MemoryLedgerStore, recordFresh, recordOutcome, recordSpent } from './refreshSchedule';
import type { SessionStore } from './store';
import { REAL_TIMERS, withTimeLimit } from './timeLimit';
import type { TokenSet } from './tokenSet';

/** How many times a rotated pair that could not be stored is written again, under the lock, before the import gives up (each write has the refresher's own time limit). */
export const IMPORT_SAVE_ATTEMPTS = 3;

export type ImportRefreshResult =
  /** Keap rotated the pair and it is stored (as the account Keap's `scope` names, under that account's lock). */
  | { readonly kind: 'refreshed'; readonly set: TokenSet }
  /** Keap refused the refresh token (used, rotated, expired, or of another client ID): nothing stored. */
  | { readonly kind: 'dead' }
  /** Keap refused the client ID or secret: nothing stored. */
  | { readonly kind: 'bad-client' }
  /** Anything else (throttled, transient, endpoint changed, lock timeout, …): nothing stored, nothing more sent. */
  | { readonly kind: 'failed'; readonly error: Error }
  /** Keap rotated the pair but storing it failed {@link IMPORT_SAVE_ATTEMPTS} times: the old pair is dead and the new one is lost; the user must sign in. */
  | { readonly kind: 'unsaved'; readonly error: Error };

/** What an import needs besides a {@link Refresher}'s own dependencies: each account's ledger and storage, by {@link accountKey}. */
export interface ImportDeps extends Omit<RefresherDeps, 'store' | 'appRotations' | 'ledger'> {
  /** The request ledger of an account (the file every window shares). */
  readonly ledgerFor: (key: string) => LedgerStore;
  /** The stored token set of an account (SecretStorage). */
  readonly storeFor: (key: string) => SessionStore;
}

/**
 * Import Tokens' one refresh of a pair that is not stored yet, through a {@link Refresher}. The
 * request goes out under the user-wide lock of the pair's account as far as it is known: the
 * account itself when the pair names its Keap app (the lock every refresh of that account takes),
 * else `<client ID>|` until Keap's `scope` names it. Until Keap answers, the pair lives only in
 * memory, and so does the refresh's ledger: a refusal (dead token, bad client, …) is about a pair
 * nobody stores, so it never pauses, unpauses or counts against an account already stored (the
 * ledger of a stored account changes only for requests made with its own tokens). The rotated
 * pair is stored, under the lock of the account it is stored as (taken after the first when the
 * app was unknown: `<client ID>|` before `<client ID>|<app>`, never the other way round), before
 * anything else; then that account's ledger records the request and the fresh pair, so its
 * automatic refreshes count it in their budget and leave the pair alone for half its life. It is
 * the user's own request (never held back by the automatic schedule). Never rejects.
 */
export async function refreshImportedPair(candidate: TokenSet, deps: ImportDeps): Promise<ImportRefreshResult> {
  const { log, now } = deps;
  // The locks this import holds now (a user-wide lock is not re-entrant).
  const heldLocks = new Set<string>();
  const lock = async (key: string): Promise<LockHandle> => {
    const handle = await deps.lock(key);
    heldLocks.add(key);
    let released = false;
    return {
      waited: handle.waited,
      release: async () => {
        if (released) return;
        released = true;
        heldLocks.delete(key);
        await handle.release();
      },
    };
  };
  const scratch = new MemoryLedgerStore();
  /** The set the last write that landed stored: the import says "stored" only for the pair it holds. */
  let stored: TokenSet | undefined;
  const persist = async (set: TokenSet): Promise<void> => {
    const key = accountKey(set);
    const handle = heldLocks.has(key) ? undefined : await lock(key);
    try {
      // Keap rotated the candidate's refresh token: the account's ledger lists it as spent before the
      // write is tried, under the account's lock, so no window sends it while the write waits or
      // fails (a window opening then read the stored pair, which may be the one imported).
      if (set.refreshToken !== candidate.refreshToken) await markSpent(key, candidate.refreshToken);
      // Every write has the refresher's time limit, so a lock taken here is let go when it passes:
      // a hung keyring must hold no window's refresh back (the account's lock is renewed while held).
      await withTimeLimit(deps.storeFor(key).write(set), deps.storeTimeLimitMs ?? STORE_TIME_LIMIT_MS, 'storing the session', deps.timers ?? REAL_TIMERS);
      stored = set;
      // Stored: from now on the request was made with this account's tokens.
      try {
        const ledger = deps.ledgerFor(key);
        const l = await ledger.read();
        const requests = [...new Set([...l.requests, ...(await scratch.read()).requests])].sort((a, b) => a - b);
        const next = recordFresh(recordOutcome({ ...l, requests }, { kind: 'success' }, now(), set.refreshTokenIssuedAt), set, now());
        // The candidate's refresh token, spent at Keap, may still be in the file it came from (see markSpent).
        await ledger.write(set.refreshToken === candidate.refreshToken ? next : recordSpent(next, fingerprint(candidate.refreshToken)));
      } catch (e) {
        log.warn(`Import Tokens: could not update the refresh ledger of ${key}: ${(e as Error).message}`);
      }
    } finally {
      await handle?.release();
    }
  };
  const markSpent = async (key: string, refreshToken: string): Promise<void> => {
    try {
      const handle = heldLocks.has(key) ? undefined : await lock(key);
      try {
        const ledger = deps.ledgerFor(key);
        await ledger.write(recordSpent(await ledger.read(), fingerprint(refreshToken)));
      } finally {
        await handle?.release();
      }
    } catch (e) {
      log.warn(`Import Tokens: could not note the spent refresh token in the refresh ledger of ${key}: ${(e as Error).message}`);
    }
  };
  let held: TokenSet | undefined = candidate;
  const store: SessionStore = {
    read: async () => held,
    write: async set => {
      // Keap's refusal is recorded on the set by the refresher: it stays here, never in storage.
      if (set.refreshTokenRejectedAt === undefined) await persist(set);
      held = set;
    },
    clear: async () => void (held = undefined),
  };
  const refresher = new Refresher({ ...deps, lock, ledger: scratch, store });
  try {
    const r = await refresher.refresh(candidate);
    if (r.kind !== 'refreshed') return { kind: 'failed', error: new Error(`refresh ended as ${r.kind}`) };
    // The pair Keap's answer made (its refresh token the same one when Keap sent none: RFC 6749 §6).
    const pair = refresher.unsaved ?? r.tokenSet;
    // Written again by the import itself, not by the refresher's retry: that one lets storage win
    // when the pair replaced no refresh token (an answer without one), and nothing was stored then.
    let error = samePair(stored, pair) ? undefined : (r.unsaved ?? new Error('the refreshed pair was not stored'));
    for (let i = 1; error && i < IMPORT_SAVE_ATTEMPTS; i++) {
      log.warn(`Import Tokens: storing the refreshed pair of Keap app ${pair.appName ?? pair.clientId} again (attempt ${i + 1} of ${IMPORT_SAVE_ATTEMPTS})`);
      error = await persist(pair).then(
        () => undefined,
        e => e as Error,
      );
    }
    if (error) {
      // Keap rotated the pair's refresh token and its answer is lost: the file it may have come from,
      // or storage itself (the stored pair imported again), still holds the spent one. The account's
      // ledger lists it, so no window sends it (issue 13.6's adoption, or an automatic refresh).
      if (pair.refreshToken !== candidate.refreshToken) await markSpent(accountKey(pair), candidate.refreshToken);
      return { kind: 'unsaved', error };
    }
    log.info(`Import Tokens: stored the refreshed pair as ${accountKey(pair)}`);
    return { kind: 'refreshed', set: pair };
  } catch (e) {
    if (e instanceof KeapError && e.kind === 'dead-refresh-token') return { kind: 'dead' };
    if (e instanceof KeapError && e.kind === 'bad-client-credentials') return { kind: 'bad-client' };
    return { kind: 'failed', error: e as Error };
  }
}

export type ImportStoreResult =
  /** Stored under the account's lock. */
  | { readonly kind: 'stored'; readonly set: TokenSet }
  /** The account's stored pair changed since the import began (another window refreshed or signed in): nothing stored. */
  | { readonly kind: 'changed' }
  /** Storage already holds this refresh token: nothing stored. */
  | { readonly kind: 'held' }
  /** The lock or storage failed: nothing stored (or storage may hold it, if only the answer was lost). */
  | { readonly kind: 'unstored'; readonly error: Error };

/** Two views of an account's stored pair are the same pair. */
function samePair(a: TokenSet | undefined, b: TokenSet | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.refreshToken === b.refreshToken && a.accessToken === b.accessToken);
}

/**
 * Import Without Refreshing: stores `candidate` under the same user-wide lock every refresh of its
 * account takes, and only when storage still holds `seen` (what it held when the import began). A
 * refresh in another window meanwhile may have rotated the stored refresh token into one that only
 * storage now holds (and the pair imported may be the one it replaced, copied from a `.env` file):
 * writing over it could lose the only live pair, so the import stops and says so. Never rejects.
 */
export async function storeImportedPair(candidate: TokenSet, seen: TokenSet | undefined, deps: Pick<ImportDeps, 'lock' | 'storeFor' | 'storeTimeLimitMs' | 'timers'>): Promise<ImportStoreResult> {
  const key = accountKey(candidate);
  const store = deps.storeFor(key);
  const limited = <T>(work: Promise<T>, what: string) => withTimeLimit(work, deps.storeTimeLimitMs ?? STORE_TIME_LIMIT_MS, what, deps.timers ?? REAL_TIMERS);
  let handle: LockHandle | undefined;
  try {
    handle = await deps.lock(key);
    const now = await limited(store.read(), 'reading the stored session');
    if (now?.refreshToken === candidate.refreshToken) return { kind: 'held' };
    if (!samePair(now, seen) || (now && store.isCurrent && !(await limited(store.isCurrent(now), 'checking the stored session')))) return { kind: 'changed' };
    await limited(store.write(candidate), 'storing the session');
    return { kind: 'stored', set: candidate };
  } catch (e) {
    return { kind: 'unstored', error: e as Error };
  } finally {
    await handle?.release();
  }
}

/** What {@link importPair} asks of the user (or of the command's arguments). */
export interface ImportQuestions {
  /**
   * Refresh once now? Asked only when the access token works, the pair names its Keap app and VS
   * Code holds no tokens of that app (otherwise the pair is always refreshed first). `appKnown`:
   * the pair names its Keap app (always true when asked). Undefined: the user cancelled.
   */
  refresh(appKnown: boolean): Promise<boolean | undefined>;
  /** Runs the refresh (to show progress); default: runs it. */
  progress?<T>(work: () => Promise<T>): Promise<T>;
}

export type ImportPairResult =
  | { readonly kind: 'imported'; readonly set: TokenSet; readonly refreshed: boolean }
  | { readonly kind: 'cancelled' }
  /** Userinfo failed otherwise than by refusing the access token (throttled, transient, …): nothing stored, nothing more sent. */
  | { readonly kind: 'unchecked'; readonly error: Error }
  | Exclude<ImportStoreResult, { kind: 'stored' }>
  | Exclude<ImportRefreshResult, { kind: 'refreshed' }>;

/**
 * Import Tokens once the pair and the client credentials are known (src/vscode/importTokens asks
 * for those): what storage holds for the pair's account now; the access token against userinfo
 * (one request; skipped when the pair says it has expired); then one refresh
 * ({@link refreshImportedPair}: needed when the access token has expired or Keap refused it, when
 * the pair names no Keap app, or when VS Code already holds tokens of that app; else the user's choice) or a store without refreshing ({@link storeImportedPair}, only over what
 * storage held at the start). At most one userinfo and one token request; nothing stored unless
 * Keap accepted the pair; never rejects.
 */
export async function importPair(candidate: TokenSet, deps: ImportDeps & { readonly userInfo: (accessToken: string) => Promise<TokenSet['user']> }, ask: ImportQuestions): Promise<ImportPairResult> {
  let seen: TokenSet | undefined;
  try {
    seen = await withTimeLimit(deps.storeFor(accountKey(candidate)).read(), deps.storeTimeLimitMs ?? STORE_TIME_LIMIT_MS, 'reading the stored session', deps.timers ?? REAL_TIMERS);
  } catch (e) {
    return { kind: 'unstored', error: e as Error };
  }
  const expired = candidate.accessTokenExpiresAt !== undefined && candidate.accessTokenExpiresAt <= deps.now() + 60_000;
  let accessRefused = false;
  if (!expired) {
    try {
      candidate = { ...candidate, user: await deps.userInfo(candidate.accessToken) };
    } catch (e) {
      if (e instanceof KeapError && e.kind === 'invalid-access-token') accessRefused = true;
      else return { kind: 'unchecked', error: e as Error };
    }
  }
  // Only a pair Keap has just accepted a refresh for may replace tokens VS Code holds for that app
  // (a dead pair stored as is would lose a live session), and a pair that does not name its Keap app
  // must learn it from the refresh's `scope` before it is stored under its account.
  let refresh = expired || accessRefused || candidate.appName === undefined || seen !== undefined;
  if (!refresh) {
    const answer = await ask.refresh(candidate.appName !== undefined);
    if (answer === undefined) return { kind: 'cancelled' };
    refresh = answer;
  }
  if (refresh) {
    const run = () => refreshImportedPair(candidate, deps);
    const r = await (ask.progress ? ask.progress(run) : run());
    return r.kind === 'refreshed' ? { kind: 'imported', set: r.set, refreshed: true } : r;
  }
  const s = await storeImportedPair(candidate, seen, deps);
  return s.kind === 'stored' ? { kind: 'imported', set: s.set, refreshed: false } : s;
}
