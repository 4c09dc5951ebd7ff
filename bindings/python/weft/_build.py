"""cffi build script for weft's extension module ``weft._weft`` (out-of-line API mode).

The module links the C core statically. The core's static library is found, in order:
in ``$WEFT_CORE_LIB`` (a path to libweft.a, as the project's CMake build passes it), or
built here with CMake from the source tree this package lives in (``../../``), under
``build/core``. libuv and OpenSSL come from the system (Debian: libuv1-dev, libssl-dev).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

import cffi

HERE = pathlib.Path(__file__).resolve().parent
PACKAGE_ROOT = HERE.parent
SOURCE_ROOT = PACKAGE_ROOT.parent.parent
INCLUDE_DIR = SOURCE_ROOT / "core" / "include"


def error_names() -> list[str]:
    """The codes of the core's error table (WEFT_ERRNO_MAP in weft/error.h), in its order."""
    text = (INCLUDE_DIR / "weft" / "error.h").read_text()
    return ["WEFT_" + name for name in re.findall(r"^\s*XX\((\w+),", text, re.M)]


def cdef_text() -> str:
    """The declarations cffi is given: weft/_cdef.h, plus every error code of the core's
    table as an integer constant (lib.WEFT_ECANCELLED...), read from the header at build
    time so the binding holds no copy of the numbers."""
    constants = "".join(f"#define {name} ...\n" for name in error_names())
    return (HERE / "_cdef.h").read_text() + constants


def core_library() -> pathlib.Path:
    """Path to libweft.a, building it with CMake when no build was handed to us."""
    given = os.environ.get("WEFT_CORE_LIB")
    if given:
        return pathlib.Path(given)
    build_dir = PACKAGE_ROOT / "build" / "core"
    configure = [
        "cmake", "-S", str(SOURCE_ROOT), "-B", str(build_dir),
        "-DCMAKE_BUILD_TYPE=Release",
        "-DWEFT_BUILD_TESTS=OFF", "-DWEFT_BUILD_BENCH=OFF",
        "-DWEFT_BUILD_EXAMPLES=OFF", "-DWEFT_BUILD_PYTHON=OFF",
    ]
    subprocess.run(configure, check=True)
    subprocess.run(["cmake", "--build", str(build_dir), "--target", "weft_static",
                    "--parallel"], check=True)
    return build_dir / "core" / "libweft.a"


def make_builder() -> cffi.FFI:
    """The FFI builder setuptools' cffi_modules hook and CMake both use."""
    builder = cffi.FFI()
    builder.cdef(cdef_text())
    # The binding's own C lives in the same shared object: weft._loopcore (weft/_loopcore.c,
    # _transportcore.c, _sockcore.c), which Python registers with one call to
    # _weft_loopcore_install and whose _weft_tp_* callbacks it hands to the core, and the TLS
    # helper (_sslhelper.c).
    # They use CPython's full C API, hence py_limited_api=False.
    native = (HERE / "_native.h").read_text()
    marker = "/* cffi's declarations"
    builder.cdef(native[native.index(marker):native.rindex("#endif")])
    # The C library's text for a getaddrinfo error, the one socket.gaierror carries.
    builder.cdef("const char *gai_strerror(int errcode);")
    core = str(core_library())
    builder.set_source(
        "weft._weft",
        '#include <netdb.h>\n#include <weft.h>\n#include "_native.h"\n',
        # setuptools refuses absolute source paths; builds run from the package's root.
        sources=[os.path.relpath(HERE / name)
                 for name in ("_loopcore.c", "_transportcore.c", "_sockcore.c", "_sslhelper.c")],
        py_limited_api=False,
        include_dirs=[str(INCLUDE_DIR), str(HERE)],
        extra_objects=[core],
        # Relink when only the core changed, recompile when the shared header did
        # (setuptools checks depends).
        depends=[core, os.path.relpath(HERE / "_native.h")],
        libraries=["uv", "ssl", "crypto", "pthread", "m"],
        extra_compile_args=["-std=c11", "-O2"],
    )
    return builder


ffibuilder = make_builder()

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(PACKAGE_ROOT / "build" / "cffi"), verbose=True)
