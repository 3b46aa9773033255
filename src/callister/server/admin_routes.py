"""HTTP routes for issue 5: worlds, the kill switch and the admin console's API.

Players: GET /api/worlds, POST /api/worlds (when players_own_worlds), /api/worlds/{name}/
invite|join|leave|move|home. Administrators: /api/admin/worlds (list, fork, delete, approve,
cancel, audit). Every route checks the bearer token (401) and the role (403) first.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from callister.server.http import (
    SERVICES,
    current_account,
    error,
    json_body,
    page,
    require_role,
)
from callister.store import (
    Account,
    NameTaken,
    NoSuchCharacter,
    NotFound,
    StoreError,
    WorldRecord,
)
from callister.worlds import WorldRules

if TYPE_CHECKING:
    from callister.server.world_host import WorldHost

log = logging.getLogger(__name__)
WORLD_HOST: web.AppKey[WorldHost] = web.AppKey("world_host")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _account(request: web.Request, *roles: str) -> Account:
    account = await current_account(request)  # 401
    if roles:
        require_role(account, *roles)  # 403
    return account


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    return await json_body(request)


def _host(request: web.Request) -> WorldHost:
    return request.app[WORLD_HOST]


def _guard(fn: Handler) -> Handler:
    """Map refusals to clear 4xx answers (auth errors pass through as raised)."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except web.HTTPException:
            raise
        except NameTaken as exc:
            return error(409, "NAME_TAKEN", str(exc))
        except NoSuchCharacter as exc:
            return error(404, "NO_SUCH_CHARACTER", str(exc))
        except (NotFound, LookupError) as exc:
            # a KeyError's str() is its repr: quoted; its message is the argument itself
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            return error(404, "NO_SUCH_WORLD", str(message))
        except PermissionError as exc:
            return error(403, "FORBIDDEN", str(exc))
        except ValueError as exc:
            return error(400, "BAD_FIELD", str(exc))
        except StoreError as exc:
            log.exception("world request failed")
            return error(500, "INTERNAL", str(exc))

    return wrapped


async def _admitted(host: WorldHost, account: Account, world: str) -> None:
    """Refuse (403 if the world exists, else 404) when the account may not enter `world`."""
    refusal = await host.admit(account, world)
    if refusal is not None:
        raise PermissionError(refusal) if world in host.records else LookupError(refusal)


async def _account_by_name(request: web.Request, name: Any) -> Account:
    services = _host(request).services
    if not isinstance(name, str) or not name:
        raise ValueError("'account' must be an account's name")
    account = await services.writer.call(services.store.accounts.by_name, name)
    if account is None:
        raise NotFound(f"no account named {name}")
    return account


def _world_json(host: WorldHost, record: WorldRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "seed": str(record.seed),
        "owner": record.owner,
        "visibility": record.visibility,
        "player_limit": record.player_limit,
        "rules": record.rules,
        "state": record.state,
        "public": record.name == host.public,
        "running": record.name in host.runtimes,
        "players": host.population(record.name),
        "params": record.params,
    }


# ----------------------------------------------------------------------------- players
@_guard
async def list_worlds(request: web.Request) -> web.Response:
    account = await _account(request)
    host = _host(request)
    home = await host.call(host.store.worlds.get_home, account.id) or host.public
    return web.json_response({"worlds": host.worlds_for(account), "home": home})


@_guard
async def create_world(request: web.Request) -> web.Response:
    account = await _account(request)
    host = _host(request)
    body = await _body(request)
    visibility = body.get("visibility", "private")
    if account.role != "admin":
        if not host.settings.players_own_worlds:
            raise PermissionError("only administrators may create worlds on this server")
        if visibility == "public":
            raise PermissionError("players may create private or invite-only worlds only")
        owned = [r for r in host.records.values() if r.owner == account.id]
        if len(owned) >= host.settings.player_world_limit:
            raise PermissionError(f"you own {len(owned)} worlds; the limit is reached")
    seed = body.get("seed")
    if seed is None:
        seed = secrets.randbits(63)
    elif isinstance(seed, str):
        try:
            seed = int(seed)
        except ValueError:
            raise ValueError("'seed' must be an integer") from None
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError("'seed' must be an integer")
    rules = WorldRules.from_dict(body.get("rules"))
    limit = body.get("player_limit", 0)
    record = WorldRecord(
        name=body.get("name"),  # type: ignore[arg-type]  # validated by the store
        seed=seed,
        owner=None if account.role == "admin" and not body.get("own") else account.id,
        visibility=visibility,
        player_limit=limit,
        rules=rules.to_dict(),
        params=_params(body.get("params")),
    )
    created = await host.create(record, account.id)
    return web.json_response(_world_json(host, created), status=201)


