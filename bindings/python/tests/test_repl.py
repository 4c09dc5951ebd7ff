"""python -m weft: the REPL with top-level await, on weft's loop."""

import os
import signal
import subprocess
import sys
import time


def repl(**kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", "-m", "weft"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONSTARTUP": ""}, **kwargs)


def test_statements_await_on_weft_and_errors_do_not_end_it():
    proc = repl()
    out, _ = proc.communicate(
        "import asyncio\n"
        "await asyncio.sleep(0.01)\n"
        "type(asyncio.get_running_loop()).__module__\n"
        "1/0\n"
        "async def fails():\n    raise ValueError('from a coroutine')\n\n"
        "await fails()\n"
        "await asyncio.gather(asyncio.sleep(0, 'a'), asyncio.sleep(0, 'b'))\n", timeout=60)
    assert proc.returncode == 0
    assert out.startswith("weft ")  # the banner names the REPL
    assert "'weft.loop'" in out
    assert "ZeroDivisionError: division by zero" in out
    assert 'File "<console>", line 2, in fails' in out
    assert "ValueError: from a coroutine" in out
    assert "repl.py" not in out  # tracebacks show the user's frames only
    assert "['a', 'b']" in out
    assert "exiting weft REPL..." in out


def test_ctrl_c_cancels_the_awaited_statement():
    proc = repl()
    try:
        proc.stdin.write("import asyncio\nprint('start'); await asyncio.sleep(60)\n")
        proc.stdin.flush()
        seen = ""
        deadline = time.monotonic() + 30
        while "start" not in seen and time.monotonic() < deadline:
            seen += proc.stdout.read(1)
        assert "start" in seen
        time.sleep(0.2)  # the sleep is awaited by now
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate("print('after', 6 * 7)\n", timeout=30)
    finally:
        proc.kill()
    assert "CancelledError" in out
    assert "after 42" in out
    assert proc.returncode == 0


def test_exit_ends_it():
    proc = repl()
    out, _ = proc.communicate("exit()\nprint('never')\n", timeout=60)
    assert proc.returncode == 0
    assert "never" not in out
