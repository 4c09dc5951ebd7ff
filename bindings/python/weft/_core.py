"""The compiled extension (``weft._weft``) and the mapping of core error codes onto the
exceptions asyncio raises. Everything that calls into C imports ``ffi`` and ``lib`` from
here, so there is one place that knows where they come from."""

from __future__ import annotations

import asyncio
import socket
import ssl

from ._weft import ffi, lib

if lib._weft_loopcore_install() != 0:  # registers weft._loopcore (weft/_loopcore.c)
    raise ImportError("weft._loopcore could not be set up")

__all__ = ["ffi", "lib", "NULL", "error_from_code", "check"]

NULL = ffi.NULL

# asyncio's own errors (core/include/weft/error.h, codes -3000 and below).
_ASYNCIO_ERRORS = {
    -3001: asyncio.CancelledError,
    -3002: asyncio.InvalidStateError,
    -3005: asyncio.QueueEmpty,
    -3006: asyncio.QueueFull,
    -3008: asyncio.BrokenBarrierError,
    -3009: asyncio.SendfileNotAvailableError,
    -3010: RuntimeError,
    -3011: RuntimeError,
    -3013: RuntimeError,
    -3015: ssl.SSLError,
}

_MESSAGES = {
    -3010: "Event loop is closed",
    -3013: "This event loop is already running",
    -3011: "Non-thread-safe operation invoked on an event loop other than the current one",
}


def error_from_code(code: int, message: str | None = None) -> BaseException:
    """The exception asyncio would raise for core error ``code`` (a negative int)."""
    text = message or _MESSAGES.get(code) or ffi.string(lib.weft_strerror(code)).decode()
    if -2000 >= code > -3000:
        # getaddrinfo errors: socket.gaierror with the EAI_* number of this platform.
        name = ffi.string(lib.weft_err_name(code)).decode().removeprefix("WEFT_")
        number = getattr(socket, name, code)
        if number != code:  # the C library's own words, as socket.gaierror has them
            text = ffi.string(lib.gai_strerror(number)).decode(errors="replace")
        return socket.gaierror(number, text)
    if code > -2000:
        return OSError(-code, text)  # OSError picks the subclass (ConnectionResetError...)
    if code == -3003:
        return asyncio.IncompleteReadError(b"", None)
    if code == -3004:
        return asyncio.LimitOverrunError(text, 0)
    return _ASYNCIO_ERRORS.get(code, RuntimeError)(text)


def check(rc: int) -> int:
    """Returns ``rc`` when it is not an error code, else raises the matching exception."""
    if rc < 0:
        raise error_from_code(rc)
    return rc