def _params(data: Any) -> dict[str, Any]:
    """A world record's stored generator parameters from a request's "params" (a JSON object
    of GeneratorParams; absent: the defaults). GeneratorParamsError (400) names the field."""
    from callister.worlds.content import params_of, stored_params

    if data is not None and not isinstance(data, dict):
        raise ValueError("'params' must be a JSON object of generator parameters")
    return stored_params(params_of(data))


def _name(request: web.Request) -> str:
    return request.match_info["name"]


async def _owner_or_admin(request: web.Request) -> tuple[Account, WorldHost, WorldRecord]:
    account = await _account(request)
    host = _host(request)
    record = await host.record(_name(request))
    if record is None:
        raise NotFound(f"no world named {_name(request)}")
    if account.role != "admin" and record.owner != account.id:
        raise web.HTTPForbidden(text="needs role admin or the world's owner")
    return account, host, record


async def _entering(request: web.Request) -> tuple[Account, WorldHost, str]:
    """The account, the host and the world the path names, which the account may enter."""
    account = await _account(request)
    host = _host(request)
    name = _name(request)
    await _admitted(host, account, name)
    return account, host, name


@_guard
async def invite(request: web.Request) -> web.Response:
    account, host, record = await _owner_or_admin(request)
    body = await _body(request)
    guest = await _account_by_name(request, body.get("account"))
    await host.invite(record.name, guest.id, account.id)
    return web.json_response({"world": record.name, "invited": guest.name})


@_guard
async def join(request: web.Request) -> web.Response:
    account, host, name = await _entering(request)
    await host.join(name, account.id)
    return web.json_response({"world": name, "membership": "member"})


@_guard
async def leave(request: web.Request) -> web.Response:
    account = await _account(request)
    host = _host(request)
    name = _name(request)
    if await host.record(name) is None:
        raise NotFound(f"no world named {name}")
    removed = await host.leave(name, account.id)
    return web.json_response({"world": name, "left": removed})


@_guard
async def move(request: web.Request) -> web.Response:
    """Move a character (yours; an admin may name `account`) from world `from` to this one."""
    account = await _account(request)
    host = _host(request)
    destination = _name(request)
    body = await _body(request)
    source = body.get("from")
    if not isinstance(source, str) or await host.record(source) is None:
        raise NotFound(f"no world named {source!r} to move from")
    who = account
    if body.get("account") is not None and body.get("account") != account.name:
        if account.role != "admin":
            raise PermissionError("only administrators may move another player's character")
        who = await _account_by_name(request, body.get("account"))
    await _admitted(host, who, destination)
    result = await host.move(who.id, source, destination, account.id)
    return web.json_response(
        {
            "account": who.id,
            "from": source,
            "to": destination,
            "ship": result.ship_id,
            "credits": result.credits,
            "cargo": result.cargo,
            "aboard": result.moved_rows,
            "audit": result.audit_id,
        }
    )


@_guard
async def set_home(request: web.Request) -> web.Response:
    account, host, name = await _entering(request)
    await host.call(host.store.worlds.set_home, account.id, name)
    return web.json_response({"home": name})


# ----------------------------------------------------------------------------- admins
@_guard
async def admin_worlds(request: web.Request) -> web.Response:
    await _account(request, "admin")
    host = _host(request)
    await host.refresh()  # worlds another process (the command line) created are listed too
    jobs = {j.world: j for j in await host.call(host.store.deletions.all)}
    out = []
    for record in sorted(host.records.values(), key=lambda r: r.name):
        stats = await host.call(host.store.worlds.stats, record.name)
        item = _world_json(host, record)
        item.update(characters=stats["characters"], systems=stats["systems"], rows=stats["rows"])
        job = jobs.get(record.name)
        item["job"] = (
            None
            if job is None
            else {
                "state": job.state,
                "requested_by": job.requested_by,
                "approvals": job.approvals,
                "approve_by": job.approve_by,
                "ends_at": job.ends_at,
                "progress": job.progress,
            }
        )
        members = host.members.get(record.name, {})
        item["members"] = len(members)
        out.append(item)
    return web.json_response({"worlds": out, "settings": _kill_settings(host)})


def _kill_settings(host: WorldHost) -> dict[str, Any]:
    s = host.settings
    return {
        "approval": s.kill_switch_two_person,  # for worlds with players or data
        "approval_s": s.world_delete_approval_s,
        "countdown_s": s.world_delete_countdown_s,
    }


