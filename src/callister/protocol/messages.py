"""Client -> server messages: JSON text frames, decoded and validated without I/O.

`decode_client(frame)` returns one of the message dataclasses below or raises ProtocolError with
a code from the closed set. Nothing else may escape it (tests fuzz it). Server -> client JSON
messages are built by `encode_server`, which refuses non-finite numbers the same way.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callister.protocol.errors import ErrorCode, ProtocolError
from callister.protocol.gm import GmMsg, decode_gm
from callister.protocol.intents import Autopilot, Cruise
from callister.protocol.limits import (
    MAX_CLIENT_FRAME,
    MAX_CREDITS,
    MAX_ENTITY_ID,
    MAX_FIELD_INDEX,
    MAX_NAME_LEN,
    MAX_POINT,
    MAX_QTY,
    MAX_ROCK_INDEX,
    MAX_SECTOR,
    MAX_SEQ,
    MAX_SLOT,
    MAX_STATION_INDEX,
    MAX_TOKEN_LEN,
    MIN_SECTOR,
    PROTOCOL_VERSIONS,
)
from callister.protocol.validate import Checks


@dataclass(frozen=True, slots=True)
class Hello:
    token: str
    v: int
    world: str | None = None  # the world to enter (None: the account's home world)
    # moderators and admins only (issue 6): watch without a ship, or fly a marked ship
    spectate: bool = False
    follow: int = 0  # spectating: the entity to keep the camera on (0: none)
    sector: tuple[int, int] | None = None  # spectating: the system to watch (None: follow's)
    moderator_ship: bool = False


@dataclass(frozen=True, slots=True)
class SpectateMsg:
    """A spectator moves its camera: onto an entity, to another system, or to a point."""

    follow: int | None  # an entity id, 0 to stop following, None: unchanged
    sector: tuple[int, int] | None  # another (active) system to watch
    at: tuple[float, float] | None  # a free camera position in metres (stops following)


@dataclass(frozen=True, slots=True)
class InputMsg:
    ship: int
    thrust: float
    turn: float
    brake: bool


@dataclass(frozen=True, slots=True)
class DockMsg:
    ship: int
    station: int | None


@dataclass(frozen=True, slots=True)
class UndockMsg:
    ship: int


@dataclass(frozen=True, slots=True)
class JumpMsg:
    ship: int
    to_x: int
    to_y: int


@dataclass(frozen=True, slots=True)
class AckMsg:
    seq: int


@dataclass(frozen=True, slots=True)
class PingMsg:
    n: int


@dataclass(frozen=True, slots=True)
class FireMsg:
    ship: int
    slot: int
    target: int  # 0: straight ahead


@dataclass(frozen=True, slots=True)
class TargetMsg:
    ship: int
    target: int  # 0: no target


@dataclass(frozen=True, slots=True)
class MineMsg:
    ship: int
    rock: int  # -1: stop


@dataclass(frozen=True, slots=True)
class LootMsg:
    ship: int
    wreck: int


@dataclass(frozen=True, slots=True)
class DistressMsg:
    ship: int


@dataclass(frozen=True, slots=True)
class MarketMsg:
    ship: int


@dataclass(frozen=True, slots=True)
class TradeMsg:
    ship: int
    rid: str
    item: str
    qty: int
    side: str  # "buy" | "sell"


@dataclass(frozen=True, slots=True)
class ServiceMsg:
    ship: int
    rid: str
    op: str  # one of SERVICE_OPS


@dataclass(frozen=True, slots=True)
class BuyHullMsg:
    ship: int
    rid: str
    hull: str


@dataclass(frozen=True, slots=True)
class BuyModuleMsg:
    ship: int
    rid: str
    slot: int
    weapon: str


@dataclass(frozen=True, slots=True)
class BountyMsg:
    rid: str
    target: str  # account name
    amount: int


@dataclass(frozen=True, slots=True)
class ReportMsg:
    """A player reports a player (id or name), ship (id) or clone (id) to the moderators."""

    kind: str  # one of REPORT_KINDS
    target: str
    reason: str  # one of REPORT_REASONS
    text: str  # free text, at most MAX_REPORT_TEXT characters (shown as literal text)


REPORT_KINDS = ("player", "ship", "clone")
REPORT_REASONS = (
    "griefing", "cheating", "bot", "harassment", "spam", "illegal_clone", "exploit", "other",
)  # fmt: skip
MAX_REPORT_TEXT = 1000


@dataclass(frozen=True, slots=True)
class HireMsg:
    ship: int
    rid: str
    candidate: int  # a candidate's clone id (sent as a decimal string)


@dataclass(frozen=True, slots=True)
class DismissMsg:
    ship: int
    crew: int


@dataclass(frozen=True, slots=True)
class CrewOrderMsg:
    ship: int
    crew: int  # a crew member's clone id, or 0: the whole crew
    order: str  # one of CREW_ORDERS
    target: int  # entity id or 0


@dataclass(frozen=True, slots=True)
class CrewChatMsg:
    ship: int
    crew: int  # 0: the whole crew
    text: str


@dataclass(frozen=True, slots=True)
class HailMsg:
    """Talk to the clone flying an NPC ship (`target`, within sensor range)."""

    ship: int
    target: int  # the NPC ship's entity id
    text: str


@dataclass(frozen=True, slots=True)
class InviteAboardMsg:
    ship: int  # the captain's own ship
    name: str  # the invited player's name


@dataclass(frozen=True, slots=True)
class BoardMsg:
    ship: int  # the captain's ship the player accepts to board


@dataclass(frozen=True, slots=True)
class AssignMsg:
    ship: int
    member: int  # a human member's account id or a clone's id (strings on the wire)
    station: str  # one of CREW_STATIONS


@dataclass(frozen=True, slots=True)
class LeaveShipMsg:
    ship: int


@dataclass(frozen=True, slots=True)
class PartyInviteMsg:
    name: str  # the invited player's name (online)


@dataclass(frozen=True, slots=True)
class PartyAcceptMsg:
    inviter: int  # the inviting player's account id (`from` on the wire)


@dataclass(frozen=True, slots=True)
class PartyDeclineMsg:
    inviter: int  # `from` on the wire


@dataclass(frozen=True, slots=True)
class PartyLeaveMsg:
    pass


@dataclass(frozen=True, slots=True)
class PowerMsg:
    ship: int
    engines: float
    weapons: float
    shields: float


@dataclass(frozen=True, slots=True)
class BoardAttackMsg:
    ship: int  # the attacker's ship (the sender must be its captain)
    target: int


@dataclass(frozen=True, slots=True)
class AutopilotMsg:
    """Fly to a target (`kind` one of AUTOPILOT_TARGETS and its fields), or `kind` "off"."""

    ship: int
    kind: str
    index: int = 0  # station, field
    target: int = 0  # ship
    x: float = 0.0  # point
    y: float = 0.0
    to_x: int = 0  # link
    to_y: int = 0
    cruise: bool = True

    def intent(self, actor: int) -> Autopilot:
        """The zone intent this message asks for, on behalf of `actor`."""
        return Autopilot(
            actor, self.ship, self.kind, self.index, self.target, self.x, self.y, self.to_x,
            self.to_y, self.cruise,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CruiseMsg:
    ship: int
    on: bool

    def intent(self, actor: int) -> Cruise:
        """The zone intent this message asks for, on behalf of `actor`."""
        return Cruise(actor, self.ship, self.on)


@dataclass(frozen=True, slots=True)
class MissionsMsg:
    """Open the mission board of the station the ship is docked at (issue 16)."""

    ship: int


@dataclass(frozen=True, slots=True)
class AcceptMsg:
    ship: int
    contract: str  # an id from a `missions` board, or a rescue call's `contract`


@dataclass(frozen=True, slots=True)
class AbandonMsg:
    ship: int
    contract: str


@dataclass(frozen=True, slots=True)
class TutorialMsg:
    ship: int
    op: str  # one of TUTORIAL_OPS


@dataclass(frozen=True, slots=True)
class RescueMsg:
    """A stranded pilot: see the offers, take one (`kind` fuel/tow), or cancel the call."""

    ship: int
    op: str  # one of RESCUE_OPS
    kind: str = ""  # one of RESCUE_KINDS, for "take"


@dataclass(frozen=True, slots=True)
class RecallMsg:
    ship: int
    rid: str
    confirm: bool  # False: the terms only (`recall_offer`)


@dataclass(frozen=True, slots=True)
class RationMsg:
    ship: int
    rid: str


AUTOPILOT_TARGETS = ("station", "field", "link", "ship", "point")
TravelMessage = AutopilotMsg | CruiseMsg
"""Travel (issue 16): each becomes one zone intent (`message.intent(actor)`)."""

MissionMessage = (
    MissionsMsg | AcceptMsg | AbandonMsg | TutorialMsg | RescueMsg | RecallMsg | RationMsg
)
"""Missions (issue 16): about the sender's own ship, handled by the world's mission desk."""
TUTORIAL_OPS = ("skip", "resume")
RESCUE_OPS = ("offers", "take", "cancel")
RESCUE_KINDS = ("fuel", "tow")
MAX_CONTRACT_ID = 32

CREW_STATIONS = ("pilot", "gunner", "engineer", "miner")
ShareMessage = InviteAboardMsg | BoardMsg | AssignMsg | LeaveShipMsg | BoardAttackMsg
"""Shared ships (issue 8): handled by the world's ship share (server/shipshare.py), which
checks who may send them (`board` names another's ship)."""


PartyMessage = PartyInviteMsg | PartyAcceptMsg | PartyDeclineMsg | PartyLeaveMsg
"""Parties (issue 16): about the sender, handled by the world's party desk (server/party.py)."""


CREW_ORDERS = ("attack", "hold_fire", "dock", "flee", "shields", "mine", "hold", "cancel")
MAX_CHAT_LEN = 200
CrewMessage = HireMsg | DismissMsg | CrewOrderMsg | CrewChatMsg
"""Crew messages (issue 4): about the sender's ship, handled by the world's crew desk."""

ShipMessage = (
    InputMsg | DockMsg | UndockMsg | JumpMsg | FireMsg | TargetMsg | MineMsg | LootMsg
    | DistressMsg | MarketMsg | TradeMsg | ServiceMsg | BuyHullMsg | BuyModuleMsg | CrewMessage
    | PowerMsg | TravelMessage | HailMsg | MissionMessage
)  # fmt: skip
"""Messages about the sender's own ship: the gateway checks `ship` is theirs first."""
StationMessage = TradeMsg | ServiceMsg | BuyHullMsg | BuyModuleMsg
"""Requests answered after a database transaction: each carries a request id `rid`."""
ClientMessage = (
    Hello | AckMsg | PingMsg | BountyMsg | ReportMsg | ShipMessage | ShareMessage | SpectateMsg
    | GmMsg | PartyMessage
)  # fmt: skip

SERVICE_OPS = ("refuel", "repair", "rearm", "insure")
SIDES = ("buy", "sell")
WIRE = Checks(ProtocolError, ErrorCode.BAD_NUMBER)
"""The decoder's field checks: a value out of its range is BAD_NUMBER."""


def _reject_constant(name: str) -> Any:
    raise ProtocolError(ErrorCode.BAD_NUMBER, f"{name} is not a number the protocol accepts")


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(ErrorCode.BAD_NUMBER, f"{text[:20]} is out of range")
    return value


def _parse_int(text: str) -> int:
    if len(text) > 24:  # far past any 64-bit value; refuse before int() does quadratic work
        raise ProtocolError(ErrorCode.BAD_NUMBER, "integer too long")
    return int(text)


def _field(obj: dict[str, Any], name: str) -> Any:
    if name not in obj:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'{name}' is required")
    return obj[name]


def _int(obj: dict[str, Any], name: str, lo: int, hi: int, *, optional: bool = False) -> Any:
    if optional and obj.get(name) is None:
        return None
    return WIRE.decimal(name, _field(obj, name), lo, hi)


def _float(obj: dict[str, Any], name: str, lo: float, hi: float, default: float = 0.0) -> float:
    return WIRE.number(name, obj.get(name, default), lo, hi)


def _bool(obj: dict[str, Any], name: str) -> bool:
    value = obj.get(name, False)
    if not isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'{name}' must be true or false")
    return value


def _ship(obj: dict[str, Any]) -> int:
    return int(_int(obj, "ship", 1, MAX_ENTITY_ID))


def _rid(obj: dict[str, Any]) -> str:
    return WIRE.rid(_field(obj, "rid"))


def _key(obj: dict[str, Any], name: str) -> str:
    return WIRE.content_key(name, _field(obj, name), "iron")


def _entity(obj: dict[str, Any], name: str) -> int:
    """An entity id, or 0 for null/absent (no target)."""
    if obj.get(name) is None:
        return 0
    return int(_int(obj, name, 1, MAX_ENTITY_ID))


def _clone_ref(obj: dict[str, Any], name: str, *, zero: bool) -> int:
    """A clone id: a decimal string (clone ids exceed 2^53) or an integer; 0 if `zero` allows."""
    value = _field(obj, name)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'{name}' must be a clone id (a string)")
    if value == 0 and not zero:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'{name}' must name a clone")
    return value


def _choice(obj: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    return WIRE.choice(name, _field(obj, name), choices)


def _crew_order(obj: dict[str, Any]) -> CrewOrderMsg:
    order = _choice(obj, "order", CREW_ORDERS)
    return CrewOrderMsg(
        ship=_ship(obj),
        crew=_clone_ref(obj, "crew", zero=True) if "crew" in obj else 0,
        order=order,
        target=_entity(obj, "target"),
    )


def _chat_text(obj: dict[str, Any]) -> str:
    text = _field(obj, "text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT_LEN:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'text' must be 1-{MAX_CHAT_LEN} characters")
    if not text.isprintable():
        raise ProtocolError(ErrorCode.BAD_FIELD, "'text' must not contain control characters")
    return text.strip()


def _crew_chat(obj: dict[str, Any]) -> CrewChatMsg:
    text = _chat_text(obj)
    return CrewChatMsg(
        ship=_ship(obj),
        crew=_clone_ref(obj, "crew", zero=True) if "crew" in obj else 0,
        text=text,
    )


def _hail(obj: dict[str, Any]) -> HailMsg:
    text = _chat_text(obj)
    target = _entity(obj, "target")
    if target == 0:
        raise ProtocolError(ErrorCode.BAD_FIELD, "'target' must be the ship to hail")
    return HailMsg(ship=_ship(obj), target=target, text=text)


def _player_name(obj: dict[str, Any]) -> str:
    name = _field(obj, "name")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LEN or not name.isprintable():
        raise ProtocolError(ErrorCode.BAD_FIELD, "'name' must be a player's name")
    return name


def _account_ref(obj: dict[str, Any], name: str) -> int:
    """An account id (a number, or a decimal string)."""
    return int(_int(obj, name, 1, MAX_ENTITY_ID))


def _assign(obj: dict[str, Any]) -> AssignMsg:
    station = _choice(obj, "station", CREW_STATIONS)
    return AssignMsg(ship=_ship(obj), member=_clone_ref(obj, "member", zero=False), station=station)


def _contract(obj: dict[str, Any]) -> str:
    """A contract id: 1-32 ASCII letters and digits (what boards and rescue calls give)."""
    value = _field(obj, "contract")
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_CONTRACT_ID
        or not (value.isascii() and value.isalnum())
    ):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'contract' must be a contract id from a board")
    return value


def _rescue(obj: dict[str, Any]) -> RescueMsg:
    op = _choice(obj, "op", RESCUE_OPS)
    kind = _choice(obj, "kind", RESCUE_KINDS) if op == "take" else ""
    return RescueMsg(ship=_ship(obj), op=op, kind=kind)


def _power(obj: dict[str, Any]) -> PowerMsg:
    return PowerMsg(
        ship=_ship(obj),
        engines=_float(obj, "engines", 0.0, 1.0, default=1.0),
        weapons=_float(obj, "weapons", 0.0, 1.0, default=1.0),
        shields=_float(obj, "shields", 0.0, 1.0, default=1.0),
    )


def _fire(obj: dict[str, Any]) -> FireMsg:
    return FireMsg(
        ship=_ship(obj), slot=_int(obj, "slot", 0, MAX_SLOT), target=_entity(obj, "target")
    )


def _mine(obj: dict[str, Any]) -> MineMsg:
    rock = _int(obj, "rock", 0, MAX_ROCK_INDEX, optional=True)
    return MineMsg(ship=_ship(obj), rock=-1 if rock is None else int(rock))


def _trade(obj: dict[str, Any]) -> TradeMsg:
    side = _choice(obj, "side", SIDES)
    return TradeMsg(
        ship=_ship(obj),
        rid=_rid(obj),
        item=_key(obj, "item"),
        qty=_int(obj, "qty", 1, MAX_QTY),
        side=side,
    )


def _service(obj: dict[str, Any]) -> ServiceMsg:
    op = _choice(obj, "op", SERVICE_OPS)
    return ServiceMsg(ship=_ship(obj), rid=_rid(obj), op=op)


def _report(obj: dict[str, Any]) -> ReportMsg:
    kind = _choice(obj, "kind", REPORT_KINDS)
    reason = _choice(obj, "reason", REPORT_REASONS)
    target = _field(obj, "target")
    if isinstance(target, int) and not isinstance(target, bool) and 0 < target <= MAX_ENTITY_ID:
        target = str(target)
    if (
        not isinstance(target, str)
        or not 0 < len(target) <= MAX_NAME_LEN
        or not target.isprintable()
    ):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'target' must be an id or a player's name")
    text = obj.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_REPORT_TEXT:
        raise ProtocolError(
            ErrorCode.BAD_FIELD, f"'text' must be a string of at most {MAX_REPORT_TEXT} characters"
        )
    if any(
        (ord(c) < 32 and c not in "\n\t") or c == "\x7f" or 0xD800 <= ord(c) < 0xE000 for c in text
    ):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'text' must not contain control characters")
    return ReportMsg(kind=kind, target=target, reason=reason, text=text)


def _bounty(obj: dict[str, Any]) -> BountyMsg:
    target = _field(obj, "target")
    if not isinstance(target, str) or not 0 < len(target) <= MAX_NAME_LEN:
        raise ProtocolError(ErrorCode.BAD_FIELD, "'target' must be a player's name")
    return BountyMsg(rid=_rid(obj), target=target, amount=_int(obj, "amount", 1, MAX_CREDITS))


def _hello(obj: dict[str, Any]) -> Hello:
    token = _field(obj, "token")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LEN:
        raise ProtocolError(ErrorCode.BAD_FIELD, "'token' must be a non-empty string")
    version = _int(obj, "v", 0, 2**16)
    if version not in PROTOCOL_VERSIONS:
        raise ProtocolError(
            ErrorCode.BAD_VERSION,
            f"protocol version {version} unsupported; use one of {list(PROTOCOL_VERSIONS)}",
        )
    world = obj.get("world")
    if world is not None and (
        not isinstance(world, str) or not 0 < len(world) <= 32 or not world.isprintable()
    ):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'world' must be a world's name (1-32 chars)")
    spectate, moderator_ship = _bool(obj, "spectate"), _bool(obj, "moderator_ship")
    if spectate and moderator_ship:
        raise ProtocolError(
            ErrorCode.BAD_FIELD, "'spectate' and 'moderator_ship' exclude each other"
        )
    follow = _entity(obj, "follow")
    sector = _sector(obj, "sector") if obj.get("sector") is not None else None
    if (follow or sector is not None) and not spectate:
        raise ProtocolError(ErrorCode.BAD_FIELD, "'follow' and 'sector' need 'spectate': true")
    return Hello(
        token=token,
        v=version,
        world=world,
        spectate=spectate,
        follow=follow,
        sector=sector,
        moderator_ship=moderator_ship,
    )


MAX_CAMERA = 2**31 / 16 - 1  # metres: the snapshot's i32 positions in 1/16 m


def _xy(obj: dict[str, Any], name: str, what: str) -> dict[str, Any]:
    """Field `name`, an [x, y] pair, as {"x": .., "y": ..} for the scalar checks."""
    value = _field(obj, name)
    if not isinstance(value, list) or len(value) != 2:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"'{name}' must be [x, y] {what}")
    return {"x": value[0], "y": value[1]}


