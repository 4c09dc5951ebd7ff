"""When main returns, the runner cancels the tasks still pending and lets them finish
their cleanup (which may await) before the loop closes."""
import asyncio
from casetrace import emit, run


async def leftover(name):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        emit("leftover", name, e)
        await asyncio.sleep(0)
        emit("leftover", name, "cleanup-done")
        raise


async def main():
    asyncio.get_running_loop().create_task(leftover("a"))
    await asyncio.sleep(0)
    emit("main", "returns")


run(main)
