import path = require('path');
import { accountKey } from '../session/accounts';
import { ChangeSignal } from '../session/changeSignal';
import { ClaimRegistry } from '../session/fileLock';
import { SignInService } from '../signin/signInService';
import type { Core } from './core';
import { OutcomeChannel, SecretPendingStore } from './secrets';
import { SignInController } from './signIn';

export { setClientCredentials } from './credentials';
export { saveRelayPage } from './relayPage';

/**
 * The interactive sign-in, built at its first use in a window (Sign In, a callback through the URI
 * handler, Paste Callback URL, the Accounts menu): the service that matches callbacks to pending
 * sign-ins and exchanges codes, and the controller that opens Keap's page and waits. A window that
 * only keeps a session alive never reads this code (dist/signin.js, scripts/bundle.js).
 */
export function buildSignIn(core: Core): SignInController {
  const { log, model, secrets, now } = core;
  const claims = new ClaimRegistry(path.join(core.storageDir, 'claims'));
  void claims.prune(86_400_000).catch(() => undefined);
  const outcomes = new OutcomeChannel(secrets, new ChangeSignal(core.storageDir, 'signin'));
  const service = new SignInService({
    now,
    log,
    tokenClient: core.tokenClient,
    pending: new SecretPendingStore(secrets),
    sessions: {
      read: key => model.storeFor(key).read(),
      // Every write goes through the model's per-account store, so other windows hear of it.
      write: async set => {
        log.addSecret(set.accessToken);
        log.addSecret(set.refreshToken);
        await model.storeFor(accountKey(set)).write(set);
      },
    },
    claim: s => claims.claim(s),
    wasClaimed: s => claims.wasClaimed(s),
    credentials: core.credentials,
    publishOutcome: o => outcomes.publish(o).catch(e => log.warn(`could not publish the sign-in outcome: ${(e as Error).message}`)),
  });
  return new SignInController(service, core.settings, secrets, outcomes, model, core.statusBar, log, now);
}