def _sector(obj: dict[str, Any], name: str) -> tuple[int, int]:
    return WIRE.sector(name, _field(obj, name))


def _spectate(obj: dict[str, Any]) -> SpectateMsg:
    follow = _entity(obj, "follow") if "follow" in obj else None
    sector = _sector(obj, "sector") if obj.get("sector") is not None else None
    at = None
    if obj.get("at") is not None:
        coords = _xy(obj, "at", "in metres")
        at = (
            _float(coords, "x", -MAX_CAMERA, MAX_CAMERA),
            _float(coords, "y", -MAX_CAMERA, MAX_CAMERA),
        )
    if follow is None and sector is None and at is None:
        raise ProtocolError(ErrorCode.BAD_FIELD, "give 'follow', 'sector' or 'at'")
    if follow and at is not None:
        raise ProtocolError(
            ErrorCode.BAD_FIELD, "'follow' an entity or look 'at' a point, not both"
        )
    return SpectateMsg(follow=follow, sector=sector, at=at)


def _input(obj: dict[str, Any]) -> InputMsg:
    return InputMsg(
        ship=_ship(obj),
        thrust=_float(obj, "thrust", 0.0, 1.0),
        turn=_float(obj, "turn", -1.0, 1.0),
        brake=_bool(obj, "brake"),
    )


