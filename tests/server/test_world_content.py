"""A world's own content on a live server (issue 18): a private world with the worked example
pack (docs/examples/frontier: the corsair hull and the flak weapon). Its players learn the
content from the server, buy the corsair at the shipyard, fly it and fire its flak; a player in
the public world never sees any of it; a malformed pack is refused naming file, entry and
field; a fork carries the pack; the kill switch leaves nothing of it. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import LiveServer, live_server, make_settings, running
from tests.examples import FRONTIER_PACK
from tests.server.test_worlds import account, api, assert_refused_entry, zone_of
from tests.server.wsclient import pump_until, undock
from tests.waiting import until

from callister.content import ContentPack
from callister.server.admin_routes import WORLD_HOST
from callister.sim import HULL_KEYS
from callister.universe import GeneratorParams, generate_system

SEED = 3  # the home station of world seed 3 has a shipyard (its market lists hulls)


@pytest.fixture
async def server(tmp_path: Path, store_url: str) -> AsyncIterator[LiveServer]:
    async with running(
        make_settings(
            tmp_path,
            db=store_url,
            world_seed=SEED,  # the public world has the same map: only the content differs
            world_delete_countdown_s=1,
            kill_switch_two_person=False,
            reconnect_grace_s=0.0,
        )
    ) as live:
        yield live


def example_files() -> dict[str, str]:
    return dict(ContentPack.from_dir(FRONTIER_PACK).files)


async def world_by_root(live: LiveServer, http: aiohttp.ClientSession, name: str) -> Any:
    """Root, an administrator, who has made world `name` on the public world's map."""
    admin = await account(live, http, "Root", "admin")
    status, _ = await api(http, live, "POST", "/api/worlds", admin, {"name": name, "seed": SEED})
    assert status == 201
    return admin


async def put_pack(
    http: aiohttp.ClientSession, live: LiveServer, bot: Any, world: str, files: Any
) -> tuple[int, Any]:
    """`bot` sets world `world`'s content pack to these files (the admin API)."""
    return await api(http, live, "PUT", f"/api/admin/worlds/{world}/content", bot, {"files": files})


def assert_bad_content(status: int, body: Any, file: str, entry: str, field: str) -> None:
    """A pack refused as BAD_CONTENT, its first problem naming this file, entry and field."""
    assert status == 400 and body["error"]["code"] == "BAD_CONTENT", body
    where = {"file": file, "entry": entry, "field": field}
    assert where.items() <= body["problems"][0].items(), body


def keys(content: dict[str, Any], table: str) -> set[str]:
    return {e["key"] for e in content[table]}


