"""What every HTTP route shares: the services on the application, JSON errors and bodies, the
bearer-token account and role checks, the client files' directory and content policy.

`app.py` (accounts, universe look-ups, health) and the route modules (`admin_routes.py`,
`crew_routes.py`, `moderation_routes.py`) import these from here, never from each other.
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

import callister
from callister.moderation import admission
from callister.server.auth import Passwords, Throttle, token_hash
from callister.server.gateway import Gateway
from callister.server.metrics import Metrics
from callister.server.settings import Settings, SettingsError
from callister.server.world import World
from callister.server.writer import StoreWriter
from callister.store import Account, Store

WEB_DIR = Path(callister.__file__).parent / "web"
MAX_JSON_DEPTH = 32  # HTTP bodies: deeper arrays/objects are refused with BAD_JSON


@dataclass
class Services:
    settings: Settings
    store: Store
    writer: StoreWriter
    world: World
    gateway: Gateway
    metrics: Metrics
    passwords: Passwords
    login_throttle: Throttle
    register_throttle: Throttle
    started_at: float


SERVICES = web.AppKey("services", Services)


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def json_error(exc: type[web.HTTPException], code: str, message: str, **kw: Any) -> Any:
    """An HTTP error whose body has the same shape as every other refusal."""
    body = json.dumps({"error": {"code": code, "message": message}})
    return exc(text=body, content_type="application/json", **kw)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or a clear refusal (never a 500): 413 TOO_LARGE over
    the body limit, 400 BAD_JSON for anything but a JSON object nested at most
    MAX_JSON_DEPTH deep. Every route that reads a JSON body reads it through here."""
    limit = request.client_max_size
    try:
        text = await request.text()
    except web.HTTPRequestEntityTooLarge:
        raise json_error(
            web.HTTPRequestEntityTooLarge,
            "TOO_LARGE",
            f"the body is over {limit} bytes; send less",
            max_size=limit,
        ) from None
    except UnicodeDecodeError:
        raise json_error(web.HTTPBadRequest, "BAD_JSON", "the body is not UTF-8") from None
    try:
        body = json.loads(text, parse_constant=no_constants)
        too_deep = nested_deeper(body, MAX_JSON_DEPTH)
    except RecursionError:  # the decoder's own guard trips first on very deep bodies
        too_deep = True
    except ValueError:
        raise json_error(
            web.HTTPBadRequest, "BAD_JSON", "the body must be a JSON object (it is not JSON)"
        ) from None
    if too_deep:
        raise json_error(
            web.HTTPBadRequest,
            "BAD_JSON",
            f"the body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels",
        )
    if not isinstance(body, dict):
        raise json_error(web.HTTPBadRequest, "BAD_JSON", "the body must be a JSON object")
    return body


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether a decoded JSON value nests arrays or objects more than `limit` deep (without
    recursion, so the check itself cannot overflow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def no_constants(name: str) -> Any:
    raise ValueError(name)


def int_param(request: web.Request, name: str, default: int | None = None) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise web.HTTPBadRequest(text=f"query parameter '{name}' is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"query parameter '{name}' must be an integer") from None
    if not -(2**63) <= value < 2**63:
        raise web.HTTPBadRequest(text=f"query parameter '{name}' is outside the 64-bit range")
    return value


async def current_account(request: web.Request) -> Account:
    """The account behind the request's bearer token: 401 without a valid token, 403 `BANNED`
    (JSON, with `until`) while the account or the request's address is banned — the same
    admission check as every world's hello (moderation/admission.py), on every route."""
    services = request.app[SERVICES]
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    if not token:
        raise web.HTTPUnauthorized(text="log in first (Authorization: Bearer <token>)")
    account, refused = await services.writer.call(
        admission.token_account,
        services.store,
        services.settings.world_name,
        token_hash(token),
        request.remote,
        time.time(),
    )
    if account is None:
        raise web.HTTPUnauthorized(text="token unknown or expired; log in again")
    if refused is not None:
        raise refused_response(refused)
    return account


def refused_response(refused: admission.Refusal) -> web.HTTPForbidden:
    return web.HTTPForbidden(
        text=json.dumps({"error": refused.to_json()}), content_type="application/json"
    )


def require_role(account: Account, *roles: str) -> None:
    if account.role not in roles:
        raise web.HTTPForbidden(text=f"needs role {' or '.join(roles)}")


CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'"
)


def serve(app: web.Application, settings: Settings) -> None:
    """Run `app` on the settings' host and port until SIGINT/SIGTERM (no access log: the
    metrics count requests; 5 s for open connections to finish), on the event loop the
    settings name (`event_loop`: asyncio's, or uvloop's when that package is installed)."""
    loop: Any = None
    if settings.event_loop == "uvloop":
        try:  # an optional package: imported by name, so its absence is a clear error here
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            raise SettingsError(
                "event_loop = uvloop needs the uvloop package (pip install uvloop)"
            ) from None
        loop = uvloop.new_event_loop()
    web.run_app(
        app,
        loop=loop,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=5.0,
        access_log=None,
        handle_signals=True,
    )


def page(name: str) -> web.FileResponse:
    """One of the client's HTML pages (web/), under the content security policy."""
    return web.FileResponse(WEB_DIR / name, headers={"Content-Security-Policy": CSP})
