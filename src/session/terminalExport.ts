import { EnvVariableNames, envValuesFor } from '../dotenv/variables';
import { TokenSet } from './tokenSet';

/**
 * The variables new integrated terminals get (issue 17.7): the access token and its expiry of
 * `set` by `names`, only while `exportOn` (the user's `infusionsoft.terminal.exportTokens`) and the
 * workspace is trusted. In Restricted Mode a folder's own tasks, scripts and shell hooks are what
 * a terminal runs first, so they get no token. Pure.
 * @returns `[name, value]` pairs; empty when nothing may be exported.
 */
export function terminalExportPairs(set: TokenSet | undefined, names: EnvVariableNames, o: { exportOn: boolean; workspaceTrusted: boolean }): Array<[string, string]> {
  if (!set || !o.exportOn || !o.workspaceTrusted) return [];
  return envValuesFor(set, names);
}
