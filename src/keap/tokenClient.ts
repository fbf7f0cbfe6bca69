import { Logger, SILENT_LOGGER, urlForLog } from '../log';
import { TokenSet } from '../session/tokenSet';
import { endpointProblem, KeapEndpoints, userInfoUrl } from './endpoints';
import { oneLine as keapLine } from '../textLine';
import { readBoundedText } from './boundedBody';
import { classifyKeapError, HeaderReader, KeapError, networkHint, networkTrouble, TokenGrant } from './errors';
import { lazyFetch } from './fetch';
import { KeapClock } from './keapClock';
import { EncodedRequest, encodeCodeExchange, encodeRefresh } from './tokenRequest';
import { REAL_TIMERS, Timers } from '../session/timeLimit';
import { KeptRefreshToken, parseTokenResponse } from './tokenResponse';

/** The subset of `fetch` the client uses; node-fetch in the extension, anything compatible in tests. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal; redirect?: 'manual' | 'follow' | 'error' },
) => Promise<{ status: number; headers: HeaderReader; text(): Promise<string>; body?: unknown }>;

export interface TokenClientOptions {
  /**
   * Current endpoints from the user's settings (read on every request, so a change applies at
   * once). The token endpoint here is used only for a new sign-in; a refresh goes to the endpoint
   * stored with the token set.
   */
  readonly endpoints: () => KeapEndpoints;
  /** Request timeout in milliseconds; every request has one. */
  readonly timeoutMs: () => number;
  /** Wall clock, epoch ms. */
  readonly now?: () => number;
  readonly fetch?: FetchLike;
  readonly log?: Logger;
  /** For the request timeout; a fake clock in tests. */
  readonly timers?: Timers;
  /** Told the `Date` of every answer (RFC 7231); token sets record the offset in use when they arrive. */
  readonly keapClock?: KeapClock;
}

/** Who signed in, from Keap's userinfo (Keap v1 OpenAPI, UserInfoDTO). */
export interface KeapUserInfo {
  readonly name?: string;
  readonly email?: string;
}

/**
 * Talks to Keap's token endpoint and userinfo. Every failure is a {@link KeapError} with a kind;
 * network faults and timeouts are `transient`. Logs method, URL without query, status and time in ms,
 * never a token or secret.
 */
export class KeapTokenClient {
  private readonly fetch: FetchLike;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly timers: Timers;

  constructor(private readonly options: TokenClientOptions) {
    this.fetch = options.fetch ?? lazyFetch;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? SILENT_LOGGER;
    this.timers = options.timers ?? REAL_TIMERS;
  }

  /** The token endpoint the user's settings name now (for a new sign-in, and to compare a stored set's endpoint with). */
  configuredTokenUrl(): string {
    return this.options.endpoints().tokenUrl;
  }

  /**
   * Exchanges an authorization code (RFC 6749 §4.1.3). `redirectUri` must be the exact string sent
   * to the authorize page; `tokenUrl` is the token endpoint paired with the authorize page the
   * sign-in used (default: the configured one). The token set it resolves to remembers `tokenUrl`.
   * @throws KeapError (`bad-configuration` when `tokenUrl` is neither https nor loopback http; nothing is sent).
   */
  async exchangeCode(p: { clientId: string; clientSecret: string; code: string; redirectUri: string; tokenUrl?: string }): Promise<TokenSet> {
    const tokenUrl = p.tokenUrl ?? this.options.endpoints().tokenUrl;
    const req = encodeCodeExchange({ ...p, tokenUrl });
    return { ...(await this.tokenRequest(req, 'authorization_code', p.clientId)), tokenUrl };
  }

