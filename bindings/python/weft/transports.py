"""Stream transports and servers: the core's TCP/Unix transports behind asyncio's Transport
and Server interfaces, with Python protocols (plain and buffered) called from the core.

Connections to a host are resolved through loop.getaddrinfo and raced by the core
(connect.py); listening sockets are made and bound in Python. Either way the sockets are
then handed to the core, which owns their descriptors from then on. Reads, writes and read
flow control run in C (TransportCore, weft/_transportcore.c, one per Transport); the rarer
events come back through weft/bridge.py."""

from __future__ import annotations

import asyncio
import contextvars
import errno
import functools
import os
import socket
import sys
import weakref
from asyncio import constants, transports, trsock

from ._core import ffi, lib, NULL, check, error_from_code, os_errno, callback_failed
from .bridge import CoreBridge, stream_table
from . import corefuture, sockaddr
from .connect import connect_race

__all__ = ["Transport", "Server", "TransportMixin"]


class Transport(CoreBridge, transports.Transport):
    """asyncio's Transport over a core stream transport (``_ptr``, retained), with its
    reads, writes and read flow control in C (``_core``, a TransportCore)."""

    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE
    _socket = None  # get_extra_info('socket'), made on first use (sockaddr.transport_socket)

    def __init__(self, loop, protocol, extra) -> None:
        super().__init__(extra)
        self._loop = loop
        self._bridge(protocol)
        # Per request, not per connection (each binding costs the connection a little).
        hot = ("is_closing",)
        if type(self).write is Transport.write:  # else writelines goes through that write
            hot += ("write", "writelines")
        self._bind_core_methods(Transport, hot)
        self._buffered = isinstance(protocol, asyncio.BufferedProtocol)
        self._made_waiter = None

    def __repr__(self) -> str:
        return f"<weft.Transport closing={self.is_closing()} {self._extra.get('peername')}>"

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", NULL), NULL
        if ptr != NULL:
            lib.weft_transport_release(ptr)

    @property
    def _sendfile_active(self):
        """loop.sendfile owns the connection meanwhile (sendfile.py): write() raises."""
        return self._core.sendfile_active

    @_sendfile_active.setter
    def _sendfile_active(self, active):
        self._core.sendfile_active = active

    def write(self, data):
        self._core.write(data)

    def pause_reading(self):
        self._core.pause_reading()

    def resume_reading(self):
        self._core.resume_reading()

    def set_protocol(self, protocol):
        buffered = isinstance(protocol, asyncio.BufferedProtocol)
        if buffered != self._buffered and self._ptr != NULL:
            # The core calls get_buffer/buffer_updated or data_received: switch tables.
            check(lib.weft_transport_set_protocol(self._ptr, stream_table(buffered),
                                                  self._cookie))
        self._protocol = protocol
        self._buffered = buffered

    def get_extra_info(self, name, default=None):
        if name == "socket" and self._extra.get("socket") is None and self._ptr != NULL \
                and not self.is_closing():
            self._socket = sockaddr.transport_socket(self._ptr)
            if self._socket is not None:
                self._extra["socket"] = trsock.TransportSocket(self._socket)
                self._claim_fd(self._socket.fileno())
        return self._extra.get(name, default)

    def writelines(self, list_of_data):
        self.write(b"".join(list_of_data))

    def write_eof(self):
        if self._ptr != NULL:
            rc = lib.weft_transport_write_eof(self._ptr)
            if rc != lib.WEFT_ECLOSED:  # asyncio's write_eof does nothing once closing
                check(rc)

    def can_write_eof(self):
        return self._ptr != NULL and bool(lib.weft_transport_can_write_eof(self._ptr))

    def is_reading(self):
        return self._ptr != NULL and bool(lib.weft_transport_is_reading(self._ptr))

    # ---- From the core ----------------------------------------------------------------

    def _made(self, ptr) -> None:
        for key, code in (("peername", 1), ("sockname", 2)):  # accepted: from the core
            if self._extra.get(key) is None:
                self._extra[key] = sockaddr.transport_address(ptr, code)
        super()._made(ptr)

    def _never_made(self) -> None:
        if self._socket is not None:
            self._socket.close()

    _server_ref = None  # an accepted connection's _ServerRef
    _server_emptied = False

    def _on_lost(self, error: int) -> None:
        # The core counts a connection until its connection_lost returns.
        server = self._server_ref.server() if self._server_ref is not None else None
        self._server_emptied = server is not None and server._ptr != NULL \
            and lib.weft_server_connection_count(server._ptr) <= 1  # this one counts yet
        super()._on_lost(error)

    def _lost(self, error: int) -> None:
        try:
            self._protocol.connection_lost(error_from_code(error) if error else None)
        finally:
            if self._socket is not None:
                self._socket.close()
            server = self._server_ref.server() if self._server_ref is not None else None
            if server is not None:
                server._connection_lost(self._server_emptied)


