import { appNameFromScope, MAX_EXPIRES_IN_SECONDS, TokenSet } from '../session/tokenSet';
import { bodyPreview, KeapError } from './errors';

/**
 * The longest token (and scope) accepted, in characters: 4096. Keap's tokens are under 100
 * characters today (keap-oauth.md); a JWT of a few claims is under 2 KB. A longer one is refused.
 */
export const MAX_TOKEN_CHARS = 4096;

/** The refresh token a refresh grant sent, kept when Keap's answer carries none (case K12). */
export interface KeptRefreshToken {
  readonly refreshToken: string;
  /** When it was issued (epoch ms): its age goes on counting. */
  readonly refreshTokenIssuedAt: number;
}

/**
 * Reads a 200 answer of Keap's token endpoint:
 * `{"access_token":"…","token_type":"bearer","expires_in":86400,"refresh_token":"…","scope":"full|ab123.infusionsoft.com"}`
 * (keap-oauth.md, "Token response"). Tokens are opaque: never checked by pattern, only against
 * {@link MAX_TOKEN_CHARS}.
 *
 * @param bodyText the raw body.
 * @param receivedAtMs wall clock when the answer arrived (epoch ms); the absolute expiry is computed from it once.
 * @param clientId the client the tokens were issued to.
 * @param kept for a refresh grant: the refresh token sent. An answer without `refresh_token` keeps
 *   it (RFC 6749 §6 lets the server keep the refresh token; case K12) and `warn` is told.
 * @param status the HTTP status, for messages.
 * @throws KeapError `transient` when the body is not a token response (a gateway page, say); its
 *   message names what was missing or wrong, with the status and the first bytes of a non-JSON body.
 */
export function parseTokenResponse(bodyText: string, receivedAtMs: number, clientId: string, kept?: KeptRefreshToken, warn?: (message: string) => void, status = 200): TokenSet {
  let o: unknown;
  try {
    o = JSON.parse(bodyText);
  } catch {
    const preview = bodyPreview(bodyText);
    throw new KeapError('transient', `Keap answered the token request with HTTP ${status} and a body that is not JSON${preview ? `: "${preview}"` : ' (empty)'}.`, { status, bodySnippet: preview });
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) {
    throw new KeapError('transient', `Keap answered the token request with HTTP ${status} and JSON that is not an object (${Array.isArray(o) ? 'an array' : o === null ? 'null' : typeof o}).`, { status });
  }
  const r = o as Record<string, unknown>;
  const present = (k: string) => typeof r[k] === 'string' && (r[k] as string).length > 0;
  const describe = (k: string) => (!(k in r) ? `no ${k}` : `an empty or non-string ${k}`);
  const missing = ['access_token', 'refresh_token'].filter(k => !present(k) && !(k === 'refresh_token' && kept));
  // Checked before anything else reads them (case S11): a token no header, keyring or .env should carry.
  const oversized = ['access_token', 'refresh_token', 'scope'].filter(k => typeof r[k] === 'string' && (r[k] as string).length > MAX_TOKEN_CHARS);
  if (oversized.length > 0) {
    throw new KeapError('transient', `Keap's token answer (HTTP ${status}) has ${oversized.join(' and ')} longer than ${MAX_TOKEN_CHARS} characters; it was refused and nothing was stored.`, { status });
  }
  if (missing.length > 0) {
    throw new KeapError('transient', `Keap's token answer (HTTP ${status}) has ${missing.map(describe).join(' and ')}.`, { status });
  }
  if (!present('refresh_token') && kept) {
    warn?.(`Keap's refresh answer has ${describe('refresh_token')}: keeping the refresh token sent (RFC 6749 §6 allows that) and storing the new access token`);
  }
  // expires_in is relative seconds: 86400 or 86399 today; 28800 and 3600 were seen in earlier years.
  const expiresIn = typeof r.expires_in === 'number' ? r.expires_in : typeof r.expires_in === 'string' ? Number(r.expires_in) : NaN;
  const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 && expiresIn <= MAX_EXPIRES_IN_SECONDS ? receivedAtMs + expiresIn * 1000 : undefined;
  if (expiresAt === undefined) warn?.(`Keap's token answer has ${'expires_in' in r ? 'an unusable' : 'no'} expires_in: the access token's expiry is unknown`);
  const scope = typeof r.scope === 'string' ? r.scope : '';
  const rotated = present('refresh_token');
  return {
    accessToken: r.access_token as string,
    refreshToken: rotated ? (r.refresh_token as string) : kept!.refreshToken,
    accessTokenExpiresAt: expiresAt,
    refreshTokenIssuedAt: rotated ? receivedAtMs : kept!.refreshTokenIssuedAt,
    scope,
    appName: appNameFromScope(scope),
    clientId,
  };
}
