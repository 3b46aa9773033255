"""What a client learns of its world's content (docs/protocol.md, "World content").

Clients draw and describe hulls, weapons and goods from data the server sends, so a world's
content pack needs no client change: `welcome.content` carries what the client needs at once
(weapons to pace its fire, each hull's name, radius and silhouette to draw it, the digest), and
the `content` message that follows it (and `GET /api/worlds/{name}/content`) carries every
table a client shows: hulls and weapons with their stats, commodities, ores, factions. NPC
roles stay on the server (they say who spawns where, not what anything looks like).
"""

from __future__ import annotations

from typing import Any

from callister.content import Content
from callister.content.schema import entry_dict

CLIENT_TABLES = ("hulls", "weapons", "commodities", "ores", "factions")
_CACHE_SIZE = 64
_cache: dict[tuple[str, int], tuple[Content, dict[str, Any]]] = {}


def _cached(kind: str, content: Content, build: Any) -> dict[str, Any]:
    """Per content object (contents are immutable and load_content returns the same object
    for the same packs): built once, the object kept alive with its answer."""
    found = _cache.get((kind, id(content)))
    if found is not None and found[0] is content:
        return found[1]
    value: dict[str, Any] = build(content)
    if len(_cache) >= _CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[(kind, id(content))] = (content, value)
    return value


def client_content(content: Content) -> dict[str, Any]:
    """The `content` message's fields (without `t` and `world`): {"digest", "packs": [{name,
    version, digest}], and per table in CLIENT_TABLES a list of entries with every field and
    `key`, in the content's order}. Cached per content (contents are immutable)."""
    return _cached("client", content, _client)


def _client(content: Content) -> dict[str, Any]:
    out: dict[str, Any] = {
        "digest": content.digest(),
        "packs": [
            {"name": p.name, "version": p.version, "digest": p.digest} for p in content.packs
        ],
    }
    for table in CLIENT_TABLES:
        out[table] = [entry_dict(e) for e in getattr(content, table).values()]
    return out


def welcome_content(content: Content) -> dict[str, Any]:
    """`welcome.content`: {"digest", "weapons": {key: name, kind, range, cooldown, ammo, arc},
    "hulls": {key: name, radius, silhouette}}."""
    return _cached("welcome", content, _welcome)


def _welcome(content: Content) -> dict[str, Any]:
    return {
        "digest": content.digest(),
        "weapons": {
            key: {
                "name": w.name,
                "kind": w.kind,
                "range": w.range,
                "cooldown": w.cooldown,
                "ammo": w.ammo,
                "arc": w.arc,
            }
            for key, w in content.weapons.items()
        },
        "hulls": {
            key: {
                "name": h.name,
                "radius": h.radius,
                "silhouette": [list(p) for p in h.silhouette],
            }
            for key, h in content.hulls.items()
        },
    }
