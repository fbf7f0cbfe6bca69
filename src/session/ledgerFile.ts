import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import path = require('path');
import { LedgerStore, parseLedger, RefreshLedger } from './refreshSchedule';
import { retrySharing } from './sharingRetry';

/**
 * One app's {@link RefreshLedger} in a JSON file beside its refresh lock (VS Code's
 * globalStorageUri, seen by every window of the user). Written through a temp file and a rename,
 * so a reader never sees half of it (on Windows the rename is retried while another process holds
 * the file: sharingRetry.ts). Holds request times and error words, never a token.
 */
export class FileLedgerStore implements LedgerStore {
  constructor(readonly file: string) {}

  async read(): Promise<RefreshLedger> {
    try {
      return parseLedger(await fs.readFile(this.file, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return parseLedger(undefined);
      throw e;
    }
  }

  async write(ledger: RefreshLedger): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(ledger), { mode: 0o600 });
    try {
      await retrySharing(() => fs.rename(tmp, this.file));
    } catch (e) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw e;
    }
  }
}
