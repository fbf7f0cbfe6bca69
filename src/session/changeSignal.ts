import { mkdirSync, promises as fs, watch, FSWatcher } from 'fs';
import { randomBytes } from 'crypto';
import path = require('path');
import { retrySharing } from './sharingRetry';

/**
 * A cross-process "something changed, read again" signal: a small file in a folder every window
 * of the user shares (globalStorageUri), rewritten on each change and watched by every window.
 * It carries no data (never a token): readers go back to SecretStorage. SecretStorage's own
 * `onDidChange` does not reach other windows on every host (not in code-server), so this closes
 * that gap; where both fire, the second read finds nothing new.
 */
export class ChangeSignal {
  private readonly file: string;

  constructor(dir: string, readonly name: string) {
    this.file = path.join(dir, `${name}.changed`);
  }

  /**
   * Tells every watcher that `name` changed. `generation` is an opaque random id of the new state
   * (never derived from a token), so a window can tell whether its own view of SecretStorage is
   * current. Never throws.
   */
  async notify(generation = ''): Promise<void> {
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      // A name of its own per call: two notifications at once in one process must not share a temp file.
      const tmp = `${this.file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      await fs.writeFile(tmp, `${generation}\n${process.pid} ${Date.now()}`);
      await retrySharing(() => fs.rename(tmp, this.file)).catch(async e => {
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw e;
      });
    } catch {
      // A missed signal only delays other windows until their next focus or timer.
    }
  }

  /** The generation id of the last notification, or undefined when none was recorded. */
  async generation(): Promise<string | undefined> {
    try {
      const first = (await fs.readFile(this.file, 'utf8')).split('\n')[0].trim();
      return first || undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Calls `onChange` (debounced by `debounceMs` milliseconds) whenever any process notifies.
   * Returns a disposer. Falls back to nothing if the folder cannot be watched.
   */
  watch(onChange: () => void, debounceMs = 50): { dispose(): void } {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    const base = path.basename(this.file);
    const dir = path.dirname(this.file);
    const start = () =>
      watch(dir, (_event, filename) => {
        if (filename && filename.toString() !== base) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      });
    try {
      // The folder is made only when it is missing (a new profile): a syscall less at every start.
      try {
        watcher = start();
      } catch (e) {
        if ((e as NodeJS.ErrnoException)?.code !== 'ENOENT') throw e;
        mkdirSync(dir, { recursive: true });
        watcher = start();
      }
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined;
    }
    return {
      dispose: () => {
        if (timer) clearTimeout(timer);
        watcher?.close();
      },
    };
  }
}
