import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeapError, networkTrouble } from '../../src/keap/errors';
import { checkUserInfo } from '../../src/keap/tokenCheck';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { outcomeOf } from '../../src/session/refreshSchedule';
import { LoopbackPortBusyError, startLoopbackListener } from '../../src/signin/loopback';
import { DEMO_CLIENT } from '../fake-keap/server';
import { describeWhere, NO_OPENSSL } from '../support/platform';

/** Issue 17.10 (case K16): network trouble says what to do; a loopback port held by another program is found first. */

/** A self-signed certificate for localhost, made with openssl at test time (never checked in). */
function selfSignedCert(): { key: string; cert: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keap-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8'), dir };
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

const close = (s: net.Server) => new Promise<void>(r => s.close(() => r()));

describe('issue 17.10: network trouble says what to do (K16)', function () {
  this.timeout(30_000);

  describeWhere(NO_OPENSSL, 'a TLS server with a self-signed certificate (as a TLS-inspecting proxy presents)', () => {
    let server: https.Server;
    let base: string;
    let tmp: string;
    let hits = 0;
    before(async () => {
      const { key, cert, dir } = selfSignedCert();
      tmp = dir;
      server = https.createServer({ key, cert }, (_req, res) => {
        hits++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
      base = `https://localhost:${await listen(server, 0, '127.0.0.1')}`;
    });
    after(async () => {
      await close(server);
      fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('a refresh fails transient, tokens kept (a retryable outcome), with a hint naming http.proxy, http.systemCertificates and NODE_EXTRA_CA_CERTS', async () => {
      const client = new KeapTokenClient({ endpoints: () => ({ authorizeUrl: `${base}/app/oauth/authorize`, tokenUrl: `${base}/token`, apiBaseUrl: `${base}/crm/rest` }), timeoutMs: () => 10_000 });
      const e = await client.refresh({ ...DEMO_CLIENT, refreshToken: 'rt-0123456789', tokenUrl: `${base}/token` }).then(
        () => assert.fail('a self-signed certificate must not be accepted'),
        (x: unknown) => x as KeapError,
      );
      assert.ok(e instanceof KeapError, String(e));
      assert.equal(e.kind, 'transient');
      assert.equal(e.details.network, 'tls');
      for (const words of ['http.proxy', 'http.systemCertificates', 'NODE_EXTRA_CA_CERTS', 'tokens are kept']) assert.ok(e.message.includes(words), `${words} in: ${e.message}`);
      const outcome = outcomeOf(e);
      assert.equal(outcome.kind, 'retryable', 'backoff as for any transient fault; no pause, no sign-out');
      assert.equal(hits, 0, 'no request reached the server');
    });

    it('Test Token says the same', async () => {
      const check = await checkUserInfo('at-0123456789', { url: `${base}/crm/rest/v1/oauth/connect/userinfo`, timeoutMs: 10_000 });
      assert.equal(check.error?.kind, 'transient');
      assert.equal(check.error?.details.network, 'tls');
      assert.match(check.error!.message, /NODE_EXTRA_CA_CERTS/);
    });
  });

  it('classifies each certificate code and a proxy refusal; ordinary faults get no hint', () => {
    for (const code of ['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED']) {
      assert.equal(networkTrouble(Object.assign(new Error('x'), { code })), 'tls', code);
      assert.equal(networkTrouble({ message: 'request failed', cause: { code } }), 'tls', `${code} as a cause`);
    }
    assert.equal(networkTrouble(new Error('request to https://api.infusionsoft.com/token failed, reason: unable to get local issuer certificate')), 'tls');
    assert.equal(networkTrouble(new Error('tunneling socket could not be established, statusCode=403')), 'proxy');
    assert.equal(networkTrouble(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), undefined);
  });

  it('a proxy answering 407 is transient with the proxy hint', async () => {
    const server = http.createServer((_req, res) => res.writeHead(407, { 'proxy-authenticate': 'Basic realm="corp"' }).end('Proxy Authentication Required'));
    const port = await listen(server, 0, '127.0.0.1');
    try {
      const client = new KeapTokenClient({ endpoints: () => ({ authorizeUrl: '', tokenUrl: `http://127.0.0.1:${port}/token`, apiBaseUrl: '' }), timeoutMs: () => 5000 });
      await assert.rejects(client.refresh({ ...DEMO_CLIENT, refreshToken: 'rt-0123456789' }), (e: unknown) => e instanceof KeapError && e.kind === 'transient' && e.details.network === 'proxy' && /http\.proxy/.test(e.message));
    } finally {
      await close(server);
    }
  });

  describe('a fixed loopback port another program holds', () => {
    it('on ::1 (a dev server on [::1]:port) is found before the browser opens, and nothing listens for us', async () => {
      const other = http.createServer((_req, res) => res.end('dev server'));
      const port = await listen(other, 0, '::1');
      try {
        await assert.rejects(startLoopbackListener(port, async () => ({ ok: true, settled: true, message: '' })), (e: unknown) => e instanceof LoopbackPortBusyError && e.address === '::1' && e.port === port);
        // Our 127.0.0.1 half was closed again: the port is free there.
        const probe = net.createServer();
        await listen(probe, port, '127.0.0.1');
        await close(probe);
      } finally {
        await close(other);
      }
    });

    it('on 127.0.0.1', async () => {
      const other = http.createServer((_req, res) => res.end('dev server'));
      const port = await listen(other, 0, '127.0.0.1');
      try {
        await assert.rejects(startLoopbackListener(port, async () => ({ ok: true, settled: true, message: '' })), (e: unknown) => e instanceof LoopbackPortBusyError && e.address === '127.0.0.1');
      } finally {
        await close(other);
      }
    });

    it('a free port is held on both addresses, so a browser trying ::1 first reaches VS Code', async () => {
      let seen = 0;
      const l = await startLoopbackListener(0, async () => {
        seen++;
        return { ok: false, settled: false, message: 'seen' };
      });
      try {
        for (const host of ['127.0.0.1', '[::1]']) {
          const res = await fetch(`http://${host}:${l.port}/callback?code=c&state=s`);
          assert.equal(res.status, 400, host);
        }
        assert.equal(seen, 2);
        // And nobody else can take the ::1 half while it listens.
        await assert.rejects(listen(net.createServer(), l.port, '::1'), /EADDRINUSE/);
      } finally {
        await l.close();
      }
    });
  });
});