def _socket_extra(sock) -> dict:
    extra = {"socket": trsock.TransportSocket(sock)}
    for key, getter in (("sockname", sock.getsockname), ("peername", sock.getpeername)):
        try:
            extra[key] = getter()
        except OSError:
            extra[key] = None
    return extra


class Server(asyncio.AbstractServer):
    """asyncio's Server over a core server."""

    def __init__(self, loop, ptr, sockets, cookie) -> None:
        self._loop = loop
        self._ptr = ptr
        self._sockets = sockets  # the caller's listening sockets (the core has duplicates)
        self._cookie = cookie
        self._closed = False
        self._serving_forever_fut = None
        self._closed_waiters = []  # wait_closed's futures

    def __del__(self):
        ptr, self._ptr = getattr(self, "_ptr", NULL), NULL
        if ptr != NULL:
            lib.weft_server_release(ptr)

    def get_loop(self):
        return self._loop

    @property
    def sockets(self):
        return () if self._closed else tuple(trsock.TransportSocket(s) for s in self._sockets)

    def is_serving(self):
        return not self._closed and bool(lib.weft_server_is_serving(self._ptr))

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._loop._servers.discard(self)
        lib.weft_server_close(self._ptr)
        for sock in self._sockets:
            sock.close()
        waiter, self._serving_forever_fut = self._serving_forever_fut, None
        if waiter is not None and not waiter.done():
            waiter.cancel()  # serve_forever() ends, as asyncio's

    def close_clients(self):
        lib.weft_server_close_clients(self._ptr)

    def abort_clients(self):
        lib.weft_server_abort_clients(self._ptr)

    async def start_serving(self):
        check(lib.weft_server_start_serving(self._ptr))
        await asyncio.sleep(0)

    async def serve_forever(self):
        # As asyncio's: serving starts before the first await, so a cancellation at any
        # point after the call leaves the server closed.
        if self._serving_forever_fut is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        check(lib.weft_server_start_serving(self._ptr))
        self._serving_forever_fut = self._loop.create_future()
        try:
            await self._serving_forever_fut
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever_fut = None

    async def wait_closed(self):
        # Done once the server is closed and its last connection is gone: the core says
        # when (3.12's behaviour; 3.11's returns at once after close, a known bug), and so
        # does _connection_lost, sooner.
        out = ffi.new("weft_future_t **")
        check(lib.weft_server_wait_closed(self._ptr, out))
        waiter = corefuture.wrap(self._loop, out[0])
        self._closed_waiters.append(waiter)
        try:
            await waiter
        finally:
            self._closed_waiters.remove(waiter)

    def _connection_lost(self, was_last: bool) -> None:
        """An accepted connection's connection_lost has run; was_last: the core counted
        no other connection when it lost this one. asyncio wakes wait_closed() right then
        once the server is closed and that was its last connection; the core's own future
        would wake it a loop iteration later (its done callbacks are queued)."""
        if self._closed and self._closed_waiters and was_last:
            for waiter in self._closed_waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()


# asyncio unlinks a Unix server's socket file on close from 3.13 on; before, the file
# stays, and programs written for those versions may rely on finding it.
_CLEANUP_SOCKET = sys.version_info >= (3, 13)


def _check_unix_stream_socket(sock) -> None:
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")


