"""SIGKILL a real server process (a) in the middle of moving characters between worlds and
(b) in the middle of deleting a world. Afterwards every character is in exactly one world with
all its credits and cargo, every world's books balance, and an interrupted deletion finishes
when the server restarts. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from callister.bench.net import bench_env, free_port, start_server
from callister.bots.client import Bot
from callister.economy.audit import audit_books
from callister.store import Character, ItemMove, Posting, Store, WorldRecord, open_store

WORLDS = ("infinity", "w-a", "w-b")


def env(**extra: str) -> dict[str, str]:
    base = {"CALLISTER_HOME_SYSTEMS": "1", "CALLISTER_CHECKPOINT_INTERVAL_S": "0.5"}
    base.update(extra)
    return bench_env(base)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def world(name: str, seed: int) -> WorldRecord:
    return WorldRecord(name=name, seed=seed, owner=None, visibility="public", player_limit=0,
                       rules={})  # fmt: skip


def check_books(store: Store, worlds: tuple[str, ...], gone: int = 0) -> None:
    """Every world's books balance; `gone`: credits that went to a deleted world's ledger."""
    transfer = 0
    for w in worlds:
        audit = audit_books(store, w)  # what `callister admin ledger audit` checks
        assert audit["balanced"], (w, audit["problems"])
        transfer += store.ledger.balance(w, "transfer")
    assert transfer + gone == 0  # what left one world arrived in another


def check_players(store: Store, players: dict[int, int], worlds: tuple[str, ...]) -> None:
    for account_id, ship in players.items():
        homes = [w for w in worlds if store.characters.load(account_id, w) is not None]
        assert len(homes) == 1, (account_id, homes)
        credits = sum(store.ledger.balance(w, f"player:{account_id}") for w in worlds)
        iron = sum(store.ledger.holdings(w, f"ship:{ship}").get("iron", 0) for w in worlds)
        assert (credits, iron) == (2000, 5), (account_id, credits, iron)
        assert store.ledger.holdings(homes[0], f"ship:{ship}") == {"iron": 5}


async def setup_players(base: str, http: aiohttp.ClientSession, n: int) -> list[Bot]:
    bots = []
    for i in range(n):
        bot = Bot(base, base.replace("http", "ws") + "/ws", f"mover{i}", session=http,
                  jump_every_s=0)  # fmt: skip
        await bot.register()
        await bot.connect()
        await bot.close()
        bots.append(bot)
    return bots


@pytest.mark.slow
async def test_sigkill_during_moves_leaves_each_character_in_one_world(
    store_url: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(port, store_url, env(), tmp_path / "m0.log")
    store = open_store(store_url)
    rng = random.Random(5)
    try:
        for name, seed in (("w-a", 11), ("w-b", 12)):
            store.worlds.create(world(name, seed), None)
        async with aiohttp.ClientSession() as http:
            bots = await setup_players(base, http, 6)
            players: dict[int, int] = {}
            for bot in bots:
                account_id, ship = int(bot.welcome["account"]), bot.ship
                players[account_id] = ship
                store.ledger.commit("infinity", f"seed:{ship}", "mine",
                                    moves=[ItemMove("iron", 5, None, f"ship:{ship}")])  # fmt: skip
            kill(server)  # the server caches the registry: restart so it sees w-a and w-b
            moves_done = 0
            for round_ in range(8):
                server = start_server(port, store_url, env(), tmp_path / f"m{round_ + 1}.log")

                async def mover(bot: Bot) -> None:
                    nonlocal moves_done
                    headers = {"Authorization": f"Bearer {bot.token}"}
                    account_id = int(bot.welcome["account"])
                    while True:
                        here = next(w for w in WORLDS
                                    if store.characters.load(account_id, w))  # fmt: skip
                        there = rng.choice([w for w in WORLDS if w != here])
                        try:
                            url = f"{base}/api/worlds/{there}/move"
                            body = {"from": here}
                            async with http.post(url, json=body, headers=headers) as r:
                                if r.status == 200:
                                    moves_done += 1
                        except aiohttp.ClientError:
                            return

                tasks = [asyncio.create_task(mover(b)) for b in bots]
                await asyncio.sleep(rng.uniform(0.2, 1.5))
                kill(server)  # SIGKILL, at a random moment among the moves
                await asyncio.gather(*tasks, return_exceptions=True)
                check_players(store, players, WORLDS)
                check_books(store, WORLDS)
            assert moves_done >= 8  # the loop really moved characters between the kills
    finally:
        if server.poll() is None:
            kill(server)
        store.db.close()


@pytest.mark.slow
async def test_sigkill_during_world_deletion_resumes_on_restart(
    store_url: str, tmp_path: Path
) -> None:
    port = free_port()
    store = open_store(store_url)
    store.worlds.create(world("infinity", 1), None)
    store.worlds.create(world("keep", 3), None)
    store.worlds.create(world("doomed", 4), None)
    admin = store.accounts.create("Root", "x", "admin")
    players: dict[int, int] = {}
    for i in range(4):
        a = store.accounts.create(f"dweller{i}", "x")
        ship = 900_000 + i
        players[a.id] = ship
        for w in ("doomed", "keep"):
            store.characters.save(Character(
                account_id=a.id, world=w, ship_id=ship + (0 if w == "doomed" else 50),
                hull="shuttle",
                system_x=0, system_y=0, x=0.0, y=0.0, vx=0.0, vy=0.0, angle=0.0, docked_at=None,
                home_x=0, home_y=0, home_station=0, extra={}))  # fmt: skip
        store.ledger.commit("doomed", f"open:{a.id}", "open",
                            postings=[Posting("mint", -2000), Posting(f"player:{a.id}", 2000)],
                            moves=[ItemMove("iron", 5, None, f"ship:{ship}")])  # fmt: skip
    # lots of rows, so the deletion takes many batches
    for chunk in range(20):
        store.characters.put_deltas("doomed", [(chunk, j, "k", j) for j in range(250)])
        store.characters.put_deltas("keep", [(chunk, j, "k", j) for j in range(5)])
    before = store.worlds.checksum("keep")
    public_before = store.worlds.checksum("infinity")
    store.deletions.create("doomed", admin.id, countdown_s=0, approve_by=None, override=False,
                           at=0.0)  # fmt: skip
    extra = {"CALLISTER_WORLD_DELETE_BATCH": "10"}
    interrupted = 0
    finished = False

    def deleted_rows() -> int:
        job = store.deletions.get("doomed")
        return 0 if job is None else sum(job.progress.values())

    async def kill_when(condition: Callable[[], bool], server: subprocess.Popen[bytes]) -> None:
        """SIGKILL the server as soon as `condition` holds (polled; 120 s at most)."""
        try:
            deadline = time.monotonic() + 120
            while not condition() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            kill(server)

    # the first run is killed as soon as the evacuation has begun, each later one as soon as
    # it has deleted a batch: every run leaves work for the next, whatever the machine's load
    last = 0
    for round_ in range(6):
        server = start_server(port, store_url, env(**extra), tmp_path / f"d{round_}.log")
        if round_ == 0:
            await kill_when(lambda: len(store.characters.in_world("doomed")) < len(players), server)
        else:

            def progressed(done: int = last) -> bool:
                return store.worlds.get("doomed") is None or deleted_rows() > done

            await kill_when(progressed, server)
        if store.worlds.get("doomed") is None:
            finished = True
            break
        job = store.deletions.get("doomed")
        assert job is not None  # the job survives every kill until the last step commits
        last = deleted_rows()
        if job.state == "deleting" and job.progress:
            interrupted += 1  # killed in the middle of the batches
    if not finished:  # let one run finish
        server = start_server(port, store_url, env(**extra), tmp_path / "final.log")
        await kill_when(lambda: store.worlds.get("doomed") is None, server)
    assert interrupted >= 1, "no kill landed in the middle of the deletion; not a crash test"
    assert store.worlds.get("doomed") is None and store.deletions.get("doomed") is None
    assert store.worlds.stats("doomed")["rows"] == 0
    assert store.worlds.checksum("keep") == before
    deleted = [r for r in store.worlds.list_audit("doomed") if r.action == "deleted"]
    assert len(deleted) == 1 and deleted[0].detail["requested_by"] == admin.id
    # the final record tells the whole story of every run, not just the last one's: each
    # character moved (in whichever run moved it), the move's own audit record, the runs
    final = deleted[0].detail
    assert sorted(final["moved"]) == sorted(players), final
    assert final["stayed"] == []
    runs = [r for r in store.worlds.list_audit("doomed", 1000) if r.action == "delete_run"]
    assert final["runs"] == len(runs) >= 2  # interrupted at least once, then resumed
    for move in final["moves"]:
        record = next(
            r for r in store.worlds.list_audit(str(move["account"])) if r.id == move["audit"]
        )
        assert record.action == "move" and record.detail["from"] == "doomed"
        assert (move["to"], move["credits"]) == ("infinity", 2000)
    # characters: those with a character in their home (public) world... none had one, so
    # each was moved to infinity with its credits and cargo
    for account_id, ship in players.items():
        assert store.characters.load(account_id, "infinity") is not None
        assert store.ledger.balance("infinity", f"player:{account_id}") == 2000
        assert store.ledger.holdings("infinity", f"ship:{ship}") == {"iron": 5}
    assert store.worlds.checksum("infinity") != public_before
    # the deleted world's ledger was closed out into the audit record: its `transfer` account
    # holds what left for infinity, so the cross-world sum still closes
    closed = deleted[0].detail["ledger"]
    assert closed["system"]["transfer"] == 8000 and closed["credits_total"] == 0
    check_books(store, ("infinity", "keep"), gone=closed["system"]["transfer"])
    store.db.close()
