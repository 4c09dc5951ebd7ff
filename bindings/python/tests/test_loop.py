"""weft's event loop: what CPython's test suite does not check directly."""

import asyncio
import contextvars
import logging
import os
import signal
import sys
import threading
import time

import pytest

import weft


@pytest.fixture
def loop():
    loop = weft.new_event_loop()
    yield loop
    loop.close()


def test_run_returns_the_result_on_weft():
    async def main():
        return type(asyncio.get_running_loop())

    assert weft.run(main()) is weft.EventLoop


def test_runner_with_loop_factory():
    async def main():
        await asyncio.sleep(0.001)
        return asyncio.get_running_loop()

    with asyncio.Runner(loop_factory=weft.new_event_loop) as runner:
        assert isinstance(runner.run(main()), weft.EventLoop)


def test_install_makes_asyncio_run_use_weft():
    try:
        weft.install()

        async def main():
            return asyncio.get_running_loop()

        assert isinstance(asyncio.run(main()), weft.EventLoop)
    finally:
        asyncio.set_event_loop_policy(None)


def test_loop_is_an_abstract_event_loop(loop):
    assert isinstance(loop, asyncio.AbstractEventLoop)
    assert isinstance(loop.call_soon(lambda: None), asyncio.Handle)
    assert isinstance(loop.call_later(1, lambda: None), asyncio.TimerHandle)


def test_call_soon_order_and_arguments(loop):
    seen = []
    for i in range(5):
        loop.call_soon(seen.append, i)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == [0, 1, 2, 3, 4]


def test_callbacks_scheduled_while_running_wait_for_the_next_iteration(loop):
    seen = []

    def first():
        seen.append("first")
        loop.call_soon(seen.append, "third")

    loop.call_soon(first)
    loop.call_soon(seen.append, "second")
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == ["first", "second"]
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == ["first", "second", "third"]


def test_timers_fire_in_deadline_order_and_cancel(loop):
    seen = []
    loop.call_later(0.03, seen.append, 3)
    loop.call_later(0.01, seen.append, 1)
    cancelled = loop.call_later(0.02, seen.append, "never")
    loop.call_at(loop.time() + 0.02, seen.append, 2)
    cancelled.cancel()
    assert cancelled.cancelled()
    loop.call_later(0.05, loop.stop)
    start = time.monotonic()
    loop.run_forever()
    assert seen == [1, 2, 3]
    assert time.monotonic() - start >= 0.045


def test_timer_when_and_time_is_monotonic(loop):
    now = loop.time()
    assert abs(now - time.monotonic()) < 0.01
    handle = loop.call_at(now + 10, lambda: None)
    assert handle.when() == now + 10
    handle.cancel()


def test_call_soon_threadsafe_wakes_the_loop(loop):
    seen = []

    def worker():
        time.sleep(0.05)
        loop.call_soon_threadsafe(seen.append, threading.current_thread().name)
        loop.call_soon_threadsafe(loop.stop)

    thread = threading.Thread(target=worker, name="worker")
    thread.start()
    loop.run_forever()
    thread.join()
    assert seen == ["worker"]


def test_context_is_used(loop):
    var = contextvars.ContextVar("var", default="default")
    ctx = contextvars.copy_context()
    ctx.run(var.set, "in context")
    seen = []
    loop.call_soon(lambda: seen.append(var.get()), context=ctx)
    loop.call_soon(lambda: seen.append(var.get()))
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == ["in context", "default"]


def test_exception_in_callback_reaches_the_handler(loop):
    contexts = []
    loop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def fail():
        raise ZeroDivisionError

    handle = loop.call_soon(fail)
    loop.call_soon(loop.stop)
    loop.run_forever()
    (context,) = contexts
    assert isinstance(context["exception"], ZeroDivisionError)
    assert context["handle"] is handle
    assert context["message"].startswith("Exception in callback")


def test_default_handler_logs_to_asyncio_logger(loop, caplog):
    loop.call_soon(lambda: 1 / 0)
    loop.call_soon(loop.stop)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        loop.run_forever()
    assert "Exception in callback" in caplog.text
    assert "ZeroDivisionError" in caplog.text


def test_keyboard_interrupt_escapes_and_the_rest_still_runs(loop):
    seen = []

    def interrupt():
        raise KeyboardInterrupt

    loop.call_soon(interrupt)
    loop.call_soon(seen.append, "after")
    with pytest.raises(KeyboardInterrupt):
        loop.run_forever()
    assert seen == []
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert seen == ["after"]


