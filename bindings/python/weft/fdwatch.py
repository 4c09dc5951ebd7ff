"""add_reader / add_writer / remove_reader / remove_writer, and the loop.sock_* operations.

Both live in C (weft/_sockcore.c): SockCore keeps asyncio's table of one reader and one
writer per descriptor on the core's readiness watchers, and each sock_* method returns a
C awaitable that tries the call at once and waits on that table only if the socket is not
ready. sock_connect resolves its address here first, as asyncio does."""

from __future__ import annotations

import collections.abc
import socket
from asyncio import coroutines

from ._loopcore import SockCore, SockOp, sock_methods
from .handles import Handle

__all__ = ["FdWatchMixin"]

# What the sock_* methods return is a coroutine to asyncio (create_task, iscoroutine).
collections.abc.Coroutine.register(SockOp)


def _fileno(fileobj) -> int:
    """The descriptor of an int or of an object with fileno(), as asyncio accepts, with
    its errors (selectors._fileobj_to_fd)."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class FdWatchMixin:
    def _init_fdwatch(self) -> None:
        self._sockcore = SockCore(self)

    def _watch(self, writer: bool, fd, callback, args) -> None:
        self._check_closed()
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_reader()/add_writer()")
        fileno = _fileno(fd)
        self._ensure_fd_no_transport(fd, fileno)
        self._sockcore.watch(writer, fileno, Handle(callback, args, self, None))

    def _ensure_fd_no_transport(self, fd, fileno: int) -> None:
        """RuntimeError, as asyncio raises, when an open transport was made on the socket
        with this descriptor (create_connection(sock=...) and the like): watching it too
        would take its reads or writes away from the transport."""
        for transport in self._transports:
            sock = getattr(transport, "_socket", None) or getattr(transport, "_sock", None)
            if sock is not None and sock.fileno() == fileno and not transport.is_closing():
                raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")

    def add_reader(self, fd, callback, *args):
        self._watch(False, fd, callback, args)

    def remove_reader(self, fd):
        fileno = _fileno(fd)
        self._ensure_fd_no_transport(fd, fileno)
        return self._sockcore.unwatch(False, fileno)

    def add_writer(self, fd, callback, *args):
        self._watch(True, fd, callback, args)

    def remove_writer(self, fd):
        fileno = _fileno(fd)
        self._ensure_fd_no_transport(fd, fileno)
        return self._sockcore.unwatch(True, fileno)

    def _remove_all_watchers(self) -> None:
        self._sockcore.clear()

    # ---- sock_* ------------------------------------------------------------------------
    # Method descriptors of LoopCore: calling one runs no Python frame.

    sock_recv = sock_methods["sock_recv"]
    sock_recv_into = sock_methods["sock_recv_into"]
    sock_recvfrom = sock_methods["sock_recvfrom"]
    sock_recvfrom_into = sock_methods["sock_recvfrom_into"]
    sock_sendall = sock_methods["sock_sendall"]
    sock_sendto = sock_methods["sock_sendto"]
    sock_accept = sock_methods["sock_accept"]
    _sock_connect = sock_methods["_sock_connect"]

    def _check_sock(self, sock) -> None:
        if isinstance(sock, __import__("ssl").SSLSocket):
            raise TypeError("Socket cannot be of type SSLSocket")
        if self._debug and sock.gettimeout() != 0:
            raise ValueError("the socket must be non-blocking")

    async def sock_connect(self, sock, address):
        self._check_sock(sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not (
                isinstance(address[1], int) and _is_numeric(address[0])):
            # Names are resolved first; a numeric address is used as it is, with no trip
            # through the resolver, so connect() starts in this very step (as asyncio's).
            infos = await self.getaddrinfo(*address[:2], family=sock.family, type=sock.type,
                                           proto=sock.proto, flags=socket.AI_NUMERICHOST
                                           if _is_numeric(address[0]) else 0)
            address = infos[0][4] if len(address) <= 2 else (infos[0][4][:2] + address[2:])
        return await self._sock_connect(sock, address)


def _is_numeric(host) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, str(host))
        return True
    except (OSError, ValueError):
        return False
