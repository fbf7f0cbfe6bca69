import * as vscode from 'vscode';
import { decideRefresh } from '../session/policy';
import { TokenSet } from '../session/tokenSet';
import { AutoRefresher } from './autoRefresh';
import { SessionModel } from './sessionModel';

/** Keap's only scope (keap-oauth.md: `scope=full` is the only value). */
export const KEAP_SCOPES = ['full'] as const;

/**
 * The `infusionsoft` AuthenticationProvider: the Keap sign-in in VS Code's Accounts menu and for
 * other extensions through `vscode.authentication.getSession('infusionsoft', ['full'])`.
 * `getSessions` hands out a valid access token, refreshing through the shared lock when needed.
 */
export class KeapAuthenticationProvider implements vscode.AuthenticationProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.AuthenticationProviderAuthenticationSessionsChangeEvent>();
  readonly onDidChangeSessions = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  private last: vscode.AuthenticationSession | undefined;

  constructor(
    private readonly model: SessionModel,
    private readonly refresher: AutoRefresher,
    private readonly signIn: () => Promise<boolean>,
    private readonly signOut: () => Promise<void>,
  ) {
    this.disposables.push(model.onDidChange(set => this.publish(set)));
  }

  private toSession(set: TokenSet): vscode.AuthenticationSession {
    const app = set.appName ?? set.clientId;
    const who = set.user?.email ?? set.user?.name;
    return {
      id: `${set.clientId}/${app}`,
      accessToken: set.accessToken,
      account: { id: app, label: who ? `${app} (${who})` : vscode.l10n.t('Keap app {0}', app) },
      scopes: [...KEAP_SCOPES],
    };
  }

  private publish(set: TokenSet | undefined): void {
    const next = set && set.refreshTokenRejectedAt === undefined ? this.toSession(set) : undefined;
    const prev = this.last;
    this.last = next;
    if (!prev && next) this.emitter.fire({ added: [next], removed: [], changed: [] });
    else if (prev && !next) this.emitter.fire({ added: [], removed: [prev], changed: [] });
    else if (prev && next && prev.id !== next.id) this.emitter.fire({ added: [next], removed: [prev], changed: [] });
    else if (prev && next && prev.accessToken !== next.accessToken) this.emitter.fire({ added: [], removed: [], changed: [next] });
  }

  async getSessions(scopes?: readonly string[]): Promise<vscode.AuthenticationSession[]> {
    if (scopes && scopes.some(s => !(KEAP_SCOPES as readonly string[]).includes(s))) return [];
    let set = this.model.tokenSet ?? (await this.model.reload());
    if (!set || set.refreshTokenRejectedAt !== undefined) return [];
    if (decideRefresh(set, Date.now(), { refreshBeforeExpiryMs: 5 * 60_000, keepAliveAfterMs: Number.MAX_SAFE_INTEGER }).action === 'refresh') {
      await this.refresher.refreshNow();
      set = this.model.tokenSet;
      if (!set || set.refreshTokenRejectedAt !== undefined) return [];
    }
    return [this.toSession(set)];
  }

  async createSession(scopes: readonly string[]): Promise<vscode.AuthenticationSession> {
    const unknown = scopes.filter(s => !(KEAP_SCOPES as readonly string[]).includes(s));
    if (unknown.length) throw new Error(vscode.l10n.t('Keap has only the scope "full"; asked for {0}.', unknown.join(', ')));
    if (!(await this.signIn())) throw new Error(vscode.l10n.t('Sign-in to Keap did not complete.'));
    const set = this.model.tokenSet ?? (await this.model.reload());
    if (!set) throw new Error(vscode.l10n.t('Sign-in to Keap did not complete.'));
    return this.toSession(set);
  }

  async removeSession(): Promise<void> {
    await this.signOut();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
