import { Timers } from './timeLimit';

/** How often the wall clock is compared with the monotonic one (ms). */
export const CLOCK_TICK_MS = 30_000;
/** A wall clock that moved this much more (or less) than the monotonic one between two ticks jumped (ms). */
export const CLOCK_JUMP_MS = 60_000;

/** The wall clock (epoch ms), a monotonic clock (ms from any origin, e.g. performance.now) and timers. */
export interface WatchedClock extends Timers {
  now(): number;
  monotonic(): number;
}

/**
 * Notices that this machine's wall clock jumped: set by hand or by a time service, or a sleep (a
 * monotonic clock stands still while the machine sleeps, the wall clock does not, so a wake-up looks
 * like a jump forward). Every {@link CLOCK_TICK_MS} it compares how far the two clocks moved since
 * the last tick and calls `onJump` with the difference (ms, positive when the wall clock went
 * forward) when it is over {@link CLOCK_JUMP_MS}. One timer; a tick costs two clock reads.
 */
export class ClockWatch {
  private timer: unknown;
  private wall: number;
  private mono: number;

  /** @param tickMs how often to compare (ms; tests of other things may tick less often). */
  constructor(private readonly clock: WatchedClock, private readonly onJump: (jumpMs: number) => void, private readonly tickMs = CLOCK_TICK_MS) {
    this.wall = clock.now();
    this.mono = clock.monotonic();
    this.arm();
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(() => {
      this.check();
      this.arm();
    }, this.tickMs);
  }

  /** Compares the clocks now (the timer does it every tick); returns the jump it reported, if any (ms). */
  check(): number | undefined {
    const wall = this.clock.now();
    const mono = this.clock.monotonic();
    const jump = wall - this.wall - (mono - this.mono);
    this.wall = wall;
    this.mono = mono;
    if (Math.abs(jump) <= CLOCK_JUMP_MS) return undefined;
    this.onJump(jump);
    return jump;
  }

  dispose(): void {
    this.clock.clearTimeout(this.timer);
  }
}
