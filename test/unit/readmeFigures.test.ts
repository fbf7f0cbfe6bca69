import assert from 'node:assert/strict';
import fs = require('fs');
import path = require('path');

const ROOT = path.resolve(__dirname, '../../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const figures = require(path.join(ROOT, 'scripts/readme-figures.js')) as {
  renderBenchTable(r: unknown): string;
  updateReadme(readme: string, r: unknown): string;
  START: string;
  END: string;
};

const SAMPLE = {
  windows: 5, codeServer: '4.139.1 (VS Code 1.139)', cpus: 2, commit: 'abc1234', date: '2026-11-30T12:00:00.000Z',
  activationMs: { ours: { median: 55, min: 44, max: 114, n: 5 }, github: { median: 49, min: 37, max: 109, n: 5 }, ratio: 1.12 },
  bytes: {
    activationJs: 69112, activationFiles: ['dist/extension.js'], githubAuthenticationJs: 230190, vsix: 97516, fetchJs: 21708, totalJs: 148651,
    firstUseJs: { 'dist/signin.js': 27511, 'dist/env.js': 16835 }, activationBudget: 102400, ratio: 0.3, budgetRatio: 0.67,
  },
  callbackToStoredMs: { median: 47.9, min: 45.1, max: 97.3, n: 5 },
  bareTokenRoundTripMs: { median: 2.5, min: 1.2, max: 7.1, n: 20 },
  requestsAtStartWithFreshToken: 0, tokenRequestsPerExpiryCycle: 2, apps: ['ab123', 'cd456'], tokenRequestsPerApp: { ab123: 1, cd456: 1 },
};

describe('README figures come from the bench\'s output (scripts/readme-figures.js)', () => {
  it('renders every figure of the results, sizes in exact bytes', () => {
    const table = figures.renderBenchTable(SAMPLE);
    for (const want of [
      '69,112 bytes', '230,190 bytes', '97,516 bytes', '21,708 bytes', '148,651 bytes', '| 0.67 |', 'budget of 102,400 bytes', '| 0.3 | 1 |',
      '(signin.js, env.js) | 44,346 bytes', '55 (44–114, n=5)', '| 1.12 |', '47.9 (45.1–97.3, n=5)', '2 (ab123: 1, cd456: 1)', 'commit abc1234', '2 CPU cores',
    ]) {
      assert.ok(table.includes(want), `the table shows ${want}`);
    }
  });

  it('rewrites only what lies between the markers, and refuses a README without them', () => {
    const readme = `# T\n\nbefore\n${figures.START}\nold table 165.6 KB\n${figures.END}\nafter\n`;
    const next = figures.updateReadme(readme, SAMPLE);
    assert.ok(next.startsWith(`# T\n\nbefore\n${figures.START}\n`));
    assert.ok(next.endsWith(`\n${figures.END}\nafter\n`));
    assert.ok(!next.includes('165.6 KB'));
    assert.equal(figures.updateReadme(next, SAMPLE), next, 'idempotent');
    assert.throws(() => figures.updateReadme('# no markers\n', SAMPLE), /bench:start/);
  });

  it('the README\'s performance table is exactly the one written from docs/bench-results.json', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const results = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs/bench-results.json'), 'utf8'));
    assert.equal(readme, figures.updateReadme(readme, results), 'run `node scripts/readme-figures.js` after the bench, never edit the table by hand');
  });
});
