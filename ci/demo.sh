#!/usr/bin/env bash
# Builds everything and runs the demo: a tour of weft from C (tasks, gather, timeout,
# TaskGroup, queue, subprocess).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/demo -j"$jobs" >/dev/null
echo "== examples/c/tour.c"
build/demo/examples/c/tour
