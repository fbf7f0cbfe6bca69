/**
 * The token set kept for one Keap app, and its time arithmetic. All times are epoch milliseconds
 * (UTC); all durations are milliseconds unless a name says seconds.
 */

/** What SecretStorage holds for a signed-in Keap app (serialized as JSON). */
export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken: string;
  /**
   * Absolute expiry of the access token, epoch ms, computed once when the token response arrived
   * (case K2). Undefined when unknown (no usable `expires_in`, or a stored value that cannot be true).
   */
  readonly accessTokenExpiresAt: number | undefined;
  /** When this refresh token was issued (epoch ms): Keap gives no lifetime, so its age is what we know. */
  readonly refreshTokenIssuedAt: number;
  /** Keap's `scope`, e.g. `full|ab123.infusionsoft.com`. */
  readonly scope: string;
  /** The Keap app (tenant) name from the scope, e.g. `ab123`; undefined when the scope names none. */
  readonly appName: string | undefined;
  /** The OAuth client ID the tokens belong to (the refresh grant must use the same client). */
  readonly clientId: string;
  /**
   * The token endpoint that issued these tokens (e.g. `https://api.infusionsoft.com/token`). The
   * refresh token and the client secret are only ever sent there (RFC 9700 §4.4, mix-up attacks);
   * if the configured endpoint differs, refresh refuses and asks for a new sign-in. Undefined only
   * for a set stored by 0.1, which is bound to the user's configured endpoint at its first refresh.
   */
  readonly tokenUrl?: string;
  /** The signed-in user, from userinfo, when known. */
  readonly user?: { readonly name?: string; readonly email?: string };
  /**
   * Set (epoch ms) when Keap refused this refresh token for good (`invalid_grant`, re-checked
   * against storage first, case K1). The account stays visible until the user signs in again or out.
   */
  readonly refreshTokenRejectedAt?: number;
  /**
   * A random id given to each stored version, also written (alone) to a file every window watches,
   * so a window can tell that its SecretStorage view is older than another window's write.
   */
  readonly generation?: string;
  /**
   * Keap's clock minus this machine's (ms) when the token answer arrived, as refreshes were timed
   * then: 0 within 2 minutes (src/keap/keapClock, from Keap's RFC 7231 `Date` header). Undefined
   * when unknown (no usable `Date` yet, or a set stored by 0.1).
   */
  readonly keapClockOffsetMs?: number;
}

/** The longest access-token lifetime Keap issues: `expires_in` 86400 seconds (keap-oauth.md). */
export const MAX_ACCESS_TOKEN_LIFETIME_MS = 86_400_000;
/**
 * The longest `expires_in` (seconds) taken as an access token's lifetime: 48 hours. Keap sends 86400
 * or 86399 today, 28800 and 3600 in earlier years (keap-oauth.md); anything up to twice today's is
 * believed, anything longer becomes "unknown" (refreshed). The same bound applies when a stored set
 * is read back, so every `expires_in` taken on arrival reads back unchanged (issue 17.5, case S11).
 */
export const MAX_EXPIRES_IN_SECONDS = 2 * 86_400;
/** Slack for clock skew between the machine that stored a token set and this one. */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The Keap app name from a scope: the first label of the tenant host after `|`.
 * `full|ab123.infusionsoft.com` → `ab123`. Source: keap-oauth.md, "Token response".
 */
export function appNameFromScope(scope: string | undefined): string | undefined {
  if (!scope) return undefined;
  const bar = scope.indexOf('|');
  if (bar < 0) return undefined;
  const host = scope.slice(bar + 1).trim();
  const label = host.split('.')[0];
  return label ? label : undefined;
}

/** Thrown when stored JSON is not a token set; the caller treats the session as absent. */
export class StoredTokenSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoredTokenSetError';
  }
}

/** JSON for SecretStorage. Version-tagged so a later format can migrate it. */
export function serializeTokenSet(set: TokenSet): string {
  return JSON.stringify({ v: 1, ...set });
}

/**
 * Reads a stored token set. An expiry further ahead than {@link MAX_EXPIRES_IN_SECONDS} (plus skew)
 * cannot be true — for instance a relative `expires_in` saved as if absolute, case K2 — and becomes
 * unknown, so the refresh policy renews it instead of trusting a date in 2072.
 * Throws {@link StoredTokenSetError} for anything that is not a token set.
 */