class TransportMixin:
    """create_connection, create_server, connect_accepted_socket and their Unix-socket
    counterparts, create_unix_connection and create_unix_server. Their TLS half (ssl=...)
    is TLSMixin's (tls.py): _tls_client, _tls_server, _tls_wrap_socket,
    _tls_server_factory."""

    async def create_connection(self, protocol_factory, host=None, port=None, *, ssl=None,
                                family=0, proto=0, flags=0, sock=None, local_addr=None,
                                server_hostname=None, ssl_handshake_timeout=None,
                                ssl_shutdown_timeout=None, happy_eyeballs_delay=None,
                                interleave=None, all_errors=False):
        tls = self._tls_client(ssl, server_hostname, host, ssl_handshake_timeout,
                               ssl_shutdown_timeout)
        if sock is None:
            if host is None and port is None:
                raise ValueError("host and port was not specified and no sock specified")
            sock = await self._connect_socket(host, port, family, proto, flags, local_addr,
                                              happy_eyeballs_delay, interleave, all_errors)
        elif host is not None or port is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        elif sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A Stream Socket was expected, got {sock!r}")
        return await self._wrap_socket(sock, protocol_factory, tls)

    async def connect_accepted_socket(self, protocol_factory, sock, *, ssl=None,
                                      ssl_handshake_timeout=None, ssl_shutdown_timeout=None):
        tls = self._tls_server(ssl, ssl_handshake_timeout, ssl_shutdown_timeout, accepted=True)
        if sock.type != socket.SOCK_STREAM:
            raise ValueError(f"A Stream Socket was expected, got {sock!r}")
        return await self._wrap_socket(sock, protocol_factory, tls)

    async def create_unix_connection(self, protocol_factory, path=None, *, ssl=None, sock=None,
                                     server_hostname=None, ssl_handshake_timeout=None,
                                     ssl_shutdown_timeout=None):
        """Connects to the Unix socket at `path` (or wraps `sock`, connected already)."""
        tls = self._tls_client(ssl, server_hostname, None, ssl_handshake_timeout,
                               ssl_shutdown_timeout, unix=True)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, os.fspath(path))
            except BaseException:
                sock.close()
                raise
        elif sock is None:
            raise ValueError("no path and sock were specified")
        else:
            _check_unix_stream_socket(sock)
        return await self._wrap_socket(sock, protocol_factory, tls)

    async def _connect_socket(self, host, port, family, proto, flags, local_addr,
                              happy_eyeballs_delay=None, interleave=None, all_errors=False):
        """A connected socket to host:port, resolved here (loop.getaddrinfo, as asyncio's)
        and raced in the core (connect.py)."""
        infos = await self.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM,
                                       proto=proto, flags=flags)
        if not infos:
            raise OSError("getaddrinfo() returned empty list")
        local_infos = None
        if local_addr is not None:
            local_infos = await self.getaddrinfo(*local_addr[:2], family=family,
                                                 type=socket.SOCK_STREAM, proto=proto,
                                                 flags=flags)
            if not local_infos:
                raise OSError("getaddrinfo() returned empty list")
        return await connect_race(self, infos, local_infos, happy_eyeballs_delay, interleave,
                                  all_errors)

    async def _wrap_socket(self, sock, protocol_factory, tls=None):
        if tls is not None:
            return await self._tls_wrap_socket(sock, protocol_factory, tls)
        sock.setblocking(False)
        protocol = protocol_factory()
        transport = Transport(self, protocol, _socket_extra(sock))
        # The core runs the connection on a duplicate; the caller's socket object stays
        # usable (get_extra_info('socket')) and is closed with the transport, as asyncio's.
        transport._socket = sock
        connect_fd = (lib.weft_create_unix_connection_fd if sock.family == socket.AF_UNIX
                      else lib.weft_create_connection_fd)
        await transport._start_on_core(
            lambda loop, table, cookie, fd, out: connect_fd(loop, table, cookie, fd, NULL, out),
            os.dup(sock.fileno()), sock.fileno())
        return transport, protocol

    async def create_server(self, protocol_factory, host=None, port=None, *,
                            family=socket.AF_UNSPEC, flags=socket.AI_PASSIVE, sock=None,
                            backlog=100, ssl=None, reuse_address=None, reuse_port=None,
                            keep_alive=None, ssl_handshake_timeout=None,
                            ssl_shutdown_timeout=None, start_serving=True):
        # keep_alive is 3.13's; taken on every version, as cleanup_socket is.
        tls = self._tls_server(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        if sock is not None:
            if host is not None or port is not None:
                raise ValueError("host/port and sock can not be specified at the same time")
            sockets = [sock]
        elif host is None and port is None:
            raise ValueError("Neither host/port nor sock were specified")
        else:
            sockets = await self._listening_sockets(host, port, family, flags,
                                                    reuse_address, reuse_port, keep_alive)
        return await self._serve(protocol_factory, sockets, backlog, start_serving, tls=tls)

    async def create_unix_server(self, protocol_factory, path=None, *, sock=None, backlog=100,
                                 ssl=None, ssl_handshake_timeout=None,
                                 ssl_shutdown_timeout=None, start_serving=True,
                                 cleanup_socket=_CLEANUP_SOCKET):
        """Serves on the Unix socket at `path` (the core binds it, removing a stale socket
        file there first) or on `sock`, bound already. With cleanup_socket the core unlinks
        the socket file when the server closes, if it is still the one the server bound."""
        tls = self._tls_server(ssl, ssl_handshake_timeout, ssl_shutdown_timeout)
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            return await self._serve(protocol_factory, (), backlog, start_serving, tls=tls,
                                     cleanup_socket=cleanup_socket, path=path)
        if sock is None:
            raise ValueError("path was not specified, and no sock specified")
        _check_unix_stream_socket(sock)
        return await self._serve(protocol_factory, [sock], backlog, start_serving, tls=tls,
                                 cleanup_socket=cleanup_socket)

    async def _serve(self, protocol_factory, sockets, backlog, start_serving, tls=None,
                     cleanup_socket=False, path=None):
        """Hands bound sockets over to a core server (which listens on them), or has the
        core bind a Unix socket at `path`, and returns the Server, serving already unless
        start_serving is false."""
        # The core listens on duplicates; the sockets stay the caller's objects (as
        # asyncio's server.sockets), closed with the server.
        for sock in sockets:
            sock.setblocking(False)
        fds = [os.dup(s.fileno()) for s in sockets]
        views = list(sockets)
        options = ffi.new("weft_server_options_t *")
        lib.weft_server_options_init(options)
        options.backlog = backlog
        options.start_serving = 1 if start_serving else 0
        options.cleanup_socket = 1 if cleanup_socket else 0
        keep = None
        server_ref = _ServerRef()
        cookie = ffi.new_handle((self, protocol_factory,
                                 functools.partial(_plain_transport, server_ref),
                                 contextvars.copy_context()))
        if tls is not None:
            cookie, keep = self._tls_server_factory(protocol_factory, tls, options)
        out = ffi.new("weft_future_t **")
        if path is not None:
            raw = os.fsencode(path)
            rc = lib.weft_create_unix_server(self._ptr, lib._weft_server_factory, cookie,
                                             ffi.NULL, raw, len(raw), options, out)
        else:
            rc = lib.weft_create_server_fds(self._ptr, lib._weft_server_factory, cookie,
                                            ffi.NULL, ffi.new("int[]", fds), len(fds), options,
                                            out)
        if rc < 0:
            for fd in fds:
                os.close(fd)
            raise error_from_code(rc)
        # Done when the call returns; from then on the duplicates are the core's (closed by
        # it if the server could not be made).
        try:
            ptr = lib.weft_server_retain(_server_outcome(out[0], path))
        finally:
            lib.weft_future_release(out[0])
        if path is not None:  # the server's socket, as asyncio's server.sockets has it
            views = [socket.socket(fileno=os.dup(lib.weft_server_socket_fd(ptr, 0)))]
            views[0].setblocking(False)
        server = Server(self, ptr, views, (cookie, keep))
        server_ref.server = weakref.ref(server)
        self._servers.add(server)  # serving keeps it alive, as asyncio's listening sockets do
        if start_serving:
            await asyncio.sleep(0)
        return server

    async def _listening_sockets(self, host, port, family, flags, reuse_address, reuse_port,
                                 keep_alive=None):
        hosts = [None] if host in (None, "") else ([host] if isinstance(host, str) else host)
        infos = []
        for one in hosts:
            infos += await self.getaddrinfo(one, port, family=family, type=socket.SOCK_STREAM,
                                            flags=flags)
        infos = list(dict.fromkeys(infos))
        # The core makes and binds them as asyncio does (weft_listen_sockets); the words of
        # its errors are asyncio's, from where it says it failed.
        if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
            raise ValueError("reuse_port not supported by socket module")
        keep = [ffi.from_buffer(sockaddr.encode(fam, address))
                for fam, _, _, _, address in infos]
        table = ffi.new("weft_listen_address_t[]", len(infos))
        for row, (fam, type_, pro, _, _), raw in zip(table, infos, keep):
            row.family, row.socktype, row.protocol = fam, type_, pro
            row.addr = ffi.cast("struct sockaddr *", raw)
        options = ffi.new("weft_listen_options_t *")
        lib.weft_listen_options_init(options)
        options.reuse_address = 1 if (True if reuse_address is None else reuse_address) else 0
        options.reuse_port = 1 if reuse_port else 0
        options.keep_alive = 1 if keep_alive else 0
        options.skip_unavailable = 1 if _SKIP_UNAVAILABLE else 0
        fds = ffi.new("int[]", max(len(infos), 1))
        failure = ffi.new("weft_listen_failure_t *")
        made = lib.weft_listen_sockets(table, len(infos), options, fds, failure)
        if made < 0:
            number = os_errno(made)
            if number is None:
                raise error_from_code(made)
            text = os.strerror(number)
            if failure.option == 0:
                address = infos[failure.index][4]
                reason = str(OSError(number, text)) if _BIND_TEXT_IS_STR else text
                raise OSError(number, f"error while attempting to bind on address "
                                      f"{address!r}: {reason.lower()}")
            if failure.option == socket.SO_REUSEPORT:
                raise ValueError("reuse_port not supported by socket module, "
                                 "SO_REUSEPORT defined but not implemented.")
            raise OSError(number, text)
        return [socket.socket(fileno=fds[i]) for i in range(made)]


# asyncio skips an address that cannot be assigned (the family is not enabled) from 3.13 on,
# and words a failed bind with str(exc) where earlier versions use exc.strerror.
_SKIP_UNAVAILABLE = _BIND_TEXT_IS_STR = sys.version_info >= (3, 13)


def _server_outcome(future, path):
    """The server of a done creating future, or asyncio's error for binding at `path`:
    the socket module's words, and its own for an address in use."""
    code = lib.weft_future_error(future)
    if path is not None and -2000 < code < 0:
        if code == lib.WEFT_EADDRINUSE:
            raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use")
        number = os_errno(code)
        raise OSError(number, os.strerror(number) if number else 'unknown error')
    return corefuture.outcome(future).ptr


@ffi.def_extern(onerror=callback_failed)
def _weft_server_factory(factory_arg, protocol_out, arg_out):
    """A server accepted a connection (for TLS: completed its handshake): a protocol from
    the user's factory and a transport from the server's maker (plain or TLS)."""
    loop, protocol_factory, make_transport, server_context = ffi.from_handle(factory_arg)
    # asyncio accepts each connection in a task, so in a copy of the context the server
    # started serving in: the factory and every callback of the protocol run there.
    context = server_context.copy()
    try:
        protocol = context.run(protocol_factory)
    except BaseException as exc:
        loop.call_exception_handler({"message": "Exception in the protocol factory",
                                     "exception": exc})
        return lib.WEFT_EUNKNOWN
    transport = make_transport(loop, protocol)
    transport._core.context = context
    loop._transports.add(transport)
    protocol_out[0] = transport._core_table()[0]
    arg_out[0] = transport._cookie
    return 0


class _ServerRef:
    """Leads a server's plain connections to their Server (weakly: the Server keeps the
    factory's cookie, which keeps this)."""

    server = staticmethod(lambda: None)  # until the Server exists


def _plain_transport(server_ref, loop, protocol):
    transport = Transport(loop, protocol, {})
    transport._server_ref = server_ref
    return transport
