import * as vscode from 'vscode';
import { KeapEndpoints } from '../keap/endpoints';
import { RefreshPolicy } from '../session/policy';

/** Reads the `infusionsoft.*` settings, fresh each call (a change applies at once). */
export class Settings {
  private get c(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration('infusionsoft');
  }

  endpoints(): KeapEndpoints {
    return {
      authorizeUrl: this.c.get<string>('authorizeUrl', 'https://accounts.infusionsoft.com/app/oauth/authorize').trim(),
      tokenUrl: this.c.get<string>('tokenUrl', 'https://api.infusionsoft.com/token').trim(),
      apiBaseUrl: this.c.get<string>('apiBaseUrl', 'https://api.infusionsoft.com/crm/rest').trim(),
    };
  }

  /** The client ID (the "Key" of the app in the Keap developer portal), trimmed; '' when unset. */
  clientId(): string {
    return this.c.get<string>('clientId', '').trim();
  }

  async setClientId(value: string): Promise<void> {
    await this.c.update('clientId', value, vscode.ConfigurationTarget.Global);
  }

  /** The HTTPS relay page used as redirect URI, or undefined when unset. */
  relayUrl(): string | undefined {
    const v = this.c.get<string>('redirectUri', '').trim();
    return v ? v : undefined;
  }

  /** Loopback port; 0 picks a free one. */
  loopbackPort(): number {
    return this.c.get<number>('loopbackPort', 0);
  }

  /** Milliseconds. */
  requestTimeoutMs(): number {
    return Math.max(1, this.c.get<number>('requestTimeoutSeconds', 30)) * 1000;
  }

  /** The refresh policy from settings, in milliseconds. */
  refreshPolicy(): RefreshPolicy {
    return {
      refreshBeforeExpiryMs: Math.max(1, this.c.get<number>('refreshBeforeExpiryMinutes', 60)) * 60_000,
      keepAliveAfterMs: Math.max(1, this.c.get<number>('keepAliveAfterDays', 30)) * 86_400_000,
    };
  }

  /** Assumed refresh-token lifetime in milliseconds (Keap states none; default 45 days). */
  refreshTokenLifetimeMs(): number {
    return Math.max(1, this.c.get<number>('refreshTokenLifetimeDays', 45)) * 86_400_000;
  }

  autoRefresh(): boolean {
    return this.c.get<boolean>('autoRefresh', true);
  }

  /** Milliseconds. */
  signInTimeoutMs(): number {
    return Math.max(1, this.c.get<number>('signInTimeoutMinutes', 5)) * 60_000;
  }
}
