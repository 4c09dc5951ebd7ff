"""Servers and connections: accepted transports' sockets, wait_closed, sockets handed in,
connect failures reported by the core, and sock_* operations racing on one socket."""

import asyncio
import contextlib
import errno
import gc
import os
import socket
import sys
import weakref

import pytest

import weft


class Keep(asyncio.Protocol):
    def __init__(self, accepted):
        self.lost = asyncio.get_running_loop().create_future()
        accepted.append(self)

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.lost.set_result(exc)


def test_accepted_transport_extra_info():
    async def main():
        loop = asyncio.get_running_loop()
        accepted = []
        server = await loop.create_server(lambda: Keep(accepted), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        while not accepted:
            await asyncio.sleep(0.001)
        transport = accepted[0].transport
        assert transport.get_extra_info("sockname") == ("127.0.0.1", port)
        assert transport.get_extra_info("peername") == client.getsockname()
        sock = transport.get_extra_info("socket")
        assert sock.getpeername() == client.getsockname()
        assert sock.type == socket.SOCK_STREAM
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert transport.get_extra_info("socket") is sock
        transport.close()
        await asyncio.wait_for(accepted[0].lost, 5)
        assert sock.fileno() == -1  # closed with the transport; the core owned the connection
        assert client.recv(10) == b""  # and the peer saw the close
        client.close()
        server.close()
        await server.wait_closed()

    weft.run(main())


def test_wait_closed_waits_for_the_last_connection():
    async def main():
        loop = asyncio.get_running_loop()
        accepted = []
        server = await loop.create_server(lambda: Keep(accepted), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        while len(accepted) < 2:
            await asyncio.sleep(0.001)
        waiter = asyncio.create_task(server.wait_closed())
        await asyncio.sleep(0.02)
        assert not waiter.done()  # not closed yet
        server.close()
        assert server.sockets == ()
        await asyncio.sleep(0.02)
        assert not waiter.done()  # closed, two connections open
        accepted[0].transport.close()
        await asyncio.sleep(0.02)
        assert not waiter.done()
        accepted[1].transport.abort()
        await asyncio.wait_for(waiter, 5)
        await asyncio.wait_for(server.wait_closed(), 1)  # and again, at once
        for c in clients:
            c.close()

    weft.run(main())


def test_sockets_handed_in_stay_the_callers():
    async def main():
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        accepted = []
        server = await loop.create_server(lambda: Keep(accepted), sock=listener)
        assert server.sockets[0].fileno() == listener.fileno()
        sock = socket.create_connection(listener.getsockname())
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=sock)
        assert transport.get_extra_info("socket").fileno() == sock.fileno()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)  # still usable
        transport.close()
        while not accepted:
            await asyncio.sleep(0.001)
        await asyncio.wait_for(accepted[0].lost, 5)
        await asyncio.sleep(0.01)
        assert sock.fileno() == -1  # closed with its transport
        server.close()
        await server.wait_closed()
        assert listener.fileno() == -1  # closed with the server

    weft.run(main())


def test_connect_failure_from_the_core_reaches_python():
    async def main():
        loop = asyncio.get_running_loop()
        made = []

        class P(asyncio.Protocol):
            def connection_made(self, transport):
                made.append(transport)

        rfd, wfd = os.pipe()
        wpipe = open(wfd, "wb", 0)
        # The write end cannot be read: the core finds out when it starts the transport,
        # after connect_read_pipe returned to the loop, and fails its future.
        with pytest.raises(OSError) as info:
            await asyncio.wait_for(loop.connect_read_pipe(P, wpipe), 5)
        assert info.value.errno == errno.ENOTCONN
        assert made == []
        assert not wpipe.closed  # the caller keeps its pipe
        wpipe.close()
        os.close(rfd)

    weft.run(main())


def test_bind_errors_name_the_address():
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        address = server.sockets[0].getsockname()
        with pytest.raises(OSError) as info:
            await loop.create_connection(asyncio.Protocol, *address, local_addr=address)
        assert info.value.errno == errno.EADDRINUSE
        assert str(address) in info.value.strerror
        server.close()
        await server.wait_closed()

    weft.run(main())


