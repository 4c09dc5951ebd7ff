#!/bin/sh
# Node echo benchmark: weft's protocol style and streams style against Node's net (with
# socket.on('data') and with `for await`), on loopback, at 1, 10 and 100 KiB, driven by the
# project's native client (bench/echo_client.c).
#
#   bench/node/echo.sh BUILD_DIR [SECONDS] [CONNECTIONS] [ROUNDS]
#
# BUILD_DIR holds bench/echo_client and the addon (bindings/node/weft.node). Every round
# runs the servers back to back with the same client, so drift in the machine's load
# hits them alike; the table shows medians over the rounds. Each run first warms the server
# up (a short client run, not counted: connections, JIT, allocator), then measures a timed
# run; the server's CPU time over that run is read from /proc/PID/task/*/schedstat, every
# thread of the process (V8's and libuv's helpers too), and divided by the requests served.
# The server is pinned to one core and the client to the others (PIN=0 turns this off).
# SERVERS includes `uv`, the raw libuv server in C (bench/echo_uv.c), the floor no Node
# server can go under (docs/benchmarks.md, "The floor"), and may add KIND@ADDON: KIND with
# another build of the addon (weft-proto@/tmp/before.node), in the same rounds. Each round
# starts with another server of the list.
set -e
BUILD=${1:-build}
SECS=${2:-3}
CONNS=${3:-4}
ROUNDS=${4:-3}
WARMUP=${WARMUP:-1}
SIZES=${SIZES:-"1024 10240 102400"}
SERVERS=${SERVERS:-"uv weft-proto weft-stream net-data net-await"}
HERE=$(cd "$(dirname "$0")" && pwd)
NODE=${NODE:-node}
CLIENT=$BUILD/bench/echo_client
export WEFT_NODE_ADDON=${WEFT_NODE_ADDON:-$(cd "$BUILD" && pwd)/bindings/node/weft.node}
LOGDIR=${LOGDIR:-$HERE/../../logs/node-echo}
mkdir -p "$LOGDIR"
RAW=$LOGDIR/raw.txt
# REPORT_ONLY=1 prints the table of the last run's raw figures again.
[ "${REPORT_ONLY:-0}" = 1 ] && ROUNDS=0 || : >"$RAW"

ncpu=$(nproc 2>/dev/null || echo 1)
SPIN=""
CPIN=""
if [ "${PIN:-1}" != 0 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
  SPIN="taskset -c ${SERVER_CPUS:-0}"
  CPIN="taskset -c ${CLIENT_CPUS:-1-$((ncpu - 1))}"
fi

# CPU nanoseconds of every thread of a process, now.
cpu_ns() {
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}
# User and kernel clock ticks of a process (every thread, the dead ones too): the split of
# the CPU time above, sampled at each tick, so it is read as a share, not to the microsecond.
ticks() {
  awk '{ print $14, $15 }' /proc/"$1"/stat 2>/dev/null || echo "0 0"
}
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

echo "# $(uname -m), $ncpu cores, node $($NODE --version), $(date -u '+%Y-%m-%d %H:%M UTC');" \
  "${SECS}s x $ROUNDS rounds, $CONNS connections, warm-up ${WARMUP}s;" \
  "server pin: ${SPIN:-none}, client pin: ${CPIN:-none}; load average $(cut -d' ' -f1-3 /proc/loadavg)"

for size in $SIZES; do
  r=1
  while [ "$r" -le "$ROUNDS" ]; do
    # Each round starts with another server, so that none always runs after the same one.
    order=$(echo "$SERVERS" | awk -v r="$r" '{ for (i = 0; i < NF; i++) printf "%s ", $((i + r - 1) % NF + 1) }')
    for spec in $order; do
      # KIND@ADDON runs KIND with another build of the addon, to compare two in the same rounds.
      server=${spec%%@*}
      addon=$WEFT_NODE_ADDON
      label=$server
      case $spec in *@*)
        addon=$(cd "$(dirname "${spec#*@}")" && pwd)/$(basename "${spec#*@}")
        label=$server@$(basename "${spec#*@}" .node) ;;
      esac
      portfile=$LOGDIR/port.$label
      : >"$portfile"
      if [ "$server" = uv ]; then
        # The floor: the project's raw libuv echo server (C). It takes a port: a free one
        # from the kernel, handed over at once.
        # Another process may take the port in between: then try another.
        for attempt in 1 2 3; do
          "$NODE" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
            console.log(s.address().port); s.close(); })' >"$portfile"
          $SPIN "$BUILD/bench/echo_uv" "$(cat "$portfile")" >/dev/null 2>&1 &
          pid=$!
          sleep 0.3
          kill -0 $pid 2>/dev/null && break
        done
      else
        WEFT_NODE_ADDON=$addon $SPIN "$NODE" "$HERE/echo_servers.js" "$server" >"$portfile" &
      fi
      pid=$!
      # The server prints its port once it listens (bounded wait: 30 s).
      tries=0
      while [ ! -s "$portfile" ] && [ $tries -lt 300 ] && kill -0 $pid 2>/dev/null; do
        sleep 0.1
        tries=$((tries + 1))
      done
      PORT=$(head -n 1 "$portfile")
      [ -n "$PORT" ] || { echo "the $server server did not start" >&2; exit 1; }
      # A run whose client fails (the server died) is reported and left out.
      if $CPIN "$CLIENT" $PORT "$size" "$WARMUP" "$CONNS" 0 >/dev/null; then
        before=$(cpu_ns $pid)
        tb=$(ticks $pid)
        if out=$($CPIN "$CLIENT" $PORT "$size" "$SECS" "$CONNS" 0); then
          after=$(cpu_ns $pid)
          ta=$(ticks $pid)
          load=$(cut -d' ' -f1 /proc/loadavg)
          set -- $out $tb $ta
          # size server round req/s MiB/s requests cpu-ns user-ticks kernel-ticks load
          echo "$size $label $r $1 $2 $3 $((after - before)) $(($6 - $4)) $(($7 - $5)) $load" >>"$RAW"
        fi
      fi
      kill $pid 2>/dev/null || echo "# the $server server had exited: run left out" >&2
      wait $pid 2>/dev/null || true
    done
    r=$((r + 1))
  done
