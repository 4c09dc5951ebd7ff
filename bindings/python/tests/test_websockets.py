"""A real program on weft: a websockets server and client, and their closing handshake.

The server ends a websocket by half-closing TCP (transport.can_write_eof, write_eof) once
the close frames are exchanged; the client then closes. When can_write_eof raised on weft,
the server never sent its EOF and the client sat out its close timeout instead."""

import asyncio

import pytest

import weft

websockets = pytest.importorskip("websockets")
pytest.importorskip("websockets.asyncio.server")
from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import serve  # noqa: E402

LOOPS = [asyncio.new_event_loop, weft.new_event_loop]


@pytest.mark.parametrize("loop_factory", LOOPS, ids=["asyncio", "weft"])
def test_messages_then_a_closing_handshake_without_the_timeout(loop_factory):
    closed = []

    async def echo(ws):
        async for message in ws:
            await ws.send(message)
        closed.append(("server", ws.close_code))

    async def main():
        # A close timeout far beyond the test's own limit: closing must not wait for it.
        async with serve(echo, "127.0.0.1", 0, close_timeout=3600) as server:
            port = server.sockets[0].getsockname()[1]
            async with asyncio.timeout(60):
                async with connect(f"ws://127.0.0.1:{port}", close_timeout=3600) as ws:
                    for i in range(200):
                        await ws.send(f"message {i}")
                        assert await ws.recv() == f"message {i}"
                closed.append(("client", ws.close_code))
                server.close()
                await server.wait_closed()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
    assert sorted(closed) == [("client", 1000), ("server", 1000)]


@pytest.mark.parametrize("loop_factory", LOOPS, ids=["asyncio", "weft"])
def test_tcp_transport_can_write_eof(loop_factory):
    async def main():
        server = await asyncio.get_running_loop().create_server(asyncio.Protocol, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, _ = await asyncio.get_running_loop().create_connection(
            asyncio.Protocol, "127.0.0.1", port)
        try:
            return transport.can_write_eof()
        finally:
            transport.close()
            server.close()
            await server.wait_closed()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(main()) is True
