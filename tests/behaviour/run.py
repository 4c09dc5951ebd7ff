#!/usr/bin/env python3
"""Runs one behaviour case in one language and compares its trace with expected.txt.

    run.py CASE_DIR LANG [COMMAND ...]

LANG is the ctest suffix: asyncio (the oracle: case.py on CPython's own loop), py or
py3.12 ... (case.py on weft's loop), c, js, go. COMMAND prints the trace; the runner
adds nothing to it. Exit status: 0 when the trace matches (or when a mismatch is listed in
known_differences.txt), 1 when it does not (a unified diff is printed), 77 when the case is
skipped for this language (skip.txt, or a binding that is not built), with the reason.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))


def keys_for(lang: str, command: list[str]) -> set[str]:
    """The skip.txt / known_differences.txt keys that apply: the language itself and, for a
    Python run on weft, `py` and `py<major>.<minor>` of the interpreter."""
    keys = {lang}
    if lang.startswith("py") and command:
        out = subprocess.run([command[0], "-c",
                              "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True)
        if out.returncode == 0:
            keys |= {"py", "py" + out.stdout.strip()}
    return keys


def skip_reason(case_dir: str, keys: set[str]) -> str | None:
    path = os.path.join(case_dir, "skip.txt")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, reason = line.partition(":")
            if sep and key.strip() in keys:
                return reason.strip()
    return None


def known_difference(case: str, keys: set[str]) -> str | None:
    with open(os.path.join(HERE, "known_differences.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, lang, reason = (line.split(None, 2) + ["", ""])[:3]
            if name == case and lang in keys:
                return reason
    return None


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    case_dir = os.path.abspath(sys.argv[1])
    lang, command = sys.argv[2], sys.argv[3:]
    case = os.path.basename(case_dir)
    keys = keys_for(lang, command)

    if lang != "asyncio":  # the oracle is never skipped
        reason = skip_reason(case_dir, keys)
        if reason is not None:
            print(f"SKIP {case}.{lang}: {reason}")
            return SKIP
    if not command:
        print(f"SKIP {case}.{lang}: no case file for this language")
        return SKIP
    if command[0].startswith("SKIP:"):  # CMake's way of saying a binding is not built
        print(f"SKIP {case}.{lang}: {command[0][5:]}")
        return SKIP

    with open(os.path.join(case_dir, "expected.txt"), encoding="utf-8") as f:
        expected = f.read()
    env = dict(os.environ)
    # The command runs in the case directory: relative entries would no longer point home.
    paths = [HERE] + [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    proc = subprocess.run(command, cwd=case_dir, env=env, capture_output=True, text=True,
                          timeout=120)
    got = proc.stdout
    ok = proc.returncode == 0 and got == expected
    known = known_difference(case, keys) if lang != "asyncio" else None

    if not ok:
        sys.stdout.write("".join(difflib.unified_diff(
            expected.splitlines(True), got.splitlines(True),
            f"{case}/expected.txt", f"{case}.{lang}")))
        if proc.returncode != 0:
            print(f"exit status {proc.returncode}")
        if proc.stderr:
            print("--- stderr\n" + proc.stderr, end="")
        if known is not None:
            print(f"KNOWN DIFFERENCE {case}.{lang} (known_differences.txt): {known}")
            return 0
        print(f"FAIL {case}.{lang}")
        return 1
    if known is not None:
        print(f"FAIL {case}.{lang} matches now: remove its line from known_differences.txt")
        return 1
    print(f"PASS {case}.{lang}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
