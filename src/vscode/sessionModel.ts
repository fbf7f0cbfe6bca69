import { randomBytes } from 'crypto';
import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import { Logger } from '../log';
import { accountFileId, accountKey, AccountStore, ACCOUNT_SECRET_KEYS } from '../session/accounts';
import { ChangeSignal } from '../session/changeSignal';
import { SessionStore } from '../session/store';
import { TokenSet } from '../session/tokenSet';
import { Secrets } from './secrets';

const ACTIVE_KEY = 'infusionsoft.activeAccount';

/** How long a window waits before it believes its view is behind (milliseconds): a writer signals right after it writes. */
const STALE_RECHECK_MS = 400;

/** The signal carrying the generation id of the latest account list; the AccountStore's `onIndexChanged` writes it. */
export function accountListSignal(dir: string): ChangeSignal {
  return new ChangeSignal(dir, 'accounts');
}

/** One account changed: its new token set, or undefined when it was signed out. */
export interface AccountChange {
  readonly key: string;
  readonly set: TokenSet | undefined;
}

/**
 * This window's view of every signed-in Keap account (see src/session/accounts) and which one is
 * active here. Re-reads SecretStorage when any window changes it and tells the status bar, tree,
 * refreshers and auth provider at once. The active account is remembered per workspace (a project
 * usually talks to one Keap app), falling back to the one last chosen anywhere. Sets the context
 * keys `infusionsoft.signedIn` and `infusionsoft.multipleAccounts` for `when` clauses.
 */
export class SessionModel implements vscode.Disposable {
  private sets: TokenSet[] = [];
  private activeKeyValue: string | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly accountChanged = new vscode.EventEmitter<AccountChange>();
  /** Fires after any change: an account added, removed or refreshed, or another account made active. */
  readonly onDidChange = this.changed.event;
  /** Fires once per account whose token set changed (or that was signed out). */
  readonly onDidChangeAccount = this.accountChanged.event;
  private readonly disposables: vscode.Disposable[] = [this.changed, this.accountChanged];
  private loaded = false;
  /** Tells every window that some account changed (SecretStorage's own event does not cross windows everywhere). */
  private readonly signal: ChangeSignal;
  /** Carries the generation id of the latest account list (written by the AccountStore's `onIndexChanged`). */
  private readonly listSignal: ChangeSignal;
  private stale = false;

  /**
   * @param signalDir the folder every window of the user shares (globalStorageUri), for change signals.
   * @param state workspace and global Mementos, for the active account (a key, never a token).
   */
  constructor(
    private readonly accountStore: AccountStore,
    secrets: Secrets,
    private readonly signalDir: string,
    private readonly state: { workspace: vscode.Memento; global: vscode.Memento },
    private readonly log: Logger,
  ) {
    this.signal = new ChangeSignal(signalDir, 'session');
    this.listSignal = accountListSignal(signalDir);
    this.disposables.push(
      secrets.onDidChange(e => {
        if (e.key === ACCOUNT_SECRET_KEYS.index || e.key.startsWith(ACCOUNT_SECRET_KEYS.sessionPrefix)) void this.reload();
      }),
      vscode.window.onDidChangeWindowState(w => {
        if (w.focused) void this.reload();
      }),
    );
  }

  private watching = false;

  /**
   * Starts watching the signal every window writes after a change (src/session/changeSignal) and
   * reads the store: what the window does once activated. Later calls only read again. Resolves
   * as {@link reload}.
   */
  start(): Promise<TokenSet | undefined> {
    // Disposed first (a window closed within its first tick): nothing left to watch with.
    if (!this.watching && !this.disposed) {
      this.watching = true;
      this.disposables.push(this.signal.watch(() => void this.reload()));
    }
    return this.reload();
  }

  /** The per-account signal carrying the generation id of the latest stored version. */
  private generationSignal(key: string): ChangeSignal {
    return new ChangeSignal(this.signalDir, `session-${accountFileId(key)}`);
  }

  /**
   * One account's store; writes through it reach every window, and `isCurrent` tells whether this
   * window's SecretStorage view of that account is the latest (code-server's views lag).
   */
  storeFor(key: string): SessionStore {
    const inner = this.accountStore.forAccount(key);
    const generations = this.generationSignal(key);
    return {
      read: () => inner.read(),
      // A write and its announcement go together, one at a time per account in this window, so the
      // announced generation is always the one stored last.
      write: set =>
        this.serially(key, async () => {
          const generation = randomBytes(9).toString('base64url');
          this.writing.set(key, generation);
          try {
            await inner.write({ ...set, generation });
            await generations.notify(generation);
            await this.signal.notify();
          } finally {
            if (this.writing.get(key) === generation) this.writing.delete(key);
          }
        }),
      clear: () =>
        this.serially(key, async () => {
          await inner.clear();
          await generations.notify(randomBytes(9).toString('base64url'));
          await this.signal.notify();
        }),
      isCurrent: async set => {
        // The set this window is writing (stored, its announcement not yet written) is the newest: no other window is ahead of it.
        if (set.generation !== undefined && set.generation === this.writing.get(key)) return true;
        const latest = await generations.generation();
        return latest === undefined || set.generation === undefined || latest === set.generation;
      },
    };
  }

