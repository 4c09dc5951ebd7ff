"""wait_for cancels the inner awaitable when the timeout expires, waits for it to finish
cancelling, then raises TimeoutError; the inner one sees CancelledError."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()

    async def inner():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as e:
            emit("inner", e)
            await asyncio.sleep(0)  # cleanup that itself awaits
            emit("inner", "cleanup-done")
            raise

    t = loop.create_task(inner())
    try:
        await asyncio.wait_for(t, 0.05)
    except TimeoutError as e:
        emit("wait_for", e)
    emit("inner-task", t.done(), t.cancelled())
    emit("in-time", await asyncio.wait_for(asyncio.sleep(0, "quick"), 1))


run(main)
