import assert from 'node:assert/strict';
import { promises as fs, mkdtempSync } from 'fs';
import os = require('os');
import path = require('path');
import { FileLock, LockTimeoutError } from '../../src/session/fileLock';

describe('file lock', () => {
  const dir = () => mkdtempSync(path.join(os.tmpdir(), 'keap-lock-'));

  it('is exclusive while held and free after release', async () => {
    const p = path.join(dir(), 'a.lock');
    const a = await new FileLock(p, { staleMs: 60_000 }).acquire(1000);
    await assert.rejects(new FileLock(p, { staleMs: 60_000 }).acquire(200), LockTimeoutError);
    await a.release();
    const b = await new FileLock(p, { staleMs: 60_000 }).acquire(1000);
    await b.release();
    assert.deepEqual((await fs.readdir(path.dirname(p))).filter(f => f.endsWith('.tmp')), [], 'no temp files left');
  });

  it('takes over at once from a holder on this host whose process is gone', async () => {
    const p = path.join(dir(), 'b.lock');
    await fs.writeFile(p, JSON.stringify({ token: 't', pid: 2 ** 22 + 12345, host: os.hostname(), at: Date.now() }));
    const t0 = Date.now();
    const h = await new FileLock(p, { staleMs: 60_000 }).acquire(5000);
    assert.ok(Date.now() - t0 < 2000);
    await h.release();
  });

  it('takes over a lock older than staleMs, and never removes a lock it no longer owns', async () => {
    const p = path.join(dir(), 'c.lock');
    let now = Date.now();
    const lock = new FileLock(p, { staleMs: 1000, now: () => now });
    const first = await lock.acquire(1000);
    now += 5000;
    const second = await new FileLock(p, { staleMs: 1000, now: () => now }).acquire(1000);
    await first.release(); // the stale holder's release must not free the new holder's lock
    await assert.rejects(new FileLock(p, { staleMs: 60_000 }).acquire(200), LockTimeoutError);
    await second.release();
  });

  it('K13: a lease its live holder renews is kept; one nobody renews is taken over, and the waiter says what it waited for', async () => {
    const p = path.join(dir(), 'd.lock');
    const held = await new FileLock(p, { staleMs: 300 }).acquire(1000);
    // The holder's process is alive and renews every 100 ms: nobody takes it over, however long it holds it.
    await new Promise(r => setTimeout(r, 900));
    await assert.rejects(new FileLock(p, { staleMs: 300 }).acquire(400), LockTimeoutError);
    await held.release();
    // A holder that stopped answering: alive (this process), but its lease was last renewed 20 s ago.
    await fs.writeFile(p, JSON.stringify({ token: 't', pid: process.pid, host: os.hostname(), at: Date.now() - 20_000 }));
    const old = new Date(Date.now() - 20_000);
    await fs.utimes(p, old, old);
    const t0 = Date.now();
    const taken = await new FileLock(p, { staleMs: 15_000 }).acquire(5000);
    assert.ok(Date.now() - t0 < 2000, 'taken over at once');
    await taken.release();
    // A waiter that waited over a second says for what, and who held it.
    const first = await new FileLock(p, { staleMs: 60_000 }).acquire(1000);
    setTimeout(() => void first.release(), 1300);
    const second = await new FileLock(p, { staleMs: 60_000, retryMs: 20 }).acquire(5000);
    assert.match(second.waited ?? '', new RegExp(`^1\\.\\d s for the lock d\\.lock, held by process ${process.pid} on this host, taken .*, last renewed `));
    await second.release();
  });
});
