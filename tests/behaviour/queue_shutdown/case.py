"""shutdown(): put is refused at once, waiting putters are woken with QueueShutDown, getters
drain what is left and then get QueueShutDown too."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    q = asyncio.Queue(maxsize=2)
    q.put_nowait(1)
    q.put_nowait(2)

    async def putter():
        try:
            await q.put(3)
            emit("putter", "put")
        except asyncio.QueueShutDown as e:
            emit("putter", e)

    p = loop.create_task(putter())
    await asyncio.sleep(0)
    q.shutdown()
    await p
    try:
        q.put_nowait(4)
    except asyncio.QueueShutDown as e:
        emit("put_nowait", e)
    for _ in range(3):
        try:
            emit("get", await q.get())
        except asyncio.QueueShutDown as e:
            emit("get", e)


run(main)
