"""A timeout fires only at an await: a body that does not await finishes even when the
deadline has already passed; the first await after the deadline raises TimeoutError at the
block's end, and work done in time is untouched."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(0) as cm:
        emit("no-await-body", "runs")
    emit("no-await", "expired", cm.expired())
    try:
        async with asyncio.timeout_at(loop.time() - 1) as cm:
            emit("past-deadline-body", "starts")
            await asyncio.sleep(0)
            emit("never")
    except TimeoutError as e:
        emit("past-deadline", e, "expired", cm.expired())
    try:
        async with asyncio.timeout(0.05) as cm:
            await asyncio.sleep(10)
    except TimeoutError as e:
        emit("sleep-too-long", e, "expired", cm.expired())
    async with asyncio.timeout(10) as cm:
        await asyncio.sleep(0.01)
    emit("in-time", "expired", cm.expired())
    async with asyncio.timeout(None) as cm:
        await asyncio.sleep(0)
    emit("none", "when", cm.when())


run(main)
