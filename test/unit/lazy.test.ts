import assert from 'node:assert/strict';
import { lazy } from '../../src/vscode/lazy';

describe('lazy: a feature built on first use (src/vscode/lazy.ts)', () => {
  it('builds once, however many callers ask at once or later, and hands every one the same value', async () => {
    let builds = 0;
    const feature = lazy(async () => ({ id: ++builds }));
    assert.equal(feature.loaded, undefined, 'nothing is built before the first use');
    const [a, b] = await Promise.all([feature(), feature()]);
    const c = await feature();
    assert.equal(builds, 1);
    assert.ok(a === b && b === c);
    assert.equal(feature.loaded, a);
  });

  it('forgets a failed build, so the next use tries again', async () => {
    let attempts = 0;
    const feature = lazy(async () => {
      if (++attempts === 1) throw new Error('the file could not be read');
      return 'built';
    });
    await assert.rejects(feature(), /could not be read/);
    assert.equal(feature.loaded, undefined);
    assert.equal(await feature(), 'built');
    assert.equal(attempts, 2);
  });
});
