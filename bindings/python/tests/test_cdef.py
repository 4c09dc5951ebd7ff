"""The cffi declarations (weft/_cdef.h) against the C headers they are kept beside."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[3]
CDEF = ROOT / "bindings" / "python" / "weft" / "_cdef.h"
HEADERS = sorted((ROOT / "core" / "include").rglob("*.h"))


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("( ", "(").replace(" )", ")").strip()


def _header_prototypes() -> dict[str, str]:
    """Every WEFT_API function of the headers, by name: its prototype, normalized."""
    prototypes = {}
    for header in HEADERS:
        for match in re.finditer(r"WEFT_API\s+([^;]*?\b(weft_\w+)\s*\([^;]*?\))\s*;",
                                 header.read_text(), re.S):
            prototypes[match.group(2)] = _normalize(match.group(1))
    return prototypes


def _cdef_prototypes() -> dict[str, str]:
    text = re.sub(r"/\*.*?\*/", "", CDEF.read_text(), flags=re.S)
    return {m.group(2): _normalize(m.group(1))
            for m in re.finditer(r"^([^;#]*?\b(weft_\w+)\s*\([^;]*?\))\s*;", text, re.M | re.S)
            if not m.group(1).lstrip().startswith(("typedef", "extern"))}


def test_every_declared_function_matches_its_header():
    headers = _header_prototypes()
    declared = _cdef_prototypes()
    assert declared, "no declarations found in _cdef.h"
    for name, prototype in declared.items():
        assert name in headers, f"{name} is not in the C headers"
        assert prototype == headers[name], f"{name}: cdef and header differ"


def test_declared_functions_are_exported():
    exports = set((ROOT / "core" / "weft.exports").read_text().split())
    missing = set(_cdef_prototypes()) - exports
    assert not missing, f"not in core/weft.exports: {sorted(missing)}"


def test_error_constants_come_from_the_core_table():
    """Every code of WEFT_ERRNO_MAP is a constant of the extension, and the core names it so."""
    from weft._core import ffi, lib
    names = re.findall(r"^\s*XX\((\w+),", (ROOT / "core" / "include" / "weft" / "error.h")
                       .read_text(), re.M)
    assert len(names) > 80
    for name in names:
        code = getattr(lib, "WEFT_" + name)
        assert code < 0
        assert ffi.string(lib.weft_err_name(code)).decode() == "WEFT_" + name
