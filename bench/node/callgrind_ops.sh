#!/bin/sh
# User-space instructions per operation of bench/node/op_loop.js, counted by callgrind as the
# difference between a run of N2 and one of N1 operations (start-up, module loading and the
# JIT's warm-up cancel out), so that a loaded machine does not move the figure. With 2,000 and
# 12,000 the JIT was still at work in the longer run, and a figure moved by up to 30% from
# one run to the next; with 20,000 and 100,000 two runs agreed within 0.5%
# (docs/benchmarks.md, "Fourth pass").
#   bench/node/callgrind_ops.sh ADDON KIND [WIDTH] [N1] [N2]
set -e
ADDON=$1
KIND=$2
WIDTH=${3:-1}
N1=${4:-20000}
N2=${5:-100000}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
count() {
  WEFT_NODE_ADDON=$ADDON valgrind --tool=callgrind --smc-check=all-non-file \
    --callgrind-out-file="$OUT/cg.$1" node "$HERE/op_loop.js" "$KIND" "$1" "$WIDTH" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
a=$(count "$N1")
b=$(count "$N2")
rm -rf "$OUT"
echo "$KIND width=$WIDTH $(basename "$ADDON"): $(((b - a) / (N2 - N1))) Ir/op"
