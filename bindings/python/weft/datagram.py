"""loop.create_datagram_endpoint on the core's UDP transports (core/include/weft/udp.h).

The addresses are resolved in Python (loop.getaddrinfo, with asyncio's errors) and paired by
the core (weft_datagram_pair); the core makes, binds and connects the socket for the first
pair that works (weft_datagram_socket), then runs the endpoint on a duplicate of its
descriptor, and the Python socket (get_extra_info('socket')) is closed with the transport."""

from __future__ import annotations

import errno
import operator
import os
import socket
import stat
import warnings
from asyncio import base_events, constants, transports, trsock

from ._core import ffi, lib, NULL, error_from_code, os_errno
from . import sockaddr
from .bridge import CoreBridge, DATAGRAM_TABLE

__all__ = ["DatagramTransport", "DatagramMixin"]

_INFO_PEERNAME, _INFO_SOCKNAME = 1, 2
_unset = object()


class DatagramTransport(CoreBridge, transports.DatagramTransport, transports.Transport):
    """asyncio's datagram transport over a core UDP transport (``_ptr``, retained)."""

    _sendfile_compatible = constants._SendfileMode.UNSUPPORTED

    def __init__(self, loop, sock, protocol, address) -> None:
        super().__init__({"socket": trsock.TransportSocket(sock)})
        self._loop = loop
        self._sock = sock
        self._bridge(protocol)
        self._address = address  # remote_addr: sendto's only destination
        self._ptr = NULL
        self._made_waiter = None
        for key, getter in (("sockname", sock.getsockname), ("peername", sock.getpeername)):
            try:
                self._extra[key] = getter()
            except OSError:
                self._extra[key] = None
        self._family = sock.family
        self._closed = False
        self._core.family = sock.family
        self._core.remote = address or None
        self._core.remote_connected = bool(self._extra["peername"])
        self._fatal_exc = None  # what connection_lost gets after a fatal write error
        if type(self).sendto is DatagramTransport.sendto:
            # sendto is TransportCore's, straight to C (numeric addresses are encoded
            # there; others come back to _encode).
            self.sendto = self._core.sendto

    def __repr__(self) -> str:
        state = "closed" if self._closed else "closing" if self.is_closing() else "open"
        return f"<weft.DatagramTransport {state} {self._extra.get('sockname')}>"

    def __del__(self, _warn=warnings.warn):
        if not self._closed and self._ptr != NULL:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
        ptr, self._ptr = getattr(self, "_ptr", NULL), NULL
        if ptr != NULL:
            lib.weft_transport_release(ptr)

    def set_protocol(self, protocol):
        self._protocol = protocol

    def sendto(self, data, addr=None):
        self._core.sendto(data, addr)

    def _encode(self, addr):
        """sendto's address as bytes, or None once what socket.sendto would have raised
        for it is reported as asyncio's sendto reports it: an OSError to error_received,
        anything else as a fatal write error that closes the transport."""
        try:
            if self._family == socket.AF_UNIX:
                return _unix_sockaddr(addr)
            return _ip_sockaddr(self._family, addr)
        except OSError as exc:
            self._protocol.error_received(exc)
        except Exception as exc:  # noqa: BLE001 - asyncio's sendto catches them all
            self._fatal_error(exc, "Fatal write error on datagram transport")
        return None

    def _fatal_error(self, exc, message) -> None:
        self._loop.call_exception_handler({"message": message, "exception": exc,
                                           "transport": self, "protocol": self._protocol})
        if not self.is_closing():  # closing already: connection_lost's argument is set
            self._fatal_exc = exc
            self.abort()

    # ---- From the core ----------------------------------------------------------------

    def _core_table(self):
        return DATAGRAM_TABLE

    def _never_made(self) -> None:
        self._sock.close()

    def _lost(self, error: int) -> None:
        self._closed = True
        exc, self._fatal_exc = self._fatal_exc, None
        if exc is None and error:
            exc = error_from_code(error)
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._sock.close()


