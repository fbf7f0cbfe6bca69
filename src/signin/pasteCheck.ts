import { parsePastedCallback } from './callback';

/**
 * Recognises pasted values that are something other than Keap's answer, so that they are refused
 * before anything is sent (a client secret pasted as a "code" would otherwise travel to the token
 * endpoint as one). Real authorization codes are never judged by length or alphabet: Keap has
 * changed its token formats before (keap-oauth.md). Pure.
 */

/**
 * What a pasted value recognisably is:
 * - `client-secret`, `client-id`: one of the extension's client credentials;
 * - `access-token`, `refresh-token`: a token the extension already holds;
 * - `keap-api-key`: a Keap Personal Access Token or Service Account Key — these start with
 *   `KeapAK-` and travel in the `X-Keap-API-Key` header (developer.infusionsoft.com/pat-and-sak;
 *   keap-oauth.md "Other credentials");
 * - `authorization-header`: an HTTP `Authorization: Bearer …` or `Basic …` header value;
 * - `token-response`: a JSON token answer (`{"access_token": …}`).
 */
export type ForeignPasteKind = 'client-secret' | 'client-id' | 'access-token' | 'refresh-token' | 'keap-api-key' | 'authorization-header' | 'token-response';

/** The secrets and identifiers the extension holds, to compare a pasted value with. */
export interface KnownValues {
  readonly clientIds: readonly string[];
  readonly clientSecrets: readonly string[];
  readonly accessTokens: readonly string[];
  readonly refreshTokens: readonly string[];
}

const KEAP_API_KEY_PREFIX = /^keapak-/i;

/** The value of a pasted value, and of its obvious wrappers: quotes, `NAME=value` lines, a URL's code. */
function candidates(text: string): string[] {
  const out = new Set<string>([text]);
  const unquoted = /^(["'`])(.*)\1$/s.exec(text)?.[2]?.trim();
  if (unquoted) out.add(unquoted);
  for (const t of [...out]) {
    // A .env or shell line: KEAP_CLIENT_SECRET=…, export KEAP_ACCESS_TOKEN="…".
    const env = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.+)$/s.exec(t);
    if (env && !/^(code|state|error|error_description|scope)$/.test(env[1])) {
      const v = env[2].trim();
      out.add(v);
      const q = /^(["'`])(.*)\1$/s.exec(v)?.[2];
      if (q) out.add(q);
    }
    try {
      const r = parsePastedCallback(t);
      if (r.kind === 'code') out.add(r.code);
    } catch {
      // Not a callback: the raw text is compared as it is.
    }
  }
  return [...out].filter(Boolean);
}

/**
 * What a value typed into a client ID or client secret box recognisably is when it is another kind
 * of Keap credential (issue 17.9, case K15), or undefined:
 * - `keap-api-key`: a Personal Access Token or Service Account Key (`KeapAK-…`), alone, quoted, or
 *   as a `.env` line — it goes in the `X-Keap-API-Key` header, not in OAuth;
 * - `keap-api-key-header`: a whole `X-Keap-API-Key: …` header line;
 * - `legacy-api-key`: 32 hexadecimal characters, the shape of the Infusionsoft legacy API key
 *   ("encrypted key", retired 2024–2025; keap-oauth.md "Other credentials"); Keap's OAuth client
 *   IDs and secrets are not hexadecimal strings of that length;
 * - `authorization-header`: an `Authorization: Bearer …` or `Basic …` value;
 * - `token-response`: a JSON token answer.
 */
export type OtherCredentialKind = 'keap-api-key' | 'keap-api-key-header' | 'legacy-api-key' | 'authorization-header' | 'token-response';

/** See {@link OtherCredentialKind}. Pure; the same shapes the paste box refuses. */
export function recognizeOtherCredential(input: string): OtherCredentialKind | undefined {
  const text = input.trim();
  if (!text) return undefined;
  if (/^(authorization\s*:\s*)?(bearer|basic)\s+\S/i.test(text)) return 'authorization-header';
  if (/^x-keap-api-key\s*:/i.test(text)) return 'keap-api-key-header';
  if (/^\{[\s\S]*"(access_token|refresh_token)"\s*:/.test(text)) return 'token-response';
  const values = candidates(text);
  if (values.some(v => KEAP_API_KEY_PREFIX.test(v))) return 'keap-api-key';
  if (values.some(v => /^[0-9a-f]{32}$/i.test(v))) return 'legacy-api-key';
  return undefined;
}

/**
 * What `input` recognisably is when it is not Keap's answer, or undefined when it may be one (an
 * unknown value is never refused here: {@link parsePastedCallback} and Keap judge it).
 */
export function recognizeForeignPaste(input: string, known: KnownValues): ForeignPasteKind | undefined {
  const text = input.trim();
  if (!text) return undefined;
  if (/^(authorization\s*:\s*)?(bearer|basic)\s+\S/i.test(text)) return 'authorization-header';
  if (/^x-keap-api-key\s*:/i.test(text)) return 'keap-api-key';
  if (/^\{[\s\S]*"(access_token|refresh_token)"\s*:/.test(text)) return 'token-response';
  const values = candidates(text);
  const is = (list: readonly string[]) => values.some(v => list.includes(v));
  // The most sensitive first: a value that is both (never in practice) is named for what it risks.
  if (is(known.clientSecrets.filter(Boolean))) return 'client-secret';
  if (is(known.refreshTokens.filter(Boolean))) return 'refresh-token';
  if (is(known.accessTokens.filter(Boolean))) return 'access-token';
  if (values.some(v => KEAP_API_KEY_PREFIX.test(v))) return 'keap-api-key';
  if (is(known.clientIds.filter(Boolean))) return 'client-id';
  return undefined;
}
