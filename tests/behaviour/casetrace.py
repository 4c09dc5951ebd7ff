"""The Python side of the behaviour cases: the trace format, the error names and the loop.

A case.py is an ordinary asyncio program:

    from casetrace import emit, err, run

    async def main():
        emit("start")
        ...

    run(main)

`run` picks the event loop from the command line (`--loop asyncio`, the default, or
`--loop weft`), so the same file runs on CPython's loop (the oracle) and on weft's.
tests/behaviour/README.md defines the trace format; this module is its Python half.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import ssl
import subprocess
import sys

__all__ = ["emit", "err", "q", "run", "loop_name", "make_certs"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_ERROR_H = os.path.join(_HERE, "..", "..", "core", "include", "weft", "error.h")


def _error_table() -> dict[str, int]:
    # The names are read from the core's header, so a trace can only ever name an error
    # the C side can name too.
    with open(_ERROR_H, encoding="utf-8") as f:
        text = f.read()
    # Either enum rows (WEFT_EIO = -5,) or the X-macro table's rows (XX(EIO, -5, "...")).
    rows = re.findall(r"^\s*WEFT_(E[A-Z0-9_]+)\s*=\s*(-?\d+)", text, re.M)
    rows += re.findall(r"\bXX\((E[A-Z0-9_]+),\s*(-?\d+)", text)
    return {name: int(value) for name, value in rows}


ERROR_CODES = _error_table()
ERROR_NAMES = frozenset(ERROR_CODES)
# An errno is named by errno's own name when error.h has it, else by its number: the
# table's operating-system codes are the Linux errno, negated (EOPNOTSUPP is ENOTSUP there,
# and the OS's ECANCELED may be named apart from asyncio's ECANCELLED).
_BY_ERRNO = {-code: name for name, code in ERROR_CODES.items() if -1000 < code < 0}


def _errno_name(number: int) -> str:
    name = errno.errorcode.get(number, "")
    if name in ERROR_NAMES:
        return name
    if sys.platform.startswith("linux"):
        return _BY_ERRNO.get(number, "EUNKNOWN")
    return "EUNKNOWN"


# Exception classes whose name is fixed, most specific first (several are subclasses of
# others: SendfileNotAvailableError is a RuntimeError, SSLError an OSError, TimeoutError
# an OSError).
_BY_CLASS: list[tuple[type, str]] = [
    (asyncio.CancelledError, "ECANCELLED"),
    (asyncio.InvalidStateError, "EINVALIDSTATE"),
    (asyncio.IncompleteReadError, "EINCOMPLETE"),
    (asyncio.LimitOverrunError, "ELIMITOVERRUN"),
    (asyncio.QueueEmpty, "EQUEUEEMPTY"),
    (asyncio.QueueFull, "EQUEUEFULL"),
    (asyncio.BrokenBarrierError, "EBROKENBARRIER"),
    (asyncio.SendfileNotAvailableError, "ESENDFILEUNAVAIL"),
    (ssl.SSLError, "ETLS"),
    (TimeoutError, "ETIMEDOUT"),
]
if hasattr(asyncio, "QueueShutDown"):  # new in 3.13
    _BY_CLASS.insert(0, (asyncio.QueueShutDown, "EQUEUESHUTDOWN"))

# OSError subclasses asyncio raises without an errno.
_OS_CLASSES: list[tuple[type, str]] = [
    (ConnectionRefusedError, "ECONNREFUSED"),
    (ConnectionResetError, "ECONNRESET"),
    (ConnectionAbortedError, "ECONNABORTED"),
    (BrokenPipeError, "EPIPE"),
    (FileNotFoundError, "ENOENT"),
]


def err(exc: BaseException) -> str:
    """The name of `exc` in the core's error table (error.h without the WEFT_ prefix)."""
    if isinstance(exc, ValueError) and isinstance(exc.__context__, asyncio.LimitOverrunError):
        return "ELIMITOVERRUN"  # StreamReader.readline turns the overrun into ValueError
    if isinstance(exc, BaseExceptionGroup):
        return "EGROUP[" + ",".join(err(e) for e in exc.exceptions) + "]"
    for cls, name in _BY_CLASS:
        if isinstance(exc, cls):
            return name
    if isinstance(exc, OSError):
        if exc.errno is not None:
            return _errno_name(exc.errno)
        for cls, name in _OS_CLASSES:
            if isinstance(exc, cls):
                return name
        return "EUNKNOWN"
    # asyncio raises RuntimeError or ValueError when an object is used in a state that
    # forbids the call (releasing an unlocked Lock, over-releasing a BoundedSemaphore,
    # task_done too often, spawning into a finished TaskGroup); the core answers
    # WEFT_EINVALIDSTATE for each of those.
    if isinstance(exc, (RuntimeError, ValueError)):
        return "EINVALIDSTATE"
    if isinstance(exc, EOFError):
        return "EEOF"
    return "EUNKNOWN"


