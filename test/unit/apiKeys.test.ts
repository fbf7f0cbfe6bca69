import assert from 'node:assert/strict';
import {
  accountProfileUrl,
  API_KEY_LIMITS,
  apiKeyValueProblem,
  checkApiKey,
  checkPastedApiKey,
  envVariableNameProblem,
  keyQuotaOrLimits,
  labelProblem,
  MAX_API_KEYS,
  parseAccountProfile,
  parseApiKeyIndex,
  readApiKeyValue,
  suggestEnvironment,
} from '../../src/keap/apiKeys';
import { handOutFolder, parseAllowed, parseBindings, parseEnvironmentMarks, productionWriteDecision } from '../../src/session/environmentGuard';
import { DEMO_API_KEY, FakeKeap, startFakeKeap } from '../fake-keap/server';

describe('API keys (PAT/SAK): the core', () => {
  it('the profile URL hangs off the REST base, with or without a trailing slash', () => {
    assert.equal(accountProfileUrl({ apiBaseUrl: 'https://api.infusionsoft.com/crm/rest' }), 'https://api.infusionsoft.com/crm/rest/v1/account/profile');
    assert.equal(accountProfileUrl({ apiBaseUrl: 'http://127.0.0.1:9/crm/rest//' }), 'http://127.0.0.1:9/crm/rest/v1/account/profile');
  });

  it('reads the stored list defensively: bad entries, duplicate ids and extra fields dropped, never a key', () => {
    const list = parseApiKeyIndex([
      { id: 'aaaaaaaaaaaaaaaa', label: ' ci ', kind: 'pat', addedAt: 5, environment: 'production', profile: { name: 'Ab Co\u0007', email: 'o@x', key: 'secret' }, key: 'KeapAK-leak' },
      { id: 'aaaaaaaaaaaaaaaa', label: 'dup', kind: 'sak' },
      { id: 'bbbbbbbbbbbbbbbb', label: 'admin', kind: 'sak', environment: 'staging' },
      { id: 'not-hex', label: 'x', kind: 'pat' },
      { id: 'cccccccccccccccc', label: '', kind: 'pat' },
      { id: 'dddddddddddddddd', label: 'y', kind: 'legacy' },
      'junk',
      null,
    ]);
    assert.deepEqual(list, [
      { id: 'aaaaaaaaaaaaaaaa', label: 'ci', kind: 'pat', addedAt: 5, environment: 'production', profile: { name: 'Ab Co', email: 'o@x' } },
      { id: 'bbbbbbbbbbbbbbbb', label: 'admin', kind: 'sak', addedAt: 0 },
    ]);
    assert.ok(!JSON.stringify(list).includes('KeapAK'), 'nothing but the known fields survives');
    assert.deepEqual(parseApiKeyIndex({ not: 'a list' }), []);
    const many = Array.from({ length: MAX_API_KEYS + 5 }, (_, i) => ({ id: i.toString(16).padStart(16, '0'), label: `k${i}`, kind: 'pat' }));
    assert.equal(parseApiKeyIndex(many).length, MAX_API_KEYS);
  });

  it('labels: empty, too long, control characters and a name taken (case-insensitive) are refused', () => {
    assert.equal(labelProblem('  ', []), 'empty');
    assert.equal(labelProblem('x'.repeat(61), []), 'too-long');
    assert.equal(labelProblem('a\nb', []), 'control-characters');
    assert.equal(labelProblem('CI', [{ label: 'ci' }]), 'taken');
    assert.equal(labelProblem('ci 2', [{ label: 'ci' }]), undefined);
  });

  it('labels: a key, token or secret pasted into the name box is refused, so it is never kept as plain text in globalState', () => {
    const known = { clientIds: ['client-id-123'], clientSecrets: ['s3cr3t-value'], accessTokens: ['at-held-by-vscode'], refreshTokens: ['rt-held-by-vscode'] };
    for (const label of ['KeapAK-5dc860633b018e8de6df08', 'my keapak-abc key', 'X-Keap-API-Key: KeapAK-1', 's3cr3t-value', 'ci rt-held-by-vscode', 'at-held-by-vscode']) {
      assert.equal(labelProblem(label, [], known), 'secret', label);
    }
    // A client ID is not a secret; short values are not searched for inside names.
    assert.equal(labelProblem('client-id-123 integration', [], known), undefined);
    assert.equal(labelProblem('ci', [], { ...known, accessTokens: ['ci'] }), undefined);
    // Labels already stored are read without the check (an old list keeps its rows, so they can be removed).
    assert.equal(labelProblem('KeapAK-5dc860633b018e8de6df08', []), undefined);
  });

  const KNOWN = { clientIds: ['client-id-123'], clientSecrets: ['s3cr3t-value'], accessTokens: ['at-held-by-vscode'], refreshTokens: ['rt-held-by-vscode'] };
  const KEY = 'KeapAK-5dc860633b018e8de6df08eefc3f549d521ca66e84411f714e';

  it('a pasted key: every shape that is not a Keap API key is refused and named for what it looks like (K15)', () => {
    const cases: Array<[string, string]> = [
      ['', 'empty'],
      ['   ', 'empty'],
      ['X-Keap-API-Key:', 'empty'],
      [`${KEY} ${KEY}`, 'white-space'],
      [`KEAP_API_KEY=${KEY}\nKEAP_CLIENT_ID=x`, 'white-space'],
      ['Authorization: Bearer abcDEF123', 'bearer-token'],
      ['Bearer abcDEF123', 'bearer-token'],
      ['bearer "abcDEF123"', 'bearer-token'],
      ['Authorization: Basic Y2xpZW50OnNlY3JldA==', 'basic-auth'],
      ['{"access_token":"a","refresh_token":"r","expires_in":86400}', 'token-response'],
      ['s3cr3t-value', 'client-secret'],
      ['KEAP_CLIENT_SECRET="s3cr3t-value"', 'client-secret'],
      ['X-Keap-API-Key: s3cr3t-value', 'client-secret'],
      ['rt-held-by-vscode', 'refresh-token'],
      ['at-held-by-vscode', 'access-token'],
      ['Bearer at-held-by-vscode', 'access-token'],
      ['client-id-123', 'client-id'],
      ['0123456789abcdef0123456789ABCDEF', 'legacy-api-key'],
      ['anything-else_without.spaces', 'not-a-key'],
      ['X-Keap-API-Key: not-a-keap-key', 'not-a-key'],
      ['KeapAK-', 'not-a-key'],
      // Invisible or non-ASCII characters copied from a web page or chat: no HTTP header carries them.
      [`${KEY}\u200b`, 'not-printable'],
      [`KeapAK-\u200b${KEY.slice(7)}`, 'not-printable'],
      [`${KEY.slice(0, 20)}\u2011${KEY.slice(21)}`, 'not-printable'],
      [`${KEY}\u0000`, 'not-printable'],
      [`X-Keap-API-Key: ${KEY}\u2060`, 'not-printable'],
    ];
    for (const [value, problem] of cases) {
      assert.deepEqual(readApiKeyValue(value, KNOWN), { ok: false, problem }, JSON.stringify(value));
      assert.equal(apiKeyValueProblem(value, KNOWN), problem, JSON.stringify(value));
    }
    // Without what VS Code holds, an unknown secret is still refused: it has no KeapAK- prefix.
    assert.equal(apiKeyValueProblem('s3cr3t-value'), 'not-a-key');
  });

  it('a pasted key: a header line, a Bearer value, a .env line or quotes around a KeapAK- key give the key alone', () => {
    const cases: Array<[string, string | undefined]> = [
      [`  ${KEY}  `, undefined],
      ['keapak-lowercase0001', undefined],
      [`X-Keap-API-Key: ${KEY}`, 'header'],
      [`x-keap-api-key:${KEY}`, 'header'],
      [`Authorization: Bearer ${KEY}`, 'bearer'],
      [`Bearer ${KEY}`, 'bearer'],
      [`KEAP_API_KEY=${KEY}`, 'env-line'],
      [`export KEAP_API_KEY="${KEY}"`, 'env-line'],
      [`'${KEY}'`, 'quotes'],
      [`X-Keap-API-Key: "${KEY}"`, 'header'],
    ];
    for (const [value, unwrapped] of cases) {
      const r = readApiKeyValue(value, KNOWN);
      assert.ok(r.ok, JSON.stringify(value));
      assert.equal(r.key, value.includes('lowercase') ? 'keapak-lowercase0001' : KEY, JSON.stringify(value));
      assert.equal(r.unwrapped, unwrapped, JSON.stringify(value));
    }
  });

  it('variable names must be shell and .env names', () => {
    assert.equal(envVariableNameProblem('KEAP_API_KEY'), undefined);
    assert.equal(envVariableNameProblem('_x1'), undefined);
    for (const bad of ['', '1X', 'A-B', 'A B', 'A=B', 'x'.repeat(129)]) assert.ok(envVariableNameProblem(bad), bad);
  });

  it("the account profile: name and email only, bounded, control characters out; anything else gives {}", () => {
    assert.deepEqual(parseAccountProfile('{"name":"Ab Co","email":"o@example.com","phone":{}}'), { name: 'Ab Co', email: 'o@example.com' });
    assert.deepEqual(parseAccountProfile('<html>'), {});
    assert.deepEqual(parseAccountProfile('null'), {});
    assert.equal(parseAccountProfile(JSON.stringify({ name: 'n'.repeat(500) })).name!.length, 120);
    assert.deepEqual(parseAccountProfile(JSON.stringify({ name: 'a\u202Eb\u0000c', email: 7 })), { name: 'a\u202Eb c' });
  });

  it('suggests sandbox only from words in the profile; the user decides otherwise', () => {
    assert.equal(suggestEnvironment({ name: 'Ab123 Sandbox' }), 'sandbox');
    assert.equal(suggestEnvironment({ name: 'Acme', email: 'dev@acme-test.com' }), 'sandbox');
    assert.equal(suggestEnvironment({ name: 'Acme Testimonials Inc' }), undefined);
    assert.equal(suggestEnvironment({ name: 'Acme Corp' }), undefined);
    assert.equal(suggestEnvironment(undefined), undefined);
  });

  it("shows Keap's stated key limits when an answer carried no quota headers", () => {
    assert.deepEqual(keyQuotaOrLimits({ quota: [] }).map(b => [b.timeUnit, b.limit]), [['day', 30000], ['minute', 240], ['second', 10]]);
    assert.deepEqual(API_KEY_LIMITS, { perSecond: 10, perMinute: 240, perDay: 30000 });
  });
});

