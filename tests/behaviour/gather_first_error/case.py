"""gather without return_exceptions raises the first error as soon as it happens; the other
children are not cancelled and run on to the end."""
import asyncio
import errno
from casetrace import emit, run


async def child(name, steps, fail=None):
    try:
        for _ in range(steps):
            await asyncio.sleep(0)
    except asyncio.CancelledError as e:
        emit("child", name, e)
        raise
    emit("child", name, "ends")
    if fail is not None:
        raise OSError(fail, name)
    return name


async def main():
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(child("a", 4)), loop.create_task(child("b", 1, errno.EIO)),
             loop.create_task(child("c", 2, errno.EPERM))]
    try:
        await asyncio.gather(*tasks)
    except OSError as e:
        emit("gather", e)
    emit("states", *("done" if t.done() else "pending" for t in tasks))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    emit("a", tasks[0].result(), "c", tasks[2].exception())


run(main)
