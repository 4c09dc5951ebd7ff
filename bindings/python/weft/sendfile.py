"""loop.sendfile and loop.sock_sendfile on the core's sendfile (core/src/sendfile.c), with
asyncio's rules: parameter checks, a native attempt (zero-copy sendfile(2)) that falls back
to reading and writing when the platform, the file or the transport cannot do it, and the
file position left at offset + bytes sent, on success and on error alike.

A transport says how it takes part through ``_sendfile_compatible`` (asyncio's
_SendfileMode): the core's stream transports try native, a layered one (TLS) falls back,
anything else is refused."""

from __future__ import annotations

import io
import os
import socket
import stat
from asyncio import constants, exceptions, protocols

from ._core import ffi, lib, NULL, error_from_code
from . import corefuture

__all__ = ["SendfileMixin"]

_Mode = constants._SendfileMode


def _check_params(sock, file, offset, count) -> None:
    if "b" not in getattr(file, "mode", "b"):
        raise ValueError("file should be opened in binary mode")
    if sock is not None and sock.type != socket.SOCK_STREAM:
        raise ValueError("only SOCK_STREAM type sockets are supported")
    if count is not None:
        if not isinstance(count, int):
            raise TypeError(f"count must be a positive integer (got {count!r})")
        if count <= 0:
            raise ValueError(f"count must be a positive integer (got {count!r})")
    if not isinstance(offset, int):
        raise TypeError(f"offset must be a non-negative integer (got {offset!r})")
    if offset < 0:
        raise ValueError(f"offset must be a non-negative integer (got {offset!r})")


def _regular_fileno(file) -> int:
    """The descriptor of a regular file, or SendfileNotAvailableError: sendfile(2) reads
    only from those."""
    try:
        fileno = file.fileno()
    except (AttributeError, io.UnsupportedOperation) as exc:
        raise exceptions.SendfileNotAvailableError("not a regular file") from exc
    try:
        mode = os.fstat(fileno).st_mode
    except OSError as exc:
        raise exceptions.SendfileNotAvailableError("not a regular file") from exc
    if not stat.S_ISREG(mode):
        raise exceptions.SendfileNotAvailableError("not a regular file")
    return fileno


async def _native(loop, start, file, offset, count) -> int:
    """Runs one core sendfile started by start(fileno, out) and leaves the file position
    after what was sent, whatever the outcome."""
    fileno = _regular_fileno(file)
    out = ffi.new("weft_future_t **")
    rc = start(fileno, out)
    if rc < 0:
        raise error_from_code(rc)
    sent = 0

    def convert(ptr):
        nonlocal sent
        try:
            sent = corefuture.int_outcome(ptr)
        except BaseException:
            sent = lib.weft_sendfile_sent(ptr)
            raise
        return sent

    try:
        return await corefuture.wrap(loop, out[0], convert)
    finally:
        if sent > 0 and hasattr(file, "seek"):
            file.seek(offset + sent)


class _FallbackProtocol(protocols.Protocol):
    """Stands in for a transport's protocol while the fallback writes the file through it:
    it learns the transport's write flow control and loss, and passes the loss on."""

    def __init__(self, loop, transport) -> None:
        self._loop = loop
        self._transport = transport
        self._protocol = transport.get_protocol()
        self._resume_reading = transport.is_reading()
        low_high = getattr(transport, "get_write_buffer_limits", lambda: (0, 0))()
        self._was_paused = transport.get_write_buffer_size() > low_high[1] > 0
        self._ready = loop.create_future() if self._was_paused else None
        transport.pause_reading()
        transport.set_protocol(self)

    async def drain(self) -> None:
        if self._transport.is_closing():
            raise ConnectionError("Connection closed by peer")
        if self._ready is not None:
            await self._ready

    def connection_made(self, transport):
        raise RuntimeError("Invalid state: connection should have been established already.")

    def connection_lost(self, exc):
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(exc or ConnectionError("Connection is closed by peer"))
        self._protocol.connection_lost(exc)

    def pause_writing(self):
        if self._ready is None:
            self._ready = self._loop.create_future()

    def resume_writing(self):
        ready, self._ready = self._ready, None
        if ready is not None and not ready.done():
            ready.set_result(None)

    def data_received(self, data):
        raise RuntimeError("Invalid state: reading should be paused")

    def eof_received(self):
        raise RuntimeError("Invalid state: reading should be paused")

    def restore(self) -> None:
        self._transport.set_protocol(self._protocol)
        if self._resume_reading:
            self._transport.resume_reading()
        if self._ready is not None:
            self._ready.cancel()
            if self._ready.done() and not self._ready.cancelled():
                self._ready.exception()  # retrieved: the caller got the loss already
        if self._was_paused:
            self._protocol.resume_writing()


