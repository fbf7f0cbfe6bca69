import assert from 'node:assert/strict';
import { CallbackParseError, parsePastedCallback, readAuthorizationResponse } from '../../src/signin/callback';
import { pickFlow, SIGN_IN_FLOWS } from '../../src/signin/flows';
import { matchPending, newStateNonce, PendingSignIn, prunePending } from '../../src/signin/pending';

describe('callback parsing', () => {
  it('reads code and state', () => {
    assert.deepEqual(readAuthorizationResponse(new URLSearchParams('code=abc&state=s1&scope=full%7Cab123.infusionsoft.com')), { kind: 'code', code: 'abc', state: 's1' });
  });
  it('K7: looks at error before code; an empty state reads as none', () => {
    const r = readAuthorizationResponse(new URLSearchParams('state=&error_description=User+denied+access+to+resource&error=access_denied&error_uri=https%3A%2F%2Fx&code=zzz'));
    assert.deepEqual(r, { kind: 'error', error: 'access_denied', errorDescription: 'User denied access to resource', state: undefined });
  });
  it('reads code-server\'s nested vscode-query', () => {
    const r = readAuthorizationResponse(new URLSearchParams({ 'vscode-scheme': 'code-oss', 'vscode-query': 'code=c9&state=s9' }));
    assert.deepEqual(r, { kind: 'code', code: 'c9', state: 's9' });
  });
  it('refuses a callback with neither', () => {
    assert.throws(() => readAuthorizationResponse(new URLSearchParams('state=x')), CallbackParseError);
  });
});

describe('paste parsing (V1)', () => {
  it('accepts the full URL the browser landed on, any scheme', () => {
    assert.deepEqual(parsePastedCallback('  https://relay.example/keap/?code=AB%2BC&state=st  '), { kind: 'code', code: 'AB+C', state: 'st' });
    assert.deepEqual(parsePastedCallback('http://localhost:53682/callback?code=q&state=w'), { kind: 'code', code: 'q', state: 'w' });
    assert.deepEqual(parsePastedCallback('vscode://keap-community.infusionsoft-oauth/callback?code=q&state=w'), { kind: 'code', code: 'q', state: 'w' });
  });
  it('accepts a query string and a bare code', () => {
    assert.deepEqual(parsePastedCallback('?code=q&state=w'), { kind: 'code', code: 'q', state: 'w' });
    assert.deepEqual(parsePastedCallback('code=q'), { kind: 'code', code: 'q', state: undefined });
    assert.deepEqual(parsePastedCallback('AbC123xyz'), { kind: 'code', code: 'AbC123xyz', state: undefined });
  });
  it('accepts a denial URL', () => {
    const r = parsePastedCallback('https://relay.example/?state=&error_description=User+denied+access+to+resource&error=access_denied');
    assert.equal(r.kind, 'error');
  });
  it('gives a clear error for everything else', () => {
    for (const bad of ['', '   ', 'https://relay.example/?foo=1', 'two words', 'http://[::1', 'x'.repeat(20_000), '<script>alert(1)</script>', '"abc"', 'abc']) {
      assert.throws(() => parsePastedCallback(bad), CallbackParseError, bad.slice(0, 20));
    }
  });
});

describe('pending sign-ins and state', () => {
  const now = 1_000_000;
  const p = (state: string, expiresAt = now + 300_000): PendingSignIn => ({ state, redirectUri: 'http://localhost:1/callback', clientId: 'c', flow: 'relay', createdAt: now, expiresAt });
  it('state nonces carry 256 random bits and differ', () => {
    const a = newStateNonce();
    assert.equal(Buffer.from(a, 'base64url').length, 32);
    assert.notEqual(a, newStateNonce());
  });
  it('matches a state exactly, knows expired ones, refuses unknown ones', () => {
    const list = [p('s1'), p('s2', now - 1)];
    assert.equal(matchPending(list, 's1', now).kind, 'found');
    assert.equal(matchPending(list, 's2', now).kind, 'expired');
    assert.equal(matchPending(list, 's3', now).kind, 'unknown');
    assert.equal(matchPending(list, 'S1', now).kind, 'unknown');
  });
  it('a stateless answer matches only when exactly one sign-in is live', () => {
    assert.equal(matchPending([p('s1')], undefined, now).kind, 'found');
    assert.equal(matchPending([p('s1'), p('s2')], undefined, now).kind, 'unknown');
    assert.equal(matchPending([], undefined, now).kind, 'unknown');
    assert.deepEqual(prunePending([p('a'), p('b', now)], now).map(x => x.state), ['a']);
  });
});

describe('sign-in flows', () => {
  it('relay when configured, loopback on local desktop, paste otherwise', () => {
    assert.equal(pickFlow({ desktop: true, remote: false, relayUrl: 'https://r.example/' }).id, 'relay');
    assert.equal(pickFlow({ desktop: true, remote: false, relayUrl: undefined }).id, 'loopback');
    assert.equal(pickFlow({ desktop: true, remote: true, relayUrl: undefined }).id, 'paste');
    assert.equal(pickFlow({ desktop: false, remote: true, relayUrl: undefined }).id, 'paste');
    assert.equal(SIGN_IN_FLOWS[SIGN_IN_FLOWS.length - 1].worksIn({ desktop: false, remote: true, relayUrl: undefined }), true);
  });
});
