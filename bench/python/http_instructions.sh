#!/usr/bin/env bash
# User-space instructions per request of the Python HTTP servers (bench/python/http_servers.py:
# aiohttp.web, uvicorn with httptools) on weft's loop, uvloop and asyncio's loop, counted by
# callgrind. The wall-clock rows of run.py (wrk) share two cores between wrk and the server
# and move by several per cent from run to run; the count does not depend on the machine's
# load. Each server runs under callgrind twice, serving N1 and then N2 keep-alive requests
# per connection of bench/http_client; (Ir(N2) - Ir(N1)) / (CONNECTIONS * (N2 - N1))
# cancels start-up and shutdown out. Needs a build with the binding and bench/http_client:
#   bench/python/http_instructions.sh BUILD_DIR [SERVER...]   (default: aiohttp uvicorn)
# KEEP=DIR keeps the callgrind files there (SERVER-LOOP-N) for callgrind_annotate; LOOPS,
# CONNS, N1 and N2 override the loops (weft uvloop asyncio), connections (4) and requests
# per connection (200 and 800).
set -euo pipefail
set -m # background servers keep SIGINT (without job control, bash starts them ignoring it)
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR [SERVER...]}" && pwd)
shift
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(aiohttp uvicorn)
loops=(${LOOPS:-weft uvloop asyncio})
conns=${CONNS:-4} n1=${N1:-200} n2=${N2:-800}
client="$build/bench/http_client"
[ -x "$client" ] || { echo "$client not found: build with -DWEFT_BUILD_BENCH=ON" >&2; exit 1; }
python=$(python3 -c 'import sys; print(sys.executable)') # the interpreter, not a shim
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"
  out=$(cd "$KEEP" && pwd)
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

. "$src/bench/python/callgrind_server.sh"

count() { # server loop requests -> Ir of a whole server run
  local port file="$out/$1-$2-$3"
  port=$(free_port) # a fresh one each run: never a server left over from another
  callgrind_python "$file" "$file.log" "$src/bench/python/http_servers.py" "$2" "$1" "$port"
  local server=$!
  local ok=1
  # http_client waits (up to a minute) for the server to listen, then makes its requests;
  # each read is bounded, so a stuck server fails the run instead of hanging it.
  got=$("$build/bench/http_client" "$port" "$conns" "$3") || ok=0
  stop_server "$server"
  if [ "$ok" != 1 ] || [ "$got" != $((conns * $3)) ]; then
    echo "$1 on $2: $got of $((conns * $3)) requests answered" >&2
    tail -5 "$file.log" >&2
    exit 1
  fi
  instructions_of "$file"
}

echo "# user-space instructions per request: $conns keep-alive connections, GET /"
for server in "${servers[@]}"; do
  line="$server"
  for loop in "${loops[@]}"; do
    a=$(count "$server" "$loop" "$n1")
    b=$(count "$server" "$loop" "$n2")
    line="$line $loop $(((b - a) / (conns * (n2 - n1))))"
  done
  echo "$line"
done
