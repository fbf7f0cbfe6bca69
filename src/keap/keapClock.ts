/**
 * Keap's clock, as its answers tell it. Every HTTP answer carries a `Date` header (RFC 7231
 * §7.1.1.2: the moment the answer was generated, in IMF-fixdate, whole seconds, GMT). When this
 * machine's clock is more than {@link KEAP_CLOCK_THRESHOLD_MS} off it, refreshes are timed by
 * Keap's clock (issue 13). All times are epoch milliseconds; all offsets and durations milliseconds.
 */

/** This machine's clock may differ from Keap's by this much (ms) before Keap's is used: 2 minutes. */
export const KEAP_CLOCK_THRESHOLD_MS = 120_000;
/**
 * A `Date` further than this from this machine's clock (ms, 24 hours) is ignored: no clock is that
 * far off by accident, tokens live at most 24 hours, and a proxy or a fake server can answer
 * anything.
 */
export const MAX_KEAP_CLOCK_OFFSET_MS = 86_400_000;
/** An answer that took longer than this (ms) says too little about when its `Date` was written. */
export const MAX_SAMPLE_ROUND_TRIP_MS = 10_000;

/**
 * IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms a recipient must also
 * accept, RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`):
 * RFC 7231 §7.1.1.1. The shape only; Date.parse reads the values and refuses impossible ones.
 */
const HTTP_DATE = /^(\w{3,9}, \d\d[ -]\w{3}[ -]\d\d(\d\d)? \d\d:\d\d:\d\d GMT|\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})$/;

/** An HTTP-date (RFC 7231 §7.1.1.1) as epoch ms, or undefined for anything else (missing, empty, malformed). */
export function parseHttpDate(value: string | null | undefined): number | undefined {
  const v = value?.trim();
  if (!v || !HTTP_DATE.test(v)) return undefined;
  // asctime carries no zone: it is GMT.
  const t = Date.parse(v.endsWith('GMT') ? v : `${v} GMT`);
  return Number.isFinite(t) ? t : undefined;
}

/** What one answer says of Keap's clock: `offsetMs` = Keap's minus this machine's, give or take `errorMs`. */
export interface ClockSample {
  readonly offsetMs: number;
  readonly errorMs: number;
}

/**
 * Keap's clock minus this machine's, from an answer's `Date` header and this machine's clock when the
 * request was sent and when the answer arrived (epoch ms). Keap wrote the Date somewhere in between
 * and truncated it to the second, so the sample is taken at the midpoint and half a second later, and
 * is good to half the round trip plus half a second. Undefined when the header is missing or
 * unparseable, the round trip is negative or over {@link MAX_SAMPLE_ROUND_TRIP_MS}, or the offset is
 * over {@link MAX_KEAP_CLOCK_OFFSET_MS}.
 */
export function clockSample(dateHeader: string | null | undefined, sentAtMs: number, receivedAtMs: number): ClockSample | undefined {
  const keap = parseHttpDate(dateHeader);
  const roundTrip = receivedAtMs - sentAtMs;
  if (keap === undefined || !(roundTrip >= 0 && roundTrip <= MAX_SAMPLE_ROUND_TRIP_MS)) return undefined;
  const offsetMs = Math.round(keap + 500 - (sentAtMs + receivedAtMs) / 2);
  return Math.abs(offsetMs) > MAX_KEAP_CLOCK_OFFSET_MS ? undefined : { offsetMs, errorMs: 500 + roundTrip / 2 };
}

/**
 * One window's estimate of Keap's clock (one, not per endpoint: this machine has one clock, and Keap
 * one time). A new sample replaces the estimate only when the two disagree by more than both errors
 * together, so the Date's one-second steps and the round trip's jitter never move it, and with it no
 * decision.
 */
export class KeapClock {
  private estimate: ClockSample | undefined;
  /** Called when {@link usedOffsetMs} changes. */
  onDidChange: () => void = () => undefined;

  /** Takes an answer's `Date` (see {@link clockSample}); returns the sample, undefined when it was ignored. */
  observe(dateHeader: string | null | undefined, sentAtMs: number, receivedAtMs: number): ClockSample | undefined {
    const s = clockSample(dateHeader, sentAtMs, receivedAtMs);
    const e = this.estimate;
    if (s && (!e || Math.abs(s.offsetMs - e.offsetMs) > s.errorMs + e.errorMs)) this.set(s);
    return s;
  }

  /** This machine's clock jumped: what was measured against it no longer holds, until Keap answers again. */
  forget(): void {
    this.set(undefined);
  }

  /**
   * This machine's wall clock jumped by `jumpMs` (ms, negative: back) against its monotonic one
   * (src/session/clockWatch). Forward may be a sleep (the wall clock stays right), so the offset is
   * forgotten until Keap answers again. Back is never a sleep: the clock was set back, and Keap's
   * clock is now that much further ahead of it (the old estimate, or none taken as 0, plus the
   * jump). Forgotten, a token's expiry would be read that much later, and no Keap answer may come
   * before the token expires.
   */
  localClockJumped(jumpMs: number): void {
    const offsetMs = (this.estimate?.offsetMs ?? 0) - jumpMs;
    if (jumpMs >= 0 || Math.abs(offsetMs) > MAX_KEAP_CLOCK_OFFSET_MS) return this.forget();
    // With no estimate the old clock is taken as Keap's: good to the threshold, so a real sample replaces it when it disagrees by more.
    this.set({ offsetMs, errorMs: this.estimate?.errorMs ?? KEAP_CLOCK_THRESHOLD_MS });
  }

  /**
   * The offset refreshes are timed by (ms, Keap's clock minus this machine's): the estimate when it is
   * over {@link KEAP_CLOCK_THRESHOLD_MS}, else 0; undefined before any answer with a usable `Date`.
   */
  usedOffsetMs(): number | undefined {
    const o = this.estimate?.offsetMs;
    return o === undefined ? undefined : Math.abs(o) > KEAP_CLOCK_THRESHOLD_MS ? o : 0;
  }

  private set(s: ClockSample | undefined): void {
    const before = this.usedOffsetMs();
    this.estimate = s;
    if (this.usedOffsetMs() !== before) this.onDidChange();
  }
}
