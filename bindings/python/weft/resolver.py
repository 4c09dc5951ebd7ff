"""Name resolution: loop.getaddrinfo and loop.getnameinfo.

A numeric host (an IPv4 or IPv6 address, or None) with a numeric port needs no lookup, only
parsing, so it is answered at once by the same socket.getaddrinfo call asyncio would make
on a thread. Any other host is resolved by the core (weft_getaddrinfo, on libuv's thread
pool), and its answer is given in socket.getaddrinfo's form. getnameinfo runs in the
default executor, as on asyncio's loop."""

from __future__ import annotations

import socket

from ._core import ffi, lib, check
from . import corefuture, sockaddr

__all__ = ["ResolverMixin"]


def _is_numeric_address(host, port) -> bool:
    """True when getaddrinfo(host, port) only parses: nothing to look up, nothing to wait for."""
    if not (port is None or isinstance(port, int)
            or (isinstance(port, (str, bytes)) and port.isdigit())):
        return False  # a service name: /etc/services, or NSS
    if host is None:
        return True  # the wildcard or loopback address
    if isinstance(host, bytes):
        try:
            host = host.decode("ascii")
        except UnicodeDecodeError:
            return False
    if not isinstance(host, str):
        return False
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except (OSError, ValueError):
            pass
    return False


def _host_bytes(host):
    """The host as getaddrinfo(3) takes it: IDNA-encoded, as socket.getaddrinfo does."""
    if host is None:
        return ffi.NULL
    if isinstance(host, str):
        return host.encode("idna")
    if isinstance(host, (bytes, bytearray)):
        return bytes(host)
    raise TypeError(f"getaddrinfo() argument 1 must be string or None, not {host!r}")


def _service_bytes(port):
    if port is None:
        return ffi.NULL
    if isinstance(port, int):
        return str(port).encode()
    if isinstance(port, str):
        return port.encode()
    if isinstance(port, (bytes, bytearray)):
        return bytes(port)
    raise OSError("Int or String expected")


def _addrinfo_list(future_ptr) -> list:
    """A done weft_getaddrinfo future's answer as socket.getaddrinfo gives it."""
    value = corefuture.outcome(future_ptr)
    answer = ffi.cast("weft_addrinfo_t *", lib.weft_value_object(value, lib.WEFT_VALUE_ADDRINFO))
    result = []
    for index in range(lib.weft_addrinfo_count(answer)):
        canonname = lib.weft_addrinfo_canonname(answer, index)
        result.append((
            _as_enum(socket.AddressFamily, lib.weft_addrinfo_family(answer, index)),
            _as_enum(socket.SocketKind, lib.weft_addrinfo_socktype(answer, index)),
            lib.weft_addrinfo_protocol(answer, index),
            ffi.string(canonname).decode() if canonname != ffi.NULL else "",
            sockaddr.decode(lib.weft_addrinfo_addr(answer, index, ffi.NULL)),
        ))
    return result


def _as_enum(enum, number):
    try:
        return enum(number)
    except ValueError:
        return number


class ResolverMixin:
    """getaddrinfo and getnameinfo of weft.EventLoop."""

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        if _is_numeric_address(host, port):
            return socket.getaddrinfo(host, port, family, type, proto, flags)
        out = ffi.new("weft_future_t **")
        check(lib.weft_getaddrinfo(self._ptr, _host_bytes(host), _service_bytes(port),
                                   family, type, proto, flags, out))
        return await corefuture.wrap(self, out[0], _addrinfo_list)

    async def getnameinfo(self, sockaddr, flags=0):
        return await self.run_in_executor(None, socket.getnameinfo, sockaddr, flags)
