"""The loop's exception-handler API, with asyncio's context dicts and asyncio's logger."""

from __future__ import annotations

import sys
import traceback
from asyncio import base_events
from typing import Any, Callable, Optional

__all__ = ["ExceptionHandlerMixin"]

Context = dict[str, Any]

# 3.12's asyncio runs a custom handler in the context of the failing task, future or handle
# (gh-96704); 3.11's runs it in the loop's.
_HANDLER_IN_ITS_CONTEXT = sys.version_info >= (3, 12)


def _context_of(context: Context):
    """The contextvars.Context a custom handler runs in for this report, or None: the
    task's, else the future's (a Task may be reported as 'future'), else the handle's."""
    thing = context.get("task")
    if thing is None:
        thing = context.get("future")
    if thing is None:
        thing = context.get("handle")
    get_context = getattr(thing, "get_context", None)
    ctx = get_context() if get_context is not None else None
    return ctx if hasattr(ctx, "run") else None


class ExceptionHandlerMixin:
    """set/get_exception_handler, default_exception_handler, call_exception_handler.

    Reports go to ``asyncio.base_events.logger`` looked up at call time (the 'asyncio'
    logger), so code and tests that watch or patch asyncio's logger see weft's reports."""

    _exception_handler: Optional[Callable[[Any, Context], object]] = None
    _current_handle: Any = None

    def get_exception_handler(self):
        return self._exception_handler

    def set_exception_handler(self, handler):
        if handler is not None and not callable(handler):
            raise TypeError(f"A callable object or None is expected, got {handler!r}")
        self._exception_handler = handler

    def default_exception_handler(self, context: Context) -> None:
        """Logs the context as asyncio's default handler does: the message, every other
        key but 'exception' on its own line, and the exception's traceback."""
        message = context.get("message") or "Unhandled exception in event loop"
        exception = context.get("exception")
        exc_info = (type(exception), exception, exception.__traceback__) if exception else False
        handle = self._current_handle
        if ("source_traceback" not in context and handle is not None
                and getattr(handle, "_source_traceback", None)):
            context["handle_traceback"] = handle._source_traceback
        lines = [message]
        for key in sorted(context):
            if key in ("message", "exception"):
                continue
            value = context[key]
            if key == "source_traceback":
                text = "".join(traceback.format_list(value)).rstrip()
                value = "Object created at (most recent call last):\n" + text
            elif key == "handle_traceback":
                text = "".join(traceback.format_list(value)).rstrip()
                value = "Handle created at (most recent call last):\n" + text
            else:
                value = repr(value)
            lines.append(f"{key}: {value}")
        base_events.logger.error("\n".join(lines), exc_info=exc_info)

    def call_exception_handler(self, context: Context) -> None:
        """Runs the installed handler (or the default one); a handler that fails is itself
        reported through the default handler, and never escapes."""
        handler = self._exception_handler
        if handler is None:
            try:
                self.default_exception_handler(context)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                base_events.logger.error("Exception in default exception handler", exc_info=True)
            return
        try:
            ctx = _context_of(context) if _HANDLER_IN_ITS_CONTEXT else None
            if ctx is not None:
                ctx.run(handler, self, context)
            else:
                handler(self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            try:
                self.default_exception_handler({
                    "message": "Unhandled error in exception handler",
                    "exception": exc,
                    "context": context,
                })
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException:
                base_events.logger.error(
                    "Exception in default exception handler while handling an unexpected "
                    "error in custom exception handler", exc_info=True)