done

# Medians of the rounds; "x" compares with net-data (protocol style's peer) or net-await
# (streams style's peer): the req/s ratio of the medians, and the median (and range) of the
# CPU-per-request ratios of each round, whose runs are minutes apart at most. sys% is the
# kernel's share of the server's CPU time.
LABELS=$(for spec in $SERVERS; do
  case $spec in *@*) printf '%s ' "${spec%%@*}@$(basename "${spec#*@}" .node)" ;; *) printf '%s ' "$spec" ;; esac
done)
awk -v servers="$LABELS" '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { key = $1 " " $2; n[key]++; rq[key, n[key]] = $4; mb[key, n[key]] = $5
    cpu[key, n[key]] = $6 > 0 ? $7 / 1000 / $6 : 0
    sys[key, n[key]] = $8 + $9 > 0 ? 100 * $9 / ($8 + $9) : 0
    byround[$1, $2, $3] = $6 > 0 ? $7 / 1000 / $6 : 0
    if ($3 > rounds) rounds = $3
    load[++nl] = $10
    if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 } }
  END {
    peer["weft-proto"] = "net-data"; peer["weft-stream"] = "net-await"; peer["uv"] = "net-data"
    ns2 = split(servers, sv, " ")
    printf "%-7s %-18s %9s %8s %8s %5s %9s %8s %8s %13s\n", "size", "server", "req/s", "MiB/s", "cpu-us", "sys%", "peer", "req/s x", "cpu x", "cpu x range"
    for (i = 1; i <= ns; i++) {
      s = sizes[i]
      for (k = 1; k <= ns2; k++) {
        key = s " " sv[k]; m = n[key]
        for (j = 1; j <= m; j++) { a[j] = rq[key, j]; b[j] = mb[key, j]; c[j] = cpu[key, j]; d[j] = sys[key, j] }
        mr[key] = median(a, m); mm[key] = median(b, m); mc[key] = median(c, m); md[key] = median(d, m)
      }
      for (k = 1; k <= ns2; k++) {
        kind = sv[k]; sub(/@.*/, "", kind)
        key = s " " sv[k]; p = peer[kind]; pk = s " " p
        nr = 0; lo = 1e9; hi = 0
        for (r = 1; r <= rounds; r++)
          if (byround[s, sv[k], r] > 0 && byround[s, p, r] > 0) {
            x = byround[s, sv[k], r] / byround[s, p, r]; rr[++nr] = x
            if (x < lo) lo = x; if (x > hi) hi = x
          }
        if (p != "" && mr[pk] > 0 && nr > 0)
          printf "%-7s %-18s %9.0f %8.1f %8.2f %5.0f %9s %7.2fx %7.2fx %6.2f-%.2fx\n", s, sv[k], mr[key], mm[key], mc[key], md[key], p, mr[key] / mr[pk], median(rr, nr), lo, hi
        else
          printf "%-7s %-18s %9.0f %8.1f %8.2f %5.0f %9s %8s %8s %13s\n", s, sv[k], mr[key], mm[key], mc[key], md[key], "-", "-", "-", "-"
      }
    }
    lo = 1e9; hi = 0
    for (j = 1; j <= nl; j++) { if (load[j] < lo) lo = load[j]; if (load[j] > hi) hi = load[j] }
    printf "# medians of the rounds; cpu-us = server CPU time (all threads, schedstat) per request;\n"
    printf "# sys%% = its kernel share (/proc/PID/stat ticks); cpu x = median over the rounds of each\n"
    printf "# round'"'"'s ratio to the peer in Node (protocol style: net on(data); streams style: net\n"
    printf "# for-await), with its range; 1-minute load average during the runs: %s-%s\n", lo, hi
  }' "$RAW"
