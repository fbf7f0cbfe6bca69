#!/usr/bin/env bash
# npm run bench: installs what is missing, builds and packages, then runs scripts/bench.js.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/host/install.sh
npm run --silent build
npm run --silent package >/dev/null
exec node scripts/bench.js
