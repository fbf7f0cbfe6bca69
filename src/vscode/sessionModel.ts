import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { Logger } from '../log';
import { SessionStore } from '../session/store';
import { ChangeSignal } from '../session/changeSignal';
import { TokenSet } from '../session/tokenSet';
import { SECRET_KEYS, Secrets } from './secrets';

/**
 * This window's view of the stored session. Re-reads SecretStorage when any window changes it
 * (`secrets.onDidChange`) and tells the status bar and tree at once. Also sets the
 * `infusionsoft.signedIn` context key for `when` clauses.
 */
export class SessionModel implements vscode.Disposable {
  private current: TokenSet | undefined;
  private readonly emitter = new vscode.EventEmitter<TokenSet | undefined>();
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  private loaded = false;

  /**
   * @param signal tells other windows after this one changed the store, and tells this one when
   *   they did (SecretStorage's own event does not cross windows everywhere).
   */
  constructor(store: SessionStore, secrets: Secrets, signal: ChangeSignal, private readonly log: Logger) {
    this.store = {
      read: () => store.read(),
      write: async set => {
        const generation = randomBytes(9).toString('base64url');
        await store.write({ ...set, generation });
        await signal.notify(generation);
      },
      clear: async () => {
        await store.clear();
        await signal.notify(randomBytes(9).toString('base64url'));
      },
      isCurrent: async set => {
        const latest = await signal.generation();
        return latest === undefined || set.generation === undefined || latest === set.generation;
      },
    };
    this.disposables.push(
      secrets.onDidChange(e => {
        if (e.key === SECRET_KEYS.session) void this.reload();
      }),
      signal.watch(() => void this.reload()),
      vscode.window.onDidChangeWindowState(w => {
        if (w.focused) void this.reload();
      }),
    );
  }

  /** The store; writes through it reach every window. */
  readonly store: SessionStore;

  get tokenSet(): TokenSet | undefined {
    return this.current;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Reads the store and publishes the result; a keyring failure keeps the last known state. */
  async reload(): Promise<TokenSet | undefined> {
    try {
      this.set(await this.store.read());
    } catch (e) {
      this.log.error(`could not read the stored session: ${(e as Error).message}`);
    }
    return this.current;
  }

  /** Publishes a token set this window has just stored. */
  set(next: TokenSet | undefined): void {
    const changed = !this.loaded || !sameSet(this.current, next);
    this.current = next;
    this.loaded = true;
    void vscode.commands.executeCommand('setContext', 'infusionsoft.signedIn', next !== undefined);
    if (changed) this.emitter.fire(next);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function sameSet(a: TokenSet | undefined, b: TokenSet | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.accessToken === b.accessToken &&
    a.refreshToken === b.refreshToken &&
    a.accessTokenExpiresAt === b.accessTokenExpiresAt &&
    a.user?.name === b.user?.name &&
    a.user?.email === b.user?.email
  );
}
