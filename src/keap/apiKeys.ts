import { endpointProblem, KeapEndpoints } from './endpoints';
import { classifyKeapError, KeapError } from './errors';
import { lazyFetch } from './fetch';
import { parseKeapQuota, QuotaBucket } from './quota';
import type { FetchLike } from './tokenClient';

/**
 * Keap's API keys: Personal Access Tokens and Service Account Keys. Both are created in the Keap
 * app (Settings → API Settings), sent as `X-Keap-API-Key: <key>` (not `Authorization: Bearer`),
 * have no documented expiry and no refresh (keap-oauth.md, "Other credentials"). A Service Account
 * Key acts for the account, not for a user: it reaches all of the account's data with admin rights.
 * Nothing in the key tells the two apart, so the user says which kind it is; the key's text is
 * never inspected to guess it.
 */
export type ApiKeyKind = 'pat' | 'sak';

/** Which Keap account a credential opens, as the user marked it. */
export type KeapEnvironment = 'production' | 'sandbox';

/**
 * The rate limits Keap applies to each API key (not adjustable, unlike an OAuth client's): 10 calls
 * a second, 240 a minute, 30,000 a day. Source: Keap developer docs, "Personal Access Tokens &
 * Service Account Keys" (quota table), as summarised in issue 20.
 */
export const API_KEY_LIMITS = Object.freeze({ perSecond: 10, perMinute: 240, perDay: 30_000 });

/** The header an API key travels in (Keap developer docs; forum 91017, 86529). */
export const API_KEY_HEADER = 'X-Keap-API-Key';

/** One stored API key as listed (globalState): never the key itself. */
export interface ApiKeyEntry {
  /** Random id; the secret lives in SecretStorage under `infusionsoft.apiKey/<id>`. */
  readonly id: string;
  /** The user's name for it, unique among the keys (case-insensitive). */
  readonly label: string;
  readonly kind: ApiKeyKind;
  /** When it was added, epoch milliseconds. */
  readonly addedAt: number;
  /** Production or sandbox, as the user marked it; undefined when not marked. */
  readonly environment?: KeapEnvironment;
  /** The account's business name and email from Keap's account profile at the last check (Keap's text: plain text only). */
  readonly profile?: AccountProfile;
}

/** What `GET /v1/account/profile` says about the account (Keap v1 OpenAPI, AccountProfile). */
export interface AccountProfile {
  readonly name?: string;
  readonly email?: string;
}

/** The most API keys kept (a bound on what the index and the view hold). */
export const MAX_API_KEYS = 50;
/** The longest label kept, in characters. */
export const MAX_LABEL_LENGTH = 60;

/** `{apiBaseUrl}/v1/account/profile` (Keap v1 OpenAPI). */
export function accountProfileUrl(endpoints: Pick<KeapEndpoints, 'apiBaseUrl'>): string {
  return endpoints.apiBaseUrl.replace(/\/+$/, '') + '/v1/account/profile';
}

/**
 * Reads the stored list of API keys from whatever globalState holds: entries that are not
 * well-formed are dropped, a duplicate id keeps its first entry, and at most {@link MAX_API_KEYS}.
 * Never throws.
 */
export function parseApiKeyIndex(raw: unknown): ApiKeyEntry[] {
  if (!Array.isArray(raw)) return [];
  const out: ApiKeyEntry[] = [];
  for (const e of raw) {
    if (!e || typeof e !== 'object') continue;
    const o = e as Record<string, unknown>;
    if (typeof o.id !== 'string' || !/^[a-f0-9]{8,64}$/.test(o.id) || out.some(x => x.id === o.id)) continue;
    if (typeof o.label !== 'string' || labelProblem(o.label, []) !== undefined) continue;
    if (o.kind !== 'pat' && o.kind !== 'sak') continue;
    const profile = o.profile && typeof o.profile === 'object' ? (o.profile as Record<string, unknown>) : undefined;
    out.push({
      id: o.id,
      label: o.label.trim(),
      kind: o.kind,
      addedAt: typeof o.addedAt === 'number' && Number.isFinite(o.addedAt) ? o.addedAt : 0,
      ...(o.environment === 'production' || o.environment === 'sandbox' ? { environment: o.environment } : {}),
      ...(profile ? { profile: cleanProfile(profile) } : {}),
    });
    if (out.length >= MAX_API_KEYS) break;
  }
  return out;
}

/**
 * Why a label cannot be used: `empty`, `too-long`, `control-characters`, `taken` (another key has
 * it), `secret` (it holds a Keap API key, `KeapAK-…`, or a client secret or token VS Code holds:
 * the key pasted into the name box, which would be kept as plain text in globalState and shown in
 * the view); undefined when usable.
 */
