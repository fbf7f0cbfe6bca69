import assert from 'node:assert/strict';
import { AuthorizationResponse } from '../../src/signin/callback';
import { startLoopbackListener } from '../../src/signin/loopback';

describe('loopback listener (desktop redirect URI)', () => {
  it('receives the callback on http://localhost:<port>/callback and shows the handler\'s words', async () => {
    const seen: AuthorizationResponse[] = [];
    const l = await startLoopbackListener(0, async r => {
      seen.push(r);
      return { ok: true, message: 'Signed in to Keap app ab123.' };
    });
    try {
      assert.equal(l.redirectUri, `http://localhost:${l.port}/callback`);
      const res = await fetch(`http://127.0.0.1:${l.port}/callback?code=abc&state=s1`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /Signed in to Keap app ab123\./);
      assert.deepEqual(seen, [{ kind: 'code', code: 'abc', state: 's1' }]);
      const bad = await fetch(`http://127.0.0.1:${l.port}/callback?foo=1`);
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /neither an authorization code nor an error/);
      assert.equal((await fetch(`http://127.0.0.1:${l.port}/other`)).status, 404);
      const xss = await startLoopbackListener(0, async () => ({ ok: false, message: '<script>x</script>' }));
      const page = await (await fetch(`http://127.0.0.1:${xss.port}/callback?code=c`)).text();
      assert.ok(!page.includes('<script>x'), 'messages are escaped');
      await xss.close();
      assert.equal(seen.length, 1);
    } finally {
      await l.close();
    }
  });

  it('refuses a port that is taken', async () => {
    const a = await startLoopbackListener(0, async () => ({ ok: true, message: '' }));
    try {
      await assert.rejects(startLoopbackListener(a.port, async () => ({ ok: true, message: '' })));
    } finally {
      await a.close();
    }
  });
});
