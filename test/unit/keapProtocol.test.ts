import assert from 'node:assert/strict';
import { buildAuthorizeUrl } from '../../src/keap/authorize';
import { endpointProblem, isLoopbackHost, KEAP_PRODUCTION_ENDPOINTS, userInfoUrl } from '../../src/keap/endpoints';
import { classifyKeapError, KeapError, parseRetryAfter } from '../../src/keap/errors';
import { basicAuthorization, encodeCodeExchange, encodeRefresh } from '../../src/keap/tokenRequest';
import { parseTokenResponse } from '../../src/keap/tokenResponse';

const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

describe('authorize URL', () => {
  it('carries exactly Keap\'s parameters, encoded', () => {
    const url = buildAuthorizeUrl({
      authorizeUrl: KEAP_PRODUCTION_ENDPOINTS.authorizeUrl,
      clientId: 'abc123',
      redirectUri: 'https://relay.example/keap/',
      state: 'n0nce.aHR0cDovL3g',
    });
    assert.equal(
      url,
      'https://accounts.infusionsoft.com/app/oauth/authorize?client_id=abc123&redirect_uri=https%3A%2F%2Frelay.example%2Fkeap%2F&response_type=code&scope=full&state=n0nce.aHR0cDovL3g',
    );
  });

  it('round-trips a redirect URI and state byte for byte', () => {
    const redirectUri = 'http://localhost:53123/callback';
    const state = 'abc_-.ZGVm';
    const u = new URL(buildAuthorizeUrl({ authorizeUrl: 'http://127.0.0.1:9/app/oauth/authorize', clientId: 'id', redirectUri, state }));
    assert.equal(u.searchParams.get('redirect_uri'), redirectUri);
    assert.equal(u.searchParams.get('state'), state);
    assert.equal(u.searchParams.get('response_type'), 'code');
    assert.equal(u.searchParams.get('scope'), 'full');
  });
});

describe('endpoints', () => {
  it('accepts https and loopback http only', () => {
    assert.equal(endpointProblem('https://api.infusionsoft.com/token'), undefined);
    assert.equal(endpointProblem('http://127.0.0.1:8080/token'), undefined);
    assert.equal(endpointProblem('http://localhost/token'), undefined);
    assert.match(endpointProblem('http://api.infusionsoft.com/token')!, /https/);
    assert.match(endpointProblem('not a url')!, /not a URL/);
    assert.equal(isLoopbackHost('127.10.0.1'), true);
    assert.equal(isLoopbackHost('127.0.0.1.evil.com'), false);
  });

  it('builds the userinfo URL from the API base with or without a trailing slash', () => {
    assert.equal(userInfoUrl(KEAP_PRODUCTION_ENDPOINTS), 'https://api.infusionsoft.com/crm/rest/v1/oauth/connect/userinfo');
    assert.equal(userInfoUrl({ ...KEAP_PRODUCTION_ENDPOINTS, apiBaseUrl: 'http://127.0.0.1:1/crm/rest/' }), 'http://127.0.0.1:1/crm/rest/v1/oauth/connect/userinfo');
  });
});

describe('token request encoding (K4: the exact bytes)', () => {
  it('code exchange: form body with the credentials, no Authorization header', () => {
    const r = encodeCodeExchange({ tokenUrl: 'https://api.infusionsoft.com/token', clientId: 'id1', clientSecret: 's+e/c r=t', code: 'c&d', redirectUri: 'http://localhost:53123/callback' });
    assert.equal(r.method, 'POST');
    assert.equal(r.body, 'client_id=id1&client_secret=s%2Be%2Fc+r%3Dt&code=c%26d&grant_type=authorization_code&redirect_uri=http%3A%2F%2Flocalhost%3A53123%2Fcallback');
    assert.equal(r.headers['Content-Type'], 'application/x-www-form-urlencoded');
    assert.equal(Object.keys(r.headers).some(h => h.toLowerCase() === 'authorization'), false);
  });

  it('refresh: form body with grant and token, Basic with exactly one space', () => {
    const r = encodeRefresh({ tokenUrl: 'https://api.infusionsoft.com/token', clientId: 'myid', clientSecret: 'mysecret', refreshToken: 'R1|x' });
    assert.equal(r.body, 'grant_type=refresh_token&refresh_token=R1%7Cx');
    assert.equal(r.headers.Authorization, 'Basic bXlpZDpteXNlY3JldA==');
    assert.equal(basicAuthorization('myid', 'mysecret'), 'Basic ' + Buffer.from('myid:mysecret').toString('base64'));
    assert.doesNotMatch(r.body, /client_secret/);
  });
});

