import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import { accountKey } from '../session/accounts';
import { accessTokenCountdown } from '../session/countdown';
import { tokenState } from '../session/stateWords';
import { refreshTokenDaysLeft, TokenSet } from '../session/tokenSet';
import { healthExplanation, pauseExplanation, RefreshHealth, resumeCommand, troubleOf } from './autoRefresh';
import { SessionModel } from './sessionModel';
import { when } from './timeText';

/** Refresh-token days left below which the item warns (issue: "warning colour under 7 days"). */
const WARN_REFRESH_DAYS = 7;

/** What the status bar needs besides the session. */
export interface StatusBarSources {
  /** The refresh health of an account (by key). */
  health(key: string): RefreshHealth;
  onDidChangeHealth: vscode.Event<unknown>;
  refreshTokenLifetimeMs(): number;
  /** "custom Keap endpoint: <host>" for an account whose endpoints are not Keap's own, else undefined. */
  customEndpoint(set: TokenSet): string | undefined;
  /** A sentence when refreshes are timed by Keap's clock, else undefined. */
  clockNote?(): string | undefined;
  /** Production or sandbox, as the user marked an app (by account key; src/vscode/environments). */
  environment?(key: string): 'production' | 'sandbox' | undefined;
}

/** Access-token time left below which the item turns to the warning colour (milliseconds). */
const WARN_BELOW_MS = 60 * 60_000;

/**
 * The status-bar item: "Keap: Sign in" when signed out; the active Keap app and its access token's
 * time left when signed in ("Keap ab123 · 23h 59m"), exact times, the other signed-in apps and
 * links to switch or add one in the tooltip; a warning mark when another app needs attention, and
 * "reload window" when another window changed the sign-ins and this one has not caught up. It re-renders when the
 * session changes and otherwise only when the shown minute changes (at most once a minute), from
 * the wall clock, so a laptop waking from sleep shows the truth at once (case V4).
 */
