"""A ban or a mute holds per account everywhere, on a live server with real sockets: every
world's WebSocket (a private world's too), login, registration, every HTTP route with an old
token, clone creation; an address ban likewise; a temporary ban ends by itself; staff act in a
role order (player < moderator < admin)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.conftest import LiveServer
from tests.server.test_shared_ships import board
from tests.server.wsclient import close_code, next_json, pump_until, record

from callister.bots.client import Bot
from callister.store import CloneFilter

PASSWORD = "bans-pass-123"


async def account(
    live: LiveServer, http: aiohttp.ClientSession, name: str, role: str = "player"
) -> Bot:
    bot = Bot(live.http, live.ws, name, PASSWORD, session=http, track_view=True, jump_every_s=0)
    await bot.register()
    if role != "player":
        await live.services.writer.call(live.services.store.accounts.set_role, name, role)
    return bot


def auth(bot: Bot) -> dict[str, str]:
    return {"Authorization": f"Bearer {bot.token}"}


def account_id(live: LiveServer, bot: Bot) -> int:
    found = live.services.store.accounts.by_name(bot.name)
    assert found is not None
    return found.id


async def call(
    http: aiohttp.ClientSession, live: LiveServer, method: str, path: str,
    headers: dict[str, str] | None = None, body: dict[str, Any] | None = None,
) -> tuple[int, Any]:  # fmt: skip
    async with http.request(method, live.http + path, json=body, headers=headers or {}) as r:
        try:
            return r.status, await r.json()
        except (aiohttp.ContentTypeError, ValueError):
            return r.status, await r.text()


async def act(
    http: aiohttp.ClientSession, live: LiveServer, staff: Bot, **body: Any
) -> tuple[int, Any]:
    return await call(http, live, "POST", "/api/mod/actions", auth(staff), {"reason": "x", **body})


async def hello(
    live: LiveServer, http: aiohttp.ClientSession, token: str | None, world: str | None = None
) -> tuple[str, int | None]:
    """One hello on a fresh socket: (the first message's type or error code, the close code;
    None while the socket stays open)."""
    ws = await http.ws_connect(live.ws, max_msg_size=1 << 20)
    msg: dict[str, Any] = {"t": "hello", "token": token, "v": 1}
    if world is not None:
        msg["world"] = world
    await ws.send_str(json.dumps(msg))
    first = await ws.receive(timeout=10)
    if first.type != aiohttp.WSMsgType.TEXT:
        return str(first.type), await close_code(ws)
    data = json.loads(first.data)
    if data["t"] != "error":
        await ws.close()
        return str(data["t"]), None
    return str(data["code"]), await close_code(ws)


async def login(http: aiohttp.ClientSession, live: LiveServer, name: str) -> tuple[int, Any]:
    return await call(http, live, "POST", "/api/login", body={"name": name, "password": PASSWORD})


async def private_world(
    http: aiohttp.ClientSession, live: LiveServer, admin: Bot, *guests: Bot
) -> str:
    status, made = await call(http, live, "POST", "/api/worlds", auth(admin),
                              {"name": "haven", "visibility": "invite", "seed": 7})  # fmt: skip
    assert status == 201, made
    for guest in guests:
        status, _ = await call(http, live, "POST", "/api/worlds/haven/invite", auth(admin),
                               {"account": guest.name})  # fmt: skip
        assert status == 200
    return "haven"


@pytest.fixture
async def elsewhere() -> AsyncIterator[aiohttp.ClientSession]:
    """A client on another loopback address (127.0.0.2): a different player's connection, as
    the server sees it, for address bans."""
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


# ---------------------------------------------------------------------------- account bans
class Banned:
    """A server where the moderator Warden banned Grief, a guest of the private world haven."""

    def __init__(self, live: LiveServer, http: aiohttp.ClientSession) -> None:
        self.live, self.http = live, http

    async def setup(self, connected: bool) -> Banned:
        live, http = self.live, self.http
        self.admin = await account(live, http, "Root", "admin")
        self.mod = await account(live, http, "Warden", "moderator")
        self.grief = await account(live, http, "Grief")
        self.world = await private_world(http, live, self.admin, self.grief)
        self.grief.world = self.world
        if connected:
            await self.grief.connect()  # in the invited private world
        self.ban = await act(http, live, self.mod, action="ban",
                             account=account_id(live, self.grief))  # fmt: skip
        assert self.ban[0] == 200, self.ban
        return self


async def test_a_ban_closes_the_accounts_socket_in_a_private_world(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    banned = await Banned(live, http).setup(connected=True)
    assert banned.ban[1]["closed"] is True  # not only a socket in the public world
    assert banned.grief.ws is not None
    assert await close_code(banned.grief.ws) == 4403


async def test_a_banned_account_enters_no_world(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    banned = await Banned(live, http).setup(connected=False)
    for target in (banned.world, "infinity", None):  # private, public, home
        assert await hello(live, http, banned.grief.token, target) == ("AUTH_FAILED", 4403)


async def test_a_banned_accounts_token_is_refused_on_every_http_route(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    banned = await Banned(live, http).setup(connected=False)
    grief = banned.grief
    for method, path, body in (
        ("GET", "/api/me", None),
        ("GET", "/api/me/discovered", None),
        ("GET", "/api/worlds", None),
        ("POST", f"/api/worlds/{banned.world}/join", None),
        ("POST", "/api/clones", {"subject": "Grief"}),
        ("GET", "/api/clones", None),
    ):
        status, out = await call(http, live, method, path, auth(grief), body)
        assert status == 403, (path, out)
        assert out["error"]["code"] == "BANNED" and out["error"]["until"] is None, path
        assert "banned permanently" in out["error"]["message"]
    made = live.services.store.clones.find(CloneFilter(owner_id=account_id(live, grief)))
    assert made == []  # the clone was never created
    # dropping the token is allowed (it only gives up access); afterwards it is unknown
    assert (await call(http, live, "POST", "/api/logout", auth(grief)))[0] == 204
    assert (await call(http, live, "GET", "/api/me", auth(grief)))[0] == 401


async def test_a_banned_account_cannot_log_in_until_unbanned(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    banned = await Banned(live, http).setup(connected=False)
    status, out = await login(http, live, "Grief")
    assert status == 403 and out["error"]["code"] == "BANNED", out
    # only the right password learns of the ban: a wrong one is just a bad login
    status, out = await call(http, live, "POST", "/api/login",
                             body={"name": "Grief", "password": "wrong-password"})  # fmt: skip
    assert status == 401 and out["error"]["code"] == "BAD_LOGIN"
    # an unban lets them back in everywhere
    grief = banned.grief
    status, out = await act(http, live, banned.mod, action="unban",
                            account=account_id(live, grief))  # fmt: skip
    assert status == 200 and out["lifted"] == 1, out
    assert (await login(http, live, "Grief"))[0] == 200
    assert (await call(http, live, "GET", "/api/me", auth(grief)))[0] == 200
    assert await hello(live, http, grief.token, banned.world) == ("welcome", None)


async def test_a_temporary_ban_ends_by_itself(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    mod = await account(live, http, "Warden", "moderator")
    brief = await account(live, http, "Brief")
    token = brief.token
    status, out = await act(http, live, mod, action="ban", account=account_id(live, brief),
                            hours=0.002)  # 7.2 s  # fmt: skip
    assert status == 200, out
    until = float(out["until"])

    def banned_then(answer_at: float, refused: bool) -> None:
        # an answer given before `until` must refuse; after it, either is right (the server
        # decided at some moment between the request and the answer)
        assert refused or answer_at >= until

    status, out = await login(http, live, "Brief")
    banned_then(time.time(), status == 403)
    if status == 403:
        assert out["error"]["code"] == "BANNED" and out["error"]["until"] == until
        assert "banned until" in out["error"]["message"]
    status, _ = await call(http, live, "GET", "/api/me", auth(brief))
    banned_then(time.time(), status == 403)
    _, closed = await hello(live, http, token)
    banned_then(time.time(), closed == 4403)
    # then it ends: login, the old token and the socket work again (poll; no sleep-and-hope)
    deadline = time.monotonic() + 60
    while (await login(http, live, "Brief"))[0] != 200:
        assert time.monotonic() < deadline, "the temporary ban never ended"
        await asyncio.sleep(0.2)
    assert time.time() >= until
    assert (await call(http, live, "GET", "/api/me", auth(brief)))[0] == 200
    assert await hello(live, http, token) == ("welcome", None)


# ---------------------------------------------------------------------------- address bans
async def test_an_address_ban_keeps_out_every_account_from_that_address(
    live: LiveServer, http: aiohttp.ClientSession, elsewhere: aiohttp.ClientSession
) -> None:
    mod = await account(live, http, "Warden", "moderator")
    grief = await account(live, elsewhere, "Grief")  # plays from 127.0.0.2
    alt = await account(live, http, "Alt")  # a second account, made from 127.0.0.1
    status, out = await act(http, live, mod, action="ban", account=account_id(live, grief),
                            hours=24, address="127.0.0.2")  # fmt: skip
    assert status == 200 and out["address_ban"], out

    # from the banned address: no fresh account, no login, no socket, no HTTP with a token
    status, out = await call(elsewhere, live, "POST", "/api/register",
                             body={"name": "Fresh", "password": PASSWORD})  # fmt: skip
    assert status == 403 and out["error"]["code"] == "BANNED", out
    assert "127.0.0.2" in out["error"]["message"]
    assert live.services.store.accounts.by_name("Fresh") is None
    status, out = await login(elsewhere, live, "Alt")
    assert status == 403 and out["error"]["code"] == "BANNED", out
    assert await hello(live, elsewhere, alt.token) == ("AUTH_FAILED", 4403)
    status, out = await call(elsewhere, live, "GET", "/api/me", auth(alt))
    assert status == 403 and out["error"]["code"] == "BANNED"
    # the same account from another address is not banned (the address is)
    assert (await login(http, live, "Alt"))[0] == 200
    assert await hello(live, http, alt.token) == ("welcome", None)


# ---------------------------------------------------------------------------- mutes
async def test_a_mute_holds_in_a_private_world(
    live: LiveServer, http: aiohttp.ClientSession
) -> None:
    admin = await account(live, http, "Root", "admin")
    mod = await account(live, http, "Warden", "moderator")
    cap = await account(live, http, "Skip")
    gus = await account(live, http, "Gil")
    world = await private_world(http, live, admin, cap, gus)
    for bot in (cap, gus):
        bot.world = world
        await bot.connect()
    bots = [cap, gus]
    seen_cap = record(cap, "chat")
    seen_gus = record(gus, "invite", "aboard", "chat")
    await board(cap, gus, seen_gus, bots)
    await gus.send({"t": "crew_chat", "ship": cap.ship, "text": "hello captain"})
    await pump_until(bots, lambda: any(m["text"] == "hello captain" for m in seen_cap["chat"]))

    status, out = await act(http, live, mod, action="mute", account=account_id(live, gus),
                            hours=1)  # fmt: skip
    assert status == 200, out
    await gus.send({"t": "crew_chat", "ship": cap.ship, "text": "buy cheap credits at"})
    await pump_until(bots, lambda: gus.stats.error_codes.get("MUTED", 0) == 1)
    await cap.send({"t": "crew_chat", "ship": cap.ship, "text": "noted"})
    await pump_until(bots, lambda: any(m["text"] == "noted" for m in seen_gus["chat"]))
    assert not any("cheap credits" in m["text"] for m in seen_cap["chat"] + seen_gus["chat"])
    for bot in bots:
        await bot.close()


# ---------------------------------------------------------------------------- role order
async def test_staff_act_only_on_lower_roles(live: LiveServer, http: aiohttp.ClientSession) -> None:
    admin = await account(live, http, "Root", "admin")
    admin2 = await account(live, http, "Root2", "admin")
    mod = await account(live, http, "Warden", "moderator")
    mod2 = await account(live, http, "Warden2", "moderator")
    pat = await account(live, http, "Pat")
    await admin.connect()
    assert admin.ws is not None
    # a moderator may not act on a moderator (itself included) or an administrator
    for target in (admin, admin2, mod2, mod):
        for action in ("ban", "mute", "kick", "warn", "unban", "watch"):
            status, out = await act(http, live, mod, action=action,
                                    account=account_id(live, target))  # fmt: skip
            assert status == 403, (action, target.name, out)
            assert out["error"]["code"] == "OUTRANKED", out
            assert "lower role" in out["error"]["message"]
    # nor may an administrator act on an administrator
    status, out = await act(http, live, admin, action="ban", account=account_id(live, admin2))
    assert status == 403 and out["error"]["code"] == "OUTRANKED"
    # nothing happened: the admin is still connected and can log in; no audit entries
    assert (await login(http, live, "Root"))[0] == 200
    await admin.send({"t": "ping", "n": 1})
    assert (await next_json(admin.ws, "pong"))["n"] == 1
    status, audit = await call(http, live, "GET", "/api/mod/audit", auth(admin))
    assert status == 200 and audit["audit"] == []
    # a moderator acts on players; an administrator on moderators
    assert (await act(http, live, mod, action="warn", account=account_id(live, pat)))[0] == 200
    status, out = await act(http, live, admin, action="ban", account=account_id(live, mod2))
    assert status == 200, out
    status, out = await login(http, live, "Warden2")
    assert status == 403 and out["error"]["code"] == "BANNED"
    await admin.close()
