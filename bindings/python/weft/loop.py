"""weft's asyncio event loop: scheduling, timers, running and stopping in the C core.

The core's ready queue and timer heap hold every callback, as an integer id standing for a
Python handle. When the core reaches a run of consecutive Python callbacks it hands their
ids over in one call (weft_loop_set_batch_handler), and they run in that exact order.
Scheduling and that batch run once per callback, so they are written in C: LoopCore
(weft/_loopcore.c), this class's base, holds call_soon, call_soon_threadsafe, call_at,
call_later and time, and runs the batches; this module keeps the rest, including the
debug-mode paths, which LoopCore hands back here. Futures and tasks are asyncio's own
(C-accelerated) classes, which schedule their callbacks through call_soon."""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
import weakref
from asyncio import base_events, constants, coroutines, events, format_helpers, futures, tasks

from ._core import ffi, lib, NULL, check, error_from_code, callback_failed
from . import _loopcore
from ._loopcore import LoopCore
from .exceptions import ExceptionHandlerMixin
from .executor import ExecutorMixin
from .resolver import ResolverMixin
from .handles import Handle, TimerHandle, report_callback_error
from .fdwatch import FdWatchMixin
from .signals import SignalMixin
from .transports import TransportMixin
from .tls import TLSMixin
from .wakeup import SignalWakeup
from .subprocess import SubprocessMixin
from .datagram import DatagramMixin
from .pipes import PipeMixin
from .sendfile import SendfileMixin

__all__ = ["EventLoop"]

_monotonic = time.monotonic
_THREADSAFE = _loopcore.THREADSAFE_ID  # call_soon_threadsafe's marker id (call_soon's is 0)
# Names a task a task factory made. Up to 3.12 asyncio's own helper (it warns when the task
# has no set_name); 3.13 removed it and calls set_name, which such a task must have.
_set_task_name = getattr(tasks, "_set_task_name", None)


def _debug_from_environment() -> bool:
    return sys.flags.dev_mode or (not sys.flags.ignore_environment
                                  and bool(os.environ.get("PYTHONASYNCIODEBUG")))


def _stop_when_done(fut) -> None:
    if not fut.cancelled():
        exc = fut.exception()
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            return  # run_forever is already unwinding with it
    futures._get_loop(fut).stop()


_loopcore.configure(Handle, TimerHandle, futures, tasks, error_from_code, report_callback_error)


class EventLoop(LoopCore, TLSMixin, DatagramMixin, PipeMixin, SendfileMixin, TransportMixin,
                FdWatchMixin, SubprocessMixin, SignalMixin, ExecutorMixin, ResolverMixin,
                ExceptionHandlerMixin, events.AbstractEventLoop):
    """A drop-in asyncio event loop running on weft's C core."""

    def __init__(self) -> None:
        out = ffi.new("weft_loop_t **")
        check(lib.weft_loop_new(out))
        self._ptr = out[0]
        self._cookie = ffi.new_handle(self)
        self._attach(int(ffi.cast("uintptr_t", self._ptr)))
        lib.weft_loop_set_log_handler(self._ptr, lib._weft_log, self._cookie, ffi.NULL)
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
    # call_soon, call_soon_threadsafe, call_at, call_later and time are LoopCore's. A
    # call_soon handle goes into LoopCore's ready queue and a marker (id 0) into the core's;
    # each marker the core hands back runs the oldest handle. Thread-safe handles have a
    # queue of their own, which one marker (id 2) empties. Timers are the core's, with odd
    # ids. In debug mode LoopCore asks _debug_handle for each handle and hands batches to
    # _run_batch_debug.

    def _debug_handle(self, method, callback, args, context, when):
        """The handle LoopCore schedules in debug mode: asyncio's checks first, and the
        traceback of the code that called ``method``."""
        if method != "call_soon_threadsafe":
            self._check_thread()
        self._check_callback(callback, method)
        if when is None:
            handle = Handle(callback, args, self, context)
        else:
            handle = TimerHandle(when, callback, args, self, context)
        handle._source_traceback = format_helpers.extract_stack(sys._getframe(1))
        return handle

    def _run_batch_debug(self, ids) -> None:
        """The debug-mode batch: tracks the current handle and reports slow callbacks."""
        for index, ident in enumerate(ids):
            if ident == _THREADSAFE:
                # Those queued now; _take_handle gives them one at a time, so an
                # interruption leaves the rest queued, in order.
                count = self._begin_threadsafe()
                for _ in range(count):
                    if not self._run_debug(self._take_handle(_THREADSAFE)):
                        self._interrupted(self._interrupt_pending, [_THREADSAFE] + ids[index + 1:])
                        return
                continue
            if not self._run_debug(self._take_handle(ident)):
                self._interrupted(self._interrupt_pending, ids[index + 1:])
                return

    def _run_debug(self, handle) -> bool:
        """Runs one handle in debug mode; False if it raised SystemExit/KeyboardInterrupt."""
        if handle is None or handle._cancelled:
            return True
        self._current_handle = handle
        start = _monotonic()
        try:
            handle._run()
        except BaseException as exc:
            self._interrupt_pending = exc
            return False
        finally:
            self._current_handle = None
        elapsed = _monotonic() - start
        if elapsed >= self.slow_callback_duration:
            base_events.logger.warning("Executing %s took %.3f seconds",
                                       base_events._format_handle(handle), elapsed)
        # A traceback made while the handle ran (a failed task step) may keep this frame,
        # and with it the handle and its task, alive after we return: asyncio drops its
        # handle the same way, so such a task is released (and reported) at once.
        handle = None
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
        if rest:
            # Markers are interchangeable (each runs the oldest handle of its queue), so
            # posting the rest again keeps every queue's order.
            lib.weft_call_soon_ids(self._ptr, ffi.new("uintptr_t[]", list(rest)), len(rest))
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
        self._clear_scheduled()
        lib.weft_loop_close(self._ptr)

    def __del__(self, _warn=warnings.warn):
        if not self._closed:
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                self.close()
        ptr, self._ptr = getattr(self, "_ptr", NULL), NULL
        if ptr != NULL:
            self._detach()
            lib.weft_loop_release(ptr)

    # ---- Futures and tasks ------------------------------------------------------------

    # create_future and create_task are LoopCore's; it calls _create_task in debug mode
    # and when a task factory is set.

    def _create_task(self, coro, name, context):
        if self._task_factory is None:
            task = tasks.Task(coro, loop=self, name=name, context=context)
            if task._source_traceback:
                del task._source_traceback[-1]
        else:
            if context is None:
                task = self._task_factory(self, coro)
            else:
                task = self._task_factory(self, coro, context=context)
            if _set_task_name is not None:
                _set_task_name(task, name)
            elif name is not None:
                # 3.13.0's asyncio calls set_name(None) too, naming the task "None"; 3.11
                # and 3.12 leave an unnamed task its default name, as weft does everywhere.
                task.set_name(name)
        return task

    def set_task_factory(self, factory):
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self):
        return self._task_factory

    # ---- Debug mode -------------------------------------------------------------------

    # get_debug is LoopCore's: every Future and Task calls it as it is made.

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


@ffi.def_extern(onerror=callback_failed)
def _weft_log(loop_ptr, level, text, arg):
    base_events.logger.log(level, ffi.string(text).decode(errors="replace"))
