"""Registry records for the worlds tests."""

from __future__ import annotations

from callister.store import WorldRecord


def world_record(name: str, **fields: object) -> WorldRecord:
    """The registry record of world `name`: public, seed 1, no owner, no player limit, no
    rules, but for `fields`."""
    base: dict[str, object] = dict(
        name=name, seed=1, owner=None, visibility="public", player_limit=0, rules={}
    )
    return WorldRecord(**(base | fields))  # type: ignore[arg-type]
