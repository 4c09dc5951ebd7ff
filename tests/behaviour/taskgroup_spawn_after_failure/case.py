"""Once a child has failed the group is shutting down: create_task is refused (the state
error, RuntimeError in Python) and the new coroutine never runs; after the group has
finished it is refused too."""
import asyncio
import errno
from casetrace import emit, run


async def failing():
    raise OSError(errno.EIO, "child failed")


async def late():
    emit("late", "runs")


async def main():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(failing())
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError as e:
                emit("body", e)
            coro = late()
            try:
                tg.create_task(coro)
                emit("spawned")
            except RuntimeError as e:
                emit("spawn-after-failure", e)
                coro.close()
    except BaseExceptionGroup as e:
        emit("group", e)
    coro = late()
    try:
        tg.create_task(coro)
    except RuntimeError as e:
        emit("spawn-after-exit", e)
        coro.close()


run(main)
