import { TokenSet } from './tokenSet';

/**
 * Where the token set lives. The VS Code implementation is SecretStorage (shared by every window of
 * the user); tests use a file. Implementations throw {@link KeyringError} when the OS keyring fails
 * (case V3) and never fall back to plain files on their own.
 */
export interface SessionStore {
  /** The stored token set, read fresh (another window may have changed it); undefined when signed out. */
  read(): Promise<TokenSet | undefined>;
  write(set: TokenSet): Promise<void>;
  clear(): Promise<void>;
  /**
   * False when another window has stored a newer version than `set` (this window's view is stale).
   * Stores shared without such a lag may omit it.
   */
  isCurrent?(set: TokenSet): Promise<boolean>;
}

/** The OS keyring behind SecretStorage failed (locked, missing, or refused). */
export class KeyringError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'KeyringError';
  }
}