def _dock(obj: dict[str, Any]) -> DockMsg:
    return DockMsg(
        ship=_ship(obj), station=_int(obj, "station", 0, MAX_STATION_INDEX, optional=True)
    )


def _jump(obj: dict[str, Any]) -> JumpMsg:
    coords = _xy(obj, "to", "sector coordinates")
    return JumpMsg(
        ship=_ship(obj),
        to_x=_int(coords, "x", MIN_SECTOR, MAX_SECTOR),
        to_y=_int(coords, "y", MIN_SECTOR, MAX_SECTOR),
    )


def _autopilot(obj: dict[str, Any]) -> AutopilotMsg:
    ship = _ship(obj)
    off, to = obj.get("off"), obj.get("to")
    if off is not None and off is not True:
        raise ProtocolError(ErrorCode.BAD_FIELD, "'off' must be true (or absent)")
    if (off is None) == (to is None):
        raise ProtocolError(
            ErrorCode.BAD_FIELD, "give 'to' (where to fly) or 'off': true, exactly one of them"
        )
    if off:
        return AutopilotMsg(ship=ship, kind="off")
    if not isinstance(to, dict):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'to' must be an object with a 'kind'")
    kind = to.get("kind")
    cruise = obj.get("cruise", True)
    if not isinstance(cruise, bool):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'cruise' must be true or false")
    if kind == "station":
        return AutopilotMsg(
            ship, kind, index=_int(to, "index", 0, MAX_STATION_INDEX), cruise=cruise
        )
    if kind == "field":
        return AutopilotMsg(ship, kind, index=_int(to, "index", 0, MAX_FIELD_INDEX), cruise=cruise)
    if kind == "ship":
        return AutopilotMsg(ship, kind, target=int(_int(to, "id", 1, MAX_ENTITY_ID)), cruise=cruise)
    if kind == "link":
        to_x, to_y = _sector(to, "sector")
        return AutopilotMsg(ship, kind, to_x=to_x, to_y=to_y, cruise=cruise)
    if kind == "point":
        for name in ("x", "y"):
            _field(to, name)
        x = _float(to, "x", -MAX_POINT, MAX_POINT)
        y = _float(to, "y", -MAX_POINT, MAX_POINT)
        return AutopilotMsg(ship, kind, x=x, y=y, cruise=cruise)
    raise ProtocolError(
        ErrorCode.BAD_FIELD, f"'to.kind' must be one of {', '.join(AUTOPILOT_TARGETS)}"
    )


