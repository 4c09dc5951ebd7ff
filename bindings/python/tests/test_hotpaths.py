"""The per-request paths an HTTP server takes on weft's loop, written in C: get_debug,
Handle/TimerHandle.cancel, call_soon's handles, and a stream transport's write, writelines
and is_closing. They must behave exactly as asyncio's Python versions do."""

import asyncio
import socket
import sys

import pytest

import weft
from weft import transports


@pytest.fixture
def loop():
    loop = weft.new_event_loop()
    loop.set_debug(False)  # even under -X dev: these tests set debug mode themselves
    yield loop
    loop.close()


def python_calls(fn, name):
    """How many Python-level calls of a function called `name` running fn() makes."""
    seen = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code.co_name == name:
            seen.append(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return seen


def test_get_debug_follows_set_debug_without_python_frames(loop):
    assert loop.get_debug() is False
    loop.set_debug(True)
    assert loop.get_debug() is True
    loop.set_debug(False)
    assert loop.get_debug() is False
    # Every Future and Task asks its loop get_debug() as it is made.
    assert python_calls(loop.create_future, "get_debug") == []


def test_timer_cancel_drops_the_timer_and_clears_the_handle(loop):
    fired = []
    timer = loop.call_later(10, fired.append, 1)
    assert len(loop._timers) == 1
    assert python_calls(timer.cancel, "cancel") == []  # asyncio's cancel, in C
    assert timer.cancelled()
    assert len(loop._timers) == 0
    assert timer._callback is None and timer._args is None and timer._repr is None
    timer.cancel()  # twice: nothing more
    assert timer.cancelled()
    loop.call_later(0.01, loop.stop)
    loop.run_forever()
    assert fired == []


def test_cancel_in_debug_mode_keeps_the_representation(loop):
    loop.set_debug(True)

    def some_callback():
        pass

    timer = loop.call_later(10, some_callback)
    handle = loop.call_soon(some_callback)
    timer.cancel()
    handle.cancel()
    for h in (timer, handle):
        assert h.cancelled()
        assert "some_callback" in h._repr
        assert "cancelled" in repr(h)
        assert h._callback is None


def test_cancel_asks_an_overridden_get_debug_and_timer_hook():
    asked = []

    class Loop(weft.EventLoop):
        def get_debug(self):
            asked.append("get_debug")
            return False

        def _timer_handle_cancelled(self, handle):
            asked.append("cancelled")
            super()._timer_handle_cancelled(handle)

    loop = Loop()
    loop.set_debug(False)
    try:
        timer = loop.call_later(10, print)
        asked.clear()
        timer.cancel()
        assert asked == ["cancelled", "get_debug"]
        assert len(loop._timers) == 0
        handle = loop.call_soon(print)
        asked.clear()
        handle.cancel()
        assert asked == ["get_debug"]
    finally:
        loop.close()


def test_cancel_of_a_handle_without_fields_raises_instead_of_crashing():
    from weft.handles import TimerHandle
    bare = TimerHandle.__new__(TimerHandle)
    with pytest.raises(AttributeError):
        bare.cancel()


class _Collect(asyncio.Protocol):
    def __init__(self, done, size):
        self.data = bytearray()
        self.done = done
        self.size = size

    def data_received(self, data):
        self.data += data
        if len(self.data) >= self.size and not self.done.done():
            self.done.set_result(bytes(self.data))


def _pair(loop, size):
    """A server protocol collecting `size` bytes, and a client transport to it."""
    async def make():
        done = loop.create_future()
        server = await loop.create_server(lambda: _Collect(done, size), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
        return server, transport, done
    return loop.run_until_complete(make())


def test_transport_hot_methods_are_c_and_writelines_joins(loop):
    server, transport, done = _pair(loop, 12)
    try:
        for name in ("write", "writelines", "is_closing"):
            assert not hasattr(getattr(transport, name), "__code__"), name
        assert transport.is_closing() is False
        transport.writelines([b"ab", bytearray(b"cd"), memoryview(b"ef")])
        transport.writelines(iter([b"gh", b""]))
        transport.writelines((b"ijkl",))
        transport.writelines([])
        with pytest.raises(TypeError, match="sequence item 1: expected a bytes-like object"):
            transport.writelines([b"x", "not bytes"])
        with pytest.raises(TypeError):
            transport.writelines(None)
        transport.pause_reading()
        assert not transport.is_reading()
        transport.resume_reading()
        assert transport.is_reading()
        assert loop.run_until_complete(asyncio.wait_for(done, 5)) == b"abcdefghijkl"
        transport.close()
        assert transport.is_closing() is True
        transport.writelines([b"dropped after close"])  # as asyncio: no error
    finally:
        transport.close()
        server.close()
        loop.run_until_complete(server.wait_closed())


def test_writelines_goes_through_an_overridden_write(loop):
    written = []

    class Logged(transports.Transport):
        def write(self, data):
            written.append(bytes(data))
            super().write(data)

    transport = Logged(loop, asyncio.Protocol(), {})
    try:
        assert transport.write.__func__ is Logged.write
        transport.writelines([b"a", b"b"])
        assert written == [b"ab"]
    finally:
        transport._core.release()


def test_keyboard_interrupt_in_a_transport_callback_stops_the_loop(loop):
    # A signal's KeyboardInterrupt lands at whatever bytecode runs when it arrives; in a
    # transport's own callback (here: EOF from the peer) it must end run_forever, not be
    # printed and dropped.
    made = loop.create_future()

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            def interrupt():
                raise KeyboardInterrupt
            transport._on_eof = interrupt
            made.set_result(transport)

    async def setup():
        server = await loop.create_server(Proto, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        await asyncio.wait_for(made, 5)
        return server, client

    server, client = loop.run_until_complete(setup())
    try:
        client.shutdown(socket.SHUT_WR)
        loop.call_later(5, loop.stop)  # bounded: without the fix the loop runs on
        with pytest.raises(KeyboardInterrupt):
            loop.run_forever()
    finally:
        client.close()
        server.close()
        made.result().abort()
        loop.run_until_complete(asyncio.sleep(0.05))


def test_handles_the_caller_keeps_or_watches_are_never_reused(loop):
    # The loop reuses a handle that has run only when nothing else can reach it.
    import gc
    import weakref
    seen = []
    kept = loop.call_soon(seen.append, 1)
    watched = weakref.ref(loop.call_soon(seen.append, 2))
    for i in range(3, 50):
        loop.call_soon(seen.append, i)  # dropped by the caller: reusable
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == list(range(1, 50))
    assert kept._callback == seen.append and kept._args == (1,) and not kept.cancelled()
    gc.collect()
    assert watched() is None  # released, not kept with new contents
    again = [loop.call_soon(seen.append, n) for n in range(50, 60)]
    assert all(h is not kept for h in again)
    assert len({id(h) for h in again}) == len(again)
    assert all(h._args == (n,) and h._context is not None and h._loop is loop
               for h, n in zip(again, range(50, 60)))
    assert all(gc.is_tracked(h) is False for h in again)  # in the loop's custody
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == list(range(1, 60))
    assert gc.is_tracked(kept)


def test_many_tasks_and_futures_reuse_handles_safely(loop):
    async def child(n):
        fut = loop.create_future()
        loop.call_soon(fut.set_result, n)
        await asyncio.sleep(0)
        return await fut

    async def main():
        total = 0
        for _ in range(20):
            total += sum(await asyncio.gather(*(child(n) for n in range(200))))
        return total

    assert loop.run_until_complete(main()) == 20 * sum(range(200))
