"""The process never dies: closing, cancelling and failing things in every order
(never_dies_cases.py) runs in a child process per scenario and loop, so that a crash is a
failure naming its signal instead of the end of pytest. weft's answers must be asyncio's
(lines starting with "~" excepted: there asyncio's answer comes from its selector's
epoll_ctl on a closed descriptor, and weft only has to survive)."""

import os
import signal
import subprocess
import sys

import pytest

from never_dies_cases import LOOP_SCENARIOS, SCENARIOS

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "never_dies_cases.py")


def run_case(name: str, loop: str) -> list:
    """The scenario's lines on `loop`; fails, naming the signal, unless it exited
    normally."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, "-X", "faulthandler", CASES, name, loop],
                          capture_output=True, text=True, timeout=240, env=env)
    if proc.returncode < 0:
        sig = signal.Signals(-proc.returncode).name
        pytest.fail(f"{name} on {loop}: the process died of {sig}\n{proc.stderr[-4000:]}")
    assert proc.returncode == 0, f"{name} on {loop}: exit {proc.returncode}\n{proc.stderr}"
    lines = proc.stdout.splitlines()
    assert lines and lines[-1] == "exited normally", proc.stdout
    return lines


@pytest.mark.parametrize("name", sorted(SCENARIOS) + sorted(LOOP_SCENARIOS))
def test_survives_like_asyncio(name):
    expected = [line for line in run_case(name, "asyncio") if not line.startswith("~")]
    got = [line for line in run_case(name, "weft") if not line.startswith("~")]
    assert got == expected
