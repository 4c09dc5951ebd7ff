"""readuntil over loopback TCP with the separator split across two writes: the read waits for
the second part and returns through the separator; the rest stays for the next read."""
import asyncio
from casetrace import emit, run


async def main():
    async def serve(reader, writer):
        for part in (b"hel", b"lo\r", b"\nwor", b"ld\r\n"):
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.02)  # so that the parts arrive apart
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    emit("readuntil", await reader.readuntil(b"\r\n"))
    emit("readuntil", await reader.readuntil(b"\r\n"))
    try:
        await reader.readuntil(b"\r\n")
    except asyncio.IncompleteReadError as e:
        emit("readuntil-at-eof", e, "partial", e.partial)
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


run(main)
