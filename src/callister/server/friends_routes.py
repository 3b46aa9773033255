"""HTTP routes of "friends together" (issue 16; the rules are in server/friends.py):

- `GET /api/homes`: the home systems a new player may choose at registration.
- `POST /api/invites` (bearer): make an invite link: a friend registering with its code
  starts docked at your home station.
- `GET /api/invites/{code}`: what an invite offers (who, where), for the registration page.

Registration itself (`POST /api/register` with `home` or `invite`) is in app.py.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from callister.server import friends
from callister.server.http import SERVICES, current_account, error


def register(app: web.Application) -> None:
    """Add this module's routes to the application (called once by app.build_app)."""

    async def homes(request: web.Request) -> web.Response:
        world = request.app[SERVICES].world
        return web.json_response({"homes": await friends.offered_homes(world)})

    async def invite_post(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        account = await current_account(request)
        try:
            made = await friends.make_invite(services.world, account.id)
        except friends.StartRefused as exc:
            return error(exc.status, exc.code, str(exc))
        x, y, station = made.home
        start = friends.Start(account.id, services.world.name, x, y, station)
        where = await friends.describe_start(services.world, start)
        assert where is not None
        where.pop("invited_by", None)
        return web.json_response(
            {
                "code": made.code,
                "link": f"/?invite={made.code}",
                "expires_at": made.invite.expires_at,
                "max_uses": made.invite.max_uses,
                "home": where,
            },
            status=201,
        )

    async def invite_get(request: web.Request) -> web.Response:
        services = request.app[SERVICES]
        world = services.world
        try:
            code = friends.parse_code(request.match_info["code"])
            invite = friends.check_invite(
                await services.writer.call(services.store.invites.get, friends.code_hash(code)),
                world,
            )
        except friends.StartRefused as exc:
            return error(exc.status, exc.code, str(exc))
        account = await services.writer.call(services.store.accounts.get, invite.account_id)
        x, y, station = await friends.home_of(world, invite.account_id)
        where = await friends.describe_start(
            world, friends.Start(invite.account_id, world.name, x, y, station)
        )
        assert where is not None
        where.pop("invited_by", None)
        body: dict[str, Any] = {
            "from": account.name if account is not None else None,
            "home": where,
            "expires_at": invite.expires_at,
            "expires_in_s": max(0, round(invite.expires_at - time.time())),
            "uses_left": invite.max_uses - invite.uses,
        }
        return web.json_response(body)

    app.router.add_get("/api/homes", homes)
    app.router.add_post("/api/invites", invite_post)
    app.router.add_get("/api/invites/{code}", invite_get)
