import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChangeSignal } from '../../src/session/changeSignal';

/** Resolves at the first call of the returned callback, or rejects after `ms` milliseconds. */
function firstCall(ms: number): { fired: Promise<void>; callback: () => void } {
  let resolve!: () => void;
  const fired = new Promise<void>((r, reject) => {
    resolve = r;
    setTimeout(() => reject(new Error(`no change noticed within ${ms} ms`)), ms).unref();
  });
  return { fired, callback: () => resolve() };
}

describe('ChangeSignal: the file every window watches', () => {
  let root: string;
  beforeEach(() => (root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'signal-')))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('watches a folder that does not exist yet (a new profile): makes it, then notices a notification from another signal on the same file', async () => {
    const dir = path.join(root, 'globalStorage', 'publisher.ext');
    const { fired, callback } = firstCall(5000);
    const watching = new ChangeSignal(dir, 'session').watch(callback, 10);
    try {
      assert.ok(fs.statSync(dir).isDirectory());
      await new ChangeSignal(dir, 'session').notify('gen-1');
      await fired;
      assert.equal(await new ChangeSignal(dir, 'session').generation(), 'gen-1');
    } finally {
      watching.dispose();
    }
  });

  it('in an existing folder, ignores other files there and notices its own', async () => {
    let calls = 0;
    const { fired, callback } = firstCall(5000);
    const watching = new ChangeSignal(root, 'accounts').watch(() => {
      calls++;
      callback();
    }, 10);
    try {
      fs.writeFileSync(path.join(root, 'session.changed'), 'other');
      await new Promise(r => setTimeout(r, 100));
      assert.equal(calls, 0);
      await new ChangeSignal(root, 'accounts').notify('gen-2');
      await fired;
      assert.equal(calls, 1);
    } finally {
      watching.dispose();
    }
  });

  it('a folder that cannot be made (a file in its way) watches nothing and does not throw', () => {
    fs.writeFileSync(path.join(root, 'blocked'), '');
    const watching = new ChangeSignal(path.join(root, 'blocked', 'sub'), 'session').watch(() => assert.fail('no watch'), 10);
    watching.dispose();
  });
});
