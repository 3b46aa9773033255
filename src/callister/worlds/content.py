"""A world's own content and generator parameters: set, read, and what they mean for a
character arriving from another world.

- `set_pack(store, world, pack, actor)`: the pack is loaded over the base content exactly as
  the server will run it (every problem named by file, entry and field, ContentError) and only
  then stored as the world's next content version.
- `content_report(world, history)`: what a world's content is, as `callister content show
  --json` and the admin API's content endpoint both report it.
- `world_content(store, world)`: the merged content a world runs (the base when it has no
  pack). A stored pack that no longer loads (a server upgrade changed the base under it) is a
  ContentError: the world refuses to start rather than run something else.
- `world_params(record)`: the world's GeneratorParams (its map, with the seed).
- `arrival_refit(...)`: the stated rule for a ship that arrives (a move, an evacuation) in a
  world whose content lacks its hull, a weapon module or a cargo item (docs/worlds.md, "Moving
  a character"): the hull is traded in at the source world's shipyard value (half its price
  times the hull left, the starter being scrap) and the ship arrives as the destination's
  starter hull, full, with its loadout; a module the destination lacks is taken out (its slot
  left empty) for half its price; cargo the destination lacks stays behind and is paid at its
  base price. The destination's `services` account pays, through the ledger, in the move's
  arrival transaction.
- `move_character(...)`: store.worlds.move_character with that refit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from callister.content import Content, ContentError, ContentPack, load_content
from callister.economy.rules import TRADE_IN
from callister.economy.vitals import VITAL_KEYS, vitals
from callister.store import Character, MoveResult, Store, WorldRecord
from callister.store.content import WorldContentRow
from callister.universe import DEFAULT_PARAMS, GeneratorParams
from callister.worlds.rules import WorldRules

log = logging.getLogger(__name__)

MODULE_TRADE_IN = 0.5
"""What a weapon module the destination lacks is paid, as a fraction of its price."""


class ParamsFixed(ValueError):
    """Generator parameters of an existing world cannot change (its map would move)."""


def validate_pack(pack: ContentPack) -> Content:
    """The base content with `pack` over it, as the server will run it; ContentError naming
    every problem's pack, file, entry and field."""
    return load_content(packs=[pack])


def set_pack(
    store: Store, world: str, pack: ContentPack | None, actor: int | None
) -> WorldContentRow:
    """Validate `pack` and store it as the world's next content version (None: clear it)."""
    if pack is not None:
        validate_pack(pack)
    return store.content.set(world, None if pack is None else pack.to_json(), actor)


def stored_pack(row: WorldContentRow | None) -> ContentPack | None:
    """The pack of a stored content version (None: no pack)."""
    if row is None or row.pack is None:
        return None
    return ContentPack.from_json(row.pack)


def content_report(world: str, history: Sequence[WorldContentRow]) -> dict[str, Any]:
    """World `world`'s content from its stored versions (`history`, newest first), JSON-ready:
    {world, version (0: never set), pack: {name, version, description, digest, files} or None
    for the base content, history: [WorldContentRow.summary()]}."""
    current = history[0] if history else None
    pack = stored_pack(current)
    return {
        "world": world,
        "version": 0 if current is None else current.version,
        "pack": None
        if pack is None
        else {
            "name": pack.name,
            "version": pack.version,
            "description": pack.description,
            "digest": pack.digest,
            "files": dict(pack.files),
        },
        "history": [row.summary() for row in history],
    }


def world_content(store: Store, world: str) -> Content:
    """The content world `world` runs: the base with its current pack over it."""
    pack = stored_pack(store.content.current(world))
    return load_content(packs=() if pack is None else (pack,))


def params_of(data: Mapping[str, Any] | None) -> GeneratorParams:
    """GeneratorParams from a record's stored form ({} or None: the defaults)."""
    return DEFAULT_PARAMS if not data else GeneratorParams.from_dict(dict(data))


def world_params(record: WorldRecord) -> GeneratorParams:
    """The world's generator parameters."""
    return params_of(record.params)


def stored_params(params: GeneratorParams) -> dict[str, Any]:
    """The form WorldRecord.params holds: {} for the defaults, else `to_dict`."""
    return {} if params.is_default else params.to_dict()