  /**
   * Refresh grant (RFC 6749 §6), sent to `tokenUrl`: the token endpoint that issued the refresh
   * token. {@link Refresher} always passes the one stored with the token set; the configured one is
   * the default only for callers that hold no token set (tests, tools). The answer holds a NEW
   * refresh token; the one sent is dead from then on (Keap staff, infusionsoft-php #99). An answer
   * without a refresh token keeps the one sent, with its issue time `refreshTokenIssuedAt` (epoch
   * ms; default now), and logs a warning (case K12).
   * @throws KeapError (`bad-configuration` when `tokenUrl` is neither https nor loopback http; nothing is sent).
   */
  async refresh(p: { clientId: string; clientSecret: string; refreshToken: string; refreshTokenIssuedAt?: number; tokenUrl?: string }): Promise<TokenSet> {
    const tokenUrl = p.tokenUrl ?? this.options.endpoints().tokenUrl;
    const req = encodeRefresh({ tokenUrl, clientId: p.clientId, clientSecret: p.clientSecret, refreshToken: p.refreshToken });
    const set = await this.tokenRequest(req, 'refresh_token', p.clientId, { refreshToken: p.refreshToken, refreshTokenIssuedAt: p.refreshTokenIssuedAt ?? this.now() });
    return { ...set, tokenUrl };
  }

  /**
   * `GET …/v1/oauth/connect/userinfo` with the access token. The answer is read to at most 64 KB and
   * the name and email are kept as one line of at most 200 characters each (shown in the tooltip and
   * the tree through src/outsideText; issue 17.2, 17.5).
   * @throws KeapError (`transient` for a body over 64 KB or not JSON).
   */
  async userInfo(accessToken: string): Promise<KeapUserInfo> {
    const url = userInfoUrl(this.options.endpoints());
    const { status, text } = await this.send('GET', url, { Authorization: `Bearer ${accessToken}`, Accept: 'application/json' }, undefined, 'api');
    let o: Record<string, unknown> = {};
    try {
      o = JSON.parse(text);
    } catch {
      throw new KeapError('transient', 'Keap userinfo answered with something that is not JSON.', { status });
    }
    // Shown in the tooltip and the tree: one bounded line (src/outsideText renders it per place).
    const s = (v: unknown) => (typeof v === 'string' && v ? keapLine(v, 200) || undefined : undefined);
    const name = s(o.preferred_name) ?? ([s(o.given_name), s(o.family_name)].filter(Boolean).join(' ') || undefined);
    return { name, email: s(o.email) };
  }

  private async tokenRequest(req: EncodedRequest, grant: TokenGrant, clientId: string, kept?: KeptRefreshToken): Promise<TokenSet> {
    const { status, text } = await this.send(req.method, req.url, { ...req.headers }, req.body, grant);
    const warnings: string[] = [];
    try {
      const set = parseTokenResponse(text, this.now(), clientId, kept, m => warnings.push(m), status);
      // Registered for masking the moment they arrive, before anything is logged (case S12).
      this.log.addSecret?.(set.accessToken);
      this.log.addSecret?.(set.refreshToken);
      for (const m of warnings) this.log.warn(`${urlForLog(req.url)}: ${m}`);
      const keapClockOffsetMs = this.options.keapClock?.usedOffsetMs();
      return keapClockOffsetMs === undefined ? set : { ...set, keapClockOffsetMs };
    } catch (e) {
      // A 2xx that is not a token answer: its first bytes help diagnose a gateway (case K9), tokens cut out.
      this.log.warn(`${req.method} ${urlForLog(req.url)} → ${status}: ${(e as Error).message}`);
      throw e;
    }
  }

