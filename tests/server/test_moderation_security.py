"""Every moderation endpoint: 401 anonymous, 403 as a player, endpoint by endpoint."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from callister.server.moderation_routes import ROUTES


async def test_every_moderation_endpoint_checks_the_role(
    live: Any, http: aiohttp.ClientSession
) -> None:
    body = {"name": "plainplayer", "password": "player-pass-1"}
    async with http.post(f"{live.http}/api/register", json=body) as resp:
        token = (await resp.json())["token"]
    assert ROUTES
    for method, path, _ in ROUTES:
        url = live.http + path.replace("{id}", "1")
        for headers, want in (({}, 401), ({"Authorization": f"Bearer {token}"}, 403)):
            async with http.request(method, url, headers=headers, json={}) as resp:
                assert resp.status == want, (method, path, headers, resp.status)


@pytest.mark.parametrize("role", ["moderator", "admin"])
async def test_moderators_and_admins_get_in(
    live: Any, http: aiohttp.ClientSession, role: str
) -> None:
    body = {"name": f"staff-{role}", "password": "staff-pass-12"}
    async with http.post(f"{live.http}/api/register", json=body) as resp:
        token = (await resp.json())["token"]
    live.services.store.accounts.set_role(body["name"], role)
    async with http.get(
        f"{live.http}/api/mod/queue", headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        assert resp.status == 200
