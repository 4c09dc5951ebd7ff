"""A child killed by SIGKILL reports the negated signal number as its exit status, whether
the parent kills it or it kills itself."""
import asyncio
import signal
from casetrace import emit, run


async def main():
    proc = await asyncio.create_subprocess_exec("sleep", "30")
    emit("returncode-running", proc.returncode)
    proc.send_signal(signal.SIGKILL)
    emit("killed", "returncode", await proc.wait())
    proc = await asyncio.create_subprocess_exec("/bin/sh", "-c", "kill -9 $$")
    emit("self-killed", "returncode", await proc.wait())
    proc = await asyncio.create_subprocess_exec("/bin/sh", "-c", "exit 3")
    emit("exit", "returncode", await proc.wait())


run(main)
