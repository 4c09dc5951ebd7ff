"""reschedule moves a timeout's deadline: later lets the body finish, into the past expires it
at the next await, None disarms it; when() reports the deadline."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(0.02) as cm:
        cm.reschedule(loop.time() + 10)
        await asyncio.sleep(0.05)
        emit("later", "body-finished")
    emit("later", "expired", cm.expired())
    async with asyncio.timeout(0.02) as cm:
        cm.reschedule(None)
        emit("disarmed", "when", cm.when())
        await asyncio.sleep(0.05)
    emit("disarmed", "expired", cm.expired())
    try:
        async with asyncio.timeout(10) as cm:
            await asyncio.sleep(0)
            cm.reschedule(loop.time() - 1)
            emit("past", "rescheduled")
            await asyncio.sleep(10)
    except TimeoutError as e:
        emit("past", e, "expired", cm.expired())
    try:
        cm.reschedule(loop.time() + 10)
    except RuntimeError as e:
        emit("reschedule-after-expiry", e)


run(main)
