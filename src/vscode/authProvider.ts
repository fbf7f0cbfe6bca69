import vscode = require('vscode');
import { l10n } from 'vscode';
import { accountKey } from '../session/accounts';
import { decideRefresh } from '../session/policy';
import { TokenSet } from '../session/tokenSet';
import { AutoRefreshers } from './autoRefresh';
import { SessionModel } from './sessionModel';

/**
 * What VS Code passes as the second argument of getSessions/createSession since 1.93
 * (`AuthenticationProviderSessionOptions`); typed here because the extension supports 1.90.
 */
interface SessionOptions {
  readonly account?: { readonly id: string; readonly label?: string };
}

/**
 * The Accounts menu's label of an account: made of its key alone (client ID and Keap app name), so
 * it never changes while the account is stored and no two accounts share one. VS Code's Accounts
 * menu adds entries by label and removes them by id (1.139, `AccountsActivityActionViewItem`): a
 * label that changed (say, once userinfo named the user) left a stale entry behind.
 * Example: "Keap app ab123 · client demo-client-id". Long client IDs are cut to their first 8
 * characters and "…": still one label per client in practice (Keap's client IDs are random).
 */
export function accountLabel(set: Pick<TokenSet, 'clientId' | 'appName'>): string {
  const client = set.clientId.length > 16 ? `${set.clientId.slice(0, 8)}…` : set.clientId;
  return set.appName ? l10n.t('Keap app {0} · client {1}', set.appName, client) : l10n.t('Keap client {0}', client);
}

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
  /** The sessions last announced, by account key. */
  private last = new Map<string, vscode.AuthenticationSession>();

  /**
   * @param signIn runs Sign In (with a client ID, or the configured one) and resolves to the account key signed in to, or undefined.
   * @param signOut signs one account out.
   */
  constructor(
    private readonly model: SessionModel,
    private readonly refreshers: AutoRefreshers,
    private readonly signIn: (clientId?: string) => Promise<string | undefined>,
    private readonly signOut: (key: string) => Promise<void>,
  ) {
    this.disposables.push(model.onDidChange(() => this.publish()));
  }

  private toSession(set: TokenSet): vscode.AuthenticationSession {
    return { id: accountKey(set), accessToken: set.accessToken, account: { id: accountKey(set), label: accountLabel(set) }, scopes: [...KEAP_SCOPES] };
  }

  /** Announces what changed since the last announcement: sessions added, removed, or with a new access token (labels never change). */
  private publish(): void {
    const next = new Map<string, vscode.AuthenticationSession>();
    for (const set of this.model.accounts) if (set.refreshTokenRejectedAt === undefined) next.set(accountKey(set), this.toSession(set));
    const added = [...next.values()].filter(s => !this.last.has(s.id));
    const removed = [...this.last.values()].filter(s => !next.has(s.id));
    const changed = [...next.values()].filter(s => this.last.has(s.id) && this.last.get(s.id)!.accessToken !== s.accessToken);
    this.last = next;
    if (added.length || removed.length || changed.length) this.emitter.fire({ added, removed, changed });
  }

  /**
   * Every usable account (active first), or only `options.account` when the caller names one
   * (VS Code then takes the first session returned), each with an access token valid for at least
   * 5 more minutes when Keap allows.
   */
  async getSessions(scopes?: readonly string[], options?: SessionOptions): Promise<vscode.AuthenticationSession[]> {
    if (scopes && scopes.some(s => !(KEAP_SCOPES as readonly string[]).includes(s))) return [];
    if (!this.model.isLoaded) await this.model.reload();
    const wanted = options?.account?.id;
    const keys = this.model.accounts
      .map(accountKey)
      .filter(k => wanted === undefined || k === wanted)
      .sort((a, b) => Number(b === this.model.activeKey) - Number(a === this.model.activeKey));
    const out: vscode.AuthenticationSession[] = [];
    for (const key of keys) {
      let set = this.model.get(key);
      if (!set || set.refreshTokenRejectedAt !== undefined) continue;
      if (decideRefresh(set, Date.now(), { refreshBeforeExpiryMs: 5 * 60_000, keepAliveAfterMs: Number.MAX_SAFE_INTEGER }).action === 'refresh') {
        // Held to the refresh schedule: a consumer may call getSessions before every API call, and Keap may be failing (K10).
        await this.refreshers.refreshIfAdmitted(key);
        set = this.model.get(key);
        if (!set || set.refreshTokenRejectedAt !== undefined) continue;
      }
      out.push(this.toSession(set));
    }
    return out;
  }

  /** Runs Sign In; with `options.account`, under that account's client ID (Keap's page still lets the user pick the app). */
  async createSession(scopes: readonly string[], options?: SessionOptions): Promise<vscode.AuthenticationSession> {
    const unknown = scopes.filter(s => !(KEAP_SCOPES as readonly string[]).includes(s));
    if (unknown.length) throw new Error(l10n.t('Keap has only the scope "full"; asked for {0}.', unknown.join(', ')));
    const clientId = options?.account?.id.split('|')[0];
    const key = await this.signIn(clientId || undefined);
    const set = key === undefined ? undefined : this.model.get(key) ?? (await this.model.reload(), this.model.get(key));
    if (!set) throw new Error(l10n.t('Sign-in to Keap did not complete.'));
    return this.toSession(set);
  }

  async removeSession(sessionId: string): Promise<void> {
    await this.signOut(sessionId);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
