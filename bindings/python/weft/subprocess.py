"""subprocess_exec / subprocess_shell: the core's processes (posix_spawn) behind asyncio's
SubprocessTransport, with a pipe transport per piped stdio stream, so that
asyncio.create_subprocess_exec and its Process/StreamReader/StreamWriter work unchanged."""

from __future__ import annotations

import contextvars
import os
import signal
import subprocess
import time
import warnings
from asyncio import base_events, transports

from ._core import ffi, lib, NULL, check, error_from_code, callback_failed

__all__ = ["SubprocessMixin", "SubprocessTransport"]

# weft_stdio_mode_t
_INHERIT, _PIPE, _DEVNULL, _FD, _STDOUT = 0, 1, 2, 3, 4

_SUPPORTED = {"cwd", "env", "start_new_session", "process_group", "close_fds", "pass_fds",
              "executable"}
# Popen arguments that need code to run in the child between the fork and the exec, which
# posix_spawn cannot do: with any of them away from its default, the child is started by
# subprocess.Popen itself (a fork) on the descriptors the core prepared.
_FORKED = {"restore_signals": True, "preexec_fn": None, "user": None, "group": None,
           "extra_groups": None, "umask": -1}
# Popen arguments accepted when they ask for nothing beyond Popen's default on POSIX.
_DEFAULTS = {"startupinfo": None, "creationflags": 0}


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


class _WritePipeTransport(_PipeTransport, transports.Transport):
    """The parent's end of the child's stdin; its flow control reaches the subprocess
    protocol's pause_writing/resume_writing, as with asyncio. A full Transport, as
    asyncio's write pipe is: its reading methods raise NotImplementedError."""

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
        # asyncio calls the protocol in (copies of) the context the transport was made in.
        self._context = contextvars.copy_context()
        self._in_context = False
        self._ptr = NULL
        self._cookie = ffi.new_handle(self)
        self._pid = None
        self._returncode = None
        self._closed = False
        self._exit_waiters: list = []
        self._extra = {}
        self._popen = None
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
        if self._popen is not None:
            self._popen._exited(self._returncode)
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
        unsupported = {name for name, value in kwargs.items()
                       if name not in _SUPPORTED and name not in _FORKED
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
        if kwargs.get("executable") is not None:
            options.executable = cstr(kwargs["executable"])
        starter = None
        if any(kwargs.get(name, default) != default for name, default in _FORKED.items()):
            starter = _Starter({name: kwargs[name] for name in (*_SUPPORTED, *_FORKED)
                                if name in kwargs and name != "executable"})
            options.start = lib._weft_proc_start
            options.start_arg = handle = ffi.new_handle(starter)
            keep.append(handle)

        protocol = protocol_factory()
        transport = SubprocessTransport(self, protocol, modes)
        out = ffi.new("weft_process_t **")
        rc = lib.weft_subprocess_exec(self._ptr, c_argv, options, _PROTOCOL,
                                      transport._cookie, out)
        if rc < 0:
            if starter is not None and starter.error is not None:
                raise starter.error  # what Popen raised, as asyncio raises it
            raise _spawn_error(rc, kwargs.get("executable") or argv[0], kwargs.get("cwd"))
        transport._ptr = out[0]
        transport._pid = lib.weft_process_pid(out[0])
        transport._popen = _Popen(transport, argv, starter.popen if starter else None)
        transport._extra = {"subprocess": transport._popen}
        self._subprocesses.add(transport)
        try:
            await transport._connected
        except BaseException:
            transport.close()
            await transport._wait()
            raise
        return transport, protocol


class _Starter:
    """Starts a child with subprocess.Popen for the core (the options' start function)."""

    def __init__(self, popen_kwargs) -> None:
        self.kwargs = popen_kwargs
        self.popen = None
        self.error = None


@ffi.def_extern(onerror=callback_failed, error=lib.WEFT_EUNKNOWN)
def _weft_proc_start(path, argv, child_fd, arg):
    starter = ffi.from_handle(arg)
    args = []
    while argv[len(args)] != NULL:
        args.append(ffi.string(argv[len(args)]))
    try:
        starter.popen = subprocess.Popen(args, executable=ffi.string(path), stdin=child_fd[0],
                                         stdout=child_fd[1], stderr=child_fd[2],
                                         **starter.kwargs)
    except BaseException as exc:  # noqa: BLE001 (raised again by _spawn)
        starter.error = exc
        return lib.WEFT_EUNKNOWN
    return starter.popen.pid


class _Popen:
    """get_extra_info('subprocess'): the child as asyncio's transports show it, a
    subprocess.Popen's attributes and methods, over the core's process (which reaps it)."""

    stdin = stdout = stderr = None  # the transport's pipes carry the child's stdio

    def __init__(self, transport, args, forked) -> None:
        self._transport = transport
        self._forked = forked  # the Popen that started the child, if one did
        self.args = tuple(args)
        self.pid = transport._pid

    def __repr__(self) -> str:
        return f"<weft subprocess: pid={self.pid} returncode={self.returncode}>"

    @property
    def returncode(self):
        transport = self._transport
        if transport._returncode is None and transport._ptr != NULL:
            code = ffi.new("int *")
            if lib.weft_process_returncode(transport._ptr, code) == 0:
                return code[0]
        return transport._returncode

    def _exited(self, code) -> None:
        if self._forked is not None:
            # That Popen must not wait for the child, which the core reaped: it keeps the
            # return code, as if it had.
            self._forked.returncode = code

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        """Blocks until the child exits (waitid with WNOWAIT: the core still reaps it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            code = self.returncode
            if code is not None:
                return code
            flags = os.WEXITED | os.WNOWAIT | (0 if deadline is None else os.WNOHANG)
            try:
                info = os.waitid(os.P_PID, self.pid, flags)
            except ChildProcessError:  # reaped by the core meanwhile
                info = None
            except InterruptedError:
                continue
            if info is not None:
                return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout)
            time.sleep(0.001)

    def send_signal(self, sig):
        if self.returncode is None:
            self._transport.send_signal(sig)

    def terminate(self):
        self.send_signal(signal.SIGTERM)

    def kill(self):
        self.send_signal(signal.SIGKILL)


def _deliver(arg, method: str, *args) -> None:
    """Runs a transport's handler for a core event, reporting what it raises as asyncio
    reports exceptions raised in protocol callbacks."""
    transport = ffi.from_handle(arg)
    loop = transport._loop
    try:
        if transport._in_context:  # the core called back inside the protocol's own call
            getattr(transport, method)(*args)
        else:
            transport._in_context = True
            try:
                transport._context.run(getattr(transport, method), *args)
            finally:
                transport._in_context = False
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
