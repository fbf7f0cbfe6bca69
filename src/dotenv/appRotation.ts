import { fingerprint } from '../session/accounts';
import { envValueOf } from './envFile';

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
}

/** A refresh token found where this extension wrote another one; `where` names the file for the log. */
export interface AppRotation {
  readonly refreshToken: string;
  readonly where: string;
}

/**
 * The refresh tokens the user's app wrote back: `read` is called only for the records of `account`
 * that name their refresh-token variable; a token is kept only when it differs from the one this
 * extension wrote there (as `dotenv.parse` reads the file).
 */
export async function appRotations(
  records: readonly EnvFileRecord[],
  account: string,
  read: (record: EnvFileRecord) => Promise<{ text: string; where: string } | undefined>,
): Promise<AppRotation[]> {
  const found: AppRotation[] = [];
  for (const r of records) {
    if (r.account !== account || !r.refresh || !r.keys?.includes(r.refresh.key)) continue;
    const file = await read(r);
    const token = file && envValueOf(file.text, r.refresh.key);
    if (token && fingerprint(token) !== r.refresh.written) found.push({ refreshToken: token, where: file.where });
  }
  return found;
}
