"""TLS on weft's loop: asyncio's ssl= arguments, loop.start_tls and the SSL transport, with
every TLS record handled by the C core (core/include/weft/tls_transport.h).

A user's ssl.SSLContext cannot be read back, so weft does not copy it: for each connection
Python makes its own TLS object from it (``context.wrap_bio``, exactly as asyncio's
sslproto does), and the core adopts that object's OpenSSL ``SSL *`` (weft_tls_ssl_t). The
handshake, reads, writes and shutdown then run in C over the core's transport, while
everything the context configures (certificates, CA store, verify_mode, check_hostname,
ciphers, ALPN, sni_callback, options, sessions...) applies as OpenSSL sees it, and
``get_extra_info('ssl_object')`` is that genuine ssl.SSLObject.

The ``SSL *`` is read out of CPython's objects by weft/_sslhelper.c, after the checks in
_check_openssl (one OpenSSL in the process, the one the core calls) and, per connection,
the helper's own (the SSL belongs to the context, is on the right side, has not started).
"""

from __future__ import annotations

import contextvars
import os
import socket
import ssl as sslmod
import sys
from asyncio import base_events, constants

from ._core import ffi, lib, NULL, error_from_code, callback_failed
from .transports import Transport, _socket_extra

__all__ = ["SSLTransport", "TLSMixin"]

_ETLS = lib.WEFT_ETLS
_ECANCELLED = lib.WEFT_ECANCELLED
_ECONNABORTED = lib.WEFT_ECONNABORTED
_ETIMEDOUT = lib.WEFT_ETIMEDOUT
_EINVAL = lib.WEFT_EINVAL
_INFO_TLS_CONN = 100
_ECLOSED = lib.WEFT_ECLOSED

_HELPER_ERRORS = {
    1: "the ssl object has no OpenSSL object",
    2: "the SSL object does not belong to the SSLContext (two OpenSSL libraries?)",
    3: "the SSL object is for the other side of the connection",
    4: "the SSL object's handshake has already started",
}

# ---- One OpenSSL in the process -------------------------------------------------------

_openssl_problem: str | None = None
_openssl_checked = False


def _mapped_libssl() -> set[str]:
    """The libssl files mapped into this process (Linux; empty elsewhere)."""
    try:
        with open("/proc/self/maps") as maps:
            return {line.split(None, 5)[5].strip() for line in maps
                    if "libssl" in line and len(line.split(None, 5)) == 6}
    except OSError:
        return set()


def _check_openssl() -> None:
    """Raises RuntimeError unless Python's ssl module and weft's core run on the same
    OpenSSL: the core calls OpenSSL on SSL objects Python made."""
    global _openssl_problem, _openssl_checked
    if not _openssl_checked:
        _openssl_checked = True
        core = lib.weft_tls_openssl_version()
        libs = _mapped_libssl()
        # _sslhelper.c reads the start of CPython's _ssl structs, known the same from 3.7
        # to 3.13: on another version TLS is refused rather than reading an unknown layout.
        if sys.implementation.name != "cpython" or not (3, 7) <= sys.version_info[:2] <= (3, 13):
            _openssl_problem = ("weft's TLS reads CPython's ssl objects (3.7 to 3.13), not "
                                f"those of {sys.implementation.name} {sys.version.split()[0]}")
        elif core != sslmod.OPENSSL_VERSION_NUMBER:
            _openssl_problem = (f"Python's ssl module runs on {sslmod.OPENSSL_VERSION} "
                                f"(0x{sslmod.OPENSSL_VERSION_NUMBER:x}) but weft's core on "
                                f"OpenSSL 0x{core:x}: TLS needs both on one libssl")
        elif len(libs) > 1:
            _openssl_problem = ("several OpenSSL libraries are loaded "
                                f"({', '.join(sorted(libs))}): TLS needs one")
    if _openssl_problem:
        raise RuntimeError(f"weft: {_openssl_problem}")


