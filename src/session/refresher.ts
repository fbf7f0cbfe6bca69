import { KeapError } from '../keap/errors';
import { KeapTokenClient } from '../keap/tokenClient';
import { sameEndpoint } from '../keap/endpoints';
import { Logger, urlForLog } from '../log';
import { accountKey } from './accounts';
import { LockHandle } from './fileLock';
import { SessionStore } from './store';
import { TokenSet } from './tokenSet';

export interface RefresherDeps {
  readonly store: SessionStore;
  readonly tokenClient: KeapTokenClient;
  /** Takes the user-wide refresh lock of one account (key from {@link accountKey}), waiting up to its own limit. */
  readonly lock: (account: string) => Promise<LockHandle>;
  readonly credentials: (clientId: string) => Promise<{ clientId: string; clientSecret: string } | undefined>;
  readonly now: () => number;
  readonly log: Logger;
}

export type RefreshResult =
  | { readonly kind: 'refreshed'; readonly tokenSet: TokenSet }
  /** Another window or process refreshed first (or no refresh was needed); nothing was sent. */
  | { readonly kind: 'already-refreshed'; readonly tokenSet: TokenSet }
  | { readonly kind: 'signed-out' }
  /** Another window stored a newer token set that this window cannot read yet; nothing was sent (its refresh token may be dead). */
  | { readonly kind: 'stale-view'; readonly tokenSet: TokenSet };

/**
 * Single-flight refresh across every window and process of the user (case K1): take the lock,
 * re-read storage, skip the request if another window already rotated the refresh token, send the
 * refresh grant, write the rotated pair to storage before anything else, release.
 * On `invalid_grant` storage is re-read once before the refresh token is declared dead.
 */
export class Refresher {
  private inFlight: Promise<RefreshResult> | undefined;

  constructor(private readonly deps: RefresherDeps) {}

  /**
   * @param seen the token set the caller decided on; if storage holds another refresh token by the
   *   time the lock is taken, someone else refreshed and nothing is sent.
   * @param stillNeeded re-checked under the lock against the stored set (for automatic refreshes).
   * @throws KeapError (any kind; `dead-refresh-token` only after the re-read), KeyringError, LockTimeoutError.
   */
  refresh(seen: TokenSet | undefined, stillNeeded?: (current: TokenSet) => boolean): Promise<RefreshResult> {
    // One refresh per window at a time; callers in the same window share it.
    this.inFlight ??= this.run(seen, stillNeeded).finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async run(seen: TokenSet | undefined, stillNeeded?: (current: TokenSet) => boolean): Promise<RefreshResult> {
    const { store, log } = this.deps;
    const first = seen ?? (await store.read());
    if (!first) return { kind: 'signed-out' };
    const app = first.appName ?? first.clientId;
    const handle = await this.deps.lock(accountKey(first));
    try {
      const current = await store.read();
      if (!current) return { kind: 'signed-out' };
      if (store.isCurrent && !(await store.isCurrent(current))) {
        log.warn(`refresh of Keap app ${app} skipped: another window stored a newer session that this window does not see yet`);
        return { kind: 'stale-view', tokenSet: current };
      }
      if (current.refreshToken !== first.refreshToken) {
        log.info(`refresh of Keap app ${app} skipped: another window already rotated the refresh token`);
        return { kind: 'already-refreshed', tokenSet: current };
      }
      if (stillNeeded && !stillNeeded(current)) {
        log.info(`refresh of Keap app ${app} skipped: no longer needed`);
        return { kind: 'already-refreshed', tokenSet: current };
      }
      if (current.refreshTokenRejectedAt !== undefined) {
        throw new KeapError('dead-refresh-token', 'Keap no longer accepts this refresh token; sign in again.');
      }
      // Bound to the endpoint that issued it (a 0.1 set without one: to the user's configured endpoint).
      const configured = this.deps.tokenClient.configuredTokenUrl();
      const tokenUrl = current.tokenUrl ?? configured;
      if (!sameEndpoint(tokenUrl, configured)) {
        log.warn(`refresh of Keap app ${app} not sent: its tokens came from ${urlForLog(tokenUrl)}, the token endpoint setting now says ${urlForLog(configured)}`);
        throw new KeapError(
          'bad-configuration',
          `The tokens of Keap app ${app} were issued by ${hostOf(tokenUrl)}, but the token endpoint setting now points at ${hostOf(configured)}. Nothing was sent; the tokens are kept. Sign in again to use the new endpoint, or set infusionsoft.tokenUrl back.`,
          { error: 'endpoint-changed' },
        );
      }
      const creds = await this.deps.credentials(current.clientId);
      if (!creds) throw new KeapError('bad-client-credentials', 'No client secret is stored for this client ID; set the client credentials.');
      let next: TokenSet;
      try {
        next = await this.deps.tokenClient.refresh({ ...creds, refreshToken: current.refreshToken, tokenUrl });
      } catch (e) {
        if (e instanceof KeapError && e.kind === 'dead-refresh-token') {
          const again = await store.read();
          if (again && again.refreshToken !== current.refreshToken) {
            log.info(`refresh token of Keap app ${app} refused, but storage already holds a newer one: using it`);
            return { kind: 'already-refreshed', tokenSet: again };
          }
          // Mark it dead only from a current view: a lagging view must never overwrite a newer set.
          if (again && (!store.isCurrent || (await store.isCurrent(again)))) await store.write({ ...again, refreshTokenRejectedAt: this.deps.now() });
        }
        throw e;
      }
      // The old refresh token is dead from now on: store the rotated pair before anything else.
      const merged: TokenSet = { ...next, user: current.user };
      await store.write(merged);
      log.info(`refreshed Keap app ${app}: access token valid until ${merged.accessTokenExpiresAt ? new Date(merged.accessTokenExpiresAt).toISOString() : 'unknown'}`);
      return { kind: 'refreshed', tokenSet: merged };
    } finally {
      await handle.release();
    }
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url.slice(0, 80);
  }
}
