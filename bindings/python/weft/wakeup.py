"""Python signal handlers while the core waits for I/O.

Python runs its signal handlers (KeyboardInterrupt for Ctrl-C, asyncio.Runner's SIGINT
handler) only when it executes bytecode, and libuv retries its wait on EINTR, so a loop
idle in the core would never see them. While a loop runs in the main thread, the signal
module's wakeup fd is the write end of a socket pair whose read end the core watches: a
signal wakes the loop, the reader runs Python code, and the handlers run there."""

from __future__ import annotations

import signal
import socket
import threading

__all__ = ["SignalWakeup"]


class SignalWakeup:
    """One per loop: the socket pair, and the wakeup fd that was set before run_forever."""

    def __init__(self, loop) -> None:
        self._loop = loop
        self._pair = None
        self._previous = None

    def enter(self) -> None:
        """Called as run_forever starts."""
        if threading.current_thread() is not threading.main_thread():
            return
        if self._pair is None:
            reader, writer = socket.socketpair()
            reader.setblocking(False)
            writer.setblocking(False)
            self._pair = (reader, writer)
            self._loop.add_reader(reader.fileno(), self._drain)
        try:
            self._previous = signal.set_wakeup_fd(self._pair[1].fileno(),
                                                  warn_on_full_buffer=False)
        except ValueError:
            self._previous = None

    def leave(self) -> None:
        """Called as run_forever returns: the previous wakeup fd comes back."""
        if self._previous is not None:
            try:
                signal.set_wakeup_fd(self._previous)
            except ValueError:
                pass
            self._previous = None

    def close(self) -> None:
        if self._pair is not None:
            reader, writer = self._pair
            self._pair = None
            self._loop.remove_reader(reader.fileno())
            reader.close()
            writer.close()

    def _drain(self) -> None:
        try:
            while self._pair is not None and self._pair[0].recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