def _ssl_pointer(sslobj, context, server_side: bool):
    """The OpenSSL SSL * of ``sslobj`` (made by ``context.wrap_bio``), checked."""
    inner = getattr(sslobj, "_sslobj", None)
    if type(inner).__name__ != "_SSLSocket" or type(inner).__module__ != "_ssl":
        raise TypeError(f"weft: {sslobj!r} is not an ssl.SSLObject made by the ssl module")
    if not isinstance(context, sslmod.SSLContext):
        raise TypeError(f"weft: {context!r} is not an ssl.SSLContext")
    out = ffi.new("void **")
    rc = lib.pyweft_ssl_of(ffi.cast("void *", id(inner)), ffi.cast("void *", id(context)),
                           1 if server_side else 0, out)
    if rc:
        raise RuntimeError(f"weft: cannot hand the TLS connection to the core: "
                           f"{_HELPER_ERRORS.get(rc, rc)}")
    return out[0]


# ---- Settings and the SSL objects made from them --------------------------------------

class _TLS:
    """One call's TLS settings, checked as asyncio's SSLProtocol checks them."""

    __slots__ = ("context", "server_side", "server_hostname", "handshake_timeout",
                 "shutdown_timeout")

    def __init__(self, context, server_side, server_hostname, handshake_timeout,
                 shutdown_timeout):
        if handshake_timeout is None:
            handshake_timeout = constants.SSL_HANDSHAKE_TIMEOUT
        elif handshake_timeout <= 0:
            raise ValueError(f"ssl_handshake_timeout should be a positive number, "
                             f"got {handshake_timeout}")
        if shutdown_timeout is None:
            shutdown_timeout = constants.SSL_SHUTDOWN_TIMEOUT
        elif shutdown_timeout <= 0:
            raise ValueError(f"ssl_shutdown_timeout should be a positive number, "
                             f"got {shutdown_timeout}")
        if context and not isinstance(context, sslmod.SSLContext):
            # asyncio would fail at the first connection; weft needs the ssl module's own.
            raise TypeError(f"ssl argument must be an SSLContext, True or None, "
                            f"got {context!r}")
        if not context:  # ssl=True: asyncio's default client context
            if server_side:
                raise ValueError("Server side SSL needs a valid SSLContext")
            context = sslmod.create_default_context()
            if not server_hostname:
                context.check_hostname = False
        self.context = context
        self.server_side = server_side
        # asyncio ignores an empty name (and any name on a server).
        self.server_hostname = None if server_side else (server_hostname or None)
        self.handshake_timeout = handshake_timeout
        self.shutdown_timeout = shutdown_timeout

    def new_sslobj(self):
        return self.context.wrap_bio(sslmod.MemoryBIO(), sslmod.MemoryBIO(),
                                     server_side=self.server_side,
                                     server_hostname=self.server_hostname)


class _SSLSource:
    """The argument of the core's ssl_fn: makes the SSL object of each connection (a
    client's is made beforehand, so that errors raise where asyncio raises them). ``keep``
    holds what the connections' callbacks need alive (a server's factory cookie)."""

    def __init__(self, loop, tls: _TLS, keep=None):
        self.loop = loop
        self.tls = tls
        self.keep = keep
        self.pending = None
        self.handle = ffi.new_handle(self)

    def prepare(self):
        """A client's SSL object, made and checked now; returns its SSL *."""
        self.pending = self.tls.new_sslobj()
        return _ssl_pointer(self.pending, self.tls.context, self.tls.server_side)

    def options(self):
        o = ffi.new("weft_tls_options_t *")
        o.size = ffi.sizeof("weft_tls_options_t")
        o.handshake_timeout = self.tls.handshake_timeout
        o.shutdown_timeout = self.tls.shutdown_timeout
        o.ssl_fn = lib._weft_tls_ssl
        o.ssl_arg = self.handle
        return o


class _SSLHold:
    """An SSL object the core uses: alive (with the source) until the core releases it,
    because OpenSSL's callbacks into Python (SNI, ALPN, message and key-log callbacks) find
    the ssl object through the SSL's app data."""

    __slots__ = ("sslobj", "source", "handle")

    def __init__(self, sslobj, source):
        self.sslobj = sslobj
        self.source = source
        self.handle = ffi.new_handle(self)


_live: set = set()     # _SSLHold objects the core holds
_pending: set = set()  # _Wait objects whose core future has not completed


