"""run_in_executor, the default executor and its shutdown, and name resolution through it.

The default executor is Python's concurrent.futures.ThreadPoolExecutor, as asyncio's: its
futures, thread names and shutdown semantics are what asyncio programs and tests expect,
and the core's executor runs C work items, not Python callables."""

from __future__ import annotations

import concurrent.futures
import threading
from asyncio import futures

__all__ = ["ExecutorMixin"]


class ExecutorMixin:
    _default_executor = None
    _executor_shutdown_called = False

    def _check_default_executor(self) -> None:
        if self._executor_shutdown_called:
            raise RuntimeError("Executor shutdown has been called")

    def run_in_executor(self, executor, func, *args):
        self._check_closed()
        if self._debug:
            self._check_callback(func, "run_in_executor")
        if executor is None:
            self._check_default_executor()
            executor = self._default_executor
            if executor is None:
                executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="asyncio")
                self._default_executor = executor
        return futures.wrap_future(executor.submit(func, *args), loop=self)

    def set_default_executor(self, executor):
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError("executor must be ThreadPoolExecutor instance")
        self._default_executor = executor

    async def shutdown_default_executor(self, timeout=None):
        """Shuts the default executor down from a helper thread, so the loop keeps running
        while the executor's threads finish their work."""
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is None:
            return
        done = self.create_future()
        thread = threading.Thread(target=self._shutdown_executor, args=(executor, done))
        thread.start()
        try:
            await done
        finally:
            thread.join(timeout)

    def _shutdown_executor(self, executor, done) -> None:
        try:
            executor.shutdown(wait=True)
        except Exception as exc:
            if not self.is_closed():
                self.call_soon_threadsafe(_set_exception_unless_done, done, exc)
        else:
            if not self.is_closed():
                self.call_soon_threadsafe(_set_result_unless_done, done, None)


def _set_result_unless_done(fut, result) -> None:
    if not fut.done():
        fut.set_result(result)


def _set_exception_unless_done(fut, exc) -> None:
    if not fut.done():
        fut.set_exception(exc)
