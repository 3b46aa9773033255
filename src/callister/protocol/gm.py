"""The `gm` message family: a game master's commands inside a world (issue 18), decoded and
checked for shape without I/O.

One decoder serves the WebSocket (`{"t": "gm", "op": ...}`) and the HTTP admin API
(`POST /api/worlds/{name}/gm` with the same object, `t` optional), so both refuse bad input with
the same codes: BAD_FIELD for a missing field or one of the wrong type, BAD_NUMBER for a number
outside its range (a negative fuel, a coordinate past `MAX_POINT`). Whether the ship, the system
or the hull exists, and whether a position is inside the system, the server decides
(server/gm.py: UNKNOWN_SHIP, NO_SYSTEM, OUT_OF_BOUNDS, BAD_FIELD).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.limits import (
    MAX_CREDITS,
    MAX_ENTITY_ID,
    MAX_POINT,
    MAX_QTY,
    MAX_STATION_INDEX,
)
from callister.protocol.validate import Checks

GM_OPS = (
    "teleport",
    "set",
    "spawn_npc",
    "spawn_wreck",
    "give",
    "remove",
    "freeze",
    "unfreeze",
    "gm_ship",
)
"""Every `op` of a `gm` message (docs/protocol.md, "Game masters")."""
NPC_ROLES = ("pirate", "trader", "miner", "patrol")
GM_SHIP_MODES = ("invisible", "marked", "off")
MAX_GM_REASON = 200
MAX_GM_ITEMS = 16  # item kinds in one give or wreck
MAX_VITAL = 1_000_000.0  # hull points, shield, fuel: far past any hull's maximum

_WIRE = Checks(ProtocolError, ErrorCode.BAD_NUMBER)


@dataclass(frozen=True, slots=True)
class GmMsg:
    """One game-master command. Which fields an `op` reads (the others keep their defaults):

    - teleport: `ship`; `sector` (None: the ship's system); `x`, `y` metres, or `station`
      (arrive docked there)
    - set: `ship`; any of `hull` (a hull key: the ship is refitted), `hull_hp`, `shield`, `fuel`
    - spawn_npc: `role`; `sector`; `x`, `y`; `hull` (None: the role's hull)
    - spawn_wreck: `sector`; `x`, `y`; `items`
    - give: `ship`; `items` into its hold and/or `credits` to its owner
    - remove: `entity` (an NPC ship or a wreck)
    - freeze, unfreeze: `sector`
    - gm_ship: `mode` (invisible, marked, off) for the game master's own ship in the world
    """

    op: str
    ship: int = 0
    entity: int = 0
    sector: tuple[int, int] | None = None
    x: float | None = None
    y: float | None = None
    station: int | None = None
    hull: str | None = None
    hull_hp: float | None = None
    shield: float | None = None
    fuel: float | None = None
    role: str | None = None
    items: tuple[tuple[str, int], ...] = ()
    credits: int = 0
    mode: str | None = None
    reason: str = ""

    def fields(self) -> dict[str, Any]:
        """What was asked, for the audit log and answers (sectors as decimal strings)."""
        out: dict[str, Any] = {"op": self.op}
        for name in ("ship", "entity", "credits"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        for name in ("x", "y", "station", "hull", "hull_hp", "shield", "fuel", "role", "mode"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.sector is not None:
            out["sector"] = [str(self.sector[0]), str(self.sector[1])]
        if self.items:
            out["items"] = dict(self.items)
        return out


def _int(obj: dict[str, Any], name: str, lo: int, hi: int) -> int:
    return _WIRE.decimal(name, obj[name], lo, hi)


def _required(obj: dict[str, Any], name: str, op: str) -> Any:
    if obj.get(name) is None:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"gm '{op}' needs '{name}'")
    return obj[name]


def _sector(obj: dict[str, Any], name: str = "sector") -> tuple[int, int]:
    return _WIRE.sector(name, obj[name])


def _point(obj: dict[str, Any], op: str) -> tuple[float, float]:
    for name in ("x", "y"):
        _required(obj, name, op)
    return (
        _WIRE.number("x", obj["x"], -MAX_POINT, MAX_POINT),
        _WIRE.number("y", obj["y"], -MAX_POINT, MAX_POINT),
    )


def _key(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    return _WIRE.content_key(name, value, "hauler")


def _vital(obj: dict[str, Any], name: str) -> float | None:
    if obj.get(name) is None:
        return None
    return _WIRE.number(name, obj[name], 0.0, MAX_VITAL)


def _items(obj: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    value = obj.get("items")
    if value is None:
        return ()
    if not isinstance(value, dict) or len(value) > MAX_GM_ITEMS:
        raise ProtocolError(
            ErrorCode.BAD_FIELD, f"'items' must be an object of at most {MAX_GM_ITEMS} item: qty"
        )
    out = []
    for key, qty in value.items():
        _key({"item": key}, "item")
        out.append((key, _WIRE.integer(f"items.{key}", qty, 1, MAX_QTY)))
    return tuple(sorted(out))


def _reason(obj: dict[str, Any]) -> str:
    value = obj.get("reason", "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_GM_REASON or not value.isprintable():
        raise ProtocolError(
            ErrorCode.BAD_FIELD, f"'reason' must be at most {MAX_GM_REASON} printable characters"
        )
    return value


def _entity(obj: dict[str, Any], name: str, op: str) -> int:
    _required(obj, name, op)
    return _int(obj, name, 1, MAX_ENTITY_ID)


def decode_gm(obj: dict[str, Any]) -> GmMsg:
    """A `gm` message (or HTTP body) -> GmMsg; ProtocolError (with `ref` "gm", so a client
    can tell which request was refused) for anything malformed."""
    try:
        return _decode(obj)
    except ProtocolError as exc:
        exc.ref = "gm"
        raise


def _decode(obj: dict[str, Any]) -> GmMsg:
    op = obj.get("op")
    if not isinstance(op, str) or op not in GM_OPS:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'op' must be one of: {', '.join(GM_OPS)}")
    reason = _reason(obj)
    sector = _sector(obj) if obj.get("sector") is not None else None
    if op == "teleport":
        ship = _entity(obj, "ship", op)
        station = None
        x = y = None
        if obj.get("station") is not None:
            station = _int(obj, "station", 0, MAX_STATION_INDEX)
            if obj.get("x") is not None or obj.get("y") is not None:
                raise ProtocolError(ErrorCode.BAD_FIELD, "give 'x' and 'y' or 'station', not both")
        else:
            x, y = _point(obj, op)
        return GmMsg(op, ship=ship, sector=sector, x=x, y=y, station=station, reason=reason)
    if op == "set":
        msg = GmMsg(
            op,
            ship=_entity(obj, "ship", op),
            hull=_key(obj, "hull"),
            hull_hp=_vital(obj, "hull_hp"),
            shield=_vital(obj, "shield"),
            fuel=_vital(obj, "fuel"),
            reason=reason,
        )
        if msg.hull is None and msg.hull_hp is None and msg.shield is None and msg.fuel is None:
            raise ProtocolError(
                ErrorCode.BAD_FIELD, "gm 'set' needs 'hull', 'hull_hp', 'shield' or 'fuel'"
            )
        if msg.hull_hp == 0:
            raise ProtocolError(
                ErrorCode.BAD_NUMBER, "'hull_hp' must be above 0 (remove a ship to destroy it)"
            )
        return msg
    if op in ("spawn_npc", "spawn_wreck"):
        _required(obj, "sector", op)
        x, y = _point(obj, op)
        if op == "spawn_npc":
            role = _required(obj, "role", op)
            if role not in NPC_ROLES:
                raise ProtocolError(
                    ErrorCode.BAD_FIELD, f"'role' must be one of: {', '.join(NPC_ROLES)}"
                )
            return GmMsg(
                op, sector=sector, x=x, y=y, role=role, hull=_key(obj, "hull"), reason=reason
            )
        items = _items(obj)
        if not items:
            raise ProtocolError(ErrorCode.BAD_FIELD, "gm 'spawn_wreck' needs 'items'")
        return GmMsg(op, sector=sector, x=x, y=y, items=items, reason=reason)
    if op == "give":
        items = _items(obj)
        credits = 0 if obj.get("credits") is None else _int(obj, "credits", 0, MAX_CREDITS)
        if not items and not credits:
            raise ProtocolError(ErrorCode.BAD_FIELD, "gm 'give' needs 'items' or 'credits'")
        return GmMsg(op, ship=_entity(obj, "ship", op), items=items, credits=credits, reason=reason)
    if op == "remove":
        return GmMsg(op, entity=_entity(obj, "entity", op), reason=reason)
    if op == "gm_ship":
        mode = _required(obj, "mode", op)
        if mode not in GM_SHIP_MODES:
            raise ProtocolError(
                ErrorCode.BAD_FIELD, f"'mode' must be one of: {', '.join(GM_SHIP_MODES)}"
            )
        return GmMsg(op, mode=mode, reason=reason)
    _required(obj, "sector", op)  # freeze, unfreeze
    return GmMsg(op, sector=sector, reason=reason)
