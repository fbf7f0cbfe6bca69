import vscode = require('vscode');
import { l10n } from 'vscode';
import { PendingSignIn } from '../signin/pending';
import { PendingStore, SignInOutcome } from '../signin/signInService';
import { KeyValueSecrets } from '../session/accounts';
import { KeyringError } from '../session/store';
import { ChangeSignal } from '../session/changeSignal';

/** SecretStorage keys. SecretStorage is per extension and shared by every window of the user. */
export const SECRET_KEYS = {
  /** Token sets live under the keys in src/session/accounts (`ACCOUNT_SECRET_KEYS`). */
  pending: 'infusionsoft.pendingSignIns',
  outcome: 'infusionsoft.signInOutcome',
  clientSecretPrefix: 'infusionsoft.clientSecret/',
} as const;

/** Wraps a keyring failure in words the user can act on (case V3). */
export function keyringError(e: unknown): KeyringError {
  const reason = (e as Error)?.message ?? String(e);
  return new KeyringError(
    l10n.t(
      'VS Code could not use the system keyring ({0}). On Linux, install and unlock gnome-keyring (or another Secret Service), or set VS Code\'s "password-store" option; tokens are never written to plain files instead.',
      reason,
    ),
    e,
  );
}

/** Thin typed access to SecretStorage; every failure becomes a {@link KeyringError}. */
export class Secrets implements KeyValueSecrets {
  private readonly succeeded = new vscode.EventEmitter<void>();
  /**
   * Fires after a SecretStorage call worked: the keyring answers again, so tokens kept in memory
   * (case K11) can be stored now (issue 19.4).
   */
  readonly onDidSucceed = this.succeeded.event;

  constructor(private readonly storage: vscode.SecretStorage) {}

  get onDidChange(): vscode.Event<vscode.SecretStorageChangeEvent> {
    return this.storage.onDidChange;
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const value = await this.storage.get(key);
      this.succeeded.fire();
      return value;
    } catch (e) {
      throw keyringError(e);
    }
  }

  async store(key: string, value: string): Promise<void> {
    try {
      await this.storage.store(key, value);
      this.succeeded.fire();
    } catch (e) {
      throw keyringError(e);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.storage.delete(key);
      this.succeeded.fire();
    } catch (e) {
      throw keyringError(e);
    }
  }

  clientSecret(clientId: string): Promise<string | undefined> {
    return this.get(SECRET_KEYS.clientSecretPrefix + clientId);
  }

  storeClientSecret(clientId: string, secret: string): Promise<void> {
    return this.store(SECRET_KEYS.clientSecretPrefix + clientId, secret);
  }
}

/** Pending sign-ins in SecretStorage, so a callback landing in another window finds them (case V2). */
export class SecretPendingStore implements PendingStore {
  constructor(private readonly secrets: Secrets) {}

  async read(): Promise<PendingSignIn[]> {
    const json = await this.secrets.get(SECRET_KEYS.pending);
    if (!json) return [];
    try {
      const list = JSON.parse(json);
      return Array.isArray(list) ? list.filter(isPending) : [];
    } catch {
      return [];
    }
  }

  async write(list: PendingSignIn[]): Promise<void> {
    if (list.length === 0) await this.secrets.delete(SECRET_KEYS.pending);
    else await this.secrets.store(SECRET_KEYS.pending, JSON.stringify(list));
  }
}

function isPending(x: unknown): x is PendingSignIn {
  const p = x as PendingSignIn;
  return !!p && typeof p.state === 'string' && typeof p.redirectUri === 'string' && typeof p.expiresAt === 'number' && typeof p.clientId === 'string';
}

/** Publishes and reads the last sign-in outcome (no token in it). */
export class OutcomeChannel {
  /** @param signal reaches windows that SecretStorage's own change event does not. */
  constructor(private readonly secrets: Secrets, readonly signal: ChangeSignal) {}

  async publish(o: SignInOutcome): Promise<void> {
    await this.secrets.store(SECRET_KEYS.outcome, JSON.stringify(o));
    void this.signal.notify();
  }

  async read(): Promise<SignInOutcome | undefined> {
    const json = await this.secrets.get(SECRET_KEYS.outcome).catch(() => undefined);
    if (!json) return undefined;
    try {
      return JSON.parse(json) as SignInOutcome;
    } catch {
      return undefined;
    }
  }
}
