#!/usr/bin/env bash
# Before/after for one change of the Go binding: builds bench/go's echo server at two
# commits and runs them interleaved in every round (the same method as echo.sh: the
# server's CPU from /proc/PID/task/*/schedstat, bench/echo_client), so the machine's
# drifting load hits both alike. One line per run:
#   SIZE GOMAXPROCS SERVER-(a|b) ROUND REQ/S REQUESTS CPU_NS LOADAVG
#
#   bench/go/echo_ab.sh BUILD_DIR REV_A REV_B [SECONDS] [ROUNDS]
#
# SIZES, SERVERS (go-loop runs once per round, as the reference), PROCS as in echo.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=$(cd "$1" && pwd)
A=$2
B=$3
SECS=${4:-2}
ROUNDS=${5:-5}
SIZES=${SIZES:-1024}
SERVERS=${SERVERS:-"weft-conn go-loop"}
PROCS=${PROCS:-"1 default"}
GO=${GO:-go}
CLIENT=$BUILD/bench/echo_client
[ -x "$CLIENT" ] || { echo "no $CLIENT: build the project with WEFT_BUILD_BENCH=ON" >&2; exit 1; }
export PKG_CONFIG_PATH="$BUILD/bindings/go/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export GOCACHE="$BUILD/bindings/go/gocache" GOPATH="$BUILD/bindings/go/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for side in a b; do
  rev=$A
  [ $side = b ] && rev=$B
  mkdir -p "$work/$side"
  git -C "$repo" archive "$rev" bench/go bindings/go swig | tar -x -C "$work/$side"
  (cd "$work/$side/bench/go" && "$GO" build -o "$work/server-$side" .)
done
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
PORT=$((20000 + $$ % 20000))
for size in $SIZES; do
  for r in $(seq 1 "$ROUNDS"); do
    for procs in $PROCS; do
      for server in $SERVERS; do
        for side in a b; do
          [ "$server" = go-loop ] && [ $side = b ] && continue
          ready=$work/ready
          rm -f "$ready"
          if [ "$procs" = default ]; then
            env -u GOMAXPROCS "$work/server-$side" "$server" $PORT "$ready" &
          else
            GOMAXPROCS=$procs "$work/server-$side" "$server" $PORT "$ready" &
          fi
          pid=$!
          for _ in $(seq 1 400); do [ -e "$ready" ] && break; sleep 0.05; done
          [ -e "$ready" ] || { echo "server $server did not start" >&2; kill $pid; exit 1; }
          before=$(cpu_ns $pid)
          set -- $("$CLIENT" $PORT "$size" "$SECS" 10 0)
          after=$(cpu_ns $pid)
          kill $pid
          wait $pid 2>/dev/null || true
          echo "$size $procs $server-$side $r $1 $3 $((after - before)) $(cut -d' ' -f1 /proc/loadavg)"
          PORT=$((PORT + 1))
        done
      done
    done
  done
done
