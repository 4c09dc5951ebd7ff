"""Semaphore: acquire takes a permit without waiting while there is one; waiters get released
permits in the order they waited."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(2)

    async def worker(name):
        async with sem:
            emit("enter", name, "locked", sem.locked())
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        emit("exit", name)

    await asyncio.gather(*(worker(n) for n in ("a", "b", "c", "d", "e")))
    emit("locked", sem.locked())
    sem.release()  # a plain Semaphore may go above its initial value
    emit("acquire-three", await sem.acquire(), await sem.acquire(), await sem.acquire())
    emit("locked", sem.locked())


run(main)
