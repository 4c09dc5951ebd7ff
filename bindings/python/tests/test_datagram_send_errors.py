"""A datagram transport's sendto with an address socket.sendto refuses: asyncio's sendto
raises nothing; an OSError goes to the protocol's error_received and anything else is a
fatal write error (the exception handler, then connection_lost with that exception).
Compared with asyncio's own loop on both families, as each Python version's asyncio does it."""

import asyncio
import os
import shutil
import socket
import tempfile

import pytest

import weft

LOOPS = {"asyncio": asyncio.new_event_loop, "weft": weft.new_event_loop}

UNIX_ADDRESSES = [5, None, ("a", 1), 5.5, b"/no/such/dir/s", ""]
IP_ADDRESSES = [5, None, ("a",), ("127.0.0.1", "x"), ("127.0.0.1", 70000), "127.0.0.1",
                ("no.such.host.invalid", 9), ("::1", 5)]


class Recorder(asyncio.DatagramProtocol):
    def __init__(self, seen):
        self.seen = seen
        self.lost = asyncio.get_running_loop().create_future()

    def error_received(self, exc):
        self.seen.append(("error_received", type(exc).__name__))

    def connection_lost(self, exc):
        self.seen.append(("connection_lost", type(exc).__name__))
        self.lost.set_result(None)


async def outcomes(family, addresses, directory):
    loop = asyncio.get_running_loop()
    results = []
    for i, addr in enumerate(addresses):
        seen = []
        loop.set_exception_handler(
            lambda _, context: seen.append((context["message"],
                                            type(context.get("exception")).__name__)))
        if family == socket.AF_UNIX:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: Recorder(seen), local_addr=os.path.join(directory, f"s{i}"),
                family=socket.AF_UNIX)
        else:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: Recorder(seen), local_addr=("127.0.0.1", 0))
        returned = transport.sendto(b"x", addr)
        if transport.is_closing():
            await protocol.lost  # the fatal error's connection_lost
        else:
            # An error_received comes from inside sendto on both loops; the ping through
            # the loop only makes sure nothing else follows it.
            await asyncio.sleep(0)
            transport.close()
            await protocol.lost
        results.append((repr(addr), returned, seen))
    loop.set_exception_handler(None)
    return results


def run(loop_name, family, addresses):
    directory = tempfile.mkdtemp()
    try:
        with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
            return runner.run(outcomes(family, addresses, directory))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("family", ["unix", "ip"])
def test_a_refused_address_is_reported_as_asyncio_reports_it(family):
    fam, addresses = ((socket.AF_UNIX, UNIX_ADDRESSES) if family == "unix"
                      else (socket.AF_INET, IP_ADDRESSES))
    expected = run("asyncio", fam, addresses)
    assert run("weft", fam, addresses) == expected
    # What asyncio does with them, so that a change in either loop shows here.
    fatal = [(addr, seen) for addr, _, seen in expected
             if ("Fatal write error on datagram transport", "TypeError") in seen]
    assert ("5", [("Fatal write error on datagram transport", "TypeError"),
                  ("connection_lost", "TypeError")]) in fatal


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_a_socket_with_a_peer_sends_to_it_whatever_the_address(loop_name):
    # An endpoint on a connected socket (sock=) has no remote_addr to check against:
    # asyncio's sendto sends to the peer with send() and never looks at the address.
    async def main():
        loop = asyncio.get_running_loop()
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(peer.getsockname())
        transport, protocol = await loop.create_datagram_endpoint(lambda: Recorder([]),
                                                                  sock=sock)
        try:
            transport.sendto(b"to the peer", ("127.0.0.1", 9))
            return await loop.sock_recv(peer, 100), protocol.seen
        finally:
            transport.close()
            await protocol.lost
            peer.close()

    with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
        assert runner.run(main()) == (b"to the peer", [("connection_lost", "NoneType")])