@ffi.def_extern(onerror=callback_failed)
def _weft_tls_ssl(arg, server_side, out):
    source = ffi.from_handle(arg)
    try:
        sslobj, source.pending = source.pending, None
        if sslobj is None:
            sslobj = source.tls.new_sslobj()
        ptr = _ssl_pointer(sslobj, source.tls.context, bool(server_side))
    except Exception as exc:
        source.loop.call_exception_handler({
            "message": "Cannot set up TLS for a new connection", "exception": exc})
        return _EINVAL
    hold = _SSLHold(sslobj, source)
    _live.add(hold)
    out.ssl = ptr
    out.owner = hold.handle
    out.release = lib._weft_tls_release
    return 0


@ffi.def_extern(onerror=callback_failed)
def _weft_tls_release(owner):
    hold = ffi.from_handle(owner)
    hold.handle = None  # the core is done with it: no cycle left to wait for the collector
    if _live is not None:  # None during interpreter shutdown
        _live.discard(hold)


# ---- Errors as asyncio raises them ----------------------------------------------------

def _ssl_error(message: str) -> sslmod.SSLError:
    """ssl.SSLError with Python's shape ("[SSL: REASON] reason") for OpenSSL's reasons."""
    reason = message.upper().replace(" ", "_")
    exc = sslmod.SSLError(1, f"[SSL: {reason}] {message}" if reason.isidentifier() else message)
    exc.library, exc.reason = "SSL", reason if reason.isidentifier() else None
    return exc


