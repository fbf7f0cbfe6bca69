import { LockHandle, LockTimeoutError } from '../../src/session/fileLock';
import { SessionStore } from '../../src/session/store';
import { Timers } from '../../src/session/timeLimit';
import { parseStoredTokenSet, serializeTokenSet, TokenSet } from '../../src/session/tokenSet';

/** What a store call does: answer (`ok`), throw, or never answer (a closed code-server tab, case K13). */
export type StoreFault = 'ok' | 'throw' | 'hang';

/**
 * A SessionStore in memory standing in for SecretStorage, shared by simulated windows, with faults
 * queued per operation (`readFaults`, `writeFaults`: the next call of that kind takes the first).
 */
export class MemorySessionStore implements SessionStore {
  set: TokenSet | undefined;
  readonly readFaults: StoreFault[] = [];
  readonly writeFaults: StoreFault[] = [];
  writes = 0;

  /** Told after each write that landed (to tell the other simulated windows). */
  onWrite?: () => void;

  /**
   * @param roundTripAt when given (a clock, epoch ms), every read returns the last write as
   *   SecretStorage would: serialized and parsed again at that moment (issue 17.5).
   */
  constructor(initial?: TokenSet, private readonly roundTripAt?: () => number) {
    this.set = initial;
  }

  private fault(kind: 'read' | 'write'): Promise<never> | undefined {
    const f = (kind === 'read' ? this.readFaults : this.writeFaults).shift();
    if (f === 'hang') return new Promise<never>(() => undefined);
    if (f === 'throw') return Promise.reject(new Error(kind === 'write' ? 'Cannot create an item in a locked collection' : 'Cannot get secret of a locked collection'));
    return undefined;
  }

  read(): Promise<TokenSet | undefined> {
    const set = this.set && this.roundTripAt ? parseStoredTokenSet(serializeTokenSet(this.set), this.roundTripAt()) : this.set;
    return this.fault('read') ?? Promise.resolve(set);
  }

  write(set: TokenSet): Promise<void> {
    const f = this.fault('write');
    if (f) return f;
    this.writes++;
    this.set = set;
    this.onWrite?.();
    return Promise.resolve();
  }

  async clear(): Promise<void> {
    this.set = undefined;
  }
}

/** An exclusive lock in memory shared by simulated windows; waiters give up after `timeoutMs` on the given timers. */
export class MemoryLock {
  private held = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly timers: Timers, private readonly timeoutMs = 60_000) {}

  acquire(): Promise<LockHandle> {
    const handle = (): LockHandle => {
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          const next = this.waiters.shift();
          if (next) next();
          else this.held = false;
        },
      };
    };
    if (!this.held) {
      this.held = true;
      return Promise.resolve(handle());
    }
    return new Promise<LockHandle>((resolve, reject) => {
      const wake = () => {
        this.timers.clearTimeout(timer);
        resolve(handle());
      };
      const timer = this.timers.setTimeout(() => {
        this.waiters = this.waiters.filter(w => w !== wake);
        reject(new LockTimeoutError('memory.lock', this.timeoutMs));
      }, this.timeoutMs);
      this.waiters.push(wake);
    });
  }
}
