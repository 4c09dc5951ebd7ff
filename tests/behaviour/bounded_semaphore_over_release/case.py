"""BoundedSemaphore: releasing more than was acquired is refused (a state error, ValueError
in Python) and the count does not move."""
import asyncio
from casetrace import emit, run


async def main():
    sem = asyncio.BoundedSemaphore(1)
    await sem.acquire()
    sem.release()
    try:
        sem.release()
        emit("over-release", "accepted")
    except ValueError as e:
        emit("over-release", e)
    emit("acquire", await sem.acquire(), "locked", sem.locked())
    sem.release()


run(main)
