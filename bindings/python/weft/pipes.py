"""loop.connect_read_pipe / connect_write_pipe on the core's pipe transports
(core/include/weft/pipe.h), with asyncio's ReadTransport / WriteTransport behaviour.

The core works on a duplicate of the pipe's descriptor; the pipe object the caller gave
(get_extra_info('pipe')) is closed after connection_lost, as asyncio closes it. A write
pipe notices its reader going away (the core watches for it), and loses its connection
then: quietly when nothing was buffered, with BrokenPipeError when something was."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import warnings
from asyncio import base_events, transports

from ._core import ffi, lib, NULL, check, error_from_code
from .bridge import CoreBridge

__all__ = ["ReadPipeTransport", "WritePipeTransport", "PipeMixin"]

_ECLOSED = lib.WEFT_ECLOSED


class _PipeTransport(CoreBridge):
    """What both directions share: the core transport (``_ptr``, retained once made), the
    pipe object, and the unclosed-transport warning."""

    _kind = "pipe"

    def _init(self, loop, pipe, protocol) -> None:
        self._extra["pipe"] = pipe
        self._loop = loop
        self._pipe = pipe
        self._fileno = pipe.fileno()
        self._bridge(protocol)
        self._ptr = NULL
        self._buffered = isinstance(protocol, asyncio.BufferedProtocol)
        self._made_waiter = None

    def __repr__(self) -> str:
        if self._pipe is None:
            state = "closed"
        elif (self._ptr != NULL and lib.weft_transport_is_closing(self._ptr)
              and not self._loop.is_closed()):
            # (A loop that closed with the transport open freed the core's side; the pipe
            # is still open, and its owner's: asyncio calls that open too.)
            state = "closing"
        else:
            state = "open"
        return f"<{self.__class__.__name__} fd={self._fileno} {state}>"

    def __del__(self, _warn=warnings.warn):
        if getattr(self, "_pipe", None) is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._pipe.close()
        ptr, self._ptr = getattr(self, "_ptr", NULL), NULL
        if ptr != NULL:
            lib.weft_transport_release(ptr)

    def set_protocol(self, protocol):
        self._protocol = protocol
        self._buffered = isinstance(protocol, asyncio.BufferedProtocol)

    # ---- From the core ----------------------------------------------------------------

    def _never_made(self) -> None:
        self._pipe = None  # the caller keeps its pipe when nothing was made

    def _lost(self, error: int) -> None:
        exc = error_from_code(error) if error else None
        if exc is not None:
            self._report(exc)
        try:
            self._protocol.connection_lost(exc)
        finally:
            pipe, self._pipe = self._pipe, None
            if pipe is not None:
                pipe.close()

    def _report(self, exc: BaseException) -> None:
        pass


class ReadPipeTransport(_PipeTransport, transports.ReadTransport):
    """The reading end of a pipe, a socket or a character device (a pty)."""

    def __init__(self, loop, pipe, protocol) -> None:
        super().__init__()
        self._init(loop, pipe, protocol)

    def pause_reading(self):
        if self._ptr != NULL:
            lib.weft_transport_pause_reading(self._ptr)

    def resume_reading(self):
        if self._ptr != NULL:
            lib.weft_transport_resume_reading(self._ptr)

    def is_reading(self):
        return self._ptr != NULL and bool(lib.weft_transport_is_reading(self._ptr))

    def _report(self, exc: BaseException) -> None:
        # A pty's reader gets EIO once the other side is gone: an end, not a fault.
        if isinstance(exc, OSError) and exc.errno == errno.EIO:
            if self._loop.get_debug():
                base_events.logger.debug("%r: read end of a pty: %r", self, exc)
            return
        self._loop.call_exception_handler({
            "message": "Fatal read error on pipe transport",
            "exception": exc, "transport": self, "protocol": self._protocol})


class WritePipeTransport(_PipeTransport, transports.WriteTransport):
    """The writing end of a pipe, a socket or a character device (a pty)."""

    def __init__(self, loop, pipe, protocol) -> None:
        super().__init__()
        self._init(loop, pipe, protocol)

    def write(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be a bytes-like object, "
                            f"not {type(data).__name__!r}")
        if not data or self.is_closing():
            return  # after close, write_eof or the reader leaving: dropped, as asyncio
        rc = lib.weft_transport_write(self._ptr, ffi.from_buffer(data), len(data))
        if rc < 0 and rc != _ECLOSED:
            raise error_from_code(rc)

    def writelines(self, list_of_data):
        self.write(b"".join(list_of_data))

    def can_write_eof(self):
        return True

    def write_eof(self):
        if self._ptr != NULL and not self.is_closing():
            check(lib.weft_transport_write_eof(self._ptr))  # a pipe closes once flushed


class PipeMixin:
    """The loop's connect_read_pipe and connect_write_pipe."""

    async def connect_read_pipe(self, protocol_factory, pipe):
        return await self._connect_pipe(protocol_factory, pipe, ReadPipeTransport,
                                        lib.weft_connect_read_pipe,
                                        "Pipe transport is for pipes/sockets only.")

    async def connect_write_pipe(self, protocol_factory, pipe):
        return await self._connect_pipe(protocol_factory, pipe, WritePipeTransport,
                                        lib.weft_connect_write_pipe,
                                        "Pipe transport is only for pipes, sockets and "
                                        "character devices")

    async def _connect_pipe(self, protocol_factory, pipe, cls, connect, refusal):
        self._check_closed()
        mode = os.fstat(pipe.fileno()).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
            raise ValueError(refusal)
        protocol = protocol_factory()
        transport = cls(self, pipe, protocol)
        await transport._start_on_core(connect, os.dup(pipe.fileno()), pipe.fileno())
        if self._debug:
            base_events.logger.debug("%r: pipe %r connected: (%r, %r)", self, pipe,
                                     transport, protocol)
        return transport, protocol
