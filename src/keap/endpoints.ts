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
