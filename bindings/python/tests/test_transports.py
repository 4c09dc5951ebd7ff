"""TCP transports, servers, streams and subprocesses on weft's loop."""

import asyncio
import os
import sys
import weakref

import weft


def test_stream_echo_round_trips():
    async def handle(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for size in (1, 1024, 300_000):
            writer.write(b"y" * size)
            await writer.drain()
            assert await reader.readexactly(size) == b"y" * size
        writer.write_eof()
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)

    weft.run(main())


def test_buffered_protocol_server():
    received = bytearray()

    class Sink(asyncio.BufferedProtocol):
        def __init__(self):
            self.buf = bytearray(1000)

        def get_buffer(self, sizehint):
            return self.buf

        def buffer_updated(self, nbytes):
            received.extend(self.buf[:nbytes])

        def eof_received(self):
            done.set_result(None)

    async def main():
        global done
        loop = asyncio.get_running_loop()
        globals()["done"] = loop.create_future()
        server = await loop.create_server(Sink, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"z" * 5000)
        writer.write_eof()
        await asyncio.wait_for(globals()["done"], 5)
        writer.close()
        server.close()

    weft.run(main())
    assert received == b"z" * 5000


def test_subprocess_communicate_and_kill():
    async def main():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read().upper())",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate(b"weft")
        assert (out, proc.returncode) == (b"WEFT", 0)
        proc = await asyncio.create_subprocess_exec("sleep", "10")
        proc.kill()
        assert await proc.wait() == -9

    weft.run(main())


def test_a_finished_connection_is_freed_without_the_collector():
    # Transport and TransportCore reference each other while the core may call; once
    # connection_lost has run the cycle is cut, so reference counting alone frees them.
    import gc
    import weakref

    class Client(asyncio.Protocol):
        def __init__(self, lost):
            self.lost = lost

        def connection_lost(self, exc):
            self.lost.set_result(None)

    async def main():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        lost = asyncio.get_running_loop().create_future()
        transport, protocol = await asyncio.get_running_loop().create_connection(
            lambda: Client(lost), "127.0.0.1", port)
        refs = weakref.ref(transport), weakref.ref(protocol)
        transport.close()
        await lost
        del transport, protocol
        await asyncio.sleep(0)
        server.close()
        await server.wait_closed()
        return refs

    gc.collect()
    gc.disable()
    try:
        refs = weft.run(main())
        assert [ref() for ref in refs] == [None, None]
    finally:
        gc.enable()


def test_loop_closed_with_open_connections_frees_them():
    """Closing the loop with a server and a connection still open frees the core's side of
    both, and lets go of the protocols, without calling them (as asyncio's loop does not)."""
    lost = []

    class Recorder(asyncio.Protocol):
        def connection_lost(self, exc):
            lost.append(exc)

    loop = weft.new_event_loop()

    async def open_both():
        server = await loop.create_server(Recorder, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, protocol = await loop.create_connection(Recorder, "127.0.0.1", port)
        await asyncio.sleep(0.01)
        return server, transport, weakref.ref(protocol)

    server, transport, protocol = loop.run_until_complete(open_both())
    loop.close()
    assert lost == []
    assert protocol() is None  # released at once, without the collector
    assert transport.is_closing()
    transport.close()  # harmless now
    server.close()


class _Collector(asyncio.Protocol):
    """A plain Protocol that keeps every chunk data_received gets, and reads only once
    `go` is set, so that the kernel has a large amount waiting by then."""

    def __init__(self, loop, expected):
        self.chunks, self.expected = [], expected
        self.done = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.pause_reading()

    def data_received(self, data):
        self.chunks.append(data)
        if sum(map(len, self.chunks)) >= self.expected and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(None)


_PATTERN = bytes(range(251)) * 8000  # 2 MB, no period that divides a read's size


async def _check_large_reads(protocol, write):
    """Writes _PATTERN with `write` (a coroutine function), lets the protocol read only
    after a megabyte or more is waiting, and checks that every chunk is bytes and that
    they add up to what was sent, as large reads (into their own bytes object) and small
    ones (copied out of a shared buffer) alternate."""
    sending = asyncio.ensure_future(write(_PATTERN))
    await asyncio.sleep(0.05)
    protocol.transport.resume_reading()
    await asyncio.wait_for(sending, 10)
    await asyncio.wait_for(protocol.done, 10)
    assert all(type(chunk) is bytes for chunk in protocol.chunks)
    assert b"".join(protocol.chunks) == _PATTERN
    return max(map(len, protocol.chunks))


def test_large_reads_arrive_whole_over_tcp_and_unix(tmp_path):
    async def over(kind):
        loop = asyncio.get_running_loop()
        accepted = loop.create_future()

        def factory():
            protocol = _Collector(loop, len(_PATTERN))
            accepted.set_result(protocol)
            return protocol

        if kind == "tcp":
            server = await loop.create_server(factory, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        else:
            path = str(tmp_path / "large.sock")
            server = await loop.create_unix_server(factory, path)
            _, writer = await asyncio.open_unix_connection(path)
        protocol = await accepted

        async def write(data):
            writer.write(data)
            await writer.drain()

        largest = await _check_large_reads(protocol, write)
        writer.close()
        server.close()
        return largest

    async def main():
        # On loopback a paused reader lets well over 64 KiB pile up: reads that large
        # take the path that sizes them with FIONREAD.
        assert await over("tcp") >= 64 * 1024
        await over("unix")

    weft.run(main())


def test_large_reads_arrive_whole_from_a_pipe():
    async def main():
        loop = asyncio.get_running_loop()
        read_end, write_end = os.pipe()
        protocol = _Collector(loop, len(_PATTERN))
        transport, _ = await loop.connect_read_pipe(lambda: protocol, os.fdopen(read_end, "rb"))

        async def write(data):
            await loop.run_in_executor(None, os.write, write_end, data)

        try:
            await _check_large_reads(protocol, write)
        finally:
            os.close(write_end)
            transport.close()

    weft.run(main())


def test_spawn_errors_are_popens(tmp_path):
    """A child that cannot start raises what asyncio's loop raises (Popen's OSError, with
    the program or the missing directory as its filename), and nothing is left running."""
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF but not really")
    junk.chmod(0o755)
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    cases = [(["/nonexistent/weft-program"], {}), (["weft-no-such-program"], {}),
             (["true"], {"cwd": str(tmp_path / "missing")}), ([str(junk)], {}),
             ([str(plain)], {})]

    async def errors():
        found = []
        for args, kwargs in cases:
            try:
                process = await asyncio.create_subprocess_exec(*args, **kwargs)
            except OSError as exc:
                found.append((type(exc), exc.errno, exc.filename, str(exc)))
            else:
                await process.wait()
                found.append(None)
        return found

    on_weft = weft.run(errors())
    on_asyncio = asyncio.run(errors())
    assert on_weft == on_asyncio
    assert all(found is not None for found in on_weft)
