"""A callback that raises does not stop the loop: the error goes to the exception handler,
and the callbacks queued after it still run, in order."""
import asyncio
import errno
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def handler(loop_, context):
        emit("handler", context.get("exception"))

    def failing():
        emit("failing", "raises")
        raise OSError(errno.EIO, "callback failed")

    loop.set_exception_handler(handler)
    loop.call_soon(failing)
    loop.call_soon(emit, "next")
    loop.call_later(0.01, failing)
    loop.call_later(0.05, done.set_result, None)
    await done
    loop.set_exception_handler(None)
    emit("done")


run(main)