def test_cancelled_sock_recv_leaves_the_next_one_alone():
    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        first = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        first.cancel()
        second = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the cancelled one has cleaned up by now
        b.send(b"hello")
        assert await asyncio.wait_for(second, 5) == b"hello"
        assert first.cancelled()
        a.close()
        b.close()

    weft.run(main())


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
@pytest.mark.parametrize("steps", [1, 2])
def test_serve_forever_cancelled_at_once_leaves_the_server_closed(new_loop, steps):
    # Cancelled once its first step has run (or its second): the server ends closed.
    async def main():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0,
                                            start_serving=False)
        task = asyncio.ensure_future(server.serve_forever())
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        closed = (server.is_serving(), server.sockets)
        await asyncio.wait_for(server.wait_closed(), 10)
        return closed, task.cancelled()

    with asyncio.Runner(loop_factory=new_loop) as runner:
        (serving, sockets), cancelled = runner.run(main())
    assert serving is False and not sockets and cancelled


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_close_ends_serve_forever_and_a_second_serve_forever_raises(new_loop):
    async def main():
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        task = asyncio.ensure_future(server.serve_forever())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="already being awaited"):
            await server.serve_forever()
        server.close()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        with pytest.raises(RuntimeError, match="is closed"):
            await server.serve_forever()


LOOPS = pytest.mark.parametrize("new_loop", [asyncio.new_event_loop, weft.new_event_loop],
                                ids=["asyncio", "weft"])


@LOOPS
def test_create_server_needs_host_port_or_sock(new_loop):
    async def main():
        with pytest.raises(ValueError, match="Neither host/port nor sock were specified"):
            await asyncio.get_running_loop().create_server(asyncio.Protocol)

    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(main())


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
@pytest.mark.parametrize("how", ["close_clients", "abort_clients"])
def test_wait_closed_wakes_as_the_last_connection_goes(new_loop, how):
    # As 3.13's test_server: two loop iterations after close() and close_clients() (or
    # abort_clients()), a task waiting in wait_closed() has finished.
    async def main():
        accepted = asyncio.get_running_loop().create_future()

        async def serve(reader, writer):
            accepted.set_result(None)
            try:
                await reader.read()
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.wait_for(accepted, 10)
        task = asyncio.ensure_future(server.wait_closed())
        await asyncio.sleep(0)
        assert not task.done()
        server.close()
        getattr(server, how)()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        done = task.done()
        writer.close()
        await task
        return done

    if sys.version_info < (3, 13):
        pytest.skip("close_clients() and abort_clients() came in 3.13")
    with asyncio.Runner(loop_factory=new_loop) as runner:
        assert runner.run(main()) is True


def _refused_port(stack):
    """A loopback port that refuses connections: bound, never listening."""
    holder = stack.enter_context(socket.socket())
    holder.bind(("127.0.0.1", 0))
    return holder.getsockname()[1]


class Marker:
    pass


@pytest.mark.parametrize("new_loop, delay", [
    (asyncio.new_event_loop, None),
    # asyncio's staggered_race still keeps its errors in a cycle (3.11.7 to 3.13.0)
    (weft.new_event_loop, None),
    (weft.new_event_loop, 0.25),
], ids=["asyncio", "weft", "weft-happy-eyeballs"])
def test_failed_create_connection_leaves_no_reference_cycle(new_loop, delay):
    """gh-124859: the raised error must not be kept alive by a cycle through the frames
    that collected it; with the collector off it goes as soon as nothing refers to it."""

    async def main(port):
        try:
            await asyncio.get_running_loop().create_connection(
                asyncio.Protocol, "127.0.0.1", port, happy_eyeballs_delay=delay)
        except OSError as exc:
            assert exc.errno == errno.ECONNREFUSED
            exc.marker = Marker()  # exceptions take no weak references; it lives as long
            return weakref.ref(exc.marker)
        raise AssertionError("connected to a port nobody listens on")

    with contextlib.ExitStack() as stack, asyncio.Runner(loop_factory=new_loop) as runner:
        port = _refused_port(stack)
        runner.run(asyncio.sleep(0))  # the loop's own start-up is not the test's business
        gc.collect()
        gc.disable()
        try:
            ref = runner.run(main(port))
            assert ref() is None, "a reference cycle keeps the error alive"
        finally:
            gc.enable()


