"""Issue 6 on a real server with real sockets: moderators spectate (invisible) or fly a marked
moderator ship, a mute silences chat, and the economic detectors read the live books."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from tests.conftest import LiveServer
from tests.server.test_combat import deadly, fire_until_destroyed, move_ship, zone_of
from tests.server.test_shared_ships import board
from tests.server.wsclient import (
    CheckedBot,
    buy_cheapest,
    cheapest_goods,
    close_code,
    next_json,
    player,
    pump_until,
    record,
    undock,
)

from callister.bots.client import Bot
from callister.sim.entities import KIND_SHIP

__all__ = ["deadly"]  # the fixture, imported for the loot test

MOD_PASSWORD = "moderator-pass-1"


async def staff(live: LiveServer, http: aiohttp.ClientSession, name: str, **hello: Any) -> Bot:
    """A moderator connected with these extra hello fields (spectate, follow, moderator_ship)."""
    bot = CheckedBot(live.http, live.ws, name, MOD_PASSWORD, session=http, track_view=True,
                     jump_every_s=0)  # fmt: skip
    await bot.register()
    live.services.store.accounts.set_role(name, "moderator")
    bot.hello_extra = hello
    await bot.connect()
    return bot


async def token_of(live: LiveServer, http: aiohttp.ClientSession, name: str) -> str:
    body = {"name": name, "password": MOD_PASSWORD}
    async with http.post(f"{live.http}/api/register", json=body) as resp:
        if resp.status == 201:
            return str((await resp.json())["token"])
    async with http.post(f"{live.http}/api/login", json=body) as resp:
        return str((await resp.json())["token"])


async def hello_answer(
    live: LiveServer, http: aiohttp.ClientSession, hello: dict[str, Any]
) -> tuple[str, int | None]:
    """Send one hello on a fresh socket: (the error code, the close code)."""
    ws = await http.ws_connect(live.ws)
    await ws.send_str(json.dumps({"t": "hello", "v": 1, **hello}))
    error = await next_json(ws, "error")
    return str(error["code"]), await close_code(ws)


async def moderator_auth(live: LiveServer, http: aiohttp.ClientSession) -> dict[str, str]:
    token = await token_of(live, http, "console-mod")
    live.services.store.accounts.set_role("console-mod", "moderator")
    return {"Authorization": f"Bearer {token}"}


async def flags(live: LiveServer, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    """Run the detectors through the console's route; the queue's open flags."""
    auth = await moderator_auth(live, http)
    async with http.post(f"{live.http}/api/mod/detect", headers=auth) as resp:
        assert resp.status == 200, await resp.text()
    async with http.get(f"{live.http}/api/mod/queue", headers=auth) as resp:
        return list((await resp.json())["flags"])


def ship_ids(bot: Bot) -> set[int]:
    return {int(r["id"]) for r in bot.view if int(r["kind"]) == KIND_SHIP}


# ------------------------------------------------------------------------------- spectating
async def test_spectate_and_moderator_ship_are_refused_to_anonymous_and_players(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    assert await hello_answer(live, http, {"token": "no-such-token", "spectate": True}) == (
        "AUTH_FAILED",
        4401,
    )
    pat = await player(live, http, "Pat")
    assert pat.token is not None
    for extra in ({"spectate": True}, {"spectate": True, "follow": "5"}, {"moderator_ship": True}):
        assert await hello_answer(live, http, {"token": pat.token, **extra}) == ("FORBIDDEN", 4405)
    # bad hellos: a clear code, the socket closed as for any bad hello
    for bad in (
        {"spectate": True, "moderator_ship": True},
        {"follow": "5"},  # follow without spectate
        {"spectate": "yes"},
        {"spectate": True, "follow": "ship-5"},
        {"spectate": True, "sector": [1]},
    ):
        code, closed = await hello_answer(live, http, {"token": pat.token, **bad})
        assert (code, closed) == ("BAD_FIELD", 4400), bad
    # a player in the game may not move a spectator's camera
    await pat.send({"t": "spectate", "follow": str(pat.ship)})
    await pump_until([pat], lambda: pat.stats.error_codes.get("FORBIDDEN", 0) >= 1)
    assert pat.ws is not None and not pat.ws.closed
    await pat.close()


async def test_spectator_follows_a_player_across_a_jump_and_is_seen_by_nobody(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    world = live.services.world
    ann = await player(live, http, "Ann")
    ben = await player(live, http, "Ben")
    eye = await staff(live, http, "Eye", spectate=True, follow=str(ann.ship))
    bots = [ann, ben, eye]
    assert eye.welcome["ship"] == 0 and eye.welcome["spectate"] is True
    await pump_until(bots, lambda: ann.ship in ship_ids(eye) and ben.ship in ship_ids(eye))
    assert eye.spectating is not None and eye.spectating["follow"] == ann.ship
    assert eye.names[ann.ship] == "Ann"
    # the spectator has no ship: not a pilot, not in the zone, in nobody's view or ents
    eye_account = int(eye.welcome["account"])
    assert eye_account not in world.pilots and eye_account not in world.ship_owner.values()
    zone = zone_of(live, ann)
    assert zone.ship_count == 2 and zone.has_ship(ann.ship) and zone.has_ship(ben.ship)
    await pump_until(bots, lambda: all(ship_ids(b) == {ann.ship, ben.ship} for b in (ann, ben)))
    for bot in (ann, ben):
        assert "Eye" not in bot.names.values()

    # bad camera moves get clear errors and change nothing
    for bad, code in (
        ({"t": "spectate", "follow": "987654321"}, "NO_TARGET"),
        ({"t": "spectate", "sector": ["999999", "999999"]}, "NOT_AVAILABLE"),
        ({"t": "spectate"}, "BAD_FIELD"),
        ({"t": "spectate", "at": [1e12, 0]}, "BAD_NUMBER"),
        ({"t": "spectate", "follow": str(ann.ship), "at": [0, 0]}, "BAD_FIELD"),
        ({"t": "undock", "ship": str(ann.ship)}, "NOT_IN_WORLD"),
    ):
        before = eye.stats.error_codes.get(code, 0)
        await eye.send(bad)
        await pump_until(bots, lambda c=code, n=before: eye.stats.error_codes.get(c, 0) > n)
    assert eye.spectating["follow"] == ann.ship

    # switch to Ben, then back to Ann
    await eye.send({"t": "spectate", "follow": str(ben.ship)})
    await pump_until(bots, lambda: (eye.spectating or {}).get("follow") == ben.ship)
    await eye.send({"t": "spectate", "follow": str(ann.ship)})
    await pump_until(bots, lambda: (eye.spectating or {}).get("follow") == ann.ship)

    # Ann jumps: the spectator's camera goes with her into the next system
    await ann.send({"t": "undock", "ship": ann.ship})
    await pump_until(bots, lambda: not ann.docked)
    assert ann.system is not None
    target = ann.system["links"][0]
    await ann.send({"t": "jump", "ship": ann.ship, "to": target})
    await pump_until(bots, lambda: ann.stats.jumps == 1, timeout=15)
    await pump_until(
        bots,
        lambda: (
            eye.system is not None
            and [eye.system["x"], eye.system["y"]] == target
            and ann.ship in ship_ids(eye)
        ),
        timeout=10,
    )
    assert ben.ship not in ship_ids(eye)  # Ben stayed behind
    assert eye.spectating["sector"] == [str(target[0]), str(target[1])]
    for bot in bots:
        await bot.close()


async def test_moderator_ship_is_marked_in_other_players_view(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    cal = await player(live, http, "Cal")
    mod = await staff(live, http, "Marshal", moderator_ship=True)
    assert mod.ship and not mod.welcome.get("spectate")
    await pump_until([cal, mod], lambda: mod.ship in cal.ents and cal.ship in mod.ents)
    assert cal.ents[mod.ship]["mod"] is True and cal.ents[mod.ship]["name"] == "Marshal"
    assert "mod" not in cal.ents[cal.ship] and "mod" not in mod.ents[cal.ship]
    # back without the flag: the mark is lifted, and those who saw it hear so at once
    await mod.close()
    mod.hello_extra = {}
    await mod.connect()
    await pump_until([cal, mod], lambda: "mod" not in cal.ents[mod.ship])
    for bot in (cal, mod):
        await bot.close()


# ------------------------------------------------------------------------------------- mute
async def test_a_muted_player_cannot_chat(live: LiveServer, http: aiohttp.ClientSession) -> None:
    cap = await player(live, http, "Skip")
    gus = await player(live, http, "Gil")
    bots = [cap, gus]
    seen_cap = record(cap, "chat")
    seen_gus = record(gus, "invite", "aboard", "chat")
    await board(cap, gus, seen_gus, bots)
    ship = cap.ship
    await gus.send({"t": "crew_chat", "ship": ship, "text": "hello captain"})
    await pump_until(bots, lambda: any(m["text"] == "hello captain" for m in seen_cap["chat"]))

    auth = await moderator_auth(live, http)
    body = {"action": "mute", "account": gus.welcome["account"], "reason": "spam", "hours": 1}
    async with http.post(f"{live.http}/api/mod/actions", json=body, headers=auth) as resp:
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["until"] > 0
    await gus.send({"t": "crew_chat", "ship": ship, "text": "buy cheap credits at"})
    await pump_until(bots, lambda: gus.stats.error_codes.get("MUTED", 0) == 1)
    # the captain is not muted and is still heard; what was said before "noted" has arrived
    await cap.send({"t": "crew_chat", "ship": ship, "text": "noted"})
    await pump_until(bots, lambda: any(m["text"] == "noted" for m in seen_gus["chat"]))
    assert not any("cheap credits" in m["text"] for m in seen_cap["chat"] + seen_gus["chat"])
    async with http.get(
        f"{live.http}/api/mod/accounts/{gus.welcome['account']}", headers=auth
    ) as resp:
        assert (await resp.json())["muted"] is True
    for bot in bots:
        await bot.close()


# ------------------------------------------------------------------------------ economy
async def test_loot_between_accounts_from_one_address_raises_a_flag(
    deadly: LiveServer, http: aiohttp.ClientSession
) -> None:
    live = deadly
    main = await player(live, http, "Mainer")
    alt = await player(live, http, "Alter")  # same address (loopback): linked accounts
    # the alt buys cargo, gets itself destroyed by the main, and the main loots the wreck
    await buy_cheapest(alt, 2)
    old_ship = alt.ship
    await undock(main, alt)
    await pump_until([main, alt], lambda: bool(main.status))
    move_ship(live, alt, 250.0)
    await fire_until_destroyed(main, alt)
    await pump_until([main, alt], lambda: alt.ship != old_ship, timeout=15)
    await pump_until([main], lambda: any(n == "Wreck" for n in main.names.values()))
    wreck = next(i for i, n in main.names.items() if n == "Wreck")
    zone = zone_of(live, main)
    row, mrow = zone.store.row(wreck), zone.store.row(main.ship)
    zone.store.x[mrow], zone.store.y[mrow] = zone.store.x[row] + 50, zone.store.y[row]
    zone.store.vx[mrow] = zone.store.vy[mrow] = 0.0
    await main.send({"t": "loot", "ship": main.ship, "wreck": str(wreck)})
    await pump_until([main], lambda: any(e.get("kind") == "looted" for e in main.events))

    a, b = int(main.welcome["account"]), int(alt.welcome["account"])
    found = [f for f in await flags(live, http) if f["detector"] == "economy"]
    assert len(found) == 1, found
    flag = found[0]
    assert flag["account_id"] == a and flag["evidence"]["from"] == b
    assert flag["evidence"]["items"] == 2 and flag["evidence"]["how"] == ["loot"]
    assert flag["evidence"]["link"] == "address 127.0.0.1"
    assert flag["subject"] == f"link:{min(a, b)}:{max(a, b)}"
    # a second pass does not count the same loot twice
    again = [f for f in await flags(live, http) if f["detector"] == "economy"]
    assert [f["evidence"]["transfers"] for f in again] == [1]
    for bot in (main, alt):
        await bot.close()


async def test_replayed_rid_with_other_contents_raises_a_flag(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    tess = await player(live, http, "Dupe")
    item = await cheapest_goods(tess)
    first, code = await tess.request(
        {"t": "trade", "rid": "r-1", "item": item["key"], "qty": 1, "side": "buy"}
    )
    assert code is None and first is not None
    # an honest retry (same contents) is no anomaly
    del tess.receipts["r-1"]
    retry, _ = await tess.request(
        {"t": "trade", "rid": "r-1", "item": item["key"], "qty": 1, "side": "buy"}
    )
    assert retry is not None and retry["replay"]
    assert not [f for f in await flags(live, http) if f["detector"] == "economy"]
    # the same rid asking for five times as much: answered with the first receipt, nothing
    # carried out again, and flagged
    del tess.receipts["r-1"]
    dup, code = await tess.request(
        {"t": "trade", "rid": "r-1", "item": item["key"], "qty": 5, "side": "buy"}
    )
    assert code is None and dup is not None and dup["replay"]
    assert dup["credits"] == first["credits"] and dup["cargo"] == first["cargo"]
    world = live.services.world
    assert await world.writer.call(world.economy.books.cargo, tess.ship) == first["cargo"]
    found = [f for f in await flags(live, http) if f["detector"] == "economy"]
    assert len(found) == 1, found
    assert found[0]["account_id"] == int(tess.welcome["account"])
    assert found[0]["subject"] == "rid:trade:r-1" and found[0]["evidence"]["variants"] == 2
    await tess.close()
