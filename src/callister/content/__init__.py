"""Game content as data (TOML under content/data) and its typed loader."""

from callister.content.loader import (
    MAX_WEAPON_SLOTS,
    WEAPON_KINDS,
    Commodity,
    Content,
    ContentError,
    Faction,
    Hull,
    Ore,
    Weapon,
    load_content,
)

__all__ = [
    "MAX_WEAPON_SLOTS",
    "WEAPON_KINDS",
    "Commodity",
    "Content",
    "ContentError",
    "Faction",
    "Hull",
    "Ore",
    "Weapon",
    "load_content",
]
