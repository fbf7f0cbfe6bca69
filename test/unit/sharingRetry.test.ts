import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChangeSignal } from '../../src/session/changeSignal';
import { FileLock } from '../../src/session/fileLock';
import { FileLedgerStore } from '../../src/session/ledgerFile';
import { isSharingViolation, retrySharing, SHARING_RETRY_DELAYS_MS } from '../../src/session/sharingRetry';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** An operation that fails with `code` `failures` times, then answers 'done'; and the waits it saw. */
function flaky(code: string, failures: number) {
  const waits: number[] = [];
  let calls = 0;
  return {
    waits,
    calls: () => calls,
    op: async () => {
      calls++;
      if (calls <= failures) throw errno(code);
      return 'done';
    },
    sleep: async (ms: number) => void waits.push(ms),
  };
}

describe('Windows sharing violations: a bounded retry (lock, ledger, change signal)', () => {
  it('on Windows, EPERM, EBUSY and EACCES are retried after 10, 20, 40, 80, 160 ms and no more: 6 attempts, 310 ms of waiting', async () => {
    for (const code of ['EPERM', 'EBUSY', 'EACCES']) {
      const ok = flaky(code, 3);
      assert.equal(await retrySharing(ok.op, { platform: 'win32', sleep: ok.sleep }), 'done');
      assert.deepEqual(ok.waits, [10, 20, 40]);
      const stuck = flaky(code, Infinity);
      await assert.rejects(retrySharing(stuck.op, { platform: 'win32', sleep: stuck.sleep }), { code });
      assert.equal(stuck.calls(), 6);
      assert.deepEqual(stuck.waits, [...SHARING_RETRY_DELAYS_MS]);
      assert.equal(stuck.waits.reduce((a, b) => a + b, 0), 310);
    }
  });

  it('on POSIX the same codes are real permission errors: thrown at once; other errors are thrown at once everywhere', async () => {
    const posix = flaky('EPERM', 1);
    await assert.rejects(retrySharing(posix.op, { platform: 'linux', sleep: posix.sleep }), { code: 'EPERM' });
    assert.equal(posix.calls(), 1);
    const other = flaky('ENOSPC', 1);
    await assert.rejects(retrySharing(other.op, { platform: 'win32', sleep: other.sleep }), { code: 'ENOSPC' });
    assert.equal(other.calls(), 1);
    assert.equal(isSharingViolation(errno('EBUSY'), 'win32'), true);
    assert.equal(isSharingViolation(errno('EBUSY'), 'darwin'), false);
  });

  describe('on this platform\'s file system (Windows Node under Wine in npm run test:windows)', () => {
    let dir: string;
    beforeEach(() => (dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'sharing-')))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('the ledger and the change signal replace a file another process is reading (rename over an open file) once the reader closes it; a reader that never closes fails the ledger write on Windows, after the bounded retries', async () => {
      const ledger = new FileLedgerStore(path.join(dir, 'app.ledger.json'));
      await ledger.write({ requests: [1000], attempt: 0 });
      const signal = new ChangeSignal(dir, 'session');
      await signal.notify('first');
      // A reader (another window, a virus scanner) holds both files for 50 ms.
      const held = [fs.openSync(ledger.file, 'r'), fs.openSync(path.join(dir, 'session.changed'), 'r')];
      const closing = new Promise<void>(r => setTimeout(() => (held.forEach(fd => fs.closeSync(fd)), r()), 50));
      await Promise.all([ledger.write({ requests: [1000, 2000], attempt: 0 }), signal.notify('second'), closing]);
      assert.deepEqual(JSON.parse(fs.readFileSync(ledger.file, 'utf8')).requests, [1000, 2000]);
      assert.equal(await signal.generation(), 'second');
      // Held for good: Windows never lets the rename through; the write fails and leaves no temp file.
      const stuck = fs.openSync(ledger.file, 'r');
      try {
        const write = ledger.write({ requests: [3000], attempt: 0 });
        if (process.platform === 'win32') await assert.rejects(write, { code: 'EPERM' });
        else await write;
      } finally {
        fs.closeSync(stuck);
      }
      assert.deepEqual(fs.readdirSync(dir).filter(n => n.endsWith('.tmp')), []);
    });

    it('a lock released while another process still reads its file can be taken again once that reader closes it', async () => {
      const lockPath = path.join(dir, 'refresh.lock');
      const first = await new FileLock(lockPath, { staleMs: 60_000 }).acquire(1000);
      const reader = fs.openSync(lockPath, 'r');
      await first.release();
      const closing = new Promise<void>(r => setTimeout(() => (fs.closeSync(reader), r()), 200));
      const second = await new FileLock(lockPath, { staleMs: 60_000 }).acquire(5000);
      await closing;
      await second.release();
      assert.equal(fs.existsSync(lockPath), false);
    });
  });
});
