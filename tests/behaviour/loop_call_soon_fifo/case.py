"""call_soon runs callbacks in the order they were scheduled, each with its arguments."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    for i in range(5):
        loop.call_soon(emit, "cb", i)
    loop.call_soon(emit, "cb", "last", "two-args")
    loop.call_soon(done.set_result, None)
    emit("scheduled")
    await done
    emit("done")


run(main)
