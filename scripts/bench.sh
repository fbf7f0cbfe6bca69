#!/usr/bin/env bash
# npm run bench: prepares (installs, builds, packages), then runs scripts/bench.js.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
exec node scripts/bench.js