export type LabelProblem = 'empty' | 'too-long' | 'control-characters' | 'taken' | 'secret';

/**
 * {@link LabelProblem} of `label` among the `existing` keys. `known` (the credentials VS Code
 * holds) turns on the `secret` check: new labels pass it, labels already stored are read without it.
 */
export function labelProblem(label: string, existing: readonly Pick<ApiKeyEntry, 'label'>[], known?: KnownCredentials): LabelProblem | undefined {
  const l = label.trim();
  if (!l) return 'empty';
  if (known && labelHoldsSecret(l, known)) return 'secret';
  if (l.length > MAX_LABEL_LENGTH) return 'too-long';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(l)) return 'control-characters';
  if (existing.some(e => e.label.trim().toLowerCase() === l.toLowerCase())) return 'taken';
  return undefined;
}

/** A label that contains an API key (`KeapAK-` anywhere) or a secret or token of {@link KnownCredentials} (8 characters or more). */
function labelHoldsSecret(label: string, known: KnownCredentials): boolean {
  if (/keapak-/i.test(label)) return true;
  return [...known.clientSecrets, ...known.accessTokens, ...known.refreshTokens].some(t => t.length >= 8 && label.includes(t));
}

/**
 * Why a pasted value is not taken as an API key (issue 20, case K15), checked before anything is sent:
 * - `empty`; `white-space` (inside the key: two things, or a whole file, were pasted);
 * - `bearer-token`: an `Authorization: Bearer …` or `Bearer …` value that is not a Keap API key: an
 *   OAuth access token (Import Tokens takes those);
 * - `basic-auth`: an `Authorization: Basic …` value: client ID and secret (Set Client Credentials);
 * - `token-response`: a JSON token answer (`{"access_token": …}`; Import Tokens);
 * - `access-token`, `refresh-token`: a token of a Keap app VS Code holds;
 * - `client-secret`, `client-id`: the client credentials of an OAuth app VS Code holds;
 * - `not-printable`: a `KeapAK-` value with a character outside printable ASCII (a zero-width space
 *   or a non-breaking hyphen copied from a web page or chat): no HTTP header can carry it, and
 *   sending it would fail on this machine, not at Keap;
 * - `legacy-api-key`: 32 hexadecimal characters, the Infusionsoft legacy API key Keap retired in
 *   2024–2025 (keap-oauth.md "Other credentials");
 * - `not-a-key`: anything else that does not start with `KeapAK-`, the prefix of every Personal
 *   Access Token and Service Account Key (Keap developer docs, developer.infusionsoft.com/pat-and-sak;
 *   src/signin/pasteCheck recognises them by it too). OAuth tokens are never judged by pattern
 *   (keap-oauth.md); an API key is, because Keap documents its prefix and a value without it would
 *   only spend a request of the account's quota to be refused.
 */
export type ApiKeyValueProblem =
  | 'empty'
  | 'white-space'
  | 'bearer-token'
  | 'basic-auth'
  | 'token-response'
  | 'access-token'
  | 'refresh-token'
  | 'client-secret'
  | 'client-id'
  | 'legacy-api-key'
  | 'not-printable'
  | 'not-a-key';

/**
 * The wrapper taken off a pasted key, so the box can say so: `header` (`X-Keap-API-Key: …`),
 * `bearer` (`Authorization: Bearer KeapAK-…`: Keap takes the key in X-Keap-API-Key only), `env-line`
 * (`KEAP_API_KEY=…`, `export …=…`), `quotes`.
 */
export type ApiKeyUnwrap = 'header' | 'bearer' | 'env-line' | 'quotes';

/** What a pasted value gives: the key alone (and what was taken off it), or why it is refused. */
export type ApiKeyValue = { readonly ok: true; readonly key: string; readonly unwrapped?: ApiKeyUnwrap } | { readonly ok: false; readonly problem: ApiKeyValueProblem };

/** The client IDs, client secrets and tokens VS Code holds, to name them when pasted as a key (the shape of src/signin/pasteCheck's KnownValues). */
export interface KnownCredentials {
  readonly clientIds: readonly string[];
  readonly clientSecrets: readonly string[];
  readonly accessTokens: readonly string[];
  readonly refreshTokens: readonly string[];
}

const NO_KNOWN: KnownCredentials = { clientIds: [], clientSecrets: [], accessTokens: [], refreshTokens: [] };
/** Keap's Personal Access Tokens and Service Account Keys start with this (Keap's PAT/SAK docs). */
const API_KEY_PREFIX = /^keapak-\S/i;

