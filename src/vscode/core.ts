import type * as vscode from 'vscode';
import type { KeapTokenClient } from '../keap/tokenClient';
import type { LockHandle } from '../session/fileLock';
import type { AutoRefreshers } from './autoRefresh';
import type { Settings } from './config';
import type { RedactingLogger } from './log';
import type { Secrets } from './secrets';
import type { SessionModel } from './sessionModel';
import type { TokenStatusBar } from './statusBar';

/**
 * What `activate` builds for the first status bar paint, handed to the features built on first use
 * (src/extension.ts): the sign-in, the account commands, the `.env` writer, Test Token. Types only,
 * so a feature that names it reads no code.
 */
export interface Core {
  readonly context: vscode.ExtensionContext;
  readonly log: RedactingLogger;
  readonly settings: Settings;
  readonly secrets: Secrets;
  readonly model: SessionModel;
  readonly autoRefresher: AutoRefreshers;
  readonly statusBar: TokenStatusBar;
  readonly tokenClient: KeapTokenClient;
  /** The folder of lock and signal files shared by every window (globalStorageUri). */
  readonly storageDir: string;
  readonly now: () => number;
  /** The client credentials of a client ID (the secret from SecretStorage), or undefined when none are set. */
  credentials(clientId: string): Promise<{ clientId: string; clientSecret: string } | undefined>;
  /** The user-wide lock of one account's refresh (a lease its holder renews). */
  refreshLock(account: string): Promise<LockHandle>;
  /**
   * True when the extension runs as installed (ExtensionMode.Production): arguments another
   * extension could pass are then guarded (src/commandArguments); false under tests and development.
   */
  argumentsGuarded(): boolean;
  /**
   * Asks the user, once per window and credential, before a command hands a credential to whoever
   * ran it (`${command:infusionsoft.accessToken}`, `${command:infusionsoft.apiKey}`): any installed
   * extension can run a command, and VS Code's authentication consent does not cover commands.
   * Resolves true at once when arguments are not guarded (tests, development) or the user already
   * allowed `credential` in this window; false when the user declines.
   * @param credential a stable key of the credential (an account key or an API key id).
   * @param label how the user knows it ("Keap app ab123", "API key ci").
   */
  confirmHandOut(credential: string, label: string): Promise<boolean>;
}
