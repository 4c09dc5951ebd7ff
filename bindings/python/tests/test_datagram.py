"""UDP endpoints (loop.create_datagram_endpoint) on weft's loop."""

import asyncio
import sys
import socket

import pytest

import weft


def _ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


class Recorder(asyncio.DatagramProtocol):
    def __init__(self, echo=False):
        loop = asyncio.get_running_loop()
        self.echo = echo
        self.datagrams = asyncio.Queue()
        self.errors = []
        self.lost = loop.create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if self.echo:
            self.transport.sendto(b"echo:" + data, addr)
        self.datagrams.put_nowait((data, addr))

    def error_received(self, exc):
        self.errors.append(exc)

    def connection_lost(self, exc):
        self.lost.set_result(exc)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_echo(host):
    if host == "::1" and not _ipv6_available():
        pytest.skip("no IPv6 loopback")

    async def main():
        loop = asyncio.get_running_loop()
        server_t, server = await loop.create_datagram_endpoint(
            lambda: Recorder(echo=True), local_addr=(host, 0))
        address = server_t.get_extra_info("sockname")
        assert address[0] == host and address[1] > 0
        assert isinstance(server_t, asyncio.DatagramTransport)
        assert server_t.get_extra_info("socket").getsockname() == address
        client_t, client = await loop.create_datagram_endpoint(
            Recorder, remote_addr=address[:2])
        assert client_t.get_extra_info("peername")[:2] == address[:2]
        for size in (1, 1000, 60000):
            client_t.sendto(b"x" * size)
            data, addr = await asyncio.wait_for(server.datagrams.get(), 5)
            assert data == b"x" * size
            assert addr[:2] == client_t.get_extra_info("sockname")[:2]
            data, _ = await asyncio.wait_for(client.datagrams.get(), 5)
            assert data == b"echo:" + b"x" * size
        assert client_t.get_write_buffer_size() == 0
        with pytest.raises(ValueError, match="Invalid address"):
            client_t.sendto(b"elsewhere", (host, 9))
        client_t.close()
        assert client_t.is_closing()
        assert await asyncio.wait_for(client.lost, 5) is None
        client_t.sendto(b"dropped")  # after close: dropped, as asyncio
        server_t.abort()
        assert await asyncio.wait_for(server.lost, 5) is None
        assert client.errors == [] and server.errors == []

    weft.run(main())


def test_unconnected_endpoint_sends_to_each_address():
    async def main():
        loop = asyncio.get_running_loop()
        a_t, a = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        b_t, b = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        c_t, c = await loop.create_datagram_endpoint(Recorder, family=socket.AF_INET)
        c_t.sendto(b"to a", a_t.get_extra_info("sockname"))
        c_t.sendto(b"to b", b_t.get_extra_info("sockname"))
        assert (await asyncio.wait_for(a.datagrams.get(), 5))[0] == b"to a"
        assert (await asyncio.wait_for(b.datagrams.get(), 5))[0] == b"to b"
        for t in (a_t, b_t, c_t):
            t.close()
        await asyncio.gather(a.lost, b.lost, c.lost)

    weft.run(main())


def test_wrapping_a_socket():
    async def main():
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        t, p = await loop.create_datagram_endpoint(Recorder, sock=sock)
        assert t.get_extra_info("socket").fileno() == sock.fileno()
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.sendto(b"hi", sock.getsockname())
        assert (await asyncio.wait_for(p.datagrams.get(), 5))[0] == b"hi"
        peer.close()
        t.close()
        await p.lost
        assert sock.fileno() == -1  # closed with the transport, as asyncio's

    weft.run(main())


