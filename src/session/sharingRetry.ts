/**
 * Windows refuses to rename, replace or delete a file while another process holds it open without
 * sharing it (a virus scanner, the search indexer, a backup tool), and a name whose file was
 * deleted while still open stays taken until the last handle closes. Node reports these as
 * `EPERM`, `EBUSY` or `EACCES`; they clear within milliseconds. On POSIX the same codes mean a
 * real permission problem, so only Windows retries.
 *
 * The schedule is bounded: 5 retries after 10, 20, 40, 80 and 160 ms (310 ms in all), then the
 * last error is thrown.
 */
export const SHARING_RETRY_DELAYS_MS: readonly number[] = [10, 20, 40, 80, 160];

const SHARING_CODES = new Set(['EPERM', 'EBUSY', 'EACCES']);

/** Whether `e` is what Windows reports for a file held open by someone else (never on POSIX). */
export function isSharingViolation(e: unknown, platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'win32' && SHARING_CODES.has((e as NodeJS.ErrnoException)?.code ?? '');
}

export interface SharingRetryOptions {
  readonly platform?: NodeJS.Platform;
  /** Waits `ms` milliseconds (tests hand in a recorder). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `op`, again after each delay of {@link SHARING_RETRY_DELAYS_MS} while it fails with a
 * Windows sharing violation. @throws the first other error, or the last sharing violation.
 */
export async function retrySharing<T>(op: () => Promise<T>, options: SharingRetryOptions = {}): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>(r => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (attempt >= SHARING_RETRY_DELAYS_MS.length || !isSharingViolation(e, options.platform)) throw e;
      await sleep(SHARING_RETRY_DELAYS_MS[attempt]);
    }
  }
}
