"""run_in_executor runs a blocking call on another thread and hands its result, or its
error, back to the awaiting task."""
import asyncio
import errno
import threading
from casetrace import emit, run


def work(x):
    return x * 2, threading.current_thread() is not threading.main_thread()


def failing():
    raise OSError(errno.EIO, "worker failed")


async def main():
    loop = asyncio.get_running_loop()
    value, other_thread = await loop.run_in_executor(None, work, 21)
    emit("result", value, "other-thread", other_thread)
    try:
        await loop.run_in_executor(None, failing)
    except OSError as e:
        emit("error", e)
    results = await asyncio.gather(*(loop.run_in_executor(None, work, i) for i in range(4)))
    emit("gathered", *(v for v, _ in results))


run(main)
