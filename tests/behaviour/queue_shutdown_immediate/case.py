"""shutdown(immediate=True): the items left are dropped (counted as done, so join returns),
and waiting getters are woken with QueueShutDown."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    empty = asyncio.Queue()

    async def getter():
        try:
            emit("getter", await empty.get())
        except asyncio.QueueShutDown as e:
            emit("getter", e)

    g = loop.create_task(getter())
    for item in (1, 2, 3):
        q.put_nowait(item)
    joiner = loop.create_task(q.join())
    await asyncio.sleep(0)
    q.shutdown(immediate=True)
    empty.shutdown(immediate=True)
    await g
    await joiner
    emit("joined", "qsize", q.qsize())
    try:
        await q.get()
    except asyncio.QueueShutDown as e:
        emit("get", e)


run(main)
