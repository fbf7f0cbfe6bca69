import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_ANSWER_BYTES } from '../../src/keap/boundedBody';
import { classifyKeapError, KeapError, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/keap/errors';
import { checkUserInfo } from '../../src/keap/tokenCheck';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { MAX_TOKEN_CHARS, parseTokenResponse } from '../../src/keap/tokenResponse';
import { DEFAULT_REFRESH_POLICY, decideRefresh } from '../../src/session/policy';
import { whenText } from '../../src/session/timeWords';
import { MAX_EXPIRES_IN_SECONDS, parseStoredTokenSet, serializeTokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';

/** Issue 17.5 (case S11): bounded answers, a capped Retry-After, and every expires_in round-trips through storage. */
describe('issue 17.5: bounded answers (S11)', function () {
  this.timeout(60_000);
  let fake: FakeKeap;
  beforeEach(async () => (fake = await startFakeKeap()));
  afterEach(() => fake.close());
  const client = () => new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 20_000 });
  const signIn = async () => {
    const redirectUri = 'http://localhost:9/callback';
    return client().exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
  };

  it('a 384 MiB token answer is refused after at most 64 KB (plus what was in flight), and nothing is returned', async () => {
    fake.addFault({ status: 200, body: '{"access_token":"', streamBytes: 384 * 1024 * 1024, streamFill: 'A' });
    await assert.rejects(client().refresh({ ...DEMO_CLIENT, refreshToken: 'rt-0123456789' }), (e: unknown) => {
      assert.ok(e instanceof KeapError && e.kind === 'transient', String(e));
      assert.match(e.message, /larger than 64 KB.*nothing was stored/);
      return true;
    });
    // The client hung up long before the end: the server wrote far less than the 384 MiB it had.
    await new Promise(r => setTimeout(r, 200));
    assert.ok(fake.streamedBytes() < 64 * 1024 * 1024, `the server got to write ${fake.streamedBytes()} bytes`);
  });

  it('an error body past 64 KB (a 32 MiB error_description) is refused the same way', async () => {
    fake.addFault({ status: 400, body: '{"error":"invalid_request","error_description":"', streamBytes: 32 * 1024 * 1024 });
    await assert.rejects(client().refresh({ ...DEMO_CLIENT, refreshToken: 'rt-0123456789' }), /larger than 64 KB/);
  });

  it('a userinfo answer past 64 KB: userinfo and Test Token refuse it', async () => {
    const path = '/crm/rest/v1/oauth/connect/userinfo';
    fake.addFault({ path, status: 200, body: '{"preferred_name":"', streamBytes: 2 * MAX_ANSWER_BYTES });
    await assert.rejects(client().userInfo('at-0123456789'), /larger than 64 KB/);
    fake.addFault({ path, status: 200, body: '{"preferred_name":"', streamBytes: 2 * MAX_ANSWER_BYTES });
    const check = await checkUserInfo('at-0123456789', { url: `${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, timeoutMs: 20_000 });
    assert.match(check.error?.message ?? '', /larger than 64 KB/);
  });

  it('a declared Content-Length over 64 KB is refused before reading', async () => {
    const body = JSON.stringify({ access_token: 'a', refresh_token: 'r', pad: 'p'.repeat(MAX_ANSWER_BYTES) });
    fake.addFault({ status: 200, body });
    await assert.rejects(client().refresh({ ...DEMO_CLIENT, refreshToken: 'rt-0123456789' }), /larger than 64 KB/);
  });

  it('an answer just under the limit is read', async () => {
    const set = await signIn();
    assert.ok(set.accessToken);
  });

  it(`a token over ${MAX_TOKEN_CHARS} characters is refused and nothing is stored; one of ${MAX_TOKEN_CHARS} is kept`, () => {
    const answer = (len: number) => JSON.stringify({ access_token: 'a'.repeat(len), refresh_token: 'r'.repeat(20), expires_in: 86400, scope: 'full|ab123.infusionsoft.com' });
    assert.throws(() => parseTokenResponse(answer(MAX_TOKEN_CHARS + 1), Date.now(), 'c'), (e: unknown) => e instanceof KeapError && /longer than 4096 characters/.test(e.message));
    assert.equal(parseTokenResponse(answer(MAX_TOKEN_CHARS), Date.now(), 'c').accessToken.length, MAX_TOKEN_CHARS);
  });

  it('the error words a KeapError keeps are bounded (message and description), whatever Keap sent', () => {
    const e = classifyKeapError(400, JSON.stringify({ error: 'invalid_request', error_description: 'd'.repeat(60_000) }), 'refresh_token');
    assert.ok((e.details.description ?? '').length <= 501);
    assert.ok(e.message.length < 400, `message ${e.message.length}`);
    assert.ok((e.details.bodySnippet ?? '').length <= 200);
  });

  describe('Retry-After', () => {
    const now = Date.UTC(2026, 0, 10, 12);
    it('is capped at one hour, in seconds and as an HTTP date', () => {
      assert.equal(parseRetryAfter('31536000', now), MAX_RETRY_AFTER_MS);
      assert.equal(parseRetryAfter(new Date(now + 365 * 86_400_000).toUTCString(), now), MAX_RETRY_AFTER_MS);
      assert.equal(parseRetryAfter('120', now), 120_000);
      assert.equal(MAX_RETRY_AFTER_MS, 3_600_000);
    });
    it('a 429 with Retry-After: 31536000 waits one hour, not a year', () => {
      const e = classifyKeapError(429, '{"code":"429","message":"Quota Exceeded"}', 'refresh_token', { get: n => (n === 'retry-after' ? '31536000' : null) }, now);
      assert.equal(e.details.retryAfterMs, MAX_RETRY_AFTER_MS);
    });
    it('a capped Retry-After past midnight is shown with its day, one that ends today without one (the words the tooltip uses)', () => {
      const BERLIN = { locale: 'en-GB', timeZone: 'Europe/Berlin' };
      const lateEvening = Date.parse('2026-01-10T22:30:00Z'); // 23:30 in Berlin
      assert.equal(whenText(lateEvening + 20 * 60_000, lateEvening, BERLIN), 'in 20 min, 23:50');
      assert.equal(whenText(lateEvening + MAX_RETRY_AFTER_MS, lateEvening, BERLIN), 'in 1 h, tomorrow 00:30');
    });
  });

  describe('every expires_in Keap may send round-trips through storage (property)', () => {
    /** Keap's plausible range: 1 second to 48 hours (86400 today; 28800 and 3600 in earlier years). */
    const expiresInArb = fc.oneof(fc.integer({ min: 1, max: MAX_EXPIRES_IN_SECONDS }), fc.constantFrom(3600, 28800, 86399, 86400, 86_700, 100_000, MAX_EXPIRES_IN_SECONDS));

    it('store → load gives the same expiry, read at any moment of its life', () => {
      fc.assert(
        fc.property(expiresInArb, fc.integer({ min: 1.7e12, max: 2.0e12 }), fc.double({ min: 0, max: 1, noNaN: true }), (expiresIn, receivedAt, lifeFraction) => {
          const answer = JSON.stringify({ access_token: 'at', refresh_token: 'rt', expires_in: expiresIn, scope: 'full|ab123.infusionsoft.com' });
          const set = parseTokenResponse(answer, receivedAt, 'client');
          assert.equal(set.accessTokenExpiresAt, receivedAt + expiresIn * 1000);
          const readAt = receivedAt + Math.floor(lifeFraction * expiresIn * 1000);
          const loaded = parseStoredTokenSet(serializeTokenSet(set), readAt);
          assert.equal(loaded.accessTokenExpiresAt, set.accessTokenExpiresAt, `expires_in ${expiresIn} read back at +${readAt - receivedAt} ms`);
        }),
        { numRuns: 2000 },
      );
    });

    it('the refresh decision, re-read from storage each minute for an hour, asks for at most one refresh per token answer', () => {
      fc.assert(
        fc.property(expiresInArb, fc.integer({ min: 1.7e12, max: 2.0e12 }), (expiresIn, start) => {
          // Each refresh brings a token with the same expires_in; the window reloads storage every minute (a timer, a focus).
          let stored = serializeTokenSet(parseTokenResponse(JSON.stringify({ access_token: 'at', refresh_token: 'rt', expires_in: expiresIn }), start, 'client'));
          let refreshes = 0;
          for (let t = start; t <= start + 3_600_000; t += 60_000) {
            const set = parseStoredTokenSet(stored, t);
            const d = decideRefresh({ ...set, refreshTokenIssuedAt: t }, t, DEFAULT_REFRESH_POLICY);
            assert.notEqual(d.action === 'refresh' && d.reason, 'expiry-unknown', `expires_in ${expiresIn} read back as unknown`);
            if (d.action === 'refresh') {
              refreshes++;
              stored = serializeTokenSet(parseTokenResponse(JSON.stringify({ access_token: 'at', refresh_token: 'rt', expires_in: expiresIn }), t, 'client'));
            }
          }
          // A token that lives longer than the 60-minute refresh window is refreshed at most once in the hour.
          if (expiresIn * 1000 > DEFAULT_REFRESH_POLICY.refreshBeforeExpiryMs + 3_600_000) assert.ok(refreshes <= 1, `expires_in ${expiresIn}: ${refreshes} refreshes in an hour`);
        }),
        { numRuns: 500 },
      );
    });
  });
});
