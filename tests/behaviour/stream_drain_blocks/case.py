"""drain waits while the peer does not read and the write buffer is above its high-water mark;
it returns once the peer reads, and every byte arrives."""
import asyncio
from casetrace import emit, run

SIZE = 16 * 1024 * 1024  # more than the kernel buffers of both sockets hold


async def main():
    loop = asyncio.get_running_loop()
    start_reading = asyncio.Event()
    received = loop.create_future()

    async def serve(reader, writer):
        await start_reading.wait()
        data = await reader.readexactly(SIZE)
        received.set_result(len(data))
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.transport.set_write_buffer_limits(high=64 * 1024)
    writer.write(b"x" * SIZE)
    drain = loop.create_task(writer.drain())
    await asyncio.sleep(0.1)
    emit("drain", "done", drain.done())
    start_reading.set()
    await drain
    emit("drain", "returned")
    emit("peer", "received", await received)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


run(main)
