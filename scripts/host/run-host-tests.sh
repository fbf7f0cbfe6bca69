#!/usr/bin/env bash
# Host tests: installs the host tools if needed (chromium, Node 24, code-server), builds, then runs
# test/host inside code-server's real extension host. Artifacts go to $ARTIFACTS (.ci/artifacts).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/host/install.sh
[ -f dist/extension.js ] && [ -f out/test/host/index.js ] || npm run build
node scripts/host/run-host-tests.js
