import { Logger } from '../../src/log';
import { DEFAULT_REFRESH_POLICY } from '../../src/session/policy';
import { RefresherLike, RefreshScheduler, RefreshSchedulerDeps, SchedulerClock } from '../../src/session/refreshScheduler';
import { TokenSet } from '../../src/session/tokenSet';

/**
 * One window's RefreshScheduler as the unit tests build it (src/vscode/autoRefresh.ts builds the
 * real one): Keap app ab123, the default policy, automatic refresh on, and a view of the token set
 * that each refresh replaces (`view()`); while storage refuses a rotated pair, the window uses the
 * one the refresher holds in memory, as SessionModel does. `deps` overrides any of those (for example
 * `keapOffsetMs`, or `onHealth` to record health changes). `setView` stands for a write another
 * part of the window made (a sign-in).
 */
export function windowScheduler(
  refresher: RefresherLike,
  clock: SchedulerClock,
  log: Logger,
  initial: TokenSet | undefined,
  deps: Partial<RefreshSchedulerDeps> = {},
): { scheduler: RefreshScheduler; view: () => TokenSet | undefined; setView: (set: TokenSet | undefined) => void } {
  let view = initial;
  const scheduler = new RefreshScheduler({
    refresher,
    tokenSet: () => refresher.unsaved ?? view,
    policy: () => DEFAULT_REFRESH_POLICY,
    enabled: () => true,
    clock,
    log,
    label: () => 'ab123',
    onTokenSet: s => (view = s),
    onHealth: () => undefined,
    ...deps,
  });
  return { scheduler, view: () => view, setView: set => (view = set) };
}
