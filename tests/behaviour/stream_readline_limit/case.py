"""A reader with an 8-byte limit. readuntil past the limit fails with LimitOverrunError and
keeps the data; readline past the limit fails too but drops the line through its newline;
what follows stays buffered."""
import asyncio
from casetrace import emit, run


async def main():
    async def serve(reader, writer):
        writer.write(b"0123456789abcdef\nshort\n0123456789ABCDEF\nnext\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=8)
    await asyncio.sleep(0.05)  # the whole message is in before the first read
    try:
        await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as e:
        emit("readuntil", e)
    emit("readexactly", await reader.readexactly(17))
    emit("readline", await reader.readline())
    try:
        await reader.readline()
    except ValueError as e:
        emit("readline", e)
    emit("readline", await reader.readline())
    emit("readline", await reader.readline(), "at_eof", reader.at_eof())
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


run(main)
