"""contextvars in protocol callbacks: asyncio runs every callback of a protocol in (a copy
of) the context its transport, or its server, was made in, whatever the context of the
code that runs the loop. Each test runs on weft's loop and on asyncio's."""

import asyncio
import contextvars
import os
import sys

import pytest

import weft

BOTH_LOOPS = pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                                     ids=["weft", "asyncio"])

var = contextvars.ContextVar("var", default="loop")


def _run(new_loop, main):
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(main())


class Recorder:
    """Records var.get() per callback name."""

    def __init__(self):
        self.seen = {}
        self.lost = asyncio.get_running_loop().create_future()

    def saw(self, name):
        self.seen.setdefault(name, set()).add(var.get())

    def done(self):
        if not self.lost.done():
            self.lost.set_result(None)


def _stream_protocol(recorder, buffered=False):
    base = asyncio.BufferedProtocol if buffered else asyncio.Protocol

    class Proto(base):
        def __init__(self):
            recorder.saw("factory")
            self.buf = bytearray(64)

        def connection_made(self, transport):
            recorder.saw("connection_made")
            self.transport = transport

        def data_received(self, data):
            recorder.saw("data_received")
            self.transport.write(data)

        def get_buffer(self, hint):
            recorder.saw("get_buffer")
            return self.buf

        def buffer_updated(self, n):
            recorder.saw("buffer_updated")
            self.transport.write(bytes(self.buf[:n]))

        def eof_received(self):
            recorder.saw("eof_received")

        def connection_lost(self, exc):
            recorder.saw("connection_lost")
            recorder.done()

    return Proto


@BOTH_LOOPS
@pytest.mark.parametrize("buffered", [False, True], ids=["plain", "buffered"])
def test_stream_callbacks_run_in_the_creators_context(new_loop, buffered):
    async def main():
        loop = asyncio.get_running_loop()
        server_side, client_side = Recorder(), Recorder()
        var.set("server")
        server = await loop.create_server(_stream_protocol(server_side, buffered),
                                          "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        var.set("client")
        transport, _ = await loop.create_connection(_stream_protocol(client_side, buffered),
                                                    "127.0.0.1", port)
        var.set("main, later")  # neither the server's nor the client's
        client_seen = asyncio.Event()
        transport.get_protocol().data_received = (
            lambda data, saw=client_side.saw: (saw("data_received"), client_seen.set()))
        transport.get_protocol().buffer_updated = (
            lambda n, saw=client_side.saw: (saw("buffer_updated"), client_seen.set()))
        transport.write(b"ping")
        await asyncio.wait_for(client_seen.wait(), 10)
        transport.write_eof()
        await asyncio.wait_for(server_side.lost, 10)
        transport.close()
        await asyncio.wait_for(client_side.lost, 10)
        server.close()
        await server.wait_closed()
        return server_side.seen, client_side.seen

    server_seen, client_seen = _run(new_loop, main)
    reads = {"get_buffer", "buffer_updated"} if buffered else {"data_received"}
    assert set(server_seen) == {"factory", "connection_made", "eof_received",
                                "connection_lost"} | reads
    assert all(values == {"server"} for values in server_seen.values()), server_seen
    assert {"connection_made", "connection_lost"} <= set(client_seen)
    # The client's connection_lost follows the server's close or the client's own, which
    # asyncio runs in the context of whoever closed it: only the others are the client's.
    del client_seen["connection_lost"]
    assert all(values == {"client"} for values in client_seen.values()), client_seen


@BOTH_LOOPS
def test_each_accepted_connection_gets_its_own_copy(new_loop):
    # A connection's callbacks may set variables: another connection does not see them.
    async def main():
        loop = asyncio.get_running_loop()
        seen, lost = [], []

        class Proto(asyncio.Protocol):
            def connection_made(self, transport):
                seen.append(var.get())
                var.set(f"connection {len(seen)}")
                transport.close()

            def connection_lost(self, exc):
                lost.append(None)

        var.set("server")
        server = await loop.create_server(Proto, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        for _ in range(3):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
        for _ in range(1000):
            if len(lost) == 3:
                break
            await asyncio.sleep(0.005)
        server.close()
        await server.wait_closed()
        return seen

    assert _run(new_loop, main) == ["server"] * 3


class _DatagramRecorder(asyncio.DatagramProtocol):
    def __init__(self, recorder, received):
        self.recorder, self.received = recorder, received
        recorder.saw("factory")

    def connection_made(self, transport):
        self.recorder.saw("connection_made")

    def datagram_received(self, data, addr):
        self.recorder.saw("datagram_received")
        self.received.set()

    def connection_lost(self, exc):
        self.recorder.saw("connection_lost")
        self.recorder.done()


@BOTH_LOOPS
def test_datagram_callbacks_run_in_the_creators_context(new_loop):
    async def main():
        loop = asyncio.get_running_loop()
        recorder, received = Recorder(), asyncio.Event()
        var.set("endpoint")
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _DatagramRecorder(recorder, received), local_addr=("127.0.0.1", 0))
        var.set("main, later")
        peer, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=transport.get_extra_info("sockname"))
        peer.sendto(b"hello")
        await asyncio.wait_for(received.wait(), 10)
        peer.close()
        transport.close()
        await asyncio.wait_for(recorder.lost, 10)
        return recorder.seen

    seen = _run(new_loop, main)
    assert set(seen) == {"factory", "connection_made", "datagram_received", "connection_lost"}
    # (asyncio runs connection_lost in the context of whoever closed the transport.)
    del seen["connection_lost"]
    assert all(values == {"endpoint"} for values in seen.values()), seen


