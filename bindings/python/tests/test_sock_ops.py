"""loop.sock_* and add_reader/add_writer (weft/_sockcore.c).

Most tests run on weft's loop and on asyncio's own, and expect the same behaviour of both;
those that look at which watcher is registered read weft's table (loop._sockcore)."""

import asyncio
import collections.abc
import gc
import os
import selectors
import socket
import ssl
import subprocess
import sys
import warnings
import weakref

import pytest

import weft
from weft import _loopcore

# Set by test_every_operation_works_where_the_socket_layout_is_unknown for its run.
LAYOUT_UNKNOWN = os.environ.get("WEFT_PY_SOCKET_LAYOUT") == "unknown"

LOOPS = {
    "weft": weft.new_event_loop,
    "asyncio": lambda: asyncio.SelectorEventLoop(selectors.EpollSelector()),
}


@pytest.fixture(params=sorted(LOOPS))
def run(request):
    """Runs a coroutine function on a new loop of each kind; closes what it registers."""
    def runner(fn, *args):
        with asyncio.Runner(loop_factory=LOOPS[request.param]) as r:
            return r.run(asyncio.wait_for(fn(*args), 10))
    runner.kind = request.param
    return runner


def run_weft(fn, *args):
    with asyncio.Runner(loop_factory=weft.new_event_loop) as r:
        return r.run(asyncio.wait_for(fn(*args), 10))


def pair(kind=socket.SOCK_STREAM):
    a, b = socket.socketpair(socket.AF_UNIX, kind)
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def reader_of(loop, sock):
    return loop._sockcore.entry(False, sock.fileno())


def writer_of(loop, sock):
    return loop._sockcore.entry(True, sock.fileno())


def test_the_socket_layout_check_passed():
    # On the CPython these tests run on, socket.socket's struct is read directly; if this
    # fails, the operations still work (through the methods) but slower.
    assert _loopcore.SOCKET_LAYOUT_OK == (0 if LAYOUT_UNKNOWN else 1)


@pytest.mark.skipif(LAYOUT_UNKNOWN, reason="this is the run with the layout unknown")
def test_every_operation_works_where_the_socket_layout_is_unknown():
    # The fallback of a Python whose socket struct differs: this file once more, in a
    # process where the extension takes the layout for unknown.
    env = dict(os.environ, WEFT_PY_SOCKET_LAYOUT="unknown")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           __file__], capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout


def test_operations_are_coroutines_to_asyncio():
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        op = loop.sock_recv(a, 10)
        assert asyncio.iscoroutine(op)
        assert isinstance(op, collections.abc.Coroutine)
        task = asyncio.create_task(op)
        b.send(b"x")
        assert await task == b"x"
        assert "sock_recv" in repr(task)
        a.close()
        b.close()

    run_weft(main)


