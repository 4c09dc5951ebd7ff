"""Cancelling a gather cancels every child still running; the gather ends cancelled, and
children that had already finished keep their results."""
import asyncio
from casetrace import emit, run


async def child(name, steps):
    try:
        for _ in range(steps):
            await asyncio.sleep(0)
        emit("child", name, "ends")
        return name
    except asyncio.CancelledError as e:
        emit("child", name, e)
        raise


async def main():
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(child(n, s)) for n, s in (("a", 0), ("b", 5), ("c", 10))]
    g = asyncio.gather(*tasks)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    emit("cancel", g.cancel())
    try:
        await g
    except asyncio.CancelledError as e:
        emit("gather", e, g.cancelled())
    emit("children", *(("cancelled" if t.cancelled() else t.result()) for t in tasks))


run(main)
