"""wait(FIRST_EXCEPTION) returns at the first error; with no error it waits for all."""
import asyncio
import errno
from casetrace import emit, run


async def after(name, steps, fail=False):
    for _ in range(steps):
        await asyncio.sleep(0)
    if fail:
        raise OSError(errno.EIO, name)
    return name


def names(tasks):
    return sorted(t.get_name() for t in tasks)


async def main():
    loop = asyncio.get_running_loop()
    ts = [loop.create_task(after(n, s, f), name=n)
          for n, s, f in (("a", 1, False), ("b", 3, True), ("c", 6, False))]
    done, pending = await asyncio.wait(ts, return_when=asyncio.FIRST_EXCEPTION)
    emit("done", *names(done), "pending", *names(pending), "error", ts[1].exception())
    await asyncio.wait(pending)
    ok = [loop.create_task(after(n, s), name=n) for n, s in (("x", 2), ("y", 1))]
    done, pending = await asyncio.wait(ok, return_when=asyncio.FIRST_EXCEPTION)
    emit("no-error", "done", *names(done), "pending", len(pending))


run(main)
