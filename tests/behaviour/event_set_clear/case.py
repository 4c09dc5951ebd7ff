"""Event: set() wakes every waiter, in the order they waited; wait() on a set event returns at
once; clear() makes later waiters wait again."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    ev = asyncio.Event()

    async def waiter(name):
        emit("waits", name)
        await ev.wait()
        emit("woken", name)

    tasks = [loop.create_task(waiter(n)) for n in ("a", "b", "c")]
    await asyncio.sleep(0)
    emit("set")
    ev.set()
    emit("is_set", ev.is_set())
    await asyncio.gather(*tasks)
    emit("wait-on-set", await ev.wait())
    ev.clear()
    late = loop.create_task(waiter("late"))
    await asyncio.sleep(0)
    emit("late", "done", late.done())
    ev.set()
    await late


run(main)