describe('token response', () => {
  const now = 1_750_000_000_000;
  it('computes one absolute expiry and the app name from the scope', () => {
    const set = parseTokenResponse('{"access_token":"A","token_type":"bearer","expires_in":86400,"refresh_token":"R","scope":"full|ab123.infusionsoft.com"}', now, 'cid');
    assert.equal(set.accessTokenExpiresAt, now + 86_400_000);
    assert.equal(set.refreshTokenIssuedAt, now);
    assert.equal(set.appName, 'ab123');
    assert.equal(set.clientId, 'cid');
  });
  it('accepts 86399, 28800 and 3600 and a string expires_in', () => {
    for (const s of [86399, 28800, 3600]) assert.equal(parseTokenResponse(`{"access_token":"A","refresh_token":"R","expires_in":${s}}`, now, 'c').accessTokenExpiresAt, now + s * 1000);
    assert.equal(parseTokenResponse('{"access_token":"A","refresh_token":"R","expires_in":"3600"}', now, 'c').accessTokenExpiresAt, now + 3_600_000);
  });
  it('leaves the expiry unknown when expires_in is missing or absurd', () => {
    assert.equal(parseTokenResponse('{"access_token":"A","refresh_token":"R"}', now, 'c').accessTokenExpiresAt, undefined);
    assert.equal(parseTokenResponse(`{"access_token":"A","refresh_token":"R","expires_in":${now}}`, now, 'c').accessTokenExpiresAt, undefined);
  });
  it('never validates tokens by length or pattern', () => {
    const weird = 'x'.repeat(3) + '|#$"\\ é';
    assert.equal(parseTokenResponse(JSON.stringify({ access_token: weird, refresh_token: weird, expires_in: 60 }), now, 'c').accessToken, weird);
  });
  it('a gateway page or a body without tokens is a transient KeapError', () => {
    for (const body of ['<html>502</html>', '', '{}', '{"access_token":""}', 'null']) {
      assert.throws(() => parseTokenResponse(body, now, 'c'), (e: unknown) => e instanceof KeapError && e.kind === 'transient');
    }
  });
});

describe('error classification (every body in keap-oauth.md)', () => {
  const cases: Array<[string, number, string, 'authorization_code' | 'refresh_token' | 'api', string]> = [
    ['invalid_grant refresh', 400, '{"error":"invalid_grant","error_description":"Invalid refresh token"}', 'refresh_token', 'dead-refresh-token'],
    ['invalid_request refresh', 400, '{"error":"invalid_request","error_description":"Invalid Refresh Token"}', 'refresh_token', 'dead-refresh-token'],
    ['bad client on refresh', 401, '{"error":"invalid_grant","error_description":"Unable to authenticate username and password"}', 'refresh_token', 'bad-client-credentials'],
    ['bad client on exchange (K5)', 401, '{"error":"invalid_grant","error_description":"Unable to authenticate username and password"}', 'authorization_code', 'bad-client-credentials'],
    ['redirect uri', 400, '{"error":"invalid_request","error_description":"Invalid redirect_uri"}', 'authorization_code', 'bad-configuration'],
    ['JSON body sent', 400, '{"error":"invalid_request","error_description":"response_type or grant_type is required"}', 'refresh_token', 'bad-configuration'],
    ['code reused', 400, '{"error":"invalid_grant","error_description":"Authorization code is invalid"}', 'authorization_code', 'invalid-code'],
    ['empty 400 on refresh', 400, '', 'refresh_token', 'transient'],
    ['expired access token', 401, '{"fault":{"faultstring":"Invalid access token","detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}', 'api', 'invalid-access-token'],
    ['apigee 429', 429, '{"fault":{"faultstring":"Rate limit quota violation. Quota limit  exceeded.","detail":{"errorcode":"policies.ratelimit.QuotaViolation"}}}', 'refresh_token', 'throttled'],
    ['quota 429', 429, '{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}', 'api', 'throttled'],
    ['502 HTML', 502, '<html><body>Bad Gateway</body></html>', 'refresh_token', 'transient'],
    ['503 JSON', 503, '{"error":"server_error"}', 'authorization_code', 'transient'],
    ['200-ish text on 400', 400, 'Bad Request', 'refresh_token', 'transient'],
    ['unknown JSON 400', 400, '{"something":"else"}', 'authorization_code', 'bad-configuration'],
    ['JSON array', 400, '[1,2]', 'refresh_token', 'bad-configuration'],
  ];
  for (const [name, status, body, grant, kind] of cases) {
    it(`${name} → ${kind}`, () => {
      const e = classifyKeapError(status, body, grant);
      assert.equal(e.kind, kind);
      assert.equal(e.details.status, status);
    });
  }
  it('keeps Keap\'s words and a short body snippet, never throws on junk', () => {
    const e = classifyKeapError(429, '{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}', 'api');
    assert.equal(e.details.error, '429');
    assert.match(e.details.description!, /Quota Exceeded/);
    const long = classifyKeapError(502, 'x'.repeat(5000), 'api');
    assert.equal(long.details.bodySnippet!.length, 200);
    for (const junk of ['{', '"str"', '123', 'true', '{"fault":null}', '{"fault":{"detail":5}}', '{"error":{}}']) {
      assert.ok(classifyKeapError(400, junk, 'refresh_token') instanceof KeapError);
    }
  });
  it('honours Retry-After in seconds and as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(classifyKeapError(429, '{}', 'api', headers({ 'retry-after': '7' }), now).details.retryAfterMs, 7000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('garbage', now), undefined);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2025 00:00:30 GMT', now), 0);
  });
  it('retryable only for throttled and transient', () => {
    assert.equal(classifyKeapError(429, '', 'api').isRetryable, true);
    assert.equal(classifyKeapError(502, '', 'api').isRetryable, true);
    assert.equal(classifyKeapError(400, '{"error":"invalid_grant","error_description":"Invalid refresh token"}', 'refresh_token').isRetryable, false);
  });
});
