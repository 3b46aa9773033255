"""A worker process whose event loop stalls past its leases' safety margin (CPU starvation,
here SIGSTOP) pauses its zone and resumes it once a renewal confirms: no "lease lost", no
reload, the player's ship flies on (issue 17: the cause of the hand-off p99)."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import aiohttp
import pytest
from tests.cluster._support import NatsServer, ready
from tests.cluster.test_cluster_ops import flying_bot, until

from callister.cluster.procs import Cluster
from callister.store import open_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TTL, SAFETY = 6.0, 2.0  # the worker's lease TTL; the keeper's default safety is TTL/3


def stall_after_a_renewal(procs: Cluster, name: str, seconds: float) -> None:
    """Wait for the worker to confirm a lease renewal, then freeze it (SIGSTOP) for `seconds`."""
    key = "callister_lease_renewed_total"
    before = procs.metrics(name)[key]
    deadline = time.monotonic() + 30.0
    while procs.metrics(name)[key] <= before:
        assert time.monotonic() < deadline, "no lease renewal"
        time.sleep(0.01)
    pid = procs.procs[name].popen.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)  # the stall being simulated (not a wait for a result)
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_a_stalled_worker_pauses_its_zone_and_resumes_it(
    cluster: Cluster,
    nats_server: NatsServer,
    pg_url: str,
) -> None:
    cluster.start("worker", "w1", {"CALLISTER_LEASE_TTL_S": str(TTL)})
    cluster.start("gateway", "g1")
    await ready(cluster, "w1", "g1")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, cluster.wait_workers, "g1", 1)
    async with aiohttp.ClientSession() as http:
        bot = await flying_bot(http, cluster, "stall1")
        zone = f"infinity.{bot.system['x']}.{bot.system['y']}"  # type: ignore[index]
        assert zone in cluster.health("w1")["zones"]

        def fence() -> int | None:
            with open_store(pg_url) as store:
                return store.cluster.fence_token(zone)

        await until(lambda: fence() is not None, 30, "w1's fencing token", bot)
        token = fence()
        # frozen from just after a renewal until past the safety margin (TTL - SAFETY after
        # it), short of the lease's expiry (TTL after it): time left for the renewal to land
        stall = TTL - SAFETY + 0.5
        await loop.run_in_executor(None, stall_after_a_renewal, cluster, "w1", stall)

        def settled() -> bool:
            m = cluster.metrics("w1")
            return (
                m.get("callister_lease_resumed_total", 0) >= 1
                or m.get("callister_lease_lost_total", 0) >= 1
            )

        await until(settled, 30, "the zone resumed (or was lost)", bot)
        metrics = cluster.metrics("w1")
        assert metrics["callister_lease_lost_total"] == 0, "the stall cost the zone"
        assert metrics["callister_lease_paused_total"] >= 1
        assert zone in cluster.health("w1")["zones"]
        assert fence() == token  # the same lease: not re-acquired, not reloaded
        snaps = bot.stats.snapshots
        await until(lambda: bot.stats.snapshots > snaps + 5, 15, "snapshots go on", bot)
        assert "zone dropped" not in cluster.procs["w1"].log.read_text()
        await bot.close()
