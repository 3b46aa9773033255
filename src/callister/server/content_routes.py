"""HTTP routes for a world's content (issue 18): what a client learns, and what its owner sets.

- `GET /api/worlds/{name}/content` (any account that may see the world): the `content`
  message's fields (server/content_view.py).
- `GET /api/admin/worlds/{name}/content` (an administrator or the world's owner): the current
  pack (files verbatim) with every kept version's summary, and the generator parameters.
- `PUT /api/admin/worlds/{name}/content` (the same): `{"files": {name: text}}` stores a new
  version after the loader accepts it; `{"clear": true}` stores "no pack". A malformed pack is
  400 `BAD_CONTENT` with every problem's pack, file, entry and field in `problems`.

A running world restarts with its new content within a few seconds (world_host polls the
versions); its players get `bye` naming the same world and reconnect into it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from callister.content import ContentError, ContentPack
from callister.server.admin_routes import (
    _account,
    _body,
    _guard,
    _host,
    _name,
    _owner_or_admin,
)
from callister.server.content_view import client_content
from callister.store import NotFound
from callister.store.content import MAX_STORED_PACK
from callister.worlds.content import content_report, set_pack, world_content, world_params

MAX_CONTENT_BODY = MAX_STORED_PACK + 4096
"""The body limit of `PUT /api/admin/worlds/{name}/content` (a stored pack's JSON and a little)."""


def content_refused(exc: ContentError) -> web.Response:
    """400 BAD_CONTENT naming every problem (pack, file, entry, field, reason, message)."""
    return web.json_response(
        {
            "error": {"code": "BAD_CONTENT", "message": str(exc)},
            "problems": [e.to_dict() for e in exc.errors],
        },
        status=400,
    )


@_guard
async def world_content_for_client(request: web.Request) -> web.Response:
    account = await _account(request)
    host = _host(request)
    name = _name(request)
    await host.record(name)
    if name not in {w["name"] for w in host.worlds_for(account)}:
        raise NotFound(f"no world named {name} that you may see")
    runtime = host.runtimes.get(name)
    content = (
        runtime.world.content
        if runtime is not None
        else await host.call(world_content, host.store, name)
    )
    return web.json_response({"world": name, **client_content(content)})


@_guard
async def admin_show_content(request: web.Request) -> web.Response:
    _, host, record = await _owner_or_admin(request)
    history = await host.call(host.store.content.history, record.name)
    runtime = host.runtimes.get(record.name)
    return web.json_response(
        {
            **content_report(record.name, history),
            "running_version": None
            if runtime is None or not runtime.own
            else runtime.content_version,
            "params": world_params(record).to_dict(),
        }
    )


@_guard
async def admin_set_content(request: web.Request) -> web.Response:
    account, host, record = await _owner_or_admin(request)
    # a pack may hold 256 KiB of files, more than the server's usual body limit: an owner or
    # administrator (checked above, before the body is read) may send up to a stored pack's size
    body = await _body(request.clone(client_max_size=MAX_CONTENT_BODY))
    pack: ContentPack | None
    try:
        if body.get("clear") is True:
            pack = None
        elif isinstance(body.get("files"), dict):
            pack = ContentPack.from_files(body["files"])
        else:
            raise ValueError('give {"files": {file name: TOML text}} or {"clear": true}')
        row = await host.call(set_pack, host.store, record.name, pack, account.id)
    except ContentError as exc:
        return content_refused(exc)
    out: dict[str, Any] = row.summary()
    return web.json_response(out, status=201)


def register(app: web.Application) -> None:
    """Add the content routes (called once by app.build_app, after admin_routes)."""
    r = app.router
    r.add_get("/api/worlds/{name}/content", world_content_for_client)
    r.add_get("/api/admin/worlds/{name}/content", admin_show_content)
    r.add_put("/api/admin/worlds/{name}/content", admin_set_content)


__all__ = ["content_refused", "register"]
