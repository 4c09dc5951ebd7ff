"""Timers run in deadline order, whatever order they were scheduled in."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    t0 = loop.time()
    for name, delay in (("c", 0.15), ("a", 0.05), ("e", 0.25), ("b", 0.10), ("d", 0.20)):
        loop.call_at(t0 + delay, emit, "timer", name)
    loop.call_at(t0 + 0.30, done.set_result, None)
    loop.call_later(0, emit, "timer", "now")
    emit("scheduled")
    await done
    emit("done")


run(main)