def _cruise(obj: dict[str, Any]) -> CruiseMsg:
    ship = _ship(obj)
    on = _field(obj, "on")
    if not isinstance(on, bool):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'on' must be true or false")
    return CruiseMsg(ship=ship, on=on)


# one decoder instance: json.loads with hooks would build a new JSONDecoder for every frame
_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_parse_float, parse_int=_parse_int
)
BINARY_ACK_TYPE = 1
BINARY_ACK = struct.Struct("<BI")

_DECODERS: dict[str, Callable[[dict[str, Any]], ClientMessage]] = {
    "hello": _hello,
    "input": _input,
    "dock": _dock,
    "undock": lambda o: UndockMsg(ship=_ship(o)),
    "jump": _jump,
    "ack": lambda o: AckMsg(seq=_int(o, "seq", 0, MAX_SEQ)),
    "ping": lambda o: PingMsg(n=_int(o, "n", 0, MAX_SEQ)),
    "fire": _fire,
    "target": lambda o: TargetMsg(ship=_ship(o), target=_entity(o, "target")),
    "mine": _mine,
    "loot": lambda o: LootMsg(ship=_ship(o), wreck=int(_int(o, "wreck", 1, MAX_ENTITY_ID))),
    "distress": lambda o: DistressMsg(ship=_ship(o)),
    "market": lambda o: MarketMsg(ship=_ship(o)),
    "trade": _trade,
    "service": _service,
    "buy_hull": lambda o: BuyHullMsg(ship=_ship(o), rid=_rid(o), hull=_key(o, "hull")),
    "buy_module": lambda o: BuyModuleMsg(
        ship=_ship(o), rid=_rid(o), slot=_int(o, "slot", 0, MAX_SLOT), weapon=_key(o, "weapon")
    ),
    "bounty": _bounty,
    "report": _report,
    "hire": lambda o: HireMsg(
        ship=_ship(o), rid=_rid(o), candidate=_clone_ref(o, "candidate", zero=False)
    ),
    "dismiss": lambda o: DismissMsg(ship=_ship(o), crew=_clone_ref(o, "crew", zero=False)),
    "crew_order": _crew_order,
    "crew_chat": _crew_chat,
    "hail": _hail,
    "invite_aboard": lambda o: InviteAboardMsg(ship=_ship(o), name=_player_name(o)),
    "board": lambda o: BoardMsg(ship=_ship(o)),
    "assign": _assign,
    "leave_ship": lambda o: LeaveShipMsg(ship=_ship(o)),
    "power": _power,
    "board_attack": lambda o: BoardAttackMsg(
        ship=_ship(o), target=int(_int(o, "target", 1, MAX_ENTITY_ID))
    ),
    "spectate": _spectate,
    "autopilot": _autopilot,
    "cruise": _cruise,
    "party_invite": lambda o: PartyInviteMsg(name=_player_name(o)),
    "party_accept": lambda o: PartyAcceptMsg(inviter=_account_ref(o, "from")),
    "party_decline": lambda o: PartyDeclineMsg(inviter=_account_ref(o, "from")),
    "party_leave": lambda o: PartyLeaveMsg(),
    "missions": lambda o: MissionsMsg(ship=_ship(o)),
    "accept": lambda o: AcceptMsg(ship=_ship(o), contract=_contract(o)),
    "abandon": lambda o: AbandonMsg(ship=_ship(o), contract=_contract(o)),
    "tutorial": lambda o: TutorialMsg(ship=_ship(o), op=_choice(o, "op", TUTORIAL_OPS)),
    "rescue": _rescue,
    "recall": lambda o: RecallMsg(ship=_ship(o), rid=_rid(o), confirm=_bool(o, "confirm")),
    "ration": lambda o: RationMsg(ship=_ship(o), rid=_rid(o)),
    "gm": decode_gm,  # game masters (issue 18): protocol/gm.py
}

