"""get_nowait on an empty queue raises QueueEmpty; put_nowait on a full one QueueFull; the
queue is unchanged by either."""
import asyncio
from casetrace import emit, run


async def main():
    q = asyncio.Queue(maxsize=1)
    try:
        q.get_nowait()
    except asyncio.QueueEmpty as e:
        emit("get_nowait-empty", e)
    q.put_nowait("x")
    try:
        q.put_nowait("y")
    except asyncio.QueueFull as e:
        emit("put_nowait-full", e)
    emit("qsize", q.qsize(), "get", q.get_nowait())


run(main)
