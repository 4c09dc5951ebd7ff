"""cancelling() counts pending cancel requests and uncancel() takes one back; a task whose
count returns to 0 is not cancelled by the request it caught."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    gate = loop.create_future()

    async def worker():
        me = asyncio.current_task()
        for round_ in (1, 2):
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                emit("worker", "round", round_, "cancelling", me.cancelling())
                emit("worker", "uncancel", me.uncancel())
        emit("worker", "uncancel-at-zero", me.uncancel(), me.cancelling())
        await gate
        return "finished"

    t = loop.create_task(worker())
    await asyncio.sleep(0)
    emit("cancelling-before", t.cancelling())
    t.cancel()
    await asyncio.sleep(0)
    t.cancel()
    t.cancel()
    emit("cancelling-after-two", t.cancelling())
    await asyncio.sleep(0)
    gate.set_result(None)
    emit("result", await t, t.cancelled())


run(main)
