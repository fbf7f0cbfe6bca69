import assert from 'node:assert/strict';
import { promises as fs, mkdtempSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
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
});
