"""subprocess_exec / subprocess_shell: the core's processes (posix_spawn) behind asyncio's
SubprocessTransport, with a pipe transport per piped stdio stream, so that
asyncio.create_subprocess_exec and its Process/StreamReader/StreamWriter work unchanged."""

from __future__ import annotations

import os
import subprocess
import warnings
from asyncio import base_events, transports

from ._core import ffi, lib, NULL, check, error_from_code, callback_failed

__all__ = ["SubprocessMixin", "SubprocessTransport"]

# weft_stdio_mode_t
_INHERIT, _PIPE, _DEVNULL, _FD, _STDOUT = 0, 1, 2, 3, 4

_SUPPORTED = {"cwd", "env", "start_new_session", "process_group", "close_fds", "pass_fds"}
# Popen arguments accepted when they ask for nothing beyond Popen's default on POSIX.
_DEFAULTS = {"restore_signals": True, "preexec_fn": None,
             "user": None, "group": None, "extra_groups": None, "umask": -1,
             "startupinfo": None, "creationflags": 0}


def _spawn_error(rc: int, program, cwd) -> BaseException:
    """The exception Popen raises when the child cannot start: an OSError naming the
    working directory if that is what is missing, else the program."""
    exc = error_from_code(rc)
    if isinstance(exc, OSError):  # OSError(...) below picks the subclass again
        missing_cwd = cwd is not None and not os.path.isdir(cwd)
        return OSError(exc.errno, os.strerror(exc.errno), cwd if missing_cwd else program)
    return exc


def _stdio(value, index: int) -> tuple[int, int]:
    """asyncio's stdin/stdout/stderr argument as the core's (mode, fd)."""
    if value is None:
        return _INHERIT, 0
    if value == subprocess.PIPE:
        return _PIPE, 0
    if value == subprocess.DEVNULL:
        return _DEVNULL, 0
    if value == subprocess.STDOUT:
        if index != 2:
            raise ValueError("STDOUT can only be used for stderr")
        return _STDOUT, 0
    fd = value if isinstance(value, int) else value.fileno()
    return _FD, fd


class _PipeTransport:
    """A pipe of the child's (fd 0, 1 or 2): the core's transport for it, borrowed from the
    process (``_process._ptr`` keeps it valid)."""

    def __init__(self, process: "SubprocessTransport", fd: int) -> None:
        super().__init__()
        self._process = process
        self._fd = fd
        self._lost = False

    @property
    def _ptr(self):
        process = self._process._ptr
        if process == NULL or self._lost:
            return NULL
        return lib.weft_process_get_pipe_transport(process, self._fd)

    def is_closing(self) -> bool:
        ptr = self._ptr
        return ptr == NULL or bool(lib.weft_transport_is_closing(ptr))

    def close(self):
        ptr = self._ptr
        if ptr != NULL:
            lib.weft_transport_close(ptr)

    def get_extra_info(self, name, default=None):
        return default


class _ReadPipeTransport(_PipeTransport, transports.ReadTransport):
    """The parent's end of the child's stdout or stderr."""

    def pause_reading(self):
        ptr = self._ptr
        if ptr != NULL:
            lib.weft_transport_pause_reading(ptr)

    def resume_reading(self):
        ptr = self._ptr
        if ptr != NULL:
            lib.weft_transport_resume_reading(ptr)

    def is_reading(self):
        ptr = self._ptr
        return ptr != NULL and bool(lib.weft_transport_is_reading(ptr))


class _WritePipeTransport(_PipeTransport, transports.WriteTransport):
    """The parent's end of the child's stdin; its flow control reaches the subprocess
    protocol's pause_writing/resume_writing, as with asyncio."""

    def write(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data argument must be a bytes-like object, "
                            f"not {type(data).__name__!r}")
        ptr = self._ptr
        if ptr == NULL or not data:
            return
        rc = lib.weft_transport_write(ptr, ffi.from_buffer(data), len(data))
        if rc < 0 and rc not in (lib.WEFT_EPIPE, lib.WEFT_ECLOSED):  # broken or closed: connection_lost says so
            raise error_from_code(rc)

    def can_write_eof(self):
        return True

    def write_eof(self):
        self.close()  # a pipe cannot half-close: it closes once flushed, as asyncio's

    def abort(self):
        ptr = self._ptr
        if ptr != NULL:
            lib.weft_transport_abort(ptr)

    def get_write_buffer_size(self):
        ptr = self._ptr
        return 0 if ptr == NULL else lib.weft_transport_get_write_buffer_size(ptr)

    def set_write_buffer_limits(self, high=None, low=None):
        ptr = self._ptr
        if ptr != NULL:
            check(lib.weft_transport_set_write_buffer_limits(
                ptr, -1 if high is None else high, -1 if low is None else low))

    def get_write_buffer_limits(self):
        ptr = self._ptr
        if ptr == NULL:
            return (0, 0)
        low, high = ffi.new("size_t *"), ffi.new("size_t *")
        lib.weft_transport_get_write_buffer_limits(ptr, low, high)
        return (low[0], high[0])


