#!/usr/bin/env bash
# npm run demo: prepares (installs, builds, packages), then runs scripts/demo.js.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
exec node scripts/demo.js