def test_recv_recv_into_and_sendall_with_waiting(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        waiting = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        assert not waiting.done()
        await loop.sock_sendall(b, b"hello")
        assert await waiting == b"hello"
        buf = bytearray(10)
        into = asyncio.create_task(loop.sock_recv_into(a, buf))
        await asyncio.sleep(0)
        await loop.sock_sendall(b, memoryview(b"__abc__")[2:5])
        assert await into == 3 and buf[:3] == b"abc"
        # keyword arguments, as asyncio's Python methods take them
        await loop.sock_sendall(sock=b, data=b"kw")
        assert await loop.sock_recv(sock=a, n=10) == b"kw"
        a.close()
        b.close()

    run(main)


def test_sendall_sends_everything_across_partial_sends(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        data = bytes(range(256)) * (16 << 10)  # 4 MiB: far more than the socket buffers
        sending = asyncio.create_task(loop.sock_sendall(b, data))
        got = bytearray()
        while len(got) < len(data):
            got += await loop.sock_recv(a, 1 << 16)
        assert await sending is None
        assert got == data
        a.close()
        b.close()

    run(main)


def test_datagram_operations(run):
    async def main():
        loop = asyncio.get_running_loop()
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (a, b):
            s.setblocking(False)
            s.bind(("127.0.0.1", 0))
        waiting = asyncio.create_task(loop.sock_recvfrom(a, 100))
        await asyncio.sleep(0)
        assert await loop.sock_sendto(b, b"one", a.getsockname()) == 3
        assert await waiting == (b"one", b.getsockname())
        buf = bytearray(10)
        into = asyncio.create_task(loop.sock_recvfrom_into(a, buf, 2))
        await asyncio.sleep(0)
        await loop.sock_sendto(b, b"two", a.getsockname())
        assert await into == (2, b.getsockname())
        assert buf[:2] == b"tw"
        a.close()
        b.close()

    run(main)


def test_accept_gives_a_non_blocking_socket_and_connect_connects(run):
    async def main():
        loop = asyncio.get_running_loop()
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        accepting = asyncio.create_task(loop.sock_accept(listener))
        await asyncio.sleep(0)
        client = socket.socket()
        client.setblocking(False)
        await loop.sock_connect(client, listener.getsockname())
        conn, address = await accepting
        assert conn.gettimeout() == 0
        assert address == client.getsockname()
        await loop.sock_sendall(client, b"ping")
        assert await loop.sock_recv(conn, 10) == b"ping"
        for s in (conn, client, listener):
            s.close()

    run(main)


def test_connect_reports_the_error_from_so_error(run):
    async def main():
        loop = asyncio.get_running_loop()
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        address = closed.getsockname()
        closed.close()  # nothing listens there now
        client = socket.socket()
        client.setblocking(False)
        with pytest.raises(ConnectionRefusedError):
            await loop.sock_connect(client, address)
        client.close()

    run(main)


def test_cancelled_recv_then_a_new_one_on_the_same_socket(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        first = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        first.cancel()
        # the new one registers before the cancelled one's clean-up runs
        second = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        with pytest.raises(asyncio.CancelledError):
            await first
        b.send(b"data")
        assert await second == b"data"
        assert not loop.remove_reader(a.fileno())  # gone with the operation
        a.close()
        b.close()

    run(main)


def test_the_watcher_is_gone_once_an_operation_is_done_or_cancelled():
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        task = asyncio.create_task(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        assert type(reader_of(loop, a)).__name__ == "SockOp"
        b.send(b"x")
        await task
        assert reader_of(loop, a) is None
        task = asyncio.create_task(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.sleep(0)
        assert reader_of(loop, a) is None
        # closing the awaitable while it waits stops the wait too
        op = loop.sock_recv(a, 10)
        fut = op.send(None)
        assert isinstance(fut, asyncio.Future) and reader_of(loop, a) is op
        op.close()
        assert fut.cancelled()
        await asyncio.sleep(0)
        assert reader_of(loop, a) is None
        with pytest.raises(RuntimeError, match="cannot reuse"):
            op.send(None)
        a.close()
        b.close()

    run_weft(main)


def test_a_sock_op_replaces_add_reader_and_vice_versa(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        calls = []
        loop.add_reader(a.fileno(), calls.append, "reader")
        # the operation takes the descriptor's one reader over: the callback never runs
        task = asyncio.create_task(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        b.send(b"1")
        assert await task == b"1"
        assert calls == []
        assert not loop.remove_reader(a.fileno())  # the operation removed its own
        # and the other way round: add_reader replaces a waiting operation
        task = asyncio.create_task(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        ready = asyncio.Event()
        loop.add_reader(a.fileno(), lambda: (calls.append(a.recv(10)), ready.set()))
        b.send(b"2")
        await ready.wait()
        assert calls == [b"2"] and not task.done()
        task.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        # the cancelled operation did not remove the reader that replaced it
        assert loop.remove_reader(a.fileno())
        a.close()
        b.close()

    run(main)


def test_add_writer_and_remove_writer(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        ready = asyncio.Event()
        loop.add_writer(b, ready.set)  # an object with fileno() is accepted
        await ready.wait()
        assert loop.remove_writer(b.fileno())
        assert not loop.remove_writer(b.fileno())
        with pytest.raises(ValueError):
            loop.add_reader(-1, print)
        a.close()
        b.close()

    run(main)


def test_a_failing_reader_callback_is_reported(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        reported = asyncio.get_running_loop().create_future()
        loop.set_exception_handler(lambda _, context: reported.done() or
                                   reported.set_result(context))

        def fails():
            loop.remove_reader(a.fileno())
            raise ZeroDivisionError

        loop.add_reader(a.fileno(), fails)
        b.send(b"x")
        context = await reported
        assert isinstance(context["exception"], ZeroDivisionError)
        a.close()
        b.close()

    run(main)


def test_errors_are_asyncios(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        wrapped = ssl.create_default_context().wrap_socket(
            socket.socket(), server_hostname="example.com", do_handshake_on_connect=False)
        with pytest.raises(TypeError, match="SSLSocket"):
            await loop.sock_recv(wrapped, 10)
        wrapped.close()
        with pytest.raises(ValueError, match="negative"):
            await loop.sock_recv(a, -1)
        with pytest.raises(TypeError):
            await loop.sock_sendall(a, "text")
        with pytest.raises(TypeError):
            await loop.sock_recv_into(a, b"read-only")
        loop.set_debug(True)
        blocking = socket.socket()
        with pytest.raises(ValueError, match="non-blocking"):
            await loop.sock_recv(blocking, 10)
        blocking.close()
        loop.set_debug(False)
        b.close()  # the peer left: end of stream
        assert await loop.sock_recv(a, 10) == b""
        a.close()
        with pytest.raises(OSError):
            await loop.sock_recv(a, 10)

    run(main)


def test_a_closed_loop_refuses_to_wait(run):
    loop = LOOPS[run.kind]()
    a, b = pair()
    op = loop.sock_recv(a, 10)
    loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        op.send(None)
    b.send(b"x")  # an operation that does not wait needs no loop, as in asyncio
    op = loop.sock_recv(a, 10)
    with pytest.raises(StopIteration) as stop:
        op.send(None)
    assert stop.value.value == b"x"
    a.close()
    b.close()


def test_a_socket_subclass_is_called_through_its_methods(run):
    class Counting(socket.socket):
        calls = 0

        def recv(self, n, *args):
            Counting.calls += 1
            return super().recv(n, *args)

    async def main():
        loop = asyncio.get_running_loop()
        a0, b = pair()
        a = Counting(fileno=a0.detach())
        a.setblocking(False)
        task = asyncio.create_task(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        b.send(b"x")
        assert await task == b"x"
        assert Counting.calls == 2  # the first try, and the one when it was ready
        a.close()
        b.close()

    run(main)


def test_nothing_is_kept_alive_after_an_operation(run):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        gc.collect()
        gc.disable()
        try:
            task = asyncio.create_task(loop.sock_recv(a, 10))
            await asyncio.sleep(0)
            fut = weakref.ref(task._fut_waiter)
            b.send(b"x")
            await task
            sock = weakref.ref(a)
            del task
            await asyncio.sleep(0)
            assert fut() is None
            a.close()
            del a
            assert sock() is None
            # a cancelled wait lets go of everything too
            c, d = pair()
            task = asyncio.create_task(loop.sock_recv(c, 10))
            await asyncio.sleep(0)
            fut = weakref.ref(task._fut_waiter)
            task.cancel()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            del task
            sock = weakref.ref(c)
            c.close()
            del c
            assert fut() is None and sock() is None
        finally:
            gc.enable()
        b.close()
        d.close()

    run(main)


def test_a_waiting_operation_closed_after_its_loop(run):
    # What happens to the coroutine of a task still pending when its loop was closed.
    loop = LOOPS[run.kind]()
    a, b = pair()
    op = loop.sock_recv(a, 10)
    fut = op.send(None)
    assert isinstance(fut, asyncio.Future) and not fut.done()
    loop.close()
    op.close()
    with pytest.raises(RuntimeError):
        op.send(None)
    a.close()
    b.close()


def test_an_operation_never_awaited_warns(run):
    """As a coroutine: dropped before it ran, a RuntimeWarning; closed first, nothing."""
    async def main():
        loop = asyncio.get_running_loop()
        a, b = pair()
        with a, b:
            with pytest.warns(RuntimeWarning, match="sock_recv' was never awaited"):
                loop.sock_recv(a, 10)
                gc.collect()
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                operation = loop.sock_recv(a, 10)
                operation.close()
                del operation
                gc.collect()

    run(main)
