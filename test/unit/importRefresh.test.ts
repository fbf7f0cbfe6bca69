import assert from 'node:assert/strict';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { SILENT_LOGGER } from '../../src/log';
import { IMPORT_SAVE_ATTEMPTS, importPair, refreshImportedPair } from '../../src/session/importRefresh';
import { accountKey, fingerprint } from '../../src/session/accounts';
import { MemoryLedgerStore } from '../../src/session/refreshSchedule';
import { REAL_TIMERS } from '../../src/session/timeLimit';
import { TokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { Refresher } from '../../src/session/refresher';
import { MemoryLock, MemorySessionStore } from '../support/memoryStores';

/** A pair Keap issued outside VS Code (the code grant, as a developer's own app gets one), as an import candidate. */
async function pairFromElsewhere(fake: FakeKeap): Promise<TokenSet> {
  fake.setAutoApprove(true);
  const redirectUri = 'http://localhost:1/elsewhere';
  const q = new URLSearchParams({ client_id: DEMO_CLIENT.clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'full', state: 's' });
  const res = await fetch(`${fake.authorizeUrl}?${q}`, { redirect: 'manual' });
  const code = new URL(res.headers.get('location')!).searchParams.get('code')!;
  const t = await fetch(fake.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: DEMO_CLIENT.clientId, client_secret: DEMO_CLIENT.clientSecret, code, grant_type: 'authorization_code', redirect_uri: redirectUri }).toString(),
  });
  const o = (await t.json()) as { access_token: string; refresh_token: string };
  // As a .env holds it: no scope, already expired.
  return { accessToken: o.access_token, refreshToken: o.refresh_token, accessTokenExpiresAt: Date.now() - 1000, refreshTokenIssuedAt: Date.now(), scope: '', appName: undefined, clientId: DEMO_CLIENT.clientId, tokenUrl: fake.tokenUrl };
}

