"""Cancelling a task that has finished does nothing: cancel() returns false and the result
stays; a task cancelled before it ever ran never runs its body."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()

    async def quick():
        emit("quick", "runs")
        return 5

    t = loop.create_task(quick())
    await asyncio.sleep(0)
    emit("done", t.done())
    emit("cancel", t.cancel(), "cancelling", t.cancelling())
    emit("result", t.result(), t.cancelled())

    async def never():
        emit("never", "runs")

    u = loop.create_task(never())
    emit("cancel-before-start", u.cancel())
    try:
        await u
    except asyncio.CancelledError as e:
        emit("await", e, u.cancelled())


run(main)
