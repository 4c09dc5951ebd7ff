"""In which loop iteration a connection's waiter and connection_lost come, on weft's loop and
on asyncio's (the reference). Code that stops the loop from connection_lost, as CPython's
test_connect_accepted_socket does, only works if the stop comes after run_until_complete's
own: asyncio resumes the awaiting task the iteration after connection_made, and calls
connection_lost the iteration after the transport begins to close (the core schedules it
then, as asyncio's call_soon). Each test runs the same program on both loops and compares.
A callback that reschedules itself counts the iterations; no timing is involved."""

import asyncio
import os
import socket
import ssl

import pytest

import weft

CERTS = os.path.join(os.path.dirname(ssl.__file__), "test", "certdata")
SIGNED = os.path.join(CERTS, "keycert3.pem")  # CN=localhost, by the test CA
CA = os.path.join(CERTS, "pycacert.pem")

LOOPS = [pytest.param(asyncio.new_event_loop, id="asyncio"),
         pytest.param(weft.new_event_loop, id="weft")]


class Counter:
    """Counts loop iterations: one tick per iteration, run before anything scheduled
    during the previous one."""

    def __init__(self, loop):
        self.loop = loop
        self.n = 0
        self.running = True
        loop.call_soon(self.tick)

    def tick(self):
        self.n += 1
        if self.running:
            self.loop.call_soon(self.tick)


class Recorder(asyncio.Protocol):
    def __init__(self, counter):
        self.counter = counter
        self.events = {}
        self.lost = counter.loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.events["made"] = self.counter.n

    def eof_received(self):
        self.events["eof"] = self.counter.n

    def connection_lost(self, exc):
        self.events["lost"] = self.counter.n
        self.lost.set_result(None)


def tcp_pair():
    """A connected pair of TCP sockets (the accepted one first)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
    return accepted, client


def run(new_loop, main):
    loop = new_loop()
    try:
        return loop.run_until_complete(main(loop))
    finally:
        loop.close()


def lost_iterations(new_loop, how):
    """Where connection_lost comes after the connection ends `how`: the events with their
    iteration, counted from the peer's end of stream (eof_received) or from the call that
    closes, and a callback scheduled right after that call."""
    async def main(loop):
        a, b = tcp_pair()
        counter = Counter(loop)
        proto = Recorder(counter)
        await loop.connect_accepted_socket(lambda: proto, a)
        order = []
        proto.connection_lost = lambda exc: (order.append(("lost", counter.n)),
                                             Recorder.connection_lost(proto, exc))
        if how == "eof":
            # As in CPython's test_connect_accepted_socket: the server answered before
            # the peer's end of stream.
            proto.transport.write(b"roger")
            b.setblocking(False)
            assert await loop.sock_recv(b, 99) == b"roger"
            b.close()
            await proto.lost
            base = proto.events["eof"]
        else:
            base = counter.n
            getattr(proto.transport, how)()
            loop.call_soon(lambda: order.append(("after", counter.n)))
            await proto.lost
            b.close()
        counter.running = False
        return [(event, n - base) for event, n in order]

    return run(new_loop, main)


@pytest.mark.parametrize("how", ["eof", "close", "abort"])
def test_connection_lost_comes_in_asyncio_s_iteration(how):
    expected = lost_iterations(asyncio.new_event_loop, how)
    # What asyncio does, which the comparison below holds weft to.
    assert expected[0] == ("lost", 1)
    assert lost_iterations(weft.new_event_loop, how) == expected


@pytest.mark.skipif(not os.path.exists(SIGNED), reason="CPython's test certificates missing")
@pytest.mark.parametrize("new_loop", LOOPS)
def test_tls_accepted_socket_resumes_the_iteration_after_connection_made(new_loop):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(SIGNED)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(CA)

    async def main(loop):
        a, b = tcp_pair()
        counter = Counter(loop)
        proto = Recorder(counter)

        async def server():
            transport, _ = await loop.connect_accepted_socket(lambda: proto, a, ssl=sctx)
            return counter.n, transport

        (resumed_at, transport), (client, _) = await asyncio.gather(
            server(),
            loop.create_connection(asyncio.Protocol, sock=b, ssl=cctx,
                                   server_hostname="localhost"))
        counter.running = False
        client.close()
        transport.close()
        await proto.lost
        return proto.events["made"], resumed_at

    made_at, resumed_at = run(new_loop, main)
    assert resumed_at == made_at + 1