class SubprocessTransport(transports.SubprocessTransport):
    """asyncio's SubprocessTransport over a core process (weft_process_t)."""

    def __init__(self, loop, protocol, modes) -> None:
        super().__init__()
        self._loop = loop
        self._protocol = protocol
        self._ptr = NULL
        self._cookie = ffi.new_handle(self)
        self._pid = None
        self._returncode = None
        self._closed = False
        self._exit_waiters: list = []
        self._connected = loop.create_future()
        self._pipes = {}
        if modes[0] == _PIPE:
            self._pipes[0] = _WritePipeTransport(self, 0)
        for fd in (1, 2):
            if modes[fd] == _PIPE:
                self._pipes[fd] = _ReadPipeTransport(self, fd)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"pid={self._pid}"
        return f"<{self.__class__.__name__} {state} returncode={self._returncode}>"

    def get_pid(self):
        return self._pid

    def get_returncode(self):
        return self._returncode

    def get_pipe_transport(self, fd):
        return self._pipes.get(fd)

    def is_closing(self):
        return self._closed

    def _check_proc(self) -> None:
        if self._ptr == NULL:
            raise ProcessLookupError()

    def send_signal(self, signal):
        self._check_proc()
        check(lib.weft_process_send_signal(self._ptr, signal))

    def terminate(self):
        self.send_signal(15)

    def kill(self):
        self.send_signal(9)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self._ptr != NULL:
            if self._returncode is None and self._loop.get_debug():
                base_events.logger.debug("Close running child process: kill %r", self)
            lib.weft_process_close(self._ptr)

    def __del__(self, _warn=warnings.warn):
        if not self._closed:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
        ptr, self._ptr = getattr(self, "_ptr", NULL), NULL
        if ptr != NULL:
            lib.weft_process_release(ptr)

    async def _wait(self):
        """The return code, once the child has exited (asyncio.subprocess.Process.wait)."""
        if self._returncode is not None:
            return self._returncode
        waiter = self._loop.create_future()
        self._exit_waiters.append(waiter)
        return await waiter

    # ---- From the core ----------------------------------------------------------------

    def _made(self) -> None:
        self._protocol.connection_made(self)
        if not self._connected.done():
            self._connected.set_result(None)

    def _exited(self) -> None:
        code = ffi.new("int *")
        if lib.weft_process_returncode(self._ptr, code) == 0:
            self._returncode = code[0]
        self._protocol.process_exited()
        for waiter in self._exit_waiters:
            if not waiter.done():
                waiter.set_result(self._returncode)
        self._exit_waiters.clear()

    def _data(self, fd: int, data: bytes) -> None:
        self._protocol.pipe_data_received(fd, data)

    def _pipe_lost(self, fd: int, error: int) -> None:
        pipe = self._pipes.get(fd)
        if pipe is not None:
            pipe._lost = True
        self._protocol.pipe_connection_lost(fd, error_from_code(error) if error else None)

    def _pause_writing(self) -> None:
        self._protocol.pause_writing()

    def _resume_writing(self) -> None:
        self._protocol.resume_writing()

    def _lost(self, error: int) -> None:
        self._loop._subprocesses.discard(self)
        self._protocol.connection_lost(error_from_code(error) if error else None)


def _check_popen_arguments(want_shell: bool, shell, universal_newlines, bufsize, text,
                           encoding, errors) -> None:
    """asyncio's subprocesses talk bytes, unbuffered, through the shell only for
    subprocess_shell: its refusals, in its order."""
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if bool(shell) != want_shell:
        raise ValueError(f"shell must be {want_shell}")
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
    if text:
        raise ValueError("text must be False")
    if encoding is not None:
        raise ValueError("encoding must be None")
    if errors is not None:
        raise ValueError("errors must be None")


