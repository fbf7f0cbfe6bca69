import assert from 'node:assert/strict';
import { ChildProcess, fork } from 'child_process';
import { mkdtempSync, readFileSync } from 'fs';
import os = require('os');
import path = require('path');
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FileSessionStore } from '../support/fileSessionStore';

const PROCESSES = 5;
const ROUNDS = 100;

/**
 * K1: five processes (five VS Code windows) share one token store and one lock folder, and all try
 * to refresh in the same expiry window, round after round, against the fake Keap server that
 * rotates refresh tokens. Exactly one token request per round, no invalid_grant, no lost session.
 */
describe(`K1: ${PROCESSES} processes refreshing together for ${ROUNDS} rounds`, function () {
  this.timeout(180_000);
  let fake: FakeKeap;
  const workers: ChildProcess[] = [];

  after(async () => {
    for (const w of workers) w.kill();
    await fake?.close();
  });

  it('sends exactly one refresh per round, gets no invalid_grant and loses no session', async () => {
    fake = await startFakeKeap();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keap-k1-'));
    const store = new FileSessionStore(path.join(dir, 'session.json'));
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 10_000 });
    const redirectUri = 'http://localhost:9/callback';
    const code = await authorizationCode(fake, redirectUri);
    await store.write(await client.exchangeCode({ ...DEMO_CLIENT, code, redirectUri }));

    const workerJs = path.join(__dirname, '../support/refreshWorker.js');
    const ready: Promise<void>[] = [];
    for (let i = 0; i < PROCESSES; i++) {
      const w = fork(workerJs, [fake.tokenUrl, dir, DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret], { stdio: 'ignore' });
      workers.push(w);
      ready.push(new Promise(r => w.once('message', () => r())));
    }
    await Promise.all(ready);

    const perRound: number[] = [];
    let invalidGrant = 0;
    let lost = 0;
    const results: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      // The raw stored expiry: each window stamps it with its own (offset) clock.
      const expiresAt: number = JSON.parse(readFileSync(path.join(dir, 'session.json'), 'utf8')).accessTokenExpiresAt;
      // Every window's clock is 30 minutes before the expiry: inside the 60-minute refresh window.
      const offsetMs = expiresAt - 30 * 60_000 - Date.now();
      const before = fake.requests.filter(r => r.path === '/token').length;
      const answers = await Promise.all(
        workers.map(
          w =>
            new Promise<{ result: string; kind?: string }>(resolve => {
              const on = (m: { round: number; result: string; kind?: string }) => {
                if (m.round === round) {
                  w.off('message', on);
                  resolve(m);
                }
              };
              w.on('message', on);
              w.send({ round, offsetMs });
            }),
        ),
      );
      for (const a of answers) results[a.result + (a.kind ? `:${a.kind}` : '')] = (results[a.result + (a.kind ? `:${a.kind}` : '')] ?? 0) + 1;
      const tokenRequests = fake.requests.filter(r => r.path === '/token').slice(before);
      perRound.push(tokenRequests.length);
      invalidGrant += tokenRequests.filter(r => r.status === 400 && /invalid_grant|Invalid Refresh Token/i.test(r.responseBody)).length;
      const after = JSON.parse(readFileSync(path.join(dir, 'session.json'), 'utf8')) as { refreshToken?: string };
      if (!after.refreshToken || !fake.liveTokens().some(t => t.refreshToken === after.refreshToken)) lost++;
    }
    const summary = `K1 concurrency: ${PROCESSES} processes × ${ROUNDS} rounds: token requests per round min ${Math.min(...perRound)} max ${Math.max(...perRound)}, invalid_grant ${invalidGrant}, sessions lost ${lost}; window results ${JSON.stringify(results)}`;
    console.log(`      ${summary}`);
    assert.deepEqual([...new Set(perRound)], [1], summary);
    assert.equal(invalidGrant, 0, summary);
    assert.equal(lost, 0, summary);
    assert.equal(results['refreshed'], ROUNDS, summary);
  });
});
