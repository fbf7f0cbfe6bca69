/**
 * Infusionsoft: Import Tokens: reading an existing Keap token pair from what a developer has —
 * two values typed in two boxes, a token endpoint answer or a token file pasted as JSON, or the
 * variables of a `.env` file — and refusing what cannot be a pair before anything is sent or
 * stored. Pure functions; all times epoch milliseconds unless a name says seconds.
 *
 * Shapes read (keys matched case-sensitively as each tool writes them):
 * - Keap's token answer (keap-oauth.md "Token response"): `access_token`, `refresh_token`,
 *   `expires_in` (relative seconds), `scope` (`full|ab123.infusionsoft.com`);
 * - camelCase copies (Postman's and many apps' token stores): `accessToken`, `refreshToken`,
 *   `expiresIn` (seconds) or `expiresAt`;
 * - infusionsoft-php's serialized `Token`: `accessToken`, `refreshToken`, `endOfLife` (epoch
 *   seconds), `extraInfo.scope`;
 * - an absolute expiry under `expires_at`, `expiresAt`, `expiry`, `expires`, `expiration` or
 *   `endOfLife`: epoch seconds (below 10^11), epoch milliseconds, or an ISO 8601 date;
 * - any of these one level down under `token`, `tokens`, `data`, `credentials` or `oauth`;
 * - `.env` text: `KEAP_ACCESS_TOKEN`/`KEAP_REFRESH_TOKEN`/`KEAP_TOKEN_EXPIRES_AT`, the
 *   `INFUSIONSOFT_*` names of infusionsoft-php, or the names the caller says it wrote.
 */
import { envValueOf } from '../dotenv/envFile';
import { MAX_TOKEN_CHARS } from '../keap/tokenResponse';

/** A pair read from the user's text, not yet checked with Keap. */
export interface ImportedPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Absolute expiry of the access token, epoch ms; undefined when the text gave none (or none readable). */
  readonly accessTokenExpiresAt?: number;
  /** Keap's `scope` when the text carried it (`full|<tenant host>`). */
  readonly scope?: string;
  /** True when an expiry field was present but unreadable (it is then treated as unknown). */
  readonly expiryIgnored?: boolean;
}

/**
 * Why a text is not a pair that may be imported:
 * - `empty`: nothing given;
 * - `not-json`: it starts like JSON but does not parse;
 * - `no-pair`: neither JSON with the fields above nor `.env` variables naming both tokens;
 * - `no-access-token` / `no-refresh-token`: one of the two is missing;
 * - `white-space`: a token has white space inside (two things were pasted);
 * - `not-printable`: a token has a character outside printable ASCII (`!` to `~`), which no Keap
 *   token has and no HTTP header can carry;
 * - `too-long`: a token is longer than {@link MAX_TOKEN_CHARS} (4096) characters, the limit the
 *   extension also holds Keap's own answers to (src/keap/tokenResponse);
 * - `same-token`: the access and refresh token are the same text;
 * - `api-key`: a Personal Access Token or Service Account Key (`KeapAK-…`) — Add API Key takes those;
 * - `client-secret` / `client-id`: the app's client secret or ID was pasted as a token.
 */
export type ImportRefusal = 'empty' | 'not-json' | 'no-pair' | 'no-access-token' | 'no-refresh-token' | 'white-space' | 'not-printable' | 'too-long' | 'same-token' | 'api-key' | 'client-secret' | 'client-id';

export type ImportParse = { readonly ok: true; readonly pair: ImportedPair } | { readonly ok: false; readonly refusal: ImportRefusal; readonly which?: 'access' | 'refresh' };

/** Below this a number is epoch seconds, above epoch milliseconds (10^11 s is the year 5138; 10^11 ms is 1973). */
const SECONDS_BELOW = 1e11;
/** 2000-01-01T00:00:00Z in ms: an absolute expiry before it was not meant as one. */
const YEAR_2000_MS = 946_684_800_000;
/** Longest relative lifetime believed: 10 years, in seconds (Keap issues 86,400). */
const MAX_RELATIVE_S = 10 * 365 * 86_400;

const NESTED = ['token', 'tokens', 'data', 'credentials', 'oauth'] as const;
const ABSOLUTE = ['expires_at', 'expiresAt', 'expiry', 'expires', 'expiration', 'endOfLife'] as const;
const RELATIVE = ['expires_in', 'expiresIn'] as const;

