import vscode = require('vscode');
import { l10n } from 'vscode';
import { KeapError } from '../keap/errors';
import { Logger } from '../log';
import { outsideText } from '../outsideText';
import { accountKey } from '../session/accounts';
import { Refresher, RefreshResult } from '../session/refresher';
import { RefreshOutcome, RefreshPause, ResumeAction } from '../session/refreshSchedule';
import { RefreshHealth, RefreshScheduler } from '../session/refreshScheduler';
import { formatDuration, TokenSet } from '../session/tokenSet';
import { Settings, userSettingsFingerprint } from './config';
import { SessionModel } from './sessionModel';
import { when } from './timeText';

export type { RefreshHealth };

/**
 * Keeps one account's session alive in this window: a thin adapter around the core
 * {@link RefreshScheduler}. It turns VS Code events into decisions (the session changed, the window
 * regained focus: re-decide; an `infusionsoft.*` setting changed: resume a paused refresh), real
 * timers into the scheduler's clock, and the scheduler's results into the model, notifications and
 * the health the status bar and tree show.
 */
export class AutoRefresher implements vscode.Disposable {
  private readonly scheduler: RefreshScheduler;
  /** The user's own settings when this window last resumed for them ({@link userSettingsFingerprint}). */
  private userSettings = userSettingsFingerprint();
  private readonly emitter = new vscode.EventEmitter<RefreshHealth>();
  readonly onDidChangeHealth = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  /** The pause this window has told the user about (one notification per pause). */
  private toldPause: RefreshPause | undefined;

  /** @param key the account this refresher keeps alive (src/session/accounts `accountKey`). */
  constructor(
    readonly key: string,
    private readonly model: SessionModel,
    refresher: Refresher,
    settings: Settings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    keapOffsetMs?: () => number | undefined,
  ) {
    this.scheduler = new RefreshScheduler({
      keapOffsetMs,
      refresher,
      tokenSet: () => model.get(key),
      policy: () => settings.refreshPolicy(),
      enabled: () => settings.autoRefresh(),
      clock: { now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: h => clearTimeout(h as NodeJS.Timeout) },
      log,
      label: () => this.label,
      onTokenSet: set => model.set(key, set),
      onHealth: h => this.onHealth(h),
      onFailure: (e, outcome, manual) => void this.tell(e, outcome, manual),
    });
    this.disposables.push(
      // While storage refuses the rotated pair, every view of this window shows (and uses) the one in memory.
      model.overlay(key, stored => refresher.inPlaceOf(stored)),
      model.onDidChangeAccount(e => {
        if (e.key === key) this.scheduler.schedule('session changed');
      }),
      vscode.window.onDidChangeWindowState(s => {
        if (!s.focused) return;
        // The user may have unlocked the keyring meanwhile: kept tokens are stored now, not at the next backoff.
        void this.scheduler.storeKeptNow('window focused');
        this.scheduler.schedule('window focused');
      }),
      model.onDidChangeAccount(e => {
        if (e.key === key) this.watchExpiry();
      }),
      vscode.workspace.onDidChangeConfiguration(e => {
        if (!e.affectsConfiguration('infusionsoft')) return;
        // Only a change of the user's own settings is the user acting; a workspace's settings never resume a pause.
        const fingerprint = userSettingsFingerprint();
        if (fingerprint === this.userSettings) return this.scheduler.schedule('settings changed');
        this.userSettings = fingerprint;
        this.scheduler.resume('settings changed');
      }),
    );
  }

  /** The Keap app name, for messages. */
  private get label(): string {
    return this.model.get(this.key)?.appName ?? this.key;
  }

  get health(): RefreshHealth {
    return this.scheduler.health;
  }

  /** True while a refresh or a write of kept tokens runs (tests wait for it to end). */
  get busy(): boolean {
    return this.scheduler.busy;
  }

  /** Re-decides now; arms one timer for the next decision. */
  schedule(why: string): void {
    this.scheduler.schedule(why);
  }

  /** A SecretStorage call just worked: the keyring may accept the kept tokens now (case K11). */
  storeKeptNow(why: string): Promise<void> {
    return this.scheduler.storeKeptNow(why);
  }

  /** A user action (Set Client Credentials, a settings change) ends a pause. */
  resume(why: string): void {
    this.scheduler.resume(why);
  }

