"""wait with a timeout returns what finished by then and leaves the rest running (no error,
no cancellation)."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    fast = loop.create_task(asyncio.sleep(0, "fast"))
    slow_gate = loop.create_future()
    slow = loop.create_task(asyncio.wait_for(slow_gate, None))
    done, pending = await asyncio.wait([fast, slow], timeout=0.05)
    emit("done", len(done), fast in done, "pending", len(pending), slow in pending)
    emit("slow-cancelled", slow.cancelled())
    slow_gate.set_result("slow")
    emit("slow", await slow)


run(main)