/**
 * An absolute expiry from a JSON or `.env` value: epoch seconds or milliseconds (number or digits),
 * or an ISO 8601 date (a date-time without a zone, `2026-12-07 09:12:44`, is read as UTC, as
 * databases store it). Returns epoch ms, or undefined when unreadable or before the year 2000.
 */
export function parseAbsoluteExpiry(value: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) ms = value < SECONDS_BELOW ? value * 1000 : value;
  else if (typeof value === 'string' && /^\d{1,16}(\.\d+)?$/.test(value.trim())) return parseAbsoluteExpiry(Number(value.trim()));
  else if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value.trim())) {
    // A date-time without a zone (a database DATETIME, Laravel's default) is UTC, never this machine's local time.
    const v = value.trim();
    const zoneless = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/.exec(v);
    const t = Date.parse(zoneless ? `${zoneless[1]}T${zoneless[2]}Z` : v);
    ms = Number.isNaN(t) ? undefined : t;
  }
  return ms !== undefined && ms >= YEAR_2000_MS ? Math.round(ms) : undefined;
}

/** A relative lifetime in seconds (number or digits) as an absolute expiry from `nowMs`; undefined when unreadable. */
export function parseRelativeExpiry(value: unknown, nowMs: number): number | undefined {
  const s = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,12}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  return Number.isFinite(s) && s >= 0 && s <= MAX_RELATIVE_S ? nowMs + Math.round(s * 1000) : undefined;
}

/**
 * Checks two values as a pair (trimmed) and, when `client` is given, that neither is the app's
 * client ID or secret. `expiry` is what the text said of the access token's expiry.
 */
export function pairFromFields(
  accessToken: string | undefined,
  refreshToken: string | undefined,
  expiry: { readonly accessTokenExpiresAt?: number; readonly expiryIgnored?: boolean; readonly scope?: string } = {},
): ImportParse {
  const access = (accessToken ?? '').trim();
  const refresh = (refreshToken ?? '').trim();
  if (!access && !refresh) return { ok: false, refusal: 'empty' };
  if (!access) return { ok: false, refusal: 'no-access-token' };
  if (!refresh) return { ok: false, refusal: 'no-refresh-token' };
  for (const [which, v] of [['access', access], ['refresh', refresh]] as const) {
    const refusal = tokenRefusal(v);
    if (refusal) return { ok: false, refusal, which };
  }
  if (access === refresh) return { ok: false, refusal: 'same-token' };
  return {
    ok: true,
    pair: {
      accessToken: access,
      refreshToken: refresh,
      ...(expiry.accessTokenExpiresAt !== undefined ? { accessTokenExpiresAt: expiry.accessTokenExpiresAt } : {}),
      ...(expiry.scope ? { scope: expiry.scope } : {}),
      ...(expiry.expiryIgnored ? { expiryIgnored: true } : {}),
    },
  };
}

/**
 * What is wrong with one token on its own (trimmed, not empty), as the box checks it while the user
 * types: `api-key`, `white-space`, `not-printable` or `too-long` ({@link ImportRefusal}); undefined
 * when nothing is.
 */
export function tokenRefusal(token: string): 'api-key' | 'white-space' | 'not-printable' | 'too-long' | undefined {
  // Keap's API keys start with KeapAK- (Keap's PAT/SAK docs); they go in X-Keap-API-Key, not in a token pair.
  if (/^KeapAK-/i.test(token)) return 'api-key';
  if (/\s/.test(token)) return 'white-space';
  if (!/^[\x21-\x7e]+$/.test(token)) return 'not-printable';
  if (token.length > MAX_TOKEN_CHARS) return 'too-long';
  return undefined;
}