def _ip_sockaddr(family, addr) -> bytes:
    """A struct sockaddr for an AF_INET or AF_INET6 address, refused with what
    socket.sendto raises for it; a name is resolved as socket.sendto resolves it (blocking,
    as asyncio's sendto does)."""
    name = "AF_INET6" if family == socket.AF_INET6 else "AF_INET"
    if not isinstance(addr, tuple):
        raise TypeError(f"sendto(): {name} address must be tuple, not {type(addr).__name__}")
    if family == socket.AF_INET6 and not 2 <= len(addr) <= 4:
        raise TypeError("AF_INET6 address must be a tuple (host, port[, flowinfo[, scopeid]])")
    if family != socket.AF_INET6 and len(addr) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    host, port, *ids = addr
    if isinstance(host, (bytes, bytearray)):
        host = host.decode("ascii")
    elif not isinstance(host, str):
        raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")
    port = operator.index(port)
    if not 0 <= port <= 65535:
        raise OverflowError("sendto(): port must be 0-65535.")
    ids = [operator.index(i) for i in ids]
    if ids and not 0 <= ids[0] <= 0xFFFFF:
        raise OverflowError("sendto(): flowinfo must be 0-1048575.")
    addr = (host, port, *ids)
    try:
        return sockaddr.encode(family, addr)
    except (OSError, OverflowError):
        # Not numeric (or a scope the core does not know by that form): resolved.
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)
        return sockaddr.encode(family, infos[0][4][:2] + tuple(ids) + infos[0][4][2 + len(ids):])


def _unix_sockaddr(path) -> bytes:
    """A struct sockaddr_un for `path`, refused as socket.sendto refuses it."""
    if isinstance(path, (bytes, bytearray, memoryview)) and bytes(path[:1]) == b"\0" or (
            isinstance(path, str) and path[:1] == "\0"):
        # libuv sends with the whole sockaddr_un's length, and an abstract name's length
        # is part of the name: the datagram would go to another address.
        raise OSError(errno.EINVAL, "weft: sendto to an abstract Unix address is not supported")
    return sockaddr.encode_unix(path)


