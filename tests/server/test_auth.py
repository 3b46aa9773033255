"""The login throttle and the bounded password pool, without a server."""

from __future__ import annotations

import asyncio

import pytest

from callister.server.auth import Passwords, PasswordsBusy, Throttle


def test_reserve_counts_before_the_work_and_refuses_beyond_the_limit() -> None:
    throttle = Throttle(3)
    taken = [throttle.reserve("addr:a", "name:x", now=100.0 + i) for i in range(3)]
    assert not any(a.refused for a in taken)
    refused = throttle.reserve("addr:a", "name:x", now=110.0)
    # the oldest attempt (t=100) leaves the 60 s window at t=160
    assert refused.refused and refused.retry_after == pytest.approx(50.0)
    # another name from the same address is refused too; nothing was counted for it
    assert throttle.reserve("addr:a", "name:y", now=110.0).refused
    assert not throttle.reserve("addr:b", "name:y", now=110.0).refused
    # a success is un-counted: the key has room again
    throttle.forget(taken[0])
    assert not throttle.reserve("addr:a", "name:x", now=111.0).refused
    assert throttle.reserve("addr:a", "name:x", now=111.5).refused
    # forgetting a refused attempt changes nothing
    throttle.forget(refused)
    assert throttle.reserve("addr:a", now=112.0).refused
    # the window slides
    assert not throttle.reserve("addr:a", "name:x", now=161.5).refused


async def test_password_pool_hashes_off_the_loop_and_refuses_when_its_queue_is_full() -> None:
    passwords = Passwords(1, 8192, threads=1, queue_max=1)
    try:
        stored = await passwords.hash_async("right-password")
        assert await passwords.verify_async(stored, "right-password")
        assert not await passwords.verify_async(stored, "wrong-password")
        assert not await passwords.verify_async(None, "anything")  # unknown name: dummy check
        assert not await passwords.verify_async("not-a-hash", "anything")
        # one running and one waiting fill it: the third is refused at once, not queued
        jobs = [asyncio.ensure_future(passwords.verify_async(stored, "x")) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(PasswordsBusy) as busy:
            await passwords.verify_async(stored, "x")
        assert busy.value.retry_after >= 1.0 and "retry in" in str(busy.value)
        assert await asyncio.gather(*jobs) == [False, False]
        assert passwords.pending == 0
    finally:
        passwords.close()