MESSAGE_TYPES = tuple(_DECODERS)


def decode_client(frame: str | bytes) -> ClientMessage:
    """Decode one client frame. Raises ProtocolError (and only ProtocolError) on bad input."""
    if isinstance(frame, bytes | bytearray):
        # the one binary message: an ack, 5 bytes, the cheapest thing a client sends 10 times a
        # second (JSON acks cost the server a decoder pass each)
        if len(frame) == BINARY_ACK.size and frame[0] == BINARY_ACK_TYPE:
            return AckMsg(seq=BINARY_ACK.unpack(frame)[1])
        raise ProtocolError(
            ErrorCode.BAD_FRAME, "client messages are JSON text frames (or a 5-byte binary ack)"
        )
    if len(frame) > MAX_CLIENT_FRAME:  # str length <= utf-8 length, so this bound is conservative
        raise ProtocolError(ErrorCode.TOO_LARGE, f"frame over {MAX_CLIENT_FRAME} bytes")
    if len(frame.encode("utf-8", "surrogatepass")) > MAX_CLIENT_FRAME:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"frame over {MAX_CLIENT_FRAME} bytes")
    try:
        obj = _DECODER.decode(frame)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a message is a JSON object with a 't' field")
    kind = obj.get("t")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_FIELD, "'t' (the message type) is required")
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type '{kind[:32]}'")
    return decoder(obj)


def encode_server(msg_type: str, /, **fields: Any) -> str:
    """Encode a server -> client JSON message. Non-finite numbers are a server bug: ValueError."""
    return json.dumps({"t": msg_type, **fields}, separators=(",", ":"), allow_nan=False)


def error_message(code: ErrorCode, message: str, ref: str | None = None) -> str:
    """The JSON error frame sent for a refused message."""
    payload: dict[str, Any] = {"code": str(code), "message": message}
    if ref is not None:
        payload["ref"] = ref
    return encode_server("error", **payload)
