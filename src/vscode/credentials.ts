import vscode = require('vscode');
import { l10n } from 'vscode';
import { outsideText } from '../outsideText';
import { recognizeOtherCredential } from '../signin/pasteCheck';
import { Settings } from './config';
import { Secrets } from './secrets';

/**
 * Why `value`, typed as the client ID or the client secret, is another kind of Keap credential
 * (issue 17.9, case K15: src/signin/pasteCheck `recognizeOtherCredential`), naming what it looks
 * like and where it belongs; undefined when it may be an OAuth client credential.
 */
export function otherCredentialProblem(value: string, box: 'client-id' | 'client-secret'): string | undefined {
  const kind = recognizeOtherCredential(value);
  if (!kind) return undefined;
  const field = box === 'client-id' ? l10n.t('client ID') : l10n.t('client secret');
  switch (kind) {
    case 'keap-api-key':
    case 'keap-api-key-header':
      return l10n.t(
        'This looks like a Keap Personal Access Token or Service Account Key (KeapAK-…), not an OAuth {0}. Such a key goes in the X-Keap-API-Key header of your own requests (for example KEAP_API_KEY in .env) and needs no sign-in. For the {0}, copy the app\'s "Key" and "Secret" from keys.developer.keap.com.',
        field,
      );
    case 'legacy-api-key':
      return l10n.t(
        'This looks like a legacy Keap API key (32 hexadecimal characters), not an OAuth {0}; Keap retired legacy keys. For the {0}, copy the app\'s "Key" and "Secret" from keys.developer.keap.com.',
        field,
      );
    case 'authorization-header':
    case 'token-response':
      return l10n.t('This looks like a token or an Authorization header, not an OAuth {0}. Copy the app\'s "Key" and "Secret" from keys.developer.keap.com.', field);
  }
}

/** Trims and checks a client ID / client secret pair; returns an English problem or undefined. */
export function credentialsProblem(clientId: string, clientSecret: string): string | undefined {
  if (!clientId.trim()) return l10n.t('The client ID is empty.');
  if (!clientSecret.trim()) return l10n.t('The client secret is empty.');
  const other = otherCredentialProblem(clientId, 'client-id') ?? otherCredentialProblem(clientSecret, 'client-secret');
  if (other) return other;
  if (clientId.trim() === clientSecret.trim()) return l10n.t('The client secret is the same as the client ID; copy the "Secret", not the "Key".');
  if (/\s/.test(clientId.trim())) return l10n.t('The client ID contains white space.');
  return undefined;
}

/**
 * Infusionsoft: Set Client Credentials. The client ID goes to the `infusionsoft.clientId` setting
 * (user scope), the client secret to SecretStorage only. `args` lets tests and the walkthrough pass
 * both without prompts; `quiet` (Sign In asking on its way) skips the confirmation. Resolves to true when both were saved.
 */
export async function setClientCredentials(
  settings: Settings,
  secrets: Secrets,
  args?: { clientId?: string; clientSecret?: string; quiet?: boolean; prefillClientId?: string; knownTokens?: readonly string[] },
): Promise<boolean> {
  // Tokens the caller holds (Import Tokens: the pair being imported), refused in either box so none reaches settings.json.
  const tokenProblem = (v: string, box: 'client-id' | 'client-secret') =>
    args?.knownTokens?.some(t => t.length >= 8 && v.includes(t))
      ? box === 'client-id'
        ? l10n.t('That is one of the tokens being imported, not the client ID. Copy the app\'s "Key" from keys.developer.keap.com.')
        : l10n.t('That is one of the tokens being imported, not the client secret. Copy the app\'s "Secret" from keys.developer.keap.com.')
      : undefined;
  const clientId = (
    args?.clientId ??
    (await vscode.window.showInputBox({
      title: l10n.t('Keap app client ID (1/2)'),
      prompt: l10n.t('The "Key" of your app at keys.developer.keap.com'),
      value: args?.prefillClientId ?? settings.clientId(),
      ignoreFocusOut: true,
      validateInput: v =>
        !v.trim() ? l10n.t('The client ID is empty.') : (tokenProblem(v, 'client-id') ?? otherCredentialProblem(v, 'client-id') ?? (/\s/.test(v.trim()) ? l10n.t('The client ID contains white space.') : undefined)),
    })) ??
    ''
  ).trim();
  if (!clientId) return false;
  const idProblem = tokenProblem(clientId, 'client-id') ?? otherCredentialProblem(clientId, 'client-id');
  if (idProblem) {
    void vscode.window.showErrorMessage(idProblem);
    return false;
  }
  const clientSecret = (
    args?.clientSecret ??
    (await vscode.window.showInputBox({
      // Step 2 of 2 only when step 1 (the client ID) was asked too.
      title: args?.clientId ? l10n.t('Keap app client secret') : l10n.t('Keap app client secret (2/2)'),
      prompt: l10n.t('The "Secret" of your app; it is kept in VS Code\'s SecretStorage, never in settings.'),
      password: true,
      ignoreFocusOut: true,
      validateInput: v => (v.trim() ? (tokenProblem(v, 'client-secret') ?? credentialsProblem(clientId, v)) : l10n.t('The client secret is empty.')),
    })) ??
    ''
  ).trim();
  if (!clientSecret) return false;
  const problem = tokenProblem(clientSecret, 'client-secret') ?? credentialsProblem(clientId, clientSecret);
  if (problem) {
    void vscode.window.showErrorMessage(problem);
    return false;
  }
  try {
    await secrets.storeClientSecret(clientId, clientSecret);
  } catch (e) {
    void vscode.window.showErrorMessage(outsideText((e as Error).message, 'message', 1000));
    return false;
  }
  await settings.setClientId(clientId);
  if (!args?.clientSecret && !args?.quiet) {
    // Typed by hand: confirm, and offer the obvious next step.
    const signIn = l10n.t('Sign In');
    void vscode.window.showInformationMessage(l10n.t('Client credentials saved for client ID {0} (the secret in SecretStorage).', clientId), signIn).then(c => {
      if (c === signIn) void vscode.commands.executeCommand('infusionsoft.signIn', { clientId });
    });
  }
  return true;
}