async def test_a_modded_world_runs_its_pack_and_the_public_world_never_sees_it(
    server: LiveServer, http: aiohttp.ClientSession
) -> None:
    live = server
    host = live.server.app[WORLD_HOST]
    store = live.services.store
    admin = await account(live, http, "Root", "admin")
    ash = await account(live, http, "Ash", "player")
    bea = await account(live, http, "Bea", "player")
    status, made = await api(http, live, "POST", "/api/worlds", admin, {
        "name": "frontier", "visibility": "invite", "seed": SEED,
        "rules": {"starting_credits": 200_000}})  # fmt: skip
    assert status == 201, made
    assert (await api(http, live, "POST", "/api/worlds/frontier/invite", admin,
                      {"account": "Ash"}))[0] == 200  # fmt: skip

    # a malformed pack is refused with the file, the entry and the field; nothing is stored
    broken = example_files()
    broken["hulls.toml"] = broken["hulls.toml"].replace("thrust = 75.0", 'thrust = "fast"')
    status, body = await put_pack(http, live, admin, "frontier", broken)
    assert_bad_content(status, body, "hulls.toml", "corsair", "thrust")
    # a player may not set a world's content; the owner or an administrator may
    status, _ = await put_pack(http, live, ash, "frontier", example_files())
    assert status == 403
    assert await host.call(store.content.current, "frontier") is None
    status, body = await put_pack(http, live, admin, "frontier", example_files())
    assert status == 201 and body["version"] == 1 and body["name"] == "frontier", body
    digest = body["digest"]

    # Ash enters the modded world: the content message carries the corsair and the flak
    ash.world = "frontier"
    await ash.connect()
    await pump_until([ash], lambda: bool(ash.content) and ash.status is not None)
    assert ash.content["world"] == "frontier"
    assert {"corsair", "shuttle"} <= keys(ash.content, "hulls")
    assert "flak" in keys(ash.content, "weapons") and "contraband" in keys(
        ash.content, "commodities"
    )
    corsair = next(h for h in ash.content["hulls"] if h["key"] == "corsair")
    assert corsair["thrust"] == 75.0 and len(corsair["silhouette"]) == 10
    assert [p["digest"] for p in ash.content["packs"]] == [digest]
    assert ash.welcome["content"]["hulls"]["corsair"]["silhouette"] == corsair["silhouette"]
    assert ash.welcome["content"]["digest"] == ash.content["digest"]
    status, served = await api(http, live, "GET", "/api/worlds/frontier/content", ash)
    assert status == 200 and served["digest"] == ash.content["digest"]

    # ... buys it at the shipyard (its home station has one)
    await ash.send({"t": "market", "ship": ash.ship})
    await pump_until([ash], lambda: ash.market is not None)
    assert ash.market is not None and "corsair" in {h["key"] for h in ash.market["hulls"]}
    receipt, code = await ash.request({"t": "buy_hull", "hull": "corsair"})
    assert code is None and receipt is not None, code
    zone = zone_of(live, "frontier", ash)
    await until(lambda: zone.has_ship(ash.ship) and
                HULL_KEYS[zone.store.hull.item(zone.store.row(ash.ship))] == "corsair",
                "the corsair in the zone")  # fmt: skip
    # ... flies it (the corsair's top speed and thrust) ...
    await undock(ash)
    row = zone.store.row(ash.ship)
    assert zone.store.max_speed.item(row) == 300.0 and zone.store.accel.item(row) == 75.0
    start = (zone.store.x.item(row), zone.store.y.item(row))
    await ash.send({"t": "input", "ship": ash.ship, "thrust": 1.0, "turn": 0.0, "brake": False})

    def moved() -> bool:
        r = zone.store.row(ash.ship)
        x, y = zone.store.x.item(r), zone.store.y.item(r)
        return (x - start[0]) ** 2 + (y - start[1]) ** 2 > 100.0**2

    await pump_until([ash], moved, timeout=30)
    # ... and fires its flak (slot 0 of the corsair's loadout): a round leaves the magazine
    await pump_until([ash], lambda: ash.status is not None and bool(ash.status.get("weapons")))
    assert ash.status is not None
    flak = next(w for w in ash.status["weapons"] if w["key"] == "flak")
    assert flak["ammo"] == 120
    await ash.send({"t": "fire", "ship": ash.ship, "slot": flak["slot"], "target": None})

    def fired() -> bool:
        weapons = (ash.status or {}).get("weapons") or []
        return any(w["key"] == "flak" and w["ammo"] == 119 for w in weapons)

    await pump_until([ash], fired)
    assert "NOT_FOR_SALE" not in ash.stats.error_codes and "BAD_SLOT" not in ash.stats.error_codes

    # Bea, in the public world, never sees any of it
    await bea.connect()
    await pump_until([bea], lambda: bool(bea.content))
    assert bea.content["world"] == "infinity" and bea.content["packs"] == []
    assert "corsair" not in keys(bea.content, "hulls")
    assert "flak" not in keys(bea.content, "weapons")
    assert "corsair" not in bea.welcome["content"]["hulls"]
    assert "contraband" not in json.dumps(bea.content)
    assert (await api(http, live, "GET", "/api/worlds/frontier/content", bea))[0] == 404
    status, public = await api(http, live, "GET", "/api/worlds/infinity/content", bea)
    assert status == 200 and "corsair" not in keys(public, "hulls")
    await bea.send({"t": "market", "ship": bea.ship})
    await pump_until([bea], lambda: bea.market is not None)
    assert bea.market is not None and bea.market["hulls"]  # a shipyard: it sells hulls
    assert "corsair" not in {h["key"] for h in bea.market["hulls"]}
    receipt, code = await bea.request({"t": "buy_hull", "hull": "corsair"})
    assert receipt is None and code == "NOT_FOR_SALE"
    assert live.services.world.content.hulls.get("corsair") is None
    await bea.close()
    await ash.close()

    # Ash moves to the public world, which has no corsair: the stated rule trades it in through
    # the ledger (half its price x hull left) and Ash arrives in the starter hull
    player = f"player:{ash.welcome['account']}"
    frontier_before = await host.call(store.ledger.balance, "frontier", player)
    status, moved = await api(http, live, "POST", "/api/worlds/infinity/move", ash,
                              {"from": "frontier"})  # fmt: skip
    assert status == 200, moved
    record = next(r for r in await host.call(store.worlds.list_audit, None, 50)
                  if r.id == moved["audit"])  # fmt: skip
    refit = record.detail["refit"]
    assert refit["hull"]["from"] == "corsair" and refit["hull"]["to"] == "shuttle"
    assert refit["hull"]["credit"] == 45_000  # a full corsair: half its 90,000
    arrived = await host.call(store.characters.load, int(ash.welcome["account"]), "infinity")
    assert arrived is not None and arrived.hull == "shuttle"
    after = await host.call(store.ledger.balance, "infinity", player)
    assert after == frontier_before + 45_000

    # a fork carries the pack
    status, body = await api(http, live, "POST", "/api/admin/worlds/frontier/fork", admin,
                             {"name": "frontier-copy"})  # fmt: skip
    assert status == 201 and body["rows"]["world_content"] == 1, body
    status, shown = await api(http, live, "GET", "/api/admin/worlds/frontier-copy/content",
                              admin)  # fmt: skip
    assert status == 200 and shown["pack"]["digest"] == digest, shown
    assert shown["pack"]["files"] == example_files()

    # the kill switch leaves nothing of frontier's pack (the copy keeps its own)
    status, body = await api(http, live, "POST", "/api/admin/worlds/frontier/delete", admin,
                             {"confirm": "frontier"})  # fmt: skip
    assert status == 202, body

    async def gone() -> bool:
        return await host.call(store.worlds.get, "frontier") is None

    await until(gone, "frontier deleted")
    assert await host.call(store.content.history, "frontier") == []
    leftover = await host.call(
        store.db.scalar, "SELECT count(*) FROM world_content WHERE world = ?", ("frontier",)
    )
    assert leftover == 0
    copy = await host.call(store.content.current, "frontier-copy")
    assert copy is not None and copy.digest == digest
    audit = await host.call(store.worlds.list_audit, "frontier", 50)
    deleted = next(r for r in audit if r.action == "deleted")
    assert deleted.detail["rows_deleted"].get("world_content") == 1, deleted.detail


