"""python -m weft: asyncio's REPL (top-level await) running on weft's loop."""

import runpy

import weft

if __name__ == "__main__":
    # asyncio's REPL creates its loop through the policy: install weft's first, then run
    # the REPL module as `python -m asyncio` would.
    weft.install()
    runpy.run_module("asyncio.__main__", run_name="__main__", alter_sys=True)
