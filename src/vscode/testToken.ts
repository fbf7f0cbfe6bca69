import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import { userInfoUrl } from '../keap/endpoints';
import { ApiCheck, checkUserInfo, testAccessToken, TokenTest } from '../keap/tokenCheck';
import { Logger } from '../log';
import { accessTokenTimeLeft, formatDuration } from '../session/tokenSet';
import { AutoRefreshers, healthExplanation } from './autoRefresh';
import { Settings } from './config';
import { SessionModel } from './sessionModel';
import { when } from './timeText';
import type { TokenTestRows } from './tree';

/** One run of Infusionsoft: Test Token: what Keap said, and when (epoch ms). */
export interface TokenTestRun {
  readonly test: TokenTest;
  readonly at: number;
  /** Time the access token had left by its stored expiry when Keap was asked, ms (undefined: unknown). */
  readonly believedLeftMs?: number;
}

/**
 * Infusionsoft: Test Token. Calls Keap's userinfo with an account's access token and keeps the
 * last result per account for its tree row; a 401 gets one refresh through that account's
 * refresher (the user-wide lock) and one retry (src/keap/tokenCheck).
 */
export class TokenTests implements TokenTestRows, vscode.Disposable {
  private readonly runs = new Map<string, TokenTestRun>();
  private readonly emitter = new vscode.EventEmitter<string>();
  /** Fires with the account key whose result changed. */
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];

  constructor(
    private readonly model: SessionModel,
    private readonly refreshers: AutoRefreshers,
    private readonly settings: Settings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    /** Told the `Date` of Keap's answer (src/keap/tokenCheck `onDate`). */
    private readonly onDate?: (date: string | null, sentAtMs: number, receivedAtMs: number) => void,
  ) {
    // A signed-out account's result goes with it.
    this.disposables.push(model.onDidChangeAccount(({ key, set }) => !set && this.runs.delete(key)));
  }

  /** The last result of an account signed in now, if it was tested. */
  get(key: string): TokenTestRun | undefined {
    return this.model.get(key) ? this.runs.get(key) : undefined;
  }

  /** The tree row of an account's last result (src/vscode/tree TokenTestRows). */
  item(key: string): vscode.TreeItem | undefined {
    const run = this.get(key);
    return run && tokenTestItem(run);
  }

  /** Tests one account's access token; shows the result in a notification and on the tree row. */
  async run(key: string): Promise<TokenTest | undefined> {
    const set = this.model.get(key);
    if (!set) return undefined;
    const app = set.appName ?? set.clientId;
    const believedLeftMs = accessTokenTimeLeft(set, this.now());
    const check = (token: string) => checkUserInfo(token, { url: userInfoUrl(this.settings.endpoints()), timeoutMs: this.settings.requestTimeoutMs(), onDate: this.onDate });
    const refresh = async () => {
      this.log.info(`Test Token: Keap refused the access token of Keap app ${app} (401); refreshing once`);
      const r = await this.refreshers.refreshNow(key);
      if (r?.kind === 'refreshed' || r?.kind === 'already-refreshed') return r.tokenSet.accessToken;
      const health = this.refreshers.healthOf(key);
      throw new Error(healthExplanation(health) ?? l10n.t('no new token'));
    };
    const test = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: l10n.t('Testing the Keap token of {0}…', app) }, () =>
      testAccessToken(set.accessToken, { check, refresh }),
    );
    const run = { test, at: this.now(), believedLeftMs };
    this.runs.set(key, run);
    this.emitter.fire(key);
    const lines = describeRun(run);
    this.log.info(`Test Token of Keap app ${app}: ${lines.join(' ')}`);
    const text = l10n.t('Keap app {0}: {1}', app, lines.join(' '));
    const shown = outsideText(text, 'message', 1000);
    void ((test.retry ?? test.first).error ? vscode.window.showWarningMessage(shown) : vscode.window.showInformationMessage(shown));
    return test;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function status(c: ApiCheck): string {
  return c.status === undefined ? l10n.t('no answer') : String(c.status);
}

/** `200 · 42 ms`, `401 → refreshed → 200 · 40 ms`, `401 → refresh failed`. */
export function summary(t: TokenTest): string {
  const steps = [status(t.first)];
  if (t.refresh) steps.push(t.refresh.ok ? l10n.t('refreshed') : l10n.t('refresh failed'));
  if (t.retry) steps.push(status(t.retry));
  return t.refresh?.ok === false ? steps.join(' → ') : `${steps.join(' → ')} · ${(t.retry ?? t.first).elapsedMs} ms`;
}

/** What Keap answered, the refresh after a 401, and each quota bucket with when it resets: one sentence each. */
function describeRun({ test, believedLeftMs }: TokenTestRun): string[] {
  const last = test.retry ?? test.first;
  const lines = [`${summary(test)}.`];
  if (test.refresh) {
    const left = believedLeftMs === undefined ? '?' : formatDuration(Math.max(0, believedLeftMs));
    lines.push(l10n.t('Keap refused the access token (401) with {0} left by its expiry; {1}.', left, test.refresh.ok ? l10n.t('it was refreshed once and the call retried') : test.refresh.message));
  }
  if (last.error) lines.push(last.error.message);
  for (const b of last.quota) {
    if (b.available === undefined) continue;
    const left = b.limit === undefined ? b.available.toLocaleString() : l10n.t('{0} of {1}', b.available.toLocaleString(), b.limit.toLocaleString());
    lines.push(
      b.resetsAt === undefined
        ? l10n.t('{0} calls left per {1}.', left, b.timeUnit)
        : l10n.t('{0} calls left per {1}, until {2}.', left, b.timeUnit, when(b.resetsAt)),
    );
  }
  return lines;
}

/** The tree row under an account that shows its last Test Token result. */
export function tokenTestItem(run: TokenTestRun): vscode.TreeItem {
  const last = run.test.retry ?? run.test.first;
  const day = last.quota.find(b => b.available !== undefined);
  const item = new vscode.TreeItem(l10n.t('Token test'));
  item.description = summary(run.test) + (day ? ` · ${l10n.t('{0} left per {1}', day.available!.toLocaleString(), day.timeUnit)}` : '');
  item.tooltip = [when(run.at), ...describeRun(run)].join('\n');
  item.iconPath = new vscode.ThemeIcon(last.error ? 'warning' : 'pulse', last.error || run.test.refresh ? new vscode.ThemeColor('list.warningForeground') : undefined);
  item.contextValue = 'tokenTest';
  item.accessibilityInformation = { label: l10n.t('Token test: {0}', item.description) };
  return item;
}
