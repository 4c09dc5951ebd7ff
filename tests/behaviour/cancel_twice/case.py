"""Cancelling twice before the task runs: both calls return true, cancelling() counts 2, and
the task sees one CancelledError."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()

    async def worker():
        n = 0
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as e:
            n += 1
            emit("worker", "caught", e, "cancelling", asyncio.current_task().cancelling())
        try:
            await asyncio.sleep(0)
            emit("worker", "second-await-ok")
        except asyncio.CancelledError as e:
            emit("worker", "second", e)
        return n

    t = loop.create_task(worker())
    await asyncio.sleep(0)
    emit("cancel-1", t.cancel())
    emit("cancel-2", t.cancel())
    emit("cancelling", t.cancelling())
    try:
        emit("result", await t)
    except asyncio.CancelledError as e:
        emit("task", e)
    emit("cancelled", t.cancelled())


run(main)
