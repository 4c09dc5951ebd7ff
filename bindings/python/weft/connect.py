"""Connection set-up for create_connection(host, port): the core races the resolved
addresses (weft_connect_socket: RFC 8305 interleaving, happy eyeballs, the local bind) and
hands over the winner's socket, which Python wraps as it wraps a socket of the caller's.
When every address fails, the core says what failed where, step by step, and this module
raises from that what asyncio raises: each step's OSError in asyncio's words, then one of
them, the "Multiple exceptions" error or (all_errors) an ExceptionGroup."""

from __future__ import annotations

import os
import socket
import sys

from ._core import ffi, lib, check, os_errno
from . import corefuture, sockaddr

__all__ = ["connect_race"]

_SOCKADDR_STORAGE = 128

# 3.13 words a failed local bind with str(exc), earlier versions with exc.strerror.
_BIND_TEXT_IS_STR = sys.version_info >= (3, 13)


def _encoded(infos) -> tuple:
    """(array of struct sockaddr pointers, the buffers they point into) for getaddrinfo
    entries."""
    buffers = [ffi.from_buffer(sockaddr.encode(info[0], info[4])) for info in infos]
    array = ffi.new("struct sockaddr *[]", len(buffers))
    for index, buffer in enumerate(buffers):
        array[index] = ffi.cast("struct sockaddr *", buffer)
    return array, buffers


def _outcome(ptr):
    """A done race as plain data (no exception objects, so nothing a raised error could
    close a reference cycle through): ("socket", sock) or ("failed", [(step, code,
    address)...]); any other error of the core future is raised as corefuture raises it."""
    count = lib.weft_connect_failure_count(ptr)
    if count:
        step = ffi.new("int *")
        buf = ffi.new("char[]", _SOCKADDR_STORAGE)
        size = ffi.new("size_t *")
        failures = []
        for index in range(count):
            size[0] = _SOCKADDR_STORAGE
            code = lib.weft_connect_failure(ptr, index, step, ffi.cast("struct sockaddr *", buf),
                                            size)
            address = sockaddr.decode(ffi.cast("struct sockaddr *", buf)) if size[0] else None
            family = ffi.cast("unsigned short *", buf)[0] if size[0] else 0
            failures.append((step[0], code, address, family))
        return "failed", failures
    corefuture.outcome(ptr)
    return "socket", socket.socket(fileno=check(lib.weft_connect_socket_take(ptr)))


def _step_error(step: int, code: int, address, family: int) -> OSError:
    """One failed step as asyncio's _connect_sock words it."""
    number = os_errno(code)
    text = os.strerror(number) if number else "unknown error"
    if step == lib.WEFT_CONNECT_STEP_BIND:
        reason = str(OSError(number, text)) if _BIND_TEXT_IS_STR else text
        return OSError(number, f"error while attempting to bind on address {address!r}: "
                               f"{reason.lower()}")
    if step == lib.WEFT_CONNECT_STEP_NO_LOCAL:
        family = socket.AddressFamily(family)
        return OSError(f"no matching local address with {family=} found")
    if step == lib.WEFT_CONNECT_STEP_SOCKET:
        return OSError(number, text)
    return OSError(number, f"Connect call failed {address}")


async def connect_race(loop, infos, local_infos, happy_eyeballs_delay, interleave,
                       all_errors=False):
    """A connected, non-blocking socket to the first of `infos` (getaddrinfo entries) that
    connects, bound to one of `local_infos` (or None) of its family."""
    remote, keep = _encoded(infos)
    locals_, keep_locals = _encoded(local_infos or ())
    options = ffi.new("weft_connect_options_t *")
    lib.weft_connect_options_init(options)
    options.happy_eyeballs_delay = happy_eyeballs_delay or 0.0
    options.interleave = interleave or 0
    out = ffi.new("weft_future_t **")
    check(lib.weft_connect_socket(loop._ptr, remote, len(keep), locals_, len(keep_locals),
                                  options, out))
    kind, value = await corefuture.wrap(loop, out[0], _outcome)
    if kind == "socket":
        return value
    errors = [_step_error(*failure) for failure in value]
    try:
        if all_errors:
            raise ExceptionGroup("create_connection failed", errors)
        if len(errors) == 1 or all(str(errors[0]) == str(exc) for exc in errors):
            raise errors[0]
        raise OSError("Multiple exceptions: " + ", ".join(str(exc) for exc in errors))
    finally:
        errors = value = None  # the raised error's traceback holds this frame (gh-124859)
