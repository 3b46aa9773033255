"""Every admin endpoint refuses anonymous users (401) and players (403), one by one; the
player endpoints refuse anonymous users."""

from __future__ import annotations

import aiohttp
import pytest
from tests.conftest import LiveServer

from callister.server.admin_routes import ADMIN_ENDPOINTS

PLAYER_ENDPOINTS = (
    ("GET", "/api/worlds"),
    ("POST", "/api/worlds"),
    ("POST", "/api/worlds/{name}/invite"),
    ("POST", "/api/worlds/{name}/join"),
    ("POST", "/api/worlds/{name}/leave"),
    ("POST", "/api/worlds/{name}/move"),
    ("POST", "/api/worlds/{name}/home"),
)


async def token(live: LiveServer, http: aiohttp.ClientSession, name: str, role: str) -> str:
    async with http.post(
        live.http + "/api/register", json={"name": name, "password": "pw-12345678"}
    ) as resp:
        data = await resp.json()
    if role != "player":
        await live.services.writer.call(live.services.store.accounts.set_role, name, role)
    return str(data["token"])


async def call(
    http: aiohttp.ClientSession, live: LiveServer, method: str, path: str, tok: str | None
) -> int:
    headers = {"Authorization": f"Bearer {tok}"} if tok else {}
    url = live.http + path.format(name="infinity")
    body = {"confirm": "infinity", "name": "x-fork", "account": "nobody", "from": "infinity"}
    async with http.request(method, url, json=body, headers=headers) as resp:
        return resp.status


@pytest.mark.parametrize(("method", "path"), ADMIN_ENDPOINTS)
async def test_admin_endpoint_refuses_anonymous_and_players(
    live: LiveServer, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    player = await token(live, http, "Plain", "player")
    moderator = await token(live, http, "Modest", "moderator")
    assert await call(http, live, method, path, None) == 401
    assert await call(http, live, method, path, "not-a-token") == 401
    assert await call(http, live, method, path, player) == 403
    assert await call(http, live, method, path, moderator) == 403
    # nothing happened: the public world is still there and has no deletion job
    store = live.services.store
    assert await live.services.writer.call(store.deletions.get, "infinity") is None
    assert await live.services.writer.call(store.worlds.get, "x-fork") is None


@pytest.mark.parametrize(("method", "path"), PLAYER_ENDPOINTS)
async def test_player_endpoint_refuses_anonymous(
    live: LiveServer, http: aiohttp.ClientSession, method: str, path: str
) -> None:
    assert await call(http, live, method, path, None) == 401
    assert await call(http, live, method, path, "not-a-token") == 401


async def test_admin_gets_through(live: LiveServer, http: aiohttp.ClientSession) -> None:
    admin = await token(live, http, "Boss", "admin")
    assert await call(http, live, "GET", "/api/admin/worlds", admin) == 200
    assert await call(http, live, "GET", "/api/admin/worlds/audit", admin) == 200
    # invite/create are admin-or-owner / admin-or-allowed: a player is refused with 403
    player = await token(live, http, "Pleb", "player")
    assert await call(http, live, "POST", "/api/worlds/{name}/invite", player) == 403
    assert await call(http, live, "POST", "/api/worlds", player) == 403
