"""The core's futures seen from Python: an asyncio future completed with a core future's
outcome, so that what the core finishes later (a connect, a sendfile, a server's
wait_closed) reaches Python code without polling.

The core runs done callbacks from its ready queue, so the asyncio future is completed in
the loop's own order of events; cancelling the asyncio future cancels the core's."""

from __future__ import annotations

from asyncio import exceptions

from ._core import ffi, lib, NULL, error_from_code, callback_failed

__all__ = ["wrap", "until_made", "outcome", "none_outcome", "int_outcome"]

_CANCELLED = lib.WEFT_ECANCELLED
_VALUE_INT = lib.WEFT_VALUE_INT

# Cookies of registered done callbacks: the core holds only the raw handle.
_pending: set = set()


class _Watch:
    """One core future followed by one asyncio future. Holds the core reference until the
    core's done callback has run (``ptr`` is NULL from then on)."""

    __slots__ = ("loop", "ptr", "future", "outcome", "cookie")

    def done(self) -> None:
        ptr, self.ptr = self.ptr, NULL
        try:
            if self.future.done():  # cancelled, or completed sooner by its owner
                return
            try:
                value = self.outcome(ptr)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self.future.set_exception(exc)
            else:
                self.future.set_result(value)
        finally:
            # The error's traceback holds this frame, and so this watch: without the
            # future it leads nowhere, so no cycle keeps the error alive (gh-124859's).
            self.future = None
            lib.weft_future_release(ptr)

    def cancel_core(self, future) -> None:
        if future.cancelled() and self.ptr != NULL:
            lib.weft_future_cancel(self.ptr, NULL)


def outcome(ptr):
    """The value of a done core future, or its error raised as asyncio would raise it.
    Returns the weft_value_t (borrowed from the future) or None."""
    out = ffi.new("const weft_value_t **")
    rc = lib.weft_future_result(ptr, out)
    if rc == _CANCELLED:
        raise exceptions.CancelledError()
    if rc < 0:
        message = lib.weft_future_error_message(ptr)
        raise error_from_code(rc, ffi.string(message).decode(errors="replace")
                              if message != NULL else None)
    return out[0] if out[0] != NULL else None


def none_outcome(ptr) -> None:
    outcome(ptr)


def int_outcome(ptr) -> int:
    value = outcome(ptr)
    return value.i if value is not None and value.type == _VALUE_INT else 0


def wrap(loop, ptr, convert=none_outcome):
    """An asyncio future of `loop` done when core future `ptr` is, with convert(ptr) as
    its result (convert raises to fail it; see outcome). Takes over the caller's reference
    to `ptr`."""
    future = loop.create_future()
    watch = _Watch()
    watch.loop = loop
    watch.ptr = ptr
    watch.future = future
    watch.outcome = convert
    watch.cookie = ffi.new_handle(watch)
    rc = lib.weft_future_add_done_callback(ptr, lib._weft_future_done, watch.cookie)
    if rc < 0:
        lib.weft_future_release(ptr)
        raise error_from_code(rc)
    _pending.add(watch.cookie)
    future.add_done_callback(watch.cancel_core)
    return future


@ffi.def_extern(onerror=callback_failed)
def _weft_future_done(ptr, arg):
    watch = ffi.from_handle(arg)
    _pending.discard(arg)
    loop = watch.loop
    try:
        watch.done()
    except (SystemExit, KeyboardInterrupt) as exc:
        loop._interrupted(exc, ())


def until_made(loop, ptr, transport):
    """A future done as soon as `transport` (whose _made sets ``_made_waiter``) has had
    connection_made, or failed with core connect future `ptr`'s error. Waiting for the
    core future's own completion would take extra loop iterations during which the
    connection may already be exchanging data (asyncio's waiter is set right after
    connection_made)."""
    waiter = transport._made_waiter = loop.create_future()
    core = wrap(loop, ptr)

    def core_done(fut) -> None:
        if fut.cancelled() or fut.exception() is not None:
            transport._core.release()  # never made: the core will not call it
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None and not waiter.done():
            waiter.set_exception(exc)

    def waiter_done(fut) -> None:
        if fut.cancelled():
            core.cancel()

    core.add_done_callback(core_done)
    waiter.add_done_callback(waiter_done)
    return waiter
