"""The task running a TaskGroup is cancelled from outside in the same iteration as a child
fails. The group still raises the group of errors (the child's failure is not lost)."""
import asyncio
import errno
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    gate = loop.create_future()

    async def failing():
        await gate
        emit("child", "raises")
        raise OSError(errno.EIO, "child failed")

    async def parent():
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(failing())
                await asyncio.sleep(10)
        except BaseExceptionGroup as e:
            emit("parent", "group", e, "cancelling", asyncio.current_task().cancelling())
            raise
        except asyncio.CancelledError as e:
            emit("parent", "cancelled", e)
            raise

    p = loop.create_task(parent())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gate.set_result(None)  # the child runs and fails in the next iteration
    p.cancel()
    try:
        await p
    except BaseExceptionGroup as e:
        emit("main", "group", e)
    except asyncio.CancelledError as e:
        emit("main", "cancelled", e)
    emit("parent-task", "cancelled", p.cancelled())


run(main)
