#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build/fuzz, replays the checked-in
# corpora (ctest -L fuzz), then runs every fuzzer for DURATION seconds (default 300) and
# prints each one's executions and coverage. A crash or a model mismatch stops it with the
# input saved under build/fuzz/artifacts/<target>/. The corpora grown by the run stay in
# build/fuzz/corpus/<target>/; the checked-in seeds are only read.
#
#   bash ci/fuzz.sh            # 5 minutes per target
#   bash ci/fuzz.sh 30         # 30 s per target (what ci/test.sh runs, at 20 s)
#   bash ci/fuzz.sh 600 tls    # one target
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${1:-300}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    t=${f#tests/fuzz/fuzz_}
    targets+=("${t%.c}")
  done
fi

jobs=$(nproc 2>/dev/null || echo 2)
CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWEFT_WERROR=ON -DWEFT_FUZZ=ON \
  -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_BENCH=OFF -DWEFT_BUILD_PYTHON=OFF -DWEFT_BUILD_EXAMPLES=OFF \
  >/dev/null
cmake --build build/fuzz -j"$jobs"
ctest --test-dir build/fuzz -L fuzz --output-on-failure

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1
summary=()
for t in "${targets[@]}"; do
  bin=build/fuzz/tests/fuzz/fuzz_$t
  work=build/fuzz/corpus/$t
  artifacts=build/fuzz/artifacts/$t
  mkdir -p "$work" "$artifacts"
  log=build/fuzz/fuzz_$t.log
  printf '\n== fuzz_%s for %s s\n' "$t" "$duration"
  # Inputs of up to 512 bytes from the start: libFuzzer's slow ramp of the length would keep
  # the slow targets (TLS: ~100 runs/s) at scripts of a few operations for minutes.
  if ! "$bin" -max_total_time="$duration" -max_len=512 -len_control=0 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "ci/fuzz.sh: fuzz_$t failed; the input is in $artifacts/ (log: $log)"
    exit 1
  fi
  # The last status line has the coverage reached; the final stats the executions.
  status=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p' \
    <<<"$status")
  summary+=("fuzz_$t: $execs executions ($rate/s) in ${duration} s, $cov")
done
printf '\n== summary\n'
printf '%s\n' "${summary[@]}"
