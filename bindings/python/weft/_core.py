"""The compiled extension (``weft._weft``) and the mapping of core error codes onto the
exceptions asyncio raises. Everything that calls into C imports ``ffi`` and ``lib`` from
here, so there is one place that knows where they come from."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
import traceback

from ._weft import ffi, lib

if lib._weft_loopcore_install() != 0:  # registers weft._loopcore (weft/_loopcore.c)
    raise ImportError("weft._loopcore could not be set up")

__all__ = ["ffi", "lib", "NULL", "error_from_code", "os_errno", "check", "callback_failed"]

NULL = ffi.NULL

# asyncio's own errors (the core's error table, weft/error.h, -3000 and below): the
# exception each one is in asyncio, and asyncio's words where they differ from the core's.
_ASYNCIO_ERRORS = {
    lib.WEFT_ECANCELLED: asyncio.CancelledError,
    lib.WEFT_EINVALIDSTATE: asyncio.InvalidStateError,
    lib.WEFT_EQUEUEEMPTY: asyncio.QueueEmpty,
    lib.WEFT_EQUEUEFULL: asyncio.QueueFull,
    lib.WEFT_EBROKENBARRIER: asyncio.BrokenBarrierError,
    lib.WEFT_ESENDFILEUNAVAIL: asyncio.SendfileNotAvailableError,
    lib.WEFT_ECLOSED: RuntimeError,
    lib.WEFT_EWRONGTHREAD: RuntimeError,
    lib.WEFT_ERUNNING: RuntimeError,
    lib.WEFT_EWRONGLOOP: RuntimeError,
    lib.WEFT_ETLS: ssl.SSLError,
}

_MESSAGES = {
    lib.WEFT_ECLOSED: "Event loop is closed",
    lib.WEFT_ERUNNING: "This event loop is already running",
    lib.WEFT_EWRONGTHREAD:
        "Non-thread-safe operation invoked on an event loop other than the current one",
}


def error_from_code(code: int, message: str | None = None) -> BaseException:
    """The exception asyncio would raise for core error ``code`` (a negative int)."""
    text = message or _MESSAGES.get(code) or ffi.string(lib.weft_strerror(code)).decode()
    if -2000 >= code > -3000:
        # getaddrinfo errors: socket.gaierror with the EAI_* number of this platform.
        number = lib.weft_err_system(code)
        if number == 0:
            return socket.gaierror(code, text)
        # the C library's own words, as socket.gaierror has them
        return socket.gaierror(number, ffi.string(lib.gai_strerror(number)).decode("utf-8",
                                                                                  "replace"))
    if code > -2000:
        # OSError picks the subclass (ConnectionResetError...) from the platform's errno,
        # and words it as the C library does, as the socket and os modules' errors are.
        number = os_errno(code)
        return OSError(number, message or os.strerror(number) if number else text)
    if code == lib.WEFT_EINCOMPLETE:
        return asyncio.IncompleteReadError(b"", None)
    if code == lib.WEFT_ELIMITOVERRUN:
        return asyncio.LimitOverrunError(text, 0)
    return _ASYNCIO_ERRORS.get(code, RuntimeError)(text)


def os_errno(code: int):
    """The platform's errno for core code ``code`` (an operating-system error), else None."""
    return (lib.weft_err_system(code) or None) if -2000 < code < 0 else None


def check(rc: int) -> int:
    """Returns ``rc`` when it is not an error code, else raises the matching exception."""
    if rc < 0:
        raise error_from_code(rc)
    return rc


def callback_failed(exc_type, exc, tb):
    """cffi's onerror for every callback from the core: what a callback raised before its
    own error handling could start. A signal's KeyboardInterrupt, above all, is raised at the
    first bytecode the callback runs; it must stop the loop (run_forever re-raises it), not
    be printed and dropped as cffi does by default. Anything else is printed as cffi would;
    the callback then returns its default (0)."""
    if issubclass(exc_type, (SystemExit, KeyboardInterrupt)):
        loop = asyncio.events._get_running_loop()
        if loop is not None and hasattr(loop, "_interrupted"):
            loop._interrupted(exc, ())
            return None
    print("Exception in a callback from weft's core:", file=sys.stderr)
    traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
    return None
