import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import { accountKey } from '../session/accounts';
import { accessTokenCountdown, nextCountdownChangeInMs } from '../session/countdown';
import { accessTokenTimeLeft, refreshTokenDaysLeft, TokenSet } from '../session/tokenSet';
import { healthExplanation, RefreshHealth, troubleOf } from './autoRefresh';
import { tokenState } from '../session/stateWords';
import { SessionModel } from './sessionModel';
import { when } from './timeText';

type NodeKind = 'account' | 'accessToken' | 'refreshToken' | 'clientId' | 'tokenTest';

/** A node of the view; commands run from its menus receive it and act on its account. */
export interface SessionNode {
  readonly kind: NodeKind;
  /** The account key (src/session/accounts `accountKey`). */
  readonly account: string;
}

type Node = SessionNode;

/**
 * The last Infusionsoft: Test Token result of each account, as the row shown under it
 * (src/vscode/testToken, built at the first test; until then no account has a result).
 */
export interface TokenTestRows {
  /** The row of an account's last result, or undefined when it was not tested. */
  item(key: string): vscode.TreeItem | undefined;
  readonly onDidChange: vscode.Event<unknown>;
}

/** Tells a tree node passed to a command from anything else. */
export function isSessionNode(x: unknown): x is SessionNode {
  return !!x && typeof x === 'object' && typeof (x as SessionNode).account === 'string' && typeof (x as SessionNode).kind === 'string';
}

/** A token for display: never the value, only its last four characters (to tell two apart). */
export function maskToken(token: string): string {
  return '••••••••' + (token.length > 12 ? token.slice(-4) : '');
}

/**
 * The "Signed-in Apps" view (in the Keap view container): each signed-in Keap app (the active one marked), and under it both
 * tokens (masked) with their expiry and the client ID.
 * Signed out it is empty and `viewsWelcome` offers Sign In. Re-renders when the session changes in
 * any window, and when a countdown's shown minute changes (the same moment as the status bar's,
 * src/session/countdown), so "expires in" stays true and agrees with the status bar.
 */
