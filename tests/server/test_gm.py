"""Game masters on a live server (issue 18): a private world's owner teleports ships over the
WebSocket and the HTTP admin API, each step is in the audit log, and anyone else is refused
FORBIDDEN; bad input gets clear codes."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import LiveServer, live_server
from tests.server.test_worlds import account, api, run_cli
from tests.server.wsclient import pump_until
from tests.waiting import until

from callister.bots.client import Bot, GmRefused
from callister.server.admin_routes import WORLD_HOST
from callister.server.world import World
from callister.universe import generate_system

SEED = 7

# players own worlds and game-master them; a dropped socket's ship waits 30 s for its player
GAME_MASTERED = {"players_own_worlds": True, "reconnect_grace_s": 30.0}
live = live_server(**GAME_MASTERED)


async def gm_http(
    live: LiveServer, http: aiohttp.ClientSession, bot: Bot | None, op: str, world: str = "sandbox",
    **body: Any,
) -> tuple[int, Any]:  # fmt: skip
    """POST /api/worlds/{world}/gm as `bot`."""
    return await api(http, live, "POST", f"/api/worlds/{world}/gm", bot, {"op": op, **body})


def world_of(live: LiveServer, name: str) -> World:
    return live.server.app[WORLD_HOST].runtimes[name].world


def empty_sector(seed: int) -> tuple[int, int]:
    for x in range(40):
        if generate_system(seed, x, 3) is None:
            return x, 3
    raise AssertionError("no empty sector found")


async def private_world(
    live: LiveServer, http: aiohttp.ClientSession, owner: Bot, *guests: Bot
) -> None:
    body = {"name": "sandbox", "visibility": "private", "seed": SEED}
    status, made = await api(http, live, "POST", "/api/worlds", owner, body)
    assert status == 201, made
    for guest in guests:
        status, _ = await api(http, live, "POST", "/api/worlds/sandbox/invite", owner,
                              {"account": guest.name})  # fmt: skip
        assert status == 200


async def sandbox(live: LiveServer, http: aiohttp.ClientSession) -> tuple[Bot, Bot]:
    """Olga owns private world `sandbox`; Pete is her guest; both are in it, docked."""
    olga = await account(live, http, "Olga", "player")
    pete = await account(live, http, "Pete", "player")
    await private_world(live, http, olga, pete)
    for bot in (olga, pete):
        bot.world = "sandbox"
        await bot.connect()
    return olga, pete


async def gm_audit(live: LiveServer, http: aiohttp.ClientSession, bot: Bot) -> list[Any]:
    status, body = await api(http, live, "GET", "/api/worlds/sandbox/gm/audit", bot)
    assert status == 200, body
    return list(body["audit"])


async def test_owner_teleports_within_and_across_systems_and_every_step_is_audited(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga, pete = await sandbox(live, http)
    assert pete.system is not None
    home = (int(pete.system["x"]), int(pete.system["y"]))
    # within the system: the ship is taken out of its zone and put where the GM says
    done = await olga.gm("teleport", ship=pete.ship, x=4000.0, y=-2500.0, reason="event start")
    assert done["ship"] == pete.ship and done["live"] is True
    assert done["from"] == done["to"] == [str(home[0]), str(home[1])]
    await pump_until(
        [olga, pete],
        lambda: math.dist(pete.pos, (4000.0, -2500.0)) < 1.0 and not pete.docked,
    )
    world = world_of(live, "sandbox")
    pilot = world.pilots[int(pete.welcome["account"])]
    state = world.ship_state(pilot)
    assert state is not None and (state.x, state.y) == (4000.0, -2500.0)
    assert state.docked_at is None and (state.vx, state.vy) == (0.0, 0.0)
    # across systems: the jump's own path carries it (a new `system`, the zone changes)
    to = (int(pete.system["links"][0][0]), int(pete.system["links"][0][1]))
    target = generate_system(SEED, *to)
    assert target is not None
    point = (0.3 * target.radius, 0.2 * target.radius)
    done = await olga.gm("teleport", ship=pete.ship, sector=[str(to[0]), str(to[1])],
                         x=point[0], y=point[1])  # fmt: skip
    assert done["to"] == [str(to[0]), str(to[1])]
    await pump_until(
        [olga, pete],
        lambda: (
            pete.system is not None
            and (int(pete.system["x"]), int(pete.system["y"])) == to
            and math.dist(pete.pos, point) < 1.0
        ),
    )
    assert pilot.zone_key == f"sandbox.{to[0]}.{to[1]}"
    assert pilot.character.system_x == to[0] and pilot.character.system_y == to[1]
    # and back home, docked at a station
    done = await olga.gm("teleport", ship=pete.ship, sector=[home[0], home[1]], station=0)
    assert done["docked_at"] == 0
    await pump_until([olga, pete], lambda: pete.docked and pete.system is not None
                     and (int(pete.system["x"]), int(pete.system["y"])) == home)  # fmt: skip
    # every step in the audit log, with the real actor (the owner's account id)
    audit = await gm_audit(live, http, olga)
    teleports = [a for a in audit if a["action"] == "gm_teleport"]
    assert len(teleports) == 3
    assert {a["actor"] for a in teleports} == {int(olga.welcome["account"])}
    assert {a["target_account"] for a in teleports} == {int(pete.welcome["account"])}
    assert teleports[-1]["reason"] == "event start"  # newest first: the first is last
    assert teleports[-1]["detail"]["asked"]["x"] == 4000.0
    assert teleports[0]["detail"]["done"]["docked_at"] == 0


async def test_players_are_forbidden_and_admins_may_everywhere(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga, pete = await sandbox(live, http)
    root = await account(live, http, "Root", "admin")
    # a guest of the world is no game master there: protocol and HTTP
    with pytest.raises(GmRefused) as refused:
        await pete.gm("teleport", ship=olga.ship, x=3000.0, y=0.0)
    assert refused.value.code == "FORBIDDEN" and "owner" in refused.value.message
    # and the moderators hear of it: evidence FORBIDDEN, action gm
    store = live.services.store
    pete_id = int(pete.welcome["account"])
    evidence = await until(
        lambda: [e for e in store.moderation.list_evidence("sandbox", pete_id) if e.action == "gm"],
        "the evidence row",
    )
    assert evidence[0].code == "FORBIDDEN"
    status, body = await gm_http(live, http, pete, "teleport", ship=olga.ship, x=3000.0, y=0.0)
    assert status == 403 and body["error"]["code"] == "FORBIDDEN", body
    assert (await api(http, live, "GET", "/api/worlds/sandbox/gm/audit", pete))[0] == 403
    status, _ = await gm_http(live, http, None, "teleport", ship=olga.ship, x=3000.0, y=0.0)
    assert status == 401
    # nothing was done or audited
    assert not await gm_audit(live, http, olga)
    # an administrator may, over HTTP, in the private world
    status, body = await gm_http(live, http, root, "teleport", ship=olga.ship, x=3000.0, y=0.0)
    assert status == 200 and body["live"] is True, body
    await pump_until([olga], lambda: math.dist(olga.pos, (3000.0, 0.0)) < 1.0)
    audit = await gm_audit(live, http, olga)
    assert len(audit) == 1
    root_account = await live.services.writer.call(live.services.store.accounts.by_name, "Root")
    assert root_account is not None and audit[0]["actor"] == root_account.id
    # the public world: the owner of a private world is a player there, refused
    status, body = await gm_http(
        live, http, olga, "teleport", world="infinity", ship=olga.ship, x=3000.0, y=0.0
    )
    assert status == 403 and "administrators" in body["error"]["message"]
    # a demoted administrator's old token proves nothing more
    await live.services.writer.call(live.services.store.accounts.set_role, "Root", "player")
    status, body = await gm_http(live, http, root, "teleport", ship=olga.ship, x=3500.0, y=0.0)
    assert status == 403, body


async def test_bad_teleports_are_refused_with_clear_codes(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    olga = await account(live, http, "Olga", "player")
    await private_world(live, http, olga)
    olga.world = "sandbox"
    await olga.connect()
    assert olga.system is not None
    radius = float(olga.system["radius"])
    empty = empty_sector(SEED)
    cases: list[tuple[dict[str, Any], int, str, str]] = [
        ({"ship": 987654}, 404, "UNKNOWN_SHIP", "987654"),
        ({"sector": [str(empty[0]), str(empty[1])]}, 404, "NO_SYSTEM", "empty space"),
        ({"x": radius + 10.0}, 400, "OUT_OF_BOUNDS", "outside system"),
        ({"x": 0.0, "y": 0.0}, 400, "OUT_OF_BOUNDS", "inside the star"),
        ({"x": 2e7}, 400, "BAD_NUMBER", "'x'"),
        ({"x": "far"}, 400, "BAD_FIELD", "'x'"),
        ({"station": 250, "x": None, "y": None}, 404, "NO_TARGET", "no station 250"),
        ({"station": 0, "y": None}, 400, "BAD_FIELD", "not both"),
        ({"sector": [1]}, 400, "BAD_FIELD", "sector"),
        ({"ship": None}, 400, "BAD_FIELD", "'ship'"),
    ]
    for change, status_want, code, words in cases:
        body = {"op": "teleport", "ship": olga.ship, "x": 3000.0, "y": 0.0, **change}
        body = {k: v for k, v in body.items() if v is not None}
        status, answer = await api(http, live, "POST", "/api/worlds/sandbox/gm", olga, body)
        assert status == status_want and answer["error"]["code"] == code, (change, answer)
        assert words in answer["error"]["message"], (change, answer)
        # the same refusal over the protocol
        with pytest.raises(GmRefused) as refused:
            await olga.gm(**body)
        assert refused.value.code == code, (change, refused.value)
    status, answer = await api(http, live, "POST", "/api/worlds/sandbox/gm", olga,
                               {"op": "jump_everyone"})  # fmt: skip
    assert status == 400 and "'op' must be one of" in answer["error"]["message"]
    status, answer = await gm_http(
        live, http, olga, "teleport", world="nowhere", ship=olga.ship, x=1.0, y=1.0
    )
    assert status == 404 and answer["error"]["code"] == "NO_SUCH_WORLD"
    assert not await gm_audit(live, http, olga)  # refused: nothing audited


async def test_an_offline_players_ship_is_placed_for_their_next_login(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    """What a benchmark does to put many players in one system before they connect."""
    olga = await account(live, http, "Olga", "player")
    pete = await account(live, http, "Pete", "player")
    await private_world(live, http, olga, pete)
    pete.world = "sandbox"
    await pete.connect()
    ship = pete.ship
    assert pete.system is not None
    to = (int(pete.system["links"][0][0]), int(pete.system["links"][0][1]))
    assert pete.ws is not None
    await pete.ws.close()
    world = world_of(live, "sandbox")
    account_id = int(pete.welcome["account"])
    await until(
        lambda: account_id in world.pilots and not world.pilots[account_id].connected,
        "Pete's socket closed",
    )
    linger = world.pilots[account_id].linger
    if linger is not None:
        linger.cancel()
    world._logout(account_id)  # the grace period over (the test does not wait 30 s for it)
    assert account_id not in world.pilots
    status, done = await gm_http(
        live, http, olga, "teleport", ship=ship, sector=list(to), x=2500.0, y=1500.0
    )
    assert status == 200 and done["live"] is False, done
    await pete.connect()
    assert pete.ship == ship and pete.system is not None
    assert (int(pete.system["x"]), int(pete.system["y"])) == to
    await pump_until([pete], lambda: math.dist(pete.pos, (2500.0, 1500.0)) < 1.0)


async def test_the_command_line_teleports_through_the_admin_api(
    live: LiveServer, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    olga, pete = await sandbox(live, http)
    server = ("--server", live.http)
    as_olga = ("--as", "Olga", "--password-stdin")
    out = await asyncio.to_thread(
        run_cli, "admin", "gm", "teleport", "sandbox", str(pete.ship), "--at", "3200,-900",
        "--reason", "from the shell", "--json", *server, *as_olga, stdin=olga.password + "\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    assert done["ship"] == pete.ship and done["x"] == 3200.0 and done["audit"] > 0
    await pump_until([pete], lambda: math.dist(pete.pos, (3200.0, -900.0)) < 1.0)
    # a token works too; a refusal is a clear message and exit status 2 (1 with --json)
    assert olga.token is not None and pete.token is not None
    token = tmp_path / "token"
    token.write_text(pete.token)
    out = await asyncio.to_thread(
        run_cli, "admin", "gm", "teleport", "sandbox", str(olga.ship), "--at", "3000,0",
        "--token-file", str(token), *server,
    )  # fmt: skip
    assert out.returncode == 2 and "FORBIDDEN" in out.stderr, out
    token.write_text(olga.token)
    out = await asyncio.to_thread(
        run_cli, "admin", "gm", "teleport", "sandbox", "999999", "--at", "3000,0",
        "--token-file", str(token), "--json", *server,
    )  # fmt: skip
    assert out.returncode == 1 and json.loads(out.stdout)["error"]["code"] == "UNKNOWN_SHIP"
    out = await asyncio.to_thread(
        run_cli, "admin", "gm", "teleport", "sandbox", "5", "--at", "far", *server
    )
    assert out.returncode == 2 and "a point is X,Y" in out.stderr
    out = await asyncio.to_thread(
        run_cli, "admin", "gm", "teleport", "sandbox", "5", "--at", "1,1", *server
    )
    assert out.returncode == 2 and "say who is acting" in out.stderr
    out = await asyncio.to_thread(
        run_cli, "admin", "gm", "audit", "sandbox", "--token-file", str(token), *server
    )
    assert out.returncode == 0 and "gm_teleport" in out.stdout and "Olga" in out.stdout
    helped = await asyncio.to_thread(run_cli, "admin", "gm", "teleport", "--help")
    assert helped.returncode == 0 and "--station" in helped.stdout
    # bad input from the shell: each a clear code, exit status 2, nothing done
    empty = empty_sector(SEED)
    as_token = ("--token-file", str(token), *server)
    for argv, code in (
        (("teleport", "sandbox", str(pete.ship), "--at", "9000000,0"), "OUT_OF_BOUNDS"),
        (("teleport", "sandbox", str(pete.ship), f"--sector={empty[0]},{empty[1]}",
          "--at", "3000,0"), "NO_SYSTEM"),
        (("set", "sandbox", str(pete.ship), "--hull", "battlestar"), "BAD_FIELD"),
        (("set", "sandbox", str(pete.ship), "--fuel=-1"), "BAD_NUMBER"),
        (("set", "sandbox", "31337", "--fuel", "1"), "UNKNOWN_SHIP"),
        (("freeze", "sandbox", f"{empty[0]},{empty[1]}"), "NO_SYSTEM"),
    ):  # fmt: skip
        out = await asyncio.to_thread(run_cli, "admin", "gm", *argv, *as_token)
        assert out.returncode == 2 and f"callister: {code}:" in out.stderr, (argv, out)
    out = await asyncio.to_thread(
        run_cli, "admin", "gm", "give", "sandbox", str(pete.ship), "--credits", "100",
        "--items", "iron=2", "--json", *as_token,
    )  # fmt: skip
    assert out.returncode == 0 and json.loads(out.stdout)["items"] == {"iron": 2}, out
    out = await asyncio.to_thread(run_cli, "admin", "gm", "ship", "sandbox", "marked", *as_token)
    assert out.returncode == 0, out
    await pump_until([olga], lambda: olga.ents.get(olga.ship, {}).get("gm") is True)
