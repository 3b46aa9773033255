"""Cluster operations with real processes: a worker partitioned from NATS stops simulating and
another takes over (its late writes refused by the database), a zone moved live from the admin
CLI, and /metrics on every process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import aiohttp
import psycopg
import pytest
from tests.cluster._support import NatsServer, TcpProxy, add_worker, ready, start_worker_and_gateway
from tests.command_line import run_callister

from callister.bots.client import Bot
from callister.cluster import fencing
from callister.cluster.procs import Cluster
from callister.cluster.subjects import ADMIN
from callister.sim import ShipState
from callister.store import Fenced, open_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def raw(pg_url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(pg_url.split("?")[0], autocommit=True)
    conn.execute(f'SET search_path TO "{pg_url.split("schema=")[1]}"')
    return conn


def zone_cli(
    nats_server: NatsServer, *args: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """`python -m callister zone ...` as an operator runs it: over NATS, with the admin's nkey."""
    nkey = str(nats_server.keys[ADMIN])
    return run_callister("zone", *args, "--nats", nats_server.url, "--nkey", nkey, timeout=timeout)


async def until(cond: Any, timeout: float, what: str, bot: Bot | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:.0f} s: {what}")
        if bot is not None:
            await bot.pump(0.2)
        else:
            await asyncio.sleep(0.2)


async def flying_bot(http: aiohttp.ClientSession, cluster: Cluster, name: str) -> Bot:
    g = cluster.procs["g1"]
    bot = Bot(g.url, g.ws, name, session=http, jump_every_s=0)
    await bot.register()
    await bot.connect()
    await bot.send({"t": "undock", "ship": bot.ship})
    await until(lambda: not bot.docked, 10, "undocked", bot)
    await bot.send({"t": "input", "ship": bot.ship, "thrust": 0.3, "turn": 0.3, "brake": False})
    return bot


async def test_partitioned_worker_stops_and_its_late_writes_are_refused(
    cluster: Cluster,
    nats_server: NatsServer,
    pg_url: str,
) -> None:
    proxy = TcpProxy(nats_server.port)
    await proxy.start()
    try:
        cluster.start("worker", "w1", nats_url=proxy.url)  # w1 reaches NATS through the proxy
        cluster.start("gateway", "g1")
        await ready(cluster, "w1", "g1")
        await asyncio.get_running_loop().run_in_executor(None, cluster.wait_workers, "g1", 1)
        async with aiohttp.ClientSession() as http:
            bot = await flying_bot(http, cluster, "part1")
            zone = f"infinity.{bot.system['x']}.{bot.system['y']}"  # type: ignore[index]
            assert zone in cluster.health("w1")["zones"]
            cluster.start("worker", "w2")
            await ready(cluster, "w2")

            def fence() -> int | None:
                with open_store(pg_url) as store:
                    return store.cluster.fence_token(zone)

            await until(lambda: fence() is not None, 30, "w1's fencing token", bot)
            old_token = fence()

            proxy.partition()
            cut = time.monotonic()
            # w1 stops simulating the zone before its lease can expire ...
            await until(lambda: zone not in cluster.health("w1")["zones"], 8, "w1 stops", bot)
            stopped_after = time.monotonic() - cut
            # ... w2 takes it over from the last checkpoint, and the player's session resumes
            await until(lambda: zone in cluster.health("w2")["zones"], 15, "w2 takes over", bot)
            taken_after = time.monotonic() - cut
            snaps = bot.stats.snapshots
            await until(lambda: bot.stats.snapshots > snaps + 5, 10, "snapshots resume", bot)
            assert not bot.ws.closed  # type: ignore[union-attr]  # a pause, not a disconnect

            proxy.heal()
            await bot.pump(4.0)  # w1 is back on the bus; w2 keeps the zone
            assert zone in cluster.health("w2")["zones"]
            assert zone not in cluster.health("w1")["zones"]
            with open_store(pg_url) as store:
                token = store.cluster.fence_token(zone)
                assert token is not None and token > old_token
                owner = store.db.scalar("SELECT owner FROM cluster_fences WHERE zone = ?", (zone,))
                assert owner == "w2"
                ship_token = store.db.scalar(
                    "SELECT token FROM cluster_ships WHERE ship_id = ?", (bot.ship,)
                )
                assert ship_token == token  # written by w2 since
                # a late write of w1's, with the token it held, is refused by the database
                late = ShipState(bot.ship, 0, "shuttle", 0.0, 0.0, 0.0, 0.0, 0.0, None)
                with pytest.raises(Fenced):
                    fencing.checkpoint(
                        store.cluster, zone, old_token, "w1", tick=10**9, ships=[late]
                    )
                x = store.db.scalar(
                    "SELECT state FROM cluster_ships WHERE ship_id = ?", (bot.ship,)
                )
                assert x is not None and json.loads(x).get("x") != 0.0
            print(
                f"w1 stopped {stopped_after:.1f} s after the cut; "
                f"w2 took over {taken_after:.1f} s after it"
            )
            await bot.close()
    finally:
        await proxy.close()


