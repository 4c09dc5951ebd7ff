"""A bounded queue: put waits while it is full and resumes, in order, as items are taken;
full() and qsize() track it."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    q = asyncio.Queue(maxsize=2)

    async def producer(items):
        for item in items:
            await q.put(item)
            emit("put", item, "qsize", q.qsize())

    p = loop.create_task(producer([1, 2, 3, 4]))
    await asyncio.sleep(0)
    emit("full", q.full(), "producer-done", p.done())
    for _ in range(4):
        emit("get", await q.get())
        await asyncio.sleep(0)
    await p
    emit("empty", q.empty())


run(main)
