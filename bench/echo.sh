#!/bin/sh
# Echo benchmark: raw libuv vs weft protocol-style vs weft streams-style, on loopback, at
# 1 KiB, 10 KiB and 100 KiB messages. Usage: bench/echo.sh BUILD_DIR [SECONDS] [CONNECTIONS]
set -e
B=${1:-build}/bench
SECS=${2:-3}
CONNS=${3:-4}
PORT=$((20000 + $$ % 20000))
printf '%-8s %-8s %12s %10s %8s\n' size server req/s MiB/s ratio
for size in 1024 10240 102400; do
  base=""
  for server in uv proto stream; do
    "$B/echo_$server" $PORT & pid=$!
    sleep 0.3
    set -- $("$B/echo_client" $PORT $size $SECS $CONNS)
    kill $pid; wait $pid 2>/dev/null || true
    [ -z "$base" ] && base=$1
    ratio=$(awk -v a="$1" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
    printf '%-8s %-8s %12s %10s %8s\n' $size $server $1 $2 ${ratio}x
    PORT=$((PORT + 1))
  done
done
