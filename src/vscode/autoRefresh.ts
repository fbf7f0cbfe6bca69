import * as vscode from 'vscode';
import { KeapError } from '../keap/errors';
import { Logger } from '../log';
import { accountKey } from '../session/accounts';
import { decideRefresh, retryDelayMs } from '../session/policy';
import { Refresher, RefreshResult } from '../session/refresher';
import { TokenSet } from '../session/tokenSet';
import { Settings } from './config';
import { SessionModel } from './sessionModel';

/** What the last refresh attempt left behind, for the status bar and tree. */
export type RefreshHealth =
  | { readonly kind: 'ok' }
  | { readonly kind: 'retrying'; readonly attempt: number; readonly nextAt: number; readonly reason: 'throttled' | 'transient'; readonly message: string }
  | { readonly kind: 'bad-client-credentials'; readonly message: string }
  | { readonly kind: 'failed'; readonly message: string }
  /** Another window refreshed; this window's SecretStorage view has not caught up (seen in code-server). */
  | { readonly kind: 'stale-view'; readonly message: string };

/** Minimum time between two automatic refreshes (ms), so a token set Keap keeps answering without a usable expiry cannot loop. */
const MIN_AUTO_INTERVAL_MS = 5 * 60_000;

/** Longest single timer, so a keep-alive 30 days out is re-decided from the wall clock now and then (ms). */
const MAX_TIMER_MS = 6 * 3_600_000;

/**
 * Keeps the session alive: decides from the wall clock whenever its timer fires, the session
 * changes, or the window regains focus (laptops sleep, case V4), and refreshes through the
 * user-wide lock. Throttled and transient failures keep the tokens and retry with exponential
 * backoff honouring Retry-After; a dead refresh token is left to the status bar ("Sign in again").
 */
