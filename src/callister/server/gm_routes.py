"""HTTP routes for game masters (issue 18): the admin API over server/gm.py.

`POST /api/worlds/{name}/gm` takes the body of a WebSocket `gm` message (`op` and its fields;
`t` may be left out) and carries it out in that world, started on demand; `GET
/api/worlds/{name}/gm/audit` lists the world's game-master audit records. Both need a bearer
token (401) of an administrator or, in a private world, its owner (403 `FORBIDDEN` otherwise):
the same rule, and the same decoder, as the WebSocket (docs/protocol.md, "Game masters").
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from callister.protocol.errors import ProtocolError
from callister.protocol.gm import decode_gm
from callister.server.gm import HTTP_STATUS
from callister.worlds import gm_refusal

if TYPE_CHECKING:
    from callister.server.world_host import WorldHost
    from callister.store import Account, WorldRecord

from callister.server.admin_routes import WORLD_HOST
from callister.server.http import current_account, error, json_body

log = logging.getLogger(__name__)
GM_AUDIT_LIMIT = 500


async def _world_for(request: web.Request) -> tuple[Account, WorldHost, WorldRecord]:
    """The caller (401), the world (404 NO_SUCH_WORLD) and the game-master check (403)."""
    account = await current_account(request)
    host = request.app[WORLD_HOST]
    name = request.match_info["name"]
    record = await host.record(name)
    if record is None or record.state != "live":
        raise _Refused(404, "NO_SUCH_WORLD", f"no world named {name}")
    refusal = gm_refusal(account.id, account.role, record.owner, name == host.public)
    if refusal is not None:
        raise _Refused(403, "FORBIDDEN", f"{refusal} (world {name})")
    return account, host, record


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def gm_command(request: web.Request) -> web.Response:
    try:
        account, host, record = await _world_for(request)
        body = await json_body(request) if request.can_read_body else {}
        if body.get("t", "gm") != "gm":
            raise _Refused(400, "BAD_FIELD", "'t' must be \"gm\" (or left out)")
        msg = decode_gm(body)
        runtime = await host.runtime(record.name)
        done = await runtime.world.gm.run(account.id, msg)
    except _Refused as exc:
        return error(exc.status, exc.code, exc.message)
    except ProtocolError as exc:
        return error(HTTP_STATUS.get(exc.code, 400), str(exc.code), exc.message)
    except LookupError as exc:  # the world went away between the check and the start
        return error(404, "NO_SUCH_WORLD", str(exc))
    return web.json_response(done)


async def gm_audit(request: web.Request) -> web.Response:
    try:
        _, host, record = await _world_for(request)
    except _Refused as exc:
        return error(exc.status, exc.code, exc.message)
    entries = await host.call(host.store.moderation.list_audit, record.name, None, GM_AUDIT_LIMIT)
    out: list[dict[str, Any]] = [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.moderator_id,
            "action": e.action,
            "target_account": e.target_account,
            "reason": e.reason,
            "detail": e.detail,
        }
        for e in entries
        if e.action.startswith("gm_")
    ]
    return web.json_response({"world": record.name, "audit": out})


GM_ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("POST", "/api/worlds/{name}/gm"),
    ("GET", "/api/worlds/{name}/gm/audit"),
)


def register(app: web.Application) -> None:
    """Add the game-master routes (called once by app.build_app, after admin_routes)."""
    app.router.add_post("/api/worlds/{name}/gm", gm_command)
    app.router.add_get("/api/worlds/{name}/gm/audit", gm_audit)
