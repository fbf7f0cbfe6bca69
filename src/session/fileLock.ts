import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import os = require('os');
import path = require('path');
import { isSharingViolation, retrySharing } from './sharingRetry';

/**
 * An exclusive lock shared by every window and process of the user: a file linked into place
 * (atomic and exclusive, like `O_CREAT|O_EXCL`) in a folder they all see (VS Code's globalStorageUri).
 * It is a lease: the holder renews it (touches the file) every third of `staleMs`; a lock whose
 * holder died (same host, process gone) or that nobody renewed for `staleMs` is taken over, so a
 * holder that stops answering loses it within `staleMs` (case K13).
 *
 * Takeover renames the stale file to a unique name first, so of two processes that find the same
 * stale lock only one removes it.
 *
 * Windows: a lock file removed while another process reads it keeps its name until that reader
 * closes it (link() then fails with EPERM: treated as held, retried until the timeout), and the
 * release's removal is retried on sharing violations (sharingRetry.ts, at most 310 ms).
 */
export interface FileLockOptions {
  /** A lock not renewed for this long (milliseconds) is stale; the holder renews it every third of it. */
  readonly staleMs: number;
  /** How often to retry while another process holds the lock, in milliseconds. */
  readonly retryMs?: number;
  readonly now?: () => number;
}

export interface LockHandle {
  /** Releases the lock; safe to call twice. */
  release(): Promise<void>;
  /** What the caller waited for before it got the lock, when it waited over a second (for the log). */
  readonly waited?: string;
}

interface LockContent {
  token: string;
  pid: number;
  host: string;
  at: number;
}

export class LockTimeoutError extends Error {
  constructor(readonly lockPath: string, waitedMs: number) {
    super(`Another VS Code window kept the lock ${path.basename(lockPath)} for more than ${waitedMs} ms.`);
    this.name = 'LockTimeoutError';
  }
}

export class FileLock {
  private readonly now: () => number;

  constructor(readonly lockPath: string, private readonly options: FileLockOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Waits up to `timeoutMs` milliseconds for the lock. Throws {@link LockTimeoutError}. */
  async acquire(timeoutMs: number): Promise<LockHandle> {
    const started = Date.now();
    await fs.mkdir(path.dirname(this.lockPath), { recursive: true });
    let holder: string | undefined;
    for (;;) {
      const handle = await this.tryAcquire();
      const waitedMs = Date.now() - started;
      if (handle) return waitedMs > 1000 ? { ...handle, waited: `${(waitedMs / 1000).toFixed(1)} s for the lock ${path.basename(this.lockPath)}${holder ? `, held by ${holder}` : ''}` } : handle;
      holder ??= await describeHolder(this.lockPath);
      if (waitedMs >= timeoutMs) throw new LockTimeoutError(this.lockPath, timeoutMs);
      await sleep((this.options.retryMs ?? 50) * (0.5 + Math.random()));
    }
  }

  /** One attempt: the handle, or undefined when a live holder has it. */
  async tryAcquire(): Promise<LockHandle | undefined> {
    const content: LockContent = { token: randomBytes(12).toString('hex'), pid: process.pid, host: os.hostname(), at: this.now() };
    // Write the content first, then link it into place: link() fails with EEXIST like O_EXCL, and a
    // holder killed at any point never leaves an empty lock file whose owner cannot be known.
    const tmp = `${this.lockPath}.${content.token}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(content));
    try {
      await fs.link(tmp, this.lockPath);
      return this.handle(content.token);
    } catch (e) {
      // Windows: a lock file deleted while another process still reads it keeps its name until that
      // reader closes it, and link() then fails with EPERM instead of EEXIST. Held, for now.
      if (isSharingViolation(e)) return undefined;
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await fs.rm(tmp, { force: true });
    }
    await this.removeIfStale();
    return undefined;
  }

  private handle(token: string): LockHandle {
    let released = false;
    // Renew the lease while held; touching a file another process took over only lengthens its lease.
    const renew = setInterval(() => {
      void readLock(this.lockPath).then(c => (c?.token === token ? fs.utimes(this.lockPath, new Date(), new Date()) : undefined)).catch(() => undefined);
    }, Math.max(50, Math.floor(this.options.staleMs / 3)));
    renew.unref?.();
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        // Only remove the file if it is still ours (a takeover after staleness may have replaced it).
        const current = await readLock(this.lockPath);
        if (current?.token === token) await retrySharing(() => fs.rm(this.lockPath, { force: true }));
      },
    };
  }

  private async removeIfStale(): Promise<void> {
    const current = await readLock(this.lockPath);
    if (current === null) return; // vanished meanwhile: retry at once
    let stale: boolean;
    if (current === undefined) {
      // Unreadable or half-written: judge by the file's age.
      const st = await fs.stat(this.lockPath).catch(() => undefined);
      stale = st !== undefined && this.now() - st.mtimeMs > this.options.staleMs;
    } else {
      const st = await fs.stat(this.lockPath).catch(() => undefined);
      const renewedAt = Math.max(current.at, st?.mtimeMs ?? 0);
      stale = this.now() - renewedAt > this.options.staleMs || (current.host === os.hostname() && !processAlive(current.pid));
    }
    if (!stale) return;
    const aside = `${this.lockPath}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await fs.rename(this.lockPath, aside);
    } catch {
      return; // another process took it over first
    }
    await fs.rm(aside, { force: true });
  }
}

/** Parsed content, `undefined` when unreadable, `null` when the file does not exist. */
async function readLock(p: string): Promise<LockContent | undefined | null> {
  let text: string;
  try {
    text = await fs.readFile(p, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
  try {
    const o = JSON.parse(text) as LockContent;
    return typeof o.token === 'string' && typeof o.at === 'number' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** "process 123 on host, since 12:00:01" for the log, from a lock file's content. */
async function describeHolder(p: string): Promise<string | undefined> {
  const c = await readLock(p);
  if (!c) return undefined;
  const st = await fs.stat(p).catch(() => undefined);
  return `process ${c.pid} on ${c.host === os.hostname() ? 'this host' : c.host}, taken ${new Date(c.at).toISOString()}${st ? `, last renewed ${new Date(st.mtimeMs).toISOString()}` : ''}`;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(r => setTimeout(r, ms));
}

/**
 * One-time claims (a callback's `state` is accepted once, case K8): an empty file per claim,
 * created exclusively. Names are hashes, so no state value reaches the disk.
 */
export class ClaimRegistry {
  constructor(private readonly dir: string) {}

  private file(key: string): string {
    return path.join(this.dir, createHash('sha256').update(key).digest('hex'));
  }

  /** True the first time `key` is claimed by anyone; false afterwards. */
  async claim(key: string): Promise<boolean> {
    await fs.mkdir(this.dir, { recursive: true });
    try {
      await fs.writeFile(this.file(key), '', { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  async wasClaimed(key: string): Promise<boolean> {
    return fs.stat(this.file(key)).then(() => true, () => false);
  }

  /** Removes claims older than `maxAgeMs` milliseconds. */
  async prune(maxAgeMs: number, nowMs = Date.now()): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    await Promise.all(
      names.map(async n => {
        const p = path.join(this.dir, n);
        const st = await fs.stat(p).catch(() => undefined);
        if (st && nowMs - st.mtimeMs > maxAgeMs) await fs.rm(p, { force: true });
      }),
    );
  }
}
