"""call_at with a deadline in the past runs in the next iteration, after the call_soon
callbacks that were already queued (due timers join the ready queue behind them)."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_soon(emit, "soon-1")
    loop.call_at(loop.time() - 10, emit, "past-1")
    loop.call_at(loop.time() - 20, emit, "past-2-earlier")
    loop.call_soon(emit, "soon-2")
    loop.call_later(-1, emit, "later-negative")
    loop.call_soon(done.set_result, None)
    await done
    await asyncio.sleep(0)
    emit("done")


run(main)