describe('Import Tokens: one refresh of a pair not stored yet (src/session/importRefresh)', () => {
  let fake: FakeKeap;
  before(async () => {
    fake = await startFakeKeap();
  });
  after(() => fake.close());

  /** `persist` stands for SecretStorage's write of any account; `ledger` is every account's ledger unless `ledgers` names one per account. */
  const deps = (ledger = new MemoryLedgerStore(), locks: string[] = [], persist: (set: TokenSet) => Promise<void> = async () => undefined, ledgers?: Map<string, MemoryLedgerStore>) => ({
    tokenClient: new KeapTokenClient({ endpoints: () => ({ authorizeUrl: fake.authorizeUrl, tokenUrl: fake.tokenUrl, apiBaseUrl: fake.apiBaseUrl }), timeoutMs: () => 5000, now: Date.now }),
    credentials: async (clientId: string) => ({ clientId, clientSecret: DEMO_CLIENT.clientSecret }),
    now: Date.now,
    log: SILENT_LOGGER,
    lock: (account: string) => {
      locks.push(account);
      return new MemoryLock(REAL_TIMERS).acquire();
    },
    ledgerFor: (key: string) => ledgers?.get(key) ?? ledger,
    storeFor: (key: string) => ({
      read: async () => undefined,
      write: async (set: TokenSet) => {
        assert.equal(accountKey(set), key);
        await persist(set);
      },
      clear: async () => undefined,
    }),
  });

  it('a live pair: one refresh under the account lock, recorded in the ledger; the rotated pair is persisted once, with the Keap app from scope', async () => {
    const candidate = await pairFromElsewhere(fake);
    fake.requests.splice(0);
    const persisted: TokenSet[] = [];
    const ledger = new MemoryLedgerStore();
    const locks: string[] = [];
    const r = await refreshImportedPair(candidate, deps(ledger, locks, async set => void persisted.push(set)));
    assert.equal(r.kind, 'refreshed');
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0].form?.refresh_token, candidate.refreshToken);
    // The app is known only from Keap's answer: the request under `cid|`, the store under the account it is stored as.
    assert.deepEqual(locks, [`${DEMO_CLIENT.clientId}|`, `${DEMO_CLIENT.clientId}|ab123`]);
    assert.equal(persisted.length, 1);
    assert.equal(persisted[0].appName, 'ab123');
    assert.equal(persisted[0].tokenUrl, fake.tokenUrl);
    assert.ok(r.kind === 'refreshed' && r.set.refreshToken === persisted[0].refreshToken);
    assert.ok(fake.liveTokens().some(t => t.refreshToken === persisted[0].refreshToken));
    assert.equal((await ledger.read()).requests.length, 1, 'the request counts against the account\'s daily budget');
    assert.deepEqual((await ledger.read()).spent, [fingerprint(candidate.refreshToken)], 'the spent refresh token, still in the file it came from, is never sent again');
  });

  it('a dead refresh token: dead, one request, nothing persisted', async () => {
    const candidate = await pairFromElsewhere(fake);
    await refreshImportedPair(candidate, deps());
    fake.requests.splice(0);
    const persisted: TokenSet[] = [];
    const r = await refreshImportedPair(candidate, deps(undefined, undefined, async set => void persisted.push(set)));
    assert.equal(r.kind, 'dead');
    assert.equal(fake.requests.length, 1);
    assert.deepEqual(persisted, []);
  });

  it('client credentials Keap refuses: bad-client, one request, nothing persisted', async () => {
    const candidate = { ...(await pairFromElsewhere(fake)), clientId: 'other-client' };
    fake.requests.splice(0);
    const r = await refreshImportedPair(candidate, { ...deps(undefined, undefined, async () => assert.fail('persisted')), credentials: async () => ({ clientId: 'other-client', clientSecret: 'x' }) });
    assert.equal(r.kind, 'bad-client');
    assert.equal(fake.requests.length, 1);
  });

  it(`storage refusing the rotated pair: written again under the lock, ${IMPORT_SAVE_ATTEMPTS} attempts in all, then unsaved`, async () => {
    const candidate = await pairFromElsewhere(fake);
    let writes = 0;
    const ledger = new MemoryLedgerStore();
    const spentAtFirstWrite: string[] = [];
    const r = await refreshImportedPair(
      candidate,
      deps(ledger, undefined, async () => {
        if (++writes === 1) spentAtFirstWrite.push(...((await ledger.read()).spent ?? []));
        throw new Error('keyring locked');
      }),
    );
    assert.equal(r.kind, 'unsaved');
    assert.equal(writes, IMPORT_SAVE_ATTEMPTS);
    // Listed before the first write is tried: a window that opened while the writes failed sent it (budget property, seed 1106827842).
    assert.deepEqual(spentAtFirstWrite, [fingerprint(candidate.refreshToken)], 'spent before the first write');
    // Keap rotated the candidate's refresh token: the account's ledger lists it as spent (no window sends it again).
    assert.deepEqual((await ledger.read()).spent, [fingerprint(candidate.refreshToken)]);
    let second = 0;
    const ok = await refreshImportedPair(
      await pairFromElsewhere(fake),
      deps(undefined, undefined, async () => {
        if (++second === 1) throw new Error('once');
      }),
    );
    assert.equal(ok.kind, 'refreshed', 'a second write that works stores it');
    assert.equal(second, 2);
  });

  it('an answer without a refresh token whose write hangs: written again by the import, "stored" only once a write landed, the lock let go after each time limit (found by the budget property, seed 775093352)', async () => {
    const candidate = { ...(await pairFromElsewhere(fake)), scope: 'full|ab123.infusionsoft.com', appName: 'ab123' };
    // Keap (or a proxy) answers 200 with an access token and no refresh token: nothing rotated.
    fake.addFault({ status: 200, contentType: 'application/json', body: JSON.stringify({ access_token: 'access-without-refresh-token-xxxxxxxx', token_type: 'bearer', expires_in: 86400, scope: 'full|ab123.infusionsoft.com' }) });
    const writes: string[] = [];
    let landed: TokenSet | undefined;
    const locks = keyedLocks();
    const d = { ...deps(undefined, undefined, async set => {
      writes.push(set.accessToken);
      // The first write never answers (a closed code-server tab, case K13); the second is refused; the third lands.
      if (writes.length === 1) return new Promise<void>(() => undefined);
      if (writes.length === 2) throw new Error('Cannot create an item in a locked collection');
      landed = set;
    }), lock: locks.lock, storeTimeLimitMs: 50 };
    const r = await refreshImportedPair(candidate, d);
    assert.equal(r.kind, 'refreshed');
    assert.equal(writes.length, IMPORT_SAVE_ATTEMPTS, 'the hung write, the refused one, the one that landed');
    assert.ok(landed, 'a write landed');
    assert.equal(landed.accessToken, 'access-without-refresh-token-xxxxxxxx');
    assert.equal(landed.refreshToken, candidate.refreshToken, 'the refresh token Keap did not replace is kept');
    assert.ok(r.kind === 'refreshed' && r.set === landed);
    assert.deepEqual([...locks.held], [], 'no lock held after the hung write');
    // Every write failing (the first one hanging): unsaved, never "refreshed".
    fake.addFault({ status: 200, contentType: 'application/json', body: JSON.stringify({ access_token: 'access-without-refresh-token-yyyyyyyy', token_type: 'bearer', expires_in: 86400, scope: 'full|ab123.infusionsoft.com' }) });
    let tries = 0;
    const never = await refreshImportedPair(candidate, { ...deps(undefined, undefined, async () => {
      if (++tries === 1) return new Promise<void>(() => undefined);
      throw new Error('Cannot create an item in a locked collection');
    }), lock: keyedLocks().lock, storeTimeLimitMs: 50 });
    assert.equal(never.kind, 'unsaved');
    assert.equal(tries, IMPORT_SAVE_ATTEMPTS);
  });

  it('a pair that names no app whose first write hangs: the lock of the account it is stored as is let go when the time limit passes (found in review: it stayed held, and every window\'s refresh of that account timed out)', async () => {
    const candidate = await pairFromElsewhere(fake);
    let writes = 0;
    const locks = keyedLocks();
    const r = await refreshImportedPair(candidate, { ...deps(undefined, undefined, async () => {
      if (++writes === 1) return new Promise<void>(() => undefined);
    }), lock: locks.lock, storeTimeLimitMs: 50 });
    assert.equal(r.kind, 'refreshed');
    assert.equal(writes, 2, 'the hung write, then the one that landed');
    assert.equal(locks.taken[0], `${DEMO_CLIENT.clientId}|`, 'the request under the client ID\'s lock (no app known yet)');
    assert.ok(locks.taken.includes(`${DEMO_CLIENT.clientId}|ab123`), 'the store under the lock of the account it is stored as');
    // The hung write's own time limit (50 ms) may end just after the import's: give it that long.
    await new Promise(res => setTimeout(res, 100));
    assert.deepEqual([...locks.held], [], 'no lock held once the time limit passed');
  });

  /** One lock per account key, as the user-wide file locks are; `held` tells which are held now. */
  const keyedLocks = () => {
    const locks = new Map<string, MemoryLock>();
    const held = new Set<string>();
    const taken: string[] = [];
    const lock = async (key: string) => {
      if (!locks.has(key)) locks.set(key, new MemoryLock(REAL_TIMERS, 5000));
      const h = await locks.get(key)!.acquire();
      taken.push(key);
      held.add(key);
      return { release: async () => (held.delete(key), h.release()) };
    };
    return { lock, held, taken };
  };
  const stored = (set: Partial<TokenSet> = {}): TokenSet => ({
    accessToken: 'stored-access-token-xxxxxxxxxxxx',
    refreshToken: 'stored-refresh-token-xxxxxxxxxxx',
    accessTokenExpiresAt: Date.now() + 20 * 3_600_000,
    refreshTokenIssuedAt: Date.now() - 3_600_000,
    scope: 'full|ab123.infusionsoft.com',
    appName: 'ab123',
    clientId: DEMO_CLIENT.clientId,
    tokenUrl: fake.tokenUrl,
    ...set,
  });

  it('a pair without a Keap app, stored as the app scope names: stored under that account\'s lock, its request and fresh pair in that account\'s ledger', async () => {
    const candidate = await pairFromElsewhere(fake);
    const key = `${DEMO_CLIENT.clientId}|ab123`;
    const ledgers = new Map([[key, new MemoryLedgerStore()], [`${DEMO_CLIENT.clientId}|`, new MemoryLedgerStore()]]);
    const locks = keyedLocks();
    const store = new MemorySessionStore();
    const heldAtWrite: string[][] = [];
    const r = await refreshImportedPair(candidate, {
      ...deps(),
      lock: locks.lock,
      ledgerFor: k => ledgers.get(k)!,
      storeFor: k => ({
        read: async () => (k === key ? store.read() : undefined),
        write: async set => {
          assert.equal(accountKey(set), k);
          heldAtWrite.push([...locks.held]);
          await store.write(set);
        },
        clear: async () => undefined,
      }),
    });
    assert.equal(r.kind, 'refreshed');
    assert.equal(store.set?.appName, 'ab123');
    assert.deepEqual(heldAtWrite.length, 1);
    assert.ok(heldAtWrite[0].includes(key), `stored under the lock of ${key}, held: ${heldAtWrite[0].join(', ')}`);
    const ledger = await ledgers.get(key)!.read();
    assert.equal(ledger.requests.length, 1, 'the import\'s request counts against the stored account\'s budget');
    assert.ok(ledger.fresh, 'the pair Keap has just issued is left alone for half its life');
    assert.equal(locks.held.size, 0, 'every lock released');
    // A later automatic refresh of the stored account, through its own ledger, sees it.
    const before = fake.requests.length;
    const auto = await new Refresher({ ...deps(), lock: locks.lock, ledger: ledgers.get(key)!, store }).refresh(store.set, () => true);
    assert.equal(auto.kind, 'deferred');
    assert.equal(fake.requests.length, before, 'nothing sent');
  });

  it('a refused import leaves the ledger of an account already stored as it was: no pause added, none replaced or cleared', async () => {
    const key = `${DEMO_CLIENT.clientId}|ab123`;
    const paused = { requests: [Date.now() - 60_000], attempt: 0, paused: { cause: 'dead-refresh-token' as const, message: 'refused', resume: 'sign-in' as const, at: Date.now() - 60_000, issuedAt: stored().refreshTokenIssuedAt } };
    for (const before of [{ requests: [Date.now() - 120_000], attempt: 0 }, paused]) {
      for (const appName of ['ab123', undefined]) {
        // A dead pair: refreshed once already.
        const live = await pairFromElsewhere(fake);
        await refreshImportedPair(live, deps());
        const candidate = appName ? { ...live, scope: 'full|ab123.infusionsoft.com', appName } : live;
        const ledgers = new Map([[key, new MemoryLedgerStore()], [`${DEMO_CLIENT.clientId}|`, new MemoryLedgerStore()]]);
        for (const l of ledgers.values()) await l.write(before);
        const r = await refreshImportedPair(candidate, { ...deps(undefined, undefined, async () => assert.fail('stored')), ledgerFor: k => ledgers.get(k)! });
        assert.equal(r.kind, 'dead');
        for (const [k, l] of ledgers) assert.deepEqual(await l.read(), before, `the ledger of ${k} after a refused import of a pair ${appName ? 'of' : 'without'} a Keap app`);
      }
    }
  });

  it('Import Without Refreshing stores under the account\'s lock, and only when nothing was stored for that app when the import began and nothing was meanwhile', async () => {
    const key = `${DEMO_CLIENT.clientId}|ab123`;
    const live = await pairFromElsewhere(fake);
    const candidate = { ...live, accessTokenExpiresAt: Date.now() + 3_600_000, scope: 'full|ab123.infusionsoft.com', appName: 'ab123' };
    const tokenClient = deps().tokenClient;
    const flow = (store: MemorySessionStore, locks: ReturnType<typeof keyedLocks>, meanwhile: () => Promise<void> = async () => undefined) =>
      importPair(
        candidate,
        { ...deps(), lock: locks.lock, userInfo: t => tokenClient.userInfo(t), storeFor: k => (k === key ? store : new MemorySessionStore()) },
        {
          refresh: async appKnown => {
            assert.equal(appKnown, true);
            await meanwhile();
            return false;
          },
        },
      );
    const newer = stored({ accessToken: 'newer-access-token-xxxxxxxxxxxx', refreshToken: 'newer-refresh-token-xxxxxxxxxxx' });
    // Another window signs in to the app while the user reads the question: its new pair is kept.
    const store = new MemorySessionStore();
    fake.requests.splice(0);
    const r = await flow(store, keyedLocks(), async () => void (store.set = newer));
    assert.equal(r.kind, 'changed');
    assert.equal(store.set, newer, 'the pair another window stored meanwhile is kept');
    assert.deepEqual(fake.requests.map(q => q.path).filter(p => p.endsWith('/token')), [], 'no token request');
    assert.equal(fake.requests.filter(q => q.path.endsWith('/userinfo')).length, 1, 'one userinfo request');

    // Another window holds the account's lock (storing a pair): the import waits for it, then sees what it stored.
    const store2 = new MemorySessionStore();
    const locks = keyedLocks();
    const other = await locks.lock(key);
    const pending = flow(store2, locks);
    await new Promise(res => setTimeout(res, 50));
    assert.equal(store2.set, undefined, 'nothing stored while another window holds the lock');
    store2.set = newer;
    await other.release();
    assert.equal((await pending).kind, 'changed');
    assert.equal(store2.set, newer);

    // Nothing stored, nothing meanwhile: stored, under the lock of the account.
    const store3 = new MemorySessionStore();
    const locks3 = keyedLocks();
    let heldAtWrite: string[] = [];
    const write = store3.write.bind(store3);
    store3.write = async set => ((heldAtWrite = [...locks3.held]), write(set));
    const ok = await flow(store3, locks3);
    assert.equal(ok.kind, 'imported');
    assert.equal(store3.set?.refreshToken, candidate.refreshToken);
    assert.deepEqual(heldAtWrite, [key]);
  });

  it('a pair for an app VS Code already holds, or one that names no app, is refreshed first without asking: a dead one replaces nothing (found by the budget property with imports, seed 13)', async () => {
    const key = `${DEMO_CLIENT.clientId}|ab123`;
    const tokenClient = deps().tokenClient;
    let asked = 0;
    const questions = { refresh: async () => (asked++, false) };
    // Its refresh token already used elsewhere (dead), its access token still accepted.
    const used = await pairFromElsewhere(fake);
    await tokenClient.refresh({ ...DEMO_CLIENT, refreshToken: used.refreshToken, tokenUrl: fake.tokenUrl });
    const dead = { ...used, accessTokenExpiresAt: Date.now() + 3_600_000, scope: 'full|ab123.infusionsoft.com', appName: 'ab123' };
    const held = new MemorySessionStore(stored());
    fake.requests.splice(0);
    const r = await importPair(dead, { ...deps(), lock: keyedLocks().lock, userInfo: t => tokenClient.userInfo(t), storeFor: k => (k === key ? held : new MemorySessionStore()) }, questions);
    assert.equal(r.kind, 'dead');
    assert.equal(asked, 0, 'not asked: the refresh is not optional over a held app');
    assert.equal(held.set?.refreshToken, stored().refreshToken, 'the live session VS Code held is kept');
    assert.equal(fake.requests.filter(q => q.path.endsWith('/token')).length, 1, 'one token request');
    // No app named (no scope): refreshed without asking, stored under the app the refresh named.
    const anon = { ...(await pairFromElsewhere(fake)), accessTokenExpiresAt: Date.now() + 3_600_000 };
    const stores = new Map<string, MemorySessionStore>();
    const storeFor = (k: string) => stores.get(k) ?? (stores.set(k, new MemorySessionStore()), stores.get(k)!);
    const r2 = await importPair(anon, { ...deps(), lock: keyedLocks().lock, userInfo: t => tokenClient.userInfo(t), storeFor }, questions);
    assert.equal(r2.kind, 'imported');
    assert.equal(asked, 0);
    assert.ok(r2.kind === 'imported' && r2.refreshed && r2.set.appName !== undefined, 'refreshed, and the app learnt from scope');
    assert.equal(storeFor(accountKey(r2.kind === 'imported' ? r2.set : anon)).set?.refreshToken, r2.kind === 'imported' ? r2.set.refreshToken : undefined);
  });
});
