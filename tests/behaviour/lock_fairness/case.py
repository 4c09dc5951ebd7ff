"""Lock: waiters acquire in the order they started waiting; locked() tracks the state; a
waiter cancelled in the queue is skipped; releasing an unlocked lock is refused."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    emit("locked", lock.locked())
    await lock.acquire()
    emit("locked", lock.locked())

    async def waiter(name):
        async with lock:
            emit("holds", name)
            await asyncio.sleep(0)
        emit("released", name)

    tasks = [loop.create_task(waiter(n)) for n in ("a", "b", "c", "d")]
    await asyncio.sleep(0)
    tasks[1].cancel()
    lock.release()
    await asyncio.gather(*tasks, return_exceptions=True)
    emit("b", "cancelled", tasks[1].cancelled(), "locked", lock.locked())
    try:
        lock.release()
    except RuntimeError as e:
        emit("release-unlocked", e)


run(main)
