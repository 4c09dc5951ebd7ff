"""as_completed with a timeout: what finishes in time comes out, then the next awaited result
raises TimeoutError."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    gate = loop.create_future()

    async def quick(name, steps):
        for _ in range(steps):
            await asyncio.sleep(0)
        return name

    # as_completed starts the awaitables from a set, in no defined order: distinct step
    # counts keep the finishing order deterministic.
    aws = [quick("a", 3), gate, quick("b", 1)]
    for next_done in asyncio.as_completed(aws, timeout=0.5):
        try:
            emit("completed", await next_done)
        except TimeoutError as e:
            emit("timeout", e)
    emit("gate", "cancelled", gate.cancelled())


run(main)
