"""weft's asyncio event loop: scheduling, timers, running and stopping in the C core.

The core's ready queue and timer heap hold every callback, as an integer id into this
loop's table of handles. When the core reaches a run of consecutive Python callbacks it
hands their ids over in one call (weft_loop_set_batch_handler), and the loop runs them
in that exact order. Futures and tasks are asyncio's own (C-accelerated) classes, which
schedule their callbacks through this loop's call_soon."""

from __future__ import annotations

import collections
import itertools
import os
import sys
import threading
import time
import warnings
import weakref
from asyncio import base_events, constants, coroutines, events, futures, tasks

from ._core import ffi, lib, NULL, check
from .exceptions import ExceptionHandlerMixin
from .executor import ExecutorMixin
from .handles import Handle, TimerHandle, report_callback_error
from .fdwatch import FdWatchMixin
from .signals import SignalMixin
from .transports import TransportMixin
from .wakeup import SignalWakeup
from .subprocess import SubprocessMixin
from .datagram import DatagramMixin
from .pipes import PipeMixin
from .sendfile import SendfileMixin

__all__ = ["EventLoop"]

_monotonic = time.monotonic
_THREADSAFE = 2  # the marker id of call_soon_threadsafe; timers have odd ids, call_soon 0


def _debug_from_environment() -> bool:
    return sys.flags.dev_mode or (not sys.flags.ignore_environment
                                  and bool(os.environ.get("PYTHONASYNCIODEBUG")))


def _stop_when_done(fut) -> None:
    if not fut.cancelled():
        exc = fut.exception()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            return  # run_forever is already unwinding with it
    futures._get_loop(fut).stop()


