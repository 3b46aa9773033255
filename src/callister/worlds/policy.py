"""Who may see and enter which world."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from callister.store import WorldRecord


@dataclass(frozen=True)
class Access:
    allowed: bool
    reason: str = ""


def access(
    record: WorldRecord | None,
    account_id: int,
    role: str,
    membership: str | None,
    population: int,
    present: bool = False,
) -> Access:
    """May the account enter the world now? `membership`: 'invited', 'member' or None;
    `population`: players in the world now; `present`: the account is already one of them."""
    if record is None:
        return Access(False, "no such world")
    if record.state != "live":
        return Access(False, f"world {record.name} is being deleted")
    outsider = role != "admin" and record.owner != account_id
    if outsider and record.visibility != "public" and membership is None:
        return Access(False, f"world {record.name} is {record.visibility}: you need an invite")
    if record.player_limit and population >= record.player_limit and not present:
        return Access(False, f"world {record.name} is full ({record.player_limit} players)")
    return Access(True)


def visible_worlds(
    records: Iterable[WorldRecord],
    account_id: int,
    role: str,
    memberships: Mapping[str, str],
    populations: Mapping[str, int],
) -> list[dict[str, object]]:
    """The worlds the account may enter (admins: every live world), for `welcome.worlds` and
    GET /api/worlds."""
    out: list[dict[str, object]] = []
    for r in records:
        membership = memberships.get(r.name)
        verdict = access(r, account_id, role, membership, 0)
        if not verdict.allowed:
            continue
        out.append(
            {
                "name": r.name,
                "visibility": r.visibility,
                "owner": r.owner,
                "players": populations.get(r.name, 0),
                "player_limit": r.player_limit,
                "rules": r.rules,
                "membership": membership,
            }
        )
    return out
