"""A task may catch its cancellation and go on: it awaits again and returns a result, and
ends finished, not cancelled."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()

    async def worker():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as e:
            emit("worker", "caught", e, asyncio.current_task().cancelling())
            asyncio.current_task().uncancel()
        await asyncio.sleep(0)
        emit("worker", "continues")
        await asyncio.sleep(0.01)
        return 42

    t = loop.create_task(worker())
    await asyncio.sleep(0)
    t.cancel()
    emit("result", await t, "cancelled", t.cancelled())


run(main)
