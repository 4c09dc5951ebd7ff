"""Scheduled-callback handles: asyncio's own Handle and TimerHandle, made a little cheaper
to create, plus the report asyncio makes when a callback raises."""

from __future__ import annotations

import asyncio
import sys
from asyncio import format_helpers
from contextvars import copy_context

__all__ = ["Handle", "TimerHandle", "report_callback_error"]


class Handle(asyncio.Handle):
    """A callback scheduled with call_soon or call_soon_threadsafe.

    Cancelling it needs no call into the core: the loop skips a cancelled handle when its
    turn comes. ``cancel`` (here and in TimerHandle) is asyncio's, written in C: the loop's
    ``_loopcore.configure`` installs it."""

    __slots__ = ()

    def __init__(self, callback, args, loop, context=None):
        # asyncio.Handle.__init__, minus a method call per handle (loop._debug is read
        # directly); the fields and their meaning are asyncio's.
        self._context = copy_context() if context is None else context
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._repr = None
        if loop._debug:
            self._source_traceback = format_helpers.extract_stack(sys._getframe(1))
        else:
            self._source_traceback = None


class TimerHandle(asyncio.TimerHandle):
    """A callback scheduled with call_later or call_at. ``_core`` is the core's timer
    handle (a reference the loop gives back once the timer has fired or is cancelled),
    ``_id`` its number in the loop's timer table."""

    __slots__ = ("_core", "_id")


def report_callback_error(handle, exc: BaseException) -> None:
    """What asyncio.Handle._run reports when its callback raises ``exc``."""
    source = format_helpers._format_callback_source(handle._callback, handle._args)
    context = {"message": f"Exception in callback {source}", "exception": exc,
               "handle": handle}
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)
