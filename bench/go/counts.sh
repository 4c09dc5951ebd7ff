#!/usr/bin/env bash
# Per-request counts for bench/go's echo servers, side by side: system calls (strace -c
# over every thread), user-space instructions of the whole process (callgrind, every
# thread), crossings between Go and C (calls of runtime.cgocall and runtime.cgocallbackg),
# the loop's iterations (calls of weft_loop_run_step) and the instructions spent in
# memmove/memcpy (a copy of SIZE bytes in user space costs at least SIZE/32 of them).
# Counts, not costs: strace and valgrind slow each server many times over, which changes
# how many requests one wake-up finds, so the per-request share of epoll and futex calls
# is only indicative; reads, writes, copies and crossings per request are not.
#
#   bench/go/counts.sh BUILD_DIR [REQUESTS_PER_CONNECTION]
#
# SIZES, SERVERS, PROCS as in echo.sh (defaults: 10 and 100 KiB, weft-proto and go-loop,
# GOMAXPROCS=1 and the default). 10 connections, bench/echo_client's counted form, so every
# run serves exactly 10 x REQUESTS requests (default 300). SERVER=PATH counts an
# echo_server binary built elsewhere (another commit's) instead of building this tree's. Under callgrind the server runs
# with GODEBUG=asyncpreemptoff=1 (valgrind 3.19 aborts on Go's preemption signal); its
# counters are zeroed once it listens, so start-up is left out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-build}" && pwd)
REQS=${2:-300}
SIZES=${SIZES:-"10240 102400"}
SERVERS=${SERVERS:-"weft-proto go-loop"}
PROCS=${PROCS:-"1 default"}
GO=${GO:-go}
CLIENT=$BUILD/bench/echo_client
[ -x "$CLIENT" ] || { echo "no $CLIENT: build the project with WEFT_BUILD_BENCH=ON" >&2; exit 1; }
for tool in strace valgrind callgrind_control callgrind_annotate; do
  command -v $tool >/dev/null || { echo "counts.sh needs $tool" >&2; exit 1; }
done
export PKG_CONFIG_PATH="$BUILD/bindings/go/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export GOCACHE="$BUILD/bindings/go/gocache" GOPATH="$BUILD/bindings/go/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local
if [ -z "${SERVER:-}" ]; then
  SERVER=$BUILD/bench/go/echo_server
  mkdir -p "$(dirname "$SERVER")"
  (cd "$here" && "$GO" build -o "$SERVER" .)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PORT=$((20000 + $$ % 20000))

# start KIND PROCS [WRAPPER...]: the server in the background, its pid in $pid, once it listens.
start() {
  local kind=$1 procs=$2
  shift 2
  rm -f "$work/ready"
  if [ "$procs" = default ]; then
    env -u GOMAXPROCS "$@" "$SERVER" "$kind" $PORT "$work/ready" 2>"$work/server.err" &
  else
    env GOMAXPROCS="$procs" "$@" "$SERVER" "$kind" $PORT "$work/ready" 2>"$work/server.err" &
  fi
  pid=$!
  for _ in $(seq 1 600); do [ -e "$work/ready" ] && return 0; sleep 0.1; done
  echo "server $kind did not start" >&2
  cat "$work/server.err" >&2
  exit 1
}

echo "# $(uname -m), $(nproc) cores, $($GO version | cut -d' ' -f3), $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "10 connections x $REQS requests; per request:"
echo "| size | GOMAXPROCS | server | read | write/sendmsg | epoll | futex | nanosleep | other syscalls | instructions | memmove/memcpy instr. | Go->C calls | C->Go calls | loop iterations |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in $SIZES; do
  for procs in $PROCS; do
    for kind in $SERVERS; do
      # System calls: strace attached once the server listens, detached after the client.
      start "$kind" "$procs"
      strace -f -c -o "$work/strace" -p $pid 2>/dev/null &
      spid=$!
      sleep 1 # strace attaches to every thread before the first request
      n=$("$CLIENT" $PORT "$size" 0 10 0 "$REQS")
      kill -INT $spid 2>/dev/null || true
      wait $spid || true
      kill $pid
      wait $pid 2>/dev/null || true
      PORT=$((PORT + 1))
      sys=$(awk -v n="$n" '
        $NF == "total" || $1 ~ /^-/ || $1 == "%" { next }
        { c = $4; name = $NF
          if (name == "read" || name == "recvfrom" || name == "recvmsg") rd += c
          else if (name == "write" || name == "sendmsg" || name == "sendto" || name == "writev") wr += c
          else if (name ~ /^epoll_(p?wait)$/) ep += c
          else if (name == "futex") fu += c
          else if (name == "nanosleep") ns += c
          else other += c }
        END { printf "%.3f | %.3f | %.3f | %.3f | %.3f | %.3f", rd / n, wr / n, ep / n, fu / n, ns / n, other / n }' "$work/strace")

      # Instructions, crossings, iterations: callgrind, counters zeroed once listening.
      start "$kind" "$procs" GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind \
        --callgrind-out-file="$work/cg.%p" --compress-strings=no --compress-pos=no
      callgrind_control -z $pid >/dev/null 2>&1
      n=$("$CLIENT" $PORT "$size" 0 10 0 "$REQS")
      kill $pid
      wait $pid 2>/dev/null || true
      PORT=$((PORT + 1))
      cg=$work/cg.$pid
      total=$(callgrind_annotate "$cg" 2>/dev/null | awk '/PROGRAM TOTALS/ && !t { gsub(",", "", $1); t = $1 } END { print t + 0 }')
      copy=$(callgrind_annotate "$cg" 2>/dev/null |
        awk '/(memmove|memcpy)/ && $1 ~ /^[0-9,]+$/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
      # Calls of a function summed over its call arcs (a recursion level's name ends in
      # 'N); weft_loop_run_step appears under two arcs for the same calls, so its largest.
      calls=$(awk '
        /^cfn=/ { f = substr($0, 5); sub(/ .*/, "", f); sub(/\047[0-9]+$/, "", f); next }
        /^calls=/ && f != "" { split(substr($0, 7), a, " "); c[f] += a[1]; if (a[1] > m[f]) m[f] = a[1]; f = ""; next }
        END { printf "%d %d %d", c["runtime.cgocall"], c["runtime.cgocallbackg"], m["weft_loop_run_step"] }' "$cg")
      set -- $calls
      printf "| %d KiB | %s | %s | %s | %.0f | %.0f | %.2f | %.2f | %.3f |\n" $((size / 1024)) "$procs" "$kind" \
        "$sys" "$(echo "$total / $n" | bc -l)" "$(echo "$copy / $n" | bc -l)" \
        "$(echo "$1 / $n" | bc -l)" "$(echo "$2 / $n" | bc -l)" "$(echo "$3 / $n" | bc -l)"
      rm -f "$cg"
    done
  done
done