def _verify_error(ssl_ptr, hostname) -> sslmod.SSLError | None:
    """SSLCertVerificationError as Python's ssl module makes it, from the SSL's result."""
    text = ffi.new("const char **")
    code = lib.pyweft_ssl_verify_result(ssl_ptr, text)
    if code == 0:
        return None
    verify = ffi.string(text[0]).decode(errors="replace")
    if code == 62:  # X509_V_ERR_HOSTNAME_MISMATCH
        verify = f"Hostname mismatch, certificate is not valid for '{hostname}'."
    elif code == 64:  # X509_V_ERR_IP_ADDRESS_MISMATCH
        verify = f"IP address mismatch, certificate is not valid for '{hostname}'."
    exc = sslmod.SSLCertVerificationError(
        1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {verify}")
    exc.library, exc.reason = "SSL", "CERTIFICATE_VERIFY_FAILED"
    exc.verify_code, exc.verify_message = code, verify
    return exc


def _handshake_error(code: int, message: str, tls: _TLS, ssl_ptr=None) -> BaseException:
    if code == _ETLS:
        if ssl_ptr is not None and message.startswith("certificate verify failed"):
            exc = _verify_error(ssl_ptr, tls.server_hostname)
            if exc is not None:
                return exc
        return _ssl_error(message)
    if code == _ECONNABORTED and message.startswith("SSL handshake is taking longer"):
        return ConnectionAbortedError(f"SSL handshake is taking longer than "
                                      f"{tls.handshake_timeout} seconds: "
                                      f"aborting the connection")
    return error_from_code(code, message)


# ---- The transport ----------------------------------------------------------------------

class SSLTransport(Transport):
    """asyncio's SSL transport over a core TLS transport. Its extra info is asyncio's:
    'sslcontext', then after the handshake 'ssl_object' (the connection's ssl.SSLObject),
    'peercert', 'cipher' and 'compression', with the socket's 'peername', 'sockname' and
    'socket'.

    Reads, writes and reading control go through the TransportCore as on any transport;
    a start_tls transport, which has no connection_made of its own, is bound to its
    TransportCore when its handshake completes (_weft_tls_done)."""

    _start_tls_compatible = True
    _sendfile_compatible = constants._SendfileMode.FALLBACK

    def __init__(self, loop, protocol, extra, tls: _TLS, upgrade: bool = False) -> None:
        super().__init__(loop, protocol, extra)
        self._extra["sslcontext"] = tls.context
        self._tls = tls
        self._upgrade = upgrade  # start_tls: the protocol had connection_made already
        self._conn = NULL

    def __repr__(self) -> str:
        return (f"<weft.SSLTransport closing={self.is_closing()} "
                f"{self._extra.get('peername')}>")

    def write_eof(self):
        raise NotImplementedError("SSL doesn't support half-closes")

    def can_write_eof(self):
        return False

    def _made(self, ptr) -> None:
        """The handshake completed: asyncio's extra info, then connection_made (not for
        start_tls, whose protocol had it from the old transport)."""
        self._conn = _conn_of(ptr)
        if self._conn != NULL:
            hold = ffi.from_handle(lib.weft_tls_conn_owner(self._conn))
            # A server's source (its factory) is no longer needed by this connection, and
            # keeping it would tie the factory's references (often this very protocol) in
            # a cycle through C that the garbage collector cannot see.
            hold.source = None
            sslobj = hold.sslobj
            self._extra.update(peercert=sslobj.getpeercert(), cipher=sslobj.cipher(),
                               compression=sslobj.compression(), ssl_object=sslobj)
        if self._upgrade:
            self._ptr = lib.weft_transport_retain(ptr)
        else:
            super()._made(ptr)

    def _lost(self, error: int) -> None:
        if self._ptr == NULL:
            self._detach()
            return  # a failed start_tls: as in asyncio, the protocol hears nothing
        exc = None
        if error == _ETLS:
            text = ffi.string(lib.weft_tls_conn_error(self._conn)).decode(errors="replace") \
                if self._conn != NULL else ""
            exc = _ssl_error(text or "TLS failure")
        elif error == _ETIMEDOUT:
            exc = TimeoutError("SSL shutdown timed out")
        elif error:
            exc = error_from_code(error)
        protocol = self._protocol
        self._detach()
        protocol.connection_lost(exc)

    def _detach(self) -> None:
        """The connection is over, or was never made, and the core will not call this
        transport again: lets go of the core transport (and with it the TLS engine and the
        SSL object's hold), and the TransportCore of the transport and its protocol, so
        that nothing of the connection waits for the garbage collector."""
        ptr, self._ptr = self._ptr, NULL
        self._conn = NULL
        self._core.release()
        if ptr != NULL:
            lib.weft_transport_release(ptr)
        if self._socket is not None:
            self._socket.close()


def _conn_of(ptr):
    """The core's weft_tls_conn_t of a TLS transport, or NULL."""
    out = ffi.new("weft_tls_conn_t **")
    size = ffi.new("size_t *", ffi.sizeof("weft_tls_conn_t *"))
    if lib.weft_transport_get_extra_info(ptr, _INFO_TLS_CONN, out, size) != 0:
        return NULL
    return out[0]


# ---- Waiting for the core's connect / start_tls future --------------------------------

class _Wait:
    """Python's side of one pending core future: the waiter, and what must stay alive
    until the core is done with it (the transport's cookie, the SSL object)."""

    __slots__ = ("loop", "waiter", "transport", "source", "ssl_ptr", "upgrade", "handle")

    def __init__(self, loop, transport, source, ssl_ptr, upgrade):
        self.loop = loop
        self.waiter = loop.create_future()
        self.transport = transport
        self.source = source
        self.ssl_ptr = ssl_ptr
        self.upgrade = upgrade
        self.handle = ffi.new_handle(self)


async def _await_core(state: _Wait, future) -> None:
    _pending.add(state)
    lib.weft_future_add_done_callback(future, lib._weft_tls_done, state.handle)
    try:
        await state.waiter
    except BaseException:
        if state.waiter.cancelled():
            # The core aborts the connection; a handshake that completed meanwhile is
            # closed by _weft_tls_done.
            lib.weft_future_cancel(future, NULL)
        elif state.waiter.exception() is None:
            # Made (connection_made set the waiter), then cancelled before the task
            # resumed: asyncio closes the transport it will not return.
            state.transport.close()
        raise


@ffi.def_extern(onerror=callback_failed)
def _weft_tls_done(future, arg):
    state = ffi.from_handle(arg)
    _pending.discard(state)
    waiter, transport = state.waiter, state.transport
    rc = 0
    try:
        rc = lib.weft_future_error(future)
        if rc == 0:
            if state.upgrade:
                # start_tls: the core gave no connection_made; this binds the transport
                # (and its TransportCore) to the new core transport.
                result = ffi.new("weft_value_t **")
                lib.weft_future_result(future, result)
                lib._weft_tp_made(lib.weft_value_object(result[0], lib.WEFT_VALUE_TRANSPORT),
                                  transport._cookie)
            if waiter.cancelled():
                transport.close()  # cancelled as the handshake completed, as asyncio does
            elif not waiter.done():  # connection_made sets it, except for start_tls
                waiter.set_result(None)
        elif not waiter.done():
            if rc == _ECANCELLED:
                waiter.cancel()
            else:
                raw = lib.weft_future_error_message(future)
                message = ffi.string(raw).decode(errors="replace") if raw != NULL else ""
                waiter.set_exception(_handshake_error(rc, message, state.source.tls,
                                                      state.ssl_ptr))
    except BaseException as exc:  # never into C
        state.loop.call_exception_handler({"message": "weft: TLS connect completion",
                                           "exception": exc})
    finally:
        lib.weft_future_release(future)
        if rc != 0 and not state.upgrade:
            state.loop._transports.discard(transport)
            transport._unclaim_fds()
            transport._detach()  # never made: the core will not call it
        state.handle = None


# ---- The core's reports (a TLS server's failed handshakes) ----------------------------

@ffi.def_extern(onerror=callback_failed)
def _weft_core_report(loop_ptr, context, arg):
    loop = ffi.from_handle(arg)
    message = ffi.string(context.message).decode(errors="replace")
    if not message.startswith("SSL handshake failed"):
        lib.weft_loop_default_exception_handler(loop_ptr, context)
        return
    reason = (ffi.string(context.error_message).decode(errors="replace")
              if context.error_message != NULL else "")
    code = context.error
    exc = _ssl_error(reason) if code == _ETLS else error_from_code(code, reason)
    # asyncio reports a server's failed handshake only in debug mode when it is an
    # OSError (SSLError is one), and to the exception handler otherwise.
    if isinstance(exc, OSError):
        if loop.get_debug():
            base_events.logger.debug("%s", message, exc_info=exc)
    else:
        loop.call_exception_handler({"message": message, "exception": exc})


# ---- The loop's side ------------------------------------------------------------------

def _is_ssl_socket(sock) -> bool:
    return isinstance(sock, sslmod.SSLSocket)


class TLSMixin:
    """start_tls, and the TLS half of create_connection, create_server,
    connect_accepted_socket, create_unix_connection and create_unix_server (whose plain
    half is TransportMixin's)."""

    # -- arguments, as asyncio checks them

    def _tls_client(self, ssl, server_hostname, host, handshake_timeout, shutdown_timeout,
                    *, unix=False):
        """create_connection's (and create_unix_connection's) TLS settings, or None."""
        if not ssl:
            if server_hostname is not None:
                raise ValueError("server_hostname is only meaningful with ssl")
            if handshake_timeout is not None:
                raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
            if shutdown_timeout is not None:
                raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
            return None
        if server_hostname is None:
            if unix:
                raise ValueError("you have to pass server_hostname when using ssl")
            if not host:
                raise ValueError("You must set server_hostname when using ssl without a host")
            server_hostname = host
        return _TLS(None if ssl is True else ssl, False, server_hostname, handshake_timeout,
                    shutdown_timeout)

    def _tls_server(self, ssl, handshake_timeout, shutdown_timeout, *, accepted=False):
        """create_server's (and connect_accepted_socket's) TLS settings, or None."""
        if isinstance(ssl, bool) and not accepted:
            raise TypeError("ssl argument must be an SSLContext or None")
        if not ssl:
            if handshake_timeout is not None:
                raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
            if shutdown_timeout is not None:
                raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
            return None
        return _TLS(None if ssl is True else ssl, True, None, handshake_timeout,
                    shutdown_timeout)

    # -- connections

    async def _tls_wrap_socket(self, sock, protocol_factory, tls: _TLS):
        """TLS over a connected socket (client, or the server side of an accepted one)."""
        try:
            _check_openssl()
            if _is_ssl_socket(sock):
                raise TypeError("Socket cannot be of type SSLSocket")
            source = _SSLSource(self, tls)
            ssl_ptr = source.prepare()
            sock.setblocking(False)
            protocol = protocol_factory()
            transport = SSLTransport(self, protocol, _socket_extra(sock), tls)
        except BaseException:
            sock.close()  # as asyncio does when a connection cannot be set up
            raise
        # The core runs the connection on a duplicate; the caller's socket object stays
        # usable (get_extra_info('socket')) and is closed with the transport.
        transport._socket = sock
        transport._claim_fd(sock.fileno())
        state = _Wait(self, transport, source, ssl_ptr, upgrade=False)
        out = ffi.new("weft_future_t **")
        if tls.server_side:
            connect = lib.weft_connect_accepted_fd
        elif sock.family == socket.AF_UNIX:
            connect = lib.weft_create_unix_connection_fd
        else:
            connect = lib.weft_create_connection_fd
        tls_options = source.options()
        options = ffi.new("weft_connect_options_t *")
        lib.weft_connect_options_init(options)
        options.tls = tls_options
        fd = os.dup(sock.fileno())
        self._transports.add(transport)  # alive while the core may call it
        rc = connect(self._ptr, transport._core_table(), transport._cookie, fd, options, out)
        source.handle = None  # ssl_fn was called (or not) during the call: a cycle less
        if rc < 0:
            self._transports.discard(transport)
            transport._unclaim_fds()
            os.close(fd)
            sock.close()
            raise error_from_code(rc)
        # asyncio's waiter is set by the handshake's completion, right after
        # connection_made; the core future's done callback would come an iteration later,
        # and the task (and a run_until_complete waiting on it) another iteration later
        # than asyncio's, while the connection goes on exchanging data.
        transport._made_waiter = state.waiter
        await _await_core(state, out[0])
        return transport, protocol

    async def start_tls(self, transport, protocol, sslcontext, *, server_side=False,
                        server_hostname=None, ssl_handshake_timeout=None,
                        ssl_shutdown_timeout=None):
        """Upgrades `transport` to TLS; returns the new transport once the handshake has
        completed. The old transport must not be used any more."""
        if not isinstance(sslcontext, sslmod.SSLContext):
            raise TypeError(f"sslcontext is expected to be an instance of ssl.SSLContext, "
                            f"got {sslcontext!r}")
        if not isinstance(transport, Transport) or transport._ptr == NULL:
            raise TypeError(f"transport {transport!r} is not supported by start_tls()")
        tls = _TLS(sslcontext, bool(server_side), server_hostname, ssl_handshake_timeout,
                   ssl_shutdown_timeout)
        _check_openssl()
        source = _SSLSource(self, tls)
        ssl_ptr = source.prepare()
        extra = {k: v for k, v in transport._extra.items()
                 if k not in ("sslcontext", "ssl_object", "peercert", "cipher", "compression")}
        new = SSLTransport(self, protocol, extra, tls, upgrade=True)
        state = _Wait(self, new, source, ssl_ptr, upgrade=True)
        out = ffi.new("weft_future_t **")
        # The core delivers the upgraded connection's events (a failed upgrade's
        # connection_lost included) to the new transport's cookie from now on.
        self._transports.add(new)
        rc = lib.weft_start_tls(transport._ptr, new._core_table(),
                                new._cookie, source.options(), 1 if server_side else 0, out)
        source.handle = None
        if rc < 0:
            self._transports.discard(new)
            raise error_from_code(rc)
        self._transports.discard(transport)
        # The old transport hears nothing more; the new one closes the caller's socket.
        new._socket, transport._socket = getattr(transport, "_socket", None), None
        await _await_core(state, out[0])
        return new

    # -- servers

    def _tls_server_factory(self, protocol_factory, tls: _TLS, options):
        """The factory cookie of a TLS server (for transports._weft_server_factory); fills
        ``options.tls``. Returns (cookie, keep): keep must live as long as the server."""
        _check_openssl()
        self._tls_reports()

        def make_transport(loop, protocol):
            return SSLTransport(loop, protocol, {}, tls)

        cookie = ffi.new_handle((self, protocol_factory, make_transport, contextvars.copy_context()))
        # Every connection's SSL hold keeps the cookie too: the factory is called after a
        # handshake, which may complete after the Server object is gone.
        source = _SSLSource(self, tls, keep=cookie)
        tls_options = source.options()
        options.tls = tls_options
        return cookie, (source, tls_options)

    def _tls_reports(self) -> None:
        """Routes the core's reports through Python's exception handler (once per loop)."""
        if not getattr(self, "_tls_reporting", False):
            self._tls_reporting = True
            lib.weft_loop_set_exception_handler(self._ptr, lib._weft_core_report, self._cookie,
                                                ffi.NULL)