async def test_zone_moves_live_from_the_cli_and_every_process_has_metrics(
    cluster: Cluster,
    nats_server: NatsServer,
) -> None:
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        bot = await flying_bot(http, cluster, "mover1")
        ship = bot.ship
        zone = f"infinity.{bot.system['x']}.{bot.system['y']}"  # type: ignore[index]
        await add_worker(cluster, "w2", workers=2)
        await bot.pump(1.0)

        listed = await asyncio.to_thread(zone_cli, nats_server, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert zone in json.loads(listed.stdout)["workers"]["w1"]["zones"]

        started = time.monotonic()
        moved = await asyncio.to_thread(
            zone_cli, nats_server, "move", zone, "--to", "w2", "--json", timeout=60
        )
        assert moved.returncode == 0, moved.stderr + moved.stdout
        answer = json.loads(moved.stdout)
        assert answer["ok"] and answer["to"] == "w2", answer
        snaps = bot.stats.snapshots
        await until(lambda: bot.stats.snapshots > snaps + 5, 10, "snapshots after the move", bot)
        pause = time.monotonic() - started
        assert zone in cluster.health("w2")["zones"]
        assert zone not in cluster.health("w1")["zones"]
        assert bot.ship == ship and not bot.ws.closed  # type: ignore[union-attr]
        assert ship in cluster.health("w2")["ships"]
        print(f"zone move took {answer['ms']:.0f} ms at the worker; the player saw {pause:.1f} s")

        # a bad move is refused with a clear message, not a crash
        bad = await asyncio.to_thread(zone_cli, nats_server, "move", "infinity.9999.9999")
        assert bad.returncode != 0 and "no worker owns" in bad.stderr

        for name in ("w1", "w2", "g1"):
            metrics = cluster.metrics(name)
            assert "callister_bus_connected" in metrics, name
            assert metrics["callister_bus_connected"] == 1.0
        assert cluster.metrics("w2")["callister_leases_held"] >= 1
        assert cluster.metrics("g1")["callister_relays"] >= 1
        await bot.close()


async def test_crew_follows_its_ship_to_another_worker(cluster: Cluster) -> None:
    from tests.server.test_npcs import hire
    from tests.server.wsclient import record

    cluster.env["CALLISTER_STARTING_CREDITS"] = "5000"
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        g = cluster.procs["g1"]
        bot = Bot(g.url, g.ws, "captain1", session=http, jump_every_s=0)
        await bot.register()
        seen = record(bot, "crew", "chat")
        await bot.connect()
        cand = await hire(bot, seen, "gunner")
        await add_worker(cluster, "w2", workers=2)  # the emptier worker: the next system goes there
        home = (bot.system["x"], bot.system["y"])  # type: ignore[index]
        target = bot.system["links"][0]  # type: ignore[index]
        await bot.send({"t": "undock", "ship": bot.ship})
        await until(lambda: not bot.docked, 10, "undocked", bot)
        seen["crew"].clear()
        await bot.send({"t": "jump", "ship": bot.ship, "to": target})
        await until(
            lambda: bot.system is not None and (bot.system["x"], bot.system["y"]) != home,
            30,
            "arrived in the next system",
            bot,
        )
        zone = f"infinity.{bot.system['x']}.{bot.system['y']}"  # type: ignore[index]
        assert zone in cluster.health("w2")["zones"], "the jump should cross to w2"
        # the client hears it arrived, as after a jump within one process
        await until(lambda: bot.stats.jumps >= 1, 10, "the arrived event", bot)
        assert bot.ship in cluster.health("w2")["ships"]
        await until(lambda: any(m["crew"] for m in seen["crew"]), 10, "crew message", bot)
        assert [c["name"] for c in seen["crew"][-1]["crew"]] == [cand["name"]]
        await bot.close()


async def test_a_jump_to_another_worker_looks_like_a_jump_in_one_process(
    cluster: Cluster,
) -> None:
    """The session follows its ship to the other worker: the client hears the new `system`,
    then `event arrived`, and snapshots go on; no second `welcome` or `content` (it has them)."""
    from tests.server.wsclient import capture

    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        bot = await flying_bot(http, cluster, "follower1")
        ship, welcome = bot.ship, bot.welcome
        await add_worker(cluster, "w2", workers=2)  # the emptier worker: the next system goes there
        home = (bot.system["x"], bot.system["y"])  # type: ignore[index]
        seen = capture(bot)
        await bot.send({"t": "jump", "ship": bot.ship, "to": bot.system["links"][0]})  # type: ignore[index]
        await until(lambda: bot.stats.jumps >= 1, 30, "the arrived event", bot)
        zone = f"infinity.{bot.system['x']}.{bot.system['y']}"  # type: ignore[index]
        assert (bot.system["x"], bot.system["y"]) != home  # type: ignore[index]
        assert zone in cluster.health("w2")["zones"], "the jump should cross to w2"
        assert ship in cluster.health("w2")["ships"] and bot.ship == ship
        kinds = [m["t"] if m["t"] != "event" else f"event {m.get('kind')}" for m in seen]
        assert "welcome" not in kinds and "content" not in kinds, kinds
        assert kinds.index("system") < kinds.index("event arrived"), kinds
        assert bot.welcome is welcome  # not replaced
        snaps = bot.stats.snapshots
        await until(lambda: bot.stats.snapshots > snaps + 5, 10, "snapshots in the new zone", bot)
        assert not bot.ws.closed  # type: ignore[union-attr]
        # back to w1: the other way round, the same
        seen.clear()
        await bot.send({"t": "jump", "ship": bot.ship, "to": list(home)})
        await until(lambda: bot.stats.jumps >= 2, 30, "arrived back home", bot)
        assert (bot.system["x"], bot.system["y"]) == home  # type: ignore[index]
        kinds = [m["t"] for m in seen]
        assert "welcome" not in kinds and "content" not in kinds, kinds
        assert ship in cluster.health("w1")["ships"]
        await bot.close()


async def test_zones_rebalance_onto_a_new_worker(cluster: Cluster) -> None:
    """Three busy systems on one worker; a second worker joins and takes some of them live,
    while the players stay connected."""
    cluster.env["CALLISTER_REBALANCE_S"] = "1"
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        bots = []
        for i in range(3):
            bot = await flying_bot(http, cluster, f"spread{i}")
            if i:  # the others go to different systems next door
                await bot.send({"t": "jump", "ship": bot.ship, "to": bot.system["links"][i - 1]})  # type: ignore[index]
            bots.append(bot)
        await until(
            lambda: len(cluster.health("w1")["zones"]) >= 3,
            30,
            "three systems on w1",
            bots[-1],
        )
        cluster.start("worker", "w2")
        await ready(cluster, "w2")

        async def pump_all() -> None:
            await asyncio.gather(*(b.pump(0.3) for b in bots))

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not cluster.health("w2")["zones"]:
            await pump_all()
        assert cluster.health("w2")["zones"], "nothing moved to the new worker"
        for _ in range(10):
            await pump_all()
        w1, w2 = cluster.health("w1"), cluster.health("w2")
        assert not set(w1["zones"]) & set(w2["zones"])
        assert sorted(w1["ships"] + w2["ships"]) == sorted(b.ship for b in bots)
        assert all(not b.ws.closed for b in bots)  # type: ignore[union-attr]
        for b in bots:
            await b.close()


async def test_moderators_spectate_and_fly_marked_ships_through_a_gateway(
    cluster: Cluster,
) -> None:
    """The hello's moderator options reach the worker's session logic through the relay."""
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        player = await flying_bot(http, cluster, "Flyer1")
        g = cluster.procs["g1"]
        staff = []
        for name in ("Marshal1", "Eye1"):
            bot = Bot(g.url, g.ws, name, session=http, jump_every_s=0, track_view=True)
            await bot.register()
            staff.append(bot)
        store = open_store(cluster.db)
        try:
            for bot in staff:
                store.accounts.set_role(bot.name, "moderator")
        finally:
            store.db.close()
        marshal, eye = staff
        marshal.hello_extra = {"moderator_ship": True}
        await marshal.connect()
        await until(lambda: marshal.ship in player.ents, 10, "the marshal is seen", player)
        assert player.ents[marshal.ship].get("mod") is True
        sector = [player.system["x"], player.system["y"]]  # type: ignore[index]
        eye.hello_extra = {"spectate": True, "follow": str(player.ship), "sector": sector}
        await eye.connect()
        assert eye.ship == 0
        await until(lambda: eye.stats.snapshots > 5, 10, "the spectator's snapshots", eye)
        await until(lambda: player.ship in eye.positions(), 10, "the player in view", eye)
        await player.pump(1.0)
        assert eye.welcome["account"] not in player.ents  # the spectator is nowhere in the zone
        # a player may not spectate: refused by the worker, relayed as is
        sneak = Bot(g.url, g.ws, "Sneak1", session=http, jump_every_s=0)
        await sneak.register()
        sneak.hello_extra = {"spectate": True}
        with pytest.raises(RuntimeError, match="4405"):
            await sneak.connect()
        for bot in (player, marshal, eye):
            await bot.close()


async def test_death_far_from_home_respawns_on_the_home_worker(
    cluster: Cluster,
    pg_url: str,
) -> None:
    from tests.server.test_combat import fire_until_destroyed

    cluster.env.update(CALLISTER_PVP="true", CALLISTER_DAMAGE_MULTIPLIER="10")
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        a = await flying_bot(http, cluster, "hunter1")
        b = await flying_bot(http, cluster, "prey1")
        home = (a.system["x"], a.system["y"])  # type: ignore[index]
        await add_worker(cluster, "w2", workers=2)
        target = a.system["links"][0]  # type: ignore[index]
        for bot in (a, b):
            await bot.send({"t": "jump", "ship": bot.ship, "to": target})
        await until(
            lambda: {a.ship, b.ship} <= set(cluster.health("w2")["ships"]),
            40,
            "both next door, on w2",
            a,
        )
        await until(lambda: bool(a.status) and bool(b.status), 10, "statuses", b)
        old = b.ship
        await fire_until_destroyed(a, b, shots=80)
        await until(lambda: b.ship != old, 20, "the prey's new ship", b)
        await until(
            lambda: b.system is not None and (b.system["x"], b.system["y"]) == home,
            20,
            "back home",
            b,
        )
        await until(lambda: b.ship in cluster.health("w1")["ships"], 10, "new ship on w1", b)
        assert b.ship not in cluster.health("w2")["ships"]
        assert old not in cluster.health("w1")["ships"] + cluster.health("w2")["ships"]
        await b.pump(1.0)
        with raw(pg_url) as conn:
            rows = dict(
                conn.execute(
                    "SELECT ship_id, zone FROM cluster_ships WHERE ship_id = ANY(%s)",
                    ([old, b.ship],),
                ).fetchall()
            )
        assert rows == {b.ship: f"infinity.{home[0]}.{home[1]}"}, rows
        for bot in (a, b):
            await bot.close()
