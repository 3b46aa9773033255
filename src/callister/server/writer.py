"""All database work runs on one writer thread, in submission order, never on the event loop.

One thread keeps writes ordered (a logout's save cannot overtake an earlier checkpoint) and keeps
SQLite to a single writer. Callers on the loop `await writer.call(fn, ...)`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoreWriter:
    def __init__(self, name: str = "callister-store") -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.pending = 0

    def submit(
        self, fn: Callable[..., T], *args: Any, log_errors: bool = True
    ) -> concurrent.futures.Future[T]:
        """Queue `fn(*args)`; failures are visible on the returned future and, for
        fire-and-forget writes (`log_errors`), logged since nobody else will see them."""
        self.pending += 1
        future = self._pool.submit(fn, *args)

        def done(f: concurrent.futures.Future[T]) -> None:
            self.pending -= 1
            if log_errors and not f.cancelled() and f.exception() is not None:
                log.error("store call %s failed: %r", getattr(fn, "__name__", fn), f.exception())

        future.add_done_callback(done)
        return future

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the writer thread; its exception is raised here, for the caller
        to handle (a refused purchase is an answer, not a server fault)."""
        return await asyncio.wrap_future(self.submit(fn, *args, log_errors=False))

    def close(self) -> None:
        """Finish every queued write, then stop the thread."""
        self._pool.shutdown(wait=True)
