"""Waiting on conditions, never on the clock: the tests' one way to wait for something to happen.

A test that sleeps for a guessed time and then asserts fails on a busy CI machine the day the
guess is too short. `until` polls a condition and returns as soon as it holds; its deadline
only bounds a hang, so it is generous and never a speed claim.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

DEADLINE_S = 30.0  # long enough for a loaded 2-core machine; a hang still fails


async def until(
    cond: Callable[[], Any | Awaitable[Any]],
    what: str = "the condition",
    *,
    timeout: float = DEADLINE_S,
    every: float = 0.05,
) -> Any:
    """Poll `cond` (a plain or async callable) until it returns something truthy, and return
    that; AssertionError naming `what` if it has not after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:g} s")
        await asyncio.sleep(every)
