"""Nested timeouts where the outer fires first: the inner block lets the cancellation through
(it is not its own), the outer turns it into TimeoutError; only the outer says expired. Then the inner fires first: its TimeoutError passes through
the outer block unchanged."""
import asyncio
from casetrace import emit, run


async def main():
    try:
        async with asyncio.timeout(0.05) as outer:
            try:
                async with asyncio.timeout(10) as inner:
                    await asyncio.sleep(10)
            except asyncio.CancelledError as e:
                emit("inner-block", e, "inner-expired", inner.expired())
                raise
    except TimeoutError as e:
        emit("outer-block", e, "outer-expired", outer.expired())
    emit("cancelling", asyncio.current_task().cancelling())
    try:
        async with asyncio.timeout(10) as outer:
            async with asyncio.timeout(0.05) as inner:
                await asyncio.sleep(10)
    except TimeoutError as e:
        emit("inner-first", e)
    emit("end", "outer", outer.expired(), "inner", inner.expired())


run(main)
