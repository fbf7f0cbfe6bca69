import { TokenSet } from '../session/tokenSet';

/** Which variable names to write; `undefined` leaves that value out. */
export interface EnvVariableNames {
  readonly accessToken?: string;
  readonly refreshToken?: string;
  /** ISO 8601 UTC, e.g. `2026-11-30T12:00:00.000Z`. */
  readonly expiresAt?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly redirectUri?: string;
}

/**
 * Presets of names in use (keap-oauth.md, "Environment variable names in use"): `keap` for user
 * scripts and Keap's forum (`KEAP_*`), `infusionsoft-php` for the official PHP SDK's Laravel
 * config (`INFUSIONSOFT_CLIENT_ID`, `INFUSIONSOFT_SECRET`, `INFUSIONSOFT_REDIRECT_URL`), with the
 * token names following the same prefix.
 */
export const ENV_PRESETS: Readonly<Record<'keap' | 'infusionsoft-php', Required<EnvVariableNames>>> = {
  keap: {
    accessToken: 'KEAP_ACCESS_TOKEN',
    refreshToken: 'KEAP_REFRESH_TOKEN',
    expiresAt: 'KEAP_TOKEN_EXPIRES_AT',
    clientId: 'KEAP_CLIENT_ID',
    clientSecret: 'KEAP_CLIENT_SECRET',
    redirectUri: 'KEAP_REDIRECT_URI',
  },
  'infusionsoft-php': {
    accessToken: 'INFUSIONSOFT_ACCESS_TOKEN',
    refreshToken: 'INFUSIONSOFT_REFRESH_TOKEN',
    expiresAt: 'INFUSIONSOFT_TOKEN_EXPIRES_AT',
    clientId: 'INFUSIONSOFT_CLIENT_ID',
    clientSecret: 'INFUSIONSOFT_SECRET',
    redirectUri: 'INFUSIONSOFT_REDIRECT_URL',
  },
};

/**
 * The `[name, value]` pairs to write for a token set, in a stable order. Client credentials only
 * when `client` is given (the user opted in). An unknown expiry writes an empty value.
 */
export function envValuesFor(
  set: TokenSet,
  names: EnvVariableNames,
  client?: { clientSecret: string; redirectUri?: string },
): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (names.accessToken) out.push([names.accessToken, set.accessToken]);
  if (names.refreshToken) out.push([names.refreshToken, set.refreshToken]);
  if (names.expiresAt) out.push([names.expiresAt, set.accessTokenExpiresAt === undefined ? '' : new Date(set.accessTokenExpiresAt).toISOString()]);
  if (client) {
    if (names.clientId) out.push([names.clientId, set.clientId]);
    if (names.clientSecret) out.push([names.clientSecret, client.clientSecret]);
    if (names.redirectUri && client.redirectUri) out.push([names.redirectUri, client.redirectUri]);
  }
  return out;
}
