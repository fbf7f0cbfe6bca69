import assert from 'node:assert/strict';
import { mkdtempSync } from 'fs';
import os = require('os');
import path = require('path');
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { Logger } from '../../src/log';
import { accountFileId, accountKey, AccountStore, ACCOUNT_SECRET_KEYS, KeyValueSecrets, StaleViewError } from '../../src/session/accounts';
import { FileLock } from '../../src/session/fileLock';
import { Refresher } from '../../src/session/refresher';
import { serializeTokenSet, TokenSet } from '../../src/session/tokenSet';
import { DEMO_CLIENT, FakeClient, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';

const quiet: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** A shared secret store whose every call yields for a random 0–3 ms, as SecretStorage's IPC does, so read-modify-write races show. */
class SlowSecrets implements KeyValueSecrets {
  readonly map = new Map<string, string>();
  private tick = () => new Promise(r => setTimeout(r, Math.random() * 3));
  async get(key: string) {
    await this.tick();
    return this.map.get(key);
  }
  async store(key: string, value: string) {
    await this.tick();
    this.map.set(key, value);
  }
  async delete(key: string) {
    await this.tick();
    this.map.delete(key);
  }
}

function set(clientId: string, appName: string, accessToken = `at-${clientId}-${appName}`): TokenSet {
  return { accessToken, refreshToken: `rt-${accessToken}`, accessTokenExpiresAt: Date.now() + 3_600_000, refreshTokenIssuedAt: Date.now(), scope: `full|${appName}.infusionsoft.com`, appName, clientId };
}

describe('several Keap accounts (src/session/accounts)', () => {
  let dir: string;
  let secrets: SlowSecrets;
  // Under Wine every file call goes through one wineserver, so 30 windows polling every 2 ms in one
  // process queue the holder's own calls behind theirs (the wait reached 10 s in 2 runs of 6).
  const waitMs = process.platform === 'win32' ? 60_000 : 10_000;
  const storeFor = (s: KeyValueSecrets = secrets) => new AccountStore(s, () => new FileLock(path.join(dir, 'accounts.lock'), { staleMs: 10_000, retryMs: 2 }).acquire(waitMs), quiet);

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'keap-accounts-'));
    secrets = new SlowSecrets();
  });

  it('keys an account by client ID and Keap app, and names its files without either', () => {
    assert.equal(accountKey({ clientId: 'c1', appName: 'ab123' }), 'c1|ab123');
    assert.equal(accountKey({ clientId: 'c1', appName: undefined }), 'c1|');
    assert.notEqual(accountFileId('c1|ab123'), accountFileId('c1|cd456'));
    assert.match(accountFileId('c1|ab123'), /^[0-9a-f]{16}$/);
  });

  it('stores each account under its own key, lists them in sign-in order, and signs one out without touching the other', async () => {
    const store = storeFor();
    await store.write(set('c1', 'ab123'));
    await store.write(set('c1', 'cd456'));
    await store.write(set('c1', 'ab123', 'newer'));
    assert.deepEqual(await store.keys(), ['c1|ab123', 'c1|cd456']);
    assert.deepEqual((await store.list()).map(s => s.accessToken), ['newer', 'at-c1-cd456']);
    await store.remove('c1|ab123');
    assert.deepEqual(await store.keys(), ['c1|cd456']);
    assert.equal(await store.read('c1|ab123'), undefined);
    assert.equal((await store.read('c1|cd456'))?.accessToken, 'at-c1-cd456');
    await store.remove('c1|cd456');
    assert.deepEqual([...secrets.map.keys()], [ACCOUNT_SECRET_KEYS.index], 'no token is left behind after the last sign-out');
    assert.deepEqual(JSON.parse(secrets.map.get(ACCOUNT_SECRET_KEYS.index)!).keys, []);
  });

  it('30 windows adding accounts at the same moment all land in the index (the index lock)', async function () {
    this.timeout(2 * waitMs);
    await Promise.all(Array.from({ length: 30 }, (_, i) => storeFor().write(set(`c${i % 3}`, `app${i}`))));
    const keys = await storeFor().keys();
    assert.equal(keys.length, 30);
    assert.equal(new Set(keys).size, 30);
    for (const k of keys) assert.ok(await storeFor().read(k), k);
  });

  it('writing one account never rewrites another (a refresh of A cannot lose B\'s rotated token)', async () => {
    const store = storeFor();
    await store.write(set('c1', 'ab123'));
    await store.write(set('c1', 'cd456'));
    const a = store.forAccount('c1|ab123');
    const b = store.forAccount('c1|cd456');
    await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a.write(set('c1', 'ab123', `a${i}`)) : b.write(set('c1', 'cd456', `b${i}`)))));
    // The writes interleave in random order; what matters is that each account holds one of its own.
    assert.match((await a.read())?.accessToken ?? '', /^a\d+$/);
    assert.match((await b.read())?.accessToken ?? '', /^b\d+$/);
    assert.deepEqual(await store.keys(), ['c1|ab123', 'c1|cd456']);
    await assert.rejects(a.write(set('c1', 'cd456')), /cannot be stored as c1\|ab123/);
  });

  it('moves the single session of version 0.1 into the list once, and keeps a newer one', async () => {
    secrets.map.set(ACCOUNT_SECRET_KEYS.legacySession, serializeTokenSet(set('c1', 'ab123', 'legacy')));
    const store = storeFor();
    assert.deepEqual(await store.keys(), ['c1|ab123']);
    assert.equal(secrets.map.has(ACCOUNT_SECRET_KEYS.legacySession), false);
    assert.equal((await store.read('c1|ab123'))?.accessToken, 'legacy');
    // A crash after the copy, before the delete: the next start neither duplicates nor overwrites.
    await store.write(set('c1', 'ab123', 'refreshed-since'));
    secrets.map.set(ACCOUNT_SECRET_KEYS.legacySession, serializeTokenSet(set('c1', 'ab123', 'legacy')));
    assert.deepEqual(await storeFor().keys(), ['c1|ab123']);
    assert.equal((await store.read('c1|ab123'))?.accessToken, 'refreshed-since');
    // An unreadable 0.1 entry is dropped, not kept forever.
    secrets.map.set(ACCOUNT_SECRET_KEYS.legacySession, '{not json');
    assert.deepEqual(await storeFor().keys(), ['c1|ab123']);
    assert.equal(secrets.map.has(ACCOUNT_SECRET_KEYS.legacySession), false);
  });

  it('a window migrating the 0.1 session never copies it over a set another window has refreshed since', async () => {
    secrets.map.set(ACCOUNT_SECRET_KEYS.legacySession, serializeTokenSet(set('c1', 'ab123', 'legacy')));
    // Window B is slow: its copy of the old set reaches the store only after window A has migrated
    // and refreshed (or after 300 ms, if A cannot get that far meanwhile).
    let aRefreshed!: () => void;
    const aDone = new Promise<void>(r => (aRefreshed = r));
    const slowB: KeyValueSecrets = {
      get: k => secrets.get(k),
      delete: k => secrets.delete(k),
      store: async (k, v) => {
        if (k.startsWith(ACCOUNT_SECRET_KEYS.sessionPrefix)) await Promise.race([aDone, new Promise(r => setTimeout(r, 300))]);
        return secrets.store(k, v);
      },
    };
    const b = storeFor(slowB).keys();
    await new Promise(r => setTimeout(r, 30));
    const a = storeFor();
    await a.keys();
    await a.forAccount('c1|ab123').write(set('c1', 'ab123', 'refreshed'));
    aRefreshed();
    await b;
    assert.deepEqual(await storeFor().keys(), ['c1|ab123']);
    assert.equal((await storeFor().read('c1|ab123'))?.accessToken, 'refreshed');
    assert.equal(secrets.map.has(ACCOUNT_SECRET_KEYS.legacySession), false);
  });

  it('each change of the account list gets a new generation id, announced to other windows', async () => {
    const announced: string[] = [];
    const store = new AccountStore(secrets, () => new FileLock(path.join(dir, 'accounts.lock'), { staleMs: 10_000 }).acquire(10_000), quiet, { onIndexChanged: async g => void announced.push(g) });
    await store.write(set('c1', 'ab123'));
    const g1 = await store.indexGeneration();
    await store.write(set('c1', 'ab123', 'refreshed'));
    assert.equal(await store.indexGeneration(), g1, 'a refresh does not change the list');
    await store.write(set('c1', 'cd456'));
    await store.remove('c1|ab123');
    assert.equal(announced.length, 3);
    assert.equal(new Set(announced).size, 3);
    assert.equal(await store.indexGeneration(), announced[2]);
    // A bare array from an earlier build still reads.
    secrets.map.set(ACCOUNT_SECRET_KEYS.index, JSON.stringify(['c1|cd456']));
    assert.deepEqual(await store.keys(), ['c1|cd456']);
    assert.equal(await store.indexGeneration(), undefined);
  });

  it('a view that is behind the announced list cannot change it (no dropped or resurrected accounts), and a current view can repair a lost announcement', async () => {
    let announced: string | undefined;
    const opts = { onIndexChanged: async (g: string) => void (announced = g), announcedIndexGeneration: async () => announced };
    const lock = () => new FileLock(path.join(dir, 'accounts.lock'), { staleMs: 10_000 }).acquire(10_000);
    const current = new AccountStore(secrets, lock, quiet, opts);
    await current.write(set('c1', 'ab123'));
    await current.write(set('c1', 'cd456'));
    // A lagging window: its secret store still returns the list as it was before cd456.
    const snapshot = new Map(secrets.map);
    await current.write(set('c1', 'ef789'));
    const laggingSecrets: KeyValueSecrets = {
      get: async k => (k === ACCOUNT_SECRET_KEYS.index ? snapshot.get(k) : secrets.get(k)),
      store: (k, v) => secrets.store(k, v),
      delete: k => secrets.delete(k),
    };
    const lagging = new AccountStore(laggingSecrets, lock, quiet, opts);
    await assert.rejects(lagging.remove('c1|ab123'), StaleViewError);
    await assert.rejects(lagging.write(set('c1', 'zz000')), StaleViewError);
    assert.deepEqual(await current.keys(), ['c1|ab123', 'c1|cd456', 'c1|ef789'], 'nothing dropped');
    assert.equal(secrets.map.has(ACCOUNT_SECRET_KEYS.sessionPrefix + 'c1|zz000'), false, 'no token stored for the refused sign-in');
    // An announcement lost to a crash: every change is refused until a current view re-announces.
    announced = 'lost';
    await assert.rejects(current.remove('c1|ab123'), StaleViewError);
    await current.reannounceIndex();
    await current.remove('c1|ab123');
    assert.deepEqual(await current.keys(), ['c1|cd456', 'c1|ef789']);
  });

  it('a broken index or entry is reported as absent, not thrown', async () => {
    secrets.map.set(ACCOUNT_SECRET_KEYS.index, 'nope');
    assert.deepEqual(await storeFor().keys(), []);
    secrets.map.set(ACCOUNT_SECRET_KEYS.index, JSON.stringify(['c1|x', 7, '', 'c1|x']));
    secrets.map.set(ACCOUNT_SECRET_KEYS.sessionPrefix + 'c1|x', '{"accessToken":1}');
    assert.deepEqual(await storeFor().keys(), ['c1|x']);
    assert.deepEqual(await storeFor().list(), []);
  });

  describe('against the fake Keap server: two accounts refreshed by three windows at once', () => {
    const OTHER: FakeClient = { clientId: 'other-client-id', clientSecret: 'other-client-secret', appName: 'zz999' };
    let fake: FakeKeap;
    before(async () => {
      fake = await startFakeKeap({ clients: [DEMO_CLIENT, OTHER] });
    });
    after(async () => fake.close());

    it('each account gets exactly one refresh per round, with its own lock, and neither is lost', async () => {
      const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, log: quiet });
      const store = storeFor();
      const redirectUri = 'http://localhost:9/callback';
      for (const c of [DEMO_CLIENT, OTHER]) {
        await store.write(await client.exchangeCode({ ...c, code: await authorizationCode(fake, redirectUri, 's', c.clientId), redirectUri }));
      }
      const keys = await store.keys();
      assert.deepEqual(keys, ['demo-client-id|ab123', 'other-client-id|zz999']);
      const secretOf = (id: string) => [DEMO_CLIENT, OTHER].find(c => c.clientId === id)!.clientSecret;
      // Three windows, each with its own refresher per account (own single flight): only the lock coordinates them.
      const windows = [0, 1, 2].map(() =>
        new Map(
          keys.map(key => [
            key,
            new Refresher({
              store: storeFor().forAccount(key),
              tokenClient: client,
              log: quiet,
              now: Date.now,
              credentials: async id => ({ clientId: id, clientSecret: secretOf(id) }),
              lock: account => new FileLock(path.join(dir, 'locks', `refresh-${accountFileId(account)}.lock`), { staleMs: 10_000, retryMs: 2 }).acquire(10_000),
            }),
          ]),
        ),
      );
      const ROUNDS = 10;
      for (let round = 0; round < ROUNDS; round++) {
        const seen = new Map(await Promise.all(keys.map(async k => [k, (await store.read(k))!] as const)));
        const before = fake.requests.length;
        await Promise.all(windows.flatMap(w => keys.map(k => w.get(k)!.refresh(seen.get(k)))));
        const grants = fake.requests.slice(before).filter(r => r.path === '/token');
        assert.equal(grants.length, 2, `round ${round}: one refresh per account`);
        assert.deepEqual(grants.map(r => r.status), [200, 200]);
      }
      const live = fake.liveTokens();
      for (const k of keys) {
        const s = (await store.read(k))!;
        assert.ok(live.some(t => t.refreshToken === s.refreshToken), `${k} is alive after ${ROUNDS} rounds`);
      }
    });
  });
});
