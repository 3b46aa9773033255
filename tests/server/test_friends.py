"""Friends together (issue 16) on a real server over real HTTP and WebSockets: choosing the
home system at registration, starting where a friend is from an invite link, and parties
(invite, accept, leave, members' whereabouts), with every kind of bad input refused with its
code and nothing changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from callister.bots.client import Bot

from ..conftest import LiveServer, live_server, make_settings, running
from ..waiting import until
from .wsclient import CheckedBot, pump_until, record

# A server offering three home systems (of four), one-use invites.
live = live_server(home_systems=4, start_choices=3, invite_max_uses=1)


async def post(
    http: aiohttp.ClientSession, url: str, body: Any, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def register(
    live: LiveServer, http: aiohttp.ClientSession, name: str, **extra: Any
) -> tuple[int, dict[str, Any]]:
    body = {"name": name, "password": "password-" + name, **extra}
    return await post(http, f"{live.http}/api/register", body)


async def join(live: LiveServer, http: aiohttp.ClientSession, name: str, **extra: Any) -> Bot:
    """Register with `extra` (a home or an invite) and enter the world."""
    status, data = await register(live, http, name, **extra)
    assert status == 201, data
    bot = CheckedBot(live.http, live.ws, name, session=http, track_view=True, jump_every_s=0)
    bot.token = data["token"]
    bot.start = data["start"]  # type: ignore[attr-defined]
    await bot.connect()
    return bot


async def refused(bots: list[Bot], bot: Bot, msg: dict[str, Any]) -> str:
    """Send `msg`; the one error code it is answered with."""
    bot.stats.error_codes.clear()
    await bot.send(msg)
    await pump_until(bots, lambda: bool(bot.stats.error_codes))
    assert len(bot.stats.error_codes) == 1, (msg, bot.stats.error_codes)
    return next(iter(bot.stats.error_codes))


async def test_a_new_player_chooses_their_home_system(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    status, offered = await get(http, f"{live.http}/api/homes")
    assert status == 200 and len(offered["homes"]) == 3
    for home in offered["homes"]:
        assert home["name"] and home["station_name"] and home["links"] > 0
        assert all(isinstance(v, str) for v in home["system"])
    # two friends pick the same home, which is not the one the server would hand out first
    pick = offered["homes"][2]
    ann = await join(live, http, "Ann", home=pick["system"])
    bob = await join(live, http, "Bob", home=[int(v) for v in pick["system"]])  # numbers too
    for bot in (ann, bob):
        assert bot.start["system"] == pick["system"]  # type: ignore[attr-defined]
        assert bot.welcome["home"] == pick["system"]
        assert bot.welcome["home_station"] == pick["station"]
        assert [str(bot.system["x"]), str(bot.system["y"])] == pick["system"]  # type: ignore[index]
    # they are in the same system, docked at the same station: they see each other
    await pump_until([ann, bob], lambda: bob.ship in ann.positions())
    # without a choice: the server's own allocation (and `start` null)
    status, data = await register(live, http, "Cid")
    assert status == 201 and data["start"] is None


async def test_bad_home_choices_are_refused_and_make_no_account(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    _, offered = await get(http, f"{live.http}/api/homes")
    unoffered = live.services.world.homes[3]  # a home system, but not among the choices
    cases = [
        ([999_999, -999_999], 400, "UNKNOWN_HOME"),  # an unknown (or empty) system
        ([unoffered[0], unoffered[1]], 400, "UNKNOWN_HOME"),
        (["1", "x"], 400, "BAD_FIELD"),
        ([1], 400, "BAD_FIELD"),
        ("0:0", 400, "BAD_FIELD"),
        ([True, 0], 400, "BAD_FIELD"),
        ([2**64, 0], 400, "BAD_FIELD"),
    ]
    for home, status, code in cases:
        got, data = await register(live, http, "Dee", home=home)
        assert (got, data["error"]["code"]) == (status, code), home
    got, data = await register(
        live, http, "Dee", home=offered["homes"][0]["system"], invite="a" * 16
    )
    assert (got, data["error"]["code"]) == (400, "BAD_FIELD")
    # none of the refusals made the account: the name is still free
    got, data = await register(live, http, "Dee", home=offered["homes"][1]["system"])
    assert got == 201 and data["start"]["system"] == offered["homes"][1]["system"]


async def test_start_where_my_friend_is_from_an_invite_link(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    _, offered = await get(http, f"{live.http}/api/homes")
    home = offered["homes"][1]
    ann = await join(live, http, "Ann", home=home["system"])
    seen_ann = record(ann, "party")
    # Ann makes an invite link in the client
    status, made = await post(http, f"{live.http}/api/invites", {}, token=ann.token)
    assert status == 201, made
    assert made["link"] == f"/?invite={made['code']}" and made["max_uses"] == 1
    assert made["home"]["system"] == home["system"]
    # anyone may look at what it offers (the registration page shows it)
    status, info = await get(http, f"{live.http}/api/invites/{made['code']}")
    assert status == 200 and info["from"] == "Ann" and info["uses_left"] == 1
    assert info["home"]["name"] == home["name"]
    # Bob registers with it: he starts docked at Ann's home station, and Ann's party
    # invites him as he arrives
    bob = await join(live, http, "Bob", invite=made["code"])
    seen_bob = record(bob, "party_invite", "party")
    assert bob.start["invited_by"] == ann.welcome["account"]  # type: ignore[attr-defined]
    assert bob.welcome["home"] == home["system"]
    assert bob.welcome["home_station"] == home["station"]
    await pump_until([ann, bob], lambda: bool(seen_bob["party_invite"]), timeout=15)
    offer = seen_bob["party_invite"][-1]
    assert offer["from"] == ann.welcome["account"] and offer["name"] == "Ann"
    await bob.send({"t": "party_accept", "from": offer["from"]})
    both = lambda s: bool(s["party"]) and len(s["party"][-1]["members"]) == 2  # noqa: E731
    await pump_until([ann, bob], lambda: both(seen_ann) and both(seen_bob))
    party = seen_bob["party"][-1]
    assert party["leader"] == ann.welcome["account"]
    assert [m["name"] for m in party["members"]] == ["Ann", "Bob"]
    for m in party["members"]:
        assert m["online"] and m["system"] == home["system"] and m["docked"] == home["station"]
    # the code was for one registration: used up now
    status, data = await register(live, http, "Cid", invite=made["code"])
    assert (status, data["error"]["code"]) == (410, "INVITE_EXPIRED")
    status, data = await get(http, f"{live.http}/api/invites/{made['code']}")
    assert (status, data["error"]["code"]) == (410, "INVITE_EXPIRED")


async def test_bad_invite_codes_are_refused(live: LiveServer, http: aiohttp.ClientSession) -> None:
    for code, status, err in [
        ("short", 400, "BAD_INVITE"),
        ("no spaces allowed here!", 400, "BAD_INVITE"),
        ("A" * 65, 400, "BAD_INVITE"),
        ("wellformedbutunknown", 400, "BAD_INVITE"),
        (12345678901234567890, 400, "BAD_INVITE"),
    ]:
        got, data = await register(live, http, "Eve", invite=code)
        assert (got, data["error"]["code"]) == (status, err), code
    async with http.get(f"{live.http}/api/invites/wellformedbutunknown") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "BAD_INVITE"
    async with http.post(f"{live.http}/api/invites", json={}) as resp:
        assert resp.status == 401  # making an invite needs an account
    got, data = await register(live, http, "Eve")
    assert got == 201  # the refusals made no account
    # a player holds at most 20 usable invite links
    token = data["token"]
    for _ in range(20):
        status, _made = await post(http, f"{live.http}/api/invites", {}, token=token)
        assert status == 201
    status, refused = await post(http, f"{live.http}/api/invites", {}, token=token)
    assert (status, refused["error"]["code"]) == (429, "TOO_MANY_INVITES")


async def test_an_expired_invite_is_refused(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running(make_settings(tmp_path, home_systems=2, invite_ttl_s=2)) as server:
        status, data = await register(server, http, "Ann")
        status, made = await post(http, f"{server.http}/api/invites", {}, token=data["token"])
        assert status == 201

        async def gone() -> bool:
            got, _ = await get(http, f"{server.http}/api/invites/{made['code']}")
            return got == 410

        await until(gone, timeout=30)
        got, data = await register(server, http, "Bob", invite=made["code"])
        assert (got, data["error"]["code"]) == (410, "INVITE_EXPIRED")
        assert "expired" in data["error"]["message"]


async def test_parties_invite_accept_leave_and_refusals(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    ann, bob, cid, dee = [await join(live, http, n) for n in ("Ann", "Bob", "Cid", "Dee")]
    bots = [ann, bob, cid, dee]
    seen = {b.name: record(b, "party_invite", "party") for b in bots}
    ids = {b.name: b.welcome["account"] for b in bots}
    # Gus registered but is offline
    status, _ = await register(live, http, "Gus")
    assert status == 201
    # bad input: each refused with its code
    assert await refused(bots, ann, {"t": "party_invite", "name": "nobody_here"}) == "NOT_AVAILABLE"
    assert await refused(bots, ann, {"t": "party_invite", "name": "Gus"}) == "NOT_AVAILABLE"
    assert await refused(bots, ann, {"t": "party_invite", "name": "ann"}) == "BAD_FIELD"
    assert await refused(bots, ann, {"t": "party_invite"}) == "BAD_FIELD"
    assert await refused(bots, ann, {"t": "party_invite", "name": 7}) == "BAD_FIELD"
    assert await refused(bots, bob, {"t": "party_accept", "from": ids["Ann"]}) == "NOT_AVAILABLE"
    assert await refused(bots, bob, {"t": "party_accept", "from": "x"}) == "BAD_FIELD"
    assert await refused(bots, bob, {"t": "party_accept"}) == "BAD_FIELD"
    assert await refused(bots, bob, {"t": "party_decline", "from": 99}) == "NOT_AVAILABLE"
    assert await refused(bots, bob, {"t": "party_leave"}) == "NOT_AVAILABLE"
    # Ann invites Bob and Cid; Bob accepts: a party of two, led by Ann
    await ann.send({"t": "party_invite", "name": "bob"})  # names ignore case
    await ann.send({"t": "party_invite", "name": "Cid"})
    await pump_until(
        bots, lambda: bool(seen["Bob"]["party_invite"] and seen["Cid"]["party_invite"])
    )
    await pump_until(bots, lambda: len(seen["Ann"]["party"][-1]["invited"]) == 2)
    await bob.send({"t": "party_accept", "from": ids["Ann"]})
    in_party = lambda n, k: bool(seen[n]["party"]) and len(seen[n]["party"][-1]["members"]) == k  # noqa: E731
    await pump_until(bots, lambda: in_party("Ann", 2) and in_party("Bob", 2))
    assert seen["Bob"]["party"][-1]["leader"] == ids["Ann"]
    # Cid joins Dee's party instead, so Ann's invitation to Cid can no longer be taken: one
    # party per player
    await dee.send({"t": "party_invite", "name": "Cid"})
    await pump_until(
        bots, lambda: any(i["from"] == ids["Dee"] for i in seen["Cid"]["party_invite"])
    )
    await cid.send({"t": "party_accept", "from": ids["Dee"]})
    await pump_until(bots, lambda: in_party("Cid", 2) and in_party("Dee", 2))
    assert await refused(bots, cid, {"t": "party_accept", "from": ids["Ann"]}) == "IN_PARTY"
    assert await refused(bots, ann, {"t": "party_invite", "name": "Dee"}) == "IN_PARTY"
    assert await refused(bots, ann, {"t": "party_invite", "name": "Bob"}) == "IN_PARTY"
    # persisted: the store holds both parties
    store = live.services.store
    world = live.services.world.name
    party = store.parties.of(world, ids["Bob"])
    assert party is not None and party.members == (ids["Ann"], ids["Bob"])
    assert store.parties.of(world, ids["Cid"]).members == (ids["Dee"], ids["Cid"])  # type: ignore[union-attr]
    # members' whereabouts: Bob undocks and flies; Ann's party message follows him
    await bob.send({"t": "undock", "ship": bob.ship})

    def bob_in_space() -> bool:
        m = next(m for m in seen["Ann"]["party"][-1]["members"] if m["name"] == "Bob")
        return m["docked"] is None and m["x"] is not None and m["ship"] == bob.ship

    await pump_until(bots, bob_in_space)
    # Ann leaves: the party of one ends; Bob is told
    await ann.send({"t": "party_leave"})
    await pump_until(bots, lambda: seen["Bob"]["party"][-1]["party"] is None)
    assert seen["Ann"]["party"][-1]["party"] is None
    assert store.parties.of(world, ids["Bob"]) is None
    # and Bob may now join Dee's party
    await dee.send({"t": "party_invite", "name": "Bob"})
    await pump_until(
        bots, lambda: any(i["from"] == ids["Dee"] for i in seen["Bob"]["party_invite"])
    )
    await bob.send({"t": "party_decline", "from": ids["Dee"]})
    await pump_until(bots, lambda: not seen["Dee"]["party"][-1]["invited"])
    assert await refused(bots, bob, {"t": "party_accept", "from": ids["Dee"]}) == "NOT_AVAILABLE"


async def test_a_full_party_refuses_more(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running(make_settings(tmp_path, party_max=2)) as server:
        ann, bob, cid = [await join(server, http, n) for n in ("Ann", "Bob", "Cid")]
        bots = [ann, bob, cid]
        seen = record(bob, "party", "party_invite")
        seen_cid = record(cid, "party_invite")
        await ann.send({"t": "party_invite", "name": "Cid"})  # before the party is full
        await pump_until(bots, lambda: bool(seen_cid["party_invite"]))
        await ann.send({"t": "party_invite", "name": "Bob"})
        await pump_until(bots, lambda: bool(seen["party_invite"]))
        await bob.send({"t": "party_accept", "from": ann.welcome["account"]})
        await pump_until(
            bots, lambda: bool(seen["party"]) and len(seen["party"][-1]["members"]) == 2
        )
        assert await refused(bots, ann, {"t": "party_invite", "name": "Cid"}) == "PARTY_FULL"
        got = await refused(bots, cid, {"t": "party_accept", "from": ann.welcome["account"]})
        assert got == "PARTY_FULL"


async def test_a_party_outlives_a_restart(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    settings = make_settings(tmp_path)
    async with running(settings) as server:
        ann, bob = [await join(server, http, n) for n in ("Ann", "Bob")]
        seen = record(bob, "party_invite", "party")
        await ann.send({"t": "party_invite", "name": "Bob"})
        await pump_until([ann, bob], lambda: bool(seen["party_invite"]))
        await bob.send({"t": "party_accept", "from": ann.welcome["account"]})
        await pump_until([ann, bob], lambda: bool(seen["party"]) and seen["party"][-1]["party"])
        party_id = seen["party"][-1]["party"]
        for bot in (ann, bob):
            await bot.close()
    # the same database, a new server process: the party is there when they come back
    async with running(settings) as server:
        back = []
        for bot in (ann, bob):
            again = CheckedBot(server.http, server.ws, bot.name, session=http, jump_every_s=0)
            again.token = bot.token
            back.append(again)
        seen_back = [record(b, "party") for b in back]
        for b in back:
            await b.connect()
        await pump_until(
            back,
            lambda: all(s["party"] and len(s["party"][-1]["members"]) == 2 for s in seen_back),
        )
        for s in seen_back:
            last = s["party"][-1]
            assert last["party"] == party_id and last["leader"] == ann.welcome["account"]
            assert all(m["online"] for m in last["members"])
