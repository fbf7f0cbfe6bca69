import { createHash, randomBytes } from 'crypto';
import { Logger } from '../log';
import { LockHandle } from './fileLock';
import { SessionStore } from './store';
import { parseStoredTokenSet, serializeTokenSet, StoredTokenSetError, TokenSet } from './tokenSet';

/**
 * Several Keap apps at once. An account is one OAuth client (client ID) authorized for one Keap
 * app (the tenant named in the token response's `scope`, keap-oauth.md "Token response"): Keap
 * issues, and rotates, a separate refresh token for each such pair, so each is stored, refreshed
 * and locked on its own.
 */

/** The key of an account: `<client ID>|<Keap app name>` (app name '' when the scope names none). */
export function accountKey(set: Pick<TokenSet, 'clientId' | 'appName'>): string {
  return `${set.clientId}|${set.appName ?? ''}`;
}

/** A short, file-name-safe id of an account key (hex, 16 characters), for lock and signal file names. */
export function accountFileId(key: string): string {
  return fingerprint(key);
}

/**
 * 16 hex characters of SHA-256: tells two values apart without keeping either (a refresh token
 * this extension wrote to a .env file, or one it tried; never the token itself).
 */
export function fingerprint(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/** The part of a secret store (SecretStorage in VS Code) the account store needs; failures throw. */
export interface KeyValueSecrets {
  get(key: string): Promise<string | undefined>;
  store(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface AccountStoreOptions {
  readonly now?: () => number;
  /** Told (with the new generation id, never a key) after each change of the account list, to tell other windows. */
  readonly onIndexChanged?: (generation: string) => Promise<void>;
  /** The generation id the last writer announced (what `onIndexChanged` last received in any window). */
  readonly announcedIndexGeneration?: () => Promise<string | undefined>;
}

/** This window's view of the account list is older than another window's change (code-server keeps SecretStorage per tab). */
export class StaleViewError extends Error {
  constructor() {
    super('Another window changed the Keap sign-ins and this window has not caught up; reload this window (Developer: Reload Window) and try again.');
    this.name = 'StaleViewError';
  }
}

/** Secret keys: one token set per account, an index of the accounts, and the single-account key of 0.1 (read once, migrated). */
export const ACCOUNT_SECRET_KEYS = {
  index: 'infusionsoft.accounts',
  sessionPrefix: 'infusionsoft.session/',
  legacySession: 'infusionsoft.session',
} as const;

/**
 * Every signed-in account, in a secret store shared by all windows. Each account's token set has its
 * own key, so refreshing one never rewrites another (two windows refreshing two accounts at once
 * cannot lose either rotated refresh token). The index of keys changes only on sign-in and sign-out,
 * under a user-wide lock, so two windows adding accounts at once both land.
 */
export class AccountStore {
  constructor(
    private readonly secrets: KeyValueSecrets,
    /** Takes the user-wide lock for index changes. */
    private readonly lockIndex: () => Promise<LockHandle>,
    private readonly log: Logger,
    private readonly options: AccountStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  private readonly now: () => number;

  /**
   * The account keys in sign-in order. Moves a token set stored by version 0.1 (one account, one
   * key) into the index first. Throws the secret store's error (KeyringError in VS Code).
   */
  async keys(): Promise<string[]> {
    const keys = await this.readIndex();
    if ((await this.secrets.get(ACCOUNT_SECRET_KEYS.legacySession)) === undefined) return keys;
    return this.migrate();
  }

  /** Every account's token set, in index order; unreadable entries are skipped and logged. */
  async list(): Promise<TokenSet[]> {
    const out: TokenSet[] = [];
    for (const key of await this.keys()) {
      const set = await this.read(key);
      if (set) out.push(set);
    }
    return out;
  }

  /** One account's token set, read fresh; undefined when it is not signed in. */
  async read(key: string): Promise<TokenSet | undefined> {
    const json = await this.secrets.get(ACCOUNT_SECRET_KEYS.sessionPrefix + key);
    if (!json) return undefined;
    try {
      const set = parseStoredTokenSet(json, this.now());
      // Tokens read from storage are registered for masking before anything can log them (case S12).
      this.log.addSecret?.(set.accessToken);
      this.log.addSecret?.(set.refreshToken);
      return set;
    } catch (e) {
      if (e instanceof StoredTokenSetError) {
        this.log.warn(`ignoring a stored session: ${e.message}`);
        return undefined;
      }
      throw e;
    }
  }

  /**
   * Stores a token set under its account key. A new account is stored and added to the index under
   * the index lock, so it never lands half-way. Throws {@link StaleViewError} when adding it from a
   * view that is behind.
   */
  async write(set: TokenSet): Promise<void> {
    const key = accountKey(set);
    const store = () => this.secrets.store(ACCOUNT_SECRET_KEYS.sessionPrefix + key, serializeTokenSet(set));
    if ((await this.readIndex()).includes(key)) return store();
    await this.withIndexLock(async () => {
      await this.assertCurrent();
      await store();
      await this.changeIndexLocked(keys => (keys.includes(key) ? keys : [...keys, key]));
    });
  }

  /** Signs one account out: its token set and its index entry go; the others stay. */
  async remove(key: string): Promise<void> {
    await this.changeIndex(keys => keys.filter(k => k !== key));
    await this.secrets.delete(ACCOUNT_SECRET_KEYS.sessionPrefix + key);
  }

  /**
   * One account as a {@link SessionStore} (what the refresher works on). `write` refuses a set of
   * another account, so a refresh can never move tokens between accounts.
   */
  forAccount(key: string): SessionStore {
    return {
      read: () => this.read(key),
      write: async set => {
        if (accountKey(set) !== key) throw new Error(`a token set of ${accountKey(set)} cannot be stored as ${key}`);
        await this.write(set);
      },
      clear: () => this.remove(key),
    };
  }

  private async readIndex(): Promise<string[]> {
    return (await this.readIndexState()).keys;
  }

  /**
   * The index: `{"keys": [...], "generation": "<random id>"}` (a bare array, from builds before the
   * generation id, is read too). The generation changes with every change of the key list.
   */
  private async readIndexState(): Promise<{ keys: string[]; generation: string | undefined }> {
    const json = await this.secrets.get(ACCOUNT_SECRET_KEYS.index);
    if (!json) return { keys: [], generation: undefined };
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      this.log.warn('the account index is not JSON; rebuilding it from the next sign-in');
      return { keys: [], generation: undefined };
    }
    const o = parsed as { keys?: unknown; generation?: unknown };
    const list = Array.isArray(parsed) ? parsed : o && typeof o === 'object' && Array.isArray(o.keys) ? o.keys : [];
    const keys = [...new Set(list.filter((k): k is string => typeof k === 'string' && k.length > 0))];
    return { keys, generation: !Array.isArray(parsed) && typeof o?.generation === 'string' ? o.generation : undefined };
  }

  /**
   * The generation id of the account list as this store sees it, to compare with the one the
   * last writer announced (`onIndexChanged`): a difference means this view lags behind.
   */
  async indexGeneration(): Promise<string | undefined> {
    return (await this.readIndexState()).generation;
  }

  private async changeIndex(change: (keys: string[]) => string[]): Promise<string[]> {
    return this.withIndexLock(async () => {
      await this.assertCurrent();
      return this.changeIndexLocked(change);
    });
  }

  /**
   * Under the index lock, the list this view reads must be the one last announced; otherwise
   * changing it would drop accounts this view does not see, or bring back ones signed out since.
   */
  private async assertCurrent(): Promise<void> {
    const announced = await this.options.announcedIndexGeneration?.();
    const seen = await this.indexGeneration();
    if (announced !== undefined && seen !== undefined && announced !== seen) throw new StaleViewError();
  }

  /**
   * Makes the announced generation match what this store reads. Only for a view known to be
   * current (a window that has just started): it repairs an announcement lost to a crash between
   * a write and its announcement.
   */
  async reannounceIndex(): Promise<void> {
    const seen = await this.indexGeneration();
    if (seen !== undefined) await this.options.onIndexChanged?.(seen);
  }

  private async withIndexLock<T>(fn: () => Promise<T>): Promise<T> {
    const handle = await this.lockIndex();
    try {
      return await fn();
    } finally {
      await handle.release();
    }
  }

  private async changeIndexLocked(change: (keys: string[]) => string[]): Promise<string[]> {
    const before = await this.readIndex();
    const after = change(before);
    if (after.length !== before.length || after.some((k, i) => k !== before[i])) {
      // An empty list is kept (it holds no token) so that its generation still tells lagging windows.
      const generation = randomBytes(9).toString('base64url');
      await this.secrets.store(ACCOUNT_SECRET_KEYS.index, JSON.stringify({ keys: after, generation }));
      await this.options.onIndexChanged?.(generation);
    }
    return after;
  }

  /**
   * Copies the 0.1 token set to its account key and the index, then deletes the old key: in that
   * order (a crash loses nothing) and all under the index lock, so a window that starts at the same
   * time cannot copy the old set over one the first window has refreshed since.
   */
  private migrate(): Promise<string[]> {
    return this.withIndexLock(async () => {
      const legacyJson = await this.secrets.get(ACCOUNT_SECRET_KEYS.legacySession);
      if (legacyJson === undefined) return this.readIndex();
      let set: TokenSet | undefined;
      try {
        set = parseStoredTokenSet(legacyJson, this.now());
        this.log.addSecret?.(set.accessToken);
        this.log.addSecret?.(set.refreshToken);
      } catch (e) {
        if (!(e instanceof StoredTokenSetError)) throw e;
        this.log.warn(`dropping an unreadable session stored by version 0.1: ${e.message}`);
      }
      let keys: string[];
      if (set) {
        const key = accountKey(set);
        if ((await this.read(key)) === undefined) await this.secrets.store(ACCOUNT_SECRET_KEYS.sessionPrefix + key, serializeTokenSet(set));
        keys = await this.changeIndexLocked(k => (k.includes(key) ? k : [...k, key]));
        this.log.info('moved the session stored by version 0.1 to the account list');
      } else {
        keys = await this.readIndex();
      }
      await this.secrets.delete(ACCOUNT_SECRET_KEYS.legacySession);
      return keys;
    });
  }
}
