"""Cancelling a task that awaits a future cancels that future and throws CancelledError into
the task at the await; cleanup in finally runs; the task ends cancelled."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    inner = loop.create_future()

    async def worker():
        emit("worker", "start")
        try:
            await inner
            emit("never")
        except asyncio.CancelledError as e:
            emit("worker", "caught", e)
            raise
        finally:
            emit("worker", "finally")

    t = loop.create_task(worker())
    await asyncio.sleep(0)
    emit("cancel", t.cancel())
    emit("inner-cancelled-yet", inner.cancelled())
    try:
        await t
    except asyncio.CancelledError as e:
        emit("await-task", e)
    emit("task", t.done(), t.cancelled(), "inner", inner.cancelled())


run(main)
