import assert from 'node:assert/strict';
import { mkdtempSync } from 'fs';
import http = require('http');
import os = require('os');
import path = require('path');
import { AuthorizationResponse } from '../../src/signin/callback';
import { LoopbackListener, startLoopbackListener } from '../../src/signin/loopback';
import { PendingSignIn } from '../../src/signin/pending';
import { answeredSignIn, SignInOutcome, SignInService } from '../../src/signin/signInService';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FileSessionStore } from '../support/fileSessionStore';
import { signInServiceFor } from '../support/signInService';

/** A GET with an explicit Host header (fetch cannot set one), as a DNS-rebinding page would send. */
function get(port: number, pathAndQuery: string, host = `localhost:${port}`, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathAndQuery, method, headers: { Host: host }, agent: false }, res => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', c => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('loopback listener (desktop redirect URI)', () => {
  it('receives the callback on http://localhost:<port>/callback and shows the handler\'s words', async () => {
    const seen: AuthorizationResponse[] = [];
    const l = await startLoopbackListener(0, async r => {
      seen.push(r);
      return { ok: false, settled: false, message: 'Not this one.' };
    });
    try {
      assert.equal(l.redirectUri, `http://localhost:${l.port}/callback`);
      const res = await fetch(`http://localhost:${l.port}/callback?code=abc&state=s1`);
      assert.equal(res.status, 400);
      assert.match(await res.text(), /Not this one\./);
      assert.deepEqual(seen, [{ kind: 'code', code: 'abc', state: 's1' }]);
      const bad = await fetch(`http://127.0.0.1:${l.port}/callback?foo=1`);
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /neither an authorization code nor an error/);
      assert.equal((await fetch(`http://127.0.0.1:${l.port}/other`)).status, 404);
      assert.equal((await get(l.port, '/callback?code=c&state=s', undefined, 'POST')).status, 405);
      const xss = await startLoopbackListener(0, async () => ({ ok: false, settled: false, title: '<b>t</b>', message: '<script>x</script>' }));
      const page = await (await fetch(`http://127.0.0.1:${xss.port}/callback?code=c`)).text();
      assert.ok(!page.includes('<script>x') && !page.includes('<b>t'), 'titles and messages are escaped');
      await xss.close();
      assert.equal(seen.length, 1);
    } finally {
      await l.close();
    }
  });

  it('S4: answers only its own Host (localhost:<port> or 127.0.0.1:<port>); a rebound name gets 421 and reaches no handler', async () => {
    let calls = 0;
    const l = await startLoopbackListener(0, async () => {
      calls++;
      return { ok: false, settled: false, message: 'no' };
    });
    try {
      for (const host of [`rebind.example:${l.port}`, 'localhost', `localhost:${l.port + 1}`, `127.0.0.2:${l.port}`, `localhost.rebind.example:${l.port}`]) {
        assert.equal((await get(l.port, '/callback?code=c&state=s', host)).status, 421, `Host "${host}"`);
      }
      assert.equal(calls, 0);
      assert.equal((await get(l.port, '/callback?code=c&state=s', `127.0.0.1:${l.port}`)).status, 400);
      assert.equal((await get(l.port, '/callback?code=c&state=s', `LOCALHOST:${l.port}`)).status, 400);
      assert.equal(calls, 2);
    } finally {
      await l.close();
    }
  });

  it('settles once: after an answer that belonged to the sign-in it refuses the rest and closes', async () => {
    const l = await startLoopbackListener(0, async r => ({ ok: true, settled: r.state === 'mine', message: 'Signed in.' }));
    try {
      assert.equal((await get(l.port, '/callback?code=a&state=other')).status, 200);
      assert.equal((await get(l.port, '/callback?code=b&state=mine')).status, 200);
      await l.closed;
      await assert.rejects(get(l.port, '/callback?code=c&state=mine'), /ECONNREFUSED/);
    } finally {
      await l.close();
    }
  });

  it('close() is idempotent and stops listening', async () => {
    const l = await startLoopbackListener(0, async () => ({ ok: true, settled: false, message: '' }));
    await Promise.all([l.close(), l.close()]);
    await l.closed;
    await assert.rejects(get(l.port, '/callback?code=c&state=s'), /ECONNREFUSED/);
  });

  it('refuses a port that is taken', async () => {
    const a = await startLoopbackListener(0, async () => ({ ok: true, settled: false, message: '' }));
    try {
      await assert.rejects(startLoopbackListener(a.port, async () => ({ ok: true, settled: false, message: '' })));
    } finally {
      await a.close();
    }
  });
});

