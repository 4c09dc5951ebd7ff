"""Barrier: parties wait until all have arrived, each gets its arrival index; abort() breaks it
and every waiter, present and later, gets BrokenBarrierError."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    barrier = asyncio.Barrier(3)

    async def party(name):
        try:
            emit("arrives", name)
            index = await barrier.wait()
            emit("passes", name, index)
        except asyncio.BrokenBarrierError as e:
            emit("broken", name, e)

    await asyncio.gather(*(party(n) for n in ("a", "b", "c")))
    emit("n_waiting", barrier.n_waiting, "broken", barrier.broken)
    tasks = [loop.create_task(party(n)) for n in ("x", "y")]
    await asyncio.sleep(0)
    emit("n_waiting", barrier.n_waiting)
    await barrier.abort()
    await asyncio.gather(*tasks)
    emit("broken", barrier.broken)
    await party("late")


run(main)
