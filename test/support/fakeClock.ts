import { SchedulerClock } from '../../src/session/refreshScheduler';

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A wall clock and timers that move only when a test says so. `advance` fires every timer that
 * falls due, in time order, each at its own time, and lets the work each one starts finish (all
 * queued promise callbacks, and whatever `busy` reports, e.g. a request to a real local server)
 * before the next one fires.
 */
export class FakeClock implements SchedulerClock {
  /** Monotonic time (ms): timers run on it, as Node's do. */
  private t: number;
  /** The wall clock minus the monotonic one (ms): {@link jump} moves it. */
  private wallOffset = 0;
  private seq = 0;
  private timers: Pending[] = [];
  /** Checked after each timer: while any returns true, real time passes in small steps. */
  readonly busy: Array<() => boolean> = [];

  constructor(start: number) {
    this.t = start;
  }

  /** The wall clock (epoch ms). */
  now = (): number => this.t + this.wallOffset;

  /** A monotonic clock (ms): stands still in {@link jump}, as performance.now() does when a clock is set or the machine sleeps. */
  monotonic = (): number => this.t;

  /** The wall clock jumps by `ms` (negative: back) while no time passes: a clock set by hand, or (forward) a wake-up from sleep. Timers stay where they were. */
  jump(ms: number): void {
    this.wallOffset += ms;
  }

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers = this.timers.filter(p => p.id !== handle);
  };

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length;
  }

  /** Lets started work finish: queued promise callbacks, then whatever `busy` reports. */
  async settle(): Promise<void> {
    await new Promise(r => setImmediate(r));
    for (let i = 0; this.busy.some(b => b()); i++) {
      if (i > 2000) throw new Error('work did not settle within 10 s of real time');
      await new Promise(r => setTimeout(r, 5));
    }
  }

  /** Moves the clock forward by `ms`, firing every timer due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await this.settle();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await this.settle();
    }
    this.t = end;
  }
}