class _Quoted(str):
    """A token q() made: it may hold spaces, inside its quotes."""


def q(value: str | bytes | None) -> str:
    """A string or bytes as one trace token: double-quoted, C-style escapes."""
    if value is None:
        return "none"
    if isinstance(value, str):
        value = value.encode("utf-8")
    out = ['"']
    for b in value:
        if b == 0x5C:
            out.append("\\\\")
        elif b == 0x22:
            out.append('\\"')
        elif b == 0x0A:
            out.append("\\n")
        elif b == 0x0D:
            out.append("\\r")
        elif b == 0x09:
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    out.append('"')
    return _Quoted("".join(out))


def _token(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, BaseException):
        return err(v)
    if isinstance(v, (bytes, bytearray)):
        return q(bytes(v))
    if isinstance(v, _Quoted):
        return v
    s = str(v)
    if not s or any(c.isspace() for c in s):
        raise ValueError(f"trace token {s!r} is empty or has a space: use q()")
    return s


_lines: list[str] = []


def emit(*tokens: object) -> None:
    """Records one event: the tokens joined by single spaces. Exceptions become their
    error name, bytes a quoted token, booleans true/false, None none."""
    _lines.append(" ".join(_token(t) for t in tokens))


_loop = "asyncio"


def loop_name() -> str:
    return _loop


def _loop_factory():
    if _loop == "weft":
        import weft
        return weft.new_event_loop
    return asyncio.new_event_loop


def run(main) -> None:
    """Runs `main()` on the loop named by --loop and prints the trace."""
    global _loop
    args = sys.argv[1:]
    if args[:1] == ["--loop"] and len(args) >= 2:
        _loop = args[1]
    if _loop not in ("asyncio", "weft"):
        sys.exit(f"unknown loop {_loop!r}: asyncio or weft")
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main())
    finally:
        sys.stdout.write("".join(line + "\n" for line in _lines))
        sys.stdout.flush()


def make_certs(directory: str) -> dict[str, str]:
    """Throwaway certificates made with the openssl command: a CA; `server`, for localhost
    and 127.0.0.1, signed by it; `wrong_host`, for wrong.example, signed by it; and
    `other_ca`, a CA nobody's certificates are signed by. Returns name -> path (the key of
    `x` is at path[`x`] with .crt replaced by .key)."""
    def sh(*cmd: str) -> None:
        subprocess.run(cmd, check=True, cwd=directory, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for ca in ("ca", "other_ca"):
        # Python 3.13's default context verifies strictly (VERIFY_X509_STRICT): the CA
        # needs critical basicConstraints and keyUsage, the leaf an authority key id.
        sh("openssl", "req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.crt",
           "-days", "2", "-subj", f"/CN=weft behaviour {ca}",
           "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    leaves = {"server": ("localhost", "DNS:localhost,IP:127.0.0.1"),
              "wrong_host": ("wrong.example", "DNS:wrong.example")}
    for name, (cn, san) in leaves.items():
        sh("openssl", "req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
           "-subj", f"/CN={cn}")
        with open(os.path.join(directory, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
        sh("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
           "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt")
    return {n: os.path.join(directory, f"{n}.crt")
            for n in ("ca", "other_ca", "server", "wrong_host")}
