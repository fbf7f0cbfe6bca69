import assert from 'node:assert/strict';
import { KnownValues, recognizeForeignPaste } from '../../src/signin/pasteCheck';

const KNOWN: KnownValues = {
  clientIds: ['demo-client-id'],
  clientSecrets: ['demo-client-secret'],
  accessTokens: ['AT-live-0123456789'],
  refreshTokens: ['RT-live-9876543210'],
};

describe('pasted values are checked before they are spent (issue 10 point 4)', () => {
  it('recognises the client secret, client ID and held tokens, bare or wrapped', () => {
    const cases: Array<[string, ReturnType<typeof recognizeForeignPaste>]> = [
      ['demo-client-secret', 'client-secret'],
      ['  "demo-client-secret"  ', 'client-secret'],
      ['KEAP_CLIENT_SECRET=demo-client-secret', 'client-secret'],
      ["export INFUSIONSOFT_SECRET='demo-client-secret'", 'client-secret'],
      ['https://relay.example/?code=demo-client-secret&state=s', 'client-secret'],
      ['demo-client-id', 'client-id'],
      ['KEAP_CLIENT_ID=demo-client-id', 'client-id'],
      ['AT-live-0123456789', 'access-token'],
      ['KEAP_ACCESS_TOKEN="AT-live-0123456789"', 'access-token'],
      ['RT-live-9876543210', 'refresh-token'],
      ['KEAP_REFRESH_TOKEN=RT-live-9876543210', 'refresh-token'],
    ];
    for (const [input, kind] of cases) assert.equal(recognizeForeignPaste(input, KNOWN), kind, input);
  });

  it('recognises Keap API keys (KeapAK-…), Authorization headers and token responses without knowing them', () => {
    const none: KnownValues = { clientIds: [], clientSecrets: [], accessTokens: [], refreshTokens: [] };
    const cases: Array<[string, ReturnType<typeof recognizeForeignPaste>]> = [
      ['KeapAK-5dc860633b018e8de6df08eefc3f549d521ca66e84411f714e', 'keap-api-key'],
      ['keapak-abc', 'keap-api-key'],
      ['KEAP_API_KEY=KeapAK-0123abcd', 'keap-api-key'],
      ['X-Keap-API-Key: KeapAK-0123abcd', 'keap-api-key'],
      ['Bearer AT-someone-elses', 'authorization-header'],
      ['Authorization: Bearer abc.def', 'authorization-header'],
      ['authorization:basic ZGVtbzpzZWNyZXQ=', 'authorization-header'],
      ['{"access_token":"a","token_type":"bearer","expires_in":86400,"refresh_token":"r"}', 'token-response'],
    ];
    for (const [input, kind] of cases) assert.equal(recognizeForeignPaste(input, none), kind, input);
  });

  it('never judges an unknown code by its length or alphabet', () => {
    for (const input of ['abc', 'Zm9vYmFy', 'x'.repeat(4000), '0123', 'demo-client-secret-2', 'https://relay.example/?code=AbC&state=s', '?state=&error=access_denied', 'Bearer', 'KeapA', 'code=demo-client-idx', '']) {
      assert.equal(recognizeForeignPaste(input, KNOWN), undefined, input.slice(0, 40));
    }
  });

  it('an empty known value never matches', () => {
    assert.equal(recognizeForeignPaste('', { clientIds: [''], clientSecrets: [''], accessTokens: [''], refreshTokens: [''] }), undefined);
    assert.equal(recognizeForeignPaste('abcd', { clientIds: [''], clientSecrets: [''], accessTokens: [''], refreshTokens: [''] }), undefined);
  });
});
