"""as_completed yields results in the order they finish, not argument order."""
import asyncio
from casetrace import emit, run


async def after(name, steps):
    for _ in range(steps):
        await asyncio.sleep(0)
    return name


async def main():
    # as_completed starts the awaitables from a set, in no defined order: distinct step
    # counts keep the finishing order deterministic.
    aws = [after(n, s) for n, s in (("a", 6), ("b", 2), ("c", 4), ("d", 0))]
    for next_done in asyncio.as_completed(aws):
        emit("completed", await next_done)


run(main)
