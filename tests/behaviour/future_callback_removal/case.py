"""remove_done_callback removes every registration of that callback and says how many."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def a(f):
        emit("callback", "a")

    def b(f):
        emit("callback", "b")

    fut.add_done_callback(a)
    fut.add_done_callback(b)
    fut.add_done_callback(a)
    emit("removed", fut.remove_done_callback(a))
    emit("removed", fut.remove_done_callback(a))
    fut.add_done_callback(a)
    fut.set_result(None)
    emit("removed-after-done", fut.remove_done_callback(b))
    await asyncio.sleep(0)
    emit("done")


run(main)
