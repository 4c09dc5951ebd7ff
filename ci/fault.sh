#!/usr/bin/env bash
# The allocation-failure sweep over every C test (CI runs a selection: tests/fault/selection.txt).
# Builds the core with WEFT_FAULT_INJECTION under ASan+UBSan in build/fault, then fails each
# allocation every test makes in turn (at most MAX_RUNS points per test, default 200).
#   bash ci/fault.sh [MAX_RUNS] [extra run_fault.py options, e.g. --strict-hangs]
set -euo pipefail
cd "$(dirname "$0")/.."
max_runs=${1:-200}
shift || true
cmake -S . -B build/fault -DCMAKE_BUILD_TYPE=Debug -DWEFT_SANITIZE=ON -DWEFT_FAULT_INJECTION=ON \
  -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_PYTHON=OFF >/dev/null
cmake --build build/fault -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for src in tests/test_*.c; do
  module=$(basename "$src" .c)
  module=${module#test_}
  [ -x "build/fault/tests/test_$module" ] || continue
  grep -o '^WEFT_TEST([A-Za-z0-9_]*' "$src" | sed "s/^WEFT_TEST(/$module /" >>"$list"
done
python3 tests/fault/run_fault.py --list "$list" --build build/fault --max-runs "$max_runs" "$@"
