"""A timeout expiring in the same iteration as an outside cancel of the task: the outside
cancel wins, the task ends cancelled, with CancelledError, not TimeoutError."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()

    async def worker():
        try:
            async with asyncio.timeout_at(loop.time() - 1):
                await asyncio.sleep(10)
        except TimeoutError as e:
            emit("worker", "timeout", e)
        except asyncio.CancelledError as e:
            emit("worker", "cancelled", e, asyncio.current_task().cancelling())
            raise

    t = loop.create_task(worker())
    await asyncio.sleep(0)  # the worker enters the block and waits; the timeout is due
    t.cancel()
    try:
        await t
    except asyncio.CancelledError as e:
        emit("main", e, t.cancelled())


run(main)
