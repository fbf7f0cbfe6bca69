import * as assert from 'assert';
import { dayAndTime, durationWords, logWhen, whenText } from '../../src/session/timeWords';

// Every case reads the same instants in two time zones (explicit `timeZone`, so the machine's own does not matter).
const NOW = Date.parse('2026-12-06T21:57:00Z'); // Berlin: Sun 6 Dec 22:57; Los Angeles: Sun 6 Dec 13:57
const BERLIN = { locale: 'en-GB', timeZone: 'Europe/Berlin' };
const LA = { locale: 'en-GB', timeZone: 'America/Los_Angeles' };
const MIN = 60_000;
const H = 60 * MIN;

describe('timeWords: times a person can read (issue 19.1)', () => {
  it('today: relative and the clock time, no day word', () => {
    assert.equal(whenText(NOW + 40 * MIN, NOW, BERLIN), 'in 40 min, 23:37');
    assert.equal(whenText(NOW + 40 * MIN, NOW, LA), 'in 40 min, 14:37');
  });

  it('tomorrow: says "tomorrow" where it is tomorrow in the user\'s zone, and only there', () => {
    // The case from the issue: a time after midnight read before it.
    assert.equal(whenText(NOW + 3 * H + 58 * MIN, NOW, BERLIN), 'in 3 h 58 min, tomorrow 02:55');
    assert.equal(whenText(NOW + 3 * H + 58 * MIN, NOW, LA), 'in 3 h 58 min, 17:55');
    assert.equal(whenText(NOW + 23 * H, NOW, LA), 'in 23 h, tomorrow 12:57');
  });

  it('later: the weekday and date, no relative part past 24 hours; the year only when it differs', () => {
    assert.equal(whenText(NOW + 3 * 24 * H, NOW, BERLIN), 'Wed 9 Dec, 22:57');
    assert.equal(whenText(NOW + 3 * 24 * H + 3 * H, NOW, BERLIN), 'Thu 10 Dec, 01:57');
    assert.equal(whenText(NOW + 3 * 24 * H + 3 * H, NOW, LA), 'Wed 9 Dec, 16:57');
    assert.match(whenText(NOW + 40 * 24 * H, NOW, BERLIN), /2027/);
    assert.doesNotMatch(whenText(NOW + 3 * 24 * H, NOW, BERLIN), /2026/);
  });

  it('past: "ago", "yesterday", or the date', () => {
    assert.equal(whenText(NOW - 20 * MIN, NOW, BERLIN), '20 min ago, 22:37');
    assert.equal(whenText(NOW - 14 * H, NOW, BERLIN), '14 h ago, 08:57');
    assert.equal(whenText(NOW - 14 * H, NOW, LA), '14 h ago, yesterday 23:57');
    assert.equal(whenText(NOW - 5 * 24 * H, NOW, LA), 'Tue 1 Dec, 13:57');
    assert.equal(whenText(NOW + 10_000, NOW, LA), 'in <1 min, 13:57');
    assert.equal(whenText(NOW + 400, NOW, LA), 'now, 13:57');
  });

  it('the day words and the clock come from the locale (Intl), the rest from the words handed in', () => {
    const de = { locale: 'de-DE', timeZone: 'Europe/Berlin' };
    const words = { future: (d: string) => `in ${d}`, past: (d: string) => `vor ${d}`, now: 'jetzt', hourUnit: 'Std.', minuteUnit: 'Min.' };
    assert.equal(whenText(NOW + 3 * H + 58 * MIN, NOW, de, words), 'in 3 Std. 58 Min., morgen 02:55');
    assert.equal(dayAndTime(NOW + 3 * H + 58 * MIN, NOW, { locale: 'en-US', timeZone: 'Europe/Berlin' }), 'tomorrow 02:55 AM');
  });

  it('log lines keep the ISO 8601 UTC instant beside the words', () => {
    assert.equal(logWhen(NOW + 3 * H + 58 * MIN, NOW, BERLIN), 'in 3 h 58 min, tomorrow 02:55 (2026-12-07T01:55:00.000Z)');
  });

  it('durations round to the nearest minute', () => {
    assert.equal(durationWords(59_999), '1 min');
    assert.equal(durationWords(2 * H), '2 h');
    assert.equal(durationWords(-(26 * H + 61 * MIN)), '27 h 1 min');
  });
});
