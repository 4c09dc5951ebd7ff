"""Socket addresses between the core (struct sockaddr) and Python (the tuples and strings
the socket module uses)."""

from __future__ import annotations

import os
import socket

from ._core import ffi, lib, NULL, error_from_code
from ._loopcore import decode_sockaddr as _decode_sockaddr

__all__ = ["decode", "encode", "encode_unix", "unix_address", "transport_address", "transport_socket"]

_SOCKADDR_STORAGE = 128


def decode(addr):
    """The Python form of a struct sockaddr from the core (None for NULL or an unknown
    family), taken apart by the core (weft_sockaddr_decode) as the transports' are."""
    if addr == NULL:
        return None
    return _decode_sockaddr(int(ffi.cast("uintptr_t", addr)))


def encode(family: int, address) -> bytes:
    """A struct sockaddr for `address` (a numeric host and port tuple) of `family`, encoded
    by the core; OSError when the host is not a numeric address of that family."""
    host, port = address[0], address[1]
    flowinfo = address[2] if len(address) > 2 else 0
    scope_id = address[3] if len(address) > 3 else 0
    buf = ffi.new("char[]", _SOCKADDR_STORAGE)
    rc = lib.weft_sockaddr_ip(family, host.encode(), port, flowinfo, scope_id,
                              ffi.cast("struct sockaddr *", buf), _SOCKADDR_STORAGE)
    if rc == lib.WEFT_EAFNOSUPPORT:
        raise ValueError(f"unsupported address family {family}")
    if rc < 0:
        raise OSError(f"illegal IP address string {host!r}")
    return ffi.buffer(buf)[:]


def encode_unix(path) -> bytes:
    """A struct sockaddr_un for `path` (str or bytes; a leading NUL names an abstract
    address), encoded by the core, refused as the socket module refuses it."""
    return unix_address(path)[0]


def unix_address(path) -> tuple[bytes, int]:
    """encode_unix's address, and the length to bind or connect with (an abstract name's
    length is part of the name)."""
    if isinstance(path, str):
        path = os.fsencode(path)
    elif not isinstance(path, (bytes, bytearray, memoryview)):
        raise TypeError(f"a bytes-like object or str is required, not {type(path).__name__!r}")
    path = bytes(path)
    buf = ffi.new("char[]", _SOCKADDR_STORAGE)
    rc = lib.weft_sockaddr_unix(path, len(path), ffi.cast("struct sockaddr *", buf),
                                _SOCKADDR_STORAGE)
    if rc == lib.WEFT_ENAMETOOLONG:
        raise OSError("AF_UNIX path too long")
    if rc < 0:
        raise error_from_code(rc)
    return ffi.buffer(buf)[:], rc


def transport_address(ptr, key: int):
    """The peer (key 1) or local (key 2) address of a core transport, or None."""
    buf = ffi.new("char[]", _SOCKADDR_STORAGE)
    size = ffi.new("size_t *", _SOCKADDR_STORAGE)
    if ptr == NULL or lib.weft_transport_get_extra_info(ptr, key, buf, size) < 0:
        return None
    return decode(ffi.cast("struct sockaddr *", buf))


def transport_socket(ptr):
    """A socket object for a core transport's descriptor (asyncio's
    get_extra_info('socket')), or None. It works on a duplicate: the core stays the owner of
    its descriptor, and the caller closes this one when the transport is gone."""
    fd = ffi.new("int *", -1)
    size = ffi.new("size_t *", ffi.sizeof("int"))
    if ptr == NULL or lib.weft_transport_get_extra_info(ptr, 3, fd, size) < 0 or fd[0] < 0:
        return None
    return socket.socket(fileno=os.dup(fd[0]))
