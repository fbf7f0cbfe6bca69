import vscode = require('vscode');
import { l10n } from 'vscode';
import { ENV_PRESETS, EnvVariableNames } from '../dotenv/variables';
import { terminalExportPairs } from '../session/terminalExport';
import { Logger } from '../log';
import { terminalExportOn } from './config';
import { SessionModel } from './sessionModel';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A setting's value from the user's own settings only, never a workspace's (case S1). */
function userValue<T>(section: string, key: string, fallback: T): T {
  return vscode.workspace.getConfiguration(section).inspect<T>(key)?.globalValue ?? fallback;
}

/**
 * The access token and its expiry, by the names `infusionsoft.env.preset` and
 * `infusionsoft.env.variables` give (user settings only: a cloned repository must not choose which
 * variable the token lands in); a name that is not a shell variable name is left out.
 */
function terminalNames(): EnvVariableNames {
  const preset = ENV_PRESETS[userValue<'keap' | 'infusionsoft-php'>('infusionsoft.env', 'preset', 'keap')] ?? ENV_PRESETS.keap;
  const override = userValue<Partial<Record<keyof EnvVariableNames, unknown>>>('infusionsoft.env', 'variables', {});
  const pick = (k: 'accessToken' | 'expiresAt') => {
    const v = typeof override?.[k] === 'string' && (override[k] as string).trim() ? (override[k] as string).trim() : preset[k];
    return ENV_NAME.test(v) ? v : undefined;
  };
  return { accessToken: pick('accessToken'), expiresAt: pick('expiresAt') };
}

/**
 * With `infusionsoft.terminal.exportTokens` on (an application-wide user setting, default off),
 * new integrated terminals get the active Keap app's access token and its expiry (ISO 8601 UTC)
 * through the extension's environment variable collection: not persisted across restarts
 * (`persistent = false`, so no token is written to VS Code's storage), replaced after every
 * refresh (VS Code marks terminals started before as stale), cleared at sign-out or when the
 * setting is turned off. The refresh token is never exported: it works once. Built only once the
 * setting is on (src/extension.ts), so a window that never exports never reads this file.
 */
export class TerminalTokenExport implements vscode.Disposable {
  /** The pairs in the collection now, as JSON ('[]': none). */
  private applied = '[]';
  private toldRestricted = false;
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly collection: vscode.EnvironmentVariableCollection,
    private readonly model: SessionModel,
    private readonly log: Logger,
  ) {
    collection.persistent = false;
    collection.description = l10n.t('The access token of the active Keap app and its expiry (setting infusionsoft.terminal.exportTokens).');
    this.disposables = [
      model.onDidChange(() => this.update()),
      vscode.workspace.onDidChangeConfiguration(e => (e.affectsConfiguration('infusionsoft.terminal') || e.affectsConfiguration('infusionsoft.env')) && this.update()),
      // Restricted Mode exports nothing (issue 17.7); trusting the folder starts the export.
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.update()),
    ];
    this.update();
  }

  /** Makes the collection hold what the setting and the active account say now. */
  update(): void {
    const set = this.model.tokenSet;
    const trusted = vscode.workspace.isTrusted;
    const pairs = terminalExportPairs(set, terminalNames(), { exportOn: terminalExportOn(), workspaceTrusted: trusted });
    if (!trusted && terminalExportOn() && set && !this.toldRestricted) {
      this.toldRestricted = true;
      this.log.info('new terminals get no Keap token: this workspace is in Restricted Mode (trust it to export the token)');
    }
    const next = JSON.stringify(pairs);
    if (next === this.applied) return;
    // Only its own variables: the collection also carries keap-token's (src/vscode/tokenHelper.ts).
    for (const [name] of JSON.parse(this.applied) as [string, string][]) this.collection.delete(name);
    for (const [name, value] of pairs) this.collection.replace(name, value);
    this.log.info(pairs.length ? `new terminals get ${pairs.map(p => p[0]).join(' and ')} of Keap app ${set?.appName}` : 'new terminals no longer get a Keap token');
    this.applied = next;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const [name] of JSON.parse(this.applied) as [string, string][]) this.collection.delete(name);
  }
}
