"""weft: asyncio's event loop as a C core on libuv, as a drop-in asyncio event loop.

    import weft
    weft.run(main())                       # or: weft.install(); asyncio.run(main())
    with asyncio.Runner(loop_factory=weft.new_event_loop) as runner: ...
"""

from __future__ import annotations

from ._core import ffi as _ffi, lib as _lib
from .loop import EventLoop
from .policy import EventLoopPolicy, install, new_event_loop, run

__all__ = ["EventLoop", "EventLoopPolicy", "install", "new_event_loop", "run", "__version__",
           "core_version"]

__version__ = "0.2.0"


def core_version() -> str:
    """The C core's version string ("major.minor.patch")."""
    return _ffi.string(_lib.weft_version_string()).decode()