def test_stop_before_run_forever_runs_one_iteration(loop):
    seen = []
    loop.stop()
    loop.call_soon(seen.append, 1)
    loop.run_forever()
    assert seen == [1]


def test_closed_loop_refuses_work(loop):
    loop.close()
    loop.close()  # harmless twice
    assert loop.is_closed()
    with pytest.raises(RuntimeError):
        loop.call_soon(lambda: None)
    with pytest.raises(RuntimeError):
        loop.run_forever()


def test_run_in_executor_and_shutdown(loop):
    async def main():
        result = await loop.run_in_executor(None, sum, [1, 2, 3])
        await loop.shutdown_default_executor()
        return result

    assert loop.run_until_complete(main()) == 6
    with pytest.raises(RuntimeError):
        loop.run_in_executor(None, print)


def test_getaddrinfo_numeric(loop):
    infos = loop.run_until_complete(loop.getaddrinfo("127.0.0.1", 80, type=0))
    assert infos and infos[0][4][0] == "127.0.0.1"


def test_shutdown_asyncgens_closes_generators(loop):
    closed = []

    async def agen():
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    async def main():
        gen = agen()
        await gen.__anext__()
        await loop.shutdown_asyncgens()

    loop.run_until_complete(main())
    assert closed == [True]


def test_signal_handler_runs_on_the_loop(loop):
    seen = []
    loop.add_signal_handler(signal.SIGUSR1, seen.append, "usr1")
    loop.call_later(0.01, os.kill, os.getpid(), signal.SIGUSR1)
    loop.call_later(0.2, loop.stop)
    loop.run_forever()
    assert seen == ["usr1"]
    assert loop.remove_signal_handler(signal.SIGUSR1) is True
    assert loop.remove_signal_handler(signal.SIGUSR1) is False
    with pytest.raises(RuntimeError):
        loop.add_signal_handler(signal.SIGKILL, print)
    with pytest.raises(TypeError):
        loop.add_signal_handler("x", print)


def test_slow_callback_warning_in_debug_mode(loop, caplog):
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01
    loop.call_soon(time.sleep, 0.03)
    loop.call_soon(loop.stop)
    with caplog.at_level(logging.WARNING, logger="asyncio"):
        loop.run_forever()
    assert "took" in caplog.text


def test_task_factory(loop):
    made = []

    def factory(lp, coro, **kwargs):
        task = asyncio.Task(coro, loop=lp, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)
    assert loop.get_task_factory() is factory

    async def main():
        return 1

    assert loop.run_until_complete(main()) == 1
    assert len(made) == 1


@pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                         ids=["weft", "asyncio"])
def test_task_factory_tasks_get_their_name(new_loop):
    # asyncio names a factory's task through set_name (3.13 has no tasks._set_task_name).
    loop = new_loop()
    try:
        loop.set_task_factory(lambda lp, coro, **kwargs: asyncio.Task(coro, loop=lp, **kwargs))

        async def main():
            return asyncio.current_task().get_name()

        assert loop.run_until_complete(loop.create_task(main(), name="named")) == "named"
        assert loop.run_until_complete(
            loop.create_task(main(), name="in-context", context=contextvars.copy_context())
        ) == "in-context"
    finally:
        loop.close()


def test_many_timers_cancelled_do_not_leak(loop):
    handles = [loop.call_later(100, print) for _ in range(10000)]
    for handle in handles:
        handle.cancel()
    assert not loop._timers
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert not loop._timers


def test_handles_in_cycles_are_collected_after_leaving_the_loop(loop):
    # The loop untracks the handles it holds (weft/_loopcore.c); once a handle has run or
    # been cancelled, a cycle through it must be garbage again.
    import gc
    import weakref

    class Owner:
        def tick(self):
            pass

    def make(schedule):
        owner = Owner()
        owner.handle = schedule(owner.tick)  # owner -> handle -> bound method -> owner
        return weakref.ref(owner), owner.handle

    ran = make(loop.call_soon)[0]
    cancelled, handle = make(lambda cb: loop.call_later(3600, cb))
    handle.cancel()
    del handle
    fired = make(lambda cb: loop.call_later(0, cb))[0]
    pending = make(lambda cb: loop.call_later(3600, cb))[0]
    loop.call_later(0.01, loop.stop)
    loop.run_forever()
    gc.collect()
    assert ran() is None and cancelled() is None and fired() is None
    assert pending() is not None  # still scheduled: the loop keeps it
    loop.close()
    gc.collect()
    assert pending() is None


