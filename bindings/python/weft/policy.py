"""The entry points users reach for: a policy, a loop factory, install() and run()."""

from __future__ import annotations

import asyncio
from asyncio import events

from .loop import EventLoop

__all__ = ["EventLoopPolicy", "new_event_loop", "install", "run"]


class EventLoopPolicy(events.BaseDefaultEventLoopPolicy):
    """asyncio's default policy (one loop per thread, created on demand in the main
    thread), making weft loops."""

    def _loop_factory(self) -> EventLoop:
        return EventLoop()


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
