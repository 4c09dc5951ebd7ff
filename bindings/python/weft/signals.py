"""add_signal_handler / remove_signal_handler through the core (libuv's signal watchers).

The core turns a signal into an ordinary loop callback; this module maps it back to the
Python handle registered for it."""

from __future__ import annotations

import signal
from asyncio import coroutines

from ._core import ffi, lib, check, callback_failed
from .handles import Handle

__all__ = ["SignalMixin"]

_WEFT_EINVAL = lib.WEFT_EINVAL


class SignalMixin:
    def _init_signals(self) -> None:
        self._signal_handlers: dict[int, Handle] = {}
        self._signal_cookies: dict[int, object] = {}  # keeps the C-side user data alive

    def _check_signal(self, sig) -> None:
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in signal.valid_signals():
            raise ValueError(f"invalid signal number {sig}")

    def add_signal_handler(self, sig, callback, *args):
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()
        cookie = ffi.new_handle((self, sig))
        rc = lib.weft_add_signal_handler(self._ptr, sig, lib._weft_signal, cookie, ffi.NULL)
        if rc == _WEFT_EINVAL:
            raise RuntimeError(f"sig {sig:d} cannot be caught")
        check(rc)
        self._signal_handlers[sig] = Handle(callback, args, self, None)
        self._signal_cookies[sig] = cookie

    def remove_signal_handler(self, sig):
        self._check_signal(sig)
        if self._signal_handlers.pop(sig, None) is None:
            return False
        if not self.is_closed():
            lib.weft_remove_signal_handler(self._ptr, sig)
        self._signal_cookies.pop(sig, None)
        if sig == signal.SIGINT:
            # Python's own handler (KeyboardInterrupt) comes back, as with asyncio.
            signal.signal(sig, signal.default_int_handler)
        return True

    def _remove_all_signal_handlers(self) -> None:
        for sig in list(self._signal_handlers):
            self.remove_signal_handler(sig)

    def _deliver_signal(self, sig: int) -> None:
        handle = self._signal_handlers.get(sig)
        if handle is None:
            return
        if handle._cancelled:
            self.remove_signal_handler(sig)
        else:
            self._run_guarded(handle)


@ffi.def_extern(onerror=callback_failed)
def _weft_signal(arg):
    loop, sig = ffi.from_handle(arg)
    loop._deliver_signal(sig)
