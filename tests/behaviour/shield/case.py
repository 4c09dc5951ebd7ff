"""shield: cancelling the awaiter does not cancel the shielded task, which finishes and keeps
its result; the awaiter gets CancelledError."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    gate = loop.create_future()

    async def precious():
        await gate
        emit("precious", "finished")
        return "kept"

    inner = loop.create_task(precious())

    async def awaiter():
        try:
            await asyncio.shield(inner)
        except asyncio.CancelledError as e:
            emit("awaiter", e)
            raise

    a = loop.create_task(awaiter())
    await asyncio.sleep(0)
    a.cancel()
    try:
        await a
    except asyncio.CancelledError as e:
        emit("main", "awaiter", e)
    emit("inner", "cancelled", inner.cancelled(), "done", inner.done())
    gate.set_result(None)
    emit("inner-result", await inner)


run(main)
