"""A game master's teleport in a cluster (issue 18): the ship goes to a system another worker
owns through the jump's hand-off (outbox row, fences), and arrives where the GM said."""

from __future__ import annotations

import math

import aiohttp
import pytest
from tests.cluster._support import add_worker, start_worker_and_gateway
from tests.cluster.test_cluster_ops import until

from callister.bots.client import Bot, GmRefused
from callister.cluster.procs import Cluster
from callister.store import open_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def test_gm_teleport_hands_the_ship_to_the_worker_that_owns_the_target(
    cluster: Cluster,
    pg_url: str,
) -> None:
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        g = cluster.procs["g1"]
        gm = Bot(g.url, g.ws, "gmroot", session=http, jump_every_s=0)
        player = Bot(g.url, g.ws, "pilot7", session=http, jump_every_s=0)
        for bot in (gm, player):
            await bot.register()
        store = open_store(pg_url)
        try:
            store.accounts.set_role("gmroot", "admin")
        finally:
            store.db.close()
        for bot in (gm, player):
            await bot.connect()
        # a player is no game master in the public world, through a gateway either
        with pytest.raises(GmRefused) as refused:
            await player.gm("teleport", ship=gm.ship, x=3000.0, y=0.0)
        assert refused.value.code == "FORBIDDEN"
        await add_worker(cluster, "w2", workers=2)  # the emptier worker: the next system goes there
        assert player.system is not None
        home = (player.system["x"], player.system["y"])
        target = player.system["links"][0]
        done = await gm.gm("teleport", ship=player.ship, sector=target, x=2500.0, y=-1500.0)
        assert done["to"] == [str(target[0]), str(target[1])]
        await until(
            lambda: (
                player.system is not None
                and (player.system["x"], player.system["y"]) != home
                and math.dist(player.pos, (2500.0, -1500.0)) < 1.0
            ),
            30,
            "arrived where the GM said",
            player,
        )
        zone = f"infinity.{target[0]}.{target[1]}"
        assert zone in cluster.health("w2")["zones"], "the teleport should cross to w2"
        assert player.ship in cluster.health("w2")["ships"]
        # the GM's session is on w1 now; w2 flies the ship: its stored record is not changed
        # under it (w2's checkpoint would undo that), the GM is told to go there
        with pytest.raises(GmRefused) as refused:
            await gm.gm("set", ship=player.ship, fuel=1.0)
        assert refused.value.code == "NOT_AVAILABLE" and "worker" in refused.value.message
        for bot in (gm, player):
            await bot.close()
