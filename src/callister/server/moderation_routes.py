"""HTTP routes for issue 6: reports, footage, flags, the moderator console's API.

Every route under /api/mod/ needs the moderator or admin role: 401 without a valid token, 403
for any other role (tests/server/test_moderation_security.py tries each one). The console
itself is /mod (web/mod.html). The `Moderation` service starts with the app.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from callister.economy import player_account
from callister.economy.services import KINDS as SERVICE_KINDS
from callister.moderation.footage import MAX_FRAMES, FootageError
from callister.moderation.service import Moderation, ModerationError
from callister.server import admin_routes, crew_routes
from callister.server.http import (
    SERVICES,
    current_account,
    error,
    json_body,
    page,
    require_role,
)
from callister.store import Account, CloneFilter

log = logging.getLogger(__name__)
MODERATION = web.AppKey("moderation", Moderation)
ROLES = ("moderator", "admin")
Handler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]


def _guarded(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The role check every moderation route goes through, then errors as JSON."""

    async def route(request: web.Request) -> web.StreamResponse:
        account = await current_account(request)
        require_role(account, *ROLES)
        try:
            return await handler(request, account)
        except ModerationError as exc:
            return error(exc.status, exc.code, exc.message)
        except FootageError as exc:
            return error(400, "BAD_FOOTAGE", str(exc))
        except ValueError as exc:
            return error(400, "BAD_FIELD", str(exc))

    return route


def _int(request: web.Request, name: str, default: int | None = None) -> int:
    raw = request.match_info.get(name) or request.query.get(name)
    if raw is None:
        if default is None:
            raise ModerationError(400, "BAD_FIELD", f"'{name}' is required")
        return default
    if not raw.lstrip("-").isdigit() or len(raw) > 19:
        raise ModerationError(400, "BAD_FIELD", f"'{name}' must be an integer")
    return int(raw)


async def _body(request: web.Request) -> dict[str, Any]:
    return await json_body(request)


def _services(request: web.Request) -> tuple[Moderation, Any]:
    return request.app[MODERATION], request.app[SERVICES]


def _plain(record: Any) -> dict[str, Any]:
    out = dataclasses.asdict(record)
    out.pop("data", None)
    return out


# ---------------------------------------------------------------------------- the queue
async def queue(request: web.Request, account: Account) -> web.Response:
    mod, services = _services(request)
    store, writer, world = services.store, services.writer, services.world.name
    status = request.query.get("status", "open")
    state = None if status == "all" else status
    reports = await writer.call(store.moderation.list_reports, world, state, 200)
    flag_state = None if status == "all" else ("open" if status == "closed" else status)
    flags = await writer.call(store.moderation.list_flags, world, flag_state, 200)
    return web.json_response(
        {
            "reports": [_plain(r) for r in reports],
            "flags": [_plain(f) for f in flags],
            "zones": sorted(mod.recorders),
        }
    )


async def get_report(request: web.Request, account: Account) -> web.Response:
    _, services = _services(request)
    report = await services.writer.call(
        services.store.moderation.get_report, services.world.name, _int(request, "id")
    )
    if report is None:
        return error(404, "NOT_FOUND", "no such report")
    return web.json_response(_plain(report))


async def close_report(request: web.Request, account: Account) -> web.Response:
    _, services = _services(request)
    body = await _body(request)
    status = body.get("status", "closed")
    ok = await services.writer.call(
        services.store.moderation.set_report_status,
        services.world.name,
        _int(request, "id"),
        status,
    )
    return web.json_response({"ok": ok}, status=200 if ok else 404)


async def flag_status(request: web.Request, account: Account) -> web.Response:
    mod, services = _services(request)
    body = await _body(request)
    ok = await services.writer.call(
        services.store.moderation.set_flag_status,
        services.world.name,
        _int(request, "id"),
        body.get("status"),
    )
    mod.written.forget()  # a closed flag the detectors still find is opened again
    return web.json_response({"ok": ok}, status=200 if ok else 404)


async def run_detectors(request: web.Request, account: Account) -> web.Response:
    mod, _ = _services(request)
    findings = await mod.detect()
    return web.json_response({"findings": [dataclasses.asdict(f) for f in findings]})