def test_getaddrinfo_answers_as_socket_getaddrinfo(loop):
    import socket
    cases = [("127.0.0.1", 80, {}), ("::1", "8080", {"type": socket.SOCK_STREAM}),
             (None, 0, {"flags": socket.AI_PASSIVE}), (b"127.0.0.1", None, {}),
             ("localhost", 80, {"family": socket.AF_INET})]
    for host, port, hints in cases:
        got = loop.run_until_complete(loop.getaddrinfo(host, port, **hints))
        assert got == socket.getaddrinfo(host, port, **hints)
    with pytest.raises(socket.gaierror):
        loop.run_until_complete(loop.getaddrinfo("256.1.1.1.invalid.", 80,
                                                 flags=socket.AI_NUMERICHOST))


def test_getaddrinfo_failure_is_socket_gaierror(loop):
    # An unknown service name fails in /etc/services: no query leaves the machine.
    import socket
    with pytest.raises(socket.gaierror) as caught:
        loop.run_until_complete(loop.getaddrinfo("localhost", "no-such-service-weft"))
    try:
        socket.getaddrinfo("localhost", "no-such-service-weft")
    except socket.gaierror as expected:
        assert caught.value.errno == expected.errno
        assert caught.value.strerror == expected.strerror


def test_ctrl_c_while_the_loop_waits_stops_run_forever():
    # SIGINT reaches Python through the signal wakeup fd, watched by the core: the
    # KeyboardInterrupt is raised as that callback starts and must end run_forever.
    import subprocess
    import sys
    child = subprocess.Popen([sys.executable, "-c", """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
import functools, weft
loop = weft.new_event_loop()
loop.call_soon(functools.partial(print, "ready", flush=True))
try:
    loop.run_forever()
except KeyboardInterrupt:
    print("interrupted", flush=True)
finally:
    loop.close()
"""], stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # idle in the core's wait
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=20)
        assert out.strip() == "interrupted"
    finally:
        child.kill()
        child.wait()


BOTH_LOOPS = pytest.mark.parametrize("new_loop", [weft.new_event_loop, asyncio.new_event_loop],
                                     ids=["weft", "asyncio"])


def _from_another_thread(loop, call):
    """Runs call() on a new thread while the loop runs; its result, or what it raised."""
    outcome = {}

    def body():
        try:
            outcome["result"] = call()
        except BaseException as exc:  # noqa: BLE001 (handed back to the test)
            outcome["error"] = exc

    async def main():
        thread = threading.Thread(target=body)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.005)
        thread.join()

    loop.run_until_complete(main())
    return outcome


async def _until(predicate, rounds=1000):
    # asyncio's loop is not woken by a call_soon from another thread: keep it turning.
    for _ in range(rounds):
        if predicate():
            return True
        await asyncio.sleep(0.005)
    return predicate()


@BOTH_LOOPS
def test_call_soon_and_timers_from_another_thread_without_debug(new_loop):
    # asyncio checks the calling thread in debug mode only; weft routes such calls through
    # the thread-safe path, and the callbacks run on the loop's thread.
    loop = new_loop()
    try:
        loop.set_debug(False)
        ran = []
        record = lambda what: ran.append((what, threading.get_ident()))  # noqa: E731
        out = _from_another_thread(loop, lambda: (
            loop.call_soon(record, "soon"),
            loop.call_later(0.01, record, "later"),
            loop.call_at(loop.time() + 0.01, record, "at"),
            loop.call_later(60, record, "cancelled")))  # cancelled long before it is due
        assert "error" not in out, out
        soon, later, at, cancelled = out["result"]
        assert isinstance(soon, asyncio.Handle) and isinstance(later, asyncio.TimerHandle)
        assert at.when() <= loop.time() + 0.01
        cancelled.cancel()
        assert loop.run_until_complete(_until(lambda: len(ran) >= 3))
        loop.run_until_complete(asyncio.sleep(0.05))
        assert sorted(what for what, _ in ran) == ["at", "later", "soon"]
        assert {thread for _, thread in ran} == {threading.get_ident()}
    finally:
        loop.close()


@BOTH_LOOPS
def test_timer_from_another_thread_cancelled_there_never_runs(new_loop):
    loop = new_loop()
    try:
        ran = []

        def schedule_and_cancel():
            timer = loop.call_later(0.1, ran.append, 1)  # cancelled before it is due
            timer.cancel()
            return timer

        out = _from_another_thread(loop, schedule_and_cancel)
        assert out["result"].cancelled()
        loop.run_until_complete(asyncio.sleep(0.2))
        assert ran == []
    finally:
        loop.close()


