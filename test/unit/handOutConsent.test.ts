import assert from 'node:assert/strict';
import { HandOutConsent } from '../../src/handOutConsent';

describe('a credential handed to whoever runs a command asks first, as installed (issue 17.7)', () => {
  function consent(guarded: boolean, answers: boolean[]) {
    const asked: string[] = [];
    const c = new HandOutConsent(
      () => guarded,
      async label => {
        asked.push(label);
        return answers.shift() ?? false;
      },
    );
    return { c, asked };
  }

  it('not guarded (tests, development): allowed without a question', async () => {
    const { c, asked } = consent(false, []);
    assert.equal(await c.allow('token:ab123', 'Keap app ab123'), true);
    assert.deepEqual(asked, []);
  });

  it('guarded: declined is false and asked again next time; allowed is remembered for that credential only', async () => {
    const { c, asked } = consent(true, [false, true, true]);
    assert.equal(await c.allow('token:ab123', 'Keap app ab123'), false);
    assert.equal(await c.allow('token:ab123', 'Keap app ab123'), true);
    assert.equal(await c.allow('token:ab123', 'Keap app ab123'), true, 'remembered');
    assert.deepEqual(asked, ['Keap app ab123', 'Keap app ab123']);
    assert.equal(await c.allow('api-key:k1', 'API key ci'), true);
    assert.deepEqual(asked, ['Keap app ab123', 'Keap app ab123', 'API key ci'], 'another credential is asked about on its own');
  });

  it('a question that fails (VS Code refused the dialog) hands nothing out and is not remembered', async () => {
    let calls = 0;
    const c = new HandOutConsent(
      () => true,
      async () => {
        calls++;
        throw new Error('refused to show dialog');
      },
    );
    await assert.rejects(c.allow('token:ab123', 'Keap app ab123'), /refused/);
    await assert.rejects(c.allow('token:ab123', 'Keap app ab123'), /refused/);
    assert.equal(calls, 2);
  });
});
