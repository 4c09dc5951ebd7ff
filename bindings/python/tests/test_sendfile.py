"""loop.sendfile and loop.sock_sendfile on weft's loop."""

import asyncio
import io
import os
import socket
import tempfile

import pytest

import weft

SIZE = 5 * 1024 * 1024 + 123
DATA = bytes(range(256)) * (SIZE // 256) + b"\x01" * (SIZE % 256)


@pytest.fixture(scope="module")
def data_file():
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(DATA)
    yield f.name
    os.unlink(f.name)


class Sink(asyncio.Protocol):
    def __init__(self):
        self.data = bytearray()
        self.done = asyncio.get_running_loop().create_future()

    def data_received(self, data):
        self.data += data

    def connection_lost(self, exc):
        self.done.set_result(exc)


async def _pair():
    """A client transport and the server-side Sink that receives what it sends."""
    loop = asyncio.get_running_loop()
    sinks = []

    def factory():
        sinks.append(Sink())
        return sinks[-1]

    server = await loop.create_server(factory, "127.0.0.1", 0)
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1",
                                                server.sockets[0].getsockname()[1])
    while not sinks:
        await asyncio.sleep(0.001)
    return server, transport, sinks[0]


def test_transport_sendfile_large_and_ranges(data_file):
    async def main():
        loop = asyncio.get_running_loop()
        server, transport, sink = await _pair()
        with open(data_file, "rb") as f:
            transport.write(b"<")
            assert await loop.sendfile(transport, f) == SIZE
            assert f.tell() == SIZE
            assert await loop.sendfile(transport, f, 1000, 5000) == 5000
            assert f.tell() == 6000
            assert await loop.sendfile(transport, f, SIZE - 10) == 10  # from offset to end
            assert await loop.sendfile(transport, f, SIZE + 10) == 0  # past the end
            transport.write(b">")
        transport.close()
        await asyncio.wait_for(sink.done, 10)
        assert bytes(sink.data) == b"<" + DATA + DATA[1000:6000] + DATA[-10:] + b">"
        with open(data_file, "rb") as f:
            with pytest.raises(RuntimeError, match="Transport is closing"):
                await loop.sendfile(transport, f)
            assert f.tell() == 0
        server.close()
        await server.wait_closed()

    weft.run(main())


def test_fallback_and_refusals(data_file):
    async def main():
        loop = asyncio.get_running_loop()
        server, transport, sink = await _pair()
        memory = io.BytesIO(DATA[:100_000])  # no descriptor: only the fallback can send it
        with pytest.raises(asyncio.SendfileNotAvailableError):
            await loop.sendfile(transport, memory, fallback=False)
        assert await loop.sendfile(transport, memory, 10) == 100_000 - 10
        assert memory.tell() == 100_000
        with open(data_file, "rb") as f:
            with pytest.raises(ValueError, match="count must be a positive integer"):
                await loop.sendfile(transport, f, 0, 0)
            with pytest.raises(ValueError, match="offset must be a non-negative integer"):
                await loop.sendfile(transport, f, -1)
        transport.close()
        await asyncio.wait_for(sink.done, 10)
        assert bytes(sink.data) == DATA[10:100_000]
        server.close()
        await server.wait_closed()

    weft.run(main())


def test_bare_write_during_sendfile_is_refused(data_file):
    async def main():
        loop = asyncio.get_running_loop()
        server, transport, sink = await _pair()
        with open(data_file, "rb") as f:
            task = asyncio.create_task(loop.sendfile(transport, f))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="sendfile is in progress"):
                transport.write(b"x")
            assert await task == SIZE
        transport.write(b"after")  # allowed again
        transport.close()
        await asyncio.wait_for(sink.done, 10)
        assert bytes(sink.data) == DATA + b"after"
        server.close()

    weft.run(main())


def test_peer_closing_midway_fails_and_sets_position(data_file):
    class Impatient(Sink):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            super().data_received(data)
            self.transport.abort()  # after the first bytes

    async def main():
        loop = asyncio.get_running_loop()
        sink = None

        def factory():
            nonlocal sink
            sink = Impatient()
            return sink

        server = await loop.create_server(factory, "127.0.0.1", 0)
        transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1",
                                                    server.sockets[0].getsockname()[1])
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                                      4096)
        with open(data_file, "rb") as f:
            with pytest.raises(ConnectionError):
                await asyncio.wait_for(loop.sendfile(transport, f), 10)
            assert 0 < f.tell() < SIZE  # where the sending stopped
        await asyncio.wait_for(sink.done, 10)
        transport.close()
        server.close()
        await server.wait_closed()

    weft.run(main())


def test_sock_sendfile(data_file):
    async def main():
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        client = socket.socket()
        client.setblocking(False)
        await loop.sock_connect(client, listener.getsockname())
        peer, _ = await loop.sock_accept(listener)
        received = bytearray()

        async def drain():
            while chunk := await loop.sock_recv(peer, 1 << 16):
                received.extend(chunk)

        reading = asyncio.create_task(drain())
        with open(data_file, "rb") as f:
            assert await loop.sock_sendfile(client, f) == SIZE
            assert f.tell() == SIZE
            assert await loop.sock_sendfile(client, f, 7, 1000) == 1000
            assert f.tell() == 1007
        assert await loop.sock_sendfile(client, io.BytesIO(b"tail")) == 4
        with pytest.raises(asyncio.SendfileNotAvailableError):
            await loop.sock_sendfile(client, io.BytesIO(b"no"), fallback=False)
        client.close()
        await asyncio.wait_for(reading, 10)
        assert bytes(received) == DATA + DATA[7:1007] + b"tail"
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(ValueError, match="SOCK_STREAM"):
            await loop.sock_sendfile(udp, io.BytesIO(b""))
        udp.close()
        for s in (peer, listener):
            s.close()

    weft.run(main())
