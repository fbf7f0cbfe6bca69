/**
 * Where Keap's OAuth 2.0 endpoints live.
 *
 * Source: developer.infusionsoft.com/getting-started-oauth-keys (authorize and token hosts) and the
 * Keap v1 OpenAPI (userinfo under the REST base). All three are settings, so tests and the demo can
 * point them at a local Keap-compatible server.
 */
export interface KeapEndpoints {
  /** Browser page of the authorization request, e.g. `https://accounts.infusionsoft.com/app/oauth/authorize`. */
  readonly authorizeUrl: string;
  /** Token endpoint for both grants, e.g. `https://api.infusionsoft.com/token`. */
  readonly tokenUrl: string;
  /** REST base without a trailing slash, e.g. `https://api.infusionsoft.com/crm/rest`. */
  readonly apiBaseUrl: string;
}

export const KEAP_PRODUCTION_ENDPOINTS: KeapEndpoints = Object.freeze({
  authorizeUrl: 'https://accounts.infusionsoft.com/app/oauth/authorize',
  tokenUrl: 'https://api.infusionsoft.com/token',
  apiBaseUrl: 'https://api.infusionsoft.com/crm/rest',
});

/** `GET {apiBaseUrl}/v1/oauth/connect/userinfo` (Keap v1 OpenAPI, UserInfoDTO). */
export function userInfoUrl(endpoints: KeapEndpoints): string {
  return endpoints.apiBaseUrl.replace(/\/+$/, '') + '/v1/oauth/connect/userinfo';
}

/**
 * Checks a configured endpoint. Keap's hosts are HTTPS; plain http is accepted only on a loopback
 * host (a local Keap-compatible server). Returns an English reason, or undefined when usable.
 */
export function endpointProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return undefined;
  return 'must be https (http is allowed only for localhost)';
}

/** True for `localhost`, `127.0.0.0/8` and `[::1]` — the hosts Keap accepts plain-http redirect URIs for. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * Keap's own hosts for the OAuth 2.0 endpoints and the REST API (keap-oauth.md, "Endpoints": the
 * authorize page on accounts.infusionsoft.com or the older signin.infusionsoft.com; the token
 * endpoint and REST API on api.infusionsoft.com).
 */
const KEAP_HOSTS: ReadonlySet<string> = new Set(['accounts.infusionsoft.com', 'signin.infusionsoft.com', 'api.infusionsoft.com']);

/**
 * The host (with port, if any) of an endpoint that is not one of Keap's own hosts over HTTPS, or
 * undefined for Keap's own. The status bar and tree show it ("custom Keap endpoint: <host>") so a
 * local test server or anything else that receives the user's tokens is never missed.
 */
export function customEndpointHost(url: string | undefined): string | undefined {
  if (!url) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.slice(0, 80);
  }
  return parsed.protocol === 'https:' && KEAP_HOSTS.has(parsed.hostname.toLowerCase()) && parsed.port === '' ? undefined : parsed.host;
}

/**
 * Compares two token endpoint URLs as the same endpoint: scheme, host, port and path, ignoring a
 * trailing slash and letter case of scheme and host (WHATWG URL normalisation). A refresh token is
 * sent only to the token endpoint that issued it (RFC 9700 §4.4, mix-up attacks).
 */
export function sameEndpoint(a: string, b: string): boolean {
  const norm = (u: string) => {
    try {
      const p = new URL(u);
      return `${p.protocol}//${p.host}${p.pathname.replace(/\/+$/, '')}${p.search}`;
    } catch {
      return u.trim();
    }
  };
  return norm(a) === norm(b);
}