  /**
   * The store of the active account: `read` reads it, `write` stores a set under the set's own
   * account (and reaches every window), `clear` signs the active account out.
   */
  readonly store: SessionStore = {
    read: async () => {
      const key = this.activeKeyValue ?? (await this.accountStore.keys())[0];
      return key === undefined ? undefined : this.accountStore.read(key);
    },
    write: set => this.storeFor(accountKey(set)).write(set),
    clear: async () => {
      if (this.activeKeyValue !== undefined) await this.remove(this.activeKeyValue);
    },
  };

  /** Every signed-in account, in sign-in order. */
  get accounts(): readonly TokenSet[] {
    return this.sets;
  }

  /** The active account's key, undefined when signed out. */
  get activeKey(): string | undefined {
    return this.activeKeyValue;
  }

  /** The active account's token set (the one the status bar shows), undefined when signed out. */
  get tokenSet(): TokenSet | undefined {
    return this.activeKeyValue === undefined ? undefined : this.get(this.activeKeyValue);
  }

  get(key: string): TokenSet | undefined {
    return this.sets.find(s => accountKey(s) === key);
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  private loadErrorValue: string | undefined;

  /** Why the first read of SecretStorage failed, while no read has worked yet (then the views cannot say "signed out"). */
  get loadError(): string | undefined {
    return this.loaded ? undefined : this.loadErrorValue;
  }

  /**
   * True when another window has changed the sign-ins and this window's SecretStorage view has not
   * caught up (code-server keeps SecretStorage per browser tab, so only a reload brings it up to date).
   */
  private reloads = 0;

  get staleView(): boolean {
    return this.stale;
  }

  /** Reads every account and publishes what changed; a keyring failure keeps the last known state. Resolves to the active set. */
  reload(): Promise<TokenSet | undefined> {
    const seq = ++this.reloads;
    this.latestReload = this.load(seq);
    return this.latestReload;
  }

  private latestReload: Promise<TokenSet | undefined> | undefined;

  private async load(seq: number): Promise<TokenSet | undefined> {
    try {
      let sets = await this.accountStore.list();
      let stale = await this.isStale(sets);
      if (stale && !this.stale) {
        // Another window may be between its write and its signal: look again before saying so.
        await new Promise(r => setTimeout(r, STALE_RECHECK_MS));
        sets = await this.accountStore.list();
        stale = await this.isStale(sets);
        if (stale && !this.loaded) {
          await this.repairAnnouncements(sets);
          stale = await this.isStale(sets);
        }
      }
      // A reload that started later has read the store after this one: its result wins.
      if (seq !== this.reloads) return this.latestReload ?? this.tokenSet;
      if (stale !== this.stale) this.log.warn(stale ? 'another window changed the Keap sign-ins; this window\'s SecretStorage view is behind' : 'this window\'s view of the Keap sign-ins is current again');
      const staleChanged = stale !== this.stale;
      this.stale = stale;
      this.publish(this.withOverlays(sets), staleChanged);
    } catch (e) {
      this.log.error(`could not read the stored sessions: ${(e as Error).message}`);
      if (!this.loaded && seq === this.reloads) {
        this.loadErrorValue = (e as Error)?.message ?? String(e);
        this.changed.fire();
      }
    }
    return this.tokenSet;
  }

  private readonly overlays = new Map<string, (stored: TokenSet) => TokenSet | undefined>();

  /**
   * Lets this window show and use a token set in place of the stored one of an account: the
   * rotated pair storage refused (case K11), which `inPlaceOf` returns while the stored set is the
   * one it replaced. Applied on every reload until disposed.
   */
  overlay(key: string, inPlaceOf: (stored: TokenSet) => TokenSet | undefined): vscode.Disposable {
    this.overlays.set(key, inPlaceOf);
    return new vscode.Disposable(() => {
      if (this.overlays.get(key) === inPlaceOf) this.overlays.delete(key);
    });
  }

  private withOverlays(sets: TokenSet[]): TokenSet[] {
    return sets.map(s => this.overlays.get(accountKey(s))?.(s) ?? s);
  }

  /** Publishes one account's token set this window has just stored (undefined: signed out). */
  set(key: string, next: TokenSet | undefined): void {
    const rest = this.sets.filter(s => accountKey(s) !== key);
    if (next === undefined) this.publish(rest);
    else {
      const i = this.sets.findIndex(s => accountKey(s) === key);
      this.publish(i < 0 ? [...rest, next] : this.sets.map((s, j) => (j === i ? next : s)));
    }
  }

  /** Makes an account the active one in this window (and the default for windows that have none). */
  async setActive(key: string): Promise<void> {
    if (!this.get(key)) return;
    await this.state.workspace.update(ACTIVE_KEY, key);
    await this.state.global.update(ACTIVE_KEY, key);
    if (this.activeKeyValue !== key) {
      this.activeKeyValue = key;
      this.log.info(`active Keap app: ${this.get(key)?.appName ?? key}`);
      this.publishContext();
      this.changed.fire();
    }
  }

  /** Signs one account out in every window; the other accounts stay. Throws KeyringError. */
  async remove(key: string): Promise<void> {
    await this.storeFor(key).clear();
    this.set(key, undefined);
  }

  private pickActive(sets: TokenSet[]): string | undefined {
    const keys = sets.map(accountKey);
    for (const k of [this.activeKeyValue, this.state.workspace.get<string>(ACTIVE_KEY), this.state.global.get<string>(ACTIVE_KEY)]) {
      if (k !== undefined && keys.includes(k)) return k;
    }
    return keys[0];
  }

  private readonly chains = new Map<string, Promise<unknown>>();
  /** Per account, the generation this window is writing now (src/session/store isCurrent). */
  private readonly writing = new Map<string, string>();

  /** Runs `fn` after every earlier call for the same account in this window has finished. */
  private serially<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.chains.get(key) ?? Promise.resolve()).then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(key, settled);
    void settled.then(() => {
      if (this.chains.get(key) === settled) this.chains.delete(key);
    });
    return run;
  }

  /** Compares what this window reads with the generation ids the last writers announced; true when it has fallen behind. */
  private async isStale(sets: readonly TokenSet[]): Promise<boolean> {
    return (await this.disagreements(sets)).length > 0;
  }

  /** What disagrees with the announcements: 'list' for the account list, else the account's token set. */
  private async disagreements(sets: readonly TokenSet[]): Promise<Array<'list' | TokenSet>> {
    const out: Array<'list' | TokenSet> = [];
    const [announced, seen] = [await this.listSignal.generation(), await this.accountStore.indexGeneration()];
    if (announced !== undefined && seen !== undefined && announced !== seen) out.push('list');
    for (const set of sets) {
      const latest = await this.generationSignal(accountKey(set)).generation();
      if (latest !== undefined && set.generation !== undefined && latest !== set.generation) out.push(set);
    }
    return out;
  }

  /**
   * A window that has just started reads SecretStorage as it is, so a disagreement it still sees
   * after the recheck is an announcement lost (a window closed or crashed between a write and its
   * announcement): it announces what is stored, which ends the "reload window" state everywhere.
   */
  private async repairAnnouncements(sets: readonly TokenSet[]): Promise<void> {
    for (const d of await this.disagreements(sets)) {
      if (d === 'list') await this.accountStore.reannounceIndex();
      else if (d.generation !== undefined) await this.generationSignal(accountKey(d)).notify(d.generation);
    }
    this.log.warn('repaired a change announcement another window did not finish');
    await this.signal.notify();
  }

  private publish(next: TokenSet[], force = false): void {
    const before = new Map(this.sets.map(s => [accountKey(s), s]));
    const after = new Map(next.map(s => [accountKey(s), s]));
    const changes: AccountChange[] = [];
    for (const [key, set] of after) if (!sameSet(before.get(key), set)) changes.push({ key, set });
    for (const key of before.keys()) if (!after.has(key)) changes.push({ key, set: undefined });
    const orderChanged = next.length !== this.sets.length || next.some((s, i) => accountKey(s) !== accountKey(this.sets[i]));
    const active = this.pickActive(next);
    const activeChanged = active !== this.activeKeyValue;
    const first = !this.loaded;
    this.sets = next;
    this.activeKeyValue = active;
    this.loaded = true;
    this.publishContext();
    for (const c of changes) this.accountChanged.fire(c);
    if (first || force || changes.length > 0 || orderChanged || activeChanged) this.changed.fire();
  }

  private publishContext(): void {
    // Before the first read the view's "Sign in" welcome stays hidden (it would say signed out while a session is stored).
    void vscode.commands.executeCommand('setContext', 'infusionsoft.loaded', true);
    void vscode.commands.executeCommand('setContext', 'infusionsoft.signedIn', this.sets.length > 0);
    void vscode.commands.executeCommand('setContext', 'infusionsoft.multipleAccounts', this.sets.length > 1);
  }

  private disposed = false;

  dispose(): void {
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
  }
}

function sameSet(a: TokenSet | undefined, b: TokenSet | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.accessToken === b.accessToken &&
    a.refreshToken === b.refreshToken &&
    a.accessTokenExpiresAt === b.accessTokenExpiresAt &&
    a.refreshTokenRejectedAt === b.refreshTokenRejectedAt &&
    a.user?.name === b.user?.name &&
    a.user?.email === b.user?.email
  );
}

/** A warning with a Reload Window button, for actions refused because this window's view is behind. */
export function offerReload(message: string): void {
  const reload = l10n.t('Reload Window');
  void vscode.window.showWarningMessage(outsideText(message, 'message', 1000), reload).then(c => {
    if (c === reload) void vscode.commands.executeCommand('workbench.action.reloadWindow');
  });
}
