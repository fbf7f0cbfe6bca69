import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CallbackParseError, parsePastedCallback, readAuthorizationResponse } from '../../src/signin/callback';

const RUNS = 10_000;
let cases = 0;

describe('callback and paste parser (fast-check)', () => {
  after(() => console.log(`      callback/paste fuzz cases: ${cases}`));

  it(`any text: a response or a CallbackParseError, never another error (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.webUrl({ withQueryParameters: true, withFragments: true })), text => {
        cases++;
        try {
          const r = parsePastedCallback(text);
          assert.ok(r.kind === 'code' ? r.code.length > 0 : r.error.length > 0);
        } catch (e) {
          assert.ok(e instanceof CallbackParseError, `unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`);
          assert.ok((e as Error).message.length > 10, 'a clear message');
        }
      }),
      { numRuns: RUNS },
    );
  });

  it(`a pasted callback URL gives back exactly its code and state, whatever they hold (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom('https://relay.example/keap/', 'http://localhost:53682/callback', 'vscode://keap-community.infusionsoft-oauth/callback', 'http://127.0.0.1:8080/stable-x/callback?vscode-reqid=1&vscode-scheme=code-oss'),
        fc.string({ minLength: 1 }),
        fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
        fc.boolean(),
        (base, code, state, stateFirst) => {
          cases++;
          const params = new URLSearchParams();
          if (stateFirst && state !== undefined) params.set('state', state);
          params.set('code', code);
          if (!stateFirst && state !== undefined) params.set('state', state);
          const url = base + (base.includes('?') ? '&' : '?') + params.toString();
          assert.deepEqual(parsePastedCallback(url), { kind: 'code', code, state });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`an error parameter always wins over a code (K7) (${RUNS} runs)`, () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.string(), (error, code, description) => {
        cases++;
        const params = new URLSearchParams([['code', code], ['error', error], ['error_description', description], ['state', '']]);
        const r = readAuthorizationResponse(params);
        assert.equal(r.kind, 'error');
        assert.equal(r.state, undefined);
      }),
      { numRuns: RUNS },
    );
  });
});
