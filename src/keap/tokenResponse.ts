import { appNameFromScope, TokenSet } from '../session/tokenSet';
import { KeapError } from './errors';

/**
 * Reads a 200 answer of Keap's token endpoint:
 * `{"access_token":"…","token_type":"bearer","expires_in":86400,"refresh_token":"…","scope":"full|ab123.infusionsoft.com"}`
 * (keap-oauth.md, "Token response"). Tokens are opaque: never checked by length or pattern.
 *
 * @param bodyText the raw body.
 * @param receivedAtMs wall clock when the answer arrived (epoch ms); the absolute expiry is computed from it once.
 * @param clientId the client the tokens were issued to.
 * @throws KeapError `transient` when the body is not a token response (a gateway page, say).
 */
export function parseTokenResponse(bodyText: string, receivedAtMs: number, clientId: string): TokenSet {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(bodyText);
  } catch {
    throw new KeapError('transient', 'Keap answered the token request with something that is not JSON.', { status: 200, bodySnippet: bodyText.slice(0, 200) });
  }
  if (!o || typeof o !== 'object' || typeof o.access_token !== 'string' || !o.access_token || typeof o.refresh_token !== 'string' || !o.refresh_token) {
    throw new KeapError('transient', 'Keap answered the token request without an access token and refresh token.', { status: 200 });
  }
  // expires_in is relative seconds: 86400 or 86399 today; 28800 and 3600 were seen in earlier years.
  const expiresIn = typeof o.expires_in === 'number' ? o.expires_in : typeof o.expires_in === 'string' ? Number(o.expires_in) : NaN;
  const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 && expiresIn <= 86_400 * 2 ? receivedAtMs + expiresIn * 1000 : undefined;
  const scope = typeof o.scope === 'string' ? o.scope : '';
  return {
    accessToken: o.access_token,
    refreshToken: o.refresh_token,
    accessTokenExpiresAt: expiresAt,
    refreshTokenIssuedAt: receivedAtMs,
    scope,
    appName: appNameFromScope(scope),
    clientId,
  };
}
