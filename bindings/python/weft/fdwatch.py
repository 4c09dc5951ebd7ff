"""add_reader / add_writer / remove_reader / remove_writer on the core's readiness
watchers, and the loop.sock_* operations built on them."""

from __future__ import annotations

import socket
from asyncio import coroutines

from ._core import ffi, lib, check, callback_failed
from .handles import Handle

__all__ = ["FdWatchMixin"]


def _fileno(fileobj) -> int:
    """The descriptor of an int or of an object with fileno(), as asyncio accepts."""
    fd = fileobj if isinstance(fileobj, int) else int(fileobj.fileno())
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class FdWatchMixin:
    def _init_fdwatch(self) -> None:
        # fd -> (handle, cookie): the cookie is the C user data, kept alive here.
        self._readers: dict[int, tuple[Handle, object]] = {}
        self._writers: dict[int, tuple[Handle, object]] = {}

    def _watch(self, table, add, fd, callback, args) -> None:
        self._check_closed()
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_reader()/add_writer()")
        fd = _fileno(fd)
        handle = Handle(callback, args, self, None)
        cookie = ffi.new_handle((self, handle))
        check(add(self._ptr, fd, lib._weft_fd_ready, cookie))
        old = table.get(fd)
        table[fd] = (handle, cookie)
        if old is not None:
            old[0].cancel()

    def _unwatch(self, table, remove, fd) -> bool:
        fd = _fileno(fd)
        entry = table.pop(fd, None)
        if entry is None:
            return False
        if not self._closed:
            remove(self._ptr, fd)
        entry[0].cancel()
        return True

    def add_reader(self, fd, callback, *args):
        self._watch(self._readers, lib.weft_add_reader, fd, callback, args)

    def remove_reader(self, fd):
        return self._unwatch(self._readers, lib.weft_remove_reader, fd)

    def add_writer(self, fd, callback, *args):
        self._watch(self._writers, lib.weft_add_writer, fd, callback, args)

    def remove_writer(self, fd):
        return self._unwatch(self._writers, lib.weft_remove_writer, fd)

    def _remove_all_watchers(self) -> None:
        for fd in list(self._readers):
            self.remove_reader(fd)
        for fd in list(self._writers):
            self.remove_writer(fd)

    # ---- sock_* ------------------------------------------------------------------------

    def _check_sock(self, sock) -> None:
        if isinstance(sock, __import__("ssl").SSLSocket):
            raise TypeError("Socket cannot be of type SSLSocket")
        if self._debug and sock.gettimeout() != 0:
            raise ValueError("the socket must be non-blocking")

    async def _io(self, sock, writing: bool, attempt, *, now: bool = True):
        """attempt() at once (unless ``now`` is false) and then each time ``sock`` is ready,
        until it does not raise BlockingIOError; its result or exception is the result."""
        if now:
            try:
                return attempt()
            except (BlockingIOError, InterruptedError):
                pass
        fut = self.create_future()

        def ready():
            if fut.done():
                return
            try:
                result = attempt()
            except (BlockingIOError, InterruptedError):
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                fut.set_exception(exc)
            else:
                fut.set_result(result)

        fd = sock.fileno()
        table = self._writers if writing else self._readers
        (self.add_writer if writing else self.add_reader)(fd, ready)
        mine = table[fd][0]

        def unwatch(_):
            # Only while the watcher is still this operation's: a cancelled operation must
            # not remove the one a later call on the same socket registered.
            entry = table.get(fd)
            if entry is not None and entry[0] is mine:
                (self.remove_writer if writing else self.remove_reader)(fd)

        fut.add_done_callback(unwatch)
        return await fut

    async def sock_recv(self, sock, n):
        self._check_sock(sock)
        return await self._io(sock, False, lambda: sock.recv(n))

    async def sock_recv_into(self, sock, buf):
        self._check_sock(sock)
        return await self._io(sock, False, lambda: sock.recv_into(buf))

    async def sock_recvfrom(self, sock, bufsize):
        self._check_sock(sock)
        return await self._io(sock, False, lambda: sock.recvfrom(bufsize))

    async def sock_recvfrom_into(self, sock, buf, nbytes=0):
        self._check_sock(sock)
        nbytes = nbytes or len(buf)
        return await self._io(sock, False, lambda: sock.recvfrom_into(buf, nbytes))

    async def sock_sendto(self, sock, data, address):
        self._check_sock(sock)
        return await self._io(sock, True, lambda: sock.sendto(data, address))

    async def sock_sendall(self, sock, data):
        self._check_sock(sock)
        view = memoryview(data).cast("B")
        sent = 0

        def attempt():
            nonlocal sent
            while sent < len(view):
                sent += sock.send(view[sent:])

        await self._io(sock, True, attempt)

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
        try:
            sock.connect(address)
            return
        except (BlockingIOError, InterruptedError):
            pass

        def connected():
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err != 0:
                raise OSError(err, f"Connect call failed {address}")

        await self._io(sock, True, connected, now=False)

    async def sock_accept(self, sock):
        self._check_sock(sock)

        def attempt():
            conn, address = sock.accept()
            conn.setblocking(False)
            return conn, address

        return await self._io(sock, False, attempt)


def _is_numeric(host) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, str(host))
        return True
    except (OSError, ValueError):
        return False


@ffi.def_extern(onerror=callback_failed)
def _weft_fd_ready(arg):
    loop, handle = ffi.from_handle(arg)
    if not handle._cancelled:
        loop._run_guarded(handle)
