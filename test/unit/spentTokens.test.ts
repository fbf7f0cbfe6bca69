import assert from 'node:assert/strict';
import { fingerprint } from '../../src/session/accounts';
import { admitAutomatic, EMPTY_LEDGER, parseLedger, recordOutcome, recordSpent, SPENT_KEPT, SPENT_MESSAGE } from '../../src/session/refreshSchedule';

/**
 * RefreshLedger.spent: refresh tokens Import Tokens spent at Keap (read from a .env file, the stored
 * pair itself among them) whose answer it could not store. Found by the budget property with the
 * 'from-env' import kind (seed 1): a window then sent the stored refresh token Keap had rotated.
 */
describe('spent refresh tokens in the refresh ledger (src/session/refreshSchedule)', () => {
  const now = 1_800_000_000_000;
  const set = { refreshToken: 'stored-refresh-token-xxxxxxxxxxxx', refreshTokenIssuedAt: now - 3_600_000, accessTokenExpiresAt: now - 1000 };

  it('an automatic refresh of a stored set whose refresh token is spent is refused as "sign in again", whatever the user resumed', () => {
    assert.deepEqual(admitAutomatic(EMPTY_LEDGER, now, set), { admit: true });
    const ledger = recordSpent(EMPTY_LEDGER, fingerprint(set.refreshToken));
    const a = admitAutomatic(ledger, now, set, now + 1);
    assert.ok(!a.admit && a.why === 'paused');
    assert.equal(a.pause.resume, 'sign-in');
    assert.equal(a.pause.cause, 'dead-refresh-token');
    assert.equal(a.pause.message, SPENT_MESSAGE);
    assert.equal(a.pause.issuedAt, set.refreshTokenIssuedAt);
    // Another refresh token (a new sign-in, or the pair stored later) is admitted again.
    assert.deepEqual(admitAutomatic(ledger, now, { ...set, refreshToken: 'another-refresh-token-xxxxxxxxxxx' }), { admit: true });
  });

  it('outlives the outcomes of later requests, survives the file (only 16-hex fingerprints), and keeps the newest 16', () => {
    let ledger = recordSpent(EMPTY_LEDGER, fingerprint('a-token'));
    ledger = recordOutcome(ledger, { kind: 'success' }, now, now);
    ledger = recordOutcome(ledger, { kind: 'refusal', cause: 'dead-refresh-token', resume: 'sign-in', message: 'x' }, now, now);
    assert.deepEqual(ledger.spent, [fingerprint('a-token')]);
    const read = parseLedger(JSON.stringify({ ...ledger, spent: [...(ledger.spent ?? []), 'not-a-fingerprint', 42, 'stored-refresh-token-in-clear'] }));
    assert.deepEqual(read.spent, [fingerprint('a-token')]);
    for (let i = 0; i < 40; i++) ledger = recordSpent(ledger, fingerprint(`t${i}`));
    assert.equal(ledger.spent?.length, SPENT_KEPT);
    assert.equal(ledger.spent?.at(-1), fingerprint('t39'));
    assert.equal(parseLedger(undefined).spent, undefined);
  });
});
