/**
 * A Keap-compatible OAuth 2.0 server for tests and the demo.
 *
 * It imitates the wire contract in /work/shared/keap-oauth.md, quirks included:
 * authorize page with Allow/Deny, denial with an EMPTY state, single-use codes bound to the
 * exact redirect_uri string, form-only token endpoint, Basic auth with exactly one space,
 * refresh-token rotation, Apigee-style 401 fault bodies, quota headers on every response (counted
 * per client, as Keap counts them per client ID).
 * A Keap user may have several Keap apps (tenants): the authorize page then offers a choice, and
 * the chosen app follows the code and every token set rotated from it (scope, tenant headers, API).
 *
 * Node `http` only. Nothing here writes to the console.
 */
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeClient {
  clientId: string;
  clientSecret: string;
  /** Keap app name / tenant, e.g. 'ab123' */
  appName: string;
}

export interface FakeKeapOptions {
  /** 0 = ephemeral (default 0) */
  port?: number;
  /** default '127.0.0.1' */
  host?: string;
  /** injectable clock, epoch ms; default Date.now. The control API can also offset it. */
  now?: () => number;
  /** authorize GET redirects straight back with a code (no page), default false */
  autoApprove?: boolean;
  /** default [DEMO_CLIENT] */
  clients?: FakeClient[];
  /**
   * The Keap apps (tenants) of the signed-in Keap user, besides each client's own `appName`
   * (default []). Each must match [a-z0-9]+. The apps offered on the authorize page for a client
   * are [client.appName, ...userApps] without duplicates; with more than one the page shows a
   * `<select id="app" name="app">`. The control API can change it (POST /__fake/user-apps).
   */
  userApps?: string[];
  /** default 86400 */
  expiresInSeconds?: number;
  /** if set, files in it are served at /relay/<name> */
  staticDir?: string;
  /** extension: called once for every recorded request after its response was sent (or the socket dropped) */
  onRequest?: (r: RecordedRequest) => void;
  /** The API keys (PAT/SAK) Keap accepts in `X-Keap-API-Key` (default [DEMO_API_KEY]). */
  apiKeys?: FakeApiKey[];
}

/** A Personal Access Token or Service Account Key the fake accepts (Keap cannot tell the kinds apart from the key either). */
export interface FakeApiKey {
  key: string;
  /** the Keap app (tenant) whose data the key opens */
  appName: string;
}

export const DEMO_API_KEY: FakeApiKey = { key: 'KeapAK-demo0000personal0000access0000token', appName: 'ab123' };

export const DEMO_CLIENT: FakeClient = {
  clientId: 'demo-client-id',
  clientSecret: 'demo-client-secret',
  appName: 'ab123',
};

export interface RecordedRequest {
  seq: number;
  /** fake-clock ms */
  at: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** lower-cased names */
  headers: Record<string, string>;
  rawBody: string;
  form?: Record<string, string>;
  status: number;
  responseBody: string;
}

export interface FaultSpec {
  /** default '/token'; '*' matches every path (extension) */
  path?: string;
  /** extension: status 0 means "delay by delayMs, then handle the request normally" */
  status: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  /** close connection with no response */
  destroySocket?: boolean;
  /** default 1 */
  times?: number;
  /**
   * extension (issue 17.5): after `body`, stream this many more bytes of `streamFill` (default "a")
   * in 64 KiB chunks without a Content-Length, stopping when the client hangs up; see `streamedBytes`.
   */
  streamBytes?: number;
  /** the text repeated for {@link streamBytes} (one character or more) */
  streamFill?: string;
}

export type DenyMode = 'normal' | 'no-app-attached';
export type RefreshErrorStyle = 'invalid_grant' | 'invalid_request';

export interface LiveTokenSet {
  accessToken: string;
  refreshToken: string;
  clientId: string;
  accessExpiresAt: number;
  /** the Keap app (tenant) this token set belongs to, e.g. 'ab123' */
  appName: string;
}

export interface FakeKeap {
  /** http://127.0.0.1:PORT */
  readonly baseUrl: string;
  /** `${baseUrl}/app/oauth/authorize` */
  readonly authorizeUrl: string;
  /** `${baseUrl}/token` */
  readonly tokenUrl: string;
  /** `${baseUrl}/crm/rest` */
  readonly apiBaseUrl: string;
  /** `${baseUrl}/relay/index.html` */
  readonly relayUrl: string;
  /** every request except /__fake/* control calls, in order */
  readonly requests: RecordedRequest[];
  now(): number;
  advance(ms: number): void;
  setNow(ms: number): void;
  addFault(f: FaultSpec): void;
  clearFaults(): void;
  setAutoApprove(on: boolean): void;
  /** every access token, refresh token, code, client secret the server issued or knows */
  issuedSecrets(): string[];
  /** extension: bytes the last `streamBytes` fault wrote before the client hung up or it ended */
  streamedBytes(): number;
  close(): Promise<void>;
  // ---- extensions (same as the control API) ----
  setDenyMode(mode: DenyMode): void;
  setExpiresIn(seconds: number): void;
  setRefreshErrorStyle(style: RefreshErrorStyle): void;
  liveTokens(): LiveTokenSet[];
  /**
   * Makes Keap forget the access tokens it issued (of one client, or all), as when Keap revokes
   * them: the next API call with one answers 401 `{"fault":{"faultstring":"Invalid access token",…}}`.
   * Refresh tokens stay alive. Returns how many were revoked.
   */
  revokeAccessTokens(clientId?: string): number;
  /** the signed-in Keap user's apps besides each client's own; throws on an invalid list */
  setUserApps(apps: string[]): void;
  userApps(): string[];
  /** the apps the authorize page offers for a client: [client.appName, ...userApps] without duplicates */
  appsFor(clientId: string): string[];
  /** Makes Keap accept an API key (PAT/SAK) in `X-Keap-API-Key`. */
  addApiKey(k: FakeApiKey): void;
  /** Makes Keap refuse an API key from now on (401); returns whether it was known. */
  revokeApiKey(key: string): boolean;
}

