import vscode = require('vscode');
import { l10n } from 'vscode';
import { accountKey } from '../session/accounts';
import { accessTokenCountdown } from '../session/countdown';
import { TokenSet } from '../session/tokenSet';
import { SessionModel } from './sessionModel';
import { isSessionNode } from './tree';

/** What {@link resolveAccount} returns when the user picked the "all" row. */
export const ALL_ACCOUNTS = '*';

/**
 * Which account a command acts on. `arg` is what VS Code passed: a tree node (its account), an
 * account key, an object `{ account }`, or nothing. With nothing: the only account; with several,
 * the active one, or a quick pick when `ask` (Insert into .env, Sign Out). Resolves to undefined
 * when signed out or the pick was dismissed.
 */
export async function resolveAccount(model: SessionModel, arg: unknown, ask: false | { placeHolder: string; allLabel?: string }): Promise<string | undefined> {
  if (!model.isLoaded) await model.reload();
  const named = isSessionNode(arg) ? arg.account : typeof arg === 'string' ? arg : arg && typeof arg === 'object' && typeof (arg as { account?: unknown }).account === 'string' ? (arg as { account: string }).account : undefined;
  if (named !== undefined) return model.get(named) ? named : undefined;
  const all = model.accounts;
  if (all.length <= 1 || !ask) return model.activeKey;
  // The active app first, so Enter picks it.
  const ordered = [...all].sort((a, b) => Number(accountKey(b) === model.activeKey) - Number(accountKey(a) === model.activeKey));
  const items: Array<vscode.QuickPickItem & { key: string }> = ordered.map(set => accountItem(set, model.activeKey));
  if (ask.allLabel) items.push({ key: '', label: '', kind: vscode.QuickPickItemKind.Separator }, { key: ALL_ACCOUNTS, label: ask.allLabel });
  const pick = await vscode.window.showQuickPick(items, { placeHolder: ask.placeHolder, matchOnDescription: true, matchOnDetail: true });
  return pick?.key;
}

/** A quick-pick row for an account: app, who signed in, client ID and time left. */
export function accountItem(set: TokenSet, activeKey: string | undefined, now = Date.now()): vscode.QuickPickItem & { key: string } {
  const key = accountKey(set);
  const countdown = accessTokenCountdown(set, now);
  const when = set.refreshTokenRejectedAt
    ? l10n.t('sign in again')
    : countdown.kind === 'unknown'
      ? l10n.t('expiry unknown')
      : countdown.kind === 'expired'
        ? l10n.t('expired')
        : l10n.t('expires in {0}', countdown.text);
  return {
    key,
    label: `${key === activeKey ? '$(pass-filled)' : '$(account)'} ${l10n.t('Keap app {0}', set.appName ?? '?')}`,
    description: [set.user?.email ?? set.user?.name, key === activeKey ? l10n.t('active') : undefined].filter(Boolean).join(' · '),
    detail: l10n.t('Client ID {0} · access token {1}', set.clientId, when),
  };
}

/**
 * Infusionsoft: Switch Keap App. Makes another signed-in account the active one in this window
 * (status bar, Copy, Refresh); the last row signs in to another app. `arg` may name the account.
 */
export async function switchAccount(model: SessionModel, arg: unknown): Promise<string | undefined> {
  if (!model.isLoaded) await model.reload();
  let key: string | undefined;
  if (arg !== undefined) {
    key = await resolveAccount(model, arg, false);
  } else {
    const add = { key: '', label: `$(add) ${l10n.t('Sign In to Another Keap App…')}`, alwaysShow: true };
    const items: Array<vscode.QuickPickItem & { key: string }> = [...model.accounts.map(s => accountItem(s, model.activeKey)), { key: '', label: '', kind: vscode.QuickPickItemKind.Separator }, add];
    const pick = await vscode.window.showQuickPick(items, { placeHolder: l10n.t('Which Keap app should this window use?'), matchOnDescription: true, matchOnDetail: true });
    if (pick === add) {
      await vscode.commands.executeCommand('infusionsoft.addAccount');
      return model.activeKey;
    }
    key = pick?.key;
  }
  if (key) await model.setActive(key);
  return key;
}