describe('API keys against the fake Keap server (X-Keap-API-Key)', () => {
  let fake: FakeKeap;
  before(async () => {
    fake = await startFakeKeap();
  });
  after(() => fake.close());
  beforeEach(() => fake.requests.splice(0));

  const url = () => accountProfileUrl(fake);

  it('a known key: 200, the business name and email, and key-style quota headers (30,000 a day, 10 a second, 240 a minute)', async () => {
    const c = await checkApiKey(DEMO_API_KEY.key, { url: url(), timeoutMs: 5000 });
    assert.equal(c.outcome, 'ok');
    assert.equal(c.status, 200);
    assert.deepEqual(c.profile, { name: 'Ab123 Demo Co', email: 'owner@example.com' });
    assert.deepEqual(
      c.quota.map(b => [b.timeUnit, b.limit, b.available]),
      [
        ['day', 30000, 29999],
        ['second', 10, 9],
        ['minute', 240, 239],
      ],
    );
    const [req] = fake.requests;
    assert.equal(req.headers['x-keap-api-key'], DEMO_API_KEY.key);
    assert.equal(req.headers.authorization, undefined, 'never as a Bearer token');
  });

  it('Add API Key sends nothing for a value refused at entry, and only the key part of a wrapped key', async () => {
    const known = { clientIds: ['client-id-123'], clientSecrets: ['s3cr3t-value'], accessTokens: ['at-held-by-vscode'], refreshTokens: [] };
    for (const value of ['', 'Bearer abc', 'Authorization: Basic eDp5', '{"access_token":"a"}', 's3cr3t-value', 'at-held-by-vscode', 'client-id-123', '0123456789abcdef0123456789abcdef', 'not-a-key', 'KeapAK-a KeapAK-b', `${DEMO_API_KEY.key}\u200b`]) {
      const r = await checkPastedApiKey(value, known, { url: url(), timeoutMs: 5000 });
      assert.equal(r.ok, false, value);
    }
    assert.equal(fake.requests.length, 0, 'no request for a refused value');
    const r = await checkPastedApiKey(`X-Keap-API-Key: ${DEMO_API_KEY.key}`, known, { url: url(), timeoutMs: 5000 });
    assert.ok(r.ok);
    assert.equal(r.key, DEMO_API_KEY.key);
    assert.equal(r.unwrapped, 'header');
    assert.equal(r.check.outcome, 'ok');
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0].headers['x-keap-api-key'], DEMO_API_KEY.key, 'the key alone travels, not the header line');
  });

  it('an unknown key: refused (401), with nothing of the key in the reason', async () => {
    const c = await checkApiKey('KeapAK-not-a-key', { url: url(), timeoutMs: 5000 });
    assert.equal(c.outcome, 'refused');
    assert.equal(c.status, 401);
    assert.ok(!c.reason?.includes('KeapAK'));
  });

  it('a key revoked at Keap is refused from then on', async () => {
    fake.addApiKey({ key: 'KeapAK-revoke-me', appName: 'cd456' });
    assert.equal((await checkApiKey('KeapAK-revoke-me', { url: url(), timeoutMs: 5000 })).profile?.name, 'Cd456 Demo Co');
    assert.equal(fake.revokeApiKey('KeapAK-revoke-me'), true);
    assert.equal((await checkApiKey('KeapAK-revoke-me', { url: url(), timeoutMs: 5000 })).outcome, 'refused');
  });

  it('a plain-http REST base that is not loopback: nothing is sent', async () => {
    const c = await checkApiKey(DEMO_API_KEY.key, { url: 'http://example.com/crm/rest/v1/account/profile', timeoutMs: 5000, fetch: () => assert.fail('sent') });
    assert.equal(c.outcome, 'not-sent');
  });

  it('throttled, gateway errors and no answer are told apart', async () => {
    fake.addFault({ path: '/crm/rest/v1/account/profile', status: 429, body: '{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}' });
    assert.equal((await checkApiKey(DEMO_API_KEY.key, { url: url(), timeoutMs: 5000 })).outcome, 'throttled');
    fake.addFault({ path: '/crm/rest/v1/account/profile', status: 502, body: '<html>bad gateway</html>' });
    assert.equal((await checkApiKey(DEMO_API_KEY.key, { url: url(), timeoutMs: 5000 })).outcome, 'error');
    fake.addFault({ path: '/crm/rest/v1/account/profile', status: 0, destroySocket: true });
    assert.equal((await checkApiKey(DEMO_API_KEY.key, { url: url(), timeoutMs: 5000 })).outcome, 'unreachable');
  });

  it('OAuth calls keep the client quota headers (150,000 a day)', async () => {
    const res = await fetch(`${fake.apiBaseUrl}/v1/account/profile`, { headers: { Authorization: 'Bearer nope' } });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('x-keap-product-quota-limit'), '150000');
  });
});