// ---------------------------------------------------------------------------------------------

const CODE_TTL_MS = 10 * 60 * 1000;
const JSON_TYPE = 'application/json;charset=UTF-8';
const HTML_TYPE = 'text/html;charset=UTF-8';
const DENIAL_ERROR_URI = 'https://developer.infusionsoft.com/docs/rest/#section/Authentication';

const ERR = {
  needGrantType: { error: 'invalid_request', error_description: 'response_type or grant_type is required' },
  authHeaderOnCode: {
    error: 'invalid_request',
    error_description: 'Authorization header is not allowed for grant_type authorization_code',
  },
  badClient: { error: 'invalid_grant', error_description: 'Unable to authenticate username and password' },
  badRedirect: { error: 'invalid_request', error_description: 'Invalid redirect_uri' },
  badCode: { error: 'invalid_grant', error_description: 'Authorization code is invalid' },
  badRefreshGrant: { error: 'invalid_grant', error_description: 'Invalid refresh token' },
  badRefreshRequest: { error: 'invalid_request', error_description: 'Invalid Refresh Token' },
  unsupportedGrant: { error: 'unsupported_grant_type', error_description: 'Unsupported grant type' },
  invalidAccess: { fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } },
  invalidApiKey: { fault: { faultstring: 'Invalid ApiKey', detail: { errorcode: 'oauth.v2.InvalidApiKey' } } },
} as const;

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html;charset=UTF-8',
  '.htm': 'text/html;charset=UTF-8',
  '.js': 'text/javascript;charset=UTF-8',
  '.mjs': 'text/javascript;charset=UTF-8',
  '.css': 'text/css;charset=UTF-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json;charset=UTF-8',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain;charset=UTF-8',
};

interface CodeRecord {
  code: string;
  clientId: string;
  /** the Keap app chosen on the authorize page */
  appName: string;
  redirectUri: string;
  expiresAt: number;
  used: boolean;
}

interface TokenSetRecord {
  accessToken: string;
  refreshToken: string;
  clientId: string;
  /** the Keap app (tenant); kept across refresh-token rotation */
  appName: string;
  accessExpiresAt: number;
  refreshAlive: boolean;
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  pathname: string;
  headers: Record<string, string>;
  rawBody: string;
  record?: RecordedRequest;
  control: boolean;
  done: boolean;
  tenant?: string;
  /** the client the request is counted against (quota headers); default the first client */
  clientId?: string;
  /** the API key the request came with (key-style quota headers, counted per key) */
  apiKey?: string;
}

/** Random token. Length varies on purpose: clients must never validate tokens by length or pattern. */
function randomToken(minBytes: number, maxBytes: number): string {
  return randomBytes(randomInt(minBytes, maxBytes + 1)).toString('base64url');
}

function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function headersFromRaw(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  return out;
}

function paramsToRecord(p: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of p) {
    if (!(k in out)) out[k] = v; // first value wins
  }
  return out;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** https://…, or http:// on localhost / 127.0.0.1 / [::1]; no query string, no fragment, no custom scheme. */
export function isAcceptableRedirectUri(uri: string | undefined): boolean {
  if (!uri) return false;
  if (uri.includes('?') || uri.includes('#')) return false;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:') return u.hostname !== '';
  if (u.protocol === 'http:') return ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  return false;
}

const APP_NAME_RE = /^[a-z0-9]+$/;

/** An error message when `apps` is not an array of non-empty [a-z0-9]+ strings, else undefined. */
export function userAppsProblem(apps: unknown): string | undefined {
  if (!Array.isArray(apps)) return 'apps must be an array of Keap app names';
  for (const [i, a] of apps.entries()) {
    if (typeof a !== 'string' || !APP_NAME_RE.test(a)) {
      return `apps[${i}] must be a non-empty Keap app name of lowercase letters and digits ([a-z0-9]+), got ${JSON.stringify(a) ?? String(a)}`;
    }
  }
  return undefined;
}

function withQuery(redirectUri: string, params: [string, string][]): string {
  return `${redirectUri}?${new URLSearchParams(params).toString()}`;
}