/**
 * Reads a value typed or pasted as a Keap API key. One wrapper of each kind is taken off when what
 * it wraps is a `KeapAK-…` key (a header line, a Bearer value, a `.env` line, quotes); a value VS
 * Code holds as another credential is named as that ({@link KnownCredentials}); everything else
 * without the `KeapAK-` prefix is refused ({@link ApiKeyValueProblem}). Pure; never throws.
 */
export function readApiKeyValue(value: string, known: KnownCredentials = NO_KNOWN): ApiKeyValue {
  const fail = (problem: ApiKeyValueProblem): ApiKeyValue => ({ ok: false, problem });
  let v = value.trim();
  if (!v) return fail('empty');
  if (/^\{[\s\S]*"(access_token|refresh_token)"\s*:/.test(v)) return fail('token-response');
  let unwrapped: ApiKeyUnwrap | undefined;
  let bearer = false;
  const unquote = () => {
    const q = /^(["'`])(.*)\1$/s.exec(v);
    if (q) {
      v = q[2].trim();
      unwrapped ??= 'quotes';
    }
  };
  const env = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*(\S.*)$/s.exec(v);
  if (env) {
    v = env[1].trim();
    unwrapped = 'env-line';
  }
  unquote();
  const header = /^x-keap-api-key\s*:\s*(.*)$/is.exec(v);
  if (header) {
    v = header[1].trim();
    unwrapped = 'header';
  }
  const auth = /^(?:authorization\s*:\s*)?(bearer|basic)\s+(\S.*)$/is.exec(v);
  if (auth) {
    if (auth[1].toLowerCase() === 'basic') return fail('basic-auth');
    v = auth[2].trim();
    unwrapped = 'bearer';
    bearer = true;
  }
  unquote();
  if (!v) return fail('empty');
  if (/\s/.test(v)) return fail('white-space');
  // The most sensitive first: a value that is both (never in practice) is named for what it risks.
  const is = (list: readonly string[]) => list.some(k => k && k === v);
  if (is(known.clientSecrets)) return fail('client-secret');
  if (is(known.refreshTokens)) return fail('refresh-token');
  if (is(known.accessTokens)) return fail('access-token');
  if (is(known.clientIds)) return fail('client-id');
  if (API_KEY_PREFIX.test(v)) return /^[\x21-\x7e]+$/.test(v) ? { ok: true, key: v, ...(unwrapped ? { unwrapped } : {}) } : fail('not-printable');
  if (bearer) return fail('bearer-token');
  if (/^[0-9a-f]{32}$/i.test(v)) return fail('legacy-api-key');
  return fail('not-a-key');
}

/** {@link readApiKeyValue}'s problem, or undefined when the value gives a key. */
export function apiKeyValueProblem(value: string, known?: KnownCredentials): ApiKeyValueProblem | undefined {
  const r = readApiKeyValue(value, known);
  return r.ok ? undefined : r.problem;
}

/**
 * A name a `.env` file and a shell can both use for a variable (`[A-Za-z_][A-Za-z0-9_]*`, at most
 * 128 characters); undefined when `name` is one.
 */
export function envVariableNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) return 'must be letters, digits and _ and not start with a digit';
  return undefined;
}

/** What one check of an API key against Keap showed. */
export interface ApiKeyCheck {
  /**
   * - `ok`: Keap accepted the key (2xx);
   * - `refused`: 401 or 403, Keap does not accept this key (revoked, mistyped, or of another kind of credential);
   * - `throttled`: 429;
   * - `unreachable`: no answer (network, timeout);
   * - `error`: any other answer;
   * - `not-sent`: the configured REST base is neither https nor loopback http.
   */
  readonly outcome: 'ok' | 'refused' | 'throttled' | 'unreachable' | 'error' | 'not-sent';
  readonly status?: number;
  /** From sending the request to having read the answer, milliseconds. */
  readonly elapsedMs: number;
  readonly quota: QuotaBucket[];
  /** The account's name and email, on `ok` when the answer carried them. */
  readonly profile?: AccountProfile;
  /** A one-line English reason, on anything but `ok` (never the key). */
  readonly reason?: string;
}

/**
 * `GET {apiBaseUrl}/v1/account/profile` with `X-Keap-API-Key: <key>` (Keap v1 OpenAPI; the header
 * from Keap's PAT/SAK docs), timed. The URL is checked before sending: https, or plain http only to a
 * loopback host ({@link endpointProblem}); otherwise nothing is sent. Never rejects.
 * @param o.timeoutMs milliseconds before the request is abandoned.
 */
export async function checkApiKey(key: string, o: { url: string; timeoutMs: number; fetch?: FetchLike; clock?: () => number }): Promise<ApiKeyCheck> {
  const problem = endpointProblem(o.url);
  if (problem) return { outcome: 'not-sent', elapsedMs: 0, quota: [], reason: `The Keap REST base ${problem}; nothing was sent.` };
  const clock = o.clock ?? (() => performance.now());
  const fetch = o.fetch ?? lazyFetch;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), o.timeoutMs);
  const started = clock();
  try {
    const res = await fetch(o.url, { method: 'GET', headers: { [API_KEY_HEADER]: key.trim(), Accept: 'application/json' }, signal: controller.signal, redirect: 'manual' });
    const text = await res.text();
    const base = { status: res.status, elapsedMs: Math.round(clock() - started), quota: parseKeapQuota(res.headers) };
    if (res.status >= 200 && res.status < 300) return { ...base, outcome: 'ok', profile: parseAccountProfile(text) };
    if (res.status === 401 || res.status === 403) return { ...base, outcome: 'refused', reason: `Keap refused the key (${res.status}).` };
    const err: KeapError = classifyKeapError(res.status, text, 'api', res.headers);
    return { ...base, outcome: err.kind === 'throttled' ? 'throttled' : 'error', reason: err.message };
  } catch (e) {
    const reason = controller.signal.aborted ? `Keap did not answer within ${Math.round(o.timeoutMs / 1000)} seconds.` : `Could not reach Keap (${(e as { code?: string }).code ?? (e as Error).message}).`;
    return { outcome: 'unreachable', elapsedMs: Math.round(clock() - started), quota: [], reason };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Add API Key's one way to Keap: reads `value` ({@link readApiKeyValue}) and, only when it gives a
 * key, checks that key ({@link checkApiKey}). A refused value sends nothing. Never rejects.
 */
export async function checkPastedApiKey(
  value: string,
  known: KnownCredentials,
  o: { url: string; timeoutMs: number; fetch?: FetchLike; clock?: () => number },
): Promise<{ readonly ok: false; readonly problem: ApiKeyValueProblem } | { readonly ok: true; readonly key: string; readonly unwrapped?: ApiKeyUnwrap; readonly check: ApiKeyCheck }> {
  const read = readApiKeyValue(value, known);
  if (!read.ok) return read;
  return { ...read, check: await checkApiKey(read.key, o) };
}

/** The business name and email of Keap's account profile answer; never throws (an unreadable body gives `{}`). */
export function parseAccountProfile(text: string): AccountProfile {
  try {
    const o = JSON.parse(text);
    return o && typeof o === 'object' ? cleanProfile(o as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Keap's text, bounded (120 characters) and stripped of control characters: it is shown as plain text. */
function cleanProfile(o: Record<string, unknown>): AccountProfile {
  // eslint-disable-next-line no-control-regex
  const clean = (v: unknown) => (typeof v === 'string' && v.trim() ? v.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim().slice(0, 120) : undefined);
  const name = clean(o.name);
  const email = clean(o.email);
  return { ...(name ? { name } : {}), ...(email ? { email } : {}) };
}

/**
 * A guess, for the user to confirm, of whether an account profile is a sandbox: its business name
 * or email says "sandbox", "test", "demo" or "dev" as a word. Keap's profile has no field that
 * says so; undefined when nothing suggests either (the user decides).
 */
export function suggestEnvironment(profile: AccountProfile | undefined): KeapEnvironment | undefined {
  const text = `${profile?.name ?? ''} ${profile?.email ?? ''}`.toLowerCase();
  if (!text.trim()) return undefined;
  return /(^|[^a-z])(sandbox|test|testing|demo|dev|development|staging)([^a-z]|$)/.test(text) ? 'sandbox' : undefined;
}

/**
 * The buckets to show for a key check: those Keap reported, else Keap's stated key limits
 * ({@link API_KEY_LIMITS}) with nothing known of what is left.
 */
export function keyQuotaOrLimits(check: Pick<ApiKeyCheck, 'quota'>): QuotaBucket[] {
  if (check.quota.length > 0) return check.quota;
  return [
    { timeUnit: 'day', limit: API_KEY_LIMITS.perDay },
    { timeUnit: 'minute', limit: API_KEY_LIMITS.perMinute },
    { timeUnit: 'second', limit: API_KEY_LIMITS.perSecond },
  ];
}