  /** For another extension's getSessions: an automatic refresh, held to the shared schedule (never a user action). */
  refreshIfAdmitted(): Promise<RefreshResult | undefined> {
    return this.scheduler.refreshIfAdmitted();
  }

  /** Infusionsoft: Refresh Token, or a click on the status bar: refreshes now (the user's own request). */
  async refreshNow(): Promise<RefreshResult | undefined> {
    const r = await this.scheduler.refreshNow();
    if (r?.kind === 'superseded') {
      void vscode.window.showWarningMessage(
        l10n.t('Keap app {0}: another window refreshed the token but could not store the new one yet (the keyring refused). Try again in a few minutes; if that window was closed, sign in again.', this.label),
      );
    }
    // Keap refused the refresh token: the refresher marked the stored set; show it before answering.
    if (!r && this.health.kind === 'paused' && this.health.pause.cause === 'dead-refresh-token') await this.model.reload();
    if (r?.kind === 'refreshed' && !r.unsaved) vscode.window.setStatusBarMessage(`$(check) ${l10n.t('Keap app {0}: token refreshed', this.label)}`, 4000);
    return r;
  }

  private onHealth(h: RefreshHealth): void {
    if (h.kind === 'unsaved' && this.lastHealthKind !== 'unsaved') void this.tellUnsaved(h.message);
    if (h.kind === 'ok' && this.lastHealthKind === 'unsaved') vscode.window.setStatusBarMessage(`$(check) ${l10n.t('Keap app {0}: the new tokens are stored', this.label)}`, 6000);
    // A pause the user was told about has ended: say so, so the earlier message no longer stands alone.
    if (h.kind !== 'paused' && this.toldPause && this.lastHealthKind === 'paused') {
      this.toldPause = undefined;
      void vscode.window.showInformationMessage(l10n.t('Keap app {0}: automatic refresh has resumed.', this.label));
    }
    this.lastHealthKind = h.kind;
    this.emitter.fire(h);
    this.watchExpiry();
  }

  private expiryTimer: NodeJS.Timeout | undefined;
  /** The access-token expiry (epoch ms) this window has told the user about (one notification per token). */
  private toldExpiry: number | undefined;

