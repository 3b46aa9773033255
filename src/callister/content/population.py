"""How many NPCs of each role a system gets: a pure function of the content's NPC roles and a
few facts about the system, so the server's spawning reads its numbers from data.

The count of role i is drawn from the system's 64-bit hash `roll`: least + (roll >> 4i) mod
(most - least + 1), with the role's [least, most] for the system's kind, then scaled by the
world's NPC density and capped at the role's `max_per_system`. With the base roles (patrol,
trader, pirate, miner, in that order) this is exactly what `server/npcs.py: npc_plan` computed
from its constants (bits 0, 4, 8 and 12 of the hash).
"""

from __future__ import annotations

from collections.abc import Mapping

from callister.content.schema import SYSTEM_KINDS, NpcRole


def system_kind(lawful_station: bool, home: bool) -> str:
    """The kind of a system for population targets: "lawful" if it has a station of a lawful
    faction, else "home" for a home system (where new players start), else "lawless"."""
    if lawful_station:
        return "lawful"
    return "home" if home else "lawless"


def role_counts(
    roles: Mapping[str, NpcRole],
    kind: str,
    *,
    markets: int,
    fields: int,
    roll: int,
    density: float = 1.0,
) -> list[tuple[NpcRole, int]]:
    """(role, count) for each role with at least one NPC in a system of `kind` with `markets`
    stations that trade and `fields` asteroid fields, in the roles' order. `roll` is the
    system's hash (an int >= 0), `density` the world's NPC density (0 = none). Raises
    ValueError for an unknown kind."""
    if kind not in SYSTEM_KINDS:
        raise ValueError(f"system kind must be one of {SYSTEM_KINDS}, not {kind!r}")
    if density <= 0:
        return []
    out: list[tuple[NpcRole, int]] = []
    for i, role in enumerate(roles.values()):
        if markets < role.min_markets or fields < role.min_fields:
            continue
        least, most = role.population.range_for(kind)
        n = least + (roll >> (4 * i)) % (most - least + 1)
        count = min(role.max_per_system, round(n * density))
        if count > 0:
            out.append((role, count))
    return out
