"""The HTTP side of the server: accounts, universe look-ups, health, metrics, the client files,
and the WebSocket route handed to the gateway. `build_app` wires store, bus, world and gateway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sys
import time
from typing import Any

from aiohttp import web

import callister
from callister.moderation import admission
from callister.protocol.limits import MAX_HTTP_BODY
from callister.server import (
    admin_routes,
    content_routes,
    crew_routes,
    friends,
    friends_routes,
    gm_routes,
    heap,
    moderation_routes,
)
from callister.server.auth import (
    AuthError,
    Passwords,
    PasswordsBusy,
    Throttle,
    begin_login,
    check_name,
    check_password,
    finish_login,
    new_token,
    token_hash,
)
from callister.server.bus import InProcessBus, zone_key
from callister.server.gateway import Gateway
from callister.server.http import (
    SERVICES,
    WEB_DIR,
    Services,
    current_account,
    error,
    int_param,
    json_body,
    page,
    require_role,
    serve,
)
from callister.server.metrics import Metrics, refuse_scrape
from callister.server.settings import Settings
from callister.server.world import World, zone_health
from callister.server.writer import StoreWriter
from callister.store import Account, NameTaken, open_store
from callister.universe import DEFAULT_PARAMS
from callister.worlds.content import world_content, world_params

log = logging.getLogger(__name__)
GC_TIMER = web.AppKey("gc_timer", heap.PauseTimer)
MAX_MAP_RADIUS = 8
AUTH_COUNTERS = (
    "callister_password_checks_total",  # logins whose password was verified (argon2)
    "callister_password_hashes_total",  # registrations whose password was hashed
    "callister_auth_throttled_total",  # logins and registrations refused by a throttle (429)
    "callister_auth_busy_total",  # refused because the hashing queue was full (503)
)


def _retry_later(status: int, code: str, message: str, seconds: float) -> web.Response:
    """A refusal the client may retry after `seconds` (the Retry-After header, and in words)."""
    wait = max(1, math.ceil(seconds))
    response = error(status, code, f"{message}; retry in {wait} s")
    response.headers["Retry-After"] = str(wait)
    return response


def _throttled(services: Services, retry_after: float, message: str) -> web.Response:
    services.metrics.inc("callister_auth_throttled_total")
    return _retry_later(429, "THROTTLED", message, retry_after)


def _busy(services: Services, exc: PasswordsBusy) -> web.Response:
    services.metrics.inc("callister_auth_busy_total")
    return _retry_later(
        503,
        "BUSY",
        "too many logins and registrations are waiting for a password check",
        exc.retry_after,
    )


async def _admission(
    services: Services, request: web.Request, account: Account | None
) -> admission.Refusal | None:
    """The one admission check (account and the request's address) for login/registration."""
    return await services.writer.call(
        admission.refusal,
        services.store,
        services.settings.world_name,
        account,
        request.remote,
        time.time(),
    )


async def _issue_token(services: Services, account: Account) -> dict[str, Any]:
    token = new_token()
    expires = time.time() + services.settings.session_ttl_s
    await services.writer.call(
        services.store.accounts.create_session, account.id, token_hash(token), expires
    )
    return {
        "token": token,
        "expires_at": expires,
        "account": {"id": account.id, "name": account.name, "role": account.role},
    }


async def register(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    if not services.settings.registration_open:
        return error(403, "REGISTRATION_CLOSED", "registration is closed on this server")
    body = await json_body(request)
    try:
        name = check_name(body.get("name", ""))
        password = check_password(body.get("password", ""))
    except AuthError as exc:
        return error(exc.status, "BAD_FIELD", str(exc))
    # where to start (issue 16): a chosen home system, or a friend's invite — checked before
    # anything is hashed or created, so a bad choice costs nothing and makes no account
    world = services.world
    home: tuple[int, int, int] | None = None
    code: str | None = None
    try:
        if body.get("home") is not None and body.get("invite") is not None:
            raise friends.StartRefused(400, "BAD_FIELD", "give 'home' or 'invite', not both")
        if body.get("home") is not None:
            home = friends.parse_home(body["home"], world)
        if body.get("invite") is not None:
            code = friends.parse_code(body["invite"])
            friends.check_invite(
                await services.writer.call(services.store.invites.get, friends.code_hash(code)),
                world,
            )
    except friends.StartRefused as exc:
        return error(exc.status, exc.code, str(exc))
    # counted before hashing: concurrent registrations beyond the limit are never hashed
    attempt = services.register_throttle.reserve(f"addr:{request.remote or '?'}")
    if attempt.refused:
        return _throttled(services, attempt.retry_after, "too many registrations from your address")
    refused = await _admission(services, request, None)  # an address ban: no fresh accounts
    if refused is not None:
        return web.json_response({"error": refused.to_json()}, status=403)
    store = services.store
    if await services.writer.call(store.accounts.by_name, name) is not None:
        return error(409, "NAME_TAKEN", f"the name '{name}' is taken; choose another")
    try:
        password_hash = await services.passwords.hash_async(password)
    except PasswordsBusy as exc:
        services.register_throttle.forget(attempt)
        return _busy(services, exc)
    services.metrics.inc("callister_password_hashes_total")
    try:
        account = await services.writer.call(store.accounts.create, name, password_hash)
    except NameTaken:  # taken while we hashed
        return error(409, "NAME_TAKEN", f"the name '{name}' is taken; choose another")
    log.info("account registered", extra={"account": account.id, "account_name": account.name})
    start: friends.Start | None = None
    if home is not None:
        start = friends.Start(account.id, world.name, *home)
        await services.writer.call(services.store.invites.set_start, start)
    elif code is not None:
        try:
            start = await friends.redeem(world, code, account.id)
        except friends.StartRefused:  # used up since the check: the default home instead
            log.info("invite used up during registration", extra={"account": account.id})
    answer = await _issue_token(services, account)
    answer["start"] = await friends.describe_start(world, start)
    return web.json_response(answer, status=201)


async def login(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    body = await json_body(request)
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        return error(400, "BAD_FIELD", "name and password are required strings")
    try:  # the same steps as the command line's administrators (auth.check_login)
        attempt = begin_login(services.login_throttle, request.remote or "?", name)
        account = await services.writer.call(services.store.accounts.by_name, name)
        stored = account.password_hash if account else None  # None: a dummy check, same timing
        try:
            ok = await services.passwords.verify_async(stored, password[:512])
        except PasswordsBusy as exc:
            services.login_throttle.forget(attempt)
            return _busy(services, exc)
        services.metrics.inc("callister_password_checks_total")
        account = finish_login(services.login_throttle, attempt, account, ok)
    except AuthError as exc:
        if exc.code == "THROTTLED":
            return _throttled(services, exc.retry_after, str(exc))
        return error(exc.status, exc.code, str(exc))
    refused = await _admission(services, request, account)
    if refused is not None:
        return web.json_response({"error": refused.to_json()}, status=403)
    return web.json_response(await _issue_token(services, account))


async def logout(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    with contextlib.suppress(web.HTTPForbidden):  # a banned account may still drop its token
        await current_account(request)
    token = request.headers["Authorization"][7:]
    await services.writer.call(services.store.accounts.delete_session, token_hash(token))
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    account = await current_account(request)
    world = services.world
    character = await services.writer.call(services.store.characters.load, account.id, world.name)
    out: dict[str, Any] = {"id": account.id, "name": account.name, "role": account.role}
    if character is not None:
        out["ship"] = {
            "id": character.ship_id,
            "hull": character.hull,
            "system": [str(character.system_x), str(character.system_y)],
            "docked_at": character.docked_at,
            "home": [str(character.home_x), str(character.home_y)],
        }
    return web.json_response(out)


async def discovered(request: web.Request) -> web.Response:
    """The player's galaxy map: systems they have visited, with names and jump links."""
    services = request.app[SERVICES]
    account = await current_account(request)
    world = services.world
    coords = await services.writer.call(
        services.store.characters.list_discoveries, account.id, world.name
    )
    systems = []
    for x, y in coords:
        system = await world.universe.get(x, y)
        if system is not None:
            systems.append(_summary(system))
    return web.json_response({"world": world.name, "systems": systems})


def _summary(system: Any) -> dict[str, Any]:
    d = system.to_dict()
    return {
        "x": d["x"],
        "y": d["y"],
        "name": d["name"],
        "star": d["star"],
        "stations": len(system.stations),
        "links": d["links"],
        "galaxy": d.get("galaxy"),
    }


async def system_view(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    x, y = int_param(request, "x"), int_param(request, "y")
    try:
        system = await services.world.universe.get(x, y)
    except ValueError as exc:
        return error(400, "BAD_SECTOR", str(exc))
    if system is None:
        return error(404, "NO_SYSTEM", f"sector ({x}, {y}) is empty space")
    # as the server runs it: home stations and lawful hubs with the baseline services
    return web.json_response(services.world.missions.served(system).to_dict())


async def map_view(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    x, y = int_param(request, "x"), int_param(request, "y")
    radius = int_param(request, "r", 4)
    if not 0 <= radius <= MAX_MAP_RADIUS:
        return error(400, "BAD_RADIUS", f"r must be within 0..{MAX_MAP_RADIUS}")
    loop = asyncio.get_running_loop()
    from callister.universe import neighbourhood

    try:
        systems = await loop.run_in_executor(None, neighbourhood, services.world.seed, x, y, radius)
    except ValueError as exc:
        return error(400, "BAD_SECTOR", str(exc))
    return web.json_response({"systems": [_summary(s) for s in systems]})


async def healthz(request: web.Request) -> web.Response:
    """Liveness and load: players and connections of the whole server; the tick, zones and
    tick times of the public world (docs/protocol.md)."""
    services = request.app[SERVICES]
    world = services.world
    host = _host_of(request)
    players, connections = len(world.pilots), services.gateway.connections
    if host is not None:
        players = sum(len(r.world.pilots) for r in host.runtimes.values())
        connections = host.connections()
    extra: dict[str, Any] = {}
    if "zone" in request.query:  # one system's own clock (issue 17: zones keep their own time)
        try:
            x, y = (int(part) for part in request.query["zone"].split(":"))
        except ValueError:
            return error(400, "BAD_FIELD", "zone must be <x>:<y>, sector coordinates")
        handle = world.zones.get(zone_key(world.name, x, y))
        extra["zone"] = None if handle is None else zone_health(handle, time.monotonic())
    return web.json_response(
        {
            "status": "ok",
            "version": callister.__version__,
            "world": world.name,
            "tick": world.tick,
            "players": players,
            "connections": connections,
            "zones_loaded": len(world.zones),
            "db": services.store.db.dialect,
            "uptime_s": round(time.time() - services.started_at, 1),
            "tick_ms": services.metrics.tick_percentiles(_since(request)),
            **extra,
        }
    )


def _since(request: web.Request) -> int:
    try:
        return int(request.query.get("since_tick", "0"))
    except ValueError:
        return 0


def _host_of(request: web.Request) -> Any:
    """The world host (server/world_host.py) once started; None before."""
    return request.app.get(admin_routes.WORLD_HOST)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text for every world of this process added up (docs/protocol.md lists each
    name), for this machine or for whoever has the metrics token."""
    services = request.app[SERVICES]
    refused = refuse_scrape(request, services.settings.metrics_token)
    if refused is not None:
        return refused
    host = _host_of(request)
    others = host.registries() if host is not None else []
    return web.Response(text=services.metrics.render(others), content_type="text/plain")


async def admin_users(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    require_role(await current_account(request), "admin")
    accounts = await services.writer.call(services.store.accounts.all, 500, 0)
    return web.json_response(
        [{"id": a.id, "name": a.name, "role": a.role, "banned": a.banned} for a in accounts]
    )


async def ws_route(request: web.Request) -> web.StreamResponse:
    host = request.app.get(admin_routes.WORLD_HOST)  # many worlds: routes hello.world
    if host is not None:
        return await host.handle_ws(request)
    return await request.app[SERVICES].gateway.handle(request)


async def index(request: web.Request) -> web.StreamResponse:
    return page("index.html")


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def build_app(settings: Settings) -> web.Application:
    """The aiohttp application; the store opens and the world starts on app start-up."""
    app = web.Application(client_max_size=MAX_HTTP_BODY, middlewares=[security_headers])

    async def on_startup(app: web.Application) -> None:
        writer = StoreWriter()
        store = await writer.call(open_store, settings.db)
        metrics_ = Metrics()
        for name in AUTH_COUNTERS:  # shown at 0 from the start, not from the first storm
            metrics_.counters.setdefault(name, 0.0)
        bus = InProcessBus()
        # the public world runs its own content pack too (if its operator set one) and its
        # registry row's generator parameters (the defaults until someone forks it)
        content = await writer.call(world_content, store, settings.world_name)
        record = await writer.call(store.worlds.get, settings.world_name)
        params = DEFAULT_PARAMS if record is None else world_params(record)
        world = World(settings, store, writer, bus, content, metrics_, params=params)
        await world.start()
        gateway = Gateway(world, bus, settings, metrics_)
        app[SERVICES] = Services(
            settings=settings,
            store=store,
            writer=writer,
            world=world,
            gateway=gateway,
            metrics=metrics_,
            passwords=Passwords.from_settings(settings),
            login_throttle=Throttle(settings.login_per_minute),
            register_throttle=Throttle(settings.register_per_minute),
            started_at=time.time(),
        )
        app[GC_TIMER] = heap.time_pauses(metrics_)
        log.info(
            "world started", extra={"world": world.name, "seed": world.seed, "db": store.db.dialect}
        )

    async def on_shutdown(app: web.Application) -> None:
        services = app[SERVICES]
        await services.gateway.shutdown()

    async def on_cleanup(app: web.Application) -> None:
        services = app[SERVICES]
        await services.world.stop()
        services.passwords.close()
        services.writer.submit(services.store.db.close)
        services.writer.close()
        heap.stop_timing(app[GC_TIMER])
        log.info("stopped cleanly; every ship checkpointed")

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/", index)
    app.router.add_get("/ws", ws_route)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/api/register", register)
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/me/discovered", discovered)
    app.router.add_get("/api/universe/system", system_view)
    app.router.add_get("/api/universe/map", map_view)
    app.router.add_get("/api/admin/users", admin_users)
    admin_routes.register(app)
    content_routes.register(app)
    gm_routes.register(app)
    moderation_routes.register(app)
    crew_routes.register(app)
    friends_routes.register(app)
    app.router.add_static("/static/", WEB_DIR, show_index=False)
    return app


def run(settings: Settings) -> None:
    """Serve until SIGTERM or Ctrl-C; then checkpoint, tell clients, and exit 0."""
    # the tick loop must win the GIL back quickly from the store thread (default 5 ms)
    sys.setswitchinterval(0.001)
    app = build_app(settings)

    async def tune_collector(app: web.Application) -> None:
        # once the world has started (server/heap.py); the process's, like the switch interval
        # above, so not in build_app, whose servers in a test process come and go
        log.info("collector tuned", extra={"frozen": heap.freeze_startup()})

    app.on_startup.append(tune_collector)
    log.info(
        "listening",
        extra={"url": f"http://{settings.host}:{settings.port}", "loop": settings.event_loop},
    )
    serve(app, settings)
