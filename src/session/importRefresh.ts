import { KeapError } from '../keap/errors';
import { accountKey } from './accounts';
import { Refresher, RefresherDeps } from './refresher';
import type { LockHandle } from './fileLock';
import { LedgerStore, MemoryLedgerStore, recordFresh, recordOutcome } from './refreshSchedule';
import type { SessionStore } from './store';
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
  const persist = async (set: TokenSet): Promise<void> => {
    const key = accountKey(set);
    const handle = heldLocks.has(key) ? undefined : await lock(key);
    try {
      await deps.storeFor(key).write(set);
      // Stored: from now on the request was made with this account's tokens.
      try {
        const ledger = deps.ledgerFor(key);
        const l = await ledger.read();
        const requests = [...new Set([...l.requests, ...(await scratch.read()).requests])].sort((a, b) => a - b);
        await ledger.write(recordFresh(recordOutcome({ ...l, requests }, { kind: 'success' }, now(), set.refreshTokenIssuedAt), set, now()));
      } catch (e) {
        log.warn(`Import Tokens: could not update the refresh ledger of ${key}: ${(e as Error).message}`);
      }
    } finally {
      await handle?.release();
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
    let error = r.unsaved;
    for (let i = 1; error && i < IMPORT_SAVE_ATTEMPTS; i++) {
      log.warn(`Import Tokens: storing the refreshed pair of Keap app ${r.tokenSet.appName ?? r.tokenSet.clientId} again (attempt ${i + 1} of ${IMPORT_SAVE_ATTEMPTS})`);
      error = await refresher.retrySave().then(
        ok => (ok ? undefined : error),
        e => e as Error,
      );
    }
    if (error) return { kind: 'unsaved', error };
    log.info(`Import Tokens: stored the refreshed pair as ${accountKey(r.tokenSet)}`);
    return { kind: 'refreshed', set: refresher.unsaved ?? held ?? r.tokenSet };
  } catch (e) {
    if (e instanceof KeapError && e.kind === 'dead-refresh-token') return { kind: 'dead' };
    if (e instanceof KeapError && e.kind === 'bad-client-credentials') return { kind: 'bad-client' };
    return { kind: 'failed', error: e as Error };
  }
}
