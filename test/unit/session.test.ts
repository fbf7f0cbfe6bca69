import assert from 'node:assert/strict';
import { decideRefresh, DEFAULT_REFRESH_POLICY, retryDelayMs } from '../../src/session/policy';
import { accessTokenTimeLeft, appNameFromScope, refreshTokenDaysLeft, formatDuration, parseStoredTokenSet, serializeTokenSet, StoredTokenSetError, TokenSet } from '../../src/session/tokenSet';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;
const set = (o: Partial<TokenSet> = {}): TokenSet => ({
  accessToken: 'A',
  refreshToken: 'R',
  accessTokenExpiresAt: NOW + 24 * H,
  refreshTokenIssuedAt: NOW,
  scope: 'full|ab123.infusionsoft.com',
  appName: 'ab123',
  clientId: 'cid',
  ...o,
});

describe('token set', () => {
  it('reads the app name from the scope', () => {
    assert.equal(appNameFromScope('full|ab123.infusionsoft.com'), 'ab123');
    assert.equal(appNameFromScope('full'), undefined);
    assert.equal(appNameFromScope(''), undefined);
    assert.equal(appNameFromScope('full|'), undefined);
  });
  it('round-trips through storage JSON', () => {
    const s = set({ user: { name: 'Dana', email: 'd@example.com' } });
    assert.deepEqual(parseStoredTokenSet(serializeTokenSet({ ...s, generation: 'g1' }), NOW), { ...s, refreshTokenRejectedAt: undefined, generation: 'g1' });
  });
  it('K2: an expiry beyond Keap\'s longest lifetime is distrusted and becomes unknown', () => {
    const year2072 = NOW + 46 * 365 * D;
    assert.equal(parseStoredTokenSet(serializeTokenSet(set({ accessTokenExpiresAt: year2072 })), NOW).accessTokenExpiresAt, undefined);
    // An expires_in saved as if it were absolute (86400 → 1970) is unknown too.
    assert.equal(parseStoredTokenSet(serializeTokenSet(set({ accessTokenExpiresAt: 86400 })), NOW).accessTokenExpiresAt, undefined);
    assert.equal(parseStoredTokenSet(serializeTokenSet(set()), NOW).accessTokenExpiresAt, NOW + 24 * H);
  });
  it('refuses what is not a token set', () => {
    for (const j of ['', 'x', '{}', '{"accessToken":"A"}', '[]', 'null']) assert.throws(() => parseStoredTokenSet(j, NOW), StoredTokenSetError);
  });
  it('formats time left, rounding down', () => {
    assert.equal(formatDuration(24 * H - 1), '23h 59m');
    assert.equal(formatDuration(59 * 60_000 + 59_999), '59m');
    assert.equal(formatDuration(-5), '0m');
    assert.equal(formatDuration(H), '1h 0m');
    assert.equal(formatDuration(3 * D + 4 * H), '3d 4h');
    assert.equal(accessTokenTimeLeft(set(), NOW + H), 23 * H);
    assert.equal(accessTokenTimeLeft(set({ accessTokenExpiresAt: undefined }), NOW), undefined);
  });
  it('counts the refresh token\'s days left from its issue time and the assumed lifetime', () => {
    assert.equal(refreshTokenDaysLeft(set(), NOW, 45 * D), 45);
    assert.equal(refreshTokenDaysLeft(set(), NOW + 1, 45 * D), 45);
    assert.equal(refreshTokenDaysLeft(set(), NOW + 38 * D + 1, 45 * D), 7);
    assert.equal(refreshTokenDaysLeft(set(), NOW + 45 * D, 45 * D), 0);
    assert.equal(refreshTokenDaysLeft(set(), NOW + 400 * D, 45 * D), 0);
  });
});

describe('refresh policy (fake clock at every boundary)', () => {
  const p = DEFAULT_REFRESH_POLICY;
  it('a fresh token waits until 60 minutes before expiry', () => {
    assert.deepEqual(decideRefresh(set(), NOW, p), { action: 'wait', untilMs: NOW + 23 * H });
  });
  it('one millisecond before the boundary waits; at it refreshes', () => {
    assert.equal(decideRefresh(set(), NOW + 23 * H - 1, p).action, 'wait');
    assert.deepEqual(decideRefresh(set(), NOW + 23 * H, p), { action: 'refresh', reason: 'access-token-expiring' });
  });
  it('V4: waking after 10 hours past expiry refreshes at once', () => {
    assert.deepEqual(decideRefresh(set(), NOW + 34 * H, p), { action: 'refresh', reason: 'access-token-expiring' });
  });
  it('keep-alive once the refresh token is 30 days old', () => {
    const old = set({ refreshTokenIssuedAt: NOW - 30 * D, accessTokenExpiresAt: NOW + 20 * H });
    assert.deepEqual(decideRefresh(old, NOW, p), { action: 'refresh', reason: 'keep-alive' });
    const younger = set({ refreshTokenIssuedAt: NOW - 30 * D + 1, accessTokenExpiresAt: NOW + 20 * H });
    assert.deepEqual(decideRefresh(younger, NOW, p), { action: 'wait', untilMs: NOW + 1 });
  });
  it('an unknown expiry refreshes an hour after the last answer, never in a loop; a rejected refresh token never does', () => {
    assert.deepEqual(decideRefresh(set({ accessTokenExpiresAt: undefined }), NOW, p), { action: 'wait', untilMs: NOW + H });
    assert.deepEqual(decideRefresh(set({ accessTokenExpiresAt: undefined }), NOW + H, p), { action: 'refresh', reason: 'expiry-unknown' });
    assert.deepEqual(decideRefresh(set({ accessTokenExpiresAt: undefined, refreshTokenIssuedAt: NOW - 30 * D }), NOW, p), { action: 'refresh', reason: 'expiry-unknown' });
    assert.equal(decideRefresh(set({ refreshTokenRejectedAt: NOW }), NOW + 48 * H, p).action, 'none');
  });
  it('a one-hour access token is refreshed at half its life, not at once', () => {
    assert.deepEqual(decideRefresh(set({ accessTokenExpiresAt: NOW + H }), NOW, p), { action: 'wait', untilMs: NOW + H / 2 });
  });
  it('K12: a keep-alive refresh Keap answered without a new refresh token is not repeated', () => {
    // The refresh token is 31 days old; the access token came from a refresh an hour ago that kept it.
    const kept = set({ refreshTokenIssuedAt: NOW - 31 * D, accessTokenExpiresAt: NOW + 23 * H });
    assert.deepEqual(decideRefresh(kept, NOW, p), { action: 'wait', untilMs: NOW + 22 * H });
  });
  it('backs off exponentially from 30 s to 15 min, never under Retry-After', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(a => retryDelayMs(a)), [30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000]);
    assert.equal(retryDelayMs(1, 120_000), 120_000);
    assert.equal(retryDelayMs(3, 1000), 120_000);
  });
});