describe('loopback sign-in against the fake Keap server (S2, S3, S4)', () => {
  let fake: FakeKeap;
  let dir: string;
  let listener: LoopbackListener;
  let pending: PendingSignIn[];
  let outcomes: SignInOutcome[];
  let store: FileSessionStore;
  const state = 'loopback-state-0123456789abcdef';

  beforeEach(async () => {
    fake = await startFakeKeap();
    dir = mkdtempSync(path.join(os.tmpdir(), 'keap-loopback-'));
    store = new FileSessionStore(path.join(dir, 'session.json'));
    let svc: SignInService;
    ({ svc, pending, outcomes } = signInServiceFor({ fake, dir, sessions: store }));
    listener = await startLoopbackListener(0, async r => {
      const res = await svc.handle(r, 'loopback');
      return { ok: res.kind === 'signed-in', settled: answeredSignIn(res), message: res.kind };
    });
    await svc.begin({ state, redirectUri: listener.redirectUri, clientId: DEMO_CLIENT.clientId, flow: 'loopback', createdAt: Date.now(), expiresAt: Date.now() + 60_000 });
  });
  afterEach(async () => {
    await listener.close();
    await fake.close();
  });

  const tokenCalls = () => fake.requests.filter(r => r.path === '/token').length;

  it('S4: a valid state with Host rebind.example:<port> exchanges nothing; the same answer on the real Host signs in once', async () => {
    const code = await authorizationCode(fake, listener.redirectUri, state);
    const q = `/callback?${new URLSearchParams({ code, state })}`;
    assert.equal((await get(listener.port, q, `rebind.example:${listener.port}`)).status, 421);
    assert.equal(tokenCalls(), 0, 'no /token request for the rebound Host');
    assert.equal(pending.length, 1, 'the sign-in keeps waiting');
    const ok = await get(listener.port, q);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(tokenCalls(), 1);
    assert.equal((await store.read())?.appName, 'ab123');
    await listener.closed;
    await assert.rejects(get(listener.port, q), /ECONNREFUSED/, 'answered once, then closed');
    assert.equal(tokenCalls(), 1);
  });

  it('S2: a code without state is refused; nothing is exchanged and the sign-in keeps waiting', async () => {
    const code = await authorizationCode(fake, listener.redirectUri, state);
    const r = await get(listener.port, `/callback?code=${encodeURIComponent(code)}`);
    assert.equal(r.status, 400);
    assert.match(r.body, /no-state/);
    const empty = await get(listener.port, `/callback?code=${encodeURIComponent(code)}&state=`);
    assert.match(empty.body, /no-state/);
    assert.equal(tokenCalls(), 0);
    assert.equal(pending.length, 1);
    assert.deepEqual(outcomes, []);
    // The real answer still works afterwards.
    assert.equal((await get(listener.port, `/callback?${new URLSearchParams({ code, state })}`)).status, 200);
    assert.equal(tokenCalls(), 1);
  });

  it('S3: a denial without state (forged or Keap\'s own) ends nothing', async () => {
    const r = await get(listener.port, `/callback?error=access_denied&error_description=${encodeURIComponent('Your session expired. Run this command…')}&state=`);
    assert.match(r.body, /no-state/);
    const bare = await get(listener.port, '/callback?error=access_denied');
    assert.match(bare.body, /no-state/);
    assert.equal(pending.length, 1, 'the sign-in keeps waiting');
    assert.deepEqual(outcomes, [], 'no outcome is published, so no window shows anything');
    assert.equal(tokenCalls(), 0);
  });

  it('a wrong state is refused without closing the listener', async () => {
    const r = await get(listener.port, '/callback?code=forged&state=not-ours');
    assert.match(r.body, /unknown-state/);
    assert.equal(pending.length, 1);
    assert.equal((await get(listener.port, '/callback?code=forged&state=not-ours')).status, 400, 'still listening');
    assert.equal(tokenCalls(), 0);
  });
});
