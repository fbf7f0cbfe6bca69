/**
 * The authorization request (RFC 6749 §4.1.1) as Keap reads it.
 *
 * Keap's table lists `client_id`, `redirect_uri`, `response_type=code` (its only value) and
 * `scope=full` (its only value). `state` is not in Keap's table but is echoed back; the official
 * infusionsoft-php SDK has sent it since 2017. Source: developer.infusionsoft.com/getting-started-oauth-keys.
 */
export interface AuthorizationRequest {
  readonly authorizeUrl: string;
  readonly clientId: string;
  /** Sent byte-for-byte again in the code exchange (case K6). Must carry no query string (Keap rejects it). */
  readonly redirectUri: string;
  readonly state: string;
}

/** Builds the URL of Keap's authorize page. Throws `TypeError` when `authorizeUrl` is not a URL. */
export function buildAuthorizeUrl(req: AuthorizationRequest): string {
  const url = new URL(req.authorizeUrl);
  url.searchParams.set('client_id', req.clientId);
  url.searchParams.set('redirect_uri', req.redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', 'full');
  url.searchParams.set('state', req.state);
  return url.toString();
}