@_guard
async def admin_fork(request: web.Request) -> web.Response:
    account = await _account(request, "admin")
    host = _host(request)
    source = await host.record(_name(request))
    if source is None:
        raise NotFound(f"no world named {_name(request)}")
    body = await _body(request)
    seed = body.get("seed", str(source.seed))
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise ValueError("'seed' must be an integer") from None
    record = WorldRecord(
        name=body.get("name"),  # type: ignore[arg-type]
        seed=seed,
        owner=None,
        visibility=body.get(
            "visibility", source.visibility if source.name != host.public else "private"
        ),
        player_limit=source.player_limit,
        rules=WorldRules.from_dict(body.get("rules", source.rules)).to_dict(),
        # the source's map unless new generator parameters are given
        params=_params(body["params"]) if "params" in body else source.params,
    )
    result = await host.fork(source.name, record, account.id)
    return web.json_response({"world": record.name, "from": source.name, **result}, status=201)


@_guard
async def admin_delete(request: web.Request) -> web.Response:
    account = await _account(request, "admin")
    host = _host(request)
    body = await _body(request)
    override = body.get("override", False)
    if not isinstance(override, bool):
        raise ValueError("'override' must be true or false")
    job = await host.request_delete(_name(request), account, body.get("confirm"), override)  # type: ignore[arg-type]
    return web.json_response(
        {
            "world": job.world,
            "state": job.state,
            "approve_by": job.approve_by,
            "ends_at": job.ends_at,
            "countdown_s": job.countdown_s,
        },
        status=202,
    )


@_guard
async def admin_approve(request: web.Request) -> web.Response:
    account = await _account(request, "admin")
    job = await _host(request).approve(_name(request), account)
    return web.json_response({"world": job.world, "state": job.state, "ends_at": job.ends_at})


@_guard
async def admin_cancel(request: web.Request) -> web.Response:
    account = await _account(request, "admin")
    done = await _host(request).cancel(_name(request), account)
    if not done:
        raise NotFound("no deletion of that world can be cancelled (none, or already deleting)")
    return web.json_response({"world": _name(request), "cancelled": True})


@_guard
async def admin_audit(request: web.Request) -> web.Response:
    await _account(request, "admin")
    host = _host(request)
    subject = request.query.get("subject") or None
    records = await host.call(host.store.worlds.list_audit, subject, 200)
    return web.json_response(
        {
            "audit": [
                {
                    "id": r.id,
                    "at": r.at,
                    "actor": r.actor,
                    "action": r.action,
                    "subject": r.subject,
                    "detail": r.detail,
                }
                for r in records
            ]
        },
        dumps=lambda o: json.dumps(o, separators=(",", ":")),
    )


async def admin_console(request: web.Request) -> web.StreamResponse:
    return page("admin.html")


# every admin endpoint, for the console and for the endpoint-by-endpoint auth test
ADMIN_ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("GET", "/api/admin/worlds"),
    ("POST", "/api/admin/worlds/{name}/fork"),
    ("POST", "/api/admin/worlds/{name}/delete"),
    ("POST", "/api/admin/worlds/{name}/approve"),
    ("POST", "/api/admin/worlds/{name}/cancel"),
    ("GET", "/api/admin/worlds/audit"),
    # server/content_routes.py (administrators, and a private world's owner)
    ("GET", "/api/admin/worlds/{name}/content"),
    ("PUT", "/api/admin/worlds/{name}/content"),
)


def register(app: web.Application) -> None:
    """Add this module's routes to the application (called once by app.build_app)."""
    from callister.server.world_host import WorldHost

    async def on_startup(app: web.Application) -> None:  # after build_app's own start-up
        host = WorldHost(app[SERVICES])
        await host.start()
        app[WORLD_HOST] = host

    async def on_shutdown(app: web.Application) -> None:  # before the store closes
        host = app.get(WORLD_HOST)
        if host is not None:
            await host.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    r = app.router
    r.add_get("/admin", admin_console)
    r.add_get("/api/worlds", list_worlds)
    r.add_post("/api/worlds", create_world)
    r.add_post("/api/worlds/{name}/invite", invite)
    r.add_post("/api/worlds/{name}/join", join)
    r.add_post("/api/worlds/{name}/leave", leave)
    r.add_post("/api/worlds/{name}/move", move)
    r.add_post("/api/worlds/{name}/home", set_home)
    r.add_get("/api/admin/worlds", admin_worlds)
    r.add_get("/api/admin/worlds/audit", admin_audit)
    r.add_post("/api/admin/worlds/{name}/fork", admin_fork)
    r.add_post("/api/admin/worlds/{name}/delete", admin_delete)
    r.add_post("/api/admin/worlds/{name}/approve", admin_approve)
    r.add_post("/api/admin/worlds/{name}/cancel", admin_cancel)
