#!/usr/bin/env bash
# User-space instructions per request of the Python echo servers (bench/python/echo_servers.py)
# on weft's loop, uvloop and asyncio's loop, counted by callgrind. Unlike wall-clock figures
# on two cores shared by client and server, the count is what the loop and the protocol
# cost per request, and it does not depend on the machine's load. Each server runs under callgrind twice, serving N1 and then N2 requests per
# connection of bench/echo_client; (Ir(N2) - Ir(N1)) / (CONNECTIONS * (N2 - N1)) cancels
# start-up and shutdown out (callgrind_server.sh has the settings that keep the count
# steady). Needs a build with the binding and bench/echo_client:
#   bench/python/instructions.sh BUILD_DIR [STYLE [SIZE]]     (default: protocol 1024)
#   LOOPS="weft uvloop"  which loops to count (default: all three)
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

. "$src/bench/python/callgrind_server.sh"

count() { # loop requests -> Ir of a whole server run
  local port file="$out/$1-$2"
  port=$(free_port) # a fresh one each run: never a server left over from another
  callgrind_python "$file" "$file.log" "$src/bench/python/echo_servers.py" "$1" "$style" "$port"
  local server=$!
  for _ in $(seq 1 150); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" \
      2>/dev/null && break
    sleep 0.2
  done
  "$build/bench/echo_client" "$port" "$size" 0 "$conns" 0 "$2" >/dev/null
  stop_server "$server"
  instructions_of "$file"
}

echo "# user-space instructions per request: $style, $size bytes, $conns connections"
for loop in ${LOOPS:-weft uvloop asyncio}; do
  a=$(count "$loop" "$n1")
  b=$(count "$loop" "$n2")
  echo "$loop $(((b - a) / (conns * (n2 - n1))))"
done
