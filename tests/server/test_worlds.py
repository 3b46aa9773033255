"""Many worlds on a live server: create, invite, enter with hello.world, rules enforced by the
simulation (PvP off), the kill switch's countdown and evacuation home, moves, forks."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.command_line import operator_env, run_callister
from tests.conftest import LiveServer, live_server, make_settings, running
from tests.server.wsclient import pump_until

from callister.bots.client import Bot
from callister.server.admin_routes import WORLD_HOST

live = live_server(world_delete_countdown_s=2, reconnect_grace_s=30.0)


async def account(live: LiveServer, http: aiohttp.ClientSession, name: str, role: str) -> Bot:
    bot = Bot(live.http, live.ws, name, session=http, track_view=True, jump_every_s=0)
    await bot.register()
    if role != "player":
        services = live.services
        await services.writer.call(services.store.accounts.set_role, name, role)
    return bot


async def api(
    http: aiohttp.ClientSession, live: LiveServer, method: str, path: str, bot: Bot | None,
    body: dict[str, Any] | None = None,
) -> tuple[int, Any]:  # fmt: skip
    headers = {"Authorization": f"Bearer {bot.token}"} if bot else {}
    async with http.request(method, live.http + path, json=body, headers=headers) as resp:
        try:
            data = await resp.json()
        except (aiohttp.ContentTypeError, ValueError):
            data = await resp.text()
        return resp.status, data


def zone_of(live: LiveServer, world_name: str, bot: Bot) -> Any:
    world = live.server.app[WORLD_HOST].runtimes[world_name].world
    pilot = world.pilots[int(bot.welcome["account"])]
    assert pilot.zone_key is not None
    return world.zones[pilot.zone_key].zone


async def assert_refused_entry(bot: Bot, world: str) -> None:
    """`bot` asks to enter `world` and is refused at the hello (WORLD_REFUSED, its first)."""
    bot.world = world
    with pytest.raises(RuntimeError):
        await bot.connect()
    assert bot.stats.error_codes.get("WORLD_REFUSED") == 1


async def test_private_world_pvp_off_then_deleted_players_land_home(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    admin = await account(live, http, "Root", "admin")
    ash = await account(live, http, "Ash", "player")
    bea = await account(live, http, "Bea", "player")
    status, made = await api(http, live, "POST", "/api/worlds", admin, {
        "name": "haven", "visibility": "invite", "seed": 7, "rules": {"pvp": False}})  # fmt: skip
    assert status == 201 and made["rules"]["pvp"] is False, made
    # not invited: refused at hello with a clear code and close code
    await assert_refused_entry(ash, "haven")
    # a player cannot invite into someone else's world
    assert (await api(http, live, "POST", "/api/worlds/haven/invite", bea,
                      {"account": "Ash"}))[0] == 403  # fmt: skip
    for name in ("Ash", "Bea"):
        status, _ = await api(http, live, "POST", "/api/worlds/haven/invite", admin,
                              {"account": name})  # fmt: skip
        assert status == 200
    status, listed = await api(http, live, "GET", "/api/worlds", bea)
    assert {w["name"] for w in listed["worlds"]} == {"infinity", "haven"}
    for bot in (ash, bea):
        bot.world = "haven"
        await bot.connect()
        assert bot.welcome["world"] == "haven" and bot.welcome["seed"] == "7"
        assert "haven" in {w["name"] for w in bot.welcome["worlds"]}
        await bot.send({"t": "undock", "ship": bot.ship})
    await pump_until([ash, bea], lambda: not ash.docked and not bea.docked and bool(ash.status))
    zone = zone_of(live, "haven", bea)
    row = zone.store.row(bea.ship)
    zone.store.x[row] += 200.0
    assert ash.status is not None
    laser = next(int(w["slot"]) for w in ash.status["weapons"] if w["kind"] == "hitscan")
    await ash.send({"t": "fire", "ship": ash.ship, "slot": laser, "target": str(bea.ship)})
    await pump_until([ash, bea], lambda: ash.stats.error_codes.get("PVP_OFF", 0) >= 1)
    vitals = zone.vitals(bea.ship)
    assert vitals.shield == vitals.shield_max and vitals.hull_hp == vitals.hull_max
    # the public world is untouched by haven's rules
    assert live.services.world.rules.pvp is True
    # the kill switch: a player may not, an admin must type the name
    assert (await api(http, live, "POST", "/api/admin/worlds/haven/delete", ash,
                      {"confirm": "haven"}))[0] == 403  # fmt: skip
    status, body = await api(http, live, "POST", "/api/admin/worlds/haven/delete", admin,
                             {"confirm": "Haven"})  # fmt: skip
    assert status == 400 and body["error"]["code"] == "BAD_FIELD"
    status, body = await api(http, live, "POST", "/api/admin/worlds/infinity/delete", admin,
                             {"confirm": "infinity"})  # fmt: skip
    assert status == 400 and "override" in body["error"]["message"]
    status, body = await api(http, live, "POST", "/api/admin/worlds/haven/delete", admin,
                             {"confirm": "haven"})  # fmt: skip
    # haven holds players: the two-person rule (on by default) wants a second administrator
    assert status == 202 and body["state"] == "approval" and body["approve_by"], body
    status, body = await api(http, live, "POST", "/api/admin/worlds/haven/approve", admin)
    assert status == 400 and "not the requester" in body["error"]["message"], body
    assert "two-person rule" in body["error"]["message"]
    assert (await api(http, live, "POST", "/api/admin/worlds/haven/approve", ash))[0] == 403
    second = await account(live, http, "Second", "admin")
    status, body = await api(http, live, "POST", "/api/admin/worlds/haven/approve", second)
    assert status == 200 and body["state"] == "countdown", body
    # the countdown reaches everyone inside, then they are sent home
    await pump_until(
        [ash, bea],
        lambda: (
            any(e.get("kind") == "world_ending" for e in bea.events)
            and any(e.get("kind") == "world_ending" for e in ash.events)
        ),
    )
    ending = next(e for e in bea.events if e.get("kind") == "world_ending")
    assert ending["world"] == "haven" and 0 < ending["seconds"] <= 2
    with pytest.raises(ConnectionError):
        await bea.pump(10.0)
    assert bea.bye_world == "infinity" and bea.ws is not None and bea.ws.close_code == 4410
    host = live.server.app[WORLD_HOST]
    for _ in range(200):
        if "haven" not in host.records:
            break
        await asyncio.sleep(0.05)
    assert "haven" not in host.records
    store = live.services.store
    # both characters landed in their home world with their ships
    ship = bea.ship
    bea.world = bea.bye_world
    await bea.connect()
    assert bea.welcome["world"] == "infinity" and bea.ship == ship
    assert await live.services.writer.call(store.worlds.stats, "haven") == {
        "characters": 0, "systems": 0, "rows": 0}  # fmt: skip
    audit = await live.services.writer.call(store.worlds.list_audit, "haven", 10)
    root_id = (await live.services.writer.call(store.accounts.by_name, "Root")).id
    second_id = (await live.services.writer.call(store.accounts.by_name, "Second")).id
    assert audit[0].action == "deleted" and audit[0].detail["requested_by"] == root_id
    assert [a["by"] for a in audit[0].detail["approvals"]] == [second_id]
    requested = next(r for r in audit if r.action == "delete_requested")
    assert requested.detail["two_person"] == "required" and requested.actor == root_id
    assert sorted(audit[0].detail["moved"]) == sorted(
        [int(ash.welcome["account"]), int(bea.welcome["account"])]
    )
    status, console = await api(http, live, "GET", "/api/admin/worlds", admin)
    assert status == 200 and [w["name"] for w in console["worlds"]] == ["infinity"]
    for bot in (ash, bea):
        await bot.close()


async def test_move_between_worlds_over_http(live: LiveServer, http: aiohttp.ClientSession) -> None:
    admin = await account(live, http, "Root", "admin")
    cy = await account(live, http, "Cyd", "player")
    await cy.connect()  # a character in the public world
    await api(http, live, "POST", "/api/worlds", admin, {"name": "yonder", "visibility": "public"})
    status, body = await api(http, live, "POST", "/api/worlds/yonder/move", cy,
                             {"from": "infinity"})  # fmt: skip
    assert status == 200, body
    assert body["credits"] == 2000 and body["to"] == "yonder"
    with pytest.raises(ConnectionError):
        await cy.pump(5.0)
    assert cy.bye_world == "yonder"
    ship = cy.ship
    cy.world = "yonder"
    await cy.connect()
    assert cy.ship == ship and cy.welcome["credits"] == 2000  # no second starting grant
    # bad input
    for path, body_, want, code in (
        ("/api/worlds/yonder/move", {"from": "nowhere"}, 404, "NO_SUCH_WORLD"),
        # no character there now (issue 13: its own code, its quotes intact)
        ("/api/worlds/yonder/move", {"from": "infinity"}, 404, "NO_SUCH_CHARACTER"),
        ("/api/worlds/nowhere/move", {"from": "yonder"}, 404, "NO_SUCH_WORLD"),
        ("/api/worlds/yonder/move", {"from": "yonder", "account": "Root"}, 403, "FORBIDDEN"),
    ):
        status, answer = await api(http, live, "POST", path, cy, body_)
        assert status == want, (path, body_, status)
        assert answer["error"]["code"] == code, answer
        if code == "NO_SUCH_CHARACTER":
            assert "world 'infinity' to move" in answer["error"]["message"], answer
    status, forked = await api(http, live, "POST", "/api/admin/worlds/yonder/fork", admin,
                               {"name": "yonder-2"})  # fmt: skip
    assert status == 201 and forked["rows"]["characters"] == 1
    await cy.close()


async def test_bad_world_requests(live: LiveServer, http: aiohttp.ClientSession) -> None:
    admin = await account(live, http, "Root", "admin")
    pat = await account(live, http, "Pat", "player")
    cases = [
        ({"name": "Bad Name"}, 400),
        ({"name": "ok", "visibility": "secret"}, 400),
        ({"name": "ok", "rules": {"pvp": "no"}}, 400),
        ({"name": "ok", "rules": {"gravity": 2}}, 400),
        ({"name": "ok", "rules": {"price_multiplier": 0}}, 400),
        ({"name": "ok", "seed": "abc"}, 400),
        ({"name": "ok", "player_limit": -1}, 400),
        ({"name": "infinity"}, 409),
    ]
    for body, want in cases:
        status, _ = await api(http, live, "POST", "/api/worlds", admin, body)
        assert status == want, (body, status)
    # players may not create worlds unless the server allows it
    assert (await api(http, live, "POST", "/api/worlds", pat, {"name": "mine"}))[0] == 403
    async with http.post(live.http + "/api/worlds", data=b"{not json",
                         headers={"Authorization": f"Bearer {admin.token}"}) as resp:  # fmt: skip
        assert resp.status == 400
    await assert_refused_entry(pat, "nowhere")


async def test_one_admin_server_opts_out_of_the_two_person_rule(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    """kill_switch_two_person = false: one administrator deletes a world with a player in
    it, and the request's audit record says the rule was off. An empty world never needs it."""
    async with running(make_settings(tmp_path, kill_switch_two_person=False,
                                          world_delete_countdown_s=0)) as live:  # fmt: skip
        admin = await account(live, http, "Root", "admin")
        dot = await account(live, http, "Dot", "player")
        for name in ("solo", "bare"):
            status, _ = await api(http, live, "POST", "/api/worlds", admin,
                                  {"name": name, "visibility": "public"})  # fmt: skip
            assert status == 201
        dot.world = "solo"
        await dot.connect()  # a character: solo holds a player and data
        status, body = await api(http, live, "POST", "/api/admin/worlds/solo/delete", admin,
                                 {"confirm": "solo"})  # fmt: skip
        assert status == 202 and body["state"] == "countdown", body
        status, console = await api(http, live, "GET", "/api/admin/worlds", admin)
        assert console["settings"]["approval"] is False
        store = live.services.store
        audit = await live.services.writer.call(store.worlds.list_audit, "solo", 10)
        requested = next(r for r in audit if r.action == "delete_requested")
        assert requested.detail["two_person"] == "off"
        assert "kill_switch_two_person = false" in requested.detail["why"]
        status, body = await api(http, live, "POST", "/api/admin/worlds/bare/delete", admin,
                                 {"confirm": "bare"})  # fmt: skip
        assert status == 202
        audit = await live.services.writer.call(store.worlds.list_audit, "bare", 10)
        assert next(r for r in audit if r.action == "delete_requested").detail[
            "two_person"] == "not needed"  # fmt: skip
        await dot.close()


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m callister ...` in the operator's shell, beside the server."""
    return run_callister(*args, stdin=stdin, env=operator_env())


async def test_worlds_the_command_line_creates_appear_without_a_restart(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """Issue 14: a world created (and an invitation made) by `callister admin world ...` while
    the server runs can be entered at once and is listed in the admin console; the registry
    poll picks up the rest without anyone asking."""
    db = live.services.settings.db
    admin = await account(live, http, "Root", "admin")
    pat = await account(live, http, "Pat", "player")
    as_root = ("--as", "Root", "--password-stdin")
    made = await asyncio.to_thread(
        run_cli, "admin", "--db", db, "world", "create", "late", "--visibility", "public",
        "--seed", "9", *as_root, stdin=admin.password + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    # entered at once: the hello names a world the server had not read yet
    pat.world = "late"
    await pat.connect()
    assert pat.welcome["world"] == "late" and pat.welcome["seed"] == "9"
    status, console = await api(http, live, "GET", "/api/admin/worlds", admin)
    assert status == 200 and "late" in {w["name"] for w in console["worlds"]}
    await pat.close()

    # an invite-only world and the invitation, both from the command line
    for args in (("create", "club", "--visibility", "invite"), ("invite", "club", "Pat")):
        done = await asyncio.to_thread(run_cli, "admin", "--db", db, "world", *args, *as_root,
                                       stdin=admin.password + "\n")  # fmt: skip
        assert done.returncode == 0, done.stderr
    pat.world = "club"
    await pat.connect()
    assert pat.welcome["world"] == "club"
    await pat.close()

    # nobody asks for "quiet": the poll (every few seconds, off the tick) lists it anyway
    done = await asyncio.to_thread(run_cli, "admin", "--db", db, "world", "create", "quiet",
                                   "--visibility", "public", *as_root,
                                   stdin=admin.password + "\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    host = live.server.app[WORLD_HOST]
    deadline = asyncio.get_running_loop().time() + 60
    while "quiet" not in host.records:
        assert asyncio.get_running_loop().time() < deadline, "the registry poll never ran"
        await asyncio.sleep(0.1)
    status, listed = await api(http, live, "GET", "/api/worlds", pat)
    assert "quiet" in {w["name"] for w in listed["worlds"]}


async def test_a_world_stopped_twice_at_once_stops_once(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """A deletion finishing while the server shuts down stops the same world twice at once: the
    second stop waits for the first instead of failing (it raised KeyError and broke the
    server's shutdown)."""
    admin = await account(live, http, "Stopper", "admin")
    status, _ = await api(http, live, "POST", "/api/worlds", admin,
                          {"name": "twice", "visibility": "public"})  # fmt: skip
    assert status == 201
    admin.world = "twice"
    await admin.connect()
    host = live.server.app[WORLD_HOST]
    assert "twice" in host.runtimes
    await asyncio.gather(
        host._stop_runtime("twice", "deleted"), host._stop_runtime("twice", "shutting down")
    )
    assert "twice" not in host.runtimes
    await admin.close()