@BOTH_LOOPS
def test_call_soon_from_another_thread_in_debug_mode_raises(new_loop):
    loop = new_loop()
    try:
        loop.set_debug(True)
        for call in (lambda: loop.call_soon(print), lambda: loop.call_later(1, print),
                     lambda: loop.call_at(loop.time() + 1, print)):
            out = _from_another_thread(loop, call)
            assert isinstance(out.get("error"), RuntimeError), out
    finally:
        loop.close()


@BOTH_LOOPS
def test_runner_debug_makes_the_loop_debug(new_loop):
    async def main():
        return asyncio.get_running_loop().get_debug()

    with asyncio.Runner(debug=True, loop_factory=new_loop) as runner:
        assert runner.run(main()) is True
    with asyncio.Runner(debug=False, loop_factory=new_loop) as runner:
        assert runner.run(main()) is False
    if sys.version_info >= (3, 12):  # asyncio.run's loop_factory came in 3.12
        assert asyncio.run(main(), debug=True, loop_factory=new_loop) is True


@BOTH_LOOPS
def test_a_failed_task_is_reported_at_once_in_debug_mode_too(new_loop):
    # Nothing keeps a finished task alive: "exception was never retrieved" comes as soon
    # as the program lets go of it (test_futures2 checks it with sleep(0)).
    import weakref
    reported = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: reported.append(context["message"]))

        async def fail():
            1 / 0

        ref = weakref.ref(asyncio.ensure_future(fail()))
        await asyncio.sleep(0)
        return ref() is None

    for debug in (False, True):
        reported.clear()
        with asyncio.Runner(debug=debug, loop_factory=new_loop) as runner:
            assert runner.run(main()) is True
        assert reported == ["Task exception was never retrieved"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="3.11's asyncio runs the handler "
                    "in the loop's context")
@BOTH_LOOPS
def test_custom_exception_handler_runs_in_the_failing_context(new_loop):
    name = contextvars.ContextVar("name", default="outer")
    seen = []

    def callback():
        name.set("handle")
        1 / 0

    async def task():
        name.set("task")
        1 / 0

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: seen.append(name.get()))
        loop.call_soon(callback)
        loop.create_task(task())
        for _ in range(3):
            await asyncio.sleep(0)

    with asyncio.Runner(loop_factory=new_loop) as runner:
        runner.run(main())
    assert sorted(seen) == ["handle", "task"]


@BOTH_LOOPS
def test_watching_a_bad_object_or_a_transports_socket_raises(new_loop):
    import socket
    loop = new_loop()
    rsock, wsock = socket.socketpair()
    try:
        for method in (loop.add_reader, loop.add_writer):
            with pytest.raises(ValueError, match="Invalid file object"):
                method(object(), print)
        for method in (loop.remove_reader, loop.remove_writer):
            with pytest.raises(ValueError, match="Invalid file object"):
                method(object())

        async def main():
            transport, _ = await loop.create_connection(asyncio.Protocol, sock=rsock)
            try:
                for fd in (rsock, rsock.fileno()):
                    for call in (lambda: loop.add_reader(fd, print),
                                 lambda: loop.add_writer(fd, print),
                                 lambda: loop.remove_reader(fd),
                                 lambda: loop.remove_writer(fd)):
                        with pytest.raises(RuntimeError, match="is used by transport"):
                            call()
            finally:
                transport.close()
            await asyncio.sleep(0)

        loop.run_until_complete(main())
    finally:
        loop.close()
        rsock.close()
        wsock.close()


@BOTH_LOOPS
@pytest.mark.parametrize("blocking", [True, False], ids=["blocking", "non-blocking"])
def test_add_reader_and_writer_leave_the_blocking_mode_alone(new_loop, blocking):
    import socket
    loop = new_loop()
    a, b = socket.socketpair()
    try:
        a.setblocking(blocking)
        ready = []
        loop.add_reader(a, ready.append, "r")
        loop.add_writer(a.fileno(), ready.append, "w")
        assert os.get_blocking(a.fileno()) is blocking
        b.send(b"x")

        async def until_both():
            for _ in range(1000):
                if {"r", "w"} <= set(ready):
                    return
                await asyncio.sleep(0.001)

        loop.run_until_complete(until_both())
        assert {"r", "w"} <= set(ready)
        assert loop.remove_reader(a) and loop.remove_writer(a)
        assert os.get_blocking(a.fileno()) is blocking
    finally:
        a.close()
        b.close()
        loop.close()
