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
    # 200 messages each way, then the client closes with a code and a reason. Each side
    # must have received the other's close frame and seen the TCP connection end by
    # itself: when the closing handshake sits out its close timeout instead, websockets
    # aborts the connection and records TimeoutError("timed out while closing
    # connection") as connection_exc, which fails this test on any machine, fast or slow.
    ends = {}

    def end_of(ws):
        return {"close frame received": (ws.protocol.close_rcvd.code,
                                         ws.protocol.close_rcvd.reason)
                if ws.protocol.close_rcvd else None,
                "close frame sent": ws.protocol.close_sent is not None,
                "connection_exc": repr(ws.connection_exc)}

    async def echo(ws):
        async for message in ws:
            await ws.send(message)
        await ws.wait_closed()
        ends["server"] = end_of(ws)

    async def main():
        # A close timeout well beyond what a closing handshake needs on a loaded machine,
        # short enough that a handshake waiting for it fails the test in good time.
        async with serve(echo, "127.0.0.1", 0, close_timeout=30) as server:
            port = server.sockets[0].getsockname()[1]
            async with connect(f"ws://127.0.0.1:{port}", close_timeout=30) as ws:
                for i in range(200):
                    await ws.send(f"message {i}")
                    assert await ws.recv() == f"message {i}"
                await ws.close(1000, "done")
                ends["client"] = end_of(ws)
            while "server" not in ends:
                await asyncio.sleep(0)
            server.close()
            await server.wait_closed()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())
    # The server echoes the client's close frame, as RFC 6455 asks.
    assert ends == {side: {"close frame received": (1000, "done"), "close frame sent": True,
                           "connection_exc": "None"} for side in ("client", "server")}


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