def test_errors():
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match="unexpected address family"):
            await loop.create_datagram_endpoint(Recorder)
        with pytest.raises(TypeError, match="2-tuple"):
            await loop.create_datagram_endpoint(Recorder, local_addr="127.0.0.1")
        with pytest.raises(ValueError, match="reuse_address"):
            await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0),
                                                reuse_address=True)
        stream = socket.socket()
        with pytest.raises(ValueError, match="A datagram socket was expected"):
            await loop.create_datagram_endpoint(Recorder, sock=stream)
        stream.close()
        dgram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(ValueError, match="socket modifier keyword arguments"):
            await loop.create_datagram_endpoint(Recorder, sock=dgram,
                                                local_addr=("127.0.0.1", 0))
        dgram.close()
        taken, _ = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        with pytest.raises(OSError) as info:
            await loop.create_datagram_endpoint(
                Recorder, local_addr=taken.get_extra_info("sockname"))
        assert info.value.errno == 98  # EADDRINUSE
        taken.close()
        # A connected endpoint whose peer has no listener: the ICMP error comes back to
        # error_received, and the endpoint stays open.
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
        probe.close()
        t, p = await loop.create_datagram_endpoint(Recorder,
                                                   remote_addr=("127.0.0.1", closed_port))
        for _ in range(50):
            t.sendto(b"ping")
            await asyncio.sleep(0.01)
            if p.errors:
                break
        assert p.errors and isinstance(p.errors[0], ConnectionRefusedError)
        assert not t.is_closing()
        with pytest.raises(RuntimeError, match="not supported"):
            await loop.sendfile(t, None)
        t.close()
        await p.lost

    weft.run(main())


