#!/usr/bin/env node
// keap-token's part of `npm run bench` (issue 18): its latency (median and 95th percentile of
// BENCH_KEAP_TOKEN_CALLS calls, default 120) beside a bare `node -e 0` start in the same run, and the
// token requests of 1,000 calls with a fresh token (must be 0), measured in plain Node by
// out/test/bench/keapToken.js. Needs `npm run build`. Alone (`node scripts/bench-keap-token.js`) it
// prints the figures and merges them into docs/bench-results.json (path: $BENCH_OUT) and the
// README's table; scripts/bench.js calls `run()` as part of the whole bench.
'use strict';
const fs = require('fs');
const path = require('path');
const ROOT = path.resolve(__dirname, '..');

async function run() {
  const { benchKeapToken } = require(path.join(ROOT, 'out/test/bench/keapToken.js'));
  return benchKeapToken();
}

module.exports = { run };

if (require.main === module) {
  run().then(
    r => {
      console.log(JSON.stringify(r, null, 2));
      const out = path.resolve(process.env.BENCH_OUT || path.join(ROOT, 'docs/bench-results.json'));
      if (process.env.BENCH_README === '0' || !fs.existsSync(out)) return;
      const results = { ...JSON.parse(fs.readFileSync(out, 'utf8')), keapToken: r };
      fs.writeFileSync(out, JSON.stringify(results, null, 2));
      const figures = require('./readme-figures');
      const readme = path.join(ROOT, 'README.md');
      fs.writeFileSync(readme, figures.updateReadme(fs.readFileSync(readme, 'utf8'), results));
      console.log(`${path.relative(ROOT, out)} and README.md: keap-token figures merged`);
      process.exit(0);
    },
    e => {
      console.error(e);
      process.exit(1);
    },
  );
}
