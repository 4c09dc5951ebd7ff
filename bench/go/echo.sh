#!/usr/bin/env bash
# Go echo benchmark: weft's protocol style and net.Conn style against Go's net (a
# read/write loop per connection, and io.Copy), each at GOMAXPROCS=1 and Go's default, at
# 1, 10 and 100 KiB, with the project's native client (bench/echo_client); then the
# binding's handoff micro-benchmarks (go test -bench).
#
#   bench/go/echo.sh BUILD_DIR [SECONDS] [CONNECTIONS] [ROUNDS]
#
# Every round runs all eight servers back to back with the same client, so drift in the
# machine's load hits them alike; the table shows medians over the rounds. The server's
# CPU is the sum of /proc/PID/task/*/schedstat (time on CPU, every thread: for Go only
# that figure means anything) from when it listens to the end of its run, divided by the
# requests served. No pinning: "default" is GOMAXPROCS = the machine's cores.
# Raw per-run figures go to LOGDIR (default logs/go-echo in the source tree).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BUILD=$(cd "${1:-build}" && pwd)
SECS=${2:-2}
CONNS=${3:-10}
ROUNDS=${4:-3}
SIZES=${SIZES:-"1024 10240 102400"}
SERVERS=${SERVERS:-"weft-proto weft-conn go-loop go-copy"}
PROCS=${PROCS:-"1 default"}
GO=${GO:-go}
LOGDIR=${LOGDIR:-$repo/logs/go-echo}
mkdir -p "$LOGDIR"
RAW=$LOGDIR/raw.txt
: >"$RAW"
PORT=$((20000 + $$ % 20000))
CLIENT=$BUILD/bench/echo_client
[ -x "$CLIENT" ] || { echo "no $CLIENT: build the project with WEFT_BUILD_BENCH=ON" >&2; exit 1; }

export PKG_CONFIG_PATH="$BUILD/bindings/go/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export GOCACHE="$BUILD/bindings/go/gocache" GOPATH="$BUILD/bindings/go/gopath" GOFLAGS=-mod=mod GOTOOLCHAIN=local
SERVER=$BUILD/bench/go/echo_server
mkdir -p "$(dirname "$SERVER")"
(cd "$here" && "$GO" build -o "$SERVER" .)

cpu_ns() { # time on CPU of every thread of $1, ns
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

echo "# $(uname -m), $(nproc) cores, $($GO version | cut -d' ' -f3), $(date -u '+%Y-%m-%d %H:%M UTC');" \
  "${SECS}s x $ROUNDS rounds, $CONNS connections"
for size in $SIZES; do
  for r in $(seq 1 "$ROUNDS"); do
    for procs in $PROCS; do
      for server in $SERVERS; do
        ready=$LOGDIR/ready.$$
        rm -f "$ready"
        if [ "$procs" = default ]; then
          env -u GOMAXPROCS "$SERVER" "$server" $PORT "$ready" &
        else
          GOMAXPROCS=$procs "$SERVER" "$server" $PORT "$ready" &
        fi
        pid=$!
        for _ in $(seq 1 400); do [ -e "$ready" ] && break; sleep 0.05; done
        [ -e "$ready" ] || { echo "server $server did not start" >&2; kill $pid; exit 1; }
        before=$(cpu_ns $pid)
        set -- $("$CLIENT" $PORT "$size" "$SECS" "$CONNS" 0)
        after=$(cpu_ns $pid)
        kill $pid
        wait $pid 2>/dev/null || true
        echo "$size $procs $server $r $1 $3 $((after - before))" >>"$RAW"
        PORT=$((PORT + 1))
      done
    done
  done
done
rm -f "$LOGDIR"/ready.*

# Medians per (size, GOMAXPROCS, server); ratios to Go net's read/write loop at the same
# size and GOMAXPROCS.
awk '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ k = $1 " " $2 " " $3; rps[k] = rps[k] " " $5; cpu[k] = cpu[k] " " ($6 > 0 ? $7 / $6 / 1000 : 0)
  if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
END {
  print "| size | GOMAXPROCS | server | req/s | x go-loop | server CPU/req, us | x go-loop |"
  print "|---|---|---|---:|---:|---:|---:|"
  for (i = 1; i <= n; i++) { split(order[i], f, " "); base = f[1] " " f[2] " go-loop"
    r = median(rps[order[i]]); c = median(cpu[order[i]]); rb = median(rps[base]); cb = median(cpu[base])
    printf "| %d KiB | %s | %s | %.0f | %.2f | %.1f | %.2f |\n", f[1] / 1024, f[2], f[3], r, rb ? r / rb : 0, c, cb ? c / cb : 0 }
}' "$RAW"

if [ "${MICRO:-1}" != 0 ]; then
  echo
  echo "# handoff micro-benchmarks (ns/op; -cpu is GOMAXPROCS)"
  iface=$(cat "$repo"/swig/*.i "$repo"/core/include/weft.h "$repo"/core/include/weft/*.h | sha256sum | cut -c1-16)
  (cd "$repo/bindings/go" && CGO_CFLAGS="-O2 -g -DWEFT_INTERFACE_DIGEST=$iface" \
    "$GO" test -run - -bench 'CallRoundTrip|PostBatched|AwaitOne|Await1000InFlight' \
    -cpu 1,"$(nproc)" -count "${MICRO_COUNT:-3}" . | grep -E '^Benchmark')
fi
