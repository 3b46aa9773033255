"""Friends together (issue 16): where a new player starts, and invite links.

- **Choosing a home.** Registration may name one of the offered home systems (`offered_homes`:
  the first `start_choices` of the world's home systems, each a system with a station and jump
  links), so friends registering together can pick the same one.
- **Start where my friend is.** A player makes an invite code (`make_invite`); a friend
  registering with it starts docked at the player's home station (`redeem`). Codes are opaque
  random strings (96 bits); only their SHA-256 is stored, with who made it, when it expires
  (`invite_ttl_s`) and how many registrations it may place (`invite_max_uses`).

Either way the choice is stored as a `Start` (store.invites) and read once, when the player's
first character in the world is made (`World._new_character`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from callister.store import Invite, InviteRefused, Start

if TYPE_CHECKING:
    from callister.server.world import World

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_LIVE_INVITES = 20  # usable invite links one player may hold at once


class StartRefused(ValueError):
    """A registration's `home` or `invite` the server refuses: HTTP `status`, error `code`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def new_code() -> str:
    """A fresh invite code: 16 URL-safe characters (96 random bits)."""
    return secrets.token_urlsafe(12)


def sector_pair(xy: tuple[int, int]) -> list[str]:
    return [str(xy[0]), str(xy[1])]


async def offered_homes(world: World) -> list[dict[str, Any]]:
    """The home systems a new player may choose at registration, best first: `system` [x, y]
    (decimal strings), `name`, `faction`, `star`, `station` (index), `station_name`,
    `services`, `links` (jump links), `players` (characters whose home it is, online now)."""
    out = []
    online: dict[tuple[int, int], int] = {}
    for pilot in world.pilots.values():
        c = pilot.character
        online[(c.home_x, c.home_y)] = online.get((c.home_x, c.home_y), 0) + 1
    for x, y, index in world.homes[: world.settings.start_choices]:
        system = await world.universe.get(x, y)
        if system is None:  # pragma: no cover - homes are systems by construction
            continue
        station = system.stations[index]
        out.append(
            {
                "system": sector_pair((x, y)),
                "name": system.name,
                "faction": system.faction,
                "star": system.star.to_dict(),
                "station": index,
                "station_name": station.name,
                "services": list(station.services),
                "links": len(system.links),
                "players": online.get((x, y), 0),
            }
        )
    return out


def parse_home(value: Any, world: World) -> tuple[int, int, int]:
    """A registration's `home`: [x, y] (numbers or decimal strings) naming an offered home.
    StartRefused 400 BAD_FIELD (not a pair of integers) or 400 UNKNOWN_HOME (not offered)."""
    if not isinstance(value, list) or len(value) != 2:
        raise StartRefused(400, "BAD_FIELD", "'home' must be a sector [x, y] from /api/homes")
    xy = []
    for v in value:
        if isinstance(v, str) and re.fullmatch(r"-?[0-9]{1,20}", v):
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or not -(2**63) <= v < 2**63:
            raise StartRefused(400, "BAD_FIELD", "'home' must be a sector [x, y] of integers")
        xy.append(v)
    for x, y, station in world.homes[: world.settings.start_choices]:
        if (x, y) == (xy[0], xy[1]):
            return x, y, station
    raise StartRefused(
        400, "UNKNOWN_HOME", f"sector {xy[0]}:{xy[1]} is not a home system offered here"
    )


def parse_code(value: Any) -> str:
    """An invite code's shape; StartRefused 400 BAD_INVITE for anything else."""
    if not isinstance(value, str) or not CODE_RE.match(value):
        raise StartRefused(400, "BAD_INVITE", "that is not an invite code")
    return value


def check_invite(invite: Invite | None, world: World, now: float | None = None) -> Invite:
    """An invite a registration may use: StartRefused 400 BAD_INVITE (unknown, or for another
    world), 410 INVITE_EXPIRED (expired or used up)."""
    if invite is None or invite.world != world.name:
        raise StartRefused(400, "BAD_INVITE", "no such invite code: ask your friend for a new link")
    now = time.time() if now is None else now
    if invite.expires_at <= now:
        raise StartRefused(410, "INVITE_EXPIRED", "this invite has expired: ask for a new link")
    if invite.uses >= invite.max_uses:
        raise StartRefused(410, "INVITE_EXPIRED", "this invite is used up: ask for a new link")
    return invite


async def home_of(world: World, account_id: int) -> tuple[int, int, int]:
    """Where `account_id`'s home station is in the world: their character's home, else the
    start they chose, else the home a new character of theirs would get."""
    pilot = world.pilots.get(account_id)
    if pilot is not None:
        c = pilot.character
        return c.home_x, c.home_y, c.home_station
    store = world.store
    character = await world.writer.call(store.characters.load, account_id, world.name)
    if character is not None:
        return character.home_x, character.home_y, character.home_station
    start = await world.writer.call(store.invites.start_of, account_id, world.name)
    if start is not None:
        return start.system_x, start.system_y, start.station
    return world.homes[account_id % len(world.homes)]


@dataclass(frozen=True)
class MadeInvite:
    code: str
    invite: Invite
    home: tuple[int, int, int]


async def make_invite(world: World, account_id: int) -> MadeInvite:
    """A new invite code of `account_id` for the world (the code is shown once).
    StartRefused 429 TOO_MANY_INVITES when the player holds MAX_LIVE_INVITES usable ones."""
    settings = world.settings
    live = await world.writer.call(world.store.invites.live_count, account_id, world.name)
    if live >= MAX_LIVE_INVITES:
        raise StartRefused(
            429,
            "TOO_MANY_INVITES",
            f"you hold {live} invite links that still work; wait for one to expire or be used",
        )
    code = new_code()
    expires = time.time() + settings.invite_ttl_s
    invite = await world.writer.call(
        world.store.invites.create,
        code_hash(code),
        account_id,
        world.name,
        expires,
        settings.invite_max_uses,
    )
    return MadeInvite(code, invite, await home_of(world, account_id))


async def redeem(world: World, code: str, account_id: int) -> Start:
    """Place the new account `account_id` at the home station of the invite's maker, using
    the invite once. StartRefused as `check_invite` (a use raced away counts as used up)."""
    invite = check_invite(await world.writer.call(world.store.invites.get, code_hash(code)), world)
    x, y, station = await home_of(world, invite.account_id)
    start = Start(account_id, world.name, x, y, station, invited_by=invite.account_id)
    try:
        await world.writer.call(world.store.invites.redeem, code_hash(code), start)
    except InviteRefused as exc:
        status, err = (400, "BAD_INVITE") if exc.reason == "unknown" else (410, "INVITE_EXPIRED")
        raise StartRefused(status, err, str(exc)) from None
    return start


async def describe_start(world: World, start: Start | None) -> dict[str, Any] | None:
    """The `start` of a registration's answer: the system, its name and the station."""
    if start is None:
        return None
    system = await world.universe.get(start.system_x, start.system_y)
    name = system.name if system is not None else None
    station_name = (
        system.stations[start.station].name
        if system is not None and start.station < len(system.stations)
        else None
    )
    return {
        "system": sector_pair((start.system_x, start.system_y)),
        "name": name,
        "station": start.station,
        "station_name": station_name,
        "invited_by": start.invited_by,
    }