describe('Production kept apart from sandbox: the guard decision', () => {
  const prod = { id: 'apiKey:aa', environment: 'production' as const };
  it('asks only for a production credential going into a folder bound to another credential or to none, and not once allowed', () => {
    assert.equal(productionWriteDecision(prod, { allowed: [] }), 'ask');
    assert.equal(productionWriteDecision(prod, { boundTo: 'app:x|y', allowed: [] }), 'ask');
    assert.equal(productionWriteDecision(prod, { boundTo: 'apiKey:aa', allowed: [] }), 'write');
    assert.equal(productionWriteDecision(prod, { allowed: ['apiKey:aa'] }), 'write');
    assert.equal(productionWriteDecision({ id: 'apiKey:bb', environment: 'sandbox' }, { allowed: [] }), 'write');
    assert.equal(productionWriteDecision({ id: 'apiKey:bb' }, { boundTo: 'apiKey:aa', allowed: [] }), 'write');
  });

  it('a credential handed to a launch goes into the active editor\'s folder, else the only folder, else none (bound to nothing)', () => {
    assert.equal(handOutFolder(['a', 'b'], 'b'), 'b');
    assert.equal(handOutFolder(['a'], undefined), 'a');
    assert.equal(handOutFolder(['a', 'b'], undefined), undefined);
    assert.equal(handOutFolder([], undefined), undefined);
    assert.equal(handOutFolder(undefined, undefined), undefined);
  });

  it('reads bindings, answers and marks defensively', () => {
    assert.deepEqual(parseBindings({ 'file:///a': 'apiKey:1', 'file:///b': 3 }), { 'file:///a': 'apiKey:1' });
    assert.deepEqual(parseBindings(['x']), {});
    assert.deepEqual(parseAllowed({ 'file:///a': ['apiKey:1', 2], 'file:///b': 'x' }), { 'file:///a': ['apiKey:1'] });
    assert.deepEqual(parseEnvironmentMarks({ 'app:c|ab': 'production', 'app:d|cd': 'staging' }), { 'app:c|ab': 'production' });
  });
});
