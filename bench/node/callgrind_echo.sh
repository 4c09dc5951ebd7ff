#!/bin/sh
# User-space instructions per request of the weft-proto echo server (echo_servers.js) under
# callgrind, every thread: one connection, a 2,000-request warm-up, the counters zeroed, then
# REQUESTS requests and a dump.
#   bench/node/callgrind_echo.sh BUILD_DIR SIZE [REQUESTS] [ADDON]
set -e
BUILD=$1
SIZE=$2
N=${3:-4000}
ADDON=${4:-$BUILD/bindings/node/weft.node}
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT=$BUILD/bench/echo_client
OUT=$(mktemp -d)
WEFT_NODE_ADDON=$(cd "$(dirname "$ADDON")" && pwd)/$(basename "$ADDON") \
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$OUT/cg.%p" \
  node "$HERE/echo_servers.js" weft-proto >"$OUT/port" 2>"$OUT/valgrind" &
VG=$!
i=0
while [ ! -s "$OUT/port" ] && [ $i -lt 300 ]; do sleep 1; i=$((i + 1)); done
PORT=$(head -n 1 "$OUT/port")
"$CLIENT" "$PORT" "$SIZE" 60 1 0 2000 >/dev/null
callgrind_control -z $VG >/dev/null
"$CLIENT" "$PORT" "$SIZE" 120 1 0 "$N" >/dev/null
callgrind_control -d $VG >/dev/null
sleep 1
kill $VG
wait $VG 2>/dev/null || :
# The dump after zeroing is the numbered part file.
ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$OUT"/cg.*.* | head -n 1)
rm -rf "$OUT"
echo "weft-proto size=$SIZE $(basename "$ADDON"): $((ir / N)) Ir/request"
