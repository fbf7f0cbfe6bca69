import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { DEMO_CLIENT, startFakeKeap, type FakeKeap, type FakeClient } from '../fake-keap/server';

const OTHER_CLIENT: FakeClient = { clientId: 'other-client-id', clientSecret: 'other-client-secret', appName: 'zz999' };
const REDIRECT = 'http://127.0.0.1:53123/callback';

function basic(id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${id}:${secret}`, 'utf8').toString('base64');
}

function authorizeUrl(fake: FakeKeap, over: Record<string, string | undefined> = {}): string {
  const p: Record<string, string | undefined> = {
    client_id: DEMO_CLIENT.clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'full',
    state: 'st-123',
    ...over,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined) q.append(k, v);
  return `${fake.authorizeUrl}?${q.toString()}`;
}

/** Extracts the hidden inputs of the authorize form (what a browser would post). */
function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  const unescape = (s: string): string =>
    s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out[m[1]] = unescape(m[2]);
  return out;
}

async function decide(fake: FakeKeap, decision: 'allow' | 'deny', over: Record<string, string | undefined> = {}): Promise<Response> {
  const page = await fetch(authorizeUrl(fake, over));
  assert.equal(page.status, 200, 'authorize page should render');
  const fields = hiddenFields(await page.text());
  return fetch(fake.authorizeUrl, {
    method: 'POST',
    body: new URLSearchParams({ ...fields, decision }),
    redirect: 'manual',
  });
}

async function getCode(fake: FakeKeap, redirectUri = REDIRECT, state = 'st-123', client = DEMO_CLIENT): Promise<string> {
  const res = await decide(fake, 'allow', { redirect_uri: redirectUri, state, client_id: client.clientId });
  assert.equal(res.status, 302);
  const loc = new URL(res.headers.get('location') ?? '');
  const code = loc.searchParams.get('code');
  assert.ok(code, `no code in ${loc.href}`);
  return code;
}

function form(fields: Record<string, string>): URLSearchParams {
  return new URLSearchParams(fields);
}

async function exchange(fake: FakeKeap, code: string, over: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(fake.tokenUrl, {
    method: 'POST',
    headers,
    body: form({
      grant_type: 'authorization_code',
      client_id: DEMO_CLIENT.clientId,
      client_secret: DEMO_CLIENT.clientSecret,
      code,
      redirect_uri: REDIRECT,
      ...over,
    }),
  });
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
  scope: string;
}

async function signIn(fake: FakeKeap, client = DEMO_CLIENT): Promise<Tokens> {
  const code = await getCode(fake, REDIRECT, 's', client);
  const res = await exchange(fake, code, { client_id: client.clientId, client_secret: client.clientSecret });
  assert.equal(res.status, 200);
  return (await res.json()) as Tokens;
}

async function refresh(fake: FakeKeap, refreshToken: string, authorization?: string, extra: Record<string, string> = {}): Promise<Response> {
  return fetch(fake.tokenUrl, {
    method: 'POST',
    headers: authorization === undefined ? {} : { authorization },
    body: form({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }),
  });
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Exact bytes on the wire: no header normalisation, no path normalisation. */
function rawRequest(fake: FakeKeap, opts: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const u = new URL(fake.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: Number(u.port), method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

async function control(fake: FakeKeap, method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${fake.baseUrl}/__fake/${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(res.status, 200, `control ${route} failed: ${res.status}`);
  return res.json();
}

/** The options of the authorize page's Keap app picker, or undefined when the page has none. */
function appOptions(html: string): { value: string; label: string; selected: boolean }[] | undefined {
  const m = /<select id="app" name="app">([\s\S]*?)<\/select>/.exec(html);
  if (!m) return undefined;
  return [...m[1].matchAll(/<option value="([^"]*)"( selected)?>([^<]*)<\/option>/g)].map((o) => ({
    value: o[1],
    label: o[3],
    selected: o[2] !== undefined,
  }));
}

/** Allow on the authorize page with the Keap app `app` picked, as a browser posts it; returns the redirect. */
async function allowApp(fake: FakeKeap, app: string, client = DEMO_CLIENT): Promise<URL> {
  const pageRes = await fetch(authorizeUrl(fake, { client_id: client.clientId }));
  assert.equal(pageRes.status, 200);
  const html = await pageRes.text();
  assert.ok(appOptions(html)?.some((o) => o.value === app), `the page offers no app ${app}`);
  const res = await fetch(fake.authorizeUrl, {
    method: 'POST',
    body: new URLSearchParams({ ...hiddenFields(html), app, decision: 'allow' }),
    redirect: 'manual',
  });
  assert.equal(res.status, 302);
  return new URL(res.headers.get('location') ?? '');
}

/** Signs in to the Keap app `app`; the token response and its x-keap-tenant-id header. */
async function signInApp(fake: FakeKeap, app: string, client = DEMO_CLIENT): Promise<{ tokens: Tokens; tenantHeader: string | null }> {
  const code = (await allowApp(fake, app, client)).searchParams.get('code') ?? '';
  const res = await exchange(fake, code, { client_id: client.clientId, client_secret: client.clientSecret });
  assert.equal(res.status, 200);
  return { tokens: (await res.json()) as Tokens, tenantHeader: res.headers.get('x-keap-tenant-id') };
}

const BAD_CLIENT = '{"error":"invalid_grant","error_description":"Unable to authenticate username and password"}';
const BAD_REFRESH = '{"error":"invalid_grant","error_description":"Invalid refresh token"}';
const BAD_REFRESH_REQ = '{"error":"invalid_request","error_description":"Invalid Refresh Token"}';
const BAD_CODE = '{"error":"invalid_grant","error_description":"Authorization code is invalid"}';
const BAD_REDIRECT = '{"error":"invalid_request","error_description":"Invalid redirect_uri"}';
const NEED_GRANT = '{"error":"invalid_request","error_description":"response_type or grant_type is required"}';
const BAD_ACCESS = '{"fault":{"faultstring":"Invalid access token","detail":{"errorcode":"oauth.v2.InvalidAccessToken"}}}';
const APIGEE_429 = '{"fault":{"faultstring":"Rate limit quota violation. Quota limit  exceeded. Identifier : ab123","detail":{"errorcode":"policies.ratelimit.QuotaViolation"}}}';
const QUOTA_429 = '{"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}';

describe('fake Keap server', function () {
  let fake: FakeKeap;

  beforeEach(async () => {
    // a frozen clock: time moves only when a test moves it
    const frozen = 1_750_000_000_000;
    fake = await startFakeKeap({ clients: [DEMO_CLIENT, OTHER_CLIENT], now: () => frozen });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('exposes the URLs of the spec', () => {
    assert.match(fake.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(fake.authorizeUrl, `${fake.baseUrl}/app/oauth/authorize`);
    assert.equal(fake.tokenUrl, `${fake.baseUrl}/token`);
    assert.equal(fake.apiBaseUrl, `${fake.baseUrl}/crm/rest`);
    assert.equal(fake.relayUrl, `${fake.baseUrl}/relay/index.html`);
  });

  describe('authorize', () => {
    it('renders a page with the app name, the redirect, and both buttons in a POST form', async () => {
      const res = await fetch(authorizeUrl(fake), { redirect: 'manual' });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const html = await res.text();
      assert.ok(html.includes('<button id="allow" name="decision" value="allow">Allow</button>'));
      assert.ok(html.includes('<button id="deny" name="decision" value="deny">Deny</button>'));
      // Relative, so the form still posts to the authorize endpoint when code-server proxies the page under /proxy/<port>/.
      assert.match(html, /<form[^>]*method="POST"[^>]*action="authorize"/);
      assert.ok(html.includes('ab123'));
      assert.ok(html.includes(REDIRECT));
      assert.deepEqual(hiddenFields(html), {
        client_id: DEMO_CLIENT.clientId,
        redirect_uri: REDIRECT,
        response_type: 'code',
        scope: 'full',
        state: 'st-123',
      });
    });

    it('Allow (form POST) redirects with a code, the tenant scope and the state byte-identical', async () => {
      const state = 'a b+c/d=e&f%g|ü"<>\'#?';
      const res = await decide(fake, 'allow', { state });
      assert.equal(res.status, 302);
      const location = res.headers.get('location') ?? '';
      assert.ok(location.startsWith(`${REDIRECT}?code=`), location);
      assert.ok(location.includes('&scope=full%7Cab123.infusionsoft.com&'), location);
      const u = new URL(location);
      assert.deepEqual([...u.searchParams.keys()], ['code', 'scope', 'state']);
      assert.equal(u.searchParams.get('state'), state);
      assert.equal(u.searchParams.get('scope'), 'full|ab123.infusionsoft.com');
      assert.ok((u.searchParams.get('code') ?? '').length > 0);
    });

    it('Deny gives the exact Keap denial shape, with an EMPTY state', async () => {
      const res = await decide(fake, 'deny', { state: 'will-not-come-back' });
      assert.equal(res.status, 302);
      const location = res.headers.get('location') ?? '';
      const prefix = `${REDIRECT}?state=&error_description=User+denied+access+to+resource&error=access_denied&error_uri=`;
      assert.ok(location.startsWith(prefix), location);
      const u = new URL(location);
      assert.equal(u.searchParams.get('state'), '');
      assert.equal(u.searchParams.get('code'), null);
      assert.match(u.searchParams.get('error_uri') ?? '', /^https:\/\//);
    });

    it('no-app-attached mode: Allow still answers access_denied and issues no code', async () => {
      await control(fake, 'POST', 'deny-mode', { mode: 'no-app-attached' });
      const before = fake.issuedSecrets().length;
      const res = await decide(fake, 'allow');
      const u = new URL(res.headers.get('location') ?? '');
      assert.equal(u.searchParams.get('error'), 'access_denied');
      assert.equal(u.searchParams.get('error_description'), 'User denied access to resource');
      assert.equal(u.searchParams.get('code'), null);
      assert.equal(fake.issuedSecrets().length, before);
      await control(fake, 'POST', 'deny-mode', { mode: 'normal' });
      assert.equal(new URL((await decide(fake, 'allow')).headers.get('location') ?? '').searchParams.has('code'), true);
    });

    it('unknown client_id: an "Invalid Client" page that never redirects', async () => {
      for (const res of [
        await fetch(authorizeUrl(fake, { client_id: 'nope' }), { redirect: 'manual' }),
        await fetch(fake.authorizeUrl, {
          method: 'POST',
          redirect: 'manual',
          body: form({ client_id: 'nope', redirect_uri: REDIRECT, response_type: 'code', scope: 'full', state: 's', decision: 'allow' }),
        }),
      ]) {
        assert.equal(res.status, 400);
        assert.equal(res.headers.get('location'), null);
        const html = await res.text();
        assert.ok(html.includes('Invalid Client'));
        assert.ok(!html.includes(REDIRECT), 'must not link back to the redirect URI');
        assert.ok(!/http-equiv|<script/i.test(html));
      }
    });

    const redirectCases: [string, boolean][] = [
      ['https://relay.example.com/keap/callback', true],
      ['http://localhost:53123/callback', true],
      ['http://127.0.0.1:53123/', true],
      ['http://[::1]:53123/cb', true],
      ['http://example.com/callback', false],
      ['vscode://keap-community.infusionsoft-oauth/callback', false],
      ['https://relay.example.com/keap/callback?window=2', false],
      ['http://localhost:53123/callback?x=1', false],
      ['https://relay.example.com/cb#frag', false],
      ['not a url', false],
    ];
    for (const [uri, ok] of redirectCases) {
      it(`redirect_uri ${ok ? 'accepted' : 'refused'}: ${uri}`, async () => {
        const res = await fetch(authorizeUrl(fake, { redirect_uri: uri }), { redirect: 'manual' });
        const html = await res.text();
        if (ok) {
          assert.equal(res.status, 200);
          assert.ok(html.includes('id="allow"'));
        } else {
          assert.equal(res.status, 400);
          assert.equal(res.headers.get('location'), null);
          assert.ok(html.includes('Invalid redirect_uri'));
          assert.ok(!html.includes('id="allow"'));
        }
      });
    }

    it('missing redirect_uri is refused with the error page', async () => {
      const res = await fetch(authorizeUrl(fake, { redirect_uri: undefined }), { redirect: 'manual' });
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.ok((await res.text()).includes('Invalid redirect_uri'));
    });

    it('wrong response_type or scope redirects back with the error and the state', async () => {
      const a = await fetch(authorizeUrl(fake, { response_type: 'token', state: 'x y' }), { redirect: 'manual' });
      assert.equal(a.status, 302);
      const ua = new URL(a.headers.get('location') ?? '');
      assert.equal(ua.origin + ua.pathname, REDIRECT);
      assert.equal(ua.searchParams.get('error'), 'unsupported_response_type');
      assert.equal(ua.searchParams.get('state'), 'x y');
      const b = await fetch(authorizeUrl(fake, { scope: 'openid', state: 'z' }), { redirect: 'manual' });
      const ub = new URL(b.headers.get('location') ?? '');
      assert.equal(ub.searchParams.get('error'), 'invalid_scope');
      assert.equal(ub.searchParams.get('state'), 'z');
    });

    it('autoApprove: GET answers 302 with a code directly (option and control API)', async () => {
      fake.setAutoApprove(true);
      const a = await fetch(authorizeUrl(fake, { state: 'auto' }), { redirect: 'manual' });
      assert.equal(a.status, 302);
      const u = new URL(a.headers.get('location') ?? '');
      assert.ok(u.searchParams.get('code'));
      assert.equal(u.searchParams.get('state'), 'auto');
      await control(fake, 'POST', 'auto-approve', { on: false });
      assert.equal((await fetch(authorizeUrl(fake), { redirect: 'manual' })).status, 200);
      await control(fake, 'POST', 'auto-approve', { on: true });
      assert.equal((await fetch(authorizeUrl(fake), { redirect: 'manual' })).status, 302);
    });
  });

  describe('code exchange', () => {
    it('succeeds with the exact JSON shape and content type', async () => {
      const code = await getCode(fake);
      const res = await exchange(fake, code);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json;charset=UTF-8');
      const text = await res.text();
      const body = JSON.parse(text) as Tokens;
      assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope']);
      assert.equal(body.token_type, 'bearer');
      assert.equal(body.expires_in, 86400);
      assert.equal(body.scope, 'full|ab123.infusionsoft.com');
      assert.equal(typeof body.access_token, 'string');
      assert.notEqual(body.access_token, body.refresh_token);
      assert.ok(fake.issuedSecrets().includes(body.access_token));
      assert.ok(fake.issuedSecrets().includes(body.refresh_token));
      assert.ok(fake.issuedSecrets().includes(code));
      assert.ok(fake.issuedSecrets().includes(DEMO_CLIENT.clientSecret));
    });

    it('a code is single-use', async () => {
      const code = await getCode(fake);
      assert.equal((await exchange(fake, code)).status, 200);
      const again = await exchange(fake, code);
      assert.equal(again.status, 400);
      assert.equal(await again.text(), BAD_CODE);
    });

    it('an unknown code, or one issued to another client, is invalid', async () => {
      const r = await exchange(fake, 'made-up');
      assert.equal(r.status, 400);
      assert.equal(await r.text(), BAD_CODE);
      const otherCode = await getCode(fake, REDIRECT, 's', OTHER_CLIENT);
      const r2 = await exchange(fake, otherCode);
      assert.equal(r2.status, 400);
      assert.equal(await r2.text(), BAD_CODE);
    });

    it('a code expires after 10 minutes of the fake clock', async () => {
      const c1 = await getCode(fake);
      fake.advance(9 * 60_000);
      assert.equal((await exchange(fake, c1)).status, 200);
      const c2 = await getCode(fake);
      fake.advance(10 * 60_000 + 1);
      const r = await exchange(fake, c2);
      assert.equal(r.status, 400);
      assert.equal(await r.text(), BAD_CODE);
    });

    it('is bound to the redirect_uri byte for byte (localhost vs 127.0.0.1, trailing slash)', async () => {
      const code = await getCode(fake, 'http://127.0.0.1:53123/callback');
      for (const wrong of ['http://localhost:53123/callback', 'http://127.0.0.1:53123/callback/', 'http://127.0.0.1:53123/Callback']) {
        const r = await exchange(fake, code, { redirect_uri: wrong });
        assert.equal(r.status, 400, wrong);
        assert.equal(await r.text(), BAD_REDIRECT);
      }
      const r = await exchange(fake, code, { redirect_uri: 'http://127.0.0.1:53123/callback' });
      assert.equal(r.status, 200);
      const slash = await getCode(fake, 'https://relay.example.com/cb/');
      assert.equal((await exchange(fake, slash, { redirect_uri: 'https://relay.example.com/cb' })).status, 400);
      assert.equal((await exchange(fake, slash, { redirect_uri: 'https://relay.example.com/cb/' })).status, 200);
    });

    it('rejects an Authorization header on the code exchange', async () => {
      const code = await getCode(fake);
      const r = await exchange(fake, code, {}, { authorization: basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret) });
      assert.equal(r.status, 400);
      assert.equal(await r.text(), '{"error":"invalid_request","error_description":"Authorization header is not allowed for grant_type authorization_code"}');
      assert.equal((await exchange(fake, code)).status, 200, 'the code survives the refused attempt');
    });

    it('wrong client secret or client id → 401 "Unable to authenticate username and password"', async () => {
      const code = await getCode(fake);
      for (const over of [{ client_secret: 'wrong' }, { client_id: 'nope' }, { client_secret: '' }] as Record<string, string>[]) {
        const r = await exchange(fake, code, over);
        assert.equal(r.status, 401);
        assert.equal(await r.text(), BAD_CLIENT);
      }
    });

    it('a JSON body, a text body, or no grant_type → 400 "response_type or grant_type is required"', async () => {
      const code = await getCode(fake);
      const json = await fetch(fake.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'authorization_code', client_id: DEMO_CLIENT.clientId, client_secret: DEMO_CLIENT.clientSecret, code, redirect_uri: REDIRECT }),
      });
      assert.equal(json.status, 400);
      assert.equal(await json.text(), NEED_GRANT);
      const text = await fetch(fake.tokenUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `grant_type=authorization_code&code=${code}` });
      assert.equal(text.status, 400);
      assert.equal(await text.text(), NEED_GRANT);
      const missing = await fetch(fake.tokenUrl, { method: 'POST', body: form({ code }) });
      assert.equal(missing.status, 400);
      assert.equal(await missing.text(), NEED_GRANT);
      assert.equal((await exchange(fake, code)).status, 200);
    });
  });

  describe('refresh', () => {
    it('works with Basic auth, rotates, and the old refresh token then fails with the exact body', async () => {
      const t1 = await signIn(fake);
      const r = await refresh(fake, t1.refresh_token, basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(r.status, 200);
      const t2 = (await r.json()) as Tokens;
      assert.notEqual(t2.access_token, t1.access_token);
      assert.notEqual(t2.refresh_token, t1.refresh_token);
      assert.equal(t2.scope, 'full|ab123.infusionsoft.com');
      const again = await refresh(fake, t1.refresh_token, basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(again.status, 400);
      assert.equal(again.headers.get('content-type'), 'application/json;charset=UTF-8');
      assert.equal(await again.text(), BAD_REFRESH);
      // the old access token keeps working until its own expiry
      const ui = await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, { headers: { authorization: `Bearer ${t1.access_token}` } });
      assert.equal(ui.status, 200);
      // the new refresh token works
      assert.equal((await refresh(fake, t2.refresh_token, basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 200);
      const live = fake.liveTokens();
      assert.equal(live.length, 1);
      assert.notEqual(live[0].refreshToken, t2.refresh_token);
    });

    it('records the exact bytes of the request', async () => {
      const t1 = await signIn(fake);
      const body = `grant_type=refresh_token&refresh_token=${encodeURIComponent(t1.refresh_token)}`;
      const auth = basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret);
      const r = await rawRequest(fake, {
        method: 'POST',
        path: '/token',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: auth, 'X-Custom-Thing': 'Yes' },
        body,
      });
      assert.equal(r.status, 200);
      const rec = fake.requests[fake.requests.length - 1];
      assert.equal(rec.method, 'POST');
      assert.equal(rec.path, '/token');
      assert.equal(rec.rawBody, body);
      assert.equal(rec.headers.authorization, auth);
      assert.equal(rec.headers['x-custom-thing'], 'Yes');
      assert.equal(rec.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.deepEqual(rec.form, { grant_type: 'refresh_token', refresh_token: t1.refresh_token });
      assert.equal(rec.status, 200);
      assert.equal(rec.responseBody, r.body);
      assert.equal(rec.at, fake.now());
    });

    it('fails authentication for "Basic" with two spaces, lowercase "basic", no space, or a bad secret', async () => {
      const t1 = await signIn(fake);
      const b64 = Buffer.from(`${DEMO_CLIENT.clientId}:${DEMO_CLIENT.clientSecret}`).toString('base64');
      for (const header of [`Basic  ${b64}`, `basic ${b64}`, `Basic${b64}`, `Bearer ${b64}`, basic(DEMO_CLIENT.clientId, 'wrong'), basic('nope', DEMO_CLIENT.clientSecret)]) {
        const r = await rawRequest(fake, {
          method: 'POST',
          path: '/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: header },
          body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(t1.refresh_token)}`,
        });
        assert.equal(r.status, 401, header);
        assert.equal(r.body, BAD_CLIENT);
      }
      // a failed header is not rescued by body credentials
      const mixed = await refresh(fake, t1.refresh_token, `Basic  ${b64}`, { client_id: DEMO_CLIENT.clientId, client_secret: DEMO_CLIENT.clientSecret });
      assert.equal(mixed.status, 401);
      // the refresh token is still alive after failed authentications
      assert.equal((await refresh(fake, t1.refresh_token, basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 200);
    });

    it('accepts credentials in the body when there is no header; rejects none at all', async () => {
      const t1 = await signIn(fake);
      const none = await refresh(fake, t1.refresh_token);
      assert.equal(none.status, 401);
      assert.equal(await none.text(), BAD_CLIENT);
      const r = await refresh(fake, t1.refresh_token, undefined, { client_id: DEMO_CLIENT.clientId, client_secret: DEMO_CLIENT.clientSecret });
      assert.equal(r.status, 200);
      const t2 = (await r.json()) as Tokens;
      assert.ok(t2.refresh_token);
    });

    it("a refresh token of another client is invalid", async () => {
      const other = await signIn(fake, OTHER_CLIENT);
      assert.equal(other.scope, 'full|zz999.infusionsoft.com');
      const r = await refresh(fake, other.refresh_token, basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(r.status, 400);
      assert.equal(await r.text(), BAD_REFRESH);
      assert.equal((await refresh(fake, other.refresh_token, basic(OTHER_CLIENT.clientId, OTHER_CLIENT.clientSecret))).status, 200);
    });

    it('refresh-error-style switches to {"error":"invalid_request","error_description":"Invalid Refresh Token"}', async () => {
      await control(fake, 'POST', 'refresh-error-style', { style: 'invalid_request' });
      const r = await refresh(fake, 'dead-token', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(r.status, 400);
      assert.equal(await r.text(), BAD_REFRESH_REQ);
      fake.setRefreshErrorStyle('invalid_grant');
      const r2 = await refresh(fake, 'dead-token', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(await r2.text(), BAD_REFRESH);
    });
  });

  describe('API', () => {
    it('userinfo and profile answer with a valid token, and the 401 fault body after expiry', async () => {
      const t = await signIn(fake);
      const ui = await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } });
      assert.equal(ui.status, 200);
      const info = (await ui.json()) as Record<string, unknown>;
      assert.equal(info.email, 'dev@example.com');
      assert.equal(info.given_name, 'Dana');
      assert.equal(info.family_name, 'Developer');
      assert.equal(info.preferred_name, 'Dana Developer');
      assert.equal(typeof info.sub, 'string');
      assert.ok(info.global_user_id !== undefined);
      const prof = await fetch(`${fake.apiBaseUrl}/v1/account/profile`, { headers: { authorization: `Bearer ${t.access_token}` } });
      assert.equal(prof.status, 200);
      const p = (await prof.json()) as Record<string, unknown>;
      assert.equal(p.name, 'Ab123 Demo Co');
      assert.equal(p.email, 'owner@example.com');

      fake.advance(86400 * 1000 - 1);
      assert.equal((await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })).status, 200);
      fake.advance(1);
      for (const url of [`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, `${fake.apiBaseUrl}/v1/account/profile`]) {
        const r = await fetch(url, { headers: { authorization: `Bearer ${t.access_token}` } });
        assert.equal(r.status, 401);
        assert.equal(await r.text(), BAD_ACCESS);
      }
    });

    it('no token, an unknown token, or a refresh token used as access token → 401 fault', async () => {
      const t = await signIn(fake);
      for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Bearer ${t.refresh_token}` }] as Record<string, string>[]) {
        const r = await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, { headers });
        assert.equal(r.status, 401);
        assert.equal(await r.text(), BAD_ACCESS);
      }
    });

    it('expires-in control changes expires_in and the access lifetime', async () => {
      await control(fake, 'POST', 'expires-in', { seconds: 3600 });
      const t = await signIn(fake);
      assert.equal(t.expires_in, 3600);
      const live = (await control(fake, 'GET', 'tokens')) as { accessToken: string; accessExpiresAt: number }[];
      const mine = live.find((s) => s.accessToken === t.access_token);
      assert.ok(mine);
      assert.ok(Math.abs(mine.accessExpiresAt - (fake.now() + 3600_000)) < 5000);
      fake.advance(3600_000);
      assert.equal((await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })).status, 401);
    });
  });

  describe('quota headers', () => {
    it('are on every non-control response, with epoch-ms expiry and |-joined tenant values', async () => {
      const t = await signIn(fake);
      const responses = [
        await fetch(authorizeUrl(fake)),
        await fetch(authorizeUrl(fake, { client_id: 'nope' })),
        await refresh(fake, 'dead', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret)),
        await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } }),
        await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`),
        await fetch(`${fake.baseUrl}/`),
      ];
      for (const r of responses) {
        for (const suffix of ['limit', 'time-unit', 'interval', 'available', 'used', 'expiry-time']) {
          assert.ok(r.headers.get(`x-keap-product-quota-${suffix}`), `missing quota-${suffix} on ${r.url}`);
        }
        for (const suffix of ['limit', 'time-unit', 'interval', 'available', 'used']) {
          assert.ok(r.headers.get(`x-keap-product-throttle-${suffix}`), `missing throttle-${suffix}`);
        }
        assert.equal(r.headers.get('x-keap-tenant-id'), 'ab123');
        assert.equal(r.headers.get('x-keap-tenant-throttle-time-unit'), 'minute|day');
        const expiry = Number(r.headers.get('x-keap-product-quota-expiry-time'));
        assert.ok(expiry > fake.now() && expiry <= fake.now() + 86400_000, 'expiry-time is epoch ms within a day');
      }
      const used1 = Number(responses[0].headers.get('x-keap-product-quota-used'));
      const used2 = Number(responses[1].headers.get('x-keap-product-quota-used'));
      assert.equal(used2, used1 + 1);
      assert.equal(Number(responses[0].headers.get('x-keap-product-quota-available')), 150000 - used1);
    });
  });

  describe('faults', () => {
    it('429 with the Apigee fault body and Retry-After, used once', async () => {
      fake.addFault({ status: 429, body: APIGEE_429, headers: { 'retry-after': '7' } });
      const r = await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '7');
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.ok(r.headers.get('x-keap-product-quota-used'));
      assert.equal(await r.text(), APIGEE_429);
      const next = await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(next.status, 400);
      assert.equal(await next.text(), BAD_REFRESH);
    });

    it('429 with the quota body (code is a string), via the control API', async () => {
      await control(fake, 'POST', 'fault', { status: 429, body: QUOTA_429 });
      const r = await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(r.status, 429);
      const body = (await r.json()) as { code: unknown };
      assert.equal(body.code, '429');
      assert.equal((await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 400);
    });

    it('502 with an HTML page, and an empty 400', async () => {
      fake.addFault({ status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' });
      fake.addFault({ status: 400 });
      const a = await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(a.status, 502);
      assert.match(a.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await a.text(), /Bad Gateway/);
      const b = await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(b.status, 400);
      assert.equal(await b.text(), '');
      assert.equal(b.headers.get('content-length'), '0');
      const c = await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(await c.text(), BAD_REFRESH);
    });

    it('destroySocket drops the connection without a response, once', async () => {
      fake.addFault({ status: 500, destroySocket: true });
      await assert.rejects(refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret)));
      const last = fake.requests[fake.requests.length - 1];
      assert.equal(last.status, 0);
      assert.equal((await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 400);
    });

    it('delayMs slows the answer; times and path are honoured', async () => {
      fake.addFault({ status: 503, body: 'slow', delayMs: 300 });
      const t0 = Date.now();
      const r = await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(r.status, 503);
      assert.ok(Date.now() - t0 >= 250, 'answer was not delayed');
      const t1 = Date.now();
      assert.equal((await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 400);
      assert.ok(Date.now() - t1 < 250);

      fake.addFault({ path: '/crm/rest/v1/oauth/connect/userinfo', status: 500, times: 2 });
      assert.equal((await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 400, 'token is not affected');
      assert.equal((await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`)).status, 500);
      assert.equal((await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`)).status, 500);
      assert.equal((await fetch(`${fake.apiBaseUrl}/v1/oauth/connect/userinfo`)).status, 401);
    });

    it('status 0 with delayMs delays a normal answer; clearFaults empties the queue', async () => {
      const t = await signIn(fake);
      fake.addFault({ status: 0, delayMs: 200 });
      const t0 = Date.now();
      const r = await refresh(fake, t.refresh_token, basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
      assert.equal(r.status, 200);
      assert.ok(Date.now() - t0 >= 150);
      fake.addFault({ status: 500 });
      fake.clearFaults();
      assert.equal((await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 400);
    });
  });

  describe('control API over HTTP', () => {
    it('clock, requests, reset, secrets, tokens', async () => {
      const start = fake.now();
      const c1 = (await control(fake, 'POST', 'clock', { advanceMs: 60_000 })) as { now: number };
      assert.ok(c1.now - start >= 60_000 && c1.now - start < 65_000);
      const c2 = (await control(fake, 'POST', 'clock', { nowMs: 1_700_000_000_000 })) as { now: number };
      assert.ok(Math.abs(c2.now - 1_700_000_000_000) < 1000);
      assert.ok(Math.abs(fake.now() - 1_700_000_000_000) < 1000);

      const t = await signIn(fake);
      const log = (await control(fake, 'GET', 'requests')) as { seq: number; path: string; method: string; status: number }[];
      assert.deepEqual(
        log.map((r) => `${r.method} ${r.path} ${r.status}`),
        ['GET /app/oauth/authorize 200', 'POST /app/oauth/authorize 302', 'POST /token 200'],
      );
      assert.deepEqual(log.map((r) => r.seq), [1, 2, 3]);
      assert.ok(!log.some((r) => r.path.startsWith('/__fake')), 'control calls are not logged');

      const secrets = (await control(fake, 'GET', 'secrets')) as string[];
      assert.ok(secrets.includes(t.access_token) && secrets.includes(t.refresh_token) && secrets.includes(DEMO_CLIENT.clientSecret));

      const tokens = (await control(fake, 'GET', 'tokens')) as { accessToken: string; refreshToken: string; clientId: string; accessExpiresAt: number; appName: string }[];
      assert.deepEqual(tokens, [
        { accessToken: t.access_token, refreshToken: t.refresh_token, clientId: DEMO_CLIENT.clientId, accessExpiresAt: tokens[0].accessExpiresAt, appName: 'ab123' },
      ]);
      assert.ok(Math.abs(tokens[0].accessExpiresAt - (1_700_000_000_000 + 86400_000)) < 5000);

      await control(fake, 'POST', 'fault', { status: 500 });
      await control(fake, 'POST', 'reset');
      assert.deepEqual(await control(fake, 'GET', 'requests'), []);
      assert.equal(fake.requests.length, 0);
      assert.equal((await refresh(fake, 'x', basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret))).status, 400, 'fault was cleared');
    });

    it('rejects malformed control bodies and unknown routes', async () => {
      const bad = await fetch(`${fake.baseUrl}/__fake/deny-mode`, { method: 'POST', body: JSON.stringify({ mode: 'weird' }) });
      assert.equal(bad.status, 400);
      const notJson = await fetch(`${fake.baseUrl}/__fake/clock`, { method: 'POST', body: 'advanceMs=5' });
      assert.equal(notJson.status, 400);
      const unknown = await fetch(`${fake.baseUrl}/__fake/nothing`);
      assert.equal(unknown.status, 404);
      assert.equal(fake.requests.length, 0);
    });
  });

  describe('several Keap apps (tenants) for one Keap user', () => {
    let multi: FakeKeap;
    const frozen = 1_750_000_000_000;
    beforeEach(async () => {
      multi = await startFakeKeap({ clients: [DEMO_CLIENT, OTHER_CLIENT], userApps: ['cd456'], now: () => frozen });
    });
    afterEach(async () => {
      await multi.close();
    });

    it('the page shows the app select only when more than one app is offered, first selected', async () => {
      // one app (no userApps): the page is as before, no picker
      const single = await (await fetch(authorizeUrl(fake))).text();
      assert.equal(appOptions(single), undefined);
      assert.ok(!single.includes('id="app"'));
      assert.ok(!single.includes('name="app"'));

      const html = await (await fetch(authorizeUrl(multi))).text();
      assert.deepEqual(appOptions(html), [
        { value: 'ab123', label: 'ab123.infusionsoft.com', selected: true },
        { value: 'cd456', label: 'cd456.infusionsoft.com', selected: false },
      ]);
      // inside the form, so the POST carries `app`; the other ids still work
      assert.match(html, /<form id="authorize-form"[^>]*>[\s\S]*<select id="app" name="app">[\s\S]*<\/select>[\s\S]*<\/form>/);
      for (const id of ['allow', 'deny', 'tenant', 'app-name']) assert.ok(html.includes(`id="${id}"`), id);
      assert.match(html, /<strong id="tenant">ab123\.infusionsoft\.com<\/strong>/);
      assert.match(html, /<span id="app-name">ab123<\/span>/);

      // the client's own app comes first and duplicates are dropped
      multi.setUserApps(['ab123', 'cd456', 'zz999', 'cd456']);
      assert.deepEqual(multi.appsFor(OTHER_CLIENT.clientId), ['zz999', 'ab123', 'cd456']);
      const other = await (await fetch(authorizeUrl(multi, { client_id: OTHER_CLIENT.clientId }))).text();
      assert.deepEqual(appOptions(other)?.map((o) => `${o.value}${o.selected ? '*' : ''}`), ['zz999*', 'ab123', 'cd456']);
      // back to one app: no picker again
      multi.setUserApps([]);
      assert.equal(appOptions(await (await fetch(authorizeUrl(multi))).text()), undefined);
    });

    it('a user with userApps [cd456] who picks cd456 gets scope full|cd456.infusionsoft.com on the redirect and the token response', async () => {
      const loc = await allowApp(multi, 'cd456');
      assert.equal(loc.searchParams.get('scope'), 'full|cd456.infusionsoft.com');
      assert.equal(loc.searchParams.get('state'), 'st-123');
      assert.equal(multi.requests[multi.requests.length - 1].status, 302);
      const code = loc.searchParams.get('code') ?? '';
      const res = await exchange(multi, code);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-keap-tenant-id'), 'cd456');
      const t = (await res.json()) as Tokens;
      assert.equal(t.scope, 'full|cd456.infusionsoft.com');
      // the API answers for that tenant
      const prof = await fetch(`${multi.apiBaseUrl}/v1/account/profile`, { headers: { authorization: `Bearer ${t.access_token}` } });
      assert.equal(prof.status, 200);
      assert.equal(prof.headers.get('x-keap-tenant-id'), 'cd456');
      assert.equal(((await prof.json()) as { name: string }).name, 'Cd456 Demo Co');
      // the token set records its app
      assert.deepEqual(multi.liveTokens().map((s) => [s.accessToken, s.appName]), [[t.access_token, 'cd456']]);
      const overHttp = (await control(multi, 'GET', 'tokens')) as { refreshToken: string; appName: string }[];
      assert.deepEqual(overHttp.map((s) => [s.refreshToken, s.appName]), [[t.refresh_token, 'cd456']]);
      // the default pick (no change in the select) is still the client's own app
      const def = await allowApp(multi, 'ab123');
      assert.equal(def.searchParams.get('scope'), 'full|ab123.infusionsoft.com');
    });

    it('a refresh of a cd456 token keeps cd456 (scope, tenant header, API), through several rotations', async () => {
      const { tokens: t1, tenantHeader } = await signInApp(multi, 'cd456');
      assert.equal(tenantHeader, 'cd456');
      let current = t1;
      for (let i = 0; i < 3; i++) {
        const r = await refresh(multi, current.refresh_token, basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret));
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-keap-tenant-id'), 'cd456');
        const next = (await r.json()) as Tokens;
        assert.equal(next.scope, 'full|cd456.infusionsoft.com');
        assert.notEqual(next.refresh_token, current.refresh_token);
        current = next;
      }
      const live = multi.liveTokens();
      assert.equal(live.length, 1);
      assert.equal(live[0].refreshToken, current.refresh_token);
      assert.equal(live[0].appName, 'cd456');
      const prof = await fetch(`${multi.apiBaseUrl}/v1/account/profile`, { headers: { authorization: `Bearer ${current.access_token}` } });
      assert.equal(((await prof.json()) as { name: string }).name, 'Cd456 Demo Co');
    });

    it("two tenants' token sets of the same client rotate independently", async () => {
      const { tokens: a } = await signInApp(multi, 'ab123');
      const { tokens: c } = await signInApp(multi, 'cd456');
      assert.equal(a.scope, 'full|ab123.infusionsoft.com');
      assert.equal(c.scope, 'full|cd456.infusionsoft.com');
      const auth = basic(DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret);

      // refreshing the cd456 set does not kill the ab123 one
      const rc = await refresh(multi, c.refresh_token, auth);
      assert.equal(rc.status, 200);
      const c2 = (await rc.json()) as Tokens;
      assert.equal(c2.scope, 'full|cd456.infusionsoft.com');
      const ra = await refresh(multi, a.refresh_token, auth);
      assert.equal(ra.status, 200, 'the ab123 refresh token survived the cd456 rotation');
      const a2 = (await ra.json()) as Tokens;
      assert.equal(a2.scope, 'full|ab123.infusionsoft.com');
      assert.equal(ra.headers.get('x-keap-tenant-id'), 'ab123');

      // and the other way round; the rotated-away tokens are dead for their own tenant only
      assert.equal((await refresh(multi, c.refresh_token, auth)).status, 400);
      assert.equal((await refresh(multi, a.refresh_token, auth)).status, 400);
      const rc3 = await refresh(multi, c2.refresh_token, auth);
      assert.equal(rc3.status, 200);
      assert.equal(((await rc3.json()) as Tokens).scope, 'full|cd456.infusionsoft.com');
      assert.deepEqual(multi.liveTokens().map((s) => s.appName).sort(), ['ab123', 'cd456']);
      assert.ok(multi.liveTokens().some((s) => s.refreshToken === a2.refresh_token && s.appName === 'ab123'));
    });

    it('an app the user does not have is refused with a 400 "Unknown Keap app" page and no code', async () => {
      const html = await (await fetch(authorizeUrl(multi))).text();
      const before = multi.issuedSecrets().length;
      for (const app of ['zz999', 'ef789', '', 'CD456']) {
        const res = await fetch(multi.authorizeUrl, {
          method: 'POST',
          redirect: 'manual',
          body: new URLSearchParams({ ...hiddenFields(html), app, decision: 'allow' }),
        });
        assert.equal(res.status, 400, app);
        assert.equal(res.headers.get('location'), null);
        assert.match(await res.text(), /Unknown Keap app/);
      }
      // the page with an unknown app in the query, and the auto-approve GET
      const pageRes = await fetch(authorizeUrl(multi, { app: 'ef789' }), { redirect: 'manual' });
      assert.equal(pageRes.status, 400);
      assert.match(await pageRes.text(), /Unknown Keap app/);
      multi.setAutoApprove(true);
      const auto = await fetch(authorizeUrl(multi, { app: 'ef789' }), { redirect: 'manual' });
      assert.equal(auto.status, 400);
      assert.equal(auto.headers.get('location'), null);
      assert.match(await auto.text(), /Unknown Keap app/);
      assert.equal(multi.issuedSecrets().length, before, 'no code was issued');
      // a single-app fake refuses another app too
      const single = await fetch(fake.authorizeUrl, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ ...hiddenFields(await (await fetch(authorizeUrl(fake))).text()), app: 'cd456', decision: 'allow' }),
      });
      assert.equal(single.status, 400);
    });

    it('auto-approve GET uses the query app when present, else the client app', async () => {
      multi.setAutoApprove(true);
      const withApp = await fetch(authorizeUrl(multi, { app: 'cd456' }), { redirect: 'manual' });
      assert.equal(withApp.status, 302);
      const u = new URL(withApp.headers.get('location') ?? '');
      assert.equal(u.searchParams.get('scope'), 'full|cd456.infusionsoft.com');
      const t = (await (await exchange(multi, u.searchParams.get('code') ?? '')).json()) as Tokens;
      assert.equal(t.scope, 'full|cd456.infusionsoft.com');
      const without = await fetch(authorizeUrl(multi), { redirect: 'manual' });
      assert.equal(new URL(without.headers.get('location') ?? '').searchParams.get('scope'), 'full|ab123.infusionsoft.com');
      // the page (no auto-approve) preselects a query app
      multi.setAutoApprove(false);
      const html = await (await fetch(authorizeUrl(multi, { app: 'cd456' }))).text();
      assert.deepEqual(appOptions(html)?.map((o) => o.selected), [false, true]);
    });

    it('control API: GET/POST /__fake/user-apps validates, and reset {all:true} restores the option', async () => {
      assert.deepEqual(await control(multi, 'GET', 'user-apps'), { apps: ['cd456'] });
      assert.deepEqual(await control(multi, 'POST', 'user-apps', { apps: ['cd456', 'ef789'] }), { ok: true, apps: ['cd456', 'ef789'] });
      assert.deepEqual(await control(multi, 'GET', 'user-apps'), { apps: ['cd456', 'ef789'] });
      assert.deepEqual(appOptions(await (await fetch(authorizeUrl(multi))).text())?.map((o) => o.value), ['ab123', 'cd456', 'ef789']);
      for (const body of [{}, { apps: 'cd456' }, { apps: [''] }, { apps: ['CD456'] }, { apps: ['cd-456'] }, { apps: ['cd456', 7] }, { apps: [null] }]) {
        const r = await fetch(`${multi.baseUrl}/__fake/user-apps`, { method: 'POST', body: JSON.stringify(body) });
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(((await r.json()) as { error: string }).error, /apps/);
      }
      assert.deepEqual(await control(multi, 'GET', 'user-apps'), { apps: ['cd456', 'ef789'] }, 'a refused update changes nothing');
      await control(multi, 'POST', 'reset', {});
      assert.deepEqual(await control(multi, 'GET', 'user-apps'), { apps: ['cd456', 'ef789'] }, 'a plain reset keeps the apps');
      await control(multi, 'POST', 'reset', { all: true });
      assert.deepEqual(await control(multi, 'GET', 'user-apps'), { apps: ['cd456'] });
      await control(fake, 'POST', 'user-apps', { apps: [] });
      await control(fake, 'POST', 'reset', { all: true });
      assert.deepEqual(await control(fake, 'GET', 'user-apps'), { apps: [] });
      assert.throws(() => multi.setUserApps(['Bad']));
      await assert.rejects(startFakeKeap({ userApps: ['no way'] }), /userApps/);
    });
  });

  describe('static relay and index', () => {
    let dir: string;
    let relayFake: FakeKeap;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-keap-relay-'));
      fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>relay</title>');
      fs.writeFileSync(path.join(dir, 'relay.js'), 'console.log(1);');
      fs.writeFileSync(path.join(os.tmpdir(), 'fake-keap-outside.txt'), 'secret outside');
    });
    after(() => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(path.join(os.tmpdir(), 'fake-keap-outside.txt'), { force: true });
    });
    beforeEach(async () => {
      relayFake = await startFakeKeap({ staticDir: dir });
    });
    afterEach(async () => {
      await relayFake.close();
    });

    it('serves files from staticDir with content types, including with a query string', async () => {
      const r = await fetch(`${relayFake.relayUrl}?code=abc&state=xyz`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(await r.text(), '<!doctype html><title>relay</title>');
      const js = await fetch(`${relayFake.baseUrl}/relay/relay.js`);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      assert.equal((await fetch(`${relayFake.baseUrl}/relay/missing.html`)).status, 404);
    });

    it('refuses ..', async () => {
      for (const p of ['/relay/../fake-keap-outside.txt', '/relay/%2e%2e/fake-keap-outside.txt', '/relay/..%2Ffake-keap-outside.txt']) {
        const r = await rawRequest(relayFake, { path: p });
        assert.notEqual(r.status, 200, p);
        assert.ok(!r.body.includes('secret outside'), p);
      }
    });

    it('the relay page is an acceptable redirect_uri', async () => {
      const r = await fetch(authorizeUrl(relayFake, { redirect_uri: relayFake.relayUrl }));
      assert.equal(r.status, 200);
    });

    it('without staticDir /relay/ is 404; / lists the endpoints', async () => {
      assert.equal((await fetch(fake.relayUrl)).status, 404);
      const idx = await fetch(`${fake.baseUrl}/`);
      assert.equal(idx.status, 200);
      const html = await idx.text();
      for (const p of ['/app/oauth/authorize', '/token', '/crm/rest']) assert.ok(html.includes(p), p);
    });
  });

  describe('CLI', () => {
    it('starts, prints its URLs and FAKE_KEAP_READY, never prints issued tokens, and exits on SIGTERM (exit code 0; on Windows, where SIGTERM ends a process at once, by that signal)', async function () {
      this.timeout(15000);
      const cli = path.join(__dirname, '..', 'fake-keap', 'cli.js');
      const child = spawn(process.execPath, [cli, '--port', '0', '--auto-approve'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
      try {
        const baseUrl = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no FAKE_KEAP_READY; stdout=${out} stderr=${err}`)), 10000);
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /^FAKE_KEAP_READY (\S+)$/m.exec(out);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]);
            }
          });
          child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${err}`)));
        });
        assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
        for (const s of [`${baseUrl}/app/oauth/authorize`, `${baseUrl}/token`, `${baseUrl}/crm/rest`, `${baseUrl}/relay/index.html`, `${baseUrl}/__fake/`, DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret]) {
          assert.ok(out.includes(s), `missing ${s} in output`);
        }
        // auto-approve sign-in against the CLI server
        const q = new URLSearchParams({ client_id: DEMO_CLIENT.clientId, redirect_uri: REDIRECT, response_type: 'code', scope: 'full', state: 's' });
        const a = await fetch(`${baseUrl}/app/oauth/authorize?${q.toString()}`, { redirect: 'manual' });
        assert.equal(a.status, 302);
        const code = new URL(a.headers.get('location') ?? '').searchParams.get('code') ?? '';
        const tr = await fetch(`${baseUrl}/token`, {
          method: 'POST',
          body: form({ grant_type: 'authorization_code', client_id: DEMO_CLIENT.clientId, client_secret: DEMO_CLIENT.clientSecret, code, redirect_uri: REDIRECT }),
        });
        assert.equal(tr.status, 200);
        const tokens = (await tr.json()) as Tokens;
        await new Promise((r) => setTimeout(r, 100));
        assert.match(out, /POST \/token -> 200/);
        for (const s of [code, tokens.access_token, tokens.refresh_token]) assert.ok(!out.includes(s) && !err.includes(s), 'secret printed without --verbose');
        child.kill('SIGTERM');
        assert.equal(await exited, process.platform === 'win32' ? 'SIGTERM' : 0);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });
  });
});