lite = live_server(world_seed=SEED, reconnect_grace_s=0.0)


async def test_a_running_world_restarts_into_its_new_content_on_its_own_map(
    lite: LiveServer, http: aiohttp.ClientSession
) -> None:
    """A new pack version reaches the players of a running world (bye naming the same world,
    reconnect, new content); the world generates its systems with its own parameters; a bad
    parameter is refused naming it."""
    live = lite
    host = live.server.app[WORLD_HOST]
    admin = await account(live, http, "Root", "admin")
    status, body = await api(http, live, "POST", "/api/worlds", admin, {
        "name": "dense", "visibility": "private", "seed": 11,
        "params": {"density": 5000}})  # fmt: skip
    assert status == 400 and body["error"]["message"].startswith("density:"), body
    params = {"density": 180, "station_fraction": 100, "field_richness": 300}
    status, made = await api(http, live, "POST", "/api/worlds", admin, {
        "name": "dense", "visibility": "private", "seed": 11, "params": params})  # fmt: skip
    assert status == 201 and made["params"]["density"] == 180, made
    admin.world = "dense"
    await admin.connect()
    await pump_until([admin], lambda: bool(admin.content) and admin.system is not None)
    assert "corsair" not in keys(admin.content, "hulls")
    world = host.runtimes["dense"].world
    expected = GeneratorParams(**params)
    assert world.params == expected and world.universe.params == expected
    assert admin.system is not None
    x, y = int(admin.system["x"]), int(admin.system["y"])
    generated = generate_system(11, x, y, expected)
    assert generated is not None and admin.system["key"] == generated.to_dict()["key"]
    assert admin.system["name"] == generated.name

    # a new pack version: the running world restarts and its players come back into it
    status, _ = await put_pack(http, live, admin, "dense", example_files())
    assert status == 201
    await pump_until([admin], lambda: admin.bye_world == "dense", timeout=30)
    admin.content = {}
    admin.world = "dense"
    await admin.connect()
    await pump_until([admin], lambda: bool(admin.content))
    assert "corsair" in keys(admin.content, "hulls")
    assert host.runtimes["dense"].content_version == 1
    await admin.close()


