import { promises as fs } from 'fs';
import { retrySharing } from '../../src/session/sharingRetry';
import { SessionStore } from '../../src/session/store';
import { parseStoredTokenSet, serializeTokenSet, TokenSet } from '../../src/session/tokenSet';

/**
 * A SessionStore in one JSON file, standing in for SecretStorage in plain-Node tests where several
 * processes share one store. Writes go through a temp file and a rename, so a reader never sees
 * half a file (SecretStorage is atomic per key too). On Windows a rename onto a file another process
 * is reading fails (EPERM) until that reader closes it, so the rename is retried (sharingRetry.ts).
 */
export class FileSessionStore implements SessionStore {
  constructor(private readonly file: string, private readonly now: () => number = Date.now) {}

  async read(): Promise<TokenSet | undefined> {
    try {
      return parseStoredTokenSet(await fs.readFile(this.file, 'utf8'), this.now());
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async write(set: TokenSet): Promise<void> {
    const tmp = `${this.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await fs.writeFile(tmp, serializeTokenSet(set));
    await retrySharing(() => fs.rename(tmp, this.file));
  }

  async clear(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}
