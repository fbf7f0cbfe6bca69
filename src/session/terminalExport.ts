import type { KeapEnvironment } from '../keap/apiKeys';
import { FolderState, productionWriteDecision } from './environmentGuard';
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

/**
 * Where a token goes in new terminals (issue 20): `all` (the window-wide collection) for an app not
 * marked production; for a production app, only the folders the guard lets in (bound to it or
 * allowed before: `exportTo`, folder keys) and `ask` for the others not yet asked in this window
 * (`asked`); folders already asked and not allowed get nothing. Pure.
 */
export function terminalExportPlan(
  credential: { readonly id: string; readonly environment?: KeapEnvironment },
  folders: ReadonlyArray<{ readonly key: string; readonly state: FolderState }>,
  asked: ReadonlySet<string>,
): { readonly all: boolean; readonly exportTo: string[]; readonly ask: string[] } {
  if (credential.environment !== 'production') return { all: true, exportTo: [], ask: [] };
  const exportTo: string[] = [];
  const ask: string[] = [];
  for (const f of folders) {
    if (productionWriteDecision(credential, f.state) === 'write') exportTo.push(f.key);
    else if (!asked.has(f.key)) ask.push(f.key);
  }
  return { all: false, exportTo, ask };
}

/**
 * Which API key new terminals of a folder get (issue 20, opt-in `infusionsoft.apiKey.exportToTerminals`):
 * the key the folder is bound to (`boundTo`, a credential id `apiKey:<id>`), else the only key, else
 * none (`undefined`: several keys and no binding, or no key; the caller logs one line). Pure.
 * @param keyIds ids of the stored API keys (src/keap/apiKeys), in the order added.
 */
export function apiKeyForTerminal(keyIds: readonly string[], boundTo: string | undefined): string | undefined {
  if (boundTo?.startsWith('apiKey:') && keyIds.includes(boundTo.slice('apiKey:'.length))) return boundTo.slice('apiKey:'.length);
  return keyIds.length === 1 ? keyIds[0] : undefined;
}

/** A folder's terminals and the API key they get (a folder key as given, a key id). */
export interface ApiKeyTerminalTarget {
  readonly folder: string;
  readonly keyId: string;
}

/**
 * Where API keys go in new terminals (issue 20, opt-in `infusionsoft.apiKey.exportToTerminals`),
 * per workspace folder: the key {@link apiKeyForTerminal} picks for it; a key marked production only
 * into a folder the guard lets in (bound to it, or allowed before: `exportTo`), the others `ask`ed
 * once (`asked` holds `<folder key> apiKey:<id>` for those asked in this window) and given nothing
 * meanwhile. With no folder open, `window` is the only key unless it is marked production (no
 * folder to bind or allow). `unchosen`: folders that get nothing because several keys are stored
 * and the folder is bound to none of them. Nothing at all unless `exportOn` (the user's setting)
 * and the workspace is trusted. Pure.
 */
export function apiKeyTerminalPlan(
  keys: ReadonlyArray<{ readonly id: string; readonly environment?: KeapEnvironment }>,
  folders: ReadonlyArray<{ readonly key: string; readonly state: FolderState }>,
  asked: ReadonlySet<string>,
  o: { readonly exportOn: boolean; readonly workspaceTrusted: boolean },
): { readonly window?: string; readonly exportTo: ApiKeyTerminalTarget[]; readonly ask: ApiKeyTerminalTarget[]; readonly unchosen: string[] } {
  const exportTo: ApiKeyTerminalTarget[] = [];
  const ask: ApiKeyTerminalTarget[] = [];
  const unchosen: string[] = [];
  if (!o.exportOn || !o.workspaceTrusted || keys.length === 0) return { exportTo, ask, unchosen };
  const ids = keys.map(k => k.id);
  if (folders.length === 0) {
    const only = apiKeyForTerminal(ids, undefined);
    const entry = keys.find(k => k.id === only);
    return { window: entry && entry.environment !== 'production' ? entry.id : undefined, exportTo, ask, unchosen };
  }
  for (const f of folders) {
    const keyId = apiKeyForTerminal(ids, f.state.boundTo);
    if (keyId === undefined) {
      unchosen.push(f.key);
      continue;
    }
    const credential = { id: `apiKey:${keyId}`, environment: keys.find(k => k.id === keyId)?.environment };
    if (productionWriteDecision(credential, f.state) === 'write') exportTo.push({ folder: f.key, keyId });
    else if (!asked.has(`${f.key} ${credential.id}`)) ask.push({ folder: f.key, keyId });
  }
  return { exportTo, ask, unchosen };
}
