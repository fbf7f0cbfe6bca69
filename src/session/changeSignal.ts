import { promises as fs, watch, FSWatcher } from 'fs';
import * as path from 'path';

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

  /** Tells every watcher that `name` changed. Never throws. */
  async notify(): Promise<void> {
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await fs.writeFile(this.file, `${process.pid} ${Date.now()} ${Math.random()}`);
    } catch {
      // A missed signal only delays other windows until their next focus or timer.
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
    try {
      require('fs').mkdirSync(path.dirname(this.file), { recursive: true });
      watcher = watch(path.dirname(this.file), (_event, filename) => {
        if (filename && filename.toString() !== base) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      });
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
