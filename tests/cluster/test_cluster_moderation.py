"""Moderation in a cluster (real processes): a player's report saves footage on the worker that
simulates the system; the moderator console's API on a gateway lists it and replays it; mutes and
bans reach players whichever worker serves them; the API keeps its role checks."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from tests.cluster._support import add_worker, start_worker_and_gateway
from tests.cluster.test_cluster_ops import flying_bot, until
from tests.server.wsclient import capture, close_code

from callister.bots.client import Bot
from callister.cluster.procs import Cluster
from callister.store import open_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def cluster(cluster: Cluster) -> Cluster:
    """The conftest's cluster, without the rebalancer: the test places the systems itself."""
    cluster.env["CALLISTER_REBALANCE_S"] = "0"
    return cluster


async def test_reports_mutes_and_bans_across_workers(cluster: Cluster) -> None:
    await start_worker_and_gateway(cluster)
    g = cluster.procs["g1"]
    async with aiohttp.ClientSession() as http:
        victim = await flying_bot(http, cluster, "victim1")
        grief_a = await flying_bot(http, cluster, "griefa")
        home = f"infinity.{victim.system['x']}.{victim.system['y']}"  # type: ignore[index]
        await add_worker(cluster, "w2", workers=2)
        # the second griefer goes next door: a new system, placed on the emptier worker w2
        grief_b = await flying_bot(http, cluster, "griefb")
        await grief_b.send({"t": "jump", "ship": grief_b.ship, "to": grief_b.system["links"][0]})  # type: ignore[index]
        await until(lambda: grief_b.ship in cluster.health("w2")["ships"], 30, "b on w2", grief_b)
        assert {victim.ship, grief_a.ship} <= set(cluster.health("w1")["ships"])
        bots = [victim, grief_a, grief_b]

        # the victim reports; the footage comes from w1's recorder of the home system
        seen = capture(victim)
        await asyncio.gather(*(b.pump(1.0) for b in bots))
        await victim.send(
            {"t": "report", "kind": "player", "target": "griefa", "reason": "griefing",
             "text": "<b>rammed</b> me"}
        )  # fmt: skip
        await until(lambda: any(m["t"] == "reported" for m in seen), 15, "reported", victim)

        register = {"name": "modcl1", "password": "bot-password-123"}
        async with http.post(f"{g.url}/api/register", json=register) as resp:
            token = (await resp.json())["token"]
        player_auth = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{g.url}/api/mod/queue", headers=player_auth) as resp:
            assert resp.status == 403  # a player is not a moderator
        async with http.get(f"{g.url}/api/mod/queue") as resp:
            assert resp.status == 401
        store = open_store(cluster.db)
        try:
            store.accounts.set_role("modcl1", "moderator")
        finally:
            store.db.close()
        auth = player_auth

        async with http.get(f"{g.url}/api/mod/queue", headers=auth) as resp:
            assert resp.status == 200
            queue = await resp.json()
        (report,) = queue["reports"]
        assert report["text"] == "<b>rammed</b> me"
        assert report["target_account"] == grief_a.welcome["account"]
        assert home in queue["zones"]
        async with http.get(f"{g.url}/api/mod/footage/{report['footage_id']}", headers=auth) as r:
            meta = await r.json()
        assert meta["end_tick"] > meta["start_tick"] and "griefa" in meta["names"].values()
        async with http.post(f"{g.url}/api/mod/footage", json={"zone": home}, headers=auth) as r:
            assert r.status == 201, await r.text()
        body = {"zone": "infinity.9999.9999"}
        async with http.post(f"{g.url}/api/mod/footage", json=body, headers=auth) as r:
            assert r.status == 404 and "no worker" in (await r.json())["error"]["message"]
        async with http.post(f"{g.url}/api/mod/detect", headers=auth) as r:
            assert r.status == 200 and "findings" in await r.json()

        # mutes and bans reach the griefers on both workers (whichever worker does the action,
        # one of the two is served by the other)
        for griefer in (grief_a, grief_b):
            account = griefer.welcome["account"]
            body = {"action": "mute", "account": account, "reason": "spam", "hours": 1}
            async with http.post(f"{g.url}/api/mod/actions", json=body, headers=auth) as r:
                assert r.status == 200, await r.text()
            await griefer.send({"t": "crew_chat", "ship": griefer.ship, "text": "cheap credits"})
            await until(
                lambda g=griefer: g.stats.error_codes.get("MUTED", 0) >= 1, 10, "muted", griefer
            )
            async with http.get(f"{g.url}/api/mod/accounts/{account}", headers=auth) as r:
                assert (await r.json())["muted"] is True
        body = {"action": "mute", "account": 987654321, "reason": "spam"}
        async with http.post(f"{g.url}/api/mod/actions", json=body, headers=auth) as r:
            assert r.status == 404  # the worker's answer, relayed
        for griefer in (grief_a, grief_b):
            body = {"action": "ban", "account": griefer.welcome["account"], "reason": "griefing"}
            async with http.post(f"{g.url}/api/mod/actions", json=body, headers=auth) as r:
                assert r.status == 200, await r.text()
                assert (await r.json())["closed"] is True
            assert griefer.ws is not None
            assert await close_code(griefer.ws) == 4403
        # the one admission check on the gateway: no login, no socket, no HTTP with the token
        login = {"name": "griefa", "password": "bot-password-123"}
        async with http.post(f"{g.url}/api/login", json=login) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "BANNED"
        again = Bot(g.url, g.ws, "griefa", session=http)
        again.token = grief_a.token
        with pytest.raises(RuntimeError, match="4403"):
            await again.connect()
        async with http.get(
            f"{g.url}/api/me", headers={"Authorization": f"Bearer {grief_a.token}"}
        ) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "BANNED"
        # staff act in role order, whichever worker does the action: a moderator on an admin
        async with http.post(f"{g.url}/api/register", json={**register, "name": "admcl1"}) as r:
            assert r.status == 201
        store = open_store(cluster.db)
        try:
            admin_id = store.accounts.set_role("admcl1", "admin").id
        finally:
            store.db.close()
        body = {"action": "ban", "account": admin_id, "reason": "coup"}
        async with http.post(f"{g.url}/api/mod/actions", json=body, headers=auth) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "OUTRANKED"
        async with http.get(f"{g.url}/api/mod/audit", headers=auth) as r:
            actions = sorted(a["action"] for a in (await r.json())["audit"])
        assert actions.count("ban") == 2 and actions.count("mute") == 2
        assert not victim.ws.closed  # type: ignore[union-attr]
        await victim.close()
