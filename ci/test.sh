#!/usr/bin/env bash
# Builds everything and runs every test: the plain build (warnings are errors), the same
# tests under AddressSanitizer+UBSan, the allocation-failure sweep, the C tests under
# valgrind memcheck (zero leaks), a one-minute soak (tests/load), the clang-format check,
# and the fuzzers for a bounded time (ci/fuzz.sh, clang). Each step's ctest summary is
# printed; the first failure stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
step() { printf '\n== %s\n' "$*"; }

step "format: clang-format --dry-run on the C sources"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

step "plain build (-Werror) and every test"
cmake -S . -B build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_WERROR=ON >/dev/null
cmake --build build/ci -j"$jobs"
ctest --test-dir build/ci -j"$jobs" -LE soak --output-on-failure

step "AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DWEFT_WERROR=ON -DWEFT_SANITIZE=ON \
  -DWEFT_FAULT_INJECTION=ON -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_PYTHON=OFF >/dev/null
cmake --build build/asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ctest --test-dir build/asan -j"$jobs" -L c \
  --output-on-failure

step "the Node addon's C code under ASan+UBSan (node.test, the ASan runtime preloaded into node)"
if command -v node >/dev/null; then
  cmake -S . -B build/asan-node -DCMAKE_BUILD_TYPE=Debug -DWEFT_WERROR=ON -DWEFT_SANITIZE=ON \
    -DWEFT_BUILD_HOST=ON -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_PYTHON=OFF >/dev/null
  cmake --build build/asan-node -j"$jobs" --target weft_node
  ctest --test-dir build/asan-node -R '^node\.(test|symbols)$' --output-on-failure
fi

step "allocation failures: each allocation of the selected C tests fails in turn (tests/fault)"
ctest --test-dir build/asan -j"$jobs" -L fault --output-on-failure

step "valgrind memcheck: no errors, no leaks"
cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_WERROR=ON \
  -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_PYTHON=OFF \
  "-DWEFT_TEST_WRAPPER=valgrind;--error-exitcode=99;--leak-check=full;--errors-for-leak-kinds=definite,indirect,possible;--quiet" \
  >/dev/null
cmake --build build/valgrind -j"$jobs"
ctest --test-dir build/valgrind -j"$jobs" -L c --output-on-failure

step "soak: a mixed workload on one loop for a minute; fails on any error or growth (tests/load)"
ctest --test-dir build/ci -L soak --output-on-failure

step "fuzzing: corpus replays, then each libFuzzer target for 20 s (clang, ASan+UBSan)"
bash ci/fuzz.sh 20
