"""A done future refuses set_result and set_exception (InvalidStateError), keeps its first
outcome, and cancel() on it returns false; a pending future's result() is refused too."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    try:
        fut.result()
    except BaseException as e:
        emit("result-pending", e)
    fut.set_result(1)
    for name, call in (("set_result", lambda: fut.set_result(2)),
                       ("set_exception", lambda: fut.set_exception(OSError(5, "io")))):
        try:
            call()
            emit(name, "ok")
        except BaseException as e:
            emit(name, e)
    emit("cancel", fut.cancel())
    emit("result", fut.result())
    c = loop.create_future()
    c.cancel()
    try:
        c.set_result(3)
    except BaseException as e:
        emit("set_result-cancelled", e)
    emit("cancelled", c.cancelled())


run(main)
