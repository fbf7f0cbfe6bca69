import assert from 'node:assert/strict';
import { clientRefusal, ImportParse, pairFromFields, tokenRefusal, parseAbsoluteExpiry, parseImportEnv, parseImportJson, parseImportText, parseRelativeExpiry } from '../../src/session/importParse';
import { MAX_TOKEN_CHARS } from '../../src/keap/tokenResponse';

const NOW = Date.parse('2026-12-06T12:00:00Z');
const A = 'acc3ssT0kenOfSomeLength';
const R = 'r3freshT0kenOfSomeLength';

function pair(p: ImportParse) {
  assert.ok(p.ok, `expected a pair, got ${JSON.stringify(p)}`);
  return p.pair;
}

describe('Import Tokens: every shape a pair comes in', () => {
  it("Keap's token answer: expires_in (relative seconds) from now, and the scope", () => {
    const p = pair(parseImportJson(JSON.stringify({ access_token: A, token_type: 'bearer', expires_in: 86400, refresh_token: R, scope: 'full|ab123.infusionsoft.com' }), NOW));
    assert.deepEqual(p, { accessToken: A, refreshToken: R, accessTokenExpiresAt: NOW + 86_400_000, scope: 'full|ab123.infusionsoft.com' });
  });

  it('expires_in as a string of digits', () => {
    assert.equal(pair(parseImportJson(JSON.stringify({ access_token: A, refresh_token: R, expires_in: '3600' }), NOW)).accessTokenExpiresAt, NOW + 3_600_000);
  });

  it('camelCase (Postman and app token stores): expiresAt in epoch ms, epoch s, or ISO 8601', () => {
    const ms = NOW + 5_000_000;
    assert.equal(pair(parseImportJson(JSON.stringify({ accessToken: A, refreshToken: R, expiresAt: ms }), NOW)).accessTokenExpiresAt, ms);
    assert.equal(pair(parseImportJson(JSON.stringify({ accessToken: A, refreshToken: R, expiresAt: Math.floor(ms / 1000) }), NOW)).accessTokenExpiresAt, Math.floor(ms / 1000) * 1000);
    assert.equal(pair(parseImportJson(JSON.stringify({ accessToken: A, refreshToken: R, expiresAt: new Date(ms).toISOString() }), NOW)).accessTokenExpiresAt, ms);
    assert.equal(pair(parseImportJson(JSON.stringify({ accessToken: A, refreshToken: R, expiresIn: 60 }), NOW)).accessTokenExpiresAt, NOW + 60_000);
  });

  it('expires_at (snake case) wins over expires_in: it does not depend on when the text was made', () => {
    const at = Math.floor((NOW - 1000_000) / 1000);
    assert.equal(pair(parseImportJson(JSON.stringify({ access_token: A, refresh_token: R, expires_in: 86400, expires_at: at }), NOW)).accessTokenExpiresAt, at * 1000);
  });

  it("infusionsoft-php's serialized Token: endOfLife (epoch s) and extraInfo.scope", () => {
    const p = pair(parseImportJson(JSON.stringify({ accessToken: A, refreshToken: R, endOfLife: 1796644800, extraInfo: { token_type: 'bearer', scope: 'full|cd456.infusionsoft.com' } }), NOW));
    assert.equal(p.accessTokenExpiresAt, 1796644800_000);
    assert.equal(p.scope, 'full|cd456.infusionsoft.com');
  });

  it('one level down, under token / data / credentials …', () => {
    for (const k of ['token', 'tokens', 'data', 'credentials', 'oauth']) {
      assert.equal(pair(parseImportJson(JSON.stringify({ [k]: { access_token: A, refresh_token: R } }), NOW)).refreshToken, R, k);
    }
  });

  it('no expiry: unknown; an unreadable one: unknown and said so', () => {
    assert.equal(pair(parseImportJson(JSON.stringify({ access_token: A, refresh_token: R }), NOW)).accessTokenExpiresAt, undefined);
    const p = pair(parseImportJson(JSON.stringify({ access_token: A, refresh_token: R, expires_at: 'tomorrow' }), NOW));
    assert.equal(p.accessTokenExpiresAt, undefined);
    assert.equal(p.expiryIgnored, true);
    assert.equal(pair(parseImportJson(JSON.stringify({ access_token: A, refresh_token: R, expires_in: -5 }), NOW)).expiryIgnored, true);
  });

  it('two boxes: trimmed', () => {
    assert.deepEqual(pair(pairFromFields(` ${A}\n`, `\t${R} `)), { accessToken: A, refreshToken: R });
  });

  it('.env text: KEAP_* names (with the expiry written by Insert Token), INFUSIONSOFT_* names, or the names given first', () => {
    const at = new Date(NOW + 1000).toISOString();
    const keap = parseImportEnv(`# mine\nKEAP_ACCESS_TOKEN=${A}\nKEAP_REFRESH_TOKEN="${R}"\nKEAP_TOKEN_EXPIRES_AT=${at}\nOTHER=1\n`);
    assert.deepEqual(pair(keap.parse), { accessToken: A, refreshToken: R, accessTokenExpiresAt: NOW + 1000 });
    assert.equal(keap.names?.accessToken, 'KEAP_ACCESS_TOKEN');
    const php = parseImportEnv(`INFUSIONSOFT_ACCESS_TOKEN=${A}\nINFUSIONSOFT_REFRESH_TOKEN=${R}\n`);
    assert.equal(pair(php.parse).accessToken, A);
    assert.equal(php.names?.refreshToken, 'INFUSIONSOFT_REFRESH_TOKEN');
    const own = parseImportEnv(`MY_AT=${A}\nMY_RT=${R}\nKEAP_ACCESS_TOKEN=zzz\n`, [{ accessToken: 'MY_AT', refreshToken: 'MY_RT' }]);
    assert.equal(pair(own.parse).accessToken, A);
  });

  it('one paste box: JSON or .env lines', () => {
    assert.equal(pair(parseImportText(`  {"access_token":"${A}","refresh_token":"${R}"}  `, NOW)).accessToken, A);
    assert.equal(pair(parseImportText(`KEAP_ACCESS_TOKEN=${A}\nKEAP_REFRESH_TOKEN=${R}`, NOW)).refreshToken, R);
  });

  it('absolute and relative expiry readers', () => {
    assert.equal(parseAbsoluteExpiry(1796644800), 1796644800_000);
    assert.equal(parseAbsoluteExpiry(1796644800123), 1796644800123);
    assert.equal(parseAbsoluteExpiry('1796644800'), 1796644800_000);
    assert.equal(parseAbsoluteExpiry('2026-12-07T00:00:00Z'), Date.parse('2026-12-07T00:00:00Z'));
    // A date-time without a zone (a database DATETIME) is UTC whatever this machine's zone (found by a fresh-user review).
    const tz = process.env.TZ;
    try {
      process.env.TZ = 'America/New_York';
      assert.notEqual(new Date(Date.UTC(2026, 11, 7)).getTimezoneOffset(), 0, 'the zone took effect');
      assert.equal(parseAbsoluteExpiry('2026-12-07 09:12:44'), Date.parse('2026-12-07T09:12:44Z'));
      assert.equal(parseAbsoluteExpiry('2026-12-07T09:12:44.5'), Date.parse('2026-12-07T09:12:44.500Z'));
      assert.equal(parseAbsoluteExpiry('2026-12-07T09:12'), Date.parse('2026-12-07T09:12:00Z'));
      assert.equal(parseAbsoluteExpiry('2026-12-07T09:12:44-05:00'), Date.parse('2026-12-07T14:12:44Z'), 'a stated zone is kept');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    assert.equal(parseAbsoluteExpiry(86400), undefined, 'a relative lifetime in an absolute field is not a date in 1970');
    assert.equal(parseAbsoluteExpiry('soon'), undefined);
    assert.equal(parseAbsoluteExpiry(Number.NaN), undefined);
    assert.equal(parseRelativeExpiry(86399, NOW), NOW + 86_399_000);
    assert.equal(parseRelativeExpiry('1e3', NOW), undefined);
    assert.equal(parseRelativeExpiry(400_000_000, NOW), undefined);
  });
});

describe('Import Tokens: every refusal, before anything is sent', () => {
  const refusal = (p: ImportParse) => (p.ok ? 'ok' : p.refusal);

  it('empty, not JSON, no pair', () => {
    assert.equal(refusal(parseImportText('   ', NOW)), 'empty');
    assert.equal(refusal(parseImportJson('{"access_token": ', NOW)), 'not-json');
    assert.equal(refusal(parseImportText('{"access_token": ', NOW)), 'not-json');
    assert.equal(refusal(parseImportJson('[1,2]', NOW)), 'no-pair');
    assert.equal(refusal(parseImportJson('{"foo":"bar"}', NOW)), 'no-pair');
    assert.equal(refusal(parseImportText('hello world', NOW)), 'no-pair');
    assert.equal(refusal(parseImportEnv('').parse), 'empty');
  });

  it('one token missing', () => {
    assert.equal(refusal(parseImportJson(JSON.stringify({ access_token: A }), NOW)), 'no-refresh-token');
    assert.equal(refusal(parseImportJson(JSON.stringify({ refresh_token: R }), NOW)), 'no-access-token');
    assert.equal(refusal(pairFromFields(A, '  ')), 'no-refresh-token');
    assert.equal(refusal(pairFromFields('', R)), 'no-access-token');
    assert.equal(refusal(pairFromFields('', '')), 'empty');
    assert.equal(refusal(parseImportEnv(`KEAP_ACCESS_TOKEN=${A}\n`).parse), 'no-refresh-token');
  });

  it('two values in one box, or the same token twice', () => {
    const p = pairFromFields(`${A} ${R}`, R);
    assert.equal(refusal(p), 'white-space');
    assert.equal(!p.ok && p.which, 'access');
    assert.equal(refusal(pairFromFields(A, A)), 'same-token');
  });

  it('a token no HTTP header can carry, or longer than any Keap token: refused before anything is sent', () => {
    for (const bad of ['tok\u0000en', 'tökén', 'tok\u202Een', 'tok\u007Fen']) {
      const p = pairFromFields(A, bad);
      assert.equal(refusal(p), 'not-printable', JSON.stringify(bad));
      assert.equal(!p.ok && p.which, 'refresh');
    }
    const long = 'a'.repeat(MAX_TOKEN_CHARS + 1);
    const p = pairFromFields(long, R);
    assert.equal(refusal(p), 'too-long');
    assert.equal(!p.ok && p.which, 'access');
    assert.equal(refusal(parseImportJson(JSON.stringify({ access_token: A, refresh_token: long }), NOW)), 'too-long');
    assert.equal(refusal(parseImportEnv(`KEAP_ACCESS_TOKEN=${A}\nKEAP_REFRESH_TOKEN=${long}\n`).parse), 'too-long');
    // The box's live check (Type Both Tokens) gives the same answers, one token at a time.
    assert.equal(tokenRefusal('tok\u0007en'), 'not-printable');
    assert.equal(tokenRefusal(long), 'too-long');
    assert.equal(tokenRefusal(`${A} ${R}`), 'white-space');
    assert.equal(tokenRefusal('KeapAK-0123456789abcdef'), 'api-key');
    assert.equal(tokenRefusal(A), undefined);
    // The longest accepted, and every printable ASCII character, still make a pair.
    assert.equal(pairFromFields('a'.repeat(MAX_TOKEN_CHARS), R).ok, true);
    const printable = Array.from({ length: 0x7e - 0x20 }, (_, i) => String.fromCharCode(0x21 + i)).join('');
    assert.equal(pairFromFields(printable, R).ok, true);
  });

  it('a Personal Access Token or Service Account Key (KeapAK-…) in either box, or pasted alone', () => {
    const p = pairFromFields(A, 'KeapAK-0123456789abcdef');
    assert.equal(refusal(p), 'api-key');
    assert.equal(!p.ok && p.which, 'refresh');
    assert.equal(refusal(pairFromFields('keapak-xyz', R)), 'api-key');
    assert.equal(refusal(parseImportText('KeapAK-0123456789abcdef', NOW)), 'api-key');
    assert.equal(refusal(parseImportJson(JSON.stringify({ access_token: 'KeapAK-1', refresh_token: R }), NOW)), 'api-key');
  });

  it("the app's client secret or client ID pasted as a token", () => {
    const client = { clientId: 'demo-client-id', clientSecret: 'demo-client-secret' };
    assert.equal(clientRefusal({ accessToken: A, refreshToken: 'demo-client-secret' }, client), 'client-secret');
    assert.equal(clientRefusal({ accessToken: 'demo-client-id', refreshToken: R }, client), 'client-id');
    assert.equal(clientRefusal({ accessToken: A, refreshToken: R }, client), undefined);
  });
});
