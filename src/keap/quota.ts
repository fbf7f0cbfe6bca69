import { HeaderReader } from './errors';

/** One rate-limit bucket Keap reported on an answer. */
export interface QuotaBucket {
  /** `minute`, `day`, … as Keap writes it (lower-cased). */
  readonly timeUnit: string;
  /** Calls allowed per bucket. */
  readonly limit?: number;
  /** Calls left in the current bucket. */
  readonly available?: number;
  /** When the bucket refills, epoch milliseconds (only the quota headers carry it). */
  readonly resetsAt?: number;
}

/**
 * Reads Keap's `x-keap-product-quota-*` and `x-keap-product-throttle-*` headers
 * (developer.infusionsoft.com/api-token-quota-and-usage-measurements: 150,000 calls a day and
 * 1,500 a minute per client; `…-expiry-time` is epoch milliseconds; a value may be a `|`-joined
 * list such as `minute|day`, one entry per bucket). Returns every bucket it could read, the daily
 * one first when there is one. Never throws: a missing, empty or malformed header only leaves
 * that value out, and an expiry before the year 2000 (not epoch milliseconds) is ignored.
 */
export function parseKeapQuota(headers: HeaderReader): QuotaBucket[] {
  const buckets: QuotaBucket[] = [];
  for (const family of ['quota', 'throttle']) {
    const list = (field: string) => {
      let v: string | null = null;
      try {
        v = headers.get(`x-keap-product-${family}-${field}`);
      } catch {
        // A header reader that throws is a header we cannot read.
      }
      return typeof v === 'string' ? v.split('|').map(s => s.trim()) : [];
    };
    const num = (s: string | undefined) => (s !== undefined && /^\d{1,16}$/.test(s) ? Number(s) : undefined);
    const units = list('time-unit');
    const [limits, available, expiries] = [list('limit'), list('available'), list('expiry-time')];
    for (let i = 0; i < Math.min(units.length, 4); i++) {
      const timeUnit = units[i].toLowerCase();
      if (!/^[a-z]{1,16}$/.test(timeUnit)) continue;
      const resetsAt = num(expiries[i]);
      buckets.push({
        timeUnit,
        limit: num(limits[i]),
        available: num(available[i]),
        resetsAt: resetsAt !== undefined && resetsAt >= 946_684_800_000 ? resetsAt : undefined,
      });
    }
  }
  return buckets.sort((a, b) => Number(b.timeUnit === 'day') - Number(a.timeUnit === 'day'));
}
