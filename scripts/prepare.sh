#!/usr/bin/env bash
# Shared by npm run demo and npm run bench: installs what is missing (npm packages; chromium, Node 24
# and code-server for the host), then builds and packages the extension.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
bash scripts/host/install.sh
npm run --silent build
npm run --silent package >/dev/null