/** The refusal when a token of the pair is the app's client secret or client ID (pasted in the wrong box); undefined otherwise. */
export function clientRefusal(pair: Pick<ImportedPair, 'accessToken' | 'refreshToken'>, client: { readonly clientId: string; readonly clientSecret?: string }): ImportRefusal | undefined {
  const values = [pair.accessToken, pair.refreshToken];
  if (client.clientSecret && values.includes(client.clientSecret.trim())) return 'client-secret';
  if (values.includes(client.clientId.trim())) return 'client-id';
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The expiry a JSON object states, absolute fields first (they do not depend on when the text was made). */
function expiryOf(o: Record<string, unknown>, nowMs: number): { accessTokenExpiresAt?: number; expiryIgnored?: boolean } {
  for (const k of ABSOLUTE) {
    if (o[k] === undefined || o[k] === null || o[k] === '') continue;
    const at = parseAbsoluteExpiry(o[k]);
    return at === undefined ? { expiryIgnored: true } : { accessTokenExpiresAt: at };
  }
  for (const k of RELATIVE) {
    if (o[k] === undefined || o[k] === null || o[k] === '') continue;
    const at = parseRelativeExpiry(o[k], nowMs);
    return at === undefined ? { expiryIgnored: true } : { accessTokenExpiresAt: at };
  }
  return {};
}

function fromObject(o: Record<string, unknown>, nowMs: number): ImportParse | undefined {
  const access = str(o.access_token) ?? str(o.accessToken);
  const refresh = str(o.refresh_token) ?? str(o.refreshToken);
  if (access === undefined && refresh === undefined) return undefined;
  const extra = o.extraInfo && typeof o.extraInfo === 'object' ? (o.extraInfo as Record<string, unknown>) : {};
  const scope = str(o.scope) ?? str(extra.scope);
  return pairFromFields(access, refresh, { ...expiryOf(o, nowMs), scope });
}

/**
 * Reads a pasted JSON text (any shape listed at the top of this file). `nowMs` turns a relative
 * `expires_in` into an absolute expiry: pass when the text was made if known, else now (the
 * expiry is then at worst later than true, and the first check with Keap tells).
 */
export function parseImportJson(text: string, nowMs: number): ImportParse {
  const t = text.trim();
  if (!t) return { ok: false, refusal: 'empty' };
  let o: unknown;
  try {
    o = JSON.parse(t);
  } catch {
    return { ok: false, refusal: 'not-json' };
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return { ok: false, refusal: 'no-pair' };
  const top = fromObject(o as Record<string, unknown>, nowMs);
  if (top) return top;
  for (const k of NESTED) {
    const inner = (o as Record<string, unknown>)[k];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      const r = fromObject(inner as Record<string, unknown>, nowMs);
      if (r) return r;
    }
  }
  return { ok: false, refusal: 'no-pair' };
}

/** The variable names a `.env` may hold a pair under, tried in order: the caller's own first. */
export interface EnvPairNames {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt?: string;
}

export const KNOWN_ENV_PAIR_NAMES: readonly EnvPairNames[] = [
  { accessToken: 'KEAP_ACCESS_TOKEN', refreshToken: 'KEAP_REFRESH_TOKEN', expiresAt: 'KEAP_TOKEN_EXPIRES_AT' },
  { accessToken: 'INFUSIONSOFT_ACCESS_TOKEN', refreshToken: 'INFUSIONSOFT_REFRESH_TOKEN', expiresAt: 'INFUSIONSOFT_TOKEN_EXPIRES_AT' },
];

/**
 * Reads a pair from `.env` text, by the first of `names` (then {@link KNOWN_ENV_PAIR_NAMES}) whose
 * access or refresh variable the text defines, read as dotenv reads it. Resolves with the names it
 * used, so the pair can be written back under the same ones.
 */
export function parseImportEnv(text: string, names: readonly EnvPairNames[] = []): { parse: ImportParse; names?: EnvPairNames } {
  for (const n of [...names, ...KNOWN_ENV_PAIR_NAMES]) {
    const access = envValueOf(text, n.accessToken);
    const refresh = envValueOf(text, n.refreshToken);
    if (access === undefined && refresh === undefined) continue;
    const rawExpiry = n.expiresAt ? envValueOf(text, n.expiresAt) : undefined;
    const at = rawExpiry ? parseAbsoluteExpiry(rawExpiry) : undefined;
    return { parse: pairFromFields(access, refresh, { accessTokenExpiresAt: at, expiryIgnored: !!rawExpiry && at === undefined }), names: n };
  }
  return { parse: { ok: false, refusal: text.trim() ? 'no-pair' : 'empty' } };
}

/**
 * Reads whatever was pasted into the one box: JSON when it starts with `{`, else `.env` lines.
 */
export function parseImportText(text: string, nowMs: number): ImportParse {
  const t = text.trim();
  if (!t) return { ok: false, refusal: 'empty' };
  if (t.startsWith('{')) return parseImportJson(t, nowMs);
  if (/^KeapAK-/i.test(t)) return { ok: false, refusal: 'api-key' };
  return parseImportEnv(t).parse;
}
