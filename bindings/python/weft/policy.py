"""The entry points users reach for: a policy, a loop factory, install() and run()."""

from __future__ import annotations

import asyncio
from asyncio import events

from .loop import EventLoop

__all__ = ["EventLoopPolicy", "new_event_loop", "install", "run"]


class EventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    """asyncio's default policy (one loop per thread, created on demand in the main
    thread), making weft loops."""

    _watcher = None

    def _loop_factory(self) -> EventLoop:
        return EventLoop()

    # The core reaps children itself (libuv); a child watcher is kept for programs that
    # set or ask for one, as on asyncio's Unix policy, and never used by weft's loops.

    def get_child_watcher(self):
        if self._watcher is None:
            self._watcher = asyncio.ThreadedChildWatcher()
        return self._watcher

    def set_child_watcher(self, watcher):
        if watcher is not None and not isinstance(watcher, asyncio.AbstractChildWatcher):
            raise TypeError(f"expected an AbstractChildWatcher, got {watcher!r}")
        self._watcher = watcher


def new_event_loop() -> EventLoop:
    """A new weft event loop (usable as asyncio.Runner's or asyncio.run's loop_factory)."""
    return EventLoop()


def install() -> None:
    """Makes weft's policy asyncio's current one: asyncio.run() then runs on weft."""
    asyncio.set_event_loop_policy(EventLoopPolicy())


def run(main, *, debug=None):
    """asyncio.run(main) on a new weft loop."""
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)
