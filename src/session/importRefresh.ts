import { KeapError } from '../keap/errors';
import { accountKey } from './accounts';
import { Refresher, RefresherDeps } from './refresher';
import type { LedgerStore } from './refreshSchedule';
import type { SessionStore } from './store';
import type { TokenSet } from './tokenSet';

/** How many times a rotated pair that could not be stored is written again, under the lock, before the import gives up (each write has the refresher's own time limit). */
export const IMPORT_SAVE_ATTEMPTS = 3;

export type ImportRefreshResult =
  /** Keap rotated the pair and it is stored (through `persist`). */
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
 * Import Tokens' one refresh of a pair that is not stored yet, through a {@link Refresher} with the
 * caller's lock and request ledger (the user-wide ones every refresh of that account takes, so it
 * is one more request in the same single flight and the same budget). Until Keap answers, the pair
 * lives only in memory; the rotated pair goes to `persist` (SecretStorage) before anything else, a
 * refused one never does. It is the user's own request (never held back by the automatic schedule).
 * Never rejects.
 */
export async function refreshImportedPair(candidate: TokenSet, deps: ImportDeps): Promise<ImportRefreshResult> {
  const persist = (set: TokenSet) => deps.storeFor(accountKey(set)).write(set);
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
  const refresher = new Refresher({ ...deps, ledger: deps.ledgerFor(accountKey(candidate)), store });
  try {
    const r = await refresher.refresh(candidate);
    if (r.kind !== 'refreshed') return { kind: 'failed', error: new Error(`refresh ended as ${r.kind}`) };
    let error = r.unsaved;
    for (let i = 1; error && i < IMPORT_SAVE_ATTEMPTS; i++) {
      deps.log.warn(`Import Tokens: storing the refreshed pair of Keap app ${r.tokenSet.appName ?? r.tokenSet.clientId} again (attempt ${i + 1} of ${IMPORT_SAVE_ATTEMPTS})`);
      error = await refresher.retrySave().then(
        ok => (ok ? undefined : error),
        e => e as Error,
      );
    }
    if (error) return { kind: 'unsaved', error };
    deps.log.info(`Import Tokens: stored the refreshed pair as ${accountKey(r.tokenSet)}`);
    return { kind: 'refreshed', set: refresher.unsaved ?? held ?? r.tokenSet };
  } catch (e) {
    if (e instanceof KeapError && e.kind === 'dead-refresh-token') return { kind: 'dead' };
    if (e instanceof KeapError && e.kind === 'bad-client-credentials') return { kind: 'bad-client' };
    return { kind: 'failed', error: e as Error };
  }
}
