"""Queue gives items first in, first out; LifoQueue last in, first out; PriorityQueue
smallest first."""
import asyncio
from casetrace import emit, run


async def main():
    for kind in (asyncio.Queue, asyncio.LifoQueue, asyncio.PriorityQueue):
        q = kind()
        for item in (3, 1, 4, 1, 5, 9, 2, 6):
            q.put_nowait(item)
        got = []
        while not q.empty():
            got.append(await q.get())
        emit(kind.__name__, *got)


run(main)
