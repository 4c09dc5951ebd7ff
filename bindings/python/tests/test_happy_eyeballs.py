"""create_connection's happy eyeballs (happy_eyeballs_delay, interleave) on weft's loop."""

import asyncio
import socket

import pytest

import weft
from weft import transports as weft_transports


@pytest.fixture
def loop():
    loop = weft.new_event_loop()
    yield loop
    loop.close()


def test_interleave_alternates_families():
    v4 = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (f"10.0.0.{i}", 1)) for i in range(3)]
    v6 = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (f"::{i}", 1, 0, 0)) for i in range(2)]
    order = weft_transports._interleave_families(v6 + v4, 1)
    assert [info[4][0] for info in order] == ["::0", "10.0.0.0", "::1", "10.0.0.1", "10.0.0.2"]
    order = weft_transports._interleave_families(v6 + v4, 2)
    assert [info[4][0] for info in order] == ["::0", "::1", "10.0.0.0", "10.0.0.1", "10.0.0.2"]


def _listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    return server


def test_a_stalled_address_does_not_hold_up_the_next(loop):
    # Two addresses; connecting to the first stalls (sock_connect is held for it), so with
    # happy eyeballs the second is started after the delay and wins.
    server = _listener()
    port = server.getsockname()[1]
    stalled = ("127.0.0.2", port)
    infos = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", stalled),
             (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
    attempts, cancelled = [], []

    async def getaddrinfo(*args, **kwargs):
        return infos

    real_sock_connect = loop.sock_connect

    async def sock_connect(sock, address):
        attempts.append(address)
        if address == stalled:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.append(address)
                raise
        return await real_sock_connect(sock, address)

    loop.getaddrinfo = getaddrinfo
    loop.sock_connect = sock_connect

    async def main():
        transport, _ = await asyncio.wait_for(loop.create_connection(
            asyncio.Protocol, "example", port, happy_eyeballs_delay=0.05), 10)
        peer = transport.get_extra_info("peername")
        transport.close()
        return peer

    try:
        assert loop.run_until_complete(main()) == ("127.0.0.1", port)
        assert attempts == [stalled, ("127.0.0.1", port)]
        assert cancelled == [stalled]
    finally:
        server.close()


def test_without_delay_addresses_are_tried_in_order(loop):
    server = _listener()
    port = server.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    infos = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", refused_port)),
             (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    async def getaddrinfo(*args, **kwargs):
        return infos

    loop.getaddrinfo = getaddrinfo

    async def main():
        transport, _ = await loop.create_connection(asyncio.Protocol, "example", port)
        peer = transport.get_extra_info("peername")
        transport.close()
        return peer

    try:
        assert loop.run_until_complete(main()) == ("127.0.0.1", port)
    finally:
        server.close()
