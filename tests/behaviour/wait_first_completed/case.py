"""wait(FIRST_COMPLETED) returns once any one finishes; the rest stay pending, uncancelled."""
import asyncio
from casetrace import emit, run


async def after(name, steps):
    for _ in range(steps):
        await asyncio.sleep(0)
    return name


async def main():
    loop = asyncio.get_running_loop()
    tasks = {n: loop.create_task(after(n, s)) for n, s in (("a", 5), ("b", 2), ("c", 8))}
    done, pending = await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_COMPLETED)
    emit("done", *sorted(t.result() for t in done))
    emit("pending", *sorted(n for n, t in tasks.items() if t in pending))
    done, pending = await asyncio.wait(pending)
    emit("then-done", *sorted(t.result() for t in done), "pending", len(pending))


run(main)