# ---------------------------------------------------------------------------- footage
async def list_footage(request: web.Request, account: Account) -> web.Response:
    _, services = _services(request)
    rows = await services.writer.call(
        services.store.moderation.list_footage, services.world.name, 200
    )
    return web.json_response({"footage": [_plain(r) for r in rows]})


async def save_footage(request: web.Request, account: Account) -> web.Response:
    mod, services = _services(request)
    body = await _body(request)
    key = body.get("zone")
    target = body.get("account")
    if key is None and isinstance(target, int) and not isinstance(target, bool):
        pilot = services.world.pilots.get(target)
        key = pilot.zone_key if pilot is not None else None
    if not isinstance(key, str):
        raise ModerationError(400, "BAD_FIELD", "give 'zone' (a zone key) or an 'account' in one")
    seconds = body.get("seconds")
    if seconds is not None and (
        isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0
    ):
        raise ModerationError(400, "BAD_FIELD", "'seconds' must be a positive number")
    footage_id = await mod.save_footage(key, seconds, f"moderator {account.id}")
    await mod.act_audit(account.id, "save_footage", target if isinstance(target, int) else None,
                        {"footage": footage_id, "zone": key})  # fmt: skip
    return web.json_response({"id": footage_id}, status=201)


async def footage_meta(request: web.Request, account: Account) -> web.Response:
    mod, _ = _services(request)
    footage = await mod.load_footage(_int(request, "id"))
    return web.json_response(
        {
            "id": _int(request, "id"),
            "zone": footage.key,
            "tick_hz": footage.tick_hz,
            "start_tick": footage.start_tick,
            "end_tick": footage.end_tick,
            "started_at": footage.started_at,
            "system": footage.system,
            "names": {str(k): v for k, v in footage.names.items()},
            "marks": footage.marks,
            "max_frames": MAX_FRAMES,
        }
    )


async def footage_frames(request: web.Request, account: Account) -> web.Response:
    """Binary: frames `from`..`to` as u32 length + a full snapshot (protocol/snapshot.py)."""
    import asyncio

    mod, _ = _services(request)
    footage = await mod.load_footage(_int(request, "id"))
    start = _int(request, "from", footage.start_tick + 1)
    stop = _int(request, "to", min(footage.end_tick, start + 200))
    every = _int(request, "every", 1)
    if not 1 <= every <= 100:
        raise ModerationError(400, "BAD_FIELD", "'every' must be within [1, 100]")
    start = max(start, footage.start_tick + 1)
    stop = min(stop, footage.end_tick)
    loop = asyncio.get_running_loop()
    data, _events = await loop.run_in_executor(None, footage.frames, start, stop, every)
    return web.Response(body=data, content_type="application/octet-stream")


async def footage_events(request: web.Request, account: Account) -> web.Response:
    """The replayed zone events of the whole footage (the viewer's timeline)."""
    import asyncio

    mod, _ = _services(request)
    footage = await mod.load_footage(_int(request, "id"))

    def events() -> list[dict[str, Any]]:
        from callister.moderation.footage import event_json

        out: list[dict[str, Any]] = []
        for zone, evs in footage.replay():
            out.extend(event_json(zone.tick, e) for e in evs if type(e).__name__ not in _QUIET)
        return out[-5000:]

    loop = asyncio.get_running_loop()
    return web.json_response({"events": await loop.run_in_executor(None, events)})


_QUIET = frozenset({"Hit", "Mined", "Collided", "FuelEmpty"})


