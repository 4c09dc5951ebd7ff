"""Scheduled-callback handles: asyncio's own Handle and TimerHandle, extended with what
the core needs to cancel a timer. The core's ready queue and timer heap hold the callback
as an integer id; the loop's table maps the id back to one of these objects."""

from __future__ import annotations

import asyncio

from ._core import lib, NULL

__all__ = ["Handle", "TimerHandle"]


class Handle(asyncio.Handle):
    """A callback scheduled with call_soon or call_soon_threadsafe.

    Cancelling it needs no call into the core: the loop skips a cancelled handle when the
    core hands its id over."""

    __slots__ = ()


class TimerHandle(asyncio.TimerHandle):
    """A callback scheduled with call_later or call_at.

    Holds a reference to the core's timer (``_core``) until it fires or is cancelled, so
    that a cancelled timer leaves the core's heap at once, as asyncio's does eventually."""

    __slots__ = ("_core", "_id")

    def _release_core(self) -> None:
        core = self._core
        if core is not None:
            self._core = None
            lib.weft_handle_release(core)

    def _run(self) -> None:
        self._release_core()
        super()._run()

    def _cancel_core(self) -> None:
        core = self._core
        if core is not None and core != NULL:
            self._core = None
            lib.weft_handle_cancel(core)
            lib.weft_handle_release(core)