class DatagramMixin:
    """The loop's create_datagram_endpoint."""

    async def create_datagram_endpoint(self, protocol_factory, local_addr=None,
                                       remote_addr=None, *, family=0, proto=0, flags=0,
                                       reuse_address=_unset, reuse_port=None,
                                       allow_broadcast=None, sock=None):
        self._check_closed()
        r_addr = None
        if sock is not None:
            if sock.type == socket.SOCK_STREAM:
                raise ValueError(f"A datagram socket was expected, got {sock!r}")
            modifiers = {"local_addr": local_addr, "remote_addr": remote_addr,
                         "family": family, "proto": proto, "flags": flags,
                         "reuse_address": None if reuse_address is _unset else reuse_address,
                         "reuse_port": reuse_port, "allow_broadcast": allow_broadcast}
            given = ", ".join(f"{k}={v}" for k, v in modifiers.items() if v)
            if given:
                raise ValueError(f"socket modifier keyword arguments can not be used when "
                                 f"sock is specified. ({given})")
            sock.setblocking(False)
        else:
            if reuse_address is not _unset:
                if reuse_address:
                    raise ValueError("Passing `reuse_address=True` is no longer supported, "
                                     "as the usage of SO_REUSEPORT in UDP poses a "
                                     "significant security concern.")
                warnings.warn("The *reuse_address* parameter has been deprecated as of "
                              "3.5.10 and is scheduled for removal in 3.11.",
                              DeprecationWarning, stacklevel=2)
            candidates = await self._datagram_candidates(local_addr, remote_addr, family,
                                                         proto, flags)
            sock, r_addr = await self._datagram_socket(candidates, local_addr, remote_addr,
                                                       reuse_port, allow_broadcast)
        return await self._wrap_datagram(sock, protocol_factory, r_addr)

    async def _datagram_candidates(self, local_addr, remote_addr, family, proto, flags):
        """[((family, proto), (local, remote))]: the address pairs to try, in order."""
        if not (local_addr or remote_addr):
            if family == 0:
                raise ValueError("unexpected address family")
            return [((family, proto), (None, None))]
        if family == socket.AF_UNIX:
            for addr in (local_addr, remote_addr):
                if addr is not None and not isinstance(addr, str):
                    raise TypeError("string is expected")
            if local_addr and local_addr[0] not in (0, "\x00"):
                try:
                    if stat.S_ISSOCK(os.stat(local_addr).st_mode):
                        os.remove(local_addr)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    base_events.logger.error("Unable to check or remove stale UNIX socket "
                                             "%r: %r", local_addr, exc)
            return [((family, proto), (local_addr, remote_addr))]
        resolved = []  # (family, proto, side, address): the local addresses first
        for side, addr in ((0, local_addr), (1, remote_addr)):
            if addr is None:
                continue
            if not (isinstance(addr, tuple) and len(addr) == 2):
                raise TypeError("2-tuple is expected")
            infos = await self.getaddrinfo(addr[0], addr[1], family=family,
                                           type=socket.SOCK_DGRAM, proto=proto, flags=flags)
            if not infos:
                raise OSError("getaddrinfo() returned empty list")
            resolved += [(fam, pro, side, address) for fam, _, pro, _, address in infos]
        # The core pairs them (weft_datagram_pair); each row then points at the encoded
        # form of the Python address it came from.
        rows = ffi.new("weft_datagram_candidate_t[]", len(resolved))
        by_pointer = {}
        keep = []
        for row, (fam, pro, side, address) in zip(rows, resolved):
            raw = ffi.from_buffer(sockaddr.encode(fam, address))
            keep.append(raw)
            by_pointer[int(ffi.cast("uintptr_t", raw))] = address
            row.family, row.protocol = fam, pro
            if side:
                row.remote = ffi.cast("struct sockaddr *", raw)
            else:
                row.local = ffi.cast("struct sockaddr *", raw)

        def address(pointer):
            return by_pointer.get(int(ffi.cast("uintptr_t", pointer)))

        found = [((row.family, row.protocol), (address(row.local), address(row.remote)))
                 for row in rows[0:lib.weft_datagram_pair(rows, len(resolved))]]
        if not found:
            raise ValueError("can not get address information")
        return found

    async def _datagram_socket(self, candidates, local_addr, remote_addr, reuse_port,
                               allow_broadcast):
        """The first socket the core makes, binds and connects for one of the candidates
        (weft_datagram_socket); else the first candidate's error, as the socket module
        words it."""
        if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
            raise ValueError("reuse_port not supported by socket module")
        keep = []  # the encoded addresses, alive until the call returns
        table = ffi.new("weft_datagram_candidate_t[]", len(candidates))
        for row, ((family, proto), (local, remote)) in zip(table, candidates):
            row.family, row.protocol = family, proto
            for name, address, wanted in (("local", local, local_addr),
                                          ("remote", remote, remote_addr)):
                if not wanted:
                    continue
                if family == socket.AF_UNIX:
                    raw, length = sockaddr.unix_address(address)
                else:
                    raw, length = sockaddr.encode(family, address), 0
                keep.append(ffi.from_buffer(raw))
                setattr(row, name, ffi.cast("struct sockaddr *", keep[-1]))
                setattr(row, name + "_len", length)
        fd = ffi.new("int *", -1)
        rc = lib.weft_datagram_socket(table, len(candidates), bool(reuse_port),
                                      bool(allow_broadcast), fd)
        if rc == lib.WEFT_ENOTSUP and reuse_port:
            raise ValueError("reuse_port not supported by socket module, "
                             "SO_REUSEPORT defined but not implemented.")
        if rc < 0:
            number = os_errno(rc)
            raise OSError(number, os.strerror(number)) if number else error_from_code(rc)
        sock = socket.socket(fileno=fd[0])
        return sock, candidates[rc][1][1] if remote_addr else None

    async def _wrap_datagram(self, sock, protocol_factory, r_addr):
        try:
            protocol = protocol_factory()
            transport = DatagramTransport(self, sock, protocol, r_addr)
        except BaseException:
            sock.close()
            raise
        await transport._start_on_core(lib.weft_create_datagram_endpoint_fd,
                                       os.dup(sock.fileno()), sock.fileno())
        return transport, protocol