# ---------------------------------------------------------------------------- inspector
async def inspect_account(request: web.Request, account: Account) -> web.Response:
    mod, services = _services(request)
    store, writer, world = services.store, services.writer, services.world.name
    account_id = _int(request, "id")
    target = await writer.call(store.accounts.get, account_id)
    if target is None:
        return error(404, "NOT_FOUND", "no such account")
    character = await writer.call(store.characters.load, account_id, world)
    evidence = await writer.call(store.moderation.list_evidence, world, account_id, 100)
    audit = await writer.call(store.moderation.list_audit, world, account_id, 100)
    logins = await writer.call(store.moderation.list_logins, world, account_id, 50)
    player = player_account(account_id)
    balance = await writer.call(store.ledger.balance, world, player)
    last = {}
    for kind in ("trade", *SERVICE_KINDS, "death", "bounty", "loot"):
        txn = await writer.call(store.ledger.latest_txn, world, player, kind)
        if txn is not None:
            last[kind] = {
                "id": txn.id,
                "idem": txn.idem,
                "at": txn.created_at,
                "result": txn.result,
            }
    now = __import__("time").time()
    bans = [
        _plain(b) for b in await writer.call(store.moderation.bans_on, world, account_id, None, now)
    ]
    clones: list[dict[str, Any]] = []
    try:
        rows = await writer.call(store.clones.find, CloneFilter(world=world, owner_id=account_id))
        clones = [_plain(c) for c in rows]
    except Exception:
        log.exception("listing clones failed")
    pilot = services.world.pilots.get(account_id)
    return web.json_response(
        {
            "account": {
                "id": target.id, "name": target.name, "role": target.role,
                "created_at": target.created_at, "banned": target.banned,
            },
            "online": any(account_id in g.sessions for g in mod.gateways()),
            "zone": pilot.zone_key if pilot else None,
            "ship": character.ship_id if character else None,
            "character": _plain(character) if character else None,
            "credits": balance,
            "ledger": last,
            "evidence": [_plain(e) for e in evidence],
            "audit": [_plain(a) for a in audit],
            "logins": [_plain(x) for x in logins],
            "bans": bans,
            "clones": clones,
            "muted": mod.is_muted(account_id),
        },
        dumps=_dumps,
    )  # fmt: skip


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, default=str)


async def clones(request: web.Request, account: Account) -> web.Response:
    """Every clone of the world (`licence` filters: generated, licensed, unlicensed)."""
    _, services = _services(request)
    return await crew_routes.world_clones(services, request.query.get("licence"))


async def audit_log(request: web.Request, account: Account) -> web.Response:
    _, services = _services(request)
    rows = await services.writer.call(
        services.store.moderation.list_audit, services.world.name, None, 200
    )
    return web.json_response({"audit": [_plain(a) for a in rows]})


async def action(request: web.Request, account: Account) -> web.Response:
    mod, _ = _services(request)
    result = await mod.act(account.id, await _body(request))
    return web.json_response(result)


async def console(request: web.Request) -> web.StreamResponse:
    """The console page; its API calls carry the token, so the page itself is public."""
    return page("mod.html")


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/api/mod/queue", queue),
    ("GET", "/api/mod/reports/{id}", get_report),
    ("POST", "/api/mod/reports/{id}/status", close_report),
    ("POST", "/api/mod/flags/{id}/status", flag_status),
    ("POST", "/api/mod/detect", run_detectors),
    ("GET", "/api/mod/footage", list_footage),
    ("POST", "/api/mod/footage", save_footage),
    ("GET", "/api/mod/footage/{id}", footage_meta),
    ("GET", "/api/mod/footage/{id}/frames", footage_frames),
    ("GET", "/api/mod/footage/{id}/events", footage_events),
    ("GET", "/api/mod/accounts/{id}", inspect_account),
    ("GET", "/api/mod/audit", audit_log),
    ("GET", "/api/mod/clones", clones),
    ("POST", "/api/mod/actions", action),
]
"""Every moderation endpoint (the security test walks this list)."""


def register(app: web.Application, service: Callable[[Any], Moderation] | None = None) -> None:
    """Add this module's routes to the application (called once by app.build_app). `service`
    makes the Moderation service from the app's services (a cluster gateway's differs)."""
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, _guarded(handler))
    app.router.add_get("/mod", console)

    async def start(app: web.Application) -> None:
        services = app[SERVICES]
        if service is not None:  # a cluster gateway's: the workers moderate its sockets
            mod = service(services)
        else:
            mod = Moderation(services.world, services.gateway)
            services.gateway.moderate(mod)
        host = app.get(admin_routes.WORLD_HOST)  # started before us (build_app's order)
        if host is not None:  # kicks, bans and warnings reach every world's sockets
            mod.gateways = host.gateways
        app[MODERATION] = mod
        mod.start()

    async def stop(app: web.Application) -> None:
        if MODERATION in app:
            await app[MODERATION].stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