export class AutoRefresher implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private retryAt: number | undefined;
  private healthValue: RefreshHealth = { kind: 'ok' };
  private readonly emitter = new vscode.EventEmitter<RefreshHealth>();
  readonly onDidChangeHealth = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  private credentialsPromptShown = false;
  private lastRefreshAt = -Infinity;
  /** The expiry Keap's last answer to this window gave; a set still carrying it that asks for a refresh again is Keap's doing, not ours to loop on. */
  private lastRefreshedExpiry: number | undefined | null = null;

  /** @param key the account this refresher keeps alive (src/session/accounts `accountKey`). */
  constructor(
    readonly key: string,
    private readonly model: SessionModel,
    private readonly refresher: Refresher,
    private readonly settings: Settings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.disposables.push(
      model.onDidChangeAccount(e => {
        if (e.key === key) this.schedule('session changed');
      }),
      vscode.window.onDidChangeWindowState(s => {
        if (s.focused) this.schedule('window focused');
      }),
      vscode.workspace.onDidChangeConfiguration(e => {
        if (e.affectsConfiguration('infusionsoft')) this.schedule('settings changed');
      }),
    );
  }

  /** The Keap app name, for messages. */
  private get label(): string {
    return this.model.get(this.key)?.appName ?? this.key;
  }

  get health(): RefreshHealth {
    return this.healthValue;
  }

  /** Re-decides now; arms one timer for the next decision. */
  schedule(why: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const set = this.model.get(this.key);
    if (!set || !this.settings.autoRefresh()) return;
    const now = this.now();
    if (this.retryAt !== undefined && now < this.retryAt) {
      this.arm(this.retryAt - now);
      return;
    }
    const d = decideRefresh(set, now, this.settings.refreshPolicy());
    if (d.action === 'wait') {
      this.arm(d.untilMs - now);
      return;
    }
    if (d.action === 'none') return;
    if (now - this.lastRefreshAt < MIN_AUTO_INTERVAL_MS && set.accessTokenExpiresAt === this.lastRefreshedExpiry) {
      this.arm(this.lastRefreshAt + MIN_AUTO_INTERVAL_MS - now);
      return;
    }
    this.log.info(`automatic refresh of Keap app ${this.label} (${d.reason}; ${why})`);
    void this.run(false);
  }

  /** Infusionsoft: Refresh Token, or a click on the status bar: refreshes now. */
  refreshNow(): Promise<RefreshResult | undefined> {
    return this.run(true);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.schedule('timer'), Math.max(1000, Math.min(ms, MAX_TIMER_MS)));
  }

  private setHealth(h: RefreshHealth): void {
    this.healthValue = h;
    this.emitter.fire(h);
  }

  private async run(manual: boolean): Promise<RefreshResult | undefined> {
    const seen = this.model.get(this.key);
    const policy = this.settings.refreshPolicy();
    try {
      const r = await this.refresher.refresh(seen, manual ? undefined : current => decideRefresh(current, this.now(), policy).action === 'refresh');
      this.attempt = 0;
      this.retryAt = undefined;
      if (r.kind === 'stale-view') {
        this.attempt++;
        this.retryAt = this.now() + retryDelayMs(this.attempt);
        this.setHealth({ kind: 'stale-view', message: vscode.l10n.t('Another window refreshed the token. Reload this window (Developer: Reload Window) to use the new one.') });
        return r;
      }
      if (r.kind === 'refreshed') {
        this.lastRefreshAt = this.now();
        this.lastRefreshedExpiry = r.tokenSet.accessTokenExpiresAt;
        if (manual) vscode.window.setStatusBarMessage(`$(check) ${vscode.l10n.t('Keap app {0}: token refreshed', this.label)}`, 4000);
      }
      this.setHealth({ kind: 'ok' });
      if (r.kind === 'signed-out') this.model.set(this.key, undefined);
      else this.model.set(this.key, r.tokenSet);
      return r;
    } catch (e) {
      await this.onFailure(e, manual);
      return undefined;
    } finally {
      if (!this.timer) this.schedule('after refresh');
    }
  }

  private async onFailure(e: unknown, manual: boolean): Promise<void> {
    const err = e instanceof KeapError ? e : undefined;
    const message = (e as Error)?.message ?? String(e);
    if (err?.isRetryable) {
      this.attempt++;
      const delay = retryDelayMs(this.attempt, err.details.retryAfterMs);
      this.retryAt = this.now() + delay;
      this.log.warn(`refresh of Keap app ${this.label} failed (${err.kind}); tokens kept; retry ${this.attempt} in ${Math.round(delay / 1000)} s`);
      this.setHealth({ kind: 'retrying', attempt: this.attempt, nextAt: this.retryAt, reason: err.kind as 'throttled' | 'transient', message });
      if (manual) void vscode.window.showWarningMessage(vscode.l10n.t('Keap app {0}: {1} Your tokens are kept; VS Code retries in {2} seconds.', this.label, message, Math.round(delay / 1000)));
      return;
    }
    this.retryAt = undefined;
    this.attempt = 0;
    if (err?.kind === 'dead-refresh-token') {
      // The refresher marked the stored set; every window shows "Sign in again".
      await this.model.reload();
      this.setHealth({ kind: 'ok' });
      if (manual) void this.offerSignIn(message);
      return;
    }
    if (err?.kind === 'bad-client-credentials') {
      this.setHealth({ kind: 'bad-client-credentials', message });
      if (manual || !this.credentialsPromptShown) {
        this.credentialsPromptShown = true;
        const reenter = vscode.l10n.t('Re-enter Credentials');
        void vscode.window.showErrorMessage(vscode.l10n.t('Keap app {0}: Keap rejected the client ID or client secret while refreshing. {1}', this.label, message), reenter).then(c => {
          if (c === reenter) void vscode.commands.executeCommand('infusionsoft.setClientCredentials', { clientId: this.model.get(this.key)?.clientId });
        });
      }
      return;
    }
    this.setHealth({ kind: 'failed', message });
    this.log.error(`refresh of Keap app ${this.label} failed: ${message}`);
    if (manual) void vscode.window.showErrorMessage(vscode.l10n.t('Keap app {0}: {1}', this.label, message));
  }

  private async offerSignIn(message: string): Promise<void> {
    const signIn = vscode.l10n.t('Sign In Again');
    if ((await vscode.window.showErrorMessage(vscode.l10n.t('Keap app {0}: {1}', this.label, message), signIn)) === signIn) {
      void vscode.commands.executeCommand('infusionsoft.signIn', { clientId: this.model.get(this.key)?.clientId, appName: this.model.get(this.key)?.appName });
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * One {@link AutoRefresher} per signed-in account, created and disposed as accounts come and go,
 * each with its own {@link Refresher} (single flight per account) and its own lock file.
 */
export class AutoRefreshers implements vscode.Disposable {
  private readonly byKey = new Map<string, { auto: AutoRefresher; sub: vscode.Disposable }>();
  private readonly emitter = new vscode.EventEmitter<string>();
  /** Fires with the account key whose health changed. */
  readonly onDidChangeHealth = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];

  constructor(
    private readonly model: SessionModel,
    private readonly refresherFor: (key: string) => Refresher,
    private readonly settings: Settings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.disposables.push(model.onDidChange(() => this.sync()));
    this.sync();
  }

  private sync(): void {
    const keys = new Set(this.model.accounts.map(accountKey));
    for (const [key, r] of this.byKey) {
      if (!keys.has(key)) {
        r.sub.dispose();
        r.auto.dispose();
        this.byKey.delete(key);
      }
    }
    for (const key of keys) {
      if (this.byKey.has(key)) continue;
      const auto = new AutoRefresher(key, this.model, this.refresherFor(key), this.settings, this.log, this.now);
      this.byKey.set(key, { auto, sub: auto.onDidChangeHealth(() => this.emitter.fire(key)) });
      auto.schedule('account added');
    }
  }

  /** The refresher of one account (default: the active one), or undefined when it is not signed in. */
  get(key = this.model.activeKey): AutoRefresher | undefined {
    if (key === undefined) return undefined;
    if (!this.byKey.has(key)) this.sync();
    return this.byKey.get(key)?.auto;
  }

  /** One account's refresh health ('ok' for an account without a refresher). */
  healthOf(key: string): RefreshHealth {
    return this.get(key)?.health ?? { kind: 'ok' };
  }

  /** The active account's refresh health. */
  get health(): RefreshHealth {
    return this.get()?.health ?? { kind: 'ok' };
  }

  /** Refreshes one account (default: the active one) now. */
  async refreshNow(key = this.model.activeKey): Promise<RefreshResult | undefined> {
    return this.get(key)?.refreshNow();
  }

  dispose(): void {
    for (const r of this.byKey.values()) {
      r.sub.dispose();
      r.auto.dispose();
    }
    this.byKey.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/** Words for what is wrong with an account's refresh, or undefined when nothing is. */
export function troubleOf(set: TokenSet, health: RefreshHealth): string | undefined {
  if (set.refreshTokenRejectedAt !== undefined) return vscode.l10n.t('sign in again');
  switch (health.kind) {
    case 'bad-client-credentials':
      return vscode.l10n.t('client credentials rejected');
    case 'retrying':
    case 'failed':
      return vscode.l10n.t('refresh failing');
    case 'stale-view':
      return vscode.l10n.t('reload window');
    default:
      return undefined;
  }
}
