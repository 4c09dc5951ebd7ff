"""Pipe transports (connect_read_pipe / connect_write_pipe), ptys, and the subprocess
pipes built on the same core transports."""

import asyncio
import gc
import io
import os
import signal
import sys
import tty
import warnings

import pytest

import weft


class Reader(asyncio.Protocol):
    def __init__(self):
        self.data = bytearray()
        self.events = []
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport):
        self.events.append("made")

    def data_received(self, data):
        self.data += data

    def eof_received(self):
        self.events.append("eof")

    def connection_lost(self, exc):
        self.events.append("lost")
        self.lost.set_result(exc)


class Writer(asyncio.BaseProtocol):
    def __init__(self):
        self.events = []
        self.lost = asyncio.get_running_loop().create_future()

    def pause_writing(self):
        self.events.append("pause")

    def resume_writing(self):
        self.events.append("resume")

    def connection_lost(self, exc):
        self.lost.set_result(exc)


def test_pipe_round_trip_with_flow_control():
    async def main():
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        rpipe, wpipe = open(rfd, "rb", 0), open(wfd, "wb", 0)
        rt, reader = await loop.connect_read_pipe(Reader, rpipe)
        wt, writer = await loop.connect_write_pipe(Writer, wpipe)
        assert rt.get_extra_info("pipe") is rpipe and wt.get_extra_info("pipe") is wpipe
        assert reader.events == ["made"] and rt.is_reading()
        wt.set_write_buffer_limits(high=1024)
        payload = bytes(range(256)) * 4096  # 1 MiB: more than the pipe holds
        rt.pause_reading()
        assert not rt.is_reading()
        wt.write(payload)
        assert writer.events == ["pause"] and wt.get_write_buffer_size() > 0
        rt.resume_reading()
        wt.write_eof()
        assert wt.is_closing() and wt.can_write_eof()
        assert await asyncio.wait_for(reader.lost, 5) is None
        assert reader.events == ["made", "eof", "lost"]
        assert bytes(reader.data) == payload
        assert await asyncio.wait_for(writer.lost, 5) is None
        assert writer.events == ["pause", "resume"]
        assert rpipe.closed and wpipe.closed  # closed with their transports, as asyncio's
        assert "closed" in repr(rt)

    weft.run(main())


def test_write_pipe_learns_reader_left():
    async def main():
        loop = asyncio.get_running_loop()
        rfd, wfd = os.pipe()
        wt, writer = await loop.connect_write_pipe(Writer, open(wfd, "wb", 0))
        wt.write(b"x")
        os.close(rfd)
        assert await asyncio.wait_for(writer.lost, 5) is None  # nothing was buffered
        wt.write(b"dropped")  # after the loss: dropped, as asyncio

        rfd, wfd = os.pipe()
        wt, writer = await loop.connect_write_pipe(Writer, open(wfd, "wb", 0))
        wt.write(b"y" * (1 << 20))
        os.close(rfd)
        with pytest.raises(BrokenPipeError):
            exc = await asyncio.wait_for(writer.lost, 5)
            raise exc

    weft.run(main())


def test_pty_both_ways():
    async def main():
        loop = asyncio.get_running_loop()
        master, slave = os.openpty()
        tty.setraw(slave)
        rt, reader = await loop.connect_read_pipe(Reader, io.open(slave, "rb", 0))
        wt, writer = await loop.connect_write_pipe(Writer, io.open(os.dup(slave), "wb", 0))
        wt.write(b"to master")
        got = b""
        while len(got) < 9:
            await asyncio.sleep(0.01)
            got += os.read(master, 100)
        assert got == b"to master"
        os.write(master, b"to slave")
        while len(reader.data) < 8:
            await asyncio.sleep(0.01)
        assert bytes(reader.data) == b"to slave"
        wt.close()
        await asyncio.wait_for(writer.lost, 5)
        rt.close()
        await asyncio.wait_for(reader.lost, 5)
        os.close(master)

    weft.run(main())


