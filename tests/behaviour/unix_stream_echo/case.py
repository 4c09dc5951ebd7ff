"""A Unix-socket stream server echoes lines back in upper case; the client reads each reply,
then EOF after it half-closes."""
import asyncio
import os
import tempfile
from casetrace import emit, run


async def main():
    async def serve(reader, writer):
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
        emit("server", "eof")
        writer.close()
        await writer.wait_closed()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "echo.sock")
        server = await asyncio.start_unix_server(serve, path)
        reader, writer = await asyncio.open_unix_connection(path)
        for line in (b"one\n", b"two\n"):
            writer.write(line)
            emit("reply", await reader.readline())
        writer.write_eof()
        emit("after-eof", await reader.read())
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()


run(main)
