"""call_soon_threadsafe from another thread wakes a loop that is waiting with nothing to do
and no timer, and the callback runs on the loop's thread."""
import asyncio
import threading
import time
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop_thread = threading.get_ident()
    started = threading.Event()

    def on_loop(value):
        emit("callback", value, threading.get_ident() == loop_thread)
        fut.set_result(value)

    def worker():
        started.wait()
        time.sleep(0.05)  # let the loop block in its poll first
        loop.call_soon_threadsafe(on_loop, "from-thread")

    th = threading.Thread(target=worker)
    th.start()
    loop.call_soon(started.set)
    emit("waiting")
    value = await fut
    emit("woken", value)
    th.join()


run(main)