async def test_bad_content_requests_get_clear_errors(
    lite: LiveServer, http: aiohttp.ClientSession
) -> None:
    live = lite
    admin = await account(live, http, "Root", "admin")
    owner = await account(live, http, "Owen", "player")
    status, _ = await api(http, live, "POST", "/api/worlds", admin, {"name": "attic"})
    assert status == 201
    path = "/api/admin/worlds/attic/content"
    cases: list[tuple[Any, int, str]] = [
        ({}, 400, "BAD_FIELD"),  # neither files nor clear
        ({"files": "pack.toml"}, 400, "BAD_FIELD"),
        ({"files": {"pack.toml": 7}}, 400, "BAD_CONTENT"),  # not text
        ({"files": {"hull.toml": "[x]"}}, 400, "BAD_CONTENT"),  # a misspelt file; no manifest
        ({"files": {"pack.toml": "[pack]\nname = 'x'"}}, 400, "BAD_CONTENT"),
        ({"files": {"pack.toml": "[pack\n"}}, 400, "BAD_CONTENT"),  # not TOML
        ({"files": {"pack.toml": "#" * 300_000}}, 400, "BAD_CONTENT"),  # over 256 KiB
    ]
    for body, code, error in cases:
        status, answer = await api(http, live, "PUT", path, admin, body)
        assert (status, answer["error"]["code"]) == (code, error), (body, answer)
        if error == "BAD_CONTENT":
            assert answer["problems"] and "message" in answer["problems"][0]
    status, answer = await api(http, live, "PUT", "/api/admin/worlds/nowhere/content", admin,
                               {"clear": True})  # fmt: skip
    assert status == 404 and answer["error"]["code"] == "NO_SUCH_WORLD"
    # not the owner, not an administrator; no token at all
    assert (await api(http, live, "GET", path, owner))[0] == 403
    assert (await api(http, live, "PUT", path, None, {"clear": True}))[0] == 401
    assert (await api(http, live, "GET", "/api/worlds/attic/content", owner))[0] == 404
    history = await live.server.app[WORLD_HOST].call(live.services.store.content.history, "attic")
    assert history == []
    # a stored pack that no longer loads (written past the loader, as a base upgrade would
    # leave it): the world does not start, and whoever enters is told why
    broken = {"name": "attic", "version": "1.0.0", "digest": "0" * 64,
              "files": {"pack.toml": '[pack]\nname = "attic"\nversion = "1.0.0"\n',
                        "hulls.toml": '[shuttle]\nthrust = "fast"\n'}}  # fmt: skip
    await live.server.app[WORLD_HOST].call(live.services.store.content.set, "attic", broken, None)
    await assert_refused_entry(admin, "attic")