class _ReadPipeRecorder(asyncio.Protocol):
    def __init__(self, recorder):
        self.recorder = recorder

    def connection_made(self, transport):
        self.recorder.saw("connection_made")

    def data_received(self, data):
        self.recorder.saw("data_received")

    def eof_received(self):
        self.recorder.saw("eof_received")

    def connection_lost(self, exc):
        self.recorder.saw("connection_lost")
        self.recorder.done()


@BOTH_LOOPS
def test_pipe_callbacks_run_in_the_creators_context(new_loop):
    async def main():
        loop = asyncio.get_running_loop()
        recorder = Recorder()
        rfd, wfd = os.pipe()
        var.set("pipe")
        await loop.connect_read_pipe(lambda: _ReadPipeRecorder(recorder),
                                     os.fdopen(rfd, "rb", 0))
        var.set("main, later")
        os.write(wfd, b"data")
        os.close(wfd)
        await asyncio.wait_for(recorder.lost, 10)
        return recorder.seen

    seen = _run(new_loop, main)
    assert set(seen) == {"connection_made", "data_received", "eof_received", "connection_lost"}
    assert all(values == {"pipe"} for values in seen.values()), seen


@BOTH_LOOPS
def test_subprocess_callbacks_run_in_the_creators_context(new_loop):
    async def main():
        loop = asyncio.get_running_loop()
        recorder = Recorder()

        class Proto(asyncio.SubprocessProtocol):
            def connection_made(self, transport):
                recorder.saw("connection_made")

            def pipe_data_received(self, fd, data):
                recorder.saw("pipe_data_received")

            def pipe_connection_lost(self, fd, exc):
                recorder.saw("pipe_connection_lost")

            def process_exited(self):
                recorder.saw("process_exited")

            def connection_lost(self, exc):
                recorder.saw("connection_lost")
                recorder.done()

        var.set("subprocess")
        transport, _ = await loop.subprocess_exec(
            Proto, sys.executable, "-c", "print('out')", stdin=None)
        var.set("main, later")
        await asyncio.wait_for(recorder.lost, 30)
        transport.close()
        return recorder.seen

    seen = _run(new_loop, main)
    assert set(seen) == {"connection_made", "pipe_data_received", "pipe_connection_lost",
                         "process_exited", "connection_lost"}
    if sys.version_info < (3, 12):
        # 3.11's asyncio learns of the exit on a child watcher's thread, and calls these
        # from there, in that thread's context.
        del seen["process_exited"], seen["connection_lost"]
    assert all(values == {"subprocess"} for values in seen.values()), seen


@BOTH_LOOPS
def test_a_failing_callback_is_reported_in_its_transports_context(new_loop):
    # The exception handler runs where the protocol's callback failed.
    async def main():
        loop = asyncio.get_running_loop()
        reported = loop.create_future()

        def handler(loop, context):
            if not reported.done():
                reported.set_result((context["message"], var.get()))

        loop.set_exception_handler(handler)

        class Failing(asyncio.Protocol):
            def data_received(self, data):
                raise ZeroDivisionError

        var.set("server")
        server = await loop.create_server(Failing, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        var.set("main, later")
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"x")
        result = await asyncio.wait_for(reported, 10)
        writer.close()
        server.close()
        await server.wait_closed()
        return result

    message, seen = _run(new_loop, main)
    assert message == "Fatal error: protocol.data_received() call failed."
    assert seen == "server"
