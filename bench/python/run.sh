#!/usr/bin/env bash
# The one command for the Python benchmarks: installs what they need (deps.sh), builds the
# extension and the native load tools in Release at -O2 (as bench/run_core.sh does), then
# runs every benchmark on weft's loop, uvloop and asyncio's default loop side by side.
#   bench/python/run.sh [run.py arguments]      e.g. --rounds 3, or some benchmark names
#   BUILD_DIR=...  where to build (default: build-bench next to the sources)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
bash "$src/bench/python/deps.sh"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DWEFT_WERROR=ON -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_BUILD_BENCH=ON \
  -DWEFT_BUILD_PYTHON=ON >/dev/null
cmake --build "$build" --target weft_python echo_client bulk_sender -j "$(nproc)" >/dev/null
echo "# $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Python $(python3 -c 'import platform; print(platform.python_version())'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
PYTHONPATH="$build/bindings/python/lib${PYTHONPATH:+:$PYTHONPATH}" \
  exec python3 "$src/bench/python/run.py" --build "$build" "$@"
