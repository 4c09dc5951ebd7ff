"""Core error codes as the exceptions Python raises for the same system errors: the numbers
come from the core (weft_err_system), and must be the ones the errno and socket modules
give on this platform."""

import errno
import os
import pathlib
import re
import socket

import pytest

from weft._core import error_from_code, ffi, lib, os_errno

ERROR_H = pathlib.Path(__file__).resolve().parents[3] / "core" / "include" / "weft" / "error.h"


def _codes(low, high):
    """(name, code) of every row of the core's table (WEFT_ERRNO_MAP) with high >= code > low."""
    rows = re.findall(r"^\s*XX\((\w+),\s*(-?\d+),", ERROR_H.read_text(), re.M)
    return [(name, int(code)) for name, code in rows if high >= int(code) > low]


@pytest.mark.parametrize("name,code", _codes(-2000, -1))
def test_system_errors_carry_the_platform_errno(name, code):
    expected = getattr(errno, "ECANCELED" if name == "EOPCANCELED" else name)
    exc = error_from_code(code)
    assert type(exc) is type(OSError(expected, "x"))  # the subclass the errno selects
    assert exc.errno == expected == os_errno(code)
    assert exc.strerror == os.strerror(expected)  # the C library's words, as Python's own


@pytest.mark.parametrize("name,code", _codes(-3000, -2000))
def test_resolution_errors_carry_the_platform_eai_number(name, code):
    exc = error_from_code(code)
    assert type(exc) is socket.gaierror
    if hasattr(socket, name):
        assert exc.errno == getattr(socket, name)
        assert exc.strerror == ffi.string(lib.gai_strerror(exc.errno)).decode()
    assert os_errno(code) is None


def test_asyncio_errors_have_no_system_number():
    assert lib.weft_err_system(lib.WEFT_ECANCELLED) == 0
    assert os_errno(lib.WEFT_ECLOSED) is None
    assert type(error_from_code(lib.WEFT_ECLOSED)) is RuntimeError
