/**
 * Encodes the two token requests exactly as Keap accepts them (see keap-oauth.md, "Code exchange"
 * and "Refresh"; case K4). Pure: returns the bytes to send, so tests can compare them with what
 * reaches the server.
 */

/** One HTTP request, fully encoded. `body` is `application/x-www-form-urlencoded` UTF-8 text. */
export interface EncodedRequest {
  readonly method: 'POST';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * Authorization code exchange (RFC 6749 §4.1.3). Keap wants the client ID and secret in the form
 * body and NO `Authorization` header (infusionsoft-php strips it because Keap rejects it here).
 * `redirectUri` must be the exact string sent to the authorize page (case K6).
 */
export function encodeCodeExchange(p: {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
}): EncodedRequest {
  const body = new URLSearchParams([
    ['client_id', p.clientId],
    ['client_secret', p.clientSecret],
    ['code', p.code],
    ['grant_type', 'authorization_code'],
    ['redirect_uri', p.redirectUri],
  ]);
  return { method: 'POST', url: p.tokenUrl, headers: { 'Content-Type': FORM, Accept: 'application/json' }, body: body.toString() };
}

/**
 * Refresh grant (RFC 6749 §6): form body `grant_type=refresh_token&refresh_token=…`, client
 * authenticated by HTTP Basic. Keap rotates the refresh token on every use (Keap staff,
 * infusionsoft-php #99), so the caller must store the answer before anything else.
 */
export function encodeRefresh(p: { tokenUrl: string; clientId: string; clientSecret: string; refreshToken: string }): EncodedRequest {
  const body = new URLSearchParams([
    ['grant_type', 'refresh_token'],
    ['refresh_token', p.refreshToken],
  ]);
  return {
    method: 'POST',
    url: p.tokenUrl,
    headers: { 'Content-Type': FORM, Accept: 'application/json', Authorization: basicAuthorization(p.clientId, p.clientSecret) },
    body: body.toString(),
  };
}

/**
 * `Basic ` (exactly one space) + base64(client_id ":" client_secret), as Keap and its SDKs do it.
 * Keap does not form-encode the parts first (RFC 6749 §2.3.1 would); its IDs and secrets are
 * alphanumeric in practice, so both readings give the same bytes.
 */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  return 'Basic ' + Buffer.from(`${clientId}:${clientSecret}`, 'utf8').toString('base64');
}
