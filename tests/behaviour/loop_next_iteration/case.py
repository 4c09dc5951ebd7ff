"""A callback scheduled while the ready callbacks run waits for the next iteration: it runs
after every callback that was already queued."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def first():
        emit("first")
        loop.call_soon(emit, "scheduled-by-first")

    def third():
        emit("third")
        loop.call_soon(done.set_result, None)

    loop.call_soon(first)
    loop.call_soon(emit, "second")
    loop.call_soon(third)
    await done
    emit("done")


run(main)
