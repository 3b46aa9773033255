"""Missions and followed sessions across cluster workers, with real processes (and, where a
test must slow one step of a hand-off down, a real worker in the test's own process: the same
`Worker`, on the same NATS and PostgreSQL, through a real gateway).

- A jump that hands the ship to another worker counts for the pilot's missions there: the
  tutorial's "jump" step completes, is paid once, and the client hears it as after a jump
  within one process; both when the ship lands before the session attaches and when the
  session's attach wins the race.
- A session that follows its ship but whose hand-off is late (past `FOLLOW_WAIT_S`) falls back
  to reading where the ship is, and still gets in once, in the right place.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.cluster._support import NatsServer, add_worker, ready, start_worker_and_gateway
from tests.cluster.test_cluster_ops import until
from tests.server.wsclient import capture

import callister.cluster.world as cluster_world
import callister.missions.progress as prog
from callister.bots.client import Bot
from callister.cluster.procs import Cluster, free_port
from callister.cluster.subjects import WORKER
from callister.cluster.worker import Worker
from callister.server.settings import load_settings
from callister.store import Store, open_store

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORLD = "infinity"
JUMP_REWARDS = 250 + 500  # the tutorial's jump step, then its end (docs/missions.md)


@contextlib.asynccontextmanager
async def in_process_worker(
    cluster: Cluster, nats_server: NatsServer, name: str, **env_extra: str
) -> AsyncIterator[Worker]:
    """Worker `name` in this process (the cluster's settings, the worker's nkey), until the
    gateway g1 routes to it as well; stopped (checkpointed, leases released) at the end."""
    env = {**cluster.env, "CALLISTER_NATS_NKEY": str(nats_server.keys[WORKER]), **env_extra}
    settings = load_settings(
        env=env, db=cluster.db, nats_url=cluster.nats_url, node_name=name, port=free_port()
    )
    worker = Worker(settings)
    await worker.start()
    try:
        workers = 1 + sum(1 for p in cluster.procs.values() if p.role == "worker")
        await asyncio.get_running_loop().run_in_executor(None, cluster.wait_workers, "g1", workers)
        yield worker
    finally:
        await worker.stop()


async def wait_for_doc(store: Store, account: int, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (doc := store.missions.get(account, WORLD)) is None:
        assert time.monotonic() < deadline, "the mission progress was never saved"
        await asyncio.sleep(0.1)  # (a worker may run in this process: never block its loop)
    return doc


def kinds_of(seen: list[dict[str, Any]]) -> list[str]:
    return [m["t"] if m["t"] != "event" else f"event {m.get('kind')}" for m in seen]


class Jumper:
    """A player whose tutorial has only its last `left` steps to go (the last: jump to a
    neighbouring system), in the home system (undocked if `undock`), every JSON message it
    receives in `seen`."""

    def __init__(self, bot: Bot, account: int, steps: int, seen: list[dict[str, Any]]) -> None:
        self.bot, self.account, self.steps, self.seen = bot, account, steps, seen

    @classmethod
    async def start(
        cls,
        cluster: Cluster,
        http: aiohttp.ClientSession,
        store: Store,
        name: str,
        *,
        left: int = 1,
        undock: bool = True,
    ) -> Jumper:
        g = cluster.procs["g1"]
        # a first player's tutorial, as the world begins it (its plan: the home system's)
        seeder = Bot(g.url, g.ws, f"{name}seed", session=http, jump_every_s=0)
        await seeder.register()
        await seeder.connect()
        seeded = store.accounts.by_name(f"{name}seed")
        assert seeded is not None
        doc = await wait_for_doc(store, seeded.id)
        await seeder.close()
        bot = Bot(g.url, g.ws, name, session=http, jump_every_s=0)
        await bot.register()
        account = store.accounts.by_name(name)
        assert account is not None
        steps = prog.Progress.from_dict(doc).tutorial.steps  # type: ignore[union-attr]
        assert steps[-1] == "jump", steps
        doc["tutorial"]["step"] = len(steps) - left  # every step done but the last `left`
        store.missions.save(account.id, WORLD, doc)
        seen = capture(bot)
        await bot.connect()
        await until(lambda: any(m["t"] == "objectives" for m in seen), 20, "objectives", bot)
        objectives = next(m for m in seen if m["t"] == "objectives")
        assert objectives["tutorial"]["step"] == steps[-left], objectives
        if undock:
            await bot.send({"t": "undock", "ship": bot.ship})
            await until(lambda: not bot.docked, 10, "undocked", bot)
        await until(lambda: "credits" in bot.status, 10, "a status", bot)
        return cls(bot, account.id, len(steps), seen)

    async def jump_next_door(self, *, wait: bool = True) -> str:
        """Jump to the first linked system; return its zone once the client heard it arrived."""
        bot = self.bot
        assert bot.system is not None
        home = (bot.system["x"], bot.system["y"])
        to = bot.system["links"][0]
        await bot.send({"t": "jump", "ship": bot.ship, "to": to})
        if wait:
            await until(lambda: bot.stats.jumps >= 1, 30, "the arrived event", bot)
            assert (bot.system["x"], bot.system["y"]) != home
        return f"{WORLD}.{to[0]}.{to[1]}"

    def tutorial(self) -> list[dict[str, Any]]:
        return [m for m in self.seen if m["t"] == "tutorial"]

    async def counted_once(self, store: Store, credits: int) -> None:
        """What a jump within one process tells the client: the step's `tutorial` message
        (finished, the jump's and the end's rewards) and its two receipts, once."""
        bot, account = self.bot, self.account
        await until(lambda: bool(self.tutorial()), 20, "the tutorial's last step done", bot)
        done = self.tutorial()[-1]
        assert done["finished"] and done["step"] is None and done["reward"] == JUMP_REWARDS
        await until(lambda: bot.status["credits"] == credits + JUMP_REWARDS, 10, "paid", bot)
        kinds = kinds_of(self.seen)
        assert kinds.index("system") < kinds.index("event arrived") < kinds.index("tutorial")
        for _ in range(10):  # counted once: nothing more comes
            await bot.pump(0.2)
        assert len(self.tutorial()) == 1, self.tutorial()
        rids = [m["rid"] for m in self.seen if m["t"] == "receipt"]
        assert sorted(rids) == [f"tutorial:{account}:done", f"tutorial:{account}:jump"], rids
        assert bot.status["credits"] == credits + JUMP_REWARDS
        saved = store.missions.get(account, WORLD)
        assert saved is not None and saved["tutorial"]["step"] == self.steps
        assert saved["tutorial"]["finished_at"] > 0


@pytest.fixture
def store(pg_url: str) -> Any:
    opened = open_store(pg_url)
    yield opened
    opened.db.close()


async def test_a_jump_to_another_worker_completes_the_tutorials_jump_step(
    cluster: Cluster, store: Store
) -> None:
    """The ship lands there before its session attaches (the usual order): the jump counts once
    the session is there to hear what it completes."""
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        jumper = await Jumper.start(cluster, http, store, "jumper1")
        await add_worker(cluster, "w2", workers=2)  # the emptier: the next system goes there
        credits = jumper.bot.status["credits"]
        jumper.seen.clear()
        zone = await jumper.jump_next_door()
        assert zone in cluster.health("w2")["zones"], "the jump should cross to w2"
        await jumper.counted_once(store, credits)
        await jumper.bot.close()


async def test_an_attach_that_wins_the_race_still_counts_the_jump_once(
    cluster: Cluster, nats_server: NatsServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The arrival is committed, then its landing is held back past the followed session's
    wait: the session reads the ship from the store and enters first; the hand-off then finds
    the pilot there, and the jump counts for its missions from that path, once."""
    monkeypatch.setattr(cluster_world, "FOLLOW_WAIT_S", 0.3)
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        jumper = await Jumper.start(cluster, http, store, "racer1")
        async with in_process_worker(cluster, nats_server, "w2") as w2:
            committed = asyncio.Event()
            arrive = w2.arrival_db

            async def arrive_then_wait(fn: Any, *args: Any, **kwargs: Any) -> Any:
                result = await arrive(fn, *args, **kwargs)
                committed.set()
                await asyncio.sleep(1.5)  # the attach (0.3 s wait) goes first
                return result

            landed: list[int] = []
            land = w2.world._land

            async def spy_land(handoff: Any, *args: Any) -> None:
                landed.append(handoff.ship)
                await land(handoff, *args)

            monkeypatch.setattr(w2, "arrival_db", arrive_then_wait)
            monkeypatch.setattr(w2.world, "_land", spy_land)
            credits = jumper.bot.status["credits"]
            jumper.seen.clear()
            zone = await jumper.jump_next_door()
            assert zone in w2.world.zones, "the jump should cross to the worker in this process"
            assert committed.is_set()
            await jumper.counted_once(store, credits)
            assert landed == [], "the session was to enter first: the race path, not _land"
            assert w2.world.zones[zone].zone.has_ship(jumper.bot.ship)
            assert [p.account_id for p in w2.world.pilots.values()] == [jumper.account]
            await jumper.bot.close()


