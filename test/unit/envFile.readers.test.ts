import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KeapTokenClient } from '../../src/keap/tokenClient';
import { LITERAL_VALUE, quoteEnvValue, upsertEnv } from '../../src/dotenv/envFile';
import { ENV_PRESETS, envValuesFor } from '../../src/dotenv/variables';
import { DEMO_CLIENT, startFakeKeap } from '../fake-keap/server';
import { authorizationCode } from '../support/fakeAuthorize';
import { BASH, DOCKER_ENV_FILE, DOTENV, EnvReader, pythonDotenvReaders } from '../support/envReaders';
import { itWhere, NO_BASH, NO_PYTHON } from '../support/platform';

const PYTHON = pythonDotenvReaders();
/** Readers that must read an unquoted value exactly: all of them. */
/** bash, where there is one (Windows Node under Wine has none: the other readers are still checked). */
const SHELL: EnvReader[] = NO_BASH ? [] : [BASH];
const ALL: EnvReader[] = [DOTENV, ...SHELL, ...PYTHON, DOCKER_ENV_FILE];

/** Each reader's values for `keys` in `text`, checked against `expected` (reader name in the message). */
function agree(readers: readonly EnvReader[], text: string, expected: ReadonlyArray<readonly [string, string]>): void {
  for (const r of readers) {
    const got = r.read(text, expected.map(([k]) => k));
    expected.forEach(([k, v], i) => assert.equal(got[i], v, `${r.name} reads ${k} of\n${text}`));
  }
}

/** Strings of the characters every reader takes literally (Keap's tokens are such strings). */
const literalArb = fc.stringMatching(/^[A-Za-z0-9._+/=:-]{1,60}$/);
/** Lines a user's file may already hold around the keys (none needs quoting for Docker). */
const otherLineArb = fc.constantFrom('# a comment', '', 'APP_ENV=production', 'DB_HOST=127.0.0.1', 'PORT=8080');

describe(`.env writes every reader takes the same way (issue 19.3): ${ALL.map(r => r.name).join('; ')}`, function () {
  this.timeout(120_000);

  itWhere(NO_PYTHON, 'python-dotenv is on this machine (the readers checked are named in the suite title)', () => {
    assert.ok(PYTHON.length > 0, 'no python-dotenv found: apt-get install python3-dotenv');
  });

  it("Keap's own values from the fake Keap server: tokens and the expiry unquoted and exact for every reader; the scope quoted", async () => {
    const fake = await startFakeKeap();
    try {
      const client = new KeapTokenClient({ endpoints: () => fake, timeoutMs: () => 5000, now: Date.now });
      const redirectUri = 'http://localhost:9/callback';
      const set = await client.exchangeCode({ ...DEMO_CLIENT, code: await authorizationCode(fake, redirectUri), redirectUri });
      for (const names of Object.values(ENV_PRESETS)) {
        const values = envValuesFor(set, names, { clientSecret: DEMO_CLIENT.clientSecret, redirectUri: 'https://ab123.example/keap/callback' });
        const text = upsertEnv('APP_ENV=dev\n', values).text;
        for (const [k, v] of values) assert.ok(text.includes(`\n${k}=${v}\n`), `${k} unquoted in\n${text}`);
        agree(ALL, text, values);
      }
      const text = upsertEnv('', envValuesFor(set, ENV_PRESETS.keap)).text;
      // The scope holds a | (a pipe to a shell): quoted, and Docker then reads the quotes with it.
      const scoped = upsertEnv(text, [['KEAP_SCOPE', set.scope]]).text;
      agree([DOTENV, ...SHELL, ...PYTHON], scoped, [['KEAP_SCOPE', set.scope]]);
      assert.deepEqual(DOCKER_ENV_FILE.read(scoped, ['KEAP_SCOPE']), [quoteEnvValue('KEAP_SCOPE', set.scope)]);
    } finally {
      await fake.close();
    }
  });

  it('property: a literal value, appended or replacing an unquoted line, reads back exactly in dotenv, bash, python-dotenv and Docker (fast-check; 300 files read as one)', () => {
    const samples = fc.sample(
      fc.tuple(fc.array(otherLineArb, { maxLength: 4 }), fc.array(fc.tuple(literalArb, fc.boolean()), { minLength: 1, maxLength: 6 })),
      { numRuns: 300, seed: 1919 },
    );
    // Each sample is its own file (its own keys, S<j>_V<i>); the files are read together, one process per reader.
    let all = '';
    const expected: Array<readonly [string, string]> = [];
    samples.forEach(([others, targets], j) => {
      let before = others.join('\n') + (others.length ? '\n' : '');
      targets.forEach(([, present], i) => {
        if (present) before += `S${j}_V${i}=old\n`;
      });
      const values = targets.map(([v], i) => [`S${j}_V${i}`, v] as const);
      const text = upsertEnv(before, values).text;
      for (const [k, v] of values) assert.ok(text.split('\n').includes(`${k}=${v}`), `${k} unquoted in\n${text}`);
      all += text;
      expected.push(...values);
    });
    agree(ALL, all, expected);
  });

  it('the quoting choice: unquoted exactly when every reader takes the value literally', () => {
    fc.assert(
      fc.property(fc.oneof(literalArb, fc.string({ maxLength: 30 })), v => {
        let q: string;
        try {
          q = quoteEnvValue('K', v);
        } catch {
          return;
        }
        assert.equal(q === v, LITERAL_VALUE.test(v), JSON.stringify(v));
      }),
      { numRuns: 2000 },
    );
  });

  it("a line's own quote style is kept when the value allows it: dotenv, bash and python-dotenv read it exactly; Docker keeps the quotes (the user's choice)", () => {
    const text = upsertEnv("A='old'\nB=\"old\"\nC=old\n", [['A', 'tok.1'], ['B', 'tok.2'], ['C', 'tok.3']]).text;
    assert.equal(text, "A='tok.1'\nB=\"tok.2\"\nC=tok.3\n");
    agree([DOTENV, ...SHELL, ...PYTHON], text, [['A', 'tok.1'], ['B', 'tok.2'], ['C', 'tok.3']]);
    assert.deepEqual(DOCKER_ENV_FILE.read(text, ['A', 'B', 'C']), ["'tok.1'", '"tok.2"', 'tok.3']);
  });

  it('a value that must be quoted: dotenv and bash exact (K3); python-dotenv too unless it holds a backslash or ${ (its escapes and expansion); Docker gets the text as written', () => {
    const values = ['full|ab123.infusionsoft.com', 'a b', 'x#y', "it's", 'a;b', '~/x', '*', 'a$b', 'semi;colon & amp'];
    const pairs = values.map((v, i) => [`Q${i}`, v] as const);
    const text = upsertEnv('', pairs).text;
    agree([DOTENV, ...SHELL], text, pairs);
    agree(PYTHON, text, pairs.filter(([, v]) => !/\\|\$\{/.test(v)));
    const docker = DOCKER_ENV_FILE.read(text, pairs.map(([k]) => k));
    pairs.forEach(([k, v], i) => assert.equal(docker[i], quoteEnvValue(k, v)));
  });
});
