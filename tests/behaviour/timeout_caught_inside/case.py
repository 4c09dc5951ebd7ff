"""A task that catches the timeout's CancelledError inside the block and goes on: the block
ends normally, with no TimeoutError, but says it expired."""
import asyncio
from casetrace import emit, run


async def main():
    async with asyncio.timeout(0.05) as cm:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as e:
            emit("caught", e)
        await asyncio.sleep(0)
        emit("body", "continues")
    emit("block-ended", "expired", cm.expired(),
         "cancelling", asyncio.current_task().cancelling())


run(main)
