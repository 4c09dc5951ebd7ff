"""Name resolution: loop.getaddrinfo and loop.getnameinfo.

A numeric host (an IPv4 or IPv6 address, or None) with a numeric port needs no lookup, only
parsing, so it is answered at once by the same socket.getaddrinfo call asyncio would make
on a thread; anything else is resolved off the loop (the default executor, as asyncio's
loop does)."""

from __future__ import annotations

import socket

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


class ResolverMixin:
    """getaddrinfo and getnameinfo of weft.EventLoop."""

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        if _is_numeric_address(host, port):
            return socket.getaddrinfo(host, port, family, type, proto, flags)
        return await self.run_in_executor(
            None, socket.getaddrinfo, host, port, family, type, proto, flags)

    async def getnameinfo(self, sockaddr, flags=0):
        return await self.run_in_executor(None, socket.getnameinfo, sockaddr, flags)
