"""wait(ALL_COMPLETED), the default, waits for every awaitable, errors included, and raises
nothing itself."""
import asyncio
import errno
from casetrace import emit, run


async def after(name, steps, fail=False):
    for _ in range(steps):
        await asyncio.sleep(0)
    emit("finished", name)
    if fail:
        raise OSError(errno.EPERM, name)
    return name


async def main():
    loop = asyncio.get_running_loop()
    ts = [loop.create_task(after(n, s, f)) for n, s, f in (("a", 3, False), ("b", 1, True),
                                                           ("c", 2, False))]
    done, pending = await asyncio.wait(ts)
    emit("done", len(done), "pending", len(pending))
    emit("outcomes", ts[0].result(), ts[1].exception(), ts[2].result())


run(main)
