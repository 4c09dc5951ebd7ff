"""readexactly when the peer closes early: IncompleteReadError with the partial data and the
expected size; the reader is then at EOF and read() returns empty."""
import asyncio
from casetrace import emit, run


async def main():
    async def serve(reader, writer):
        writer.write(b"abc")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    emit("readexactly", 2, await reader.readexactly(2))
    try:
        await reader.readexactly(5)
    except asyncio.IncompleteReadError as e:
        emit("readexactly", 5, e, "partial", e.partial, "expected", e.expected)
    emit("read", await reader.read(), "at_eof", reader.at_eof())
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


run(main)
