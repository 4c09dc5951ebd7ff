#!/usr/bin/env bash
# Builds everything and runs the demo: weft from C end to end (tasks, gather, timeout,
# TaskGroup, queue, subprocess, a streams echo server with clients, a worker pipeline, a
# TLS echo server and client with a throwaway CA).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/demo -j"$jobs" >/dev/null
for example in tour echo_streams pipeline tls_echo; do
  printf '\n== examples/c/%s.c\n' "$example"
  build/demo/examples/c/$example
done
printf '\n== examples/c/subprocess_lines.c (a child process, its output line by line)\n'
build/demo/examples/c/subprocess_lines sh -c 'echo one; sleep 0.1; echo two'

if [ -d build/demo/bindings/go/pkgconfig ]; then
  # The Go examples: their own module, using bindings/go through a replace directive.
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  for example in echo pipeline; do
    printf '\n== examples/go/%s\n' "$example"
    (cd examples/go && PKG_CONFIG_PATH="$PWD/../../build/demo/bindings/go/pkgconfig" \
      GOFLAGS=-mod=mod GOPROXY=off "$go_bin" run "./$example")
  done
fi

if [ -d build/demo/bindings/python/lib ]; then
  printf '\n== examples/python/echo.py (an ordinary asyncio program on weft'"'"'s loop)\n'
  PYTHONPATH=build/demo/bindings/python/lib python3 examples/python/echo.py
fi

if [ -f build/demo/bindings/node/weft.node ]; then
  printf '\n== examples/node/echo.js (an echo server, a TaskGroup of clients, a timeout)\n'
  WEFT_NODE_ADDON=build/demo/bindings/node/weft.node node examples/node/echo.js
  printf '\n== examples/node/taskgroup_timeout.js (a TaskGroup of workers, timeouts, a failing job)\n'
  WEFT_NODE_ADDON=build/demo/bindings/node/weft.node node examples/node/taskgroup_timeout.js
  printf '\n== examples/node/subprocess_pipeline.js (two children piped through node)\n'
  WEFT_NODE_ADDON=build/demo/bindings/node/weft.node node examples/node/subprocess_pipeline.js
fi
