"""The interactive console of ``python -m weft``: Python's REPL with top-level ``await``,
its code running on a weft loop.

The loop owns the main thread, so that Ctrl-C reaches it (and cancels the statement being
awaited) and signal handlers work as in a program; the console reads input on a second
thread and hands each statement to the loop."""

from __future__ import annotations

import ast
import asyncio
import code
import concurrent.futures
import inspect
import sys
import threading

from .policy import new_event_loop

__all__ = ["main"]


class AwaitingConsole(code.InteractiveConsole):
    """An InteractiveConsole whose statements may ``await``; each runs on ``loop``, the
    ones that await as a task of it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, namespace: dict) -> None:
        super().__init__(namespace)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.loop = loop
        self._task: asyncio.Task | None = None  # the statement being awaited, if any

    def runcode(self, code_object) -> None:
        outcome: concurrent.futures.Future = concurrent.futures.Future()
        self.loop.call_soon_threadsafe(self._start, code_object, outcome)
        try:
            try:
                outcome.result()
            except BaseException as exc:
                # The user's frames only: not the future's nor this module's.
                raise exc.with_traceback(self._from_console(exc.__traceback__)) from None
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()

    def _from_console(self, tb):
        """The tail of traceback ``tb`` that starts at the first frame of the user's input
        (all of it when there is none)."""
        entry = tb
        while entry is not None and entry.tb_frame.f_code.co_filename != self.filename:
            entry = entry.tb_next
        return entry if entry is not None else tb

    def _start(self, code_object, outcome: concurrent.futures.Future) -> None:
        """On the loop: runs the statement; one that awaits (compiled as a coroutine) goes
        on as a task whose end settles ``outcome``."""
        try:
            result = eval(code_object, self.locals)  # noqa: S307 - the user's own input
        except BaseException as exc:
            outcome.set_exception(exc)
            return
        if not inspect.iscoroutine(result):
            outcome.set_result(result)
            return
        self._task = task = self.loop.create_task(result)

        def settle(_):
            self._task = None
            if task.cancelled():
                outcome.set_exception(asyncio.CancelledError())
            elif task.exception() is not None:
                outcome.set_exception(task.exception())
            else:
                outcome.set_result(task.result())

        task.add_done_callback(settle)

    def interrupt(self) -> None:
        """On the loop, at Ctrl-C: cancels the statement being awaited, if any."""
        if self._task is not None:
            self._task.cancel()


def main() -> None:
    try:
        import readline  # noqa: F401 - line editing and history, where available
    except ImportError:
        pass
    import weft

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    namespace = {"__name__": "__console__", "__doc__": None, "asyncio": asyncio, "weft": weft}
    console = AwaitingConsole(loop, namespace)
    banner = (f"weft {weft.__version__} REPL on Python {sys.version} on {sys.platform}\n"
              'Use "await" directly instead of "asyncio.run()".\n'
              'Type "help", "copyright", "credits" or "license" for more information.')

    def read_eval_print() -> None:
        try:
            console.interact(banner=banner, exitmsg="exiting weft REPL...")
        finally:
            loop.call_soon_threadsafe(loop.stop)

    reader = threading.Thread(target=read_eval_print, name="weft REPL", daemon=True)
    reader.start()
    while True:
        try:
            loop.run_forever()
        except KeyboardInterrupt:
            console.interrupt()
            continue
        break
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