function page(title: string, bodyHtml: string): string {
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<title>${escapeHtml(title)}</title>` +
    '<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em}' +
    'button{font-size:1.1em;margin-right:1em;padding:.4em 1.4em}code{word-break:break-all}</style>' +
    `</head><body>\n${bodyHtml}\n</body></html>\n`
  );
}

/**
 * An HTTP-date in IMF-fixdate, whole seconds (RFC 7231 §7.1.1.1), as Keap's `Date` header: from the
 * fake's own clock, so a test can set Keap's clock apart from the extension's (POST /__fake/clock).
 * Node's own `Date` header would come from the real clock.
 */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

// ---------------------------------------------------------------------------------------------

export async function startFakeKeap(opts: FakeKeapOptions = {}): Promise<FakeKeap> {
  const host = opts.host ?? '127.0.0.1';
  const baseNow = opts.now ?? Date.now;
  const clients: FakeClient[] = (opts.clients ?? [DEMO_CLIENT]).map((c) => ({ ...c }));
  const staticDir = opts.staticDir ? path.resolve(opts.staticDir) : undefined;
  const initialUserApps = [...(opts.userApps ?? [])];
  const optionProblem = userAppsProblem(initialUserApps);
  if (optionProblem) throw new Error(`userApps: ${optionProblem}`);
  let userApps = [...initialUserApps];

  let clockOffset = 0;
  let autoApprove = opts.autoApprove ?? false;
  let expiresInSeconds = opts.expiresInSeconds ?? 86400;
  let denyMode: DenyMode = 'normal';
  let refreshErrorStyle: RefreshErrorStyle = 'invalid_grant';
  let seq = 0;
  const requests: RecordedRequest[] = [];
  let faults: (FaultSpec & { remaining: number })[] = [];
  const codes = new Map<string, CodeRecord>();
  const tokenSets: TokenSetRecord[] = [];
  const byAccess = new Map<string, TokenSetRecord>();
  const byRefresh = new Map<string, TokenSetRecord>();
  const issued = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const apiKeys = new Map<string, FakeApiKey>((opts.apiKeys ?? [DEMO_API_KEY]).map((k) => [k.key, { ...k }]));
  // per API key: second, minute and day counters (fake clock)
  for (const k of apiKeys.keys()) issued.add(k);
  const keyQuotas = new Map<string, { s: number; sUsed: number; m: number; mUsed: number; d: number; dUsed: number }>();

  // quota counters per client ID (fake clock)
  const quotas = new Map<string, { minuteStart: number; minuteUsed: number; dayStart: number; dayUsed: number }>();

  const now = (): number => baseNow() + clockOffset;
  const clientById = (id: string | undefined): FakeClient | undefined =>
    id === undefined ? undefined : clients.find((c) => c.clientId === id);
  const tenantHost = (app: string): string => `${app}.infusionsoft.com`;
  const scopeFor = (app: string): string => `full|${tenantHost(app)}`;
  /** The Keap apps offered for a client: its own first, then the user's other apps, no duplicates. */
  const offeredApps = (c: FakeClient): string[] => [...new Set([c.appName, ...userApps])];

  function quotaHeaders(tenant: string, clientId: string): Record<string, string> {
    const t = now();
    const m = Math.floor(t / 60_000) * 60_000;
    const d = Math.floor(t / 86_400_000) * 86_400_000;
    const q = quotas.get(clientId) ?? { minuteStart: -1, minuteUsed: 0, dayStart: -1, dayUsed: 0 };
    quotas.set(clientId, q);
    if (m !== q.minuteStart) {
      q.minuteStart = m;
      q.minuteUsed = 0;
    }
    if (d !== q.dayStart) {
      q.dayStart = d;
      q.dayUsed = 0;
    }
    const minuteUsed = ++q.minuteUsed;
    const dayUsed = ++q.dayUsed;
    const minuteAvail = Math.max(0, 1500 - minuteUsed);
    const dayAvail = Math.max(0, 150000 - dayUsed);
    return {
      'x-keap-product-quota-limit': '150000',
      'x-keap-product-quota-time-unit': 'day',
      'x-keap-product-quota-interval': '1',
      'x-keap-product-quota-available': String(dayAvail),
      'x-keap-product-quota-used': String(dayUsed),
      'x-keap-product-quota-expiry-time': String(d + 86_400_000),
      'x-keap-product-throttle-limit': '1500',
      'x-keap-product-throttle-time-unit': 'minute',
      'x-keap-product-throttle-interval': '1',
      'x-keap-product-throttle-available': String(minuteAvail),
      'x-keap-product-throttle-used': String(minuteUsed),
      'x-keap-tenant-id': tenant,
      'x-keap-tenant-throttle-limit': '1500|150000',
      'x-keap-tenant-throttle-time-unit': 'minute|day',
      'x-keap-tenant-throttle-interval': '1|1',
      'x-keap-tenant-throttle-available': `${minuteAvail}|${dayAvail}`,
      'x-keap-tenant-throttle-used': `${minuteUsed}|${dayUsed}`,
    };
  }

  /**
   * Keap's limits for an API key: 10 a second, 240 a minute, 30,000 a day, not adjustable (Keap
   * PAT/SAK docs). The day in the quota headers, the second and minute as a `|`-joined throttle pair.
   */
  function keyQuotaHeaders(tenant: string, key: string): Record<string, string> {
    const t = now();
    const [s, m, d] = [Math.floor(t / 1000) * 1000, Math.floor(t / 60_000) * 60_000, Math.floor(t / 86_400_000) * 86_400_000];
    const q = keyQuotas.get(key) ?? { s: -1, sUsed: 0, m: -1, mUsed: 0, d: -1, dUsed: 0 };
    keyQuotas.set(key, q);
    if (q.s !== s) [q.s, q.sUsed] = [s, 0];
    if (q.m !== m) [q.m, q.mUsed] = [m, 0];
    if (q.d !== d) [q.d, q.dUsed] = [d, 0];
    const [sUsed, mUsed, dUsed] = [++q.sUsed, ++q.mUsed, ++q.dUsed];
    const [sAvail, mAvail, dAvail] = [Math.max(0, 10 - sUsed), Math.max(0, 240 - mUsed), Math.max(0, 30000 - dUsed)];
    return {
      'x-keap-product-quota-limit': '30000',
      'x-keap-product-quota-time-unit': 'day',
      'x-keap-product-quota-interval': '1',
      'x-keap-product-quota-available': String(dAvail),
      'x-keap-product-quota-used': String(dUsed),
      'x-keap-product-quota-expiry-time': String(d + 86_400_000),
      'x-keap-product-throttle-limit': '10|240',
      'x-keap-product-throttle-time-unit': 'second|minute',
      'x-keap-product-throttle-interval': '1|1',
      'x-keap-product-throttle-available': `${sAvail}|${mAvail}`,
      'x-keap-product-throttle-used': `${sUsed}|${mUsed}`,
      'x-keap-tenant-id': tenant,
    };
  }

  function finishRecord(ctx: Ctx, status: number, body: string): void {
    if (ctx.record) {
      ctx.record.status = status;
      ctx.record.responseBody = body;
      try {
        opts.onRequest?.(ctx.record);
      } catch {
        /* observer errors must not break the server */
      }
    }
  }

  function send(ctx: Ctx, status: number, body: string, contentType?: string, extra: Record<string, string> = {}): void {
    if (ctx.done) return;
    ctx.done = true;
    const headers: Record<string, string> = {};
    if (!ctx.control && ctx.apiKey !== undefined) Object.assign(headers, keyQuotaHeaders(ctx.tenant ?? 'ab123', ctx.apiKey));
    else if (!ctx.control) Object.assign(headers, quotaHeaders(ctx.tenant ?? clients[0]?.appName ?? 'ab123', ctx.clientId ?? clients[0]?.clientId ?? ''));
    if (contentType) headers['content-type'] = contentType;
    headers['cache-control'] = 'no-store';
    headers['date'] = httpDate(now());
    Object.assign(headers, extra);
    const buf = Buffer.from(body, 'utf8');
    headers['content-length'] = String(buf.length);
    finishRecord(ctx, status, body);
    ctx.res.writeHead(status, headers);
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : buf);
  }

  const sendJson = (ctx: Ctx, status: number, obj: unknown, extra?: Record<string, string>): void =>
    send(ctx, status, JSON.stringify(obj), JSON_TYPE, extra);
  const sendHtml = (ctx: Ctx, status: number, html: string): void => send(ctx, status, html, HTML_TYPE);
  const redirect = (ctx: Ctx, location: string): void => send(ctx, 302, '', undefined, { location });

  function dropSocket(ctx: Ctx): void {
    if (ctx.done) return;
    ctx.done = true;
    finishRecord(ctx, 0, '');
    ctx.req.socket.destroy();
  }

  function issueCode(client: FakeClient, appName: string, redirectUri: string): string {
    const code = randomToken(9, 15);
    codes.set(code, { code, clientId: client.clientId, appName, redirectUri, expiresAt: now() + CODE_TTL_MS, used: false });
    issued.add(code);
    return code;
  }

  function issueTokens(client: FakeClient, appName: string): TokenSetRecord {
    const set: TokenSetRecord = {
      accessToken: randomToken(20, 36),
      refreshToken: randomToken(20, 36),
      clientId: client.clientId,
      appName,
      accessExpiresAt: now() + expiresInSeconds * 1000,
      refreshAlive: true,
    };
    tokenSets.push(set);
    byAccess.set(set.accessToken, set);
    byRefresh.set(set.refreshToken, set);
    issued.add(set.accessToken);
    issued.add(set.refreshToken);
    return set;
  }

  function tokenResponse(ctx: Ctx, set: TokenSetRecord): void {
    sendJson(ctx, 200, {
      access_token: set.accessToken,
      token_type: 'bearer',
      expires_in: expiresInSeconds,
      refresh_token: set.refreshToken,
      scope: scopeFor(set.appName),
    });
  }

  // ---- authorize --------------------------------------------------------------------------

  function approve(ctx: Ctx, client: FakeClient, app: string, p: Record<string, string>): void {
    const redirectUri = p.redirect_uri;
    if (denyMode === 'no-app-attached') {
      deny(ctx, redirectUri);
      return;
    }
    ctx.tenant = app;
    const code = issueCode(client, app, redirectUri);
    const params: [string, string][] = [
      ['code', code],
      ['scope', scopeFor(app)],
    ];
    if (p.state !== undefined) params.push(['state', p.state]);
    redirect(ctx, withQuery(redirectUri, params));
  }

  function deny(ctx: Ctx, redirectUri: string): void {
    // Keap's shape: state EMPTY, this parameter order.
    redirect(
      ctx,
      withQuery(redirectUri, [
        ['state', ''],
        ['error_description', 'User denied access to resource'],
        ['error', 'access_denied'],
        ['error_uri', DENIAL_ERROR_URI],
      ]),
    );
  }

  /** Shared checks of GET and POST; returns the client when the caller may continue. */
  function checkAuthorizeParams(ctx: Ctx, p: Record<string, string>): FakeClient | undefined {
    const client = clientById(p.client_id);
    if (!client) {
      sendHtml(
        ctx,
        400,
        page(
          'Invalid Client',
          '<h1 id="error">Invalid Client</h1><p>The application you are trying to access is not valid. ' +
            'Check the client_id (your app&#39;s &quot;Key&quot; at keys.developer.keap.com).</p>',
        ),
      );
      return undefined;
    }
    ctx.tenant = client.appName;
    ctx.clientId = client.clientId;
    if (!isAcceptableRedirectUri(p.redirect_uri)) {
      sendHtml(
        ctx,
        400,
        page(
          'Invalid redirect_uri',
          '<h1 id="error">Invalid redirect_uri</h1><p>The redirect_uri must be an https:// address ' +
            '(or http://localhost) without a query string.</p>' +
            `<p>Received: <code>${escapeHtml(p.redirect_uri ?? '')}</code></p>`,
        ),
      );
      return undefined;
    }
    const withState = (error: string, description: string): [string, string][] => {
      const out: [string, string][] = [
        ['error', error],
        ['error_description', description],
      ];
      if (p.state !== undefined) out.push(['state', p.state]);
      return out;
    };
    if (p.response_type !== 'code') {
      redirect(ctx, withQuery(p.redirect_uri, withState('unsupported_response_type', 'response_type must be code')));
      return undefined;
    }
    if (p.scope !== 'full') {
      redirect(ctx, withQuery(p.redirect_uri, withState('invalid_scope', 'scope must be full')));
      return undefined;
    }
    return client;
  }

  /**
   * The Keap app a request chose: `app` (form field or query parameter) when present, else the
   * client's own. Undefined when it names an app that is not offered; the caller answers 400.
   */
  function chosenApp(client: FakeClient, p: Record<string, string>): string | undefined {
    if (p.app === undefined) return client.appName;
    return offeredApps(client).includes(p.app) ? p.app : undefined;
  }

  function unknownAppPage(ctx: Ctx, client: FakeClient, app: string): void {
    sendHtml(
      ctx,
      400,
      page(
        'Unknown Keap app',
        '<h1 id="error">Unknown Keap app</h1><p>The Keap app ' +
          `<code>${escapeHtml(app)}</code> is not attached to your Keap ID. Apps you can authorize: ` +
          `${offeredApps(client).map((a) => `<code>${escapeHtml(tenantHost(a))}</code>`).join(', ')}.</p>`,
      ),
    );
  }

  function authorizePage(client: FakeClient, p: Record<string, string>, selected: string): string {
    const hidden = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state']
      .filter((k) => p[k] !== undefined)
      .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(p[k])}">`)
      .join('\n');
    const apps = offeredApps(client);
    // One app: the page is unchanged (the POST then carries no `app`: the client's own app is used).
    const picker =
      apps.length > 1
        ? '<p><label for="app">Keap app to authorize:</label>\n<select id="app" name="app">\n' +
          apps
            .map((a) => `<option value="${escapeHtml(a)}"${a === selected ? ' selected' : ''}>${escapeHtml(tenantHost(a))}</option>`)
            .join('\n') +
          '\n</select></p>\n'
        : '';
    return page(
      `Allow access? ${client.appName} (fake Keap)`,
      `<h1>Allow <span id="app-name">${escapeHtml(client.appName)}</span> to access your Keap account?</h1>\n` +
        `<p>Keap app: <strong id="tenant">${escapeHtml(tenantHost(selected))}</strong></p>\n` +
        `<p>Client: <code id="client-id">${escapeHtml(client.clientId)}</code></p>\n` +
        `<p>You will be sent back to: <code id="redirect-uri">${escapeHtml(p.redirect_uri)}</code></p>\n` +
        `<form id="authorize-form" method="POST" action="authorize">\n${hidden}\n${picker}` +
        '<button id="allow" name="decision" value="allow">Allow</button>\n' +
        '<button id="deny" name="decision" value="deny">Deny</button>\n' +
        '</form>\n<p><small>This is a fake Keap server for tests and demos.</small></p>',
    );
  }

  function handleAuthorize(ctx: Ctx): void {
    const method = ctx.req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      const p = paramsToRecord(ctx.url.searchParams);
      const client = checkAuthorizeParams(ctx, p);
      if (!client) return;
      // `app` in the query: the auto-approve path uses it; the page preselects it.
      const app = chosenApp(client, p);
      if (app === undefined) return unknownAppPage(ctx, client, p.app);
      if (autoApprove) {
        approve(ctx, client, app, p);
        return;
      }
      sendHtml(ctx, 200, authorizePage(client, p, app));
      return;
    }
    if (method === 'POST') {
      const p = ctx.record?.form ?? {};
      const client = checkAuthorizeParams(ctx, p);
      if (!client) return;
      const app = chosenApp(client, p);
      if (app === undefined) return unknownAppPage(ctx, client, p.app);
      if (p.decision === 'allow') approve(ctx, client, app, p);
      else if (p.decision === 'deny') deny(ctx, p.redirect_uri);
      else sendHtml(ctx, 400, page('Bad request', '<h1 id="error">Missing decision</h1>'));
      return;
    }
    sendHtml(ctx, 405, page('Method not allowed', '<h1>Method not allowed</h1>'));
  }

  // ---- token ------------------------------------------------------------------------------

  function handleToken(ctx: Ctx): void {
    if (ctx.req.method !== 'POST') {
      sendJson(ctx, 405, { error: 'invalid_request', error_description: 'Method not allowed' }, { allow: 'POST' });
      return;
    }
    const form = ctx.record?.form;
    if (!form || !form.grant_type) {
      sendJson(ctx, 400, ERR.needGrantType);
      return;
    }
    if (form.grant_type === 'authorization_code') return codeGrant(ctx, form);
    if (form.grant_type === 'refresh_token') return refreshGrant(ctx, form);
    sendJson(ctx, 400, ERR.unsupportedGrant);
  }

  function codeGrant(ctx: Ctx, form: Record<string, string>): void {
    if (ctx.headers.authorization !== undefined) {
      sendJson(ctx, 400, ERR.authHeaderOnCode);
      return;
    }
    const client = clientById(form.client_id);
    if (!client || form.client_secret === undefined || form.client_secret !== client.clientSecret) {
      sendJson(ctx, 401, ERR.badClient);
      return;
    }
    ctx.tenant = client.appName;
    ctx.clientId = client.clientId;
    const rec = form.code === undefined ? undefined : codes.get(form.code);
    if (!rec || rec.used || now() >= rec.expiresAt || rec.clientId !== client.clientId) {
      sendJson(ctx, 400, ERR.badCode);
      return;
    }
    if (form.redirect_uri !== rec.redirectUri) {
      // byte-for-byte; the code is not consumed by this failure
      sendJson(ctx, 400, ERR.badRedirect);
      return;
    }
    rec.used = true;
    ctx.tenant = rec.appName;
    tokenResponse(ctx, issueTokens(client, rec.appName));
  }

  function authenticateRefreshClient(ctx: Ctx, form: Record<string, string>): FakeClient | undefined {
    const header = ctx.headers.authorization;
    if (header !== undefined) {
      const m = /^Basic ([A-Za-z0-9+/]+={0,2})$/.exec(header);
      if (!m) return undefined;
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      // strict: must re-encode to the same bytes (rejects sloppy base64)
      if (Buffer.from(decoded, 'utf8').toString('base64') !== m[1]) return undefined;
      const colon = decoded.indexOf(':');
      if (colon < 0) return undefined;
      const client = clientById(decoded.slice(0, colon));
      return client && client.clientSecret === decoded.slice(colon + 1) ? client : undefined;
    }
    const client = clientById(form.client_id);
    return client && form.client_secret !== undefined && client.clientSecret === form.client_secret ? client : undefined;
  }

  function refreshGrant(ctx: Ctx, form: Record<string, string>): void {
    const client = authenticateRefreshClient(ctx, form);
    if (!client) {
      sendJson(ctx, 401, ERR.badClient);
      return;
    }
    ctx.tenant = client.appName;
    ctx.clientId = client.clientId;
    const set = form.refresh_token === undefined ? undefined : byRefresh.get(form.refresh_token);
    if (!set || !set.refreshAlive || set.clientId !== client.clientId) {
      sendJson(ctx, 400, refreshErrorStyle === 'invalid_request' ? ERR.badRefreshRequest : ERR.badRefreshGrant);
      return;
    }
    set.refreshAlive = false; // rotation: the old refresh token is dead from now on
    ctx.tenant = set.appName; // the new set stays in the tenant of the one it replaces
    tokenResponse(ctx, issueTokens(client, set.appName));
  }

  // ---- API --------------------------------------------------------------------------------

  function bearer(ctx: Ctx): TokenSetRecord | undefined {
    const m = /^Bearer (.+)$/i.exec(ctx.headers.authorization ?? '');
    if (!m) return undefined;
    const set = byAccess.get(m[1]);
    if (!set || now() >= set.accessExpiresAt) return undefined;
    return set;
  }

  function handleApi(ctx: Ctx): void {
    const p = ctx.pathname;
    const known = p === '/crm/rest/v1/oauth/connect/userinfo' || p === '/crm/rest/v1/account/profile';
    if (!known) {
      sendJson(ctx, 404, { message: `No resource found at ${p}` });
      return;
    }
    // An API key (PAT/SAK) in X-Keap-API-Key: Apigee's VerifyAPIKey answer for an unknown one.
    const keyHeader = ctx.headers['x-keap-api-key'];
    let set: { appName: string; clientId?: string } | undefined;
    if (keyHeader !== undefined) {
      const k = apiKeys.get(keyHeader);
      if (!k) {
        sendJson(ctx, 401, ERR.invalidApiKey);
        return;
      }
      ctx.apiKey = k.key;
      set = { appName: k.appName };
      if (p.endsWith('/userinfo')) {
        // userinfo describes the user an OAuth token acts for; an API key has none.
        sendJson(ctx, 403, { message: 'userinfo requires an OAuth access token' });
        return;
      }
    } else {
      set = bearer(ctx);
    }
    if (!set) {
      sendJson(ctx, 401, ERR.invalidAccess);
      return;
    }
    ctx.tenant = set.appName;
    ctx.clientId = set.clientId;
    if (ctx.req.method !== 'GET' && ctx.req.method !== 'HEAD') {
      sendJson(ctx, 405, { message: 'Method not allowed' }, { allow: 'GET' });
      return;
    }
    if (p.endsWith('/userinfo')) {
      sendJson(ctx, 200, {
        sub: '1234567',
        email: 'dev@example.com',
        given_name: 'Dana',
        family_name: 'Developer',
        preferred_name: 'Dana Developer',
        global_user_id: 1234567,
        middle_name: null,
        infusionsoft_id: 'dev@example.com',
      });
      return;
    }
    const app = set.appName;
    sendJson(ctx, 200, {
      name: `${app.charAt(0).toUpperCase()}${app.slice(1)} Demo Co`,
      email: 'owner@example.com',
      phone: { number: '555-0100', type: 'Work' },
      address: { line1: '1 Example Way', locality: 'Chandler', region: 'AZ', postal_code: '85226', country_code: 'USA' },
      website: 'https://example.com',
      time_zone: 'America/Phoenix',
      currency_code: 'USD',
      language_tag: 'en-US',
      logo_url: null,
      business_type: 'Other',
      business_goals: [],
      business_primary_color: null,
      business_secondary_color: null,
    });
  }

  // ---- static relay + index ----------------------------------------------------------------

  function handleRelay(ctx: Ctx): void {
    if (!staticDir) {
      sendHtml(ctx, 404, page('Not found', '<h1>Not found</h1><p>No relay directory configured.</p>'));
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(ctx.pathname.slice('/relay/'.length));
    } catch {
      sendHtml(ctx, 400, page('Bad request', '<h1>Bad request</h1>'));
      return;
    }
    if (rel === '') rel = 'index.html';
    if (rel.split(/[\\/]/).includes('..') || rel.includes('\0') || path.isAbsolute(rel)) {
      sendHtml(ctx, 403, page('Forbidden', '<h1>Forbidden</h1>'));
      return;
    }
    const file = path.resolve(staticDir, rel);
    if (file !== staticDir && !file.startsWith(staticDir + path.sep)) {
      sendHtml(ctx, 403, page('Forbidden', '<h1>Forbidden</h1>'));
      return;
    }
    let data: Buffer;
    try {
      if (!fs.statSync(file).isFile()) throw new Error('not a file');
      data = fs.readFileSync(file);
    } catch {
      sendHtml(ctx, 404, page('Not found', '<h1>Not found</h1>'));
      return;
    }
    if (ctx.done) return;
    ctx.done = true;
    const type = STATIC_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const isText = /^text\/|javascript|json|svg/.test(type);
    finishRecord(ctx, 200, isText ? data.toString('utf8') : `<${data.length} bytes>`);
    ctx.res.writeHead(200, {
      ...quotaHeaders(ctx.tenant ?? clients[0]?.appName ?? 'ab123', ctx.clientId ?? clients[0]?.clientId ?? ''),
      'content-type': type,
      'content-length': String(data.length),
      'cache-control': 'no-store',
      date: httpDate(now()),
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : data);
  }

  function indexPage(): string {
    const rows: [string, string][] = [
      ['Authorize (browser)', '/app/oauth/authorize'],
      ['Token (POST, form)', '/token'],
      ['API base', '/crm/rest'],
      ['User info (Bearer)', '/crm/rest/v1/oauth/connect/userinfo'],
      ['Account profile (Bearer or X-Keap-API-Key)', '/crm/rest/v1/account/profile'],
      ['Control: API keys (POST {key, appName} adds one)', '/__fake/api-keys'],
      ['Relay page', '/relay/index.html'],
      ['Control: request log', '/__fake/requests'],
      ['Control: live tokens', '/__fake/tokens'],
      ['Control: revoke access tokens (POST)', '/__fake/revoke-access-tokens'],
      ['Control: the Keap user\'s other apps', '/__fake/user-apps'],
    ];
    return page(
      'Fake Keap',
      '<h1>Fake Keap OAuth server</h1>\n<ul>\n' +
        rows.map(([k, v]) => `<li>${escapeHtml(k)}: <code>${escapeHtml(v)}</code></li>`).join('\n') +
        `\n</ul>\n<p>Clients: ${clients.map((c) => `<code>${escapeHtml(c.clientId)}</code> (${escapeHtml(c.appName)})`).join(', ')}</p>` +
        `\n<p>The Keap user's other apps: ${userApps.length ? userApps.map((a) => `<code>${escapeHtml(a)}</code>`).join(', ') : 'none'}</p>`,
    );
  }

  // ---- control API --------------------------------------------------------------------------

  function handleControl(ctx: Ctx): void {
    const method = ctx.req.method ?? 'GET';
    const route = `${method} ${ctx.pathname}`;
    let body: Record<string, unknown> = {};
    if ((method === 'POST' || method === 'DELETE') && ctx.rawBody.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(ctx.rawBody);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
        else throw new Error('not an object');
      } catch {
        sendJson(ctx, 400, { error: 'control body must be a JSON object' });
        return;
      }
    }
    const bad = (msg: string): void => sendJson(ctx, 400, { error: msg });
    switch (route) {
      case 'GET /__fake/requests':
        return sendJson(ctx, 200, requests);
      case 'POST /__fake/reset':
        api.requests.length = 0;
        seq = 0;
        faults = [];
        if (body.all === true) {
          denyMode = 'normal';
          refreshErrorStyle = 'invalid_grant';
          userApps = [...initialUserApps];
        }
        return sendJson(ctx, 200, { ok: true });
      case 'GET /__fake/clock':
        return sendJson(ctx, 200, { now: now() });
      case 'POST /__fake/clock': {
        if (body.nowMs !== undefined) {
          if (typeof body.nowMs !== 'number' || !Number.isFinite(body.nowMs)) return bad('nowMs must be a number');
          api.setNow(body.nowMs);
        }
        if (body.advanceMs !== undefined) {
          if (typeof body.advanceMs !== 'number' || !Number.isFinite(body.advanceMs)) return bad('advanceMs must be a number');
          api.advance(body.advanceMs);
        }
        return sendJson(ctx, 200, { now: now() });
      }
      case 'POST /__fake/fault': {
        if (typeof body.status !== 'number') return bad('status (number) is required');
        api.addFault(body as unknown as FaultSpec);
        return sendJson(ctx, 200, { ok: true, pending: faults.length });
      }
      case 'DELETE /__fake/fault':
      case 'POST /__fake/clear-faults':
        api.clearFaults();
        return sendJson(ctx, 200, { ok: true });
      case 'POST /__fake/auto-approve':
        if (typeof body.on !== 'boolean') return bad('on (boolean) is required');
        autoApprove = body.on;
        return sendJson(ctx, 200, { ok: true, on: autoApprove });
      case 'POST /__fake/deny-mode':
        if (body.mode !== 'normal' && body.mode !== 'no-app-attached') return bad("mode must be 'normal' or 'no-app-attached'");
        denyMode = body.mode;
        return sendJson(ctx, 200, { ok: true, mode: denyMode });
      case 'GET /__fake/secrets':
        return sendJson(ctx, 200, api.issuedSecrets());
      case 'POST /__fake/expires-in':
        if (typeof body.seconds !== 'number' || !Number.isFinite(body.seconds)) return bad('seconds (number) is required');
        expiresInSeconds = body.seconds;
        return sendJson(ctx, 200, { ok: true, seconds: expiresInSeconds });
      case 'POST /__fake/refresh-error-style':
        if (body.style !== 'invalid_grant' && body.style !== 'invalid_request') {
          return bad("style must be 'invalid_grant' or 'invalid_request'");
        }
        refreshErrorStyle = body.style;
        return sendJson(ctx, 200, { ok: true, style: refreshErrorStyle });
      case 'GET /__fake/tokens':
        return sendJson(ctx, 200, api.liveTokens());
      case 'POST /__fake/revoke-access-tokens':
        if (body.clientId !== undefined && typeof body.clientId !== 'string') return bad('clientId must be a string');
        return sendJson(ctx, 200, { ok: true, revoked: api.revokeAccessTokens(body.clientId as string | undefined) });
      case 'POST /__fake/api-keys': {
        if (typeof body.key !== 'string' || !body.key || /\s/.test(body.key)) return bad('key (string without white space) is required');
        const appName = body.appName === undefined ? 'ab123' : body.appName;
        if (typeof appName !== 'string' || !/^[a-z0-9]+$/.test(appName)) return bad('appName must match [a-z0-9]+');
        api.addApiKey({ key: body.key, appName });
        return sendJson(ctx, 200, { ok: true });
      }
      case 'DELETE /__fake/api-keys':
        if (typeof body.key !== 'string') return bad('key (string) is required');
        return sendJson(ctx, 200, { ok: true, revoked: api.revokeApiKey(body.key) });
      case 'GET /__fake/user-apps':
        return sendJson(ctx, 200, { apps: [...userApps] });
      case 'POST /__fake/user-apps': {
        const problem = userAppsProblem(body.apps);
        if (problem) return bad(problem);
        userApps = [...(body.apps as string[])];
        return sendJson(ctx, 200, { ok: true, apps: [...userApps] });
      }
      default:
        return sendJson(ctx, 404, { error: `unknown control route ${route}` });
    }
  }

  // ---- dispatch -----------------------------------------------------------------------------

  function route(ctx: Ctx): void {
    const p = ctx.pathname;
    if (p === '/app/oauth/authorize') return handleAuthorize(ctx);
    if (p === '/token') return handleToken(ctx);
    if (p === '/crm/rest' || p.startsWith('/crm/rest/')) return handleApi(ctx);
    if (p.startsWith('/relay/')) return handleRelay(ctx);
    if (p === '/relay') return redirect(ctx, '/relay/index.html');
    if (p === '/' && (ctx.req.method === 'GET' || ctx.req.method === 'HEAD')) return sendHtml(ctx, 200, indexPage());
    sendHtml(ctx, 404, page('Not found', '<h1>Not found</h1>'));
  }

  function takeFault(pathname: string): FaultSpec | undefined {
    const i = faults.findIndex((f) => (f.path ?? '/token') === pathname || f.path === '*');
    if (i < 0) return undefined;
    const f = faults[i];
    f.remaining--;
    if (f.remaining <= 0) faults.splice(i, 1);
    return f;
  }

  function applyFault(ctx: Ctx, f: FaultSpec): void {
    const act = (): void => {
      if (ctx.done || ctx.req.socket.destroyed) {
        if (!ctx.done) {
          ctx.done = true;
          finishRecord(ctx, 0, '');
        }
        return;
      }
      if (f.destroySocket) return dropSocket(ctx);
      if (f.status === 0) return route(ctx);
      const body = f.body ?? '';
      let type = f.contentType;
      if (type === undefined && body !== '') {
        const t = body.trimStart();
        type = t.startsWith('{') || t.startsWith('[') ? JSON_TYPE : t.startsWith('<') ? HTML_TYPE : 'text/plain;charset=UTF-8';
      }
      if (f.streamBytes) return streamFault(ctx, f, body, type ?? JSON_TYPE);
      send(ctx, f.status, body, type, f.headers ?? {});
    };
    if (f.delayMs && f.delayMs > 0) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        act();
      }, f.delayMs);
      timers.add(timer);
    } else {
      act();
    }
  }

  /** Writes `body`, then `f.streamBytes` bytes of filler as the client reads them; counts what went out. */
  function streamFault(ctx: Ctx, f: FaultSpec, body: string, type: string): void {
    ctx.done = true;
    finishRecord(ctx, f.status, body.slice(0, 200));
    const res = ctx.res;
    res.writeHead(f.status, { 'content-type': type, ...(f.headers ?? {}) });
    const chunk = Buffer.from((f.streamFill ?? 'a').repeat(Math.ceil(65_536 / (f.streamFill ?? 'a').length)).slice(0, 65_536));
    let left = f.streamBytes ?? 0;
    streamed = Buffer.byteLength(body);
    res.write(body);
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        streamed += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
    };
    res.on('close', () => (left = 0));
    pump();
  }
  let streamed = 0;

  function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake.invalid');
      const ctx: Ctx = {
        req,
        res,
        url,
        pathname: url.pathname,
        headers: headersFromRaw(req.rawHeaders),
        rawBody: Buffer.concat(chunks).toString('utf8'),
        control: url.pathname === '/__fake' || url.pathname.startsWith('/__fake/'),
        done: false,
      };
      try {
        if (ctx.control) {
          handleControl(ctx);
          return;
        }
        const rec: RecordedRequest = {
          seq: ++seq,
          at: now(),
          method: req.method ?? '',
          path: url.pathname,
          query: paramsToRecord(url.searchParams),
          headers: ctx.headers,
          rawBody: ctx.rawBody,
          status: 0,
          responseBody: '',
        };
        if (mediaType(ctx.headers['content-type']) === 'application/x-www-form-urlencoded') {
          rec.form = paramsToRecord(new URLSearchParams(ctx.rawBody));
        }
        ctx.record = rec;
        requests.push(rec);
        const fault = takeFault(url.pathname);
        if (fault) applyFault(ctx, fault);
        else route(ctx);
      } catch (e) {
        if (!ctx.done) sendJson(ctx, 500, { error: 'fake_keap_internal', error_description: String(e) });
      }
    });
  }

  // ---- start --------------------------------------------------------------------------------

  const server = http.createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const baseUrl = `http://${hostForUrl}:${addr.port}`;
  let closed: Promise<void> | undefined;

  const api: FakeKeap = {
    baseUrl,
    authorizeUrl: `${baseUrl}/app/oauth/authorize`,
    tokenUrl: `${baseUrl}/token`,
    apiBaseUrl: `${baseUrl}/crm/rest`,
    relayUrl: `${baseUrl}/relay/index.html`,
    requests,
    now,
    advance(ms: number) {
      clockOffset += ms;
    },
    setNow(ms: number) {
      clockOffset = ms - baseNow();
    },
    streamedBytes: () => streamed,
    addFault(f: FaultSpec) {
      const times = f.times ?? 1;
      faults.push({ ...f, remaining: times > 0 ? times : 1 });
    },
    clearFaults() {
      faults = [];
    },
    setAutoApprove(on: boolean) {
      autoApprove = on;
    },
    issuedSecrets() {
      return [...clients.map((c) => c.clientSecret), ...issued];
    },
    close() {
      if (!closed) {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        closed = new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      return closed;
    },
    setDenyMode(mode: DenyMode) {
      denyMode = mode;
    },
    setExpiresIn(seconds: number) {
      expiresInSeconds = seconds;
    },
    setRefreshErrorStyle(style: RefreshErrorStyle) {
      refreshErrorStyle = style;
    },
    liveTokens() {
      return tokenSets
        .filter((s) => s.refreshAlive)
        .map((s) => ({
          accessToken: s.accessToken,
          refreshToken: s.refreshToken,
          clientId: s.clientId,
          accessExpiresAt: s.accessExpiresAt,
          appName: s.appName,
        }));
    },
    revokeAccessTokens(clientId?: string) {
      let revoked = 0;
      for (const set of tokenSets) {
        if ((clientId === undefined || set.clientId === clientId) && byAccess.delete(set.accessToken)) revoked++;
      }
      return revoked;
    },
    setUserApps(apps: string[]) {
      const problem = userAppsProblem(apps);
      if (problem) throw new Error(problem);
      userApps = [...apps];
    },
    userApps() {
      return [...userApps];
    },
    appsFor(clientId: string) {
      const client = clientById(clientId);
      return client ? offeredApps(client) : [];
    },
    addApiKey(k: FakeApiKey) {
      apiKeys.set(k.key, { ...k });
      issued.add(k.key);
    },
    revokeApiKey(key: string) {
      return apiKeys.delete(key);
    },
  };
  return api;
}
