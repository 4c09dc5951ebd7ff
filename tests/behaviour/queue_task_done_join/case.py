"""join waits until task_done has been called once per item put; calling task_done more
often than that is refused (a state error, ValueError in Python)."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()
    for item in ("a", "b", "c"):
        q.put_nowait(item)

    async def consumer():
        while True:
            item = await q.get()
            await asyncio.sleep(0)
            emit("processed", item)
            q.task_done()

    c = loop.create_task(consumer())
    await q.join()
    emit("joined", "qsize", q.qsize())
    emit("join-again", await q.join())
    c.cancel()
    try:
        q.task_done()
    except ValueError as e:
        emit("task_done-too-often", e)


run(main)
