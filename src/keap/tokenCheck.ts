import { readBoundedText } from './boundedBody';
import { endpointProblem } from './endpoints';
import { classifyKeapError, KeapError, networkHint, networkTrouble } from './errors';
import { lazyFetch } from './fetch';
import { parseKeapQuota, QuotaBucket } from './quota';
import { FetchLike } from './tokenClient';

/** What one authenticated call to Keap's REST API showed. */
export interface ApiCheck {
  /** HTTP status; undefined when no answer came (network fault, timeout). */
  readonly status?: number;
  /** From sending the request to having read the whole answer, in milliseconds. */
  readonly elapsedMs: number;
  /** Keap's rate-limit buckets from the answer's headers (src/keap/quota). */
  readonly quota: QuotaBucket[];
  /** Why it failed; undefined on 2xx. */
  readonly error?: KeapError;
}

/** Infusionsoft: Test Token's whole story: the call, and after a 401 one refresh and one retry. */
export interface TokenTest {
  readonly first: ApiCheck;
  /** Only after a 401: the refresh, or why it gave no token. */
  readonly refresh?: { readonly ok: true } | { readonly ok: false; readonly message: string };
  /** Only after a 401 and a successful refresh: the same call with the new access token. */
  readonly retry?: ApiCheck;
}

/**
 * `GET {apiBaseUrl}/v1/oauth/connect/userinfo` with `Authorization: Bearer <accessToken>` (Keap v1
 * OpenAPI), timed. Never rejects: a failure is an {@link ApiCheck} with an `error`
 * (`transient` when no answer came within `timeoutMs` milliseconds). `onDate` is told the answer's
 * `Date` header (RFC 7231) and the wall clock when the request went out and the answer came (epoch ms).
 * The URL must be https, or http to this machine, as for every other request (src/keap/endpoints
 * `endpointProblem`; issue 17.7): otherwise nothing is sent and the check fails `bad-configuration`.
 * The answer is read to at most 64 KB (src/keap/boundedBody).
 */
export async function checkUserInfo(
  accessToken: string,
  o: { url: string; timeoutMs: number; fetch?: FetchLike; clock?: () => number; onDate?: (date: string | null, sentAtMs: number, receivedAtMs: number) => void },
): Promise<ApiCheck> {
  const problem = endpointProblem(o.url);
  if (problem) return { elapsedMs: 0, quota: [], error: new KeapError('bad-configuration', `The Keap API endpoint ${problem}; the access token was not sent.`) };
  const clock = o.clock ?? (() => performance.now());
  const fetch = o.fetch ?? lazyFetch;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), o.timeoutMs);
  const started = clock();
  const sentAt = Date.now();
  try {
    const res = await fetch(o.url, { method: 'GET', headers: { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' }, signal: controller.signal, redirect: 'manual' });
    o.onDate?.(res.headers.get('date'), sentAt, Date.now());
    const text = await readBoundedText(res, "Keap's userinfo answer");
    const base = { status: res.status, elapsedMs: Math.round(clock() - started), quota: parseKeapQuota(res.headers) };
    return res.status >= 200 && res.status < 300 ? base : { ...base, error: classifyKeapError(res.status, text, 'api', res.headers) };
  } catch (e) {
    if (e instanceof KeapError) return { elapsedMs: Math.round(clock() - started), quota: [], error: e };
    const trouble = controller.signal.aborted ? undefined : networkTrouble(e);
    const message = controller.signal.aborted
      ? `Keap did not answer within ${Math.round(o.timeoutMs / 1000)} seconds.`
      : `Could not reach Keap (${(e as { code?: string }).code ?? (e as Error).message}).${trouble ? ` ${networkHint(trouble)}` : ''}`;
    return { elapsedMs: Math.round(clock() - started), quota: [], error: new KeapError('transient', message, trouble ? { network: trouble } : {}) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Calls `check` with the access token; when Keap answers 401 (the token is refused, whatever the
 * extension believed of its expiry), refreshes once through `refresh` (which resolves to the new
 * access token, or rejects with the reason) and calls `check` once more. Never more than one
 * refresh and two calls.
 */
export async function testAccessToken(
  accessToken: string,
  deps: { check: (token: string) => Promise<ApiCheck>; refresh: () => Promise<string> },
): Promise<TokenTest> {
  const first = await deps.check(accessToken);
  if (first.status !== 401) return { first };
  let fresh: string;
  try {
    fresh = await deps.refresh();
  } catch (e) {
    return { first, refresh: { ok: false, message: (e as Error)?.message ?? String(e) } };
  }
  return { first, refresh: { ok: true }, retry: await deps.check(fresh) };
}
