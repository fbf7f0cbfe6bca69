import { outsideText } from '../outsideText';
import { maskCredentialEchoes } from '../secretMask';
import { oneLine } from '../textLine';

/**
 * Keap's error answers, classified by what the user can do about them.
 * Every body shape in keap-oauth.md ("Error shapes seen from Keap") maps to one kind; no body
 * makes the classifier throw.
 */

/**
 * - `dead-refresh-token`: the refresh token was used, rotated or expired; sign in again (after
 *   re-reading storage once, case K1).
 * - `bad-client-credentials`: Keap rejected the client ID / secret (case K5); re-enter them.
 * - `invalid-code`: the authorization code was reused or is stale; start the sign-in again.
 * - `bad-configuration`: redirect URI or request shape rejected; a setting or a bug.
 * - `invalid-access-token`: an API call with an expired or revoked access token.
 * - `throttled`: 429; back off, honour Retry-After, never sign out (case K9).
 * - `transient`: 5xx, HTML, empty or non-JSON body, timeout, connection failure; retry, keep tokens.
 * - `denied`: the user (or Keap, for a Keap ID with no app) refused access (case K7).
 */
export type KeapErrorKind =
  | 'dead-refresh-token'
  | 'bad-client-credentials'
  | 'invalid-code'
  | 'bad-configuration'
  | 'invalid-access-token'
  | 'throttled'
  | 'transient'
  | 'denied';

/** A classified failure of a Keap request or of the authorization step. Never carries a token. */
export class KeapError extends Error {
  constructor(
    readonly kind: KeapErrorKind,
    message: string,
    readonly details: {
      /** HTTP status, absent for network faults and browser callbacks. */
      readonly status?: number;
      /** OAuth `error` code or Apigee `errorcode`, when the body had one. */
      readonly error?: string;
      /** Keap's own words (`error_description`, `faultstring`, `message`). */
      readonly description?: string;
      /** Milliseconds to wait before retrying, from `Retry-After` (seconds or HTTP date). */
      readonly retryAfterMs?: number;
      /** The first 200 characters of the body, for the log, with every credential echo masked (src/secretMask). */
      readonly bodySnippet?: string;
      /** For a network fault: a TLS certificate problem or a proxy refusal (case K16); see {@link networkTrouble}. */
      readonly network?: NetworkTrouble;
    } = {},
  ) {
    super(message);
    this.name = 'KeapError';
  }

  /** True when the stored tokens must be kept and the request retried later. */
  get isRetryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'transient';
  }
}

/**
 * The first bytes of a body, on one line and bounded, for messages and the log. Long runs of
 * token-like characters are cut out: a truncated token answer must not put a token on screen.
 */
export function bodyPreview(text: string, max = 80): string {
  const line = maskCredentialEchoes(oneLine(text.slice(0, 4 * max), 4 * max));
  const redacted = line.replace(/[A-Za-z0-9._~+/=-]{24,}/g, '…');
  return redacted.length > max ? `${redacted.slice(0, max)}…` : redacted;
}

/** Which request failed: the classification of an `invalid_grant` depends on it. */
export type TokenGrant = 'authorization_code' | 'refresh_token' | 'api';

interface ParsedBody {
  error?: string;
  description?: string;
}

/** Reads the fields Keap puts its reason in, from any of its body shapes. Never throws. */
function readErrorBody(text: string): ParsedBody | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!json || typeof json !== 'object') return undefined;
  const o = json as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
  if (o.fault && typeof o.fault === 'object') {
    // Apigee: {"fault":{"faultstring":"…","detail":{"errorcode":"…"}}}
    const f = o.fault as Record<string, unknown>;
    const detail = f.detail && typeof f.detail === 'object' ? (f.detail as Record<string, unknown>) : {};
    return { error: str(detail.errorcode), description: str(f.faultstring) };
  }
  if ('error' in o || 'error_description' in o) {
    return { error: str(o.error), description: str(o.error_description) };
  }
  if ('message' in o || 'code' in o) {
    // {"code":"429","message":"Quota Exceeded","status":"Request Throttled","details":null}
    return { error: str(o.code), description: [str(o.message), str(o.status)].filter(Boolean).join(' — ') || undefined };
  }
  return {};
}

/**
 * The longest `Retry-After` honoured, in milliseconds (1 hour; issue 17.5, case S11): a proxy's or
 * a glitch's `Retry-After: 31536000` must not stop refreshes for a year while the access token
 * (24 hours) runs out. Keap's own quota windows are per second, minute and day (keap-oauth.md).
 */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP date. Returns milliseconds,
 * never negative and never over {@link MAX_RETRY_AFTER_MS}, or undefined.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(MAX_RETRY_AFTER_MS, Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, date - nowMs));
}

/** Longest piece of Keap's `error_description` a {@link KeapError} keeps, in characters. */
export const MAX_DESCRIPTION_CHARS = 500;

/**
 * A network fault the user can fix in their settings (case K16):
 * - `tls`: the certificate chain could not be verified (a TLS-inspecting proxy or firewall, a
 *   self-signed or expired certificate);
 * - `proxy`: a proxy refused or could not open the tunnel (HTTP 407, `tunneling socket`).
 */
export type NetworkTrouble = 'tls' | 'proxy';

