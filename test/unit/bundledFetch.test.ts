import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'fs';
import http = require('http');
import type { AddressInfo } from 'net';
import os = require('os');
import path = require('path');
import { gzipSync } from 'zlib';
import { FetchLike, KeapTokenClient } from '../../src/keap/tokenClient';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { describeWhere, NO_ESBUILD } from '../support/platform';

const ROOT = path.resolve(__dirname, '../../..');

// The unit tests import node-fetch unbundled; the extension runs it bundled, with node-fetch's
// polyfills replaced by Node's own (scripts/node18). These tests bundle node-fetch exactly so and
// run it through every code path the replacements touch, and through the token client.
describeWhere(NO_ESBUILD, 'node-fetch bundled with Node 18+ built-ins instead of its polyfills', function () {
  this.timeout(30_000);
  type NodeFetch = ((url: string, init?: Record<string, unknown>) => Promise<{
    status: number;
    headers: { get(n: string): string | null };
    text(): Promise<string>;
    json(): Promise<unknown>;
    blob(): Promise<Blob>;
    formData(): Promise<FormData>;
  }>) & { AbortError: unknown };
  let fetch: NodeFetch;
  let inputs: string[];
  let server: http.Server;
  let base: string;

  before(async () => {
    const esbuild = require('esbuild') as typeof import('esbuild');
    const { node18Plugin } = require(path.join(ROOT, 'scripts/node18'));
    const r = await esbuild.build({
      stdin: { contents: "module.exports = require('node-fetch').default; module.exports.AbortError = require('node-fetch').AbortError;", resolveDir: ROOT },
      bundle: true,
      platform: 'node',
      target: 'node18',
      format: 'cjs',
      write: false,
      metafile: true,
      plugins: [node18Plugin],
      logLevel: 'silent',
    });
    inputs = Object.keys(r.metafile.inputs);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'keap-fetch-')), 'fetch.js');
    writeFileSync(file, r.outputFiles[0].contents);
    fetch = require(file);

    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', c => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.url === '/echo') {
          res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
          return res.end(body);
        }
        if (req.url === '/gzip') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          return res.end(gzipSync(JSON.stringify({ zipped: true })));
        }
        if (req.url === '/multipart') {
          const b = 'XyZ';
          res.writeHead(200, { 'content-type': `multipart/form-data; boundary=${b}` });
          return res.end(`--${b}\r\nContent-Disposition: form-data; name="a"\r\n\r\none\r\n--${b}\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--${b}--\r\n`);
        }
        if (req.url === '/redirect') {
          res.writeHead(302, { location: '/echo' });
          return res.end();
        }
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 5_000);
        res.writeHead(404);
        res.end();
      });
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('holds none of the polyfills: web-streams-polyfill, fetch-blob, formdata-polyfill, the multipart parser', () => {
    const left = inputs.filter(f => /node_modules\/(web-streams-polyfill|fetch-blob|formdata-polyfill|node-domexception)\/|node-fetch\/src\/utils\/multipart-parser/.test(f));
    assert.deepEqual(left, []);
    assert.ok(inputs.some(f => f.includes('node_modules/node-fetch/src/index.js')), 'node-fetch itself is bundled');
  });

  it('sends a form body and reads text, JSON, gzip and headers', async () => {
    const res = await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=a%7Cb' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-www-form-urlencoded');
    assert.equal(await res.text(), 'grant_type=refresh_token&refresh_token=a%7Cb');
    assert.deepEqual(await (await fetch(`${base}/gzip`)).json(), { zipped: true });
  });

  it('reads a body as a native Blob, and as form data (urlencoded and multipart)', async () => {
    const blob = await (await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'héllo' })).blob();
    assert.ok(blob instanceof Blob);
    assert.equal(blob.type, 'text/plain');
    assert.equal(await blob.text(), 'héllo');
    const url = await (await fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=two' })).formData();
    assert.equal(url.get('b'), 'two');
    const multi = await (await fetch(`${base}/multipart`)).formData();
    assert.equal(multi.get('a'), 'one');
    const file = multi.get('f') as File;
    assert.equal(file.name, 'f.txt');
    assert.equal(await file.text(), 'file body');
  });

  it('sends a native Blob, a stream and a FormData body', async () => {
    const echoed = await fetch(`${base}/echo`, { method: 'POST', body: new Blob(['blob body'], { type: 'text/x-blob' }) });
    assert.equal(echoed.headers.get('content-type'), 'text/x-blob');
    assert.equal(await echoed.text(), 'blob body');
    const { Readable } = await import('stream');
    assert.equal(await (await fetch(`${base}/echo`, { method: 'POST', body: Readable.from(['a', 'b']) })).text(), 'ab');
    const form = new FormData();
    form.append('name', 'line1\nline2');
    form.append('upload', new Blob(['x,y'], { type: 'text/csv' }), 'data.csv');
    const back = await (await fetch(`${base}/echo`, { method: 'POST', body: form })).formData();
    assert.equal(back.get('name'), 'line1\r\nline2');
    const upload = back.get('upload') as File;
    assert.equal(upload.name, 'data.csv');
    assert.equal(upload.type, 'text/csv');
    assert.equal(await upload.text(), 'x,y');
  });

  it('leaves a redirect unfollowed when asked, and stops at an abort', async () => {
    const res = await fetch(`${base}/redirect`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/echo');
    const controller = new AbortController();
    const pending = fetch(`${base}/slow`, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
  });

  describe('in the token client against the fake Keap server', () => {
    let fake: FakeKeap;
    before(async () => (fake = await startFakeKeap()));
    after(() => fake.close());

    it('exchanges a code, refreshes and reads userinfo', async () => {
      const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, fetch: fetch as unknown as FetchLike });
      const redirectUri = 'http://localhost:9/callback';
      const signedIn = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
      const refreshed = await client.refresh({ ...DEMO_CLIENT, refreshToken: signedIn.refreshToken });
      assert.notEqual(refreshed.refreshToken, signedIn.refreshToken);
      assert.deepEqual(await client.userInfo(refreshed.accessToken), { name: 'Dana Developer', email: 'dev@example.com' });
      assert.deepEqual(fake.requests.filter(r => r.path !== '/app/oauth/authorize').map(r => `${r.path} ${r.status}`), ['/token 200', '/token 200', '/crm/rest/v1/oauth/connect/userinfo 200']);
    });
  });
});
