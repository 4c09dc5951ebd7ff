#!/usr/bin/env bash
# User-space instructions per request of the Python echo servers (bench/python/echo_servers.py)
# on weft's loop, uvloop and asyncio's loop, counted by callgrind. Unlike wall-clock figures
# on loopback, which are bound by how fast client and server wake each other, the count is
# what the loop and the protocol cost per request, and it does not depend on the machine's
# load. Each server runs under callgrind twice, serving N1 and then N2 requests per
# connection of bench/echo_client; (Ir(N2) - Ir(N1)) / (CONNECTIONS * (N2 - N1)) cancels
# start-up and shutdown out. glibc is told not to copy with `rep movsb`, whose every step
# valgrind would count (bench/echo.sh says more). Needs a build with the binding and
# bench/echo_client:
#   bench/python/instructions.sh BUILD_DIR [STYLE [SIZE]]     (default: protocol 1024)
set -euo pipefail
set -m # background servers keep SIGINT (without job control, bash starts them ignoring it)
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR [STYLE [SIZE]]}" && pwd)
style=${2:-protocol}
size=${3:-1024}
conns=4 n1=2000 n2=6000
python=$(python3 -c 'import sys; print(sys.executable)') # the interpreter, not a shim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

count() { # loop requests -> Ir of a whole server run
  local port
  port=$(free_port) # a fresh one each run: never a server left over from another
  GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=4294967295 \
    PYTHONPATH="$build/bindings/python/lib" valgrind --tool=callgrind \
    --callgrind-out-file="$out/$1-$2" "$python" "$src/bench/python/echo_servers.py" "$1" \
    "$style" "$port" 2>/dev/null &
  local server=$!
  for _ in $(seq 1 150); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" \
      2>/dev/null && break
    sleep 0.2
  done
  "$build/bench/echo_client" "$port" "$size" 0 "$conns" 0 "$2" >/dev/null
  kill -INT "$server" # KeyboardInterrupt: the server exits and callgrind writes its counts
  wait "$server" 2>/dev/null || true
  if ! grep -q '^summary:' "$out/$1-$2"; then
    echo "no counts from the $1 server" >&2
    exit 1
  fi
  awk '/^summary:/ {print $2}' "$out/$1-$2"
}

echo "# user-space instructions per request: $style, $size bytes, $conns connections"
for loop in weft uvloop asyncio; do
  a=$(count "$loop" "$n1")
  b=$(count "$loop" "$n2")
  echo "$loop $(((b - a) / (conns * (n2 - n1))))"
done