/** Node's (OpenSSL's) codes for certificates it could not verify. */
const TLS_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Which {@link NetworkTrouble} a fetch failure is, from its `code`, its cause's code or its words; undefined for any other fault. */
export function networkTrouble(e: unknown): NetworkTrouble | undefined {
  const err = e as { code?: unknown; errno?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  const codes = [err?.code, err?.errno, err?.cause?.code].filter((c): c is string => typeof c === 'string');
  if (codes.some(c => TLS_CODES.has(c))) return 'tls';
  const words = `${typeof err?.message === 'string' ? err.message : ''} ${typeof err?.cause?.message === 'string' ? err.cause.message : ''}`.toLowerCase();
  if (/unable to get local issuer certificate|unable to verify the first certificate|self[- ]signed certificate|certificate has expired|unable to verify leaf signature/.test(words)) return 'tls';
  if (/tunneling socket|proxy/.test(words)) return 'proxy';
  return undefined;
}

/** What to do about a {@link NetworkTrouble}, in one sentence naming the settings that fix it. */
export function networkHint(trouble: NetworkTrouble): string {
  return trouble === 'tls'
    ? 'The certificate Keap\'s server presented could not be verified; a company proxy or firewall that inspects TLS does this. Turn on VS Code\'s "http.systemCertificates" setting (or set "http.proxy"), or point the NODE_EXTRA_CA_CERTS environment variable at your company\'s CA file and restart VS Code. Your tokens are kept.'
    : 'A proxy refused the connection to Keap. Check VS Code\'s "http.proxy" setting (and "http.proxyAuthorization"); if the proxy inspects TLS, also "http.systemCertificates" or NODE_EXTRA_CA_CERTS. Your tokens are kept.';
}

/** Headers as node-fetch and WHATWG fetch expose them. */
export interface HeaderReader {
  get(name: string): string | null;
}

/**
 * Classifies a non-2xx answer of Keap's token endpoint or REST API.
 *
 * @param status HTTP status.
 * @param bodyText raw body text (may be empty, HTML, or any JSON).
 * @param grant which request it answered.
 * @param headers response headers (for Retry-After).
 * @param nowMs wall clock in epoch milliseconds (for an HTTP-date Retry-After).
 */
export function classifyKeapError(status: number, bodyText: string, grant: TokenGrant, headers?: HeaderReader, nowMs = Date.now()): KeapError {
  const parsed = readErrorBody(bodyText);
  // Keap's words are kept bounded and masked (an echoed request holds tokens, case S12), and shown
  // in messages as one plain line (src/outsideText, case S8).
  const body = parsed && {
    error: parsed.error === undefined ? undefined : maskCredentialEchoes(oneLine(parsed.error, 100)),
    description: parsed.description === undefined ? undefined : maskCredentialEchoes(oneLine(parsed.description, MAX_DESCRIPTION_CHARS)),
  };
  const bodySnippet = maskCredentialEchoes(bodyText.slice(0, 200));
  const base = { status, error: body?.error, description: body?.description, bodySnippet };
  const where = grant === 'api' ? 'Keap API' : 'Keap token endpoint';
  const said = (text: string | undefined) => outsideText(text, 'plain');

  if (status === 407) {
    return new KeapError('transient', `A proxy between VS Code and the ${where} asked for authentication (407). ${networkHint('proxy')}`, { ...base, network: 'proxy' });
  }

  if (status === 429) {
    const retryAfterMs = parseRetryAfter(headers?.get('retry-after'), nowMs);
    return new KeapError('throttled', `${where} is throttling requests (429${body?.description ? `: ${said(body.description)}` : ''}).`, { ...base, retryAfterMs });
  }
  if (status >= 500 || body === undefined) {
    // 5xx, HTML gateway pages, empty or non-JSON bodies (Keap sends an empty 400 on refresh at times).
    const preview = bodyPreview(bodyText);
    return new KeapError('transient', `${where} answered ${status} without a usable error body (${preview ? `"${preview}"` : 'empty'}); this is usually temporary.`, base);
  }
  const error = (body.error ?? '').toLowerCase();
  const description = body.description ?? '';
  const d = description.toLowerCase();

  if (error === 'oauth.v2.invalidaccesstoken' || /invalid access token|access token expired/.test(d)) {
    return new KeapError('invalid-access-token', 'Keap rejected the access token (expired or revoked).', base);
  }
  if (status === 401 || error === 'invalid_client' || /unable to authenticate/.test(d)) {
    return new KeapError('bad-client-credentials', 'Keap rejected the client ID or client secret.', base);
  }
  if (/redirect_uri/.test(d)) {
    return new KeapError('bad-configuration', `Keap rejected the redirect URI (${said(description)}).`, base);
  }
  if (/refresh token/.test(d) || (grant === 'refresh_token' && error === 'invalid_grant')) {
    return new KeapError('dead-refresh-token', 'Keap no longer accepts this refresh token; sign in again.', base);
  }
  if (grant === 'authorization_code' && error === 'invalid_grant') {
    return new KeapError('invalid-code', 'Keap did not accept the authorization code (already used or expired); sign in again.', base);
  }
  return new KeapError('bad-configuration', `${where} refused the request (${status}${description ? `: ${said(description)}` : error ? `: ${said(error)}` : ''}).`, base);
}
