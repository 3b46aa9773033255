"""Moderation on a live server: footage of a live zone replays exactly, reports, bans, kicks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from callister.economy.books import Plan
from callister.moderation.footage import Footage
from callister.protocol.snapshot import decode_snapshot
from callister.server.moderation_routes import MODERATION

from .wsclient import CheckedBot, capture, close_code, player, pump_until, undock


async def moderator(live: Any, http: aiohttp.ClientSession, name: str = "mod1") -> str:
    body = {"name": name, "password": "moderator-pass-1"}
    async with http.post(f"{live.http}/api/register", json=body) as resp:
        assert resp.status == 201
    live.services.store.accounts.set_role(name, "moderator")
    async with http.post(f"{live.http}/api/login", json=body) as resp:
        return str((await resp.json())["token"])


async def fight(
    live: Any, http: aiohttp.ClientSession, griefer_name: str, victim_name: str, seconds: float
) -> tuple[CheckedBot, CheckedBot]:
    """Two new players fly out; the first fires at the second, who flies off, for `seconds`."""
    griefer = await player(live, http, griefer_name)
    victim = await player(live, http, victim_name)
    await undock(griefer, victim)
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        await griefer.send({"t": "input", "ship": griefer.ship, "thrust": 1.0, "turn": 0.3})
        await griefer.send(
            {"t": "fire", "ship": griefer.ship, "slot": 0, "target": str(victim.ship)}
        )
        await victim.send({"t": "input", "ship": victim.ship, "thrust": 0.5, "turn": -0.2})
        await asyncio.gather(griefer.pump(0.2), victim.pump(0.2))
    return griefer, victim


async def test_live_footage_replays_to_the_live_state(
    live: Any, http: aiohttp.ClientSession
) -> None:
    a, b = await fight(live, http, "alice", "bob", 3.0)
    mod = live.server.app[MODERATION]
    key = live.services.world.pilots[a.welcome["account"]].zone_key
    rec = mod.recorders[key]
    # no await between these two lines: the zone cannot step in between
    footage, live_hash, tick = rec.save(), rec.zone.state_hash(), rec.zone.tick
    replayed = Footage.decode(footage.encode()).hashes()
    assert replayed[tick] == live_hash
    await a.close()
    await b.close()


async def test_report_saves_footage_and_moderator_bans_the_griefer(
    live: Any, http: aiohttp.ClientSession
) -> None:
    griefer, victim = await fight(live, http, "griefer", "victim", 2.0)
    text = "<script>alert(1)</script> keeps shooting me"
    seen = capture(victim)
    await victim.send(
        {"t": "report", "kind": "player", "target": "griefer", "reason": "griefing", "text": text}
    )
    await pump_until([victim, griefer], lambda: any(e["t"] == "reported" for e in seen), 10)
    token = await moderator(live, http)
    auth = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{live.http}/api/mod/queue", headers=auth) as resp:
        assert resp.status == 200
        queue = await resp.json()
    (report,) = queue["reports"]
    assert report["text"] == text and report["target_account"] == griefer.welcome["account"]
    fid = report["footage_id"]
    assert fid
    async with http.get(f"{live.http}/api/mod/footage/{fid}", headers=auth) as resp:
        meta = await resp.json()
    assert meta["end_tick"] > meta["start_tick"]
    assert "griefer" in meta["names"].values()
    first, last = meta["start_tick"] + 1, meta["end_tick"]
    url = f"{live.http}/api/mod/footage/{fid}/frames?from={first}&to={last}"
    async with http.get(url, headers=auth) as resp:
        data = await resp.read()
    snap = decode_snapshot(data[4 : 4 + int.from_bytes(data[:4], "little")])
    assert griefer.ship in snap.changed["id"].tolist()
    async with http.get(f"{live.http}/api/mod/footage/{fid}/events", headers=auth) as resp:
        kinds = {e["type"] for e in (await resp.json())["events"]}
    assert "Fired" in kinds
    # a station purchase, recorded under its economy kind ("hull", "refuel", ...): the
    # inspector's ledger shows the latest of each
    world = live.services.world
    account = int(griefer.welcome["account"])
    bought = Plan("hull", account, "inspected", griefer.ship, {"hull": "hauler"})
    await world.writer.call(world.economy.books.commit, bought)
    async with http.get(
        f"{live.http}/api/mod/accounts/{griefer.welcome['account']}", headers=auth
    ) as resp:
        inspected = await resp.json()
    assert inspected["online"] and inspected["account"]["name"] == "griefer"
    assert inspected["ledger"]["hull"]["idem"] == f"hull:{account}:inspected"
    # the ban closes the griefer's socket and keeps them out
    body = {
        "action": "ban",
        "account": griefer.welcome["account"],
        "reason": "griefing",
        "hours": 2,
    }
    async with http.post(f"{live.http}/api/mod/actions", json=body, headers=auth) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["closed"] is True
    assert griefer.ws is not None
    assert await close_code(griefer.ws) == 4403
    again = await http.ws_connect(live.ws)
    await again.send_str(json.dumps({"t": "hello", "token": griefer.token, "v": 1}))
    assert await close_code(again) == 4403
    async with http.get(f"{live.http}/api/mod/audit", headers=auth) as resp:
        assert [a["action"] for a in (await resp.json())["audit"]] == ["ban"]
    await victim.close()


async def test_bad_reports_and_actions_get_clear_errors(
    live: Any, http: aiohttp.ClientSession
) -> None:
    p = await player(live, http, "carol")
    seen = capture(p)
    for bad in (
        {"t": "report", "kind": "planet", "target": "x", "reason": "griefing"},
        {"t": "report", "kind": "player", "target": "x", "reason": "because"},
        {"t": "report", "kind": "player", "target": "", "reason": "griefing"},
        {"t": "report", "kind": "player", "target": "x", "reason": "spam", "text": "a" * 1001},
        {"t": "report", "kind": "player", "target": "x", "reason": "spam", "text": "bell\u0007"},
    ):
        await p.send(bad)
    await pump_until([p], lambda: sum(1 for e in seen if e["t"] == "error") >= 5, 5)
    assert all(e["code"] == "BAD_FIELD" for e in seen if e["t"] == "error")
    token = await moderator(live, http)
    auth = {"Authorization": f"Bearer {token}"}
    for body, status in (
        ({"action": "explode", "account": 1, "reason": "x"}, 400),
        ({"action": "warn", "account": 1}, 400),
        ({"action": "warn", "account": 999999, "reason": "x"}, 404),
        ({"action": "ban", "account": 1, "reason": "x", "hours": -1}, 400),
        ({"action": "delete_clone", "clone": 424242, "reason": "x"}, 404),
    ):
        async with http.post(f"{live.http}/api/mod/actions", json=body, headers=auth) as resp:
            assert resp.status == status, (body, await resp.text())
    async with http.get(f"{live.http}/api/mod/footage/99/frames", headers=auth) as resp:
        assert resp.status == 404
    async with http.get(f"{live.http}/api/mod/reports/abc", headers=auth) as resp:
        assert resp.status == 400
    await p.close()
