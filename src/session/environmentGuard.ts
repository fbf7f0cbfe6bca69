/**
 * Production and sandbox kept apart: which credential a workspace folder is bound to, and whether
 * writing a credential into that folder (its `.env`, a terminal, a launch configuration) needs the
 * user's word first. Pure decisions; the VS Code layer (src/vscode/environments.ts) keeps the
 * bindings in workspaceState and asks.
 *
 * A credential id is `app:<account key>` for a signed-in Keap app (src/session/accounts
 * `accountKey`) or `apiKey:<id>` for an API key (src/keap/apiKeys). Keap recommends a separate app
 * record for integration work so development does not spend production's quota (Keap forum 92313).
 */
import type { KeapEnvironment } from '../keap/apiKeys';

/** What the guard knows of a folder: the credential it is bound to, and the production credentials the user already let in. */
export interface FolderState {
  /** Credential id the folder is bound to; undefined when bound to nothing. */
  readonly boundTo?: string;
  /** Production credentials the user allowed into this folder after being asked (remembered, asked once). */
  readonly allowed: readonly string[];
}

/**
 * - `write`: go ahead (not production, the folder is bound to this credential, or the user allowed it before);
 * - `ask`: a production credential going into a folder bound to another credential or to none.
 */
export type GuardDecision = 'write' | 'ask';

export function productionWriteDecision(credential: { readonly id: string; readonly environment?: KeapEnvironment }, folder: FolderState): GuardDecision {
  if (credential.environment !== 'production') return 'write';
  if (folder.boundTo === credential.id) return 'write';
  if (folder.allowed.includes(credential.id)) return 'write';
  return 'ask';
}

/** At most this many folders remembered per workspace (bindings and answers each). */
export const MAX_REMEMBERED_FOLDERS = 200;

/** Reads `{folderUri: credentialId}` from workspaceState; anything else is dropped. Never throws. */
export function parseBindings(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>).slice(0, MAX_REMEMBERED_FOLDERS)) if (typeof v === 'string' && v) out[k] = v;
  return out;
}

/** Reads `{folderUri: credentialId[]}` from workspaceState; anything else is dropped. Never throws. */
export function parseAllowed(raw: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>).slice(0, MAX_REMEMBERED_FOLDERS)) {
    if (Array.isArray(v)) out[k] = v.filter((x): x is string => typeof x === 'string').slice(0, 50);
  }
  return out;
}

/** globalState key of the marks of signed-in Keap apps: `{ 'app:<account key>': 'production' | 'sandbox' }` (API keys carry theirs). */
export const ENVIRONMENT_MARKS_KEY = 'infusionsoft.environmentMarks';

/** The mark of a signed-in Keap app (by account key) in what globalState holds under {@link ENVIRONMENT_MARKS_KEY}. */
export function appEnvironmentIn(raw: unknown, accountKey: string): KeapEnvironment | undefined {
  return parseEnvironmentMarks(raw)[`app:${accountKey}`];
}

/** Reads `{credentialId: 'production' | 'sandbox'}` (the marks of signed-in apps) from globalState. Never throws. */
export function parseEnvironmentMarks(raw: unknown): Record<string, KeapEnvironment> {
  const out: Record<string, KeapEnvironment> = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>).slice(0, 500)) if (v === 'production' || v === 'sandbox') out[k] = v;
  return out;
}

/**
 * The folder a credential handed to a launch or task configuration (`${command:…}`) goes into, for
 * the guard: VS Code does not tell a command which folder it resolves a variable for, so the active
 * editor's folder, else the only workspace folder; undefined (several folders and no editor in one,
 * or none) is treated as a folder bound to nothing. Pure.
 */
export function handOutFolder<T>(folders: readonly T[] | undefined, activeEditorFolder: T | undefined): T | undefined {
  if (activeEditorFolder !== undefined) return activeEditorFolder;
  return folders?.length === 1 ? folders[0] : undefined;
}
