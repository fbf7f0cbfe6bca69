/**
 * Times a person can read: every time the extension shows (the next refresh, a retry, a pause, a
 * quota reset, a token's expiry) goes through {@link whenText}, so each says the day when it is
 * not today ("tomorrow 02:55", "Tue, Dec 8, 14:05") and reads relative where that is clearer
 * ("in 3 h 10 min, tomorrow 02:55"). Pure: no `vscode` import; the caller hands in the clock, the
 * locale and the time zone (the VS Code layer passes `vscode.env.language` and the machine's zone).
 *
 * Found by a new-user pass (issue 19): "the next automatic refresh is at 2:55:55 AM", read at
 * 2:57 AM, meant tomorrow.
 */

/** Where and how a time is read. Both default to the runtime's own (the user's machine). */
export interface TimeZoneOptions {
  /** A BCP 47 locale ("en-US", "de"), undefined for the runtime's default. */
  readonly locale?: string;
  /** An IANA time zone ("Europe/Berlin"), undefined for the machine's. */
  readonly timeZone?: string;
}

/**
 * The few words that are not produced by Intl (which localises the day words and the clock time):
 * `future(d)` "in 3 h 10 min", `past(d)` "3 h 10 min ago", `now` for less than a minute away.
 * The VS Code layer passes its `vscode.l10n.t` versions; the default is English.
 */
export interface RelativeWords {
  future(duration: string): string;
  past(duration: string): string;
  readonly now: string;
  /** "h" and "min" units of {@link durationWords}. */
  readonly hourUnit: string;
  readonly minuteUnit: string;
}

export const ENGLISH_WORDS: RelativeWords = {
  future: d => `in ${d}`,
  past: d => `${d} ago`,
  now: 'now',
  hourUnit: 'h',
  minuteUnit: 'min',
};

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** Up to this far from now (ms) a time is also said relatively ("in 3 h 10 min"). */
export const RELATIVE_WITHIN_MS = 24 * HOUR_MS;

/**
 * A duration in whole minutes, rounded to the nearest minute: "45 min", "3 h 10 min", "26 h"; "<1 min" under 30 s.
 * @param ms milliseconds (the sign is ignored).
 */
export function durationWords(ms: number, words: Pick<RelativeWords, 'hourUnit' | 'minuteUnit'> = ENGLISH_WORDS): string {
  const minutes = Math.round(Math.abs(ms) / MINUTE_MS);
  if (minutes === 0) return `<1 ${words.minuteUnit}`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h === 0) return `${m} ${words.minuteUnit}`;
  return m === 0 ? `${h} ${words.hourUnit}` : `${h} ${words.hourUnit} ${m} ${words.minuteUnit}`;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** One DateTimeFormat per locale, zone and options (building one costs far more than using it). */
function dateFormat(locale: string | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify([locale ?? '', options]);
  let f = formats.get(key);
  if (!f) {
    if (formats.size > 64) formats.clear();
    f = new Intl.DateTimeFormat(locale, options);
    formats.set(key, f);
  }
  return f;
}

/** The calendar day of `ms` in `timeZone`, as a day number (days since 1970-01-01 of that calendar). */
function dayNumber(ms: number, timeZone: string | undefined): number {
  const parts = dateFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }).formatToParts(ms);
  const get = (t: string) => Number(parts.find(p => p.type === t)?.value);
  return Math.round(Date.UTC(get('year'), get('month') - 1, get('day')) / 86_400_000);
}

/**
 * The day and clock time of `atMs` as read at `nowMs`: "14:05" today, "tomorrow 02:55",
 * "yesterday 23:10" (the locale's words, from Intl.RelativeTimeFormat), else the weekday and date
 * ("Tue, Dec 8, 14:05"); the year is added when it is not the current one.
 * @param atMs, nowMs epoch milliseconds.
 */
export function dayAndTime(atMs: number, nowMs: number, opts: TimeZoneOptions = {}): string {
  const { locale, timeZone } = opts;
  const time = dateFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit' }).format(atMs);
  const days = dayNumber(atMs, timeZone) - dayNumber(nowMs, timeZone);
  if (days === 0) return time;
  if (days === 1 || days === -1) {
    const word = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(days, 'day');
    return `${word} ${time}`;
  }
  const yearOf = (ms: number) => dateFormat('en-US', { timeZone, year: 'numeric' }).format(ms);
  return dateFormat(locale, {
    timeZone,
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    year: yearOf(atMs) === yearOf(nowMs) ? undefined : 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  }).format(atMs);
}

/**
 * A time as a person reads it at `nowMs`: within 24 hours both relative and absolute ("in 3 h 10
 * min, tomorrow 02:55", "20 min ago, 13:45", "in <1 min, 14:05", "now, 14:05" within a second); further away the day and time alone.
 * @param atMs, nowMs epoch milliseconds.
 */
export function whenText(atMs: number, nowMs: number, opts: TimeZoneOptions = {}, words: RelativeWords = ENGLISH_WORDS): string {
  const at = dayAndTime(atMs, nowMs, opts);
  const delta = atMs - nowMs;
  if (Math.abs(delta) >= RELATIVE_WITHIN_MS) return at;
  if (Math.abs(delta) < 1000) return `${words.now}, ${at}`;
  const d = durationWords(delta, words);
  return `${delta > 0 ? words.future(d) : words.past(d)}, ${at}`;
}

/**
 * For log lines a user reads: {@link whenText} in English with the ISO 8601 UTC time beside it,
 * "in 3 h 10 min, tomorrow 02:55 (2026-12-07T01:55:00.000Z)", so a log pasted into an issue
 * still says the exact instant.
 */
export function logWhen(atMs: number, nowMs: number, opts: TimeZoneOptions = {}): string {
  return `${whenText(atMs, nowMs, opts)} (${new Date(atMs).toISOString()})`;
}