  private async send(method: string, url: string, headers: Record<string, string>, body: string | undefined, grant: TokenGrant): Promise<{ status: number; text: string }> {
    // Checked before every request, not only at sign-in: a secret never travels in clear text to a
    // host that is not this machine.
    const problem = endpointProblem(url);
    if (problem) {
      this.log.warn(`${method} ${urlForLog(url)} not sent: the endpoint ${problem}`);
      throw new KeapError('bad-configuration', `The Keap endpoint ${urlForLog(url)} ${problem}; nothing was sent.`);
    }
    // Every secret this request carries is registered for masking before it leaves (case S12); an
    // error answer that echoes the request is masked with them before it is classified.
    const sent = sentSecrets(headers, body);
    for (const v of sent) this.log.addSecret?.(v);
    const started = Date.now();
    const sentAt = this.now();
    const timeoutMs = this.options.timeoutMs();
    const controller = new AbortController();
    const timer = this.timers.setTimeout(() => controller.abort(), timeoutMs);
    const what = `${method} ${urlForLog(url)}`;
    try {
      let res: Awaited<ReturnType<FetchLike>>;
      let text: string;
      try {
        res = await this.fetch(url, { method, headers, body, signal: controller.signal, redirect: 'manual' });
        this.observeDate(res.headers, sentAt);
        // At most 64 KB (case S11): a larger answer is an error, and nothing of it is stored.
        text = await readBoundedText(res);
      } catch (e) {
        if (e instanceof KeapError) {
          this.log.warn(`${what} → ${e.message}`);
          throw e;
        }
        const timedOut = controller.signal.aborted;
        const reason = timedOut ? `no answer within ${timeoutMs} ms` : describeNetworkError(e);
        this.log.warn(`${what} failed after ${Date.now() - started} ms: ${reason}`);
        const trouble = timedOut ? undefined : networkTrouble(e);
        throw new KeapError(
          'transient',
          timedOut ? `Keap did not answer within ${Math.round(timeoutMs / 1000)} seconds.` : `Could not reach Keap (${reason}).${trouble ? ` ${networkHint(trouble)}` : ''}`,
          trouble ? { network: trouble } : {},
        );
      }
      const ms = Date.now() - started;
      if (res.status >= 200 && res.status < 300) {
        this.log.info(`${what} → ${res.status} (${ms} ms)`);
        return { status: res.status, text };
      }
      const err = classifyKeapError(res.status, maskValues(text, sent), grant, res.headers, this.now());
      // The body of an error answer holds no token; its first part helps diagnose gateways (case K9).
      this.log.warn(`${what} → ${res.status} (${ms} ms) ${err.kind}: ${oneLine(err.details.bodySnippet ?? '')}`);
      throw err;
    } finally {
      this.timers.clearTimeout(timer);
    }
  }

  /** Feeds an answer's `Date` (request sent at `sentAt`, answer at `receivedAt`, epoch ms) to the Keap clock; logs one it ignores. */
  observeDate(headers: HeaderReader, sentAt: number, receivedAt = this.now()): void {
    const date = headers.get('date');
    if (this.options.keapClock && date && !this.options.keapClock.observe(date, sentAt, receivedAt)) this.log.warn(`Date "${oneLine(date).slice(0, 40)}" ignored (unreadable, over 24 h off, or a slow answer)`);
  }
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return keapLine(err?.code ?? err?.message?.split('\n')[0] ?? 'network error', 200);
}

/** The credentials a request carries: the form's refresh token, code and client secret, and the Authorization header's token. */
export function sentSecrets(headers: Record<string, string>, body: string | undefined): string[] {
  const out: string[] = [];
  if (body) {
    const form = new URLSearchParams(body);
    for (const k of ['refresh_token', 'code', 'client_secret']) {
      const v = form.get(k);
      if (v) out.push(v);
    }
  }
  const auth = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  const bearer = auth && /^bearer\s+(.+)$/i.exec(auth)?.[1];
  if (bearer) out.push(bearer);
  const basic = auth && /^basic\s+(.+)$/i.exec(auth)?.[1];
  if (basic) {
    out.push(basic);
    const secret = Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':');
    if (secret) out.push(secret);
  }
  return out;
}

/** `text` with each of `values` (6 characters or more) replaced by `***`, in raw and in form-encoded spelling. */
function maskValues(text: string, values: readonly string[]): string {
  let m = text;
  for (const v of values) {
    if (v.length < 6) continue;
    for (const spelling of new Set([v, encodeURIComponent(v), new URLSearchParams({ v }).toString().slice(2)])) if (m.includes(spelling)) m = m.split(spelling).join('***');
  }
  return m;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 160);
}
