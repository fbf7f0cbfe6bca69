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
}
