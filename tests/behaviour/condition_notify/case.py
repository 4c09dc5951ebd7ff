"""Condition: notify(n) wakes the n longest waiters, in order, each re-acquiring the lock in
turn; notify_all wakes the rest; notifying without the lock is refused."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    cond = asyncio.Condition()

    async def waiter(name):
        async with cond:
            emit("waits", name)
            await cond.wait()
            emit("woken", name, "holds-lock", cond.locked())
            await asyncio.sleep(0)

    tasks = [loop.create_task(waiter(n)) for n in ("a", "b", "c", "d", "e")]
    await asyncio.sleep(0)
    async with cond:
        emit("notify", 2)
        cond.notify(2)
    await asyncio.sleep(0.01)
    async with cond:
        emit("notify_all")
        cond.notify_all()
    await asyncio.gather(*tasks)
    try:
        cond.notify()
    except RuntimeError as e:
        emit("notify-unlocked", e)


run(main)