export class TokenStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private signingIn = false;

  constructor(private readonly model: SessionModel, private readonly sources: StatusBarSources, private readonly now: () => number = Date.now) {
    this.item = vscode.window.createStatusBarItem('infusionsoft.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = l10n.t('Keap access token');
    this.disposables.push(
      this.item,
      model.onDidChange(() => this.render()),
      sources.onDidChangeHealth(() => this.render()),
      vscode.window.onDidChangeWindowState(s => {
        if (s.focused) this.render();
      }),
    );
    this.render();
    this.item.show();
  }

  /** The text shown, for tests and the benchmark. */
  get text(): string {
    return this.item.text;
  }

  /** The background ThemeColor's id, for tests (undefined: no colour). */
  get background(): string | undefined {
    // ThemeColor keeps its id at runtime; the typings do not declare it.
    return (this.item.backgroundColor as unknown as { id?: string } | undefined)?.id;
  }

  /** The tooltip's text as the user reads it (markdown escapes undone), for tests. */
  get tooltip(): string {
    const t = this.item.tooltip;
    return typeof t === 'string' ? t : (t?.value ?? '').replace(/\\([\\`*_{}[\]()<>#+\-.!|~&"':=$])/g, '$1');
  }

  /** The tooltip as VS Code gets it (markdown source, and whether it is trusted), for tests. */
  get tooltipMarkdown(): { value: string; isTrusted: boolean; supportHtml: boolean } | undefined {
    const t = this.item.tooltip;
    return t && typeof t !== 'string' ? { value: t.value, isTrusted: !!t.isTrusted, supportHtml: !!t.supportHtml } : undefined;
  }

  /** Shows that a sign-in waits for the browser; a click pastes the URL instead. */
  setSigningIn(on: boolean): void {
    this.signingIn = on;
    this.render();
  }

  render(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const set = this.model.tokenSet;
    this.item.backgroundColor = undefined;
    this.item.color = undefined;
    if (this.signingIn) {
      this.item.text = `$(sync~spin) ${l10n.t('Keap: waiting for sign-in…')}`;
      this.item.tooltip = l10n.t('Approve access in the browser. Click to paste the URL the browser landed on.');
      this.item.command = 'infusionsoft.pasteCallbackUrl';
      this.item.accessibilityInformation = { label: l10n.t('Keap sign-in in progress') };
      return;
    }
    if (this.model.staleView) {
      const reload = l10n.t('reload window');
      this.item.text = `$(warning) ${set ? l10n.t('Keap {0} · {1}', set.appName ?? l10n.t('app'), reload) : l10n.t('Keap: {0}', reload)}`;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      this.item.tooltip = l10n.t('Another window changed the Keap sign-ins and this window has not caught up (code-server keeps SecretStorage per browser tab). Click to reload this window.');
      this.item.command = 'workbench.action.reloadWindow';
      this.item.accessibilityInformation = { label: l10n.t('Keap sign-ins changed in another window; reload this window') };
      return;
    }
    if (!set && !this.model.isLoaded) {
      // Before the first read of SecretStorage: neutral, never "Sign in" (a restart with a stored session showed it for 1.5 s).
      const failed = this.model.loadError;
      this.item.text = failed ? `$(warning) ${l10n.t('Keap: sign-ins not read')}` : `$(loading~spin) ${l10n.t('Keap')}`;
      this.item.tooltip = failed
        ? l10n.t('The Keap sign-ins could not be read from SecretStorage ({0}). They are read again when this window regains focus. Click to show the log.', failed)
        : l10n.t('Reading the Keap sign-ins…');
      this.item.command = failed ? 'infusionsoft.showLog' : undefined;
      this.item.accessibilityInformation = { label: failed ? l10n.t('Keap sign-ins could not be read') : l10n.t('Reading the Keap sign-ins') };
      return;
    }
    if (!set) {
      this.item.text = `$(account) ${l10n.t('Keap: Sign in')}`;
      this.item.tooltip = l10n.t('Sign in to the Keap API');
      this.item.command = 'infusionsoft.signIn';
      this.item.accessibilityInformation = { label: l10n.t('Sign in to Keap') };
      return;
    }
    this.renderSignedIn(set, this.model.activeKey ?? accountKey(set));
  }

  private renderSignedIn(set: TokenSet, key: string): void {
    const now = this.now();
    const app = set.appName ?? l10n.t('app');
    const health = this.sources.health(key);
    const daysLeft = refreshTokenDaysLeft(set, now, this.sources.refreshTokenLifetimeMs());
    const warning = new vscode.ThemeColor('statusBarItem.warningBackground');
    const error = new vscode.ThemeColor('statusBarItem.errorBackground');
    // Colours only when the user must act or a token is about to lapse (src/session/stateWords).
    const state = tokenState(set, health, now, { warnBelowMs: WARN_BELOW_MS, warnRefreshDays: WARN_REFRESH_DAYS, refreshDaysLeft: daysLeft });
    const colour = state.attention === 'error' ? error : state.attention === 'warning' ? warning : undefined;
    let icon = '$(key)';
    // The same countdown as the tree's (src/session/countdown), so both agree to the minute.
    const countdown = accessTokenCountdown(set, now);
    let shown = countdown.kind === 'left' ? countdown.text : countdown.kind === 'expired' ? l10n.t('expired') : l10n.t('expiry unknown');
    this.item.command = { command: 'infusionsoft.refreshToken', title: l10n.t('Refresh Token') };

    // Holds Keap's words (the app name, the user's name, an error's description): never trusted, no
    // HTML, and every piece of outside text escaped by src/outsideText (case S8). Our own icons only.
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = false;
    md.supportHtml = false;
    const said = (text: string | undefined) => outsideText(text, 'markdown', 1000);
    md.appendMarkdown(`**${said(l10n.t('Keap app {0}', app))}**\n\n`);
    if (set.user?.name || set.user?.email) md.appendMarkdown(`${said([set.user.name, set.user.email].filter(Boolean).join(' · '))}\n\n`);
    const custom = this.sources.customEndpoint(set);
    if (custom) md.appendMarkdown(`$(globe) ${said(custom)}\n\n`);

    this.item.backgroundColor = colour;
    if (state.state === 'sign-in-again') {
      icon = '$(error)';
      shown = l10n.t('Sign in again');
      this.item.command = { command: 'infusionsoft.signIn', title: l10n.t('Sign In Again'), arguments: [{ clientId: set.clientId, appName: set.appName }] };
      md.appendMarkdown(l10n.t('Keap no longer accepts the refresh token (used elsewhere, revoked or expired). Click to sign in again.') + '\n\n');
    } else if (health.kind === 'paused') {
      // Paused until the user acts: say why, and make the click the action that resumes it.
      icon = '$(debug-pause)';
      shown = l10n.t('refresh paused');
      this.item.command = resumeCommand(health.pause.resume, set);
      md.appendMarkdown(said(pauseExplanation(health.pause)) + '\n\n');
    } else if (health.kind === 'stale-view') {
      icon = '$(warning)';
      this.item.command = 'workbench.action.reloadWindow';
      md.appendMarkdown(said(healthExplanation(health, now)) + '\n\n');
    } else if (health.kind !== 'ok') {
      icon = state.attention === 'none' ? '$(sync)' : '$(warning)';
      md.appendMarkdown(said(healthExplanation(health, now)) + '\n\n');
    } else if (health.lastFailure) {
      md.appendMarkdown(said(healthExplanation(health, now)) + '\n\n');
    }
    // Another signed-in app in trouble: say so here too, since its own status is only in the tree.
    const troubled = this.model.accounts
      .filter(a => accountKey(a) !== key)
      .map(a => ({ a, why: troubleOf(a, this.sources.health(accountKey(a)), now) }))
      .filter((t): t is { a: TokenSet; why: string } => t.why !== undefined);
    if (troubled.length > 0) {
      const needsUser = troubled.some(t => tokenState(t.a, this.sources.health(accountKey(t.a)), now, { warnBelowMs: WARN_BELOW_MS, warnRefreshDays: WARN_REFRESH_DAYS, refreshDaysLeft: refreshTokenDaysLeft(t.a, now, this.sources.refreshTokenLifetimeMs()) }).attention !== 'none');
      if (needsUser) this.item.backgroundColor ??= warning;
      md.appendMarkdown(said(l10n.t('Needs attention: {0}', troubled.map(t => `${t.a.appName ?? t.a.clientId} (${t.why})`).join(', '))) + '\n\n');
    }
    this.item.text = `${icon} ${l10n.t('Keap {0} · {1}', app, shown)}${troubled.length > 0 ? ' $(warning)' : ''}`;
    // The user's production mark: its own icon and colour, so a production token is never mistaken for a sandbox one.
    const env = this.sources.environment?.(key);
    if (env) {
      this.item.text += env === 'production' ? ` $(flame) ${l10n.t('production')}` : ` $(beaker) ${l10n.t('sandbox')}`;
      if (env === 'production' && !this.item.backgroundColor) this.item.color = new vscode.ThemeColor('charts.red');
      md.appendMarkdown((env === 'production' ? l10n.t('Marked production: VS Code asks before writing its token into a folder bound to something else.') : l10n.t('Marked sandbox.')) + '\n\n');
    }
    if (set.accessTokenExpiresAt !== undefined) {
      const at = when(set.accessTokenExpiresAt, now);
      md.appendMarkdown((set.accessTokenExpiresAt > now ? l10n.t('Access token expires {0}', at) : l10n.t('Access token expired {0}', at)) + '\n\n');
    } else {
      md.appendMarkdown(l10n.t('Access token expiry unknown; it will be refreshed.') + '\n\n');
    }
    const clock = this.sources.clockNote?.();
    if (clock) md.appendMarkdown(`$(watch) ${said(clock)}\n\n`);
    md.appendMarkdown(l10n.t('Refresh token issued {0}: about {1} days left', when(set.refreshTokenIssuedAt, now), daysLeft) + '\n\n');
    if (this.item.command && typeof this.item.command !== 'string' && this.item.command.command === 'infusionsoft.refreshToken') md.appendMarkdown(l10n.t('Click to refresh now.') + '\n\n');
    const others = this.model.accounts.filter(a => accountKey(a) !== key);
    if (others.length > 0) {
      md.appendMarkdown('---\n\n' + said(l10n.t('Also signed in: {0}', others.map(a => a.appName ?? a.clientId).join(', '))) + '\n\n');
    }
    // No command links: a tooltip that holds outside text is never trusted (issue 17.2). The commands are named instead.
    md.appendMarkdown(
      said(
        others.length > 0
          ? l10n.t('To switch or add a Keap app: Infusionsoft: Switch Keap App, or Infusionsoft: Sign In to Another Keap App (Command Palette or the Keap view).')
          : l10n.t('To add a Keap app: Infusionsoft: Sign In to Another Keap App (Command Palette or the Keap view).'),
      ),
    );
    this.item.tooltip = md;
    this.item.accessibilityInformation = { label: l10n.t('Keap app {0}, access token: {1}', app, shown) + (env ? `, ${env === 'production' ? l10n.t('production') : l10n.t('sandbox')}` : '') };
    // Next change of the shown minute (the tree re-renders at the same moment).
    if (countdown.kind === 'left') this.timer = setTimeout(() => this.render(), countdown.nextChangeInMs);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
