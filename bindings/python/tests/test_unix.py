"""Unix-socket transports and servers on weft's loop: create_unix_connection and
create_unix_server, through asyncio's streams."""

import asyncio
import os
import socket
import stat
import sys

import pytest

import weft


async def _echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _round_trip(path, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(payload)
    writer.write_eof()
    echoed = await reader.read()
    writer.close()
    await writer.wait_closed()
    return echoed


def test_unix_stream_echo_round_trips(tmp_path):
    path = str(tmp_path / "echo.sock")

    async def main():
        server = await asyncio.start_unix_server(_echo, path)
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert server.sockets[0].getsockname() == path
        reader, writer = await asyncio.open_unix_connection(path)
        assert writer.get_extra_info("peername") == path
        for size in (1, 1024, 300_000):
            writer.write(b"u" * size)
            await writer.drain()
            assert await reader.readexactly(size) == b"u" * size
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)

    weft.run(main())


def test_stale_socket_file_is_removed_at_start(tmp_path):
    path = str(tmp_path / "stale.sock")
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(path)  # a socket file nobody listens on any more
    leftover.close()
    assert os.path.exists(path)

    async def main():
        server = await asyncio.start_unix_server(_echo, path)
        assert await _round_trip(path, b"fresh") == b"fresh"
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)

    weft.run(main())


# asyncio unlinks the socket file on close from 3.13 on, and leaves it before.
UNLINKS_ON_CLOSE = sys.version_info >= (3, 13)


@pytest.mark.parametrize("new_loop", [asyncio.new_event_loop, weft.new_event_loop],
                         ids=["asyncio", "weft"])
@pytest.mark.parametrize("given_socket", [False, True], ids=["path", "sock"])
def test_socket_file_is_unlinked_on_close_as_asyncio_does(tmp_path, new_loop, given_socket):
    path = str(tmp_path / "closing.sock")

    async def main():
        if given_socket:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(path)
            server = await asyncio.start_unix_server(_echo, sock=sock)
        else:
            server = await asyncio.start_unix_server(_echo, path)
        assert os.path.exists(path)
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
        return os.path.exists(path)

    with asyncio.Runner(loop_factory=new_loop) as runner:
        assert runner.run(main()) is not UNLINKS_ON_CLOSE


def test_socket_file_is_kept_without_cleanup_or_when_replaced(tmp_path):
    path = str(tmp_path / "kept.sock")

    async def main():
        loop = asyncio.get_running_loop()
        kept = await loop.create_unix_server(asyncio.Protocol, path, cleanup_socket=False)
        kept.close()
        assert os.path.exists(path)

        server = await loop.create_unix_server(asyncio.Protocol, path)
        os.unlink(path)
        with open(path, "w"):  # another file took the path: not the server's to remove
            pass
        server.close()
        assert os.path.exists(path)

    weft.run(main())


def test_server_and_connection_on_sockets(tmp_path):
    path = str(tmp_path / "given.sock")

    async def main():
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listening.bind(path)
        server = await asyncio.start_unix_server(_echo, sock=listening)
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(path)
        reader, writer = await asyncio.open_unix_connection(sock=client)
        writer.write(b"via sock")
        writer.write_eof()
        assert await reader.read() == b"via sock"
        writer.close()
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)
        assert os.path.exists(path) is not UNLINKS_ON_CLOSE

    weft.run(main())


def test_arguments_are_checked(tmp_path):
    path = str(tmp_path / "args.sock")

    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError):
            await loop.create_unix_server(asyncio.Protocol)
        with pytest.raises(ValueError):
            await loop.create_unix_connection(asyncio.Protocol)
        with socket.socket() as tcp, pytest.raises(ValueError):
            await loop.create_unix_connection(asyncio.Protocol, sock=tcp)
        with pytest.raises(TypeError):
            await loop.create_unix_server(asyncio.Protocol, path, ssl=object())
        with pytest.raises(FileNotFoundError):
            await loop.create_unix_connection(asyncio.Protocol, path)

    weft.run(main())


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_unix_datagram_sendto_a_path(tmp_path, new_loop):
    # asyncio's sendto takes a Unix endpoint's address as its path, by position or as addr=.
    async def main():
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        class Receiver(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                queue.put_nowait((data, addr))

            def error_received(self, exc):
                queue.put_nowait(exc)

        a, b = str(tmp_path / "a"), str(tmp_path / "b")
        ta, _ = await loop.create_datagram_endpoint(Receiver, local_addr=a,
                                                    family=socket.AF_UNIX)
        tb, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=b,
                                                    family=socket.AF_UNIX)
        try:
            tb.sendto(b"positional", a)
            tb.sendto(b"keyword", addr=a)
            tb.sendto(data=b"bytes path", addr=os.fsencode(a))
            got = [await asyncio.wait_for(queue.get(), 10) for _ in range(3)]
            # A path too long for a socket address is reported as asyncio's sendto reports
            # what socket.sendto raises: to error_received, at once.
            tb.set_protocol(ta.get_protocol())
            tb.sendto(b"x", "/" + "x" * 200)
            got.append(type(queue.get_nowait()))
            return got
        finally:
            ta.close()
            tb.close()

    with asyncio.Runner(loop_factory=new_loop) as runner:
        got = runner.run(main())
    b = str(tmp_path / "b")
    assert got == [(b"positional", b), (b"keyword", b), (b"bytes path", b), OSError]


@pytest.mark.parametrize("case", ["in-use", "regular-file", "no-directory"])
def test_bind_errors_are_asyncio_s(tmp_path, case):
    """The core binds the path; the error reads as asyncio's own."""
    path = str(tmp_path / "err.sock")
    if case == "no-directory":
        path = str(tmp_path / "missing" / "err.sock")
    elif case == "regular-file":
        with open(path, "w"):
            pass
    got = {}
    for name, new_loop in (("asyncio", asyncio.new_event_loop), ("weft", weft.new_event_loop)):
        listening = None
        if case == "in-use":
            listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listening.bind(path)
            listening.listen()

        async def main():
            try:
                server = await asyncio.start_unix_server(_echo, path)
            except OSError as exc:
                return type(exc), exc.errno, str(exc)
            server.close()
            return None

        try:
            with asyncio.Runner(loop_factory=new_loop) as runner:
                got[name] = runner.run(main())
        finally:
            if listening is not None:
                listening.close()
                if os.path.exists(path):  # 3.13's server unlinked it on close
                    os.unlink(path)
    assert got["weft"] == got["asyncio"]
    # a socket file, even one still listening, is taken for stale and replaced
    assert (got["weft"] is None) == (case == "in-use")
