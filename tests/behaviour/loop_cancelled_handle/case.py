"""A cancelled handle never runs, whether a call_soon or a timer, and whether it is cancelled
before its iteration or by a callback that runs earlier in the same iteration."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    h1 = loop.call_soon(emit, "never", "soon")
    t1 = loop.call_later(0.01, emit, "never", "timer")
    h1.cancel()
    t1.cancel()
    emit("cancelled", h1.cancelled(), t1.cancelled())
    h3 = None
    loop.call_soon(lambda: (emit("cancel-sibling"), h3.cancel()))
    h3 = loop.call_soon(emit, "never", "sibling")
    loop.call_soon(emit, "runs")
    loop.call_later(0.05, done.set_result, None)
    await done
    h1.cancel()  # cancelling twice is harmless
    emit("done", h3.cancelled())


run(main)