def test_pty_reader_ends_quietly_when_the_other_side_closes():
    errors = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, ctx: errors.append(ctx))
        master, slave = os.openpty()
        rt, reader = await loop.connect_read_pipe(Reader, io.open(master, "rb", 0))
        os.write(slave, b"bye")
        while len(reader.data) < 3:
            await asyncio.sleep(0.01)
        os.close(slave)
        exc = await asyncio.wait_for(reader.lost, 5)
        assert exc is None or (isinstance(exc, OSError) and exc.errno == 5)  # EIO

    weft.run(main())
    assert errors == []  # EIO from a pty is its end, not an error to report


def test_refusals_and_unclosed_warning():
    async def main():
        loop = asyncio.get_running_loop()
        with open(__file__, "rb") as regular:
            with pytest.raises(ValueError, match="pipes/sockets only"):
                await loop.connect_read_pipe(Reader, regular)
            with pytest.raises(ValueError, match="pipes, sockets and character devices"):
                await loop.connect_write_pipe(Writer, regular)
        rfd, wfd = os.pipe()
        rt, _ = await loop.connect_read_pipe(Reader, open(rfd, "rb", 0))
        os.close(wfd)
        return rt

    loop = weft.new_event_loop()
    rfd, wfd = os.pipe()
    rpipe = open(rfd, "rb", 0)

    async def connect():
        return await loop.connect_read_pipe(asyncio.Protocol, rpipe)

    transport, _ = loop.run_until_complete(connect())
    loop.close()  # the core frees its side of the transport; the pipe stays the caller's
    assert "open" in repr(transport)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del transport, loop  # the loop keeps its transports until connection_lost
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) and "unclosed transport" in str(w.message)
               for w in caught)
    assert rpipe.closed
    os.close(wfd)
    weft.run(main())


def test_subprocess_stdout_reader_pauses_its_pipe():
    """The stream reader of a child's stdout pauses the pipe transport above its limit and
    resumes it as it is read (what CPython's test_pause_reading checks with a spy)."""
    calls = []

    async def main():
        size = 1 << 20
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", f"import sys; sys.stdout.write('x' * {size})",
            stdout=asyncio.subprocess.PIPE, limit=4096)
        pipe = proc._transport.get_pipe_transport(1)
        pause, resume = pipe.pause_reading, pipe.resume_reading
        pipe.pause_reading = lambda: (calls.append("pause"), pause())
        pipe.resume_reading = lambda: (calls.append("resume"), resume())
        await asyncio.sleep(0.2)  # let the child fill the pipe
        out, _ = await proc.communicate()
        assert out == b"x" * size

    weft.run(main())
    assert "pause" in calls and "resume" in calls


def test_subprocess_stdin_broken_pipe_and_pass_fds():
    async def main():
        rfd, wfd = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", f"import os; os.read({rfd}, 1)",
                stdin=asyncio.subprocess.PIPE, pass_fds=(rfd,))
            proc.stdin.write(b"z" * (4 << 20))
            os.write(wfd, b"go")  # the child exits without reading its stdin
            with pytest.raises((BrokenPipeError, ConnectionResetError)):
                await asyncio.wait_for(proc.stdin.drain(), 10)
            assert await asyncio.wait_for(proc.wait(), 10) == 0
        finally:
            os.close(rfd)
            os.close(wfd)
        with pytest.raises(OSError):
            await asyncio.create_subprocess_exec(sys.executable, "-c", "pass",
                                                 pass_fds=(1 << 20,))

    weft.run(main())


@pytest.mark.parametrize("run", [asyncio.run, weft.run], ids=["asyncio", "weft"])
@pytest.mark.parametrize("piped", [False, True], ids=["no-pipes", "pipes"])
def test_signalling_a_reaped_child_raises_process_lookup_error(run, piped):
    """Once wait() or communicate() has the return code the child is gone: send_signal,
    terminate and kill raise ProcessLookupError, as on asyncio's own loop."""
    async def main():
        pipe = asyncio.subprocess.PIPE if piped else None
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass",
                                                    stdout=pipe, stderr=pipe)
        if piped:
            await proc.communicate()
        assert await proc.wait() == 0
        for call in (lambda: proc.send_signal(signal.SIGTERM), proc.terminate, proc.kill):
            with pytest.raises(ProcessLookupError):
                call()

    run(main())
