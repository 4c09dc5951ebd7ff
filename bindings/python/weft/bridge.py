"""The Python side of TransportCore (weft/_transportcore.c): what the core's protocol
callbacks call on a transport, and how what a protocol raises is reported.

Every transport of the binding mixes in CoreBridge and owns a TransportCore (``_core``).
The core calls C functions with the TransportCore as their argument; reads go straight to
the protocol in C, and the rarer events arrive here as _on_* methods."""

from __future__ import annotations

import os
from contextvars import copy_context

from ._core import ffi, lib, NULL, error_from_code
from ._loopcore import TransportCore
from . import corefuture

__all__ = ["CoreBridge", "core_call", "STREAM_TABLE", "BUFFERED_TABLE", "DATAGRAM_TABLE",
           "stream_table"]


def _table(kind: str):
    """The core's protocol table for a TransportCore: every entry is a C function of
    weft/_transportcore.c. `kind`: "stream", "buffered" (a BufferedProtocol) or "datagram"."""
    table = ffi.new("weft_protocol_t *")
    table.size = ffi.sizeof("weft_protocol_t")
    table.connection_made = lib._weft_tp_made
    table.connection_lost = lib._weft_tp_lost
    table.pause_writing = lib._weft_tp_pause_writing
    table.resume_writing = lib._weft_tp_resume_writing
    if kind == "datagram":
        table.datagram_received = lib._weft_tp_datagram
        table.error_received = lib._weft_tp_error_received
        return table
    table.eof_received = lib._weft_tp_eof
    if kind == "buffered":
        table.get_buffer = lib._weft_tp_get_buffer
        table.buffer_updated = lib._weft_tp_buffer_updated
    else:
        # read_into: a large read lands in its bytes object directly (_transportcore.c,
        # "Reads").
        table.data_received = lib._weft_tp_data
        table.read_into = lib._weft_tp_read_into
    return table


STREAM_TABLE, BUFFERED_TABLE, DATAGRAM_TABLE = (_table(kind)
                                                for kind in ("stream", "buffered", "datagram"))


def stream_table(buffered: bool):
    """The table for a stream protocol: BufferedProtocols get get_buffer/buffer_updated."""
    return BUFFERED_TABLE if buffered else STREAM_TABLE

# Which protocol callback a transport's own method stands for, in error reports.
_REPORTED_AS = {"_made": "connection_made", "_lost": "connection_lost"}


def core_call(transport, method: str, *args):
    """Runs a protocol callback (or one of the transport's own, named with a leading
    underscore), reporting what it raises through the transport's _protocol_error."""
    try:
        if method.startswith("_"):
            return getattr(transport, method)(*args)
        return getattr(transport._protocol, method)(*args)
    except BaseException as exc:
        transport._protocol_error(method, exc)
        return None


