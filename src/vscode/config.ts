import vscode = require('vscode');
import { l10n } from 'vscode';
import { customEndpointHost, KeapEndpoints } from '../keap/endpoints';
import { TokenSet } from '../session/tokenSet';
import { RefreshPolicy } from '../session/policy';

/**
 * The `infusionsoft.*` settings that decide where a secret, a code or a token is sent or written,
 * or when. They are the user's alone: package.json gives them `"scope": "application"`, and they
 * are read here from the user's settings only, so a cloned repository's `.vscode/settings.json`
 * (or a `.code-workspace` file) cannot route the client secret or a refresh token to its own host
 * (case S1), whatever the VS Code version does with a workspace value for such a scope.
 */
export const USER_ONLY_SETTINGS = [
  'clientId',
  'authorizeUrl',
  'tokenUrl',
  'apiBaseUrl',
  'redirectUri',
  'loopbackPort',
  'requestTimeoutSeconds',
  'signInTimeoutMinutes',
  'refreshBeforeExpiryMinutes',
  'keepAliveAfterDays',
  'refreshTokenLifetimeDays',
  'autoRefresh',
  'env.includeClientCredentials',
  'env.includeRefreshToken',
] as const;

/**
 * Reads `infusionsoft.<key>` from the user's settings (or the default), never from a workspace or
 * folder. `key` may be dotted (`env.includeClientCredentials`).
 */
export function userSetting<T>(key: (typeof USER_ONLY_SETTINGS)[number], fallback: T): T {
  const i = vscode.workspace.getConfiguration('infusionsoft').inspect<T>(key);
  return i?.globalValue ?? i?.defaultValue ?? fallback;
}

/**
 * The user's values of every {@link USER_ONLY_SETTINGS} entry, as one string: it changes only when
 * the user's own settings change, never when a workspace's `.vscode/settings.json` does (a `git
 * pull` or a script is not the user acting, so it must not resume a paused refresh).
 */
export function userSettingsFingerprint(): string {
  return JSON.stringify(USER_ONLY_SETTINGS.map(k => userSetting<unknown>(k, null)));
}

/**
 * `infusionsoft.terminal.exportTokens` (default off), from the user's own settings only: a cloned
 * repository must not turn on handing the token to every terminal.
 */
export function terminalExportOn(): boolean {
  return vscode.workspace.getConfiguration('infusionsoft.terminal').inspect<unknown>('exportTokens')?.globalValue === true;
}

/**
 * `infusionsoft.apiKey.exportToTerminals` (default off), from the user's own settings only: a cloned
 * repository must not turn on handing an API key to every terminal.
 */
export function apiKeyTerminalExportOn(): boolean {
  return vscode.workspace.getConfiguration('infusionsoft.apiKey').inspect<unknown>('exportToTerminals')?.globalValue === true;
}

/**
 * `infusionsoft.tokenHelper.enabled` (default off), from the user's own settings only: a cloned
 * repository must not open the door `keap-token` knocks on (issue 18).
 */
export function tokenHelperEnabled(): boolean {
  return vscode.workspace.getConfiguration('infusionsoft.tokenHelper').inspect<unknown>('enabled')?.globalValue === true;
}

/** Reads the `infusionsoft.*` settings, fresh each call (a change applies at once). */
export class Settings {
  private get c(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('infusionsoft');
  }

  endpoints(): KeapEndpoints {
    return {
      authorizeUrl: userSetting<string>('authorizeUrl', 'https://accounts.infusionsoft.com/app/oauth/authorize').trim(),
      tokenUrl: userSetting<string>('tokenUrl', 'https://api.infusionsoft.com/token').trim(),
      apiBaseUrl: userSetting<string>('apiBaseUrl', 'https://api.infusionsoft.com/crm/rest').trim(),
    };
  }

  /** The client ID (the "Key" of the app in the Keap developer portal), trimmed; '' when unset. */
  clientId(): string {
    return userSetting<string>('clientId', '').trim();
  }

  async setClientId(value: string): Promise<void> {
    await this.c.update('clientId', value, vscode.ConfigurationTarget.Global);
  }

  /** The HTTPS relay page used as redirect URI, or undefined when unset. */
  relayUrl(): string | undefined {
    const v = userSetting<string>('redirectUri', '').trim();
    return v ? v : undefined;
  }

  /** Loopback port; 0 picks a free one. */
  loopbackPort(): number {
    return userSetting<number>('loopbackPort', 0);
  }

  /** Milliseconds. */
  requestTimeoutMs(): number {
    return Math.max(1, userSetting<number>('requestTimeoutSeconds', 30)) * 1000;
  }

  /** The refresh policy from settings, in milliseconds. */
  refreshPolicy(): RefreshPolicy {
    return {
      refreshBeforeExpiryMs: Math.max(1, userSetting<number>('refreshBeforeExpiryMinutes', 60)) * 60_000,
      keepAliveAfterMs: Math.max(1, userSetting<number>('keepAliveAfterDays', 30)) * 86_400_000,
    };
  }

  /** Assumed refresh-token lifetime in milliseconds (Keap states none; default 45 days). */
  refreshTokenLifetimeMs(): number {
    return Math.max(1, userSetting<number>('refreshTokenLifetimeDays', 45)) * 86_400_000;
  }

  autoRefresh(): boolean {
    return userSetting<boolean>('autoRefresh', true);
  }

  /** Milliseconds. */
  signInTimeoutMs(): number {
    return Math.max(1, userSetting<number>('signInTimeoutMinutes', 5)) * 60_000;
  }
}

/**
 * "custom Keap endpoint: <host>" when the endpoint that receives this account's refresh token (the
 * one stored with it), or the authorize page or REST API the settings name, is not Keap's own
 * host; undefined when all are Keap's. Shown in the status bar tooltip and the tree (issue 10).
 */
export function customEndpointNote(set: TokenSet | undefined, endpoints: KeapEndpoints): string | undefined {
  const hosts = [set?.tokenUrl ?? endpoints.tokenUrl, endpoints.authorizeUrl, endpoints.apiBaseUrl].map(customEndpointHost).filter((h): h is string => !!h);
  const unique = [...new Set(hosts)];
  return unique.length > 0 ? l10n.t('custom Keap endpoint: {0}', unique.join(', ')) : undefined;
}
