import * as vscode from 'vscode';
import { Settings } from './config';
import { Secrets } from './secrets';

/** Trims and checks a client ID / client secret pair; returns an English problem or undefined. */
export function credentialsProblem(clientId: string, clientSecret: string): string | undefined {
  if (!clientId.trim()) return vscode.l10n.t('The client ID is empty.');
  if (!clientSecret.trim()) return vscode.l10n.t('The client secret is empty.');
  if (clientId.trim() === clientSecret.trim()) return vscode.l10n.t('The client secret is the same as the client ID; copy the "Secret", not the "Key".');
  if (/\s/.test(clientId.trim())) return vscode.l10n.t('The client ID contains white space.');
  return undefined;
}

/**
 * Infusionsoft: Set Client Credentials. The client ID goes to the `infusionsoft.clientId` setting
 * (user scope), the client secret to SecretStorage only. `args` lets tests and the walkthrough pass
 * both without prompts; `quiet` (Sign In asking on its way) skips the confirmation. Resolves to true when both were saved.
 */
export async function setClientCredentials(settings: Settings, secrets: Secrets, args?: { clientId?: string; clientSecret?: string; quiet?: boolean }): Promise<boolean> {
  const clientId = (
    args?.clientId ??
    (await vscode.window.showInputBox({
      title: vscode.l10n.t('Keap app client ID (1/2)'),
      prompt: vscode.l10n.t('The "Key" of your app at keys.developer.keap.com'),
      value: settings.clientId(),
      ignoreFocusOut: true,
      validateInput: v => (!v.trim() ? vscode.l10n.t('The client ID is empty.') : /\s/.test(v.trim()) ? vscode.l10n.t('The client ID contains white space.') : undefined),
    })) ??
    ''
  ).trim();
  if (!clientId) return false;
  const clientSecret = (
    args?.clientSecret ??
    (await vscode.window.showInputBox({
      // Step 2 of 2 only when step 1 (the client ID) was asked too.
      title: args?.clientId ? vscode.l10n.t('Keap app client secret') : vscode.l10n.t('Keap app client secret (2/2)'),
      prompt: vscode.l10n.t('The "Secret" of your app; it is kept in VS Code\'s SecretStorage, never in settings.'),
      password: true,
      ignoreFocusOut: true,
      validateInput: v => (v.trim() ? credentialsProblem(clientId, v) : vscode.l10n.t('The client secret is empty.')),
    })) ??
    ''
  ).trim();
  if (!clientSecret) return false;
  const problem = credentialsProblem(clientId, clientSecret);
  if (problem) {
    void vscode.window.showErrorMessage(problem);
    return false;
  }
  try {
    await secrets.storeClientSecret(clientId, clientSecret);
  } catch (e) {
    void vscode.window.showErrorMessage((e as Error).message);
    return false;
  }
  await settings.setClientId(clientId);
  if (!args?.clientSecret && !args?.quiet) {
    // Typed by hand: confirm, and offer the obvious next step.
    const signIn = vscode.l10n.t('Sign In');
    void vscode.window.showInformationMessage(vscode.l10n.t('Client credentials saved for client ID {0} (the secret in SecretStorage).', clientId), signIn).then(c => {
      if (c === signIn) void vscode.commands.executeCommand('infusionsoft.signIn', { clientId });
    });
  }
  return true;
}
