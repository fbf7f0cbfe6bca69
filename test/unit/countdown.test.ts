import assert from 'node:assert/strict';
import fc from 'fast-check';
import { accessTokenCountdown, COUNTDOWN_MARGIN_MS, nextCountdownChangeInMs } from '../../src/session/countdown';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const shown = (expiresAt: number | undefined, now: number) => {
  const c = accessTokenCountdown({ accessTokenExpiresAt: expiresAt }, now);
  return c.kind === 'left' ? c.text : c.kind;
};

describe('access-token countdown (the status bar and the tree show the same minute)', () => {
  it('rounds down to whole minutes, says expired at zero, unknown without an expiry', () => {
    assert.equal(shown(NOW + 24 * 3_600_000 - 1, NOW), '23h 59m');
    assert.equal(shown(NOW + 10 * 60_000, NOW), '10m');
    assert.equal(shown(NOW + 10 * 60_000 - 1, NOW), '9m');
    assert.equal(shown(NOW + 59_999, NOW), '0m');
    assert.equal(shown(NOW + 48 * 3_600_000 + 59 * 60_000, NOW), '2d 0h');
    assert.equal(shown(NOW, NOW), 'expired');
    assert.equal(shown(NOW - 1, NOW), 'expired');
    assert.equal(shown(undefined, NOW), 'unknown');
  });

  it('names the moment the shown text changes: unchanged until then, changed at it (property, 20,000 cases)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 * 86_400_000 }), fc.integer({ min: 0, max: 10 ** 12 }), (leftMs, now) => {
        const expiresAt = now + leftMs;
        const c = accessTokenCountdown({ accessTokenExpiresAt: expiresAt }, now);
        assert.equal(c.kind, 'left');
        if (c.kind !== 'left') return;
        const change = c.nextChangeInMs - COUNTDOWN_MARGIN_MS;
        assert.ok(change >= 1 && change <= (leftMs >= 48 * 3_600_000 ? 3_600_000 : 60_000), `next change in ${change} ms`);
        // Still the same text just before the change, a different text (or expired) at it.
        assert.equal(shown(expiresAt, now + change - 1), c.text);
        assert.notEqual(shown(expiresAt, now + change), c.text);
        assert.notEqual(shown(expiresAt, now + c.nextChangeInMs), c.text);
      }),
      { numRuns: 20_000 },
    );
  });

  it('a view of several token sets re-renders at the soonest change among them', () => {
    const sets = [{ accessTokenExpiresAt: NOW + 10 * 60_000 + 30_000 }, { accessTokenExpiresAt: NOW + 5 * 60_000 + 2_000 }, { accessTokenExpiresAt: undefined }, { accessTokenExpiresAt: NOW - 1 }];
    assert.equal(nextCountdownChangeInMs(sets, NOW), 2_001 + COUNTDOWN_MARGIN_MS, '1 ms after 5m 2s left it shows 5m');
    assert.equal(nextCountdownChangeInMs([{ accessTokenExpiresAt: undefined }], NOW), undefined);
    assert.equal(nextCountdownChangeInMs([], NOW), undefined);
  });
});
