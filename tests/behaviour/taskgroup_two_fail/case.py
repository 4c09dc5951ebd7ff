"""Two children fail in the same iteration: the group's error holds both, in the order they
failed, and the remaining child is cancelled once."""
import asyncio
import errno
from casetrace import emit, run


async def failing(code, steps):
    for _ in range(steps):
        await asyncio.sleep(0)
    emit("failing", errno.errorcode[code])
    raise OSError(code, "child failed")


async def slow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        emit("slow", e)
        raise


async def main():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(failing(errno.EIO, 1))
            tg.create_task(slow())
            tg.create_task(failing(errno.EPERM, 1))
    except BaseExceptionGroup as e:
        emit("group", e)


run(main)
