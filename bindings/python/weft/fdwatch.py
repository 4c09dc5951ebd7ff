"""add_reader / add_writer / remove_reader / remove_writer, and the loop.sock_* operations.

Both live in C (weft/_sockcore.c): SockCore keeps asyncio's table of one reader and one
writer per descriptor on the core's readiness watchers, and each sock_* method returns a
C awaitable that tries the call at once and waits on that table only if the socket is not
ready. sock_connect resolves its address here first, as asyncio does."""

from __future__ import annotations

import collections.abc
import errno
import socket
from asyncio import coroutines

from ._loopcore import SockCore, SockOp, sock_methods
from .handles import Handle

__all__ = ["FdWatchMixin"]

# What the sock_* methods return is a coroutine to asyncio (create_task, iscoroutine).
collections.abc.Coroutine.register(SockOp)


def _raw_fileno(fileobj) -> int:
    """asyncio's _ensure_fd_no_transport reading of a file object: an int, or what its
    fileno() gives; anything else is ValueError("Invalid file object")."""
    if isinstance(fileobj, int):
        return fileobj
    try:
        return int(fileobj.fileno())
    except (AttributeError, TypeError, ValueError):
        raise ValueError(f"Invalid file object: {fileobj!r}") from None


class FdWatchMixin:
    def _init_fdwatch(self) -> None:
        self._sockcore = SockCore(self)
        # What each reader (writer) was registered with, as a selector key keeps it: a
        # socket closed meanwhile (fileno() -1) is still found, and removed, by the object.
        self._fd_objects = ({}, {})
        # Descriptors of the program's own objects that a transport uses (CoreBridge's
        # _claim_fd): asyncio refuses readers and writers on them.
        self._fd_transports: dict = {}

    def _fd_in_use(self, fileobj) -> int:
        fd = _raw_fileno(fileobj)
        transport = self._fd_transports.get(fd)
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f"File descriptor {fileobj!r} is used by transport "
                               f"{transport!r}")
        return fd

    def _registered_fd(self, fileobj, fd: int) -> int:
        """fd, or for a closed object the descriptor it was registered with."""
        if fd >= 0:
            return fd
        for table in self._fd_objects:
            for known, obj in table.items():
                if obj is fileobj:
                    return known
        raise ValueError(f"Invalid file descriptor: {fd}")

    def _watch(self, writer: bool, fileobj, callback, args) -> None:
        self._check_closed()
        fd = self._registered_fd(fileobj, self._fd_in_use(fileobj))
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_reader()/add_writer()")
        try:
            self._sockcore.watch(writer, fd, Handle(callback, args, self, None))
        except OSError as exc:
            if exc.errno == errno.EBUSY:  # the core's own transport, server or pipe has it
                raise RuntimeError(f"File descriptor {fileobj!r} is used by a transport") \
                    from None
            raise
        self._fd_objects[writer][fd] = fileobj

    def _unwatch(self, writer: bool, fileobj) -> bool:
        fd = self._fd_in_use(fileobj)
        if self.is_closed():
            return False
        fd = self._registered_fd(fileobj, fd)
        self._fd_objects[writer].pop(fd, None)
        return self._sockcore.unwatch(writer, fd)

    def add_reader(self, fd, callback, *args):
        self._watch(False, fd, callback, args)

    def remove_reader(self, fd):
        return self._unwatch(False, fd)

    def add_writer(self, fd, callback, *args):
        self._watch(True, fd, callback, args)

    def remove_writer(self, fd):
        return self._unwatch(True, fd)

    def _remove_all_watchers(self) -> None:
        self._sockcore.clear()
        for table in self._fd_objects:
            table.clear()

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
