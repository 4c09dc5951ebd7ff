"""Done callbacks are scheduled, not run inline: set_result returns first, then they run in
registration order; a callback added to a done future is scheduled too."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    for name in ("a", "b", "c"):
        fut.add_done_callback(lambda f, name=name: emit("callback", name, f.result()))
    fut.set_result(7)
    emit("set_result-returned")
    fut.add_done_callback(lambda f: emit("callback", "late", f.result()))
    emit("added-late")
    await asyncio.sleep(0)
    emit("after-one-step")
    await asyncio.sleep(0)
    emit("done")


run(main)
