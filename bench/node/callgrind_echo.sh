#!/bin/sh
# User-space instructions per request of one echo server of echo_servers.js (weft-proto,
# weft-stream, net-data, net-await), the whole node process under callgrind, every thread.
#   bench/node/callgrind_echo.sh BUILD_DIR KIND SIZE [N1] [N2] [ADDON]
# One server process serves a warm-up (WARM requests, 10,000 by default, over ten
# connections), the counters are zeroed, then
# it serves N1 requests and N2 (each run on a new connection, each followed by a dump);
# the figure is the difference over N2 - N1 requests, so that what every run pays once
# (accepting the connection, closing it, the dump) cancels out, as callgrind_ops.sh does
# for operations. Instructions do not depend on the machine's load; kernel time is not in
# them (echo.sh reports it).
set -e
BUILD=$1
KIND=$2
SIZE=$3
N1=${4:-2000}
N2=${5:-8000}
WARM=${WARM:-10000}
# Under valgrind V8's optimizing compiler thread runs far behind the requests: compiling on
# the main thread, as soon as a function is hot, ends the warm-up at the same point in every
# run. The compiler's cost is in the warm-up, not in the figure, either way.
NODE_FLAGS=${NODE_FLAGS:---no-concurrent-recompilation}
ADDON=${6:-$BUILD/bindings/node/weft.node}
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT=$BUILD/bench/echo_client
OUT=$(mktemp -d)
WEFT_NODE_ADDON=$(cd "$(dirname "$ADDON")" && pwd)/$(basename "$ADDON") \
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$OUT/cg.%p" \
  node $NODE_FLAGS "$HERE/echo_servers.js" "$KIND" >"$OUT/port" 2>"$OUT/valgrind" &
VG=$!
i=0
while [ ! -s "$OUT/port" ] && [ $i -lt 300 ] && kill -0 $VG 2>/dev/null; do
  sleep 1
  i=$((i + 1))
done
PORT=$(head -n 1 "$OUT/port")
[ -n "$PORT" ] || { echo "the $KIND server did not start" >&2; cat "$OUT/valgrind" >&2; exit 1; }
# A command reaches callgrind when the server next runs: an idle server is woken with a
# one-byte request on a connection of its own (a few of those land in each run; they cost
# what a run's own connection costs, a small part of it). Each dump is a numbered part
# file (cg.PID.1, .2) of what ran since the last zeroing or dump.
command() {
  callgrind_control "$1" $VG >/dev/null 2>&1 &
  ctl=$!
  j=0
  while kill -0 $ctl 2>/dev/null && [ $j -lt 120 ]; do
    "$CLIENT" "$PORT" 1 0 1 0 1 >/dev/null 2>&1 || :
    sleep 0.5
    j=$((j + 1))
  done
  wait $ctl || :
  [ -z "$2" ] && return
  j=0
  while [ ! -s "$OUT/cg.$VG.$2" ] && [ $j -lt 120 ]; do sleep 0.5; j=$((j + 1)); done
}
# net's JIT settles over connections, not requests: the second connection after 10,000
# requests on one still cost five times the tenth. So the warm-up is ten connections.
k=0
while [ $k -lt 10 ]; do
  "$CLIENT" "$PORT" "$SIZE" 0 1 0 $((WARM / 10)) >/dev/null
  k=$((k + 1))
done
command -z
"$CLIENT" "$PORT" "$SIZE" 0 1 0 "$N1" >/dev/null
command -d 1
"$CLIENT" "$PORT" "$SIZE" 0 1 0 "$N2" >/dev/null
command -d 2
kill $VG
wait $VG 2>/dev/null || :
ir() { sed -n 's/^summary: \([0-9]*\).*/\1/p' "$OUT/cg.$VG.$1" | head -n 1; }
a=$(ir 1)
b=$(ir 2)
[ -n "$KEEP" ] && echo "$OUT" >&2 || rm -rf "$OUT"
[ -n "$a" ] && [ -n "$b" ] || { echo "no callgrind dump" >&2; exit 1; }
echo "$KIND size=$SIZE $(basename "$ADDON"): $(((b - a) / (N2 - N1))) Ir/request ($N1: $a, $N2: $b)"
