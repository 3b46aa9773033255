"""The cluster as real processes: 2 gateways, 3 workers, a private nats-server (JetStream) and the
real PostgreSQL. Bots fly and jump between systems on different workers while a trader trades;
a worker and then a gateway are killed with SIGKILL. Afterwards no ship is lost or duplicated,
no acknowledged transaction is lost, and every player is still connected or has resumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp
import psycopg
import pytest
from tests.cluster._support import cluster_env  # noqa: F401  (tests/web imports it from here)
from tests.postgres import PG_URL as PG  # noqa: F401  (tests/web imports it from here)
from tests.server.wsclient import pump_until
from tests.waiting import until

from callister.bots.client import Bot
from callister.cluster.procs import Cluster, Proc
from callister.content import load_content
from callister.economy import Economy
from callister.store import open_store

FLYERS = 6

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class Pilot:
    """A bot that, like a player behind a load balancer, reconnects to the next gateway when its
    socket drops, and measures the longest time it went without a snapshot."""

    def __init__(self, bot: Bot, gateways: list[Proc]) -> None:
        self.bot, self.gateways = bot, gateways
        self.index = 0
        self.ship = 0
        self.ships: set[int] = set()
        self.reconnects = 0
        self.last_snapshot = time.monotonic()
        self.max_gap = 0.0
        self.frozen_from = 0.0  # gaps are measured after this moment (set once it is flying)
        self.moves = 0  # systems entered

    async def connect(self) -> None:
        gateway = self.gateways[self.index % len(self.gateways)]
        self.bot.http_url, self.bot.ws_url = gateway.url, gateway.ws
        await self.bot.connect()
        self.ships.add(self.bot.ship)
        self.ship = self.bot.ship

    async def fly(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if self.bot.ws is None or self.bot.ws.closed:
                    await self.connect()
                self.bot.stats.failure = None
                await self.bot.fly(5.0)  # (a jump is due within each window)
                if self.bot.stats.failure:
                    raise ConnectionError(self.bot.stats.failure)
            except (ConnectionError, aiohttp.ClientError, OSError, RuntimeError, TimeoutError):
                self.reconnects += 1
                self.index += 1
                with contextlib.suppress(Exception):
                    await self.bot.close()
                await asyncio.sleep(0.3)

    def watch(self) -> None:
        now = time.monotonic()
        system = self.bot.system
        where = (system["x"], system["y"]) if system else None
        if where is not None and where != getattr(self, "_where", where):
            self.moves += 1  # arrived in another system (same or other worker)
        if where is not None:
            self._where = where
        if self.bot.stats.snapshots != getattr(self, "_seen", -1):
            self._seen = self.bot.stats.snapshots
            self.last_snapshot = now
        elif self.frozen_from and now > self.frozen_from:
            self.max_gap = max(self.max_gap, now - max(self.last_snapshot, self.frozen_from))


async def trade_through(trader: Pilot, told: dict[str, Any], stop: asyncio.Event) -> None:
    """Buy and sell one unit at a time at home, through every kill. A request left unanswered
    by a kill is retried with the same rid (answered from the ledger if it had committed)."""
    bot = trader.bot
    pending: str | None = None
    side = "buy"
    while not stop.is_set():
        try:
            if bot.ws is None or bot.ws.closed:
                await trader.connect()
                bot.market = None
            if bot.market is None:
                await bot.send({"t": "market", "ship": bot.ship})
                await pump_until([bot], lambda: bot.market is not None, timeout=5)
            assert bot.market is not None
            item = min(bot.market["items"], key=lambda i: i["buy"])["key"]
            rid = pending or bot.next_rid()
            pending = rid
            receipt, refused = await bot.request(
                {"t": "trade", "rid": rid, "item": item, "qty": 1, "side": side}, timeout=4
            )
            if receipt is not None:
                told[rid] = receipt
                side = "sell" if side == "buy" else "buy"
            pending = None if receipt is not None or refused else pending
            await bot.pump(0.2)
        except (
            AssertionError,  # pump_until's timeout: no market while the zone moves
            ConnectionError,
            aiohttp.ClientError,
            OSError,
            RuntimeError,
            TimeoutError,
        ):
            if bot.ws is not None and bot.ws.closed:
                trader.reconnects += 1
                trader.index += 1
            await asyncio.sleep(0.3)


def owner_of(cluster: Cluster, gateway: str, zone: str) -> str | None:
    for worker, zones in cluster.health(gateway).get("zones", {}).items():
        if zone in zones:
            return str(worker)
    return None


def live_ships(cluster: Cluster) -> dict[int, list[str]]:
    """Player ship id -> the workers simulating it right now."""
    out: dict[int, list[str]] = {}
    for name, proc in cluster.procs.items():
        if proc.role == "worker" and proc.alive():
            for ship in cluster.health(name).get("ships", []):
                out.setdefault(int(ship), []).append(name)
    return out


async def test_sigkill_each_role_loses_nothing(cluster: Cluster, pg_url: str) -> None:
    loop = asyncio.get_running_loop()
    for name in ("w1", "w2", "w3"):
        cluster.start("worker", name)
    for name in ("g1", "g2"):
        cluster.start("gateway", name)
    for name in ("w1", "w2", "w3", "g1", "g2"):
        await loop.run_in_executor(None, cluster.wait_healthy, name, 120.0)
    await loop.run_in_executor(None, cluster.wait_workers, "g1", 3)
    await loop.run_in_executor(None, cluster.wait_workers, "g2", 3)
    g1, g2 = cluster.procs["g1"], cluster.procs["g2"]

    stop = asyncio.Event()
    told: dict[str, Any] = {}
    async with aiohttp.ClientSession() as http:
        pilots = []
        for i in range(FLYERS + 1):
            first = [g1, g2] if i % 2 == 0 else [g2, g1]
            bot = Bot(first[0].url, first[0].ws, f"cl{i}", session=http, jump_every_s=3.0)
            await bot.register()
            pilot = Pilot(bot, first)
            await pilot.connect()
            pilots.append(pilot)
        trader, flyers = pilots[0], pilots[1:]
        home = f"infinity.{trader.bot.system['x']}.{trader.bot.system['y']}"  # type: ignore[index]
        tasks = [loop.create_task(p.fly(stop)) for p in flyers]
        tasks.append(loop.create_task(trade_through(trader, told, stop)))

        async def watch() -> None:
            while not stop.is_set():
                for p in pilots:
                    p.watch()
                await asyncio.sleep(0.1)

        watcher = loop.create_task(watch())
        try:
            # flying and jumping until hand-offs between workers have happened
            def handoffs_applied() -> float:
                return sum(
                    cluster.metrics(n).get("callister_handoffs_applied_total", 0.0)
                    for n in ("w1", "w2", "w3")
                )

            await until(
                lambda: handoffs_applied() >= 3 and len(told) >= 5,
                "bots jumped between workers (3 hand-offs) and the trader traded",
                timeout=60,
                every=1.0,
            )
            handoffs = handoffs_applied()
            moves_before = sum(p.moves for p in flyers)
            for p in pilots:
                p.frozen_from = time.monotonic()

            # 1. SIGKILL the worker that owns the home system (the trader and new players)
            victim = owner_of(cluster, "g1", home)
            assert victim is not None, cluster.health("g1")
            told_before_kill = len(told)
            cluster.kill(victim)
            new_owner = await until(
                lambda: (
                    (owner := owner_of(cluster, "g1", home)) not in (None, victim)
                    and len(told) > told_before_kill
                    and owner
                ),
                "another worker took over the home system and the trader resumed",
                timeout=60,
                every=0.5,
            )
            taken_over = time.monotonic()
            await until(
                lambda: all(p.last_snapshot > taken_over for p in pilots),
                "every player sees snapshots again after the takeover",
                timeout=60,
            )

            # 2. SIGKILL a gateway: its clients reconnect to the other one and resume
            on_g1 = [p for p in pilots if p.gateways[p.index % 2] is g1]
            cluster.kill("g1")
            await until(
                lambda: (
                    all(p.reconnects >= 1 for p in on_g1)
                    and sum(p.moves for p in flyers) > moves_before
                ),
                "g1's players reconnected to g2, and jumps after the kills",
                timeout=60,
            )
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            watcher.cancel()

        # every player is connected (to the surviving gateway) with the same ship as before
        for p in pilots:
            if p.bot.ws is None or p.bot.ws.closed:
                await p.connect()
            assert p.ships == {p.ship}, f"{p.bot.name} changed ship: {p.ships}"
        moves_after = sum(p.moves for p in flyers)
        # the pause each player saw is printed, not asserted: how long a takeover takes on a
        # loaded machine is a figure (docs/deploy.md), not a pass/fail bound of this test
        worst = max(p.max_gap for p in pilots)
        print(  # the figures, for the closing note (pytest -s)
            f"killed {victim} (home now on {new_owner}) and g1; trades told {len(told)}; "
            f"systems entered {moves_before} before the kills, {moves_after} in all; "
            f"hand-offs >= {handoffs:g} before the kills; "
            f"reconnects {[p.reconnects for p in pilots]}; "
            f"worst snapshot gap {worst:.1f} s; gaps {[round(p.max_gap, 1) for p in pilots]}"
        )

        # no ship simulated twice, none lost: each player's ship is on exactly one worker
        ships = {p.ship for p in pilots}
        where = await until(
            lambda: (w := live_ships(cluster)) and all(len(w.get(s, [])) == 1 for s in ships) and w,
            "each player's ship simulated on exactly one worker",
        )
        assert all(len(v) == 1 for v in where.values()), where
        assert all(len(where.get(s, [])) == 1 for s in ships), (ships, where)
        for p in pilots:
            await p.bot.close()

    # the database agrees: one resident row per ship, every told trade in the ledger once
    with psycopg.connect(pg_url.split("?")[0], autocommit=True) as conn:
        schema = pg_url.split("schema=")[1]
        conn.execute(f'SET search_path TO "{schema}"')
        rows = conn.execute(
            "SELECT ship_id, zone, seq, arrived FROM cluster_ships WHERE ship_id = ANY(%s)",
            (list(ships),),
        ).fetchall()
        assert {r[0] for r in rows} == ships
        chars = conn.execute("SELECT ship_id, system_x, system_y FROM characters").fetchall()
        by_ship = {r[0]: f"infinity.{r[1]}.{r[2]}" for r in chars}
        for ship_id, zone, seq, arrived in rows:
            assert by_ship[ship_id] == zone, (ship_id, zone, by_ship[ship_id])
            assert arrived == seq or arrived == seq - 1
    store = open_store(pg_url)
    try:
        account = trader.bot.welcome["account"]
        for rid, receipt in told.items():
            txn = store.ledger.get_txn("infinity", f"trade:{account}:{rid}")
            assert txn is not None, f"told trade {rid} is missing"
            assert txn.id == receipt["txn"]
        audit = Economy(store, load_content(), "infinity").audit()
        assert audit["balanced"], audit["problems"]
    finally:
        store.db.close()
