"""call_soon_threadsafe made from the loop's own thread joins the same queue as call_soon:
callbacks run in the order they were scheduled, whichever call made them."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(emit, "soon-1")
    loop.call_soon_threadsafe(emit, "threadsafe-1")
    loop.call_soon(emit, "soon-2")
    loop.call_soon_threadsafe(emit, "threadsafe-2")
    loop.call_soon_threadsafe(emit, "threadsafe-3")
    loop.call_soon(emit, "soon-3")
    loop.call_soon(done.set_result, None)
    await done
    emit("done")


run(main)
