import { fingerprint } from '../session/accounts';
import type { TokenSet } from '../session/tokenSet';
import { envValueOf, upsertEnv } from './envFile';
import type { GitFileStatus } from './gitStatus';
import { EnvVariableNames, envValuesFor } from './variables';

/**
 * Following the user's own app's rotation (issue 13.6). Keap's refresh tokens are single-use: a
 * script that reads the `.env` file this extension wrote, refreshes, and writes the new pair back
 * leaves the extension holding a dead refresh token. The file then holds the live one. Only files
 * this extension recorded writing for the account are read, and only the variable it wrote the
 * refresh token to: a workspace file can change with a `git pull`, so what is found here is a
 * candidate the refresher tries once, never a token it trusts (src/session/refresher).
 */

/** What this extension recorded about one `.env` file it wrote (workspaceState; never a token). */
export interface EnvFileRecord {
  readonly uri: string;
  /** The account whose token the file holds; absent in records of version 0.1. */
  readonly account?: string;
  /** The variables written; absent in records of version 0.1. */
  readonly keys?: readonly string[];
  /** The variable the refresh token went to and the {@link fingerprint} of the one written last. */
  readonly refresh?: { readonly key: string; readonly written: string };
  /** What git said at Insert Token when the user chose "Write Anyway" (tracked, not ignored, unknown); absent when it was safe. */
  readonly accepted?: GitFileStatus;
  /** Keep-in-sync stopped for this file (the user was told once); Insert Token into it again resumes. */
  readonly stopped?: { readonly reason: string };
}

/**
 * A refresh token found where this extension wrote another one; `where` names the file for the log.
 * Trying it spends it at Keap (single-use), so the answer must go back where it came from
 * (issue 17.4, cases.md S10): the refresher calls {@link stillWritable} right before sending and
 * {@link writeBack} with Keap's answer, whatever Keap app that answer is for, under the same lock.
 */
export interface AppRotation {
  readonly refreshToken: string;
  readonly where: string;
  /** Re-reads the file: true when it still holds exactly what was read (else the token is not sent). */
  readonly stillWritable: () => Promise<boolean>;
  /**
   * Writes `pair` into the variables this extension wrote to the file (refresh token, and the
   * access token and expiry where those were written), every other byte unchanged.
   * @throws Error when the file changed since it was read, or cannot be written.
   */
  readonly writeBack: (pair: TokenSet) => Promise<void>;
}

/** One recorded file, opened by the VS Code layer only when a write to it would be allowed now. */
export interface RotationFile {
  readonly text: string;
  readonly where: string;
  /** The names the workspace's settings give (which variable is the access token, the expiry). */
  readonly names: EnvVariableNames;
  /** The file's text now (undefined when it is gone). */
  reread(): Promise<string | undefined>;
  /** Replaces the file's text; `refreshToken` is the one written (for the record's fingerprint). */
  write(text: string, refreshToken: string): Promise<void>;
}

/**
 * The refresh token in `text` (a synced file's content) that this extension did not write there:
 * present, not `current` (the token about to be written), and not the one the record's fingerprint
 * says was written last. The user's app rotated the pair and wrote it back (or someone edited the
 * file): keep-in-sync must not write over it, since it may be the only live refresh token
 * (the refresh property found it: the app rotated the pair VS Code had just written back while
 * SecretStorage was slow, and the late sync wrote the dead one over the app's live one). Undefined
 * when the record names no refresh-token variable or the file holds what was written.
 */
export function foreignRefreshToken(text: string, record: EnvFileRecord, current: string): string | undefined {
  const refresh = record.refresh;
  if (!refresh || !record.keys?.includes(refresh.key)) return undefined;
  const token = envValueOf(text, refresh.key);
  if (!token || token === current || fingerprint(token) === refresh.written) return undefined;
  return token;
}

/**
 * The refresh tokens the user's app wrote back: `open` is called only for the records of `account`
 * that name their refresh-token variable and whose keep-in-sync was not stopped, and answers
 * undefined for a file that may not be written now (keep-in-sync off, git would publish it, not
 * UTF-8: then its token is never tried). A token is kept only when it differs from the one this
 * extension wrote there (as `dotenv.parse` reads the file).
 */
export async function appRotations(
  records: readonly EnvFileRecord[],
  account: string,
  open: (record: EnvFileRecord) => Promise<RotationFile | undefined>,
): Promise<AppRotation[]> {
  const found: AppRotation[] = [];
  for (const r of records) {
    const refresh = r.refresh;
    if (r.account !== account || !refresh || !r.keys?.includes(refresh.key) || r.stopped) continue;
    const file = await open(r);
    const token = file && envValueOf(file.text, refresh.key);
    if (!file || !token || fingerprint(token) === refresh.written) continue;
    const keys = r.keys;
    found.push({
      refreshToken: token,
      where: file.where,
      stillWritable: async () => (await file.reread()) === file.text,
      writeBack: async pair => {
        const now = await file.reread();
        if (now !== file.text) throw new Error(`${file.where} changed since it was read`);
        const names: EnvVariableNames = { accessToken: file.names.accessToken, refreshToken: refresh.key, expiresAt: file.names.expiresAt };
        const values = envValuesFor(pair, names).filter(([k]) => keys.includes(k));
        await file.write(upsertEnv(now, values).text, pair.refreshToken);
      },
    });
  }
  return found;
}
