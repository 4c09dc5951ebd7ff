#!/bin/sh
# Connection churn: COUNT short connections (connect, one 64-byte request, close) to an
# echo server, with the server's RSS and descriptor count at the start and after every
# tenth; fails when the descriptor count at the end differs from the one at the start.
#
#   bench/load/churn.sh BUILD_DIR [COUNT [SERVER ...]]
#
# COUNT defaults to 1,000,000. Servers: c-uv, c-proto, c-stream (bench/echo_*.c) and
# py-LOOP-STYLE (bench/python/echo_servers.py; weft from BUILD_DIR/bindings/python/lib).
# The client closes first, so its side of each connection waits in TIME_WAIT; Linux reuses
# those ports on loopback (net.ipv4.tcp_tw_reuse=2, the default).
set -e
BUILD=$(cd "${1:-build}" && pwd)
COUNT=${2:-1000000}
shift 2 2>/dev/null || shift $#
SERVERS=${*:-"c-proto c-stream c-uv py-weft-protocol"}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
free_port() { python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
status=0
for server in $SERVERS; do
  PORT=$(free_port)
  case $server in
  c-*) "$BUILD/bench/echo_${server#c-}" $PORT & ;;
  py-*)
    loop=$(echo "$server" | cut -d- -f2)
    style=$(echo "$server" | cut -d- -f3)
    PYTHONPATH="$BUILD/bindings/python/lib:$ROOT/bench/python" \
      python3 "$ROOT/bench/python/echo_servers.py" "$loop" "$style" $PORT &
    ;;
  esac
  pid=$!
  echo "# $server: $COUNT connections, load $(cut -d' ' -f1 /proc/loadavg)"
  "$BUILD/bench/load/churn_client" $PORT "$COUNT" $pid || status=1
  kill $pid
  wait $pid 2>/dev/null || true
done
exit $status