async def test_a_followed_session_whose_hand_off_is_late_falls_back_to_the_store(
    cluster: Cluster, nats_server: NatsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session follows its ship to the other worker, but the hand-off lands only after
    `FOLLOW_WAIT_S`: `enter` gives up waiting, reads where the ship is (in transit to this
    worker), waits for it there, and the player is in the new system once, told as after any
    jump (one `system`, `event arrived`, no second welcome), with one ship."""
    monkeypatch.setattr(cluster_world, "FOLLOW_WAIT_S", 0.3)
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        g = cluster.procs["g1"]
        bot = Bot(g.url, g.ws, "lagger1", session=http, jump_every_s=0)
        await bot.register()
        await bot.connect()
        await bot.send({"t": "undock", "ship": bot.ship})
        await until(lambda: not bot.docked, 10, "undocked", bot)
        ship, welcome = bot.ship, bot.welcome
        async with in_process_worker(cluster, nats_server, "w2") as w2:
            world = w2.world
            apply = world.apply_handoff

            async def late(handoff: Any) -> bool:
                await asyncio.sleep(1.5)  # well past the followed session's wait
                return await apply(handoff)

            looked: list[int] = []
            find = world._find_ship

            async def spy_find(account_id: int) -> None:
                looked.append(account_id)
                await find(account_id)

            monkeypatch.setattr(world, "apply_handoff", late)
            monkeypatch.setattr(world, "_find_ship", spy_find)
            seen = capture(bot)
            assert bot.system is not None
            home = (bot.system["x"], bot.system["y"])
            started = time.monotonic()
            await bot.send({"t": "jump", "ship": bot.ship, "to": bot.system["links"][0]})
            await until(lambda: bot.stats.jumps >= 1, 30, "the arrived event", bot)
            assert time.monotonic() - started > 1.5  # (the landing was late indeed)
            assert (bot.system["x"], bot.system["y"]) != home
            zone = f"{WORLD}.{bot.system['x']}.{bot.system['y']}"
            assert zone in world.zones, "the jump should cross to the worker in this process"
            account = welcome["account"]
            assert looked == [account], "enter should have fallen back to the store"
            assert not world._expected and not world._landed  # nothing left behind
            for _ in range(5):
                await bot.pump(0.2)
            kinds = kinds_of(seen)
            assert "welcome" not in kinds and "content" not in kinds, kinds
            assert kinds.count("system") == 1 and kinds.count("event arrived") == 1, kinds
            assert kinds.index("system") < kinds.index("event arrived"), kinds
            assert bot.welcome is welcome and bot.ship == ship
            # one ship, here, flown by the one pilot; none left on w1
            assert world.zones[zone].zone.has_ship(ship)
            assert [p.account_id for p in world.pilots.values()] == [account]
            assert world.pilots[account].connected and world.pilots[account].zone_key == zone
            assert ship not in cluster.health("w1")["ships"]
            snaps = bot.stats.snapshots
            await until(lambda: bot.stats.snapshots > snaps + 5, 10, "snapshots go on", bot)
            assert not bot.ws.closed  # type: ignore[union-attr]
            await bot.close()


async def test_a_change_in_flight_on_the_source_is_saved_before_the_destination_loads_it(
    cluster: Cluster, nats_server: NatsServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The player accepts a contract (the tutorial's "contract" step, paid through the ledger,
    slowed here) and jumps at once to another worker: the departure waits for that change to
    be saved, so the destination loads it and the jump completes the tutorial there. (Without
    the wait the source forgot the pilot mid-change: the step was lost, and the jump then only
    counted as done early.)"""
    cluster.start("gateway", "g1")
    await ready(cluster, "g1")
    async with aiohttp.ClientSession() as http, in_process_worker(cluster, nats_server, "w1") as w1:
        jumper = await Jumper.start(cluster, http, store, "hasty1", left=2, undock=False)
        await add_worker(cluster, "w2", workers=2)  # the emptier: the next system goes there
        bot, account = jumper.bot, jumper.account
        await bot.send({"t": "missions", "ship": bot.ship})
        await until(lambda: any(m["t"] == "missions" for m in jumper.seen), 10, "a board", bot)
        board = next(m for m in jumper.seen if m["t"] == "missions")
        take = next(c for c in board["contracts"] if c["tier"] == 0 and c["collateral"] <= 2000)
        desk = w1.world.missions
        commit = desk.commit
        slowed: list[str] = []

        async def slow_commit(request: Any) -> None:
            if not slowed:  # the accept's first ledger request: until the ship has jumped
                slowed.append(request.key)
                pilot = w1.world.pilots[account]
                deadline = time.monotonic() + 15
                while pilot.zone_key is not None and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                assert pilot.zone_key is None, "the ship did not jump"
                # the hand-off on its way: long enough for it to depart (and the pilot to leave
                # w1), unless it waits for this change
                deadline = time.monotonic() + 5
                while account in w1.world.pilots and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
            await commit(request)

        monkeypatch.setattr(desk, "commit", slow_commit)
        await bot.send({"t": "accept", "ship": bot.ship, "contract": take["id"]})
        await until(lambda: bool(slowed), 10, "the accept under way", bot)
        await bot.send({"t": "undock", "ship": bot.ship})
        await until(lambda: not bot.docked, 10, "undocked", bot)
        zone = await jumper.jump_next_door()
        assert zone in cluster.health("w2")["zones"], "the jump should cross to w2"
        assert not any(m["t"] == "error" for m in jumper.seen), jumper.seen
        await until(
            lambda: any(t["finished"] for t in jumper.tutorial()), 20, "the tutorial done", bot
        )
        steps = [t["step"] for t in jumper.tutorial()]
        assert steps == ["jump", None], steps  # the contract step (on w1), the jump (on w2)
        assert jumper.tutorial()[-1]["reward"] == JUMP_REWARDS
        rids = {m["rid"] for m in jumper.seen if m["t"] == "receipt"}
        assert {f"tutorial:{account}:{s}" for s in ("contract", "jump", "done")} <= rids, rids
        saved = store.missions.get(account, WORLD)
        assert saved is not None and saved["tutorial"]["step"] == jumper.steps
        assert [a["contract"]["id"] for a in saved["missions"]["active"]] == [take["id"]]
        await bot.close()


async def test_a_ship_landed_with_nobody_following_counts_its_jump_and_a_later_login_is_fresh(
    cluster: Cluster, nats_server: NatsServer, store: Store
) -> None:
    """The player closes the game while the jump charges: the ship lands on the other worker
    with no session, lingers for the reconnect grace and logs out. The jump still counts for
    its missions (saved, unheard), and the player's next login there is a fresh one (welcome,
    no `event arrived` left over from the landing)."""
    await start_worker_and_gateway(cluster)
    async with aiohttp.ClientSession() as http:
        jumper = await Jumper.start(cluster, http, store, "leaver1")
        grace = {"CALLISTER_RECONNECT_GRACE_S": "2"}
        async with in_process_worker(cluster, nats_server, "w2", **grace) as w2:
            bot, account = jumper.bot, jumper.account
            zone = await jumper.jump_next_door(wait=False)
            await until(
                lambda: any(m.get("kind") == "jump_charging" for m in jumper.seen),
                10,
                "the jump charging",
                bot,
            )
            await bot.close()
            await until(lambda: zone in w2.world.zones, 20, "the target zone on w2")
            await until(lambda: account in w2.world.pilots, 20, "the ship landed on w2")
            assert not w2.world.pilots[account].connected
            await until(lambda: account not in w2.world.pilots, 20, "logged out after the grace")
            saved = store.missions.get(account, WORLD)
            assert saved is not None and saved["tutorial"]["step"] == jumper.steps  # counted
            g = cluster.procs["g1"]
            again = Bot(g.url, g.ws, "leaver1", session=http, jump_every_s=0)
            await again.register()
            seen = capture(again)
            await again.connect()
            assert again.system is not None
            assert f"{WORLD}.{again.system['x']}.{again.system['y']}" == zone
            for _ in range(10):
                await again.pump(0.2)
            kinds = kinds_of(seen)
            assert kinds.count("welcome") == 1 and "event arrived" not in kinds, kinds
            objectives = next(m for m in seen if m["t"] == "objectives")
            assert objectives["tutorial"]["finished"], objectives
            assert [p.account_id for p in w2.world.pilots.values()] == [account]
            await again.close()
