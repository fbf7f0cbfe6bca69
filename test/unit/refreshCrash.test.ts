import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import { mkdtempSync, readFileSync } from 'fs';
import os = require('os');
import path = require('path');
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { DEMO_CLIENT, FakeKeap, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { FileSessionStore } from '../support/fileSessionStore';

const KILLS = 60;

/**
 * Kills a refreshing process at random points, KILLS times, and counts the sessions lost. The only
 * acceptable loss is a kill after Keap rotated the refresh token and before the new pair reached
 * the store (one await in Refresher). A lock left by a killed process must not block the next one.
 */
describe(`crash test: ${KILLS} refreshing processes killed at random points`, function () {
  this.timeout(240_000);
  let fake: FakeKeap;
  after(() => fake?.close());

  it('loses a session only between Keap\'s answer and the store write, and never deadlocks on a dead holder\'s lock', async () => {
    fake = await startFakeKeap();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'keap-crash-'));
    const sessionFile = path.join(dir, 'session.json');
    const store = new FileSessionStore(sessionFile);
    const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 10_000 });
    const signIn = async () => {
      const redirectUri = 'http://localhost:7/callback';
      const code = await authorizationCode(fake, redirectUri);
      await store.write(await client.exchangeCode({ ...DEMO_CLIENT, code, redirectUri }));
    };
    await signIn();
    const worker = path.join(__dirname, '../support/crashWorker.js');
    const outcome: Record<string, number> = {};
    const lossReasons: Record<string, number> = {};
    let lost = 0;
    for (let i = 0; i < KILLS; i++) {
      const storedBefore = JSON.parse(readFileSync(sessionFile, 'utf8')).refreshToken as string;
      const tokenBefore = fake.requests.length;
      // Keap answers after 0–40 ms, so kills land before, during and after the request.
      fake.addFault({ path: '/token', status: 0, delayMs: Math.floor(Math.random() * 40) });
      const child = spawn(process.execPath, [worker, fake.tokenUrl, dir, DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret], { stdio: ['ignore', 'pipe', 'ignore'] });
      // Kill 0–60 ms after the worker is loaded: before the lock, holding it, mid-request, or after.
      const killAfter = Math.floor(Math.random() * 60);
      const exit = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
      let timer: NodeJS.Timeout | undefined;
      child.stdout!.once('data', () => (timer = setTimeout(() => child.kill('SIGKILL'), killAfter)));
      const code = await exit;
      clearTimeout(timer);
      // Keap may still answer a request whose sender is gone (and rotate): let it, before judging.
      await new Promise(r => setTimeout(r, 80));
      fake.clearFaults();
      const key = code === null ? 'killed' : code === 0 ? 'finished' : `exit ${code}`;
      outcome[key] = (outcome[key] ?? 0) + 1;
      const stored = JSON.parse(readFileSync(sessionFile, 'utf8')).refreshToken as string;
      const alive = fake.liveTokens().some(t => t.refreshToken === stored);
      if (!alive) {
        lost++;
        // Why: did Keap rotate the stored refresh token in this round (a 200 to a refresh carrying it)?
        const rotated = fake.requests.slice(tokenBefore).some(r => r.path === '/token' && r.status === 200 && r.form?.refresh_token === storedBefore && stored === storedBefore);
        const reason = rotated ? 'killed between Keap\'s answer and the store write' : 'other';
        lossReasons[reason] = (lossReasons[reason] ?? 0) + 1;
        await signIn();
      }
    }
    const summary = `crash test: ${KILLS} runs ${JSON.stringify(outcome)}; sessions lost ${lost} ${JSON.stringify(lossReasons)}`;
    console.log(`      ${summary}`);
    assert.equal(lossReasons.other ?? 0, 0, summary);
    assert.ok((outcome.killed ?? 0) >= 10, `enough kills landed mid-run: ${summary}`);
    // A last process, not killed, must get through the lock that killed holders may have left.
    await new Promise(r => setTimeout(r, 300));
    const final = JSON.parse(readFileSync(sessionFile, 'utf8')).refreshToken as string;
    if (!fake.liveTokens().some(t => t.refreshToken === final)) await signIn();
    const runLast = async () => {
      const last = spawn(process.execPath, [worker, fake.tokenUrl, dir, DEMO_CLIENT.clientId, DEMO_CLIENT.clientSecret], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      last.stderr!.on('data', d => (stderr += d));
      const code = await new Promise<number | null>(resolve => last.on('exit', c => resolve(c)));
      return { code, stderr };
    };
    let last = await runLast();
    if (last.code === 4 && /no longer accepts this refresh token/.test(last.stderr)) {
      // A killed process's request that Keap answered even later than the wait above: that is the
      // accepted kind of loss; sign in again and check the lock once more.
      lost++;
      await signIn();
      last = await runLast();
    }
    assert.equal(last.code, 0, `a process after the kills refreshes through the recovered lock: ${summary} ${last.stderr}`);
  });
});
