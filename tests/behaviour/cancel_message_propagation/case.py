"""A cancel message travels down the chain of awaits: cancelling the outer task cancels the
task it awaits with the same message, and each level sees it."""
import asyncio
from casetrace import emit, q, run


def msg(e):
    return q(e.args[0]) if e.args else "none"


async def main():
    loop = asyncio.get_running_loop()

    async def inner():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as e:
            emit("inner", e, msg(e))
            raise

    async def outer():
        try:
            await loop.create_task(inner())
        except asyncio.CancelledError as e:
            emit("outer", e, msg(e))
            raise

    t = loop.create_task(outer())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    t.cancel("shutting down")
    try:
        await t
    except asyncio.CancelledError as e:
        emit("main", e, msg(e))


run(main)