def refuse_params_change(record: WorldRecord, params: GeneratorParams) -> None:
    """Always raises ParamsFixed: a world's generator parameters are part of its identity."""
    now = world_params(record)
    same = " (they are the same as its current ones)" if now == params else ""
    raise ParamsFixed(
        f"world {record.name!r} exists: its generator parameters are part of its identity and "
        f"never change under its players{same}; fork it with the new parameters instead "
        f"(callister admin world fork {record.name} NEW --params FILE)"
    )


def arrival_refit(
    character: Character,
    source: Content,
    destination: Content,
    *,
    cargo: Mapping[str, int],
    price_multiplier: float = 1.0,
) -> dict[str, Any] | None:
    """What the destination's content changes on a ship arriving from the source (see the
    module doc), as store.worlds.move_character's `refit`; None when the ship fits as it is."""
    detail: dict[str, Any] = {}
    credit = 0
    extra = dict(character.extra)
    hull: str | None = None
    if character.hull not in destination.hulls:
        old = vitals(character, source)
        value = 0
        if not old.hull.starter and old.hull.hull > 0:
            value = math.floor(
                old.hull.price * TRADE_IN * price_multiplier * old.hull_hp / old.hull.hull
            )
        hull = destination.starter_hull.key
        extra = {k: v for k, v in extra.items() if k not in VITAL_KEYS}
        credit += value
        detail["hull"] = {"from": character.hull, "to": hull, "credit": value}
    else:
        raw = extra.get("weapons")
        if isinstance(raw, list):
            taken: dict[str, int] = {}
            weapons = []
            for w in raw:
                if isinstance(w, str) and w and w not in destination.weapons:
                    found = source.weapons.get(w)
                    value = (
                        0
                        if found is None
                        else math.floor(found.price * MODULE_TRADE_IN * price_multiplier)
                    )
                    taken[w] = taken.get(w, 0) + value
                    credit += value
                    weapons.append("")
                else:
                    weapons.append(w)
            if taken:
                extra["weapons"] = weapons
                ammo = extra.get("ammo")
                if isinstance(ammo, list):
                    extra["ammo"] = [0 if weapons[i:i + 1] == [""] else a
                                     for i, a in enumerate(ammo)]  # fmt: skip
                detail["modules"] = taken
    drop: dict[str, int] = {}
    paid = 0
    known = set(destination.commodities) | set(destination.ores)
    for item, qty in cargo.items():
        if item in known or qty <= 0:
            continue
        drop[item] = int(qty)
        goods = source.commodities.get(item)
        base = goods.base_price if goods is not None else 0
        paid += math.floor(base * qty * price_multiplier)
    if drop:
        credit += paid
        detail["cargo"] = {"items": drop, "credit": paid}
    if not detail:
        return None
    out: dict[str, Any] = {"credit": credit, "detail": detail, "extra": extra}
    if hull is not None:
        out["hull"] = hull
    if drop:
        out["drop"] = drop
    return out


def move_character(
    store: Store,
    account_id: int,
    source: str,
    destination: str,
    *,
    placement: Mapping[str, Any] | None = None,
    actor: int | None = None,
    reason: str = "move",
) -> MoveResult:
    """Move the character (store.worlds.move_character) with the refit the destination's
    content asks for (`arrival_refit`)."""
    character = store.characters.load(account_id, source)
    refit = None
    if character is not None:
        src_record = store.worlds.get(source)
        multiplier = WorldRules.from_dict(src_record.rules).price_multiplier if src_record else 1.0
        try:
            src_content = world_content(store, source)
        except ContentError:  # the source's pack no longer loads: value it by the base
            log.warning("world %s: its content pack does not load; moving by the base", source)
            src_content = load_content()
        refit = arrival_refit(
            character,
            src_content,
            world_content(store, destination),
            cargo=store.ledger.holdings(source, f"ship:{character.ship_id}"),
            price_multiplier=multiplier,
        )
    return store.worlds.move_character(
        account_id,
        source,
        destination,
        placement=placement,
        actor=actor,
        reason=reason,
        refit=refit,
    )