def test_unconnected_sendto_numeric_and_named_addresses():
    # sendto on an unconnected endpoint runs in C for a numeric address and resolves any
    # other through the transport's _encode; both reach the peer, and bad data raises.
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        port = peer.getsockname()[1]
        transport, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
        try:
            transport.sendto(b"numeric", ("127.0.0.1", port))
            transport.sendto(b"named", ("localhost", port))
            if sys.version_info < (3, 13):
                transport.sendto(b"")  # before 3.13 asyncio sends nothing: no error either
            with pytest.raises(TypeError):
                transport.sendto("text", ("127.0.0.1", port))
            # A port out of range is asyncio's fatal write error, not an exception to the
            # caller: test_datagram_send_errors.py.
            got = {await loop.sock_recv(peer, 100) for _ in range(2)}
            assert got == {b"numeric", b"named"}
        finally:
            transport.close()
            peer.close()
        transport.sendto(b"after close", ("127.0.0.1", port))  # dropped, as asyncio

    weft.run(main())


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_sendto_takes_its_arguments_by_keyword(new_loop):
    # asyncio's DatagramTransport.sendto(data, addr=None): test_events sends with addr=.
    async def main():
        loop = asyncio.get_running_loop()
        a_t, a = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        c_t, c = await loop.create_datagram_endpoint(Recorder, family=socket.AF_INET)
        c_t.sendto(b"addr", addr=a_t.get_extra_info("sockname"))
        c_t.sendto(data=b"both", addr=a_t.get_extra_info("sockname"))
        assert (await asyncio.wait_for(a.datagrams.get(), 5))[0] == b"addr"
        assert (await asyncio.wait_for(a.datagrams.get(), 5))[0] == b"both"
        with pytest.raises(TypeError):
            c_t.sendto(b"x", address=a_t.get_extra_info("sockname"))
        for t in (a_t, c_t):
            t.close()
        await asyncio.gather(a.lost, c.lost)

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_unix_sendto_paths(new_loop, tmp_path):
    # A Unix path as str or bytes reaches the peer; one too long for sockaddr_un goes to
    # error_received with the socket module's error, as asyncio reports a failed sendto.
    async def main():
        loop = asyncio.get_running_loop()
        path = str(tmp_path / "peer.sock")
        a_t, a = await loop.create_datagram_endpoint(Recorder, local_addr=path,
                                                     family=socket.AF_UNIX)
        c_t, c = await loop.create_datagram_endpoint(Recorder, family=socket.AF_UNIX)
        c_t.sendto(b"str", path)
        c_t.sendto(b"bytes", path.encode())
        got = {(await asyncio.wait_for(a.datagrams.get(), 5))[0] for _ in range(2)}
        assert got == {b"str", b"bytes"}
        c_t.sendto(b"long", "/tmp/" + "x" * 200)
        assert len(c.errors) == 1 and type(c.errors[0]) is OSError
        assert str(c.errors[0]) == "AF_UNIX path too long"
        for t in (a_t, c_t):
            t.close()
        await asyncio.gather(a.lost, c.lost)

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.skipif(not _ipv6_available(), reason="no IPv6 loopback")
@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_ipv6_sendto_with_flowinfo_and_scope(new_loop):
    # The four-part IPv6 address the socket module gives (host, port, flowinfo, scope_id)
    # is accepted by sendto as it is.
    async def main():
        loop = asyncio.get_running_loop()
        a_t, a = await loop.create_datagram_endpoint(Recorder, local_addr=("::1", 0))
        c_t, c = await loop.create_datagram_endpoint(Recorder, family=socket.AF_INET6)
        host, port, _, _ = a_t.get_extra_info("sockname")
        c_t.sendto(b"four", (host, port, 0, 0))
        c_t.sendto(b"two", (host, port))
        got = {(await asyncio.wait_for(a.datagrams.get(), 5))[0] for _ in range(2)}
        assert got == {b"four", b"two"}
        for t in (a_t, c_t):
            t.close()
        await asyncio.gather(a.lost, c.lost)

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_endpoint_socket_set_up(new_loop, tmp_path):
    # The socket's set-up (weft_datagram_socket on weft): the socket module's exact error for
    # a bind that fails, SO_REUSEPORT shared ports, broadcast endpoints left unconnected,
    # Unix endpoints bound and connected by path and by abstract name.
    async def main():
        loop = asyncio.get_running_loop()
        taken, _ = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0))
        with pytest.raises(OSError) as info:
            await loop.create_datagram_endpoint(
                Recorder, local_addr=taken.get_extra_info("sockname"))
        assert type(info.value) is OSError
        assert str(info.value) == "[Errno 98] Address already in use"
        taken.close()
        a_t, _ = await loop.create_datagram_endpoint(Recorder, local_addr=("127.0.0.1", 0),
                                                     reuse_port=True)
        b_t, _ = await loop.create_datagram_endpoint(
            Recorder, local_addr=a_t.get_extra_info("sockname"), reuse_port=True)
        assert b_t.get_extra_info("sockname") == a_t.get_extra_info("sockname")
        c_t, c = await loop.create_datagram_endpoint(
            Recorder, remote_addr=a_t.get_extra_info("sockname"), allow_broadcast=True)
        assert c_t.get_extra_info("peername") is None
        assert c_t.get_extra_info("socket").getsockopt(socket.SOL_SOCKET,
                                                       socket.SO_BROADCAST)
        path = str(tmp_path / "server.sock")
        s_t, s = await loop.create_datagram_endpoint(Recorder, local_addr=path,
                                                     family=socket.AF_UNIX)
        u_t, _ = await loop.create_datagram_endpoint(Recorder, remote_addr=path,
                                                     family=socket.AF_UNIX)
        assert u_t.get_extra_info("peername") == path
        u_t.sendto(b"by path")
        assert (await asyncio.wait_for(s.datagrams.get(), 5))[0] == b"by path"
        name = f"\0weft-test-{id(loop)}"
        n_t, _ = await loop.create_datagram_endpoint(Recorder, local_addr=name,
                                                     family=socket.AF_UNIX)
        assert n_t.get_extra_info("sockname") == name.encode()
        with pytest.raises(OSError, match="AF_UNIX path too long"):
            await loop.create_datagram_endpoint(Recorder, local_addr="/" + "x" * 200,
                                                family=socket.AF_UNIX)
        for t in (a_t, b_t, c_t, s_t, u_t, n_t):
            t.close()
        await asyncio.sleep(0)

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_unix_sender_addresses(new_loop, tmp_path):
    # datagram_received's address as the socket module gives it (on weft the core takes the
    # sockaddr apart, weft_sockaddr_decode): an unbound sender is None, an abstract one bytes,
    # a path str; the unbound socket's own name is "".
    async def main():
        loop = asyncio.get_running_loop()
        path = str(tmp_path / "server.sock")
        s_t, s = await loop.create_datagram_endpoint(Recorder, local_addr=path,
                                                     family=socket.AF_UNIX)
        name = f"\0weft-sender-{id(loop)}"
        senders = [(None, await loop.create_datagram_endpoint(
                        Recorder, remote_addr=path, family=socket.AF_UNIX)),
                   (name.encode(), await loop.create_datagram_endpoint(
                        Recorder, local_addr=name, remote_addr=path, family=socket.AF_UNIX)),
                   (str(tmp_path / "c.sock"), await loop.create_datagram_endpoint(
                        Recorder, local_addr=str(tmp_path / "c.sock"), remote_addr=path,
                        family=socket.AF_UNIX))]
        assert senders[0][1][0].get_extra_info("sockname") == ""
        for expected, (t, _) in senders:
            t.sendto(b"from")
            assert await asyncio.wait_for(s.datagrams.get(), 5) == (b"from", expected)
            t.close()
        s_t.close()
        await s.lost

    loop = new_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