  /**
   * While automatic refresh keeps failing, a timer at the access token's expiry; when it lapses and
   * refresh is still failing, one notification with the action (issue 19.2). Disarmed as soon as
   * refresh is healthy again.
   */
  private watchExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const h = this.health;
    const expiresAt = this.model.get(this.key)?.accessTokenExpiresAt;
    if (h.kind !== 'retrying' || expiresAt === undefined || this.toldExpiry === expiresAt) return;
    const left = expiresAt - this.now();
    if (left > 0) {
      // Bounded: one timer per health change or new token, at most 6 hours out (then decided again).
      this.expiryTimer = setTimeout(() => this.watchExpiry(), Math.min(left + 50, 6 * 3_600_000));
      return;
    }
    this.toldExpiry = expiresAt;
    this.log.warn(`the access token of Keap app ${this.label} expired while automatic refresh keeps failing (${h.message})`);
    const refresh = l10n.t('Refresh Token');
    void vscode.window
      .showWarningMessage(
        l10n.t('Keap app {0}: the access token expired {1} and automatic refresh keeps failing ({2}). The next automatic try is {3}.', this.label, when(expiresAt, this.now()), h.message, when(h.nextAt, this.now())),
        refresh,
      )
      .then(c => {
        if (c === refresh) void vscode.commands.executeCommand('infusionsoft.refreshToken', this.key);
      });
  }

  private lastHealthKind: RefreshHealth['kind'] = 'ok';

  /** Case K11: the new pair is only in memory. Says how to make the keyring work (case V3). */
  private async tellUnsaved(reason: string): Promise<void> {
    // A keyring error already gives the advice (src/vscode/secrets keyringError): say it once.
    if (/password-store/.test(reason)) {
      void vscode.window.showWarningMessage(outsideText(l10n.t('Keap app {0}: the refreshed tokens could not be stored. VS Code keeps using them from memory and stores them as soon as the keyring accepts them. {1}', this.label, reason), 'message', 1000));
      return;
    }
    void vscode.window.showWarningMessage(
      outsideText(
        l10n.t(
          'Keap app {0}: the refreshed tokens could not be stored ({1}). VS Code keeps using them from memory and stores them again shortly. On Linux, install and unlock gnome-keyring (or another Secret Service), or set VS Code\'s "password-store" option.',
          this.label,
          reason,
        ),
        'message',
        1000,
      ),
    );
  }

  /** Turns a failure into words and buttons: every manual failure, and each automatic pause once. */
  private async tell(e: unknown, outcome: RefreshOutcome, manual: boolean): Promise<void> {
    const message = (e as Error)?.message ?? String(e);
    if (outcome.kind === 'retryable') {
      if (!manual) return;
      const h = this.health;
      void vscode.window.showWarningMessage(
        outsideText(
          h.kind === 'retrying'
            ? l10n.t('Keap app {0}: {1} Your tokens are kept; the next automatic refresh is {2}.', this.label, message, when(h.nextAt, this.now()))
            : h.kind === 'ok' && h.lastFailure
              ? h.lastFailure.nextAt === undefined
                ? l10n.t('Keap app {0}: {1} The access token is still valid; nothing changed.', this.label, message)
                : l10n.t('Keap app {0}: {1} The access token is still valid; the next automatic refresh is {2}.', this.label, message, when(h.lastFailure.nextAt, this.now()))
              : l10n.t('Keap app {0}: {1} Your tokens are kept.', this.label, message),
          'message',
          1000,
        ),
      );
      return;
    }
    if (e instanceof KeapError && e.kind === 'dead-refresh-token') {
      // The refresher marked the stored set; every window shows "Sign in again".
      await this.model.reload();
      if (manual) void this.offer(message, 'sign-in');
      return;
    }
    const h = this.health;
    if (!manual && h.kind === 'paused' && this.toldPause === h.pause) return;
    if (h.kind === 'paused') this.toldPause = h.pause;
    this.log.error(`refresh of Keap app ${this.label} failed: ${message}`);
    void this.offer(l10n.t('{0} Automatic refresh is paused until you act.', message), outcome.kind === 'refusal' ? outcome.resume : 'check-settings');
  }

  /** Shows an error with the button that resumes refresh. */
  private async offer(message: string, resume: ResumeAction): Promise<void> {
    const set = this.model.get(this.key);
    const action = resumeCommand(resume, set);
    const picked = await vscode.window.showErrorMessage(outsideText(l10n.t('Keap app {0}: {1}', this.label, message), 'message', 1000), action.title);
    if (picked === action.title) void vscode.commands.executeCommand(action.command, ...(action.arguments ?? []));
  }

  dispose(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.scheduler.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** The command that resumes a paused automatic refresh, as a status-bar or notification action. */
export function resumeCommand(resume: ResumeAction, set: TokenSet | undefined): vscode.Command {
  const args = set ? [{ clientId: set.clientId, appName: set.appName }] : [];
  switch (resume) {
    case 'sign-in':
      return { command: 'infusionsoft.signIn', title: l10n.t('Sign In Again'), arguments: args };
    case 'set-client-credentials':
      return { command: 'infusionsoft.setClientCredentials', title: l10n.t('Set Client Credentials'), arguments: args };
    case 'unlock-keyring':
    case 'check-settings':
      return { command: 'infusionsoft.refreshToken', title: l10n.t('Refresh Token'), arguments: set ? [accountKey(set)] : [] };
  }
}

/** Why automatic refresh is paused and what resumes it, in words, for tooltips. */
export function pauseExplanation(pause: RefreshPause): string {
  switch (pause.resume) {
    case 'sign-in':
      return l10n.t('Automatic refresh is paused: {0} Sign in again to resume.', pause.message);
    case 'set-client-credentials':
      return l10n.t('Automatic refresh is paused: {0} Set the client credentials again to resume.', pause.message);
    case 'unlock-keyring':
      return l10n.t('Automatic refresh is paused: {0} Unlock the system keyring, then run Refresh Token.', pause.message);
    case 'check-settings':
      return l10n.t('Automatic refresh is paused: {0} Check the infusionsoft settings, then run Refresh Token.', pause.message);
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
    /** Keap's clock minus this machine's in use (ms; src/keap/keapClock), undefined when unknown. */
    readonly keapOffsetMs: () => number | undefined = () => undefined,
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
      const auto = new AutoRefresher(key, this.model, this.refresherFor(key), this.settings, this.log, this.now, this.keapOffsetMs);
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

  /** Re-decides every account now (this machine's clock jumped, or Keap's clock was learnt anew). */
  scheduleAll(why: string): void {
    for (const r of this.byKey.values()) r.auto.schedule(why);
  }

  /** For tooltips: by how much this machine's clock differs from Keap's when over 2 minutes (the earlier of the two clocks decides when a refresh is due), or undefined. */
  clockNote(): string | undefined {
    const off = this.keapOffsetMs();
    if (!off) return undefined;
    const by = formatDuration(Math.round(Math.abs(off) / 60_000) * 60_000);
    return off > 0
      ? l10n.t("Your clock is {0} behind Keap's; a refresh goes out when either clock says the token is due.", by)
      : l10n.t("Your clock is {0} ahead of Keap's; a refresh goes out when either clock says the token is due.", by);
  }

  /** A SecretStorage call worked: every account's kept tokens are stored now (case K11; bounded per account by STORE_NUDGE_MIN_MS). */
  storeKeptNow(why: string): void {
    for (const r of this.byKey.values()) void r.auto.storeKeptNow(why);
  }

  /** The user set the client secret of `clientId` again: its accounts' paused refreshes resume. */
  resumeClient(clientId: string, why: string): void {
    for (const [key, r] of this.byKey) if (this.model.get(key)?.clientId === clientId) r.auto.resume(why);
  }

  /** Refreshes one account (default: the active one) now. */
  async refreshNow(key = this.model.activeKey): Promise<RefreshResult | undefined> {
    return this.get(key)?.refreshNow();
  }

  /** See {@link AutoRefresher.refreshIfAdmitted}. */
  async refreshIfAdmitted(key: string): Promise<RefreshResult | undefined> {
    return this.get(key)?.refreshIfAdmitted();
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

/** A sentence on the refresh health for tooltips, or undefined when all is well. */
export function healthExplanation(health: RefreshHealth, now: number = Date.now()): string | undefined {
  switch (health.kind) {
    case 'ok': {
      const f = health.lastFailure;
      if (!f) return undefined;
      return f.nextAt === undefined
        ? l10n.t('Refresh Token failed {0} ({1}); the access token is still valid.', when(f.at, now), f.message)
        : l10n.t('Refresh Token failed {0} ({1}); the access token is still valid; the next automatic refresh is {2}.', when(f.at, now), f.message, when(f.nextAt, now));
    }
    case 'retrying':
      return health.reason === 'budget'
        ? l10n.t('{0} token requests in 24 hours: automatic refresh waits until {1}.', 100, when(health.nextAt, now))
        : l10n.t('Refresh failed ({0}); tokens kept; the next automatic refresh is {1}.', health.message, when(health.nextAt, now));
    case 'paused':
      return pauseExplanation(health.pause);
    case 'unsaved':
      // A keyring error already carries the advice (src/vscode/secrets keyringError): say it once.
      if (/password-store/.test(health.message)) {
        return l10n.t('Keap issued new tokens but they could not be stored. This window uses them from memory and stores them again {0}, or as soon as the keyring accepts them. {1}', when(health.nextAt, now), health.message);
      }
      return l10n.t('Keap issued new tokens but they could not be stored ({0}). This window uses them from memory and stores them again {1}, or as soon as the keyring accepts them. Unlock the system keyring (gnome-keyring), or set VS Code\'s "password-store" option.', health.message, when(health.nextAt, now));
    case 'stale-view':
      return l10n.t('Another window refreshed the token. Reload this window (Developer: Reload Window) to use the new one.');
    case 'superseded':
      return l10n.t('Another window refreshed the token and has not stored the new one yet; this window waits for it.');
  }
}

/** Words for what is wrong with an account's refresh, or undefined when nothing is. */
export function troubleOf(set: TokenSet, health: RefreshHealth, now: number = Date.now()): string | undefined {
  if (set.refreshTokenRejectedAt !== undefined) return l10n.t('sign in again');
  switch (health.kind) {
    case 'paused':
      switch (health.pause.resume) {
        case 'sign-in':
          return l10n.t('sign in again');
        case 'set-client-credentials':
          return l10n.t('refresh paused: client credentials rejected');
        case 'unlock-keyring':
          return l10n.t('refresh paused: keyring unavailable');
        case 'check-settings':
          return l10n.t('refresh paused: Keap refused');
      }
      break;
    case 'retrying':
      return l10n.t('refresh failing, next try {0}', when(health.nextAt, now));
    case 'unsaved':
      return l10n.t('new tokens not stored yet');
    case 'stale-view':
      return l10n.t('reload window');
    case 'superseded':
      return l10n.t('refreshed in another window');
    default:
      return undefined;
  }
}
