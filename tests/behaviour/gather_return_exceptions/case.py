"""gather(return_exceptions=True) waits for every child and returns results and errors in
argument order, whatever order they finished in."""
import asyncio
import errno
from casetrace import emit, run


async def child(name, steps, fail=None):
    for _ in range(steps):
        await asyncio.sleep(0)
    emit("child", name, "ends")
    if fail is not None:
        raise OSError(fail, name)
    return name


async def main():
    results = await asyncio.gather(child("a", 3), child("b", 1, errno.EIO), child("c", 2),
                                   child("d", 0, errno.EPERM), return_exceptions=True)
    emit("results", *results)


run(main)
