"""Timers with the same deadline. weft runs them in scheduling order; asyncio's timer heap
compares deadlines only, so its order for ties follows the heap's shape (deterministic, but
not the scheduling order). expected.txt is asyncio's order; known_differences.txt lists
weft's deliberate difference (docs/design.md, "Where C differs from asyncio")."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    t0 = loop.time()
    loop.call_at(t0 + 0.10, emit, "timer", "c-0.10")
    loop.call_at(t0 + 0.05, emit, "timer", "a-0.05")
    loop.call_at(t0 + 0.05, emit, "timer", "b-0.05")
    loop.call_at(t0 + 0.15, done.set_result, None)
    loop.call_at(t0 + 0.10, emit, "timer", "d-0.10")
    emit("scheduled")
    await done
    emit("done")


run(main)
