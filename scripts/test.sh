#!/usr/bin/env bash
# Every test: installs what is missing (npm packages, Debian chromium, Node 24 and code-server for
# the host), builds, checks the architecture rule and the localisation (fresh l10n bundle,
# package.nls.json, no raw user-facing strings) and the bundle's size budget (120 KB), runs the
# unit tests (on Linux, then on Windows Node under Wine: scripts/windows/test-windows.sh), packages the .vsix, runs the host tests inside a real VS Code (code-server) and drives
# `npm run demo` as a user would (scripts/host/demo-check.js). Exit code 0 only if all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s); lap() { echo "=== [$(( $(date +%s) - T0 ))s] $*"; }
export ARTIFACTS=${ARTIFACTS:-$PWD/.ci/artifacts}
mkdir -p "$ARTIFACTS"

lap "npm packages"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
lap "host tools (chromium, Node 24, code-server)"
bash scripts/host/install.sh

lap "build"
rm -rf out dist
npm run --silent build
node scripts/check-architecture.js
node scripts/check-l10n.js
node scripts/check-bundle-size.js

lap "unit tests"
npx mocha --config .mocharc.json 2>&1 | tee "$ARTIFACTS/unit-tests.log"

lap "unit tests under Windows Node (Wine; installs wine64 and Windows Node into the host tools folder)"
bash scripts/windows/test-windows.sh

lap "package"
npm run --silent package >/dev/null
ls -l dist/*.js dist/*.vsix | awk '{print $5, $9}' | tee "$ARTIFACTS/sizes.txt"

lap "host tests in code-server"
node scripts/host/run-host-tests.js 2>&1 | tee "$ARTIFACTS/host-run.log"

lap "the demo, as a user opens it (notifications show, its state is removed on exit)"
node scripts/host/demo-check.js 2>&1 | tee "$ARTIFACTS/demo-check.log"

lap "all tests passed"
