#!/bin/sh
# Echo benchmark: raw libuv vs weft protocol-style vs weft streams-style, on loopback, at
# 1 KiB, 10 KiB and 100 KiB messages.
#
#   bench/echo.sh BUILD_DIR [SECONDS] [CONNECTIONS] [ROUNDS]
#
# Use a Release build. For fairness every round runs the three servers back to back
# (uv, proto, stream, uv, proto, stream, ...) with the same client, so slow drift in the
# machine's load hits all three alike; each run has a warm-up (WARMUP seconds, not
# counted), and the table shows medians over the rounds. On a machine with two or more
# cores the server is pinned to one core and the client to the others (PIN=0 turns this
# off), so they do not take turns on one core.
#
# Then, unless CALLGRIND=0, each server runs under callgrind for a fixed number of requests
# on one connection, twice (N1 and N2 requests); (Ir(N2) - Ir(N1)) / (N2 - N1) is the
# server's user-space instructions per request, startup and teardown cancelled out. It does
# not depend on the load of the machine, so it is the figure to compare changes by. glibc is
# told not to copy with `rep movsb` there: valgrind counts every step of that instruction,
# which would make a 100 KiB memcpy weigh ~50,000 instructions instead of the ~3,000 vector
# ones it is on the CPU. ROUNDS=0 gives the instruction counts alone.
#
# Raw per-run figures go to LOGDIR (default logs/echo in the source tree).
set -e
BUILD=${1:-build}
B=$BUILD/bench
SECS=${2:-3}
CONNS=${3:-4}
ROUNDS=${4:-5}
WARMUP=${WARMUP:-0.5}
SIZES=${SIZES:-"1024 10240 102400"}
SERVERS="uv proto stream"
LOGDIR=${LOGDIR:-$(cd "$(dirname "$0")/.." && pwd)/logs/echo}
mkdir -p "$LOGDIR"
RAW=$LOGDIR/raw.txt
IRS=$LOGDIR/ir.txt
: >"$RAW"
: >"$IRS"
PORT=$((20000 + $$ % 20000))

ncpu=$(nproc 2>/dev/null || echo 1)
SPIN=""
CPIN=""
if [ "${PIN:-1}" != 0 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
  SPIN="taskset -c ${SERVER_CPUS:-0}"
  CPIN="taskset -c ${CLIENT_CPUS:-1-$((ncpu - 1))}"
fi

echo "# $(uname -m), $ncpu cores, $(date -u '+%Y-%m-%d %H:%M UTC'); ${SECS}s x $ROUNDS rounds," \
  "$CONNS connections, warm-up ${WARMUP}s; server pin: ${SPIN:-none}, client pin: ${CPIN:-none}"

for size in $SIZES; do
  r=1
  while [ $r -le "$ROUNDS" ]; do
    for server in $SERVERS; do
      $SPIN "$B/echo_$server" $PORT &
      pid=$!
      set -- $($CPIN "$B/echo_client" $PORT "$size" "$SECS" "$CONNS" "$WARMUP")
      # The server's CPU time (user + system, clock ticks) over every request it served:
      # unlike requests/s it hardly depends on what else the machine is running.
      ticks=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
      kill $pid
      wait $pid 2>/dev/null || true
      echo "$size $server $r $1 $2 $3 $ticks" >>"$RAW"
      PORT=$((PORT + 1))
    done
    r=$((r + 1))
  done
done

if [ "${CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
  for size in $SIZES; do
    if [ "$size" -ge 65536 ]; then n1=100 n2=600; else n1=500 n2=3000; fi
    for server in $SERVERS; do
      irs=""
      for n in $n1 $n2; do
        out=$LOGDIR/callgrind.$server.$size.$n
        GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4294967295 \
          valgrind --tool=callgrind --callgrind-out-file="$out" "$B/echo_$server" $PORT \
          2>"$out.log" &
        pid=$!
        "$B/echo_client" $PORT "$size" 0 1 0 $n >/dev/null
        kill $pid
        wait $pid 2>/dev/null || true
        irs="$irs $(awk '/^summary:/ { print $2 }' "$out")"
        PORT=$((PORT + 1))
      done
      echo "$size $server$irs $n1 $n2" | awk '{ printf "%s %s %.0f\n", $1, $2, ($4 - $3) / ($6 - $5) }' >>"$IRS"
    done
  done
fi

# The table: medians of the rounds; ratio = median / raw libuv's median, and "paired" is
# the median of the per-round ratios (each against the uv run just before it).
awk -v rounds="$ROUNDS" -v hz="$(getconf CLK_TCK)" '
  function median(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  FILENAME ~ /ir.txt$/ { ir[$1 " " $2] = $3; if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 }; next }
  { key = $1 " " $2; n[key]++; rq[key, n[key]] = $4; mb[key, n[key]] = $5
    cpu[key, n[key]] = $6 > 0 ? 1e6 * $7 / hz / $6 : 0
    if ($2 == "uv") base[$1, $3] = $4; else pr[key, $3] = $4
    if (!($1 in seen)) { seen[$1] = 1; sizes[++ns] = $1 } }
  END {
    printf "%-7s %-7s %9s %8s %6s %6s %6s %7s %6s %8s %6s\n", "size", "server", "req/s", "MiB/s", "ratio", "paired", "spread", "cpu-us", "cpu x", "Ir/req", "Ir x"
    split("uv proto stream", sv, " ")
    for (i = 1; i <= ns; i++) for (k = 1; k <= 3; k++) {
      s = sizes[i]; key = s " " sv[k]; m = n[key]
      if (!m) {
        if (key in ir) printf "%-7s %-7s %9s %8s %6s %6s %6s %7s %6s %8s %6.2fx\n", s, sv[k], "-", "-", "-", "-", "-", "-", "-", ir[key], ir[key] / ir[s " uv"]
        continue
      }
      for (j = 1; j <= m; j++) { a[j] = rq[key, j]; b[j] = mb[key, j]; cc[j] = cpu[key, j] }
      lo = a[1]; hi = a[1]; for (j = 2; j <= m; j++) { if (a[j] < lo) lo = a[j]; if (a[j] > hi) hi = a[j] }
      mcpu = median(cc, m); if (sv[k] == "uv") ucpu[s] = mcpu
      med = median(a, m); mmb = median(b, m)
      if (sv[k] == "uv") { umed[s] = med; pmed = 1 }
      else { c = 0; for (j = 1; j <= m; j++) if (base[s, j] > 0) pc[++c] = pr[key, j] / base[s, j]; pmed = 0; if (c) pmed = median(pc, c) }
      irv = "-"; irx = "-"; ukey = s " uv"
      if (key in ir) irv = ir[key]
      if ((key in ir) && (ukey in ir) && ir[ukey] > 0) irx = sprintf("%.2fx", ir[key] / ir[ukey])
      spread = 0; if (med > 0) spread = 100 * (hi - lo) / med
      cx = "-"; if (ucpu[s] > 0) cx = sprintf("%.2fx", mcpu / ucpu[s])
      printf "%-7s %-7s %9.0f %8.1f %5.2fx %5.2fx %5.0f%% %7.2f %6s %8s %6s\n", s, sv[k], med, mmb, med / umed[s], pmed, spread, mcpu, cx, irv, irx
    }
    printf "# medians of %d rounds; ratio = median req/s over raw libuv'"'"'s; paired = median of per-round ratios;\n# spread = (max - min) / median req/s; cpu-us = server CPU time (user+sys) per request;\n# Ir/req = callgrind instructions per request (server, user space); x = over raw libuv\n", rounds
  }' "$IRS" "$RAW"
