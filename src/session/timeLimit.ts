/** setTimeout and clearTimeout, injectable so a fake clock can drive every wait. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: h => clearTimeout(h as NodeJS.Timeout),
};

/** An operation that did not finish within its time limit (case K13: a closed code-server tab's SecretStorage never answers). */
export class TimeLimitError extends Error {
  constructor(readonly what: string, readonly limitMs: number) {
    super(`${what} did not finish within ${Math.round(limitMs / 1000)} seconds`);
    this.name = 'TimeLimitError';
  }
}

/**
 * Resolves or rejects as `work` does, or rejects with {@link TimeLimitError} after `limitMs`
 * milliseconds, whichever comes first. `work` itself cannot be cancelled; its late result is dropped.
 */
export function withTimeLimit<T>(work: Promise<T>, limitMs: number, what: string, timers: Timers = REAL_TIMERS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = timers.setTimeout(() => reject(new TimeLimitError(what, limitMs)), limitMs);
    work.then(
      v => {
        timers.clearTimeout(timer);
        resolve(v);
      },
      e => {
        timers.clearTimeout(timer);
        reject(e);
      },
    );
  });
}
