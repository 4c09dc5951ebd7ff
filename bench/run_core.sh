#!/bin/sh
# Builds the core benchmarks in Release at -O2 (CMake's Release default is -O3: the figures
# in docs/benchmarks.md are -O2, as a distribution would build) and runs bench_core.
#   bench/run_core.sh [scale [filter]]     arguments go to bench_core
#   BUILD_DIR=...  where to build (default: build-bench next to the sources)
# Tests and examples are left out: they are not needed, and building them would only slow
# this down.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build-bench}
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DWEFT_WERROR=ON -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF -DWEFT_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target bench_core bench_coro -j "$(nproc)" >/dev/null
echo "# $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), libuv $(pkg-config --modversion libuv)"
exec "$build/bench/bench_core" "$@"
