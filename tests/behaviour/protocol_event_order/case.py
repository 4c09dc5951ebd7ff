"""A client Protocol over loopback TCP hears connection_made, then the data, then
eof_received, then connection_lost with no error, in that order; returning false from
eof_received closes the transport."""
import asyncio
from casetrace import emit, run


async def main():
    loop = asyncio.get_running_loop()
    lost = loop.create_future()

    class Client(asyncio.Protocol):
        def __init__(self):
            self.data = b""

        def connection_made(self, transport):
            emit("connection_made", transport.is_closing())

        def data_received(self, data):
            if not self.data:
                emit("data_received")
            self.data += data

        def eof_received(self):
            emit("eof_received", self.data)
            return False

        def connection_lost(self, exc):
            emit("connection_lost", exc)
            lost.set_result(None)

    async def serve(reader, writer):
        writer.write(b"hello, ")
        writer.write(b"world")
        await writer.drain()
        writer.write_eof()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(Client, "127.0.0.1", port)
    await lost
    emit("closing", transport.is_closing())
    server.close()
    await server.wait_closed()


run(main)