async def test_npcs_of_a_world_whose_pack_removes_a_hull_they_fly(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """The base patrols and pirates fly the interceptor (npc_roles.toml): a pack that removes
    it without giving them another hull is refused naming the role and its field; with the
    roles re-hulled the world runs and its patrols and pirates fly shuttles."""
    async with running(make_settings(tmp_path, world_seed=SEED, npc_density=1.0)) as live:
        host = live.server.app[WORLD_HOST]
        admin = await world_by_root(live, http, "nointer")
        files = {"pack.toml": '[pack]\nname = "nointer"\nversion = "1.0.0"\n\n'
                              '[remove]\nhulls = ["interceptor"]\n'}  # fmt: skip
        status, body = await put_pack(http, live, admin, "nointer", files)
        assert_bad_content(status, body, "npc_roles.toml", "patrol", "hulls")
        files["npc_roles.toml"] = "[patrol]\nhulls = ['shuttle']\n[pirate]\nhulls = ['shuttle']\n"
        status, body = await put_pack(http, live, admin, "nointer", files)
        assert status == 201, body
        admin.world = "nointer"
        await admin.connect()
        await pump_until([admin], lambda: bool(admin.content))
        assert "interceptor" not in keys(admin.content, "hulls")
        world = host.runtimes["nointer"].world
        living = world.agents.living

        await until(lambda: living.enabled, "the living universe started")
        assert {h.key for h in living.hulls.values()} <= set(world.content.hulls)
        assert living.sim is not None
        patrols = [a for a in living.sim.living() if a.ship.goal.value == "patrol"]
        assert patrols and {a.ship.hull.key for a in patrols} == {"shuttle"}
        await admin.close()


async def test_a_pack_raising_pirates_and_adding_smugglers_changes_who_is_born_there_only(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """A private world whose pack raises the pirates' least and adds a smuggler role (the
    trader goal, its own hull): its living universe is born with those numbers, the smugglers
    fly the pack's hull and trade as traders; the public world on the same map keeps the base
    roles' population."""
    async with running(make_settings(tmp_path, world_seed=SEED, npc_density=1.0)) as live:
        host = live.server.app[WORLD_HOST]
        admin = await world_by_root(live, http, "smugglers")
        files = {
            "pack.toml": '[pack]\nname = "smugglers"\nversion = "1.0.0"\n',
            "npc_roles.toml": "[pirate]\npopulation = { lawless = [3, 3], lawful = [1, 1] }\n"
            "max_per_system = 3\nmin_markets = 0\n"
            "[smuggler]\nname = 'Smuggler'\ngoal = 'trader'\nhulls = ['shuttle']\n"
            "population = { lawful = [2, 2], lawless = [2, 2], home = [2, 2] }\n",
        }
        status, body = await api(http, live, "PUT", "/api/admin/worlds/smugglers/content",
                                 admin, {"files": files})  # fmt: skip
        assert status == 201, body
        admin.world = "smugglers"
        await admin.connect()
        await pump_until([admin], lambda: bool(admin.content))
        modded = host.runtimes["smugglers"].world.agents.living
        public = host.runtimes[host.public].world.agents.living
        await until(lambda: modded.enabled and public.enabled, "both living universes started")
        assert modded.reg is not None and public.reg is not None
        want = modded.reg.targets
        smugglers = sum(n for (_, role), n in want.items() if role == "smuggler")
        pirates = sum(n for (_, role), n in want.items() if role == "pirate")
        assert smugglers >= 2 and pirates >= 1
        # everyone the targets call for is born (one birth per system and role per round)
        await until(lambda: modded.roles().get("smuggler") == smugglers, "the smugglers born")
        assert modded.roles().get("pirate") == pirates
        base_pirates = sum(n for (_, role), n in public.reg.targets.items() if role == "pirate")
        assert pirates > base_pirates
        assert modded.sim is not None
        born = [a for a in modded.sim.living() if a.ship.role == "smuggler"]
        assert {a.ship.hull.key for a in born} == {"shuttle"}
        assert {a.ship.goal.value for a in born} == {"trader"}
        assert all(a.clone.profile.background.startswith("A smuggler") for a in born)
        # haulers are born as haulers (the clones table holds the goal) and stored so
        haulers = sum(n for (_, role), n in public.reg.targets.items() if role == "hauler")
        assert haulers > 0 and public.population().get("hauler") == haulers
        assert public.sim is not None
        await host.runtimes[host.public].world.writer.call(public.save)  # a checkpoint's save
        stored = public.runtime.repo.get(
            next(a.id for a in public.sim.living() if a.ship.goal.value == "hauler")
        )
        assert stored.goals.primary.value == "hauler"
        # the public world: the base roles only, nothing of the pack
        assert "smuggler" not in public.roles()
        assert {role for _, role in public.reg.targets} <= {
            "patrol",
            "trader",
            "hauler",
            "pirate",
            "miner",
        }
        await admin.close()
