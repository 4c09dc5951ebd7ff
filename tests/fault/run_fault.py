#!/usr/bin/env python3
"""Allocation-failure sweep over C tests (a build with WEFT_FAULT_INJECTION, under ASan).

For one test (a test binary and a WEFT_TEST name) it counts the allocations a clean run
makes, then runs the test again once for each chosen N with the Nth allocation failing. A
run passes when the failure came out as a clean error: the test passed, or failed one of
its own assertions (a WEFT_ENOMEM it did not expect) with no sanitizer report other than
the leaks its early exit left behind. It fails on a crash, a sanitizer error or a leak in a
run that passed. A run that does not end is reported as a hang but fails the sweep only
with --strict-hangs: the C tests were not written for this, and most such hangs are a test
waiting for a partner operation that failed with WEFT_ENOMEM as it should (a getter for an
item whose put failed), which only reading the reported stack can tell from a failure the
core swallowed.

  run_fault.py BINARY TEST [--max-runs K] [--timeout S]
  run_fault.py --list FILE --build DIR [--max-runs K]   (every "module name" line of FILE)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import signal
import subprocess
import sys
import tempfile

SANITIZER_EXIT = 86  # what ASan, LSan and UBSan exit with here (set below)


def symbolize(binary: str, text: str) -> str:
    """The failing allocation's call stack with function names and lines (addr2line)."""
    import re
    out = []
    for line in text.splitlines():
        m = re.search(r"\(\+(0x[0-9a-f]+)\)", line)
        if m and binary in line:
            try:
                where = subprocess.run(["addr2line", "-f", "-p", "-e", binary, m.group(1)],
                                       capture_output=True, text=True, timeout=10).stdout
            except (OSError, subprocess.SubprocessError):
                where = ""
            line = "    " + (where.strip() or line)
        out.append(line)
    return "\n".join(out)


def run(binary: str, test: str, fail_at: int, leaks: bool, timeout: float, count_file=None):
    env = dict(os.environ)
    env["WEFT_FAULT_FAIL_AT"] = str(fail_at)
    env["WEFT_FAULT_TRACE"] = "1"
    env["ASAN_OPTIONS"] = f"detect_leaks={int(leaks)}:exitcode={SANITIZER_EXIT}:abort_on_error=0"
    env["UBSAN_OPTIONS"] = f"exitcode={SANITIZER_EXIT}:halt_on_error=1:print_stacktrace=1"
    if count_file:
        env["WEFT_FAULT_COUNT_FILE"] = count_file
    try:
        done = subprocess.run([binary, test], env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as stopped:
        return "hang", (stopped.stderr or b"").decode(errors="replace")
    return done.returncode, done.stderr.decode(errors="replace")


def points(total: int, max_runs: int) -> list[int]:
    """Every N when there are few; else the first ones (set-up paths) and an even spread."""
    if total <= max_runs:
        return list(range(1, total + 1))
    head = list(range(1, max_runs // 3 + 1))
    rest = max_runs - len(head)
    step = (total - len(head)) / rest
    return head + sorted({len(head) + 1 + int(i * step) for i in range(rest)})


def sweep(binary: str, test: str, max_runs: int, timeout: float, strict_hangs: bool) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        count_file = os.path.join(tmp, "count")
        rc, err = run(binary, test, 0, True, timeout, count_file)
        if rc != 0:
            return [f"{test}: fails without any injected fault (exit {rc})\n{err[-2000:]}"]
        total = int(pathlib.Path(count_file).read_text())
    problems, hangs = [], 0
    chosen = points(total, max_runs)
    for n in chosen:
        rc, err = run(binary, test, n, True, timeout)
        if rc in (0, 1):
            continue
        if rc == SANITIZER_EXIT:
            # Leaks after a failed assertion are the test's own (it exits at once); run
            # again without leak checking to tell those from errors.
            rc2, err2 = run(binary, test, n, False, timeout)
            if rc2 == 1:
                continue
            what = "leak" if rc2 == 0 else f"sanitizer error (exit {rc2})"
            err = err if rc2 == 0 else err2
        elif rc == "hang":
            hangs += 1
            what = f"hang (no exit within {timeout:g} s)"
            if not strict_hangs:
                print(f"{test}: allocation {n} of {total} failing: {what}\n"
                      f"{symbolize(binary, err[:4000])}", file=sys.stderr)
                continue
        elif isinstance(rc, int) and rc < 0:
            what = f"crash ({signal.Signals(-rc).name})"
        else:
            what = f"exit {rc}"
        problems.append(f"{test}: allocation {n} of {total} failing: {what}\n"
                        f"{symbolize(binary, err[:4000])}")
    print(f"{pathlib.Path(binary).name} {test}: {total} allocations, {len(chosen)} failed in "
          f"turn, {len(problems)} problem(s), {hangs} hang(s)")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?")
    ap.add_argument("test", nargs="?")
    ap.add_argument("--list")
    ap.add_argument("--build")
    ap.add_argument("--max-runs", type=int, default=60)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--strict-hangs", action="store_true")
    args = ap.parse_args()
    jobs = []
    if args.list:
        for line in pathlib.Path(args.list).read_text().splitlines():
            line = line.split("#", 1)[0].split()[:2]
            if len(line) == 2:
                jobs.append((f"{args.build}/tests/test_{line[0]}", line[1]))
    else:
        jobs.append((args.binary, args.test))
    problems = []
    for binary, test in jobs:
        problems += sweep(binary, test, args.max_runs, args.timeout, args.strict_hangs)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
