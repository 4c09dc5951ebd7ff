"""cancel(msg) keeps the message: the awaiter's CancelledError carries it, and so do
result() and exception() afterwards."""
import asyncio
from casetrace import emit, q, run


def msg(e):
    return q(e.args[0]) if e.args else "none"


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    async def waiter():
        try:
            await fut
        except asyncio.CancelledError as e:
            emit("waiter", e, msg(e))
            raise

    t = loop.create_task(waiter())
    await asyncio.sleep(0)
    emit("cancel", fut.cancel(msg="stop now"))
    emit("cancel-again", fut.cancel(msg="other"))
    for what in ("result", "exception"):
        try:
            getattr(fut, what)()
        except asyncio.CancelledError as e:
            emit(what, e, msg(e))
    try:
        await t
    except asyncio.CancelledError as e:
        emit("task", e, t.cancelled())
    plain = loop.create_future()
    plain.cancel()
    try:
        plain.result()
    except asyncio.CancelledError as e:
        emit("no-message", e, msg(e))


run(main)