export function parseStoredTokenSet(json: string, nowMs: number): TokenSet {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch {
    throw new StoredTokenSetError('stored session is not JSON');
  }
  if (!o || typeof o !== 'object') throw new StoredTokenSetError('stored session is not an object');
  const str = (k: string) => (typeof o[k] === 'string' && (o[k] as string).length > 0 ? (o[k] as string) : undefined);
  const accessToken = str('accessToken');
  const refreshToken = str('refreshToken');
  const clientId = str('clientId');
  if (!accessToken || !refreshToken || !clientId) throw new StoredTokenSetError('stored session lacks a token or client ID');
  let expiresAt = typeof o.accessTokenExpiresAt === 'number' && Number.isFinite(o.accessTokenExpiresAt) ? o.accessTokenExpiresAt : undefined;
  if (expiresAt !== undefined && (expiresAt > nowMs + MAX_EXPIRES_IN_SECONDS * 1000 + CLOCK_SKEW_MS || expiresAt < 1e12)) {
    expiresAt = undefined;
  }
  let issuedAt = typeof o.refreshTokenIssuedAt === 'number' && Number.isFinite(o.refreshTokenIssuedAt) ? o.refreshTokenIssuedAt : nowMs;
  if (issuedAt > nowMs + CLOCK_SKEW_MS) issuedAt = nowMs;
  const scope = str('scope') ?? '';
  const user = o.user && typeof o.user === 'object' ? (o.user as { name?: unknown; email?: unknown }) : undefined;
  return {
    accessToken,
    refreshToken,
    accessTokenExpiresAt: expiresAt,
    refreshTokenIssuedAt: issuedAt,
    scope,
    appName: str('appName') ?? appNameFromScope(scope),
    clientId,
    ...(str('tokenUrl') ? { tokenUrl: str('tokenUrl') } : {}),
    refreshTokenRejectedAt: typeof o.refreshTokenRejectedAt === 'number' ? o.refreshTokenRejectedAt : undefined,
    generation: typeof o.generation === 'string' ? o.generation : undefined,
    ...(typeof o.keapClockOffsetMs === 'number' && Math.abs(o.keapClockOffsetMs) <= 86_400_000 ? { keapClockOffsetMs: o.keapClockOffsetMs } : {}),
    user: user
      ? { name: typeof user.name === 'string' ? user.name : undefined, email: typeof user.email === 'string' ? user.email : undefined }
      : undefined,
  };
}

/**
 * A duration for people: `23h 59m`, `59m`, `0m`; days above 48 hours (`3d 4h`). Rounds down to
 * the minute, so the text never promises more time than is left. Negative input → `0m`.
 */
export function formatDuration(ms: number): string {
  const totalMinutes = Math.max(0, Math.floor(ms / 60_000));
  const days = Math.floor(totalMinutes / 1440);
  const hours = Math.floor((totalMinutes % 1440) / 60);
  const minutes = totalMinutes % 60;
  if (totalMinutes >= 48 * 60) return `${days}d ${hours}h`;
  const h = Math.floor(totalMinutes / 60);
  return h > 0 ? `${h}h ${minutes}m` : `${minutes}m`;
}

/**
 * The token set as this machine's clock sees it now, for scheduling and countdowns. Keap keeps the
 * access token's expiry by its own clock: when the set was stored under one Keap clock offset and
 * another is in use now (this machine's clock or Keap's moved since), the expiry moves by the
 * difference, but only earlier, never later than this machine's clock says. Each offset comes from
 * a single answer's `Date`, which a proxy or a glitch can set up to 24 hours off: moved later, one
 * such answer at the sign-in would let the access token expire unrefreshed; moved earlier, the
 * worst it costs is one refresh before it was needed. Unchanged when either offset is unknown.
 * @param usedOffsetMs Keap's clock minus this machine's in use now (ms; KeapClock.usedOffsetMs).
 */
export function onLocalClock<T extends Pick<TokenSet, 'accessTokenExpiresAt' | 'keapClockOffsetMs'>>(set: T, usedOffsetMs: number | undefined): T {
  const moved = set.keapClockOffsetMs === undefined || usedOffsetMs === undefined ? 0 : Math.min(0, set.keapClockOffsetMs - usedOffsetMs);
  return moved === 0 || set.accessTokenExpiresAt === undefined ? set : { ...set, accessTokenExpiresAt: set.accessTokenExpiresAt + moved };
}

/** Milliseconds of access-token life left at `nowMs` (negative when expired), or undefined when unknown. */
export function accessTokenTimeLeft(set: TokenSet, nowMs: number): number | undefined {
  return set.accessTokenExpiresAt === undefined ? undefined : set.accessTokenExpiresAt - nowMs;
}

/**
 * Whole days the refresh token probably has left. Keap gives no lifetime (keap-oauth.md: staff
 * have said 180, 90 and now 45 days), so it is counted from the refresh token's issue time and the
 * configured lifetime, and shown as "about". Never negative.
 * @param lifetimeMs the assumed lifetime in milliseconds.
 */
export function refreshTokenDaysLeft(set: TokenSet, nowMs: number, lifetimeMs: number): number {
  // Rounded up: a refresh token issued now under a 45-day lifetime has "about 45 days left".
  return Math.max(0, Math.ceil((set.refreshTokenIssuedAt + lifetimeMs - nowMs) / 86_400_000));
}