class CoreBridge:
    """Mixed into each transport class; ``_bridge`` is called from its __init__."""

    # The argument the core's callbacks get (a void *), and the transport's core handle
    # (``_ptr``, retained by _made; NULL until then).
    _cookie = NULL
    _ptr = NULL

    def _bridge(self, protocol) -> None:
        self._core = TransportCore(self)
        self._core.protocol = protocol
        # asyncio calls a protocol in (a copy of) the context its transport was made in.
        self._core.context = copy_context()
        # The loop keeps the transport, and so its TransportCore, alive until
        # connection_lost, the core's last call.
        self._cookie = ffi.cast("void *", self._core.address)

    def _bind_core_methods(self, cls, names) -> None:
        """Binds each method of `names` that type(self) takes unchanged from `cls` straight
        to the TransportCore's C method of that name: a protocol calls them per request
        (write, is_closing, ...), and a Python method that only delegates cost a frame.
        (A subclass that overrides one keeps its own.)"""
        kind = type(self)
        for name in names:
            if getattr(kind, name) is getattr(cls, name):
                setattr(self, name, getattr(self._core, name))

    @property
    def _protocol(self):
        return self._core.protocol

    @_protocol.setter
    def _protocol(self, protocol):
        self._core.protocol = protocol

    # ---- What every transport over a core transport does the same way -----------------

    def _core_table(self):
        """The protocol table the core calls this transport through."""
        return stream_table(self._buffered)

    def _never_made(self) -> None:
        """The core never made the connection: the caller's socket or pipe is closed, or
        given back, as asyncio does when a create_* call fails."""

    _claimed = ()  # descriptors of the program's objects this transport uses

    def _claim_fd(self, fd: int) -> None:
        """`fd` (the caller's socket or pipe, or get_extra_info('socket')) is this
        transport's: add_reader and add_writer refuse it while it is open, as asyncio's."""
        self._claimed += (fd,)
        self._loop._fd_transports[fd] = self

    def _unclaim_fds(self) -> None:
        table = self._loop._fd_transports
        for fd in self._claimed:
            if table.get(fd) is self:
                del table[fd]
        self._claimed = ()

    async def _start_on_core(self, connect, fd: int, user_fd: int = -1) -> None:
        """Hands `fd` (a duplicate the core then owns) to the core with
        connect(loop, table, cookie, fd, out) and returns once connection_made has run.
        `user_fd`: the caller's descriptor that `fd` duplicates (see _claim_fd)."""
        loop = self._loop
        if user_fd >= 0:
            self._claim_fd(user_fd)
        out = ffi.new("weft_future_t **")
        rc = connect(loop._ptr, self._core_table(), self._cookie, fd, out)
        if rc < 0:
            os.close(fd)
            self._unclaim_fds()
            self._never_made()
            raise error_from_code(rc)
        loop._transports.add(self)
        try:
            # Fails if the core could not start the transport (no protocol event then).
            await corefuture.until_made(loop, out[0], self)
        except BaseException:
            if self._ptr == NULL:
                loop._transports.discard(self)  # never made: no connection_lost comes
                self._unclaim_fds()
                self._never_made()
            self.close()
            raise

    def get_protocol(self):
        return self._protocol

    def is_closing(self):
        return self._core.is_closing()

    def close(self):
        if self._ptr != NULL:
            lib.weft_transport_close(self._ptr)

    def abort(self):
        if self._ptr != NULL:
            lib.weft_transport_abort(self._ptr)

    def get_write_buffer_size(self):
        return 0 if self._ptr == NULL else lib.weft_transport_get_write_buffer_size(self._ptr)

    def set_write_buffer_limits(self, high=None, low=None):
        if self._ptr != NULL:
            rc = lib.weft_transport_set_write_buffer_limits(
                self._ptr, -1 if high is None else high, -1 if low is None else low)
            if rc < 0:
                raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")

    def get_write_buffer_limits(self):
        if self._ptr == NULL:
            return (0, 0)
        low, high = ffi.new("size_t *"), ffi.new("size_t *")
        lib.weft_transport_get_write_buffer_limits(self._ptr, low, high)
        return (low[0], high[0])

    # ---- The core's callbacks, through TransportCore -----------------------------------

    _made_waiter = None  # set by whoever waits for connection_made (corefuture.until_made)

    def _made(self, ptr) -> None:
        """connection_made: the transport keeps a reference to its core transport."""
        self._ptr = lib.weft_transport_retain(ptr)
        try:
            self._protocol.connection_made(self)
        finally:
            if self._made_waiter is not None and not self._made_waiter.done():
                self._made_waiter.set_result(None)

    def _on_made(self, address: int) -> None:
        core_call(self, "_made", ffi.cast("weft_transport_t *", address))

    def _on_eof(self) -> bool:
        return bool(core_call(self, "eof_received"))

    def _on_lost(self, error: int) -> None:
        loop = self._loop
        loop._transports.discard(self)
        if self._claimed:
            self._unclaim_fds()  # the core closed the descriptor: its number may come back
        if loop._closed:
            # The loop closed with this transport open and the core freed its side. asyncio's
            # loops call no protocol method then, and the transport's socket or pipe stays
            # its owner's to close (an unclosed one warns when collected, as in asyncio).
            self._core.release()
            return
        # The core calls connection_lost from its ready queue, in the iteration asyncio's
        # transports would (they call_soon it when they begin to close).
        self._lost_now(error)

    def _lost_now(self, error: int) -> None:
        try:
            core_call(self, "_lost", error)
        finally:
            self._core.release()  # the core calls no more

    def _on_pause_writing(self) -> None:
        core_call(self, "pause_writing")

    def _on_resume_writing(self) -> None:
        core_call(self, "resume_writing")

    def _on_error_received(self, error: int) -> None:
        core_call(self, "error_received", error_from_code(error))

    def _protocol_error(self, method: str, exc: BaseException) -> None:
        """A protocol callback raised ``exc``: asyncio's fatal-error report, and the
        connection is aborted (SystemExit and KeyboardInterrupt stop the loop instead)."""
        if isinstance(exc, (SystemExit, KeyboardInterrupt)):
            self._loop._interrupted(exc, ())
            return
        name = _REPORTED_AS.get(method, method)
        self._loop.call_exception_handler({
            "message": f"Fatal error: protocol.{name}() call failed.",
            "exception": exc, "transport": self, "protocol": self._protocol})
        if self._ptr != NULL and method != "_lost":
            lib.weft_transport_abort(self._ptr)

    def _write_failed(self, code: int) -> None:
        if code == lib.WEFT_EINVALIDSTATE:  # the core refuses a write after write_eof
            raise RuntimeError("Cannot call write() after write_eof()")
        raise error_from_code(code)
