"""Two asyncio patterns the runtime's parts share: stopping a background task, and building a
thing once however many callers ask for it at the same time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

K = TypeVar("K")
T = TypeVar("T")


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (None: nothing runs) and wait until it has stopped; its cancellation is
    expected and swallowed, any other error it ends with is raised."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def single_flight(
    pending: dict[K, asyncio.Future[T]], key: K, build: Callable[[], Awaitable[T]]
) -> T:
    """What `build()` returns, built once for all who ask for `key` while it is being built:
    the first caller builds, the others wait for its result (or its error) shielded, so a
    waiter cancelled does not cancel the build. `pending` holds the builds under way."""
    loading = pending.get(key)
    if loading is not None:
        return await asyncio.shield(loading)
    future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    pending[key] = future
    try:
        built = await build()
        future.set_result(built)
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: the caller gets it raised; no "never retrieved" warning
        raise
    finally:
        del pending[key]
    return built