export class SessionTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param health the refresh health of an account (by key), with its change event.
   */
  constructor(
    private readonly model: SessionModel,
    private readonly refreshTokenLifetimeMs: () => number,
    private readonly health: { of(key: string): RefreshHealth; onDidChange: vscode.Event<unknown>; clockNote?(): string | undefined },
    private readonly now: () => number = Date.now,
    /** "custom Keap endpoint: <host>" for an account whose endpoints are not Keap's own, else undefined. */
    private readonly customEndpoint: (set: TokenSet) => string | undefined = () => undefined,
  ) {
    this.disposables.push(model.onDidChange(() => this.refresh()), health.onDidChange(() => this.refresh()));
  }

  private tokenTests: TokenTestRows | undefined;
  private environmentOf: (key: string) => 'production' | 'sandbox' | undefined = () => undefined;

  /** Shows each app's production or sandbox mark from now on (src/vscode/environments). */
  showEnvironments(of: (key: string) => 'production' | 'sandbox' | undefined): void {
    this.environmentOf = of;
    this.refresh();
  }

  /** Shows each account's last Test Token result from now on (called when that feature is built). */
  showTokenTests(rows: TokenTestRows): void {
    this.tokenTests = rows;
    this.disposables.push(rows.onDidChange(() => this.refresh()));
    this.refresh();
  }

  refresh(): void {
    this.emitter.fire(undefined);
    if (this.timer) clearTimeout(this.timer);
    if (this.model.accounts.length === 0) return void (this.timer = undefined);
    // At the next change of any shown minute; at least once a minute for the refresh tokens' days.
    const next = Math.min(nextCountdownChangeInMs(this.model.accounts, this.now()) ?? 60_000, 60_000);
    this.timer = setTimeout(() => this.refresh(), next);
  }

  getChildren(element?: Node): Node[] {
    if (!element) return this.model.accounts.map(s => ({ kind: 'account', account: accountKey(s) }));
    if (element.kind === 'account' && this.model.get(element.account)) {
      const kinds: NodeKind[] = ['accessToken', 'refreshToken', 'clientId'];
      if (this.tokenTests?.item(element.account)) kinds.push('tokenTest');
      return kinds.map(kind => ({ kind, account: element.account }));
    }
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    const set = this.model.get(node.account);
    if (!set) return new vscode.TreeItem(l10n.t('Signed out'));
    const now = this.now();
    const id = `${node.account}/${node.kind}`;
    switch (node.kind) {
      case 'account': {
        const active = this.model.accounts.length > 1 && this.model.activeKey === node.account;
        const item = new vscode.TreeItem(l10n.t('Keap app {0}', set.appName ?? '?'), vscode.TreeItemCollapsibleState.Expanded);
        item.id = id;
        // Keap's words (userinfo, an error's description) as one plain masked line (src/outsideText, case S8).
        const who = outsideText([set.user?.name, set.user?.email].filter(Boolean).join(' · '), 'plain');
        const health = this.health.of(node.account);
        const trouble = troubleOf(set, health, now);
        const custom = this.customEndpoint(set);
        item.description = [trouble, active ? l10n.t('active') : undefined, who, custom].filter(Boolean).join(' · ');
        item.iconPath =
          set.refreshTokenRejectedAt
            ? new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'))
            : health.kind === 'paused'
              ? new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('list.warningForeground'))
              : trouble
                ? // A warning colour only when the user must act or the token is about to lapse (src/session/stateWords).
                  tokenState(set, health, now, { warnBelowMs: 3_600_000, warnRefreshDays: 7, refreshDaysLeft: refreshTokenDaysLeft(set, now, this.refreshTokenLifetimeMs()) }).attention === 'none'
                  ? new vscode.ThemeIcon('sync')
                  : new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
                : new vscode.ThemeIcon(active ? 'pass-filled' : 'account');
        // account | account.active, plus .dead when Keap refused the refresh token (menus offer Sign In Again).
        item.contextValue = (this.model.activeKey === node.account ? 'account.active' : 'account') + (set.refreshTokenRejectedAt ? '.dead' : '');
        const lines = [
          set.refreshTokenRejectedAt
            ? l10n.t('Keap no longer accepts the refresh token. Sign in again.')
            : l10n.t('Keap app {0} ({1}), scope "full"', set.appName ?? '?', set.scope.split('|')[1] ?? set.scope),
        ];
        if (custom) lines.push(custom);
        const explanation = outsideText(healthExplanation(health, now), 'plain', 1000);
        if (explanation) lines.push(explanation);
        const clock = this.health.clockNote?.();
        if (clock) lines.push(clock);
        if (this.model.accounts.length > 1) {
          lines.push(active ? l10n.t('Active in this workspace: the status bar, Copy and Refresh use it.') : l10n.t('Switch Keap App makes it the active one.'));
        }
        // The user's production or sandbox mark: production with its own icon and colour unless a problem is shown.
        const env = this.environmentOf(node.account);
        if (env) {
          const mark = env === 'production' ? l10n.t('production') : l10n.t('sandbox');
          item.description = [item.description, mark].filter(Boolean).join(' · ');
          if (!trouble && !set.refreshTokenRejectedAt && health.kind !== 'paused') item.iconPath = env === 'production' ? new vscode.ThemeIcon('flame', new vscode.ThemeColor('charts.red')) : new vscode.ThemeIcon('beaker', new vscode.ThemeColor('charts.green'));
          lines.push(l10n.t('Marked {0}.', mark));
        }
        item.tooltip = lines.join('\n');
        item.accessibilityInformation = {
          label: [l10n.t('Keap app {0}, signed in as {1}', set.appName ?? '?', who || l10n.t('unknown user')), active ? l10n.t('active') : undefined, trouble].filter(Boolean).join(', '),
        };
        return item;
      }
      case 'accessToken': {
        const item = new vscode.TreeItem(l10n.t('Access token'));
        item.id = id;
        const left = accessTokenTimeLeft(set, now);
        const countdown = accessTokenCountdown(set, now);
        const shown =
          countdown.kind === 'unknown' ? l10n.t('expiry unknown') : countdown.kind === 'expired' ? l10n.t('expired') : l10n.t('expires in {0}', countdown.text);
        item.description = `${maskToken(set.accessToken)} · ${shown}`;
        item.tooltip = set.accessTokenExpiresAt
          ? set.accessTokenExpiresAt > now
            ? l10n.t('Expires {0}', when(set.accessTokenExpiresAt, now))
            : l10n.t('Expired {0}', when(set.accessTokenExpiresAt, now))
          : shown;
        item.iconPath = new vscode.ThemeIcon('key', left !== undefined && left < 3_600_000 ? new vscode.ThemeColor('list.warningForeground') : undefined);
        item.contextValue = 'accessToken';
        item.accessibilityInformation = { label: l10n.t('Access token of Keap app {0}, {1}', set.appName ?? '?', shown) };
        return item;
      }
      case 'refreshToken': {
        const item = new vscode.TreeItem(l10n.t('Refresh token'));
        item.id = id;
        const days = refreshTokenDaysLeft(set, now, this.refreshTokenLifetimeMs());
        item.description = set.refreshTokenRejectedAt
          ? l10n.t('{0} · rejected by Keap', maskToken(set.refreshToken))
          : l10n.t('{0} · about {1} days left', maskToken(set.refreshToken), days);
        item.tooltip = l10n.t('Issued {0}. Keap states no lifetime; counted from the infusionsoft.refreshTokenLifetimeDays setting.', when(set.refreshTokenIssuedAt, now));
        item.iconPath = new vscode.ThemeIcon('history', days < 7 || set.refreshTokenRejectedAt ? new vscode.ThemeColor('list.warningForeground') : undefined);
        item.contextValue = 'refreshToken';
        item.accessibilityInformation = {
          label: set.refreshTokenRejectedAt
            ? l10n.t('Refresh token of Keap app {0}, rejected by Keap', set.appName ?? '?')
            : l10n.t('Refresh token of Keap app {0}, about {1} days left', set.appName ?? '?', days),
        };
        return item;
      }
      case 'tokenTest': {
        const item = this.tokenTests?.item(node.account) ?? new vscode.TreeItem(l10n.t('Token test'));
        item.id = id;
        return item;
      }
      case 'clientId': {
        const item = new vscode.TreeItem(l10n.t('Client ID'));
        item.id = id;
        item.description = set.clientId;
        item.iconPath = new vscode.ThemeIcon('symbol-key');
        item.contextValue = 'clientId';
        return item;
      }
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