class SendfileMixin:
    """loop.sendfile and loop.sock_sendfile."""

    async def sendfile(self, transport, file, offset=0, count=None, *, fallback=True):
        if transport.is_closing():
            raise RuntimeError("Transport is closing")
        mode = getattr(transport, "_sendfile_compatible", _Mode.UNSUPPORTED)
        if mode is _Mode.UNSUPPORTED:
            raise RuntimeError(f"sendfile is not supported for transport {transport!r}")
        if mode is _Mode.TRY_NATIVE:
            try:
                return await self._sendfile_native(transport, file, offset, count)
            except exceptions.SendfileNotAvailableError:
                if not fallback:
                    raise
        if not fallback:
            raise RuntimeError(f"fallback is disabled and native sendfile is not supported "
                               f"for transport {transport!r}")
        return await self._sendfile_fallback(transport, file, offset, count)

    async def _sendfile_native(self, transport, file, offset, count):
        """Zero-copy through a core stream transport. Its own writes wait meanwhile:
        transport.write raises, as on asyncio's loop, until this returns."""
        _check_params(None, file, offset, count)
        ptr = getattr(transport, "_ptr", NULL)
        if ptr == NULL:
            raise exceptions.SendfileNotAvailableError("the transport has no core transport")
        transport._sendfile_active = True
        try:
            return await _native(self, lambda fileno, out: lib.weft_sendfile(
                ptr, fileno, offset, count or 0, 0, out), file, offset, count)
        finally:
            transport._sendfile_active = False

    async def _sendfile_fallback(self, transport, file, offset, count):
        """Reads the file in the default executor and writes it through the transport,
        waiting on its flow control."""
        if offset:
            file.seek(offset)
        blocksize = min(count, 16384) if count else 16384
        buf = bytearray(blocksize)
        total = 0
        proto = _FallbackProtocol(self, transport)
        try:
            while True:
                if count:
                    blocksize = min(count - total, blocksize)
                    if blocksize <= 0:
                        return total
                view = memoryview(buf)[:blocksize]
                read = await self.run_in_executor(None, file.readinto, view)
                if not read:
                    return total
                await proto.drain()
                transport.write(bytes(view[:read]))
                total += read
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)
            proto.restore()

    async def sock_sendfile(self, sock, file, offset=0, count=None, *, fallback=True):
        self._check_sock(sock)
        _check_params(sock, file, offset, count)
        try:
            return await self._sock_sendfile_native(sock, file, offset, count)
        except exceptions.SendfileNotAvailableError:
            if not fallback:
                raise
        return await self._sock_sendfile_fallback(sock, file, offset, count)

    async def _sock_sendfile_native(self, sock, file, offset, count):
        fd = sock.fileno()
        return await _native(self, lambda fileno, out: lib.weft_sock_sendfile(
            self._ptr, fd, fileno, offset, count or 0, 0, out), file, offset, count)

    async def _sock_sendfile_fallback(self, sock, file, offset, count):
        if offset:
            file.seek(offset)
        size = constants.SENDFILE_FALLBACK_READBUFFER_SIZE
        blocksize = min(count, size) if count else size
        buf = bytearray(blocksize)
        total = 0
        try:
            while True:
                if count:
                    blocksize = min(count - total, blocksize)
                    if blocksize <= 0:
                        break
                view = memoryview(buf)[:blocksize]
                read = await self.run_in_executor(None, file.readinto, view)
                if not read:
                    break
                await self.sock_sendall(sock, view[:read])
                total += read
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset + total)