class EventLoop(DatagramMixin, PipeMixin, SendfileMixin, TransportMixin, FdWatchMixin, SubprocessMixin, SignalMixin, ExecutorMixin, ExceptionHandlerMixin, events.AbstractEventLoop):
    """A drop-in asyncio event loop running on weft's C core."""

    def __init__(self) -> None:
        out = ffi.new("weft_loop_t **")
        check(lib.weft_loop_new(out))
        self._ptr = out[0]
        self._cookie = ffi.new_handle(self)
        lib.weft_loop_set_batch_handler(self._ptr, lib._weft_batch, self._cookie)
        lib.weft_loop_set_log_handler(self._ptr, lib._weft_log, self._cookie)
        # What a batch scheduled goes back to the core through this counter (read by the
        # core when the batch handler returns) rather than through a call.
        self._batch_posts = ffi.new("size_t *")
        lib.weft_loop_set_batch_posts(self._ptr, self._batch_posts, 0)
        self._ready: collections.deque[Handle] = collections.deque()
        self._unposted = 0
        self._markers = ffi.new("uintptr_t[]", 256)
        self._timers: dict[int, TimerHandle] = {}
        self._next_timer_id = itertools.count(1, 2).__next__
        self._handle_out = ffi.new("weft_handle_t **")
        self._fired_cores: list = []
        self._cancelled_cores: list = []
        self._closed = False
        self._thread_id = None
        self._debug = False
        self.set_debug(_debug_from_environment())
        self.slow_callback_duration = 0.1
        self._interrupt: BaseException | None = None
        self._task_factory = None
        self._exception_handler = None
        self._current_handle = None
        self._coroutine_origin_tracking_enabled = False
        self._coroutine_origin_tracking_saved_depth = None
        self._asyncgens = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
        self._init_signals()
        self._init_fdwatch()
        self._threadsafe: collections.deque[Handle] = collections.deque()
        self._wakeup_posted = False
        self._signal_wakeup = SignalWakeup(self)
        self._servers: set = set()
        self._transports: set = set()  # alive until connection_lost, as the core holds them
        self._subprocesses: set = set()  # alive until connection_lost, as the core holds them

    def __repr__(self) -> str:
        return (f"<{self.__class__.__name__} running={self.is_running()} "
                f"closed={self.is_closed()} debug={self.get_debug()}>")

    # ---- Checks -----------------------------------------------------------------------

    def _check_closed(self) -> None:
        if self._closed:
            raise RuntimeError("Event loop is closed")

    def _check_thread(self) -> None:
        if self._thread_id is not None and self._thread_id != threading.get_ident():
            raise RuntimeError("Non-thread-safe operation invoked on an event loop other "
                               "than the current one")

    def _check_callback(self, callback, method: str) -> None:
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError(f"coroutines cannot be used with {method}()")
        if not callable(callback):
            raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")

    def _check_running(self) -> None:
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        if events._get_running_loop() is not None:
            raise RuntimeError("Cannot run the event loop while another loop is running")

    # ---- Scheduling -------------------------------------------------------------------
    #
    # call_soon and call_soon_threadsafe append their handle to ``_ready``, asyncio's
    # order; the core's ready queue holds one marker (id 0) per handle, and each marker it
    # hands back runs the oldest handle. Markers for handles scheduled while Python code
    # runs are posted in one call when control goes back to the core (_post); thread-safe
    # calls post their marker at once, which also wakes the loop. Timers are the core's
    # (odd ids, in ``_timers``); the core handles of fired and cancelled timers are given
    # back in one call too.

    def call_soon(self, callback, *args, context=None):
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        self._unposted += 1
        return handle

    def call_soon_threadsafe(self, callback, *args, context=None):
        self._check_closed()
        if self._debug:
            self._check_callback(callback, "call_soon_threadsafe")
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._threadsafe.append(handle)
        if not self._wakeup_posted:
            # One marker (id 2) runs every thread-safe handle queued when it is reached;
            # while one is on its way, more calls need not cross into the core at all.
            self._wakeup_posted = True
            rc = lib.weft_call_soon_threadsafe_id(self._ptr, _THREADSAFE)
            if rc:
                self._wakeup_posted = False
                check(rc)
        return handle

    def call_later(self, delay, callback, *args, context=None):
        if delay is None:
            raise TypeError("delay must not be None")
        return self.call_at(_monotonic() + delay, callback, *args, context=context)

    def call_at(self, when, callback, *args, context=None):
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        timer = TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        ident = self._next_timer_id()
        out = self._handle_out
        rc = lib.weft_call_at_id(self._ptr, when, ident, out)
        if rc:
            check(rc)
        timer._core = out[0]
        timer._id = ident
        timer._scheduled = True
        self._timers[ident] = timer
        return timer

    def _timer_handle_cancelled(self, timer) -> None:
        """Called by TimerHandle.cancel: the core's timer is cancelled at the next post."""
        if self._timers.pop(getattr(timer, "_id", None), None) is not None:
            self._cancelled_cores.append(timer._core)
            timer._core = None
            if len(self._cancelled_cores) >= 4096:
                self._give_back_timers()

    def time(self) -> float:
        # The core's clock is CLOCK_MONOTONIC (uv_hrtime), the same as time.monotonic.
        return _monotonic()

    def _post(self) -> None:
        """Hands the core what Python code scheduled since control last left it."""
        count = self._unposted
        if count:
            self._unposted = 0
            if count > len(self._markers):
                self._markers = ffi.new("uintptr_t[]", max(count, 2 * len(self._markers)))
            lib.weft_call_soon_ids(self._ptr, self._markers, count)
        if self._fired_cores or self._cancelled_cores:
            self._give_back_timers()

    def _give_back_timers(self) -> None:
        fired, self._fired_cores = self._fired_cores, []
        cancelled, self._cancelled_cores = self._cancelled_cores, []
        if fired:
            lib.weft_handles_release(ffi.new("weft_handle_t *[]", fired), len(fired), 0)
        if cancelled:
            lib.weft_handles_release(ffi.new("weft_handle_t *[]", cancelled),
                                     len(cancelled), 1)

    # ---- Running the batches the core hands over --------------------------------------

    def _run_batch(self, ids) -> None:
        if self._debug:
            self._run_batch_debug(ids)
            return
        ready = self._ready
        timers = self._timers
        fired = self._fired_cores
        for index, ident in enumerate(ids):
            if ident == 0:
                handle = ready.popleft()
            elif ident == _THREADSAFE:
                if not self._run_threadsafe(ids[index + 1:]):
                    return
                continue
            else:
                handle = timers.pop(ident, None)
                if handle is None:
                    continue  # cancelled
                fired.append(handle._core)
                handle._core = None
            if handle._cancelled:
                continue
            try:
                handle._context.run(handle._callback, *handle._args)
            except (SystemExit, KeyboardInterrupt) as exc:
                self._interrupted(exc, ids[index + 1:])
                return
            except BaseException as exc:
                report_callback_error(handle, exc)

    def _run_batch_debug(self, ids) -> None:
        """The debug-mode batch: tracks the current handle and reports slow callbacks."""
        for index, ident in enumerate(ids):
            if ident == 0:
                handle = self._ready.popleft()
            elif ident == _THREADSAFE:
                if not self._run_threadsafe(ids[index + 1:]):
                    return
                continue
            else:
                handle = self._timers.pop(ident, None)
                if handle is None:
                    continue
                self._fired_cores.append(handle._core)
                handle._core = None
            if handle._cancelled:
                continue
            self._current_handle = handle
            start = _monotonic()
            try:
                handle._run()
            except BaseException as exc:
                self._interrupted(exc, ids[index + 1:])
                return
            finally:
                self._current_handle = None
            elapsed = _monotonic() - start
            if elapsed >= self.slow_callback_duration:
                base_events.logger.warning("Executing %s took %.3f seconds",
                                           base_events._format_handle(handle), elapsed)

    def _run_threadsafe(self, rest) -> bool:
        """Runs the thread-safe handles queued now (not those queued while they run: their
        callers post a new marker). False if one raised SystemExit/KeyboardInterrupt."""
        self._wakeup_posted = False
        queue = self._threadsafe
        for _ in range(len(queue)):
            handle = queue.popleft()
            if handle._cancelled:
                continue
            try:
                handle._context.run(handle._callback, *handle._args)
            except (SystemExit, KeyboardInterrupt) as exc:
                self._interrupted(exc, list(rest) + ([_THREADSAFE] if queue else []))
                return False
            except BaseException as exc:
                report_callback_error(handle, exc)
        return True

    def _run_guarded(self, handle) -> None:
        """Runs one handle the core called directly (a signal handler)."""
        try:
            handle._run()
        except BaseException as exc:
            self._interrupted(exc, ())

    def _interrupted(self, exc: BaseException, rest) -> None:
        """A callback raised SystemExit or KeyboardInterrupt: stop, and let run_forever
        raise it. The rest of the batch goes back into the queue, still in order ahead of
        what was scheduled since."""
        if self._interrupt is None:
            self._interrupt = exc
        timer_ids = [ident for ident in rest if ident != 0]  # timers and thread-safe markers
        self._unposted += len(rest) - len(timer_ids)
        if timer_ids:
            lib.weft_call_soon_ids(self._ptr, ffi.new("uintptr_t[]", timer_ids), len(timer_ids))
        lib.weft_loop_stop(self._ptr)

    # ---- Running ----------------------------------------------------------------------

    def run_forever(self):
        self._check_closed()
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        old_hooks = sys.get_asyncgen_hooks()
        self._thread_id = threading.get_ident()
        sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook,
                               finalizer=self._asyncgen_finalizer_hook)
        try:
            events._set_running_loop(self)
            self._signal_wakeup.enter()
            self._post()
            check(lib.weft_loop_run_forever(self._ptr))
            exc, self._interrupt = self._interrupt, None
            if exc is not None:
                raise exc
        finally:
            self._signal_wakeup.leave()
            self._thread_id = None
            events._set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_hooks)

    def run_until_complete(self, future):
        self._check_closed()
        self._check_running()
        new_task = not futures.isfuture(future)
        future = tasks.ensure_future(future, loop=self)
        if new_task:
            future._log_destroy_pending = False  # an exception here is the caller's
        future.add_done_callback(_stop_when_done)
        try:
            self.run_forever()
        except BaseException:
            if new_task and future.done() and not future.cancelled():
                future.exception()  # retrieved: the caller gets it from run_forever
            raise
        finally:
            future.remove_done_callback(_stop_when_done)
        if not future.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return future.result()

    def stop(self):
        if not self._closed:
            lib.weft_loop_stop(self._ptr)

    def is_running(self):
        return self._thread_id is not None

    def is_closed(self):
        return self._closed

    def close(self):
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:
            return
        if self._debug:
            base_events.logger.debug("Close %r", self)
        self._remove_all_signal_handlers()
        self._signal_wakeup.close()
        self._remove_all_watchers()
        self._closed = True
        self._executor_shutdown_called = True
        executor, self._default_executor = self._default_executor, None
        if executor is not None:
            executor.shutdown(wait=False)
        self._ready.clear()
        self._threadsafe.clear()
        self._unposted = 0
        for timer in self._timers.values():
            self._cancelled_cores.append(timer._core)
            timer._core = None
        self._timers.clear()
        self._give_back_timers()
        lib.weft_loop_close(self._ptr)

    def __del__(self, _warn=warnings.warn):
        if not self._closed:
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()
        ptr, self._ptr = getattr(self, "_ptr", NULL), NULL
        if ptr != NULL:
            lib.weft_loop_free(ptr)

    # ---- Futures and tasks ------------------------------------------------------------

    def create_future(self):
        return futures.Future(loop=self)

    def create_task(self, coro, *, name=None, context=None):
        self._check_closed()
        if self._task_factory is None:
            task = tasks.Task(coro, loop=self, name=name, context=context)
            if task._source_traceback:
                del task._source_traceback[-1]
        else:
            if context is None:
                task = self._task_factory(self, coro)
            else:
                task = self._task_factory(self, coro, context=context)
            tasks._set_task_name(task, name)
        return task

    def set_task_factory(self, factory):
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self):
        return self._task_factory

    # ---- Debug mode -------------------------------------------------------------------

    def get_debug(self):
        return self._debug

    def set_debug(self, enabled):
        self._debug = bool(enabled)
        lib.weft_loop_set_debug(self._ptr, self._debug)
        if self.is_running():
            self.call_soon_threadsafe(self._set_coroutine_origin_tracking, self._debug)

    def _set_coroutine_origin_tracking(self, enabled: bool) -> None:
        if bool(enabled) == self._coroutine_origin_tracking_enabled:
            return
        if enabled:
            self._coroutine_origin_tracking_saved_depth = sys.get_coroutine_origin_tracking_depth()
            sys.set_coroutine_origin_tracking_depth(constants.DEBUG_STACK_DEPTH)
        else:
            sys.set_coroutine_origin_tracking_depth(self._coroutine_origin_tracking_saved_depth)
        self._coroutine_origin_tracking_enabled = bool(enabled)

    # ---- Asynchronous generators ------------------------------------------------------

    def _asyncgen_finalizer_hook(self, agen) -> None:
        self._asyncgens.discard(agen)
        if not self.is_closed():
            self.call_soon_threadsafe(self.create_task, agen.aclose())

    def _asyncgen_firstiter_hook(self, agen) -> None:
        if self._asyncgens_shutdown_called:
            warnings.warn(f"asynchronous generator {agen!r} was scheduled after "
                          f"loop.shutdown_asyncgens() call", ResourceWarning, source=self)
        self._asyncgens.add(agen)

    async def shutdown_asyncgens(self):
        """Closes every asynchronous generator still open, reporting their failures."""
        self._asyncgens_shutdown_called = True
        if not self._asyncgens:
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        results = await tasks.gather(*[agen.aclose() for agen in closing],
                                     return_exceptions=True)
        for result, agen in zip(results, closing):
            if isinstance(result, Exception):
                self.call_exception_handler({
                    "message": f"an error occurred during closing of asynchronous "
                               f"generator {agen!r}",
                    "exception": result,
                    "asyncgen": agen,
                })


@ffi.def_extern()
def _weft_batch(loop_ptr, ids, count, arg):
    loop = ffi.from_handle(arg)
    try:
        loop._run_batch([ids[0]] if count == 1 else ffi.unpack(ids, count))
    finally:
        posts = loop._unposted
        if posts:
            loop._unposted = 0
            loop._batch_posts[0] = posts
        if loop._fired_cores or loop._cancelled_cores:
            loop._give_back_timers()


@ffi.def_extern()
def _weft_log(loop_ptr, level, text, arg):
    base_events.logger.log(level, ffi.string(text).decode(errors="replace"))
