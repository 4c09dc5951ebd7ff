"""One child of a TaskGroup fails: its sibling is cancelled, the body's await is cancelled,
and the group raises a group of the one error. (One sibling only: asyncio cancels the children from a set, in no
defined order.)"""
import asyncio
import errno
from casetrace import emit, run


async def sibling(name):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        emit("sibling", name, e)
        raise


async def failing():
    await asyncio.sleep(0)
    emit("failing", "raises")
    raise OSError(errno.EIO, "child failed")


async def main():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(sibling("a"))
            tg.create_task(failing())
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError as e:
                emit("body", e)
                raise
    except BaseExceptionGroup as e:
        emit("group", e)
    emit("cancelling", asyncio.current_task().cancelling())


run(main)
