import path = require('path');
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { ClaimRegistry } from '../../src/session/fileLock';
import { PendingSignIn } from '../../src/signin/pending';
import { SignInDeps, SignInOutcome, SignInService } from '../../src/signin/signInService';
import { DEMO_CLIENT, FakeKeap } from '../fake-keap/server';

/** A logger that keeps every line (to check what was logged, and that no secret ever is). */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const push = (l: string) => void lines.push(l);
  return { lines, trace: push, debug: push, info: push, warn: push, error: push };
}

/**
 * A real {@link SignInService} against the fake Keap server, as the extension builds one, with the
 * pending sign-ins and published outcomes kept in arrays the test can read. Claims live under `dir`.
 * The demo client's secret is the stored credential for every client ID.
 */
export function signInServiceFor(o: {
  fake: FakeKeap;
  dir: string;
  sessions: SignInDeps['sessions'];
  log?: Logger;
  tokenClient?: KeapTokenClient;
}): { svc: SignInService; pending: PendingSignIn[]; outcomes: SignInOutcome[] } {
  const pending: PendingSignIn[] = [];
  const outcomes: SignInOutcome[] = [];
  const log = o.log ?? recordingLogger();
  const claims = new ClaimRegistry(path.join(o.dir, 'claims'));
  const svc = new SignInService({
    now: Date.now,
    log,
    tokenClient: o.tokenClient ?? new KeapTokenClient({ endpoints: () => o.fake, timeoutMs: () => 2000, log }),
    pending: { read: async () => [...pending], write: async l => void pending.splice(0, pending.length, ...l) },
    sessions: o.sessions,
    claim: s => claims.claim(s),
    wasClaimed: s => claims.wasClaimed(s),
    credentials: async id => ({ clientId: id, clientSecret: DEMO_CLIENT.clientSecret }),
    publishOutcome: async out => void outcomes.push(out),
  });
  return { svc, pending, outcomes };
}