@pytest.mark.parametrize("operation", ["getaddrinfo", "unix_connection"])
def test_an_error_from_a_core_future_leaves_no_reference_cycle(operation):
    """What corefuture raises for any core future (here a resolution and a connection
    that fail at once) goes as soon as nothing refers to it, the collector off. weft only:
    asyncio's getaddrinfo goes through an executor, whose future keeps it now and then."""

    async def main():
        loop = asyncio.get_running_loop()
        try:
            if operation == "getaddrinfo":  # a name, so the core resolves it; refused at once
                await loop.getaddrinfo("localhost", 80, flags=socket.AI_NUMERICHOST)
            else:
                await loop.create_unix_connection(asyncio.Protocol, "/nonexistent/weft.sock")
        except OSError as exc:
            exc.marker = Marker()
            return weakref.ref(exc.marker)
        raise AssertionError(f"{operation} did not fail")

    with asyncio.Runner(loop_factory=weft.new_event_loop) as runner:
        runner.run(asyncio.sleep(0))
        gc.collect()
        gc.disable()
        try:
            ref = runner.run(main())
            assert ref() is None, "a reference cycle keeps the error alive"
        finally:
            gc.enable()


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_create_server_listening_sockets(new_loop):
    # The listening sockets (weft_listen_sockets on weft): one per address, IPv6 ones
    # IPv6-only, SO_REUSEADDR unless reuse_address=False, SO_REUSEPORT shared ports, and a
    # bind that fails worded as asyncio words it, naming the address.
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
        sock = server.sockets[0]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        address = sock.getsockname()
        with pytest.raises(OSError) as info:
            await loop.create_server(asyncio.Protocol, "127.0.0.1", address[1],
                                     reuse_address=False)
        assert type(info.value) is OSError and info.value.errno == errno.EADDRINUSE
        reason = "address already in use"
        if sys.version_info >= (3, 13):  # 3.13 words it with str(exc), not exc.strerror
            reason = f"[errno {errno.EADDRINUSE}] {reason}"
        assert str(info.value) == (f"[Errno {errno.EADDRINUSE}] error while attempting to "
                                   f"bind on address {address!r}: {reason}")
        server.close()
        await server.wait_closed()
        plain = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0,
                                         reuse_address=False)
        assert not plain.sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        plain.close()
        a = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, reuse_port=True)
        port = a.sockets[0].getsockname()[1]
        b = await loop.create_server(asyncio.Protocol, "127.0.0.1", port, reuse_port=True)
        assert b.sockets[0].getsockname()[1] == port
        hosts = ["127.0.0.1", "::1"] if socket.has_ipv6 and _ipv6_loopback() else ["127.0.0.1"]
        both = await loop.create_server(asyncio.Protocol, hosts, 0)
        assert sorted(s.family for s in both.sockets) == sorted(
            socket.AF_INET6 if ":" in h else socket.AF_INET for h in hosts)
        for s in both.sockets:
            if s.family == socket.AF_INET6:
                assert s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        for one in (a, b, both, plain):
            one.close()
            await one.wait_closed()

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_create_server_keep_alive(new_loop):
    # 3.13's keep_alive=True: SO_KEEPALIVE on the listening sockets, which the accepted
    # connections inherit; off otherwise. Older asyncio refuses the argument, weft takes it.
    if new_loop is asyncio.new_event_loop and sys.version_info < (3, 13):
        pytest.skip("asyncio takes keep_alive from 3.13 on")

    async def main():
        loop = asyncio.get_running_loop()
        results = []
        for keep_alive in (True, None):
            accepted = []
            server = await loop.create_server(lambda: Keep(accepted), "127.0.0.1", 0,
                                              keep_alive=keep_alive)
            port = server.sockets[0].getsockname()[1]
            transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
            while not accepted or not hasattr(accepted[0], "transport"):
                await asyncio.sleep(0)
            sock = accepted[0].transport.get_extra_info("socket")
            results.append((bool(server.sockets[0].getsockopt(socket.SOL_SOCKET,
                                                                socket.SO_KEEPALIVE)),
                            bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))))
            transport.close()
            await accepted[0].lost
            server.close()
            await server.wait_closed()
        return results

    loop = new_loop()
    try:
        assert loop.run_until_complete(main()) == [(True, True), (False, False)]
    finally:
        loop.close()


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False