class SubprocessMixin:
    """The loop's subprocess_exec and subprocess_shell."""

    async def subprocess_exec(self, protocol_factory, program, *args, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=False, shell=False, bufsize=0,
                              encoding=None, errors=None, text=None, **kwargs):
        _check_popen_arguments(False, shell, universal_newlines, bufsize, text, encoding, errors)
        argv = [program, *args]
        return await self._spawn(protocol_factory, argv, stdin, stdout, stderr, kwargs)

    async def subprocess_shell(self, protocol_factory, cmd, *, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=False, shell=True, bufsize=0,
                               encoding=None, errors=None, text=None, **kwargs):
        if not isinstance(cmd, (bytes, str)):
            raise ValueError("cmd must be a string")
        _check_popen_arguments(True, shell, universal_newlines, bufsize, text, encoding, errors)
        argv = ["/bin/sh", "-c", cmd]
        return await self._spawn(protocol_factory, argv, stdin, stdout, stderr, kwargs)

    async def _spawn(self, protocol_factory, argv, stdin, stdout, stderr, kwargs):
        self._check_closed()
        unsupported = {name for name, value in kwargs.items() if name not in _SUPPORTED
                       and not (name in _DEFAULTS and value == _DEFAULTS[name])}
        if unsupported:
            raise ValueError(f"weft does not support {', '.join(sorted(unsupported))}")
        keep = []  # C buffers that must outlive the call

        def cstr(value):
            buf = ffi.new("char[]", os.fsencode(value))
            keep.append(buf)
            return buf

        c_argv = ffi.new("const char *[]", [cstr(a) for a in argv] + [NULL])
        options = ffi.new("weft_process_options_t *")
        options.size = ffi.sizeof("weft_process_options_t")
        modes = []
        for index, value in enumerate((stdin, stdout, stderr)):
            mode, fd = _stdio(value, index)
            options.stdio[index].mode = mode
            options.stdio[index].fd = fd
            modes.append(mode)
        if kwargs.get("cwd") is not None:
            options.cwd = cstr(kwargs["cwd"])
        env = kwargs.get("env")
        if env is not None:
            items = [cstr(os.fsencode(k) + b"=" + os.fsencode(v)) for k, v in env.items()]
            c_env = ffi.new("const char *[]", items + [NULL])
            options.env = c_env
        pass_fds = sorted({int(fd) for fd in kwargs.get("pass_fds") or ()})
        if pass_fds:
            c_fds = ffi.new("int[]", pass_fds)
            keep.append(c_fds)
            options.pass_fds = c_fds
            options.pass_fds_count = len(pass_fds)
        options.new_session = bool(kwargs.get("start_new_session"))
        if kwargs.get("process_group") is not None:
            options.set_process_group = 1
            options.process_group = kwargs["process_group"]

        protocol = protocol_factory()
        transport = SubprocessTransport(self, protocol, modes)
        out = ffi.new("weft_process_t **")
        rc = lib.weft_subprocess_exec(self._ptr, c_argv, options, _PROTOCOL,
                                      transport._cookie, out)
        if rc < 0:
            raise _spawn_error(rc, argv[0], kwargs.get("cwd"))
        transport._ptr = out[0]
        transport._pid = lib.weft_process_pid(out[0])
        self._subprocesses.add(transport)
        try:
            await transport._connected
        except BaseException:
            transport.close()
            await transport._wait()
            raise
        return transport, protocol


def _deliver(arg, method: str, *args) -> None:
    """Runs a transport's handler for a core event, reporting what it raises as asyncio
    reports exceptions raised in protocol callbacks."""
    transport = ffi.from_handle(arg)
    loop = transport._loop
    try:
        getattr(transport, method)(*args)
    except (SystemExit, KeyboardInterrupt) as exc:
        loop._interrupted(exc, ())
    except BaseException as exc:
        loop.call_exception_handler({
            "message": f"Exception in callback {method.lstrip('_')} of a subprocess protocol",
            "exception": exc,
            "protocol": transport._protocol,
            "transport": transport,
        })


@ffi.def_extern(onerror=callback_failed)
def _weft_proc_made(process, arg):
    _deliver(arg, "_made")


@ffi.def_extern(onerror=callback_failed)
def _weft_proc_data(process, fd, data, length, arg):
    _deliver(arg, "_data", fd, ffi.buffer(data, length)[:])


@ffi.def_extern(onerror=callback_failed)
def _weft_proc_pipe_lost(process, fd, error, arg):
    _deliver(arg, "_pipe_lost", fd, error)


@ffi.def_extern(onerror=callback_failed)
def _weft_proc_exited(process, arg):
    _deliver(arg, "_exited")


@ffi.def_extern(onerror=callback_failed)
def _weft_proc_lost(process, error, arg):
    _deliver(arg, "_lost", error)


@ffi.def_extern(onerror=callback_failed)
def _weft_proc_pause(process, arg):
    _deliver(arg, "_pause_writing")


@ffi.def_extern(onerror=callback_failed)
def _weft_proc_resume(process, arg):
    _deliver(arg, "_resume_writing")


_PROTOCOL = ffi.new("weft_subprocess_protocol_t *")
_PROTOCOL.size = ffi.sizeof("weft_subprocess_protocol_t")
_PROTOCOL.connection_made = lib._weft_proc_made
_PROTOCOL.pipe_data_received = lib._weft_proc_data
_PROTOCOL.pipe_connection_lost = lib._weft_proc_pipe_lost
_PROTOCOL.process_exited = lib._weft_proc_exited
_PROTOCOL.connection_lost = lib._weft_proc_lost
_PROTOCOL.pause_writing = lib._weft_proc_pause
_PROTOCOL.resume_writing = lib._weft_proc_resume
