import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ECHO_PATTERNS, maskCredentialEchoes } from '../../src/secretMask';

/** The patterns applied to any text, with no shortcut: what maskCredentialEchoes must equal. */
function everyPattern(text: string): string {
  let out = text;
  for (const p of ECHO_PATTERNS) out = out.replace(p, '$1***');
  return out;
}

/** A fragment in random letter case (the patterns are case-insensitive). */
const anyCase = (word: string) =>
  fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map(up => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));

/** Log-line pieces: credential names and their neighbours, separators, values, Unicode look-alikes. */
const piece = fc.oneof(
  fc.constantFrom('refresh_token', 'access_token', 'id_token', 'client_secret', 'password', 'api_key', 'apikey', 'code', 'authorization', 'x-keap-api-key', 'bearer', 'basic').chain(anyCase),
  fc.constantFrom('=', ': ', ':', '"', "'", '&', ' ', '\n', '?', '{', '}', ',', ';'),
  fc.constantFrom('abc123XYZ.token-value', 'abcdefgh12345', 'rt-1', 'K\u212Aey', '\u017Fecret', 'İ', 'tok\u200Ben', 'refreshed in 0.4 ms', 'app 1234'),
  fc.string({ maxLength: 12 }),
);

describe('maskCredentialEchoes: the words check before the patterns (property)', () => {
  it('gives exactly what running every pattern gives, for any mix of credential names, separators and values in any case', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }).map(p => p.join('')), text => {
        assert.equal(maskCredentialEchoes(text), everyPattern(text), JSON.stringify(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('masks an echoed form, JSON and header as before, and leaves a line without a credential name as it was', () => {
    assert.equal(maskCredentialEchoes('grant_type=refresh_token&REFRESH_TOKEN=rt-abc123'), 'grant_type=refresh_token&REFRESH_TOKEN=***');
    assert.equal(maskCredentialEchoes('{"access_token": "at-secret-value"}'), '{"access_token": "***"}');
    assert.equal(maskCredentialEchoes('Authorization: Bearer abcdefgh12345'), 'Authorization: Bearer ***');
    assert.equal(maskCredentialEchoes('sent with bearer abcdefgh12345 to Keap'), 'sent with bearer *** to Keap');
    const plain = 'activated in 0.41 ms (code-server 1.99, web)';
    assert.equal(maskCredentialEchoes(plain), plain);
  });
});
