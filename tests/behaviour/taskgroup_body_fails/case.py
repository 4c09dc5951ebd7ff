"""The body of a TaskGroup raises: the child is cancelled, and the group raises a group
holding the error the child raised as it unwound, then the body's error. (One child only:
asyncio cancels the children from a set, in no defined order.)"""
import asyncio
import errno
from casetrace import emit, run


async def child(name, fail_on_cancel=False):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError as e:
        emit("child", name, e)
        if fail_on_cancel:
            raise OSError(errno.EPERM, "cleanup failed")
        raise


async def main():
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("b", fail_on_cancel=True))
            await asyncio.sleep(0)
            emit("body", "raises")
            raise OSError(errno.EIO, "body failed")
    except BaseExceptionGroup as e:
        emit("group", e)


run(main)
