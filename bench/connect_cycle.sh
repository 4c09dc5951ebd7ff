#!/bin/sh
# Instructions per connection (connect, accept, close on both sides) for plain TCP and
# Unix sockets, from connect_cycle under callgrind at two counts:
#   bench/connect_cycle.sh BUILD_DIR        (a Release build with WEFT_BUILD_BENCH=ON)
set -e
B=${1:-build}/bench
n1=${N1:-200}
n2=${N2:-1200}
for mode in tcp unix; do
  irs=""
  for n in $n1 $n2; do
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$B/connect_cycle" $n $mode \
      >/dev/null 2>"$out.log"
    irs="$irs $(awk '/^summary:/ { print $2 }' "$out")"
    rm -f "$out" "$out.log"
  done
  echo "$mode$irs $n1 $n2" | awk '{ printf "%-5s %8.0f Ir/connection\n", $1, ($3 - $2) / ($5 - $4) }'
done
