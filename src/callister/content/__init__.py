"""Game content as data (TOML under content/data), content packs over it, and the typed loader.

The entry points: `load_content(data_dir, packs)` -> `Content`; `ContentPack` (from a
directory, a mapping of files or its stored JSON form, with a canonical form and a digest);
`ContentError` (pack, file, entry, field, reason; every problem in `.errors`); `role_counts`
(NPC population per system from the content's roles).
"""

from callister.content.errors import ContentError
from callister.content.loader import DATA_DIR, Content, load_content
from callister.content.packs import MAX_PACK_BYTES, MAX_PACK_ENTRIES, PACK_FORMAT, ContentPack
from callister.content.population import role_counts, system_kind
from callister.content.schema import (
    MAX_WEAPON_SLOTS,
    NPC_GOALS,
    SYSTEM_KINDS,
    WEAPON_KINDS,
    Commodity,
    Faction,
    Hull,
    NpcRole,
    Ore,
    Population,
    Weapon,
)

__all__ = [
    "DATA_DIR",
    "MAX_PACK_BYTES",
    "MAX_PACK_ENTRIES",
    "MAX_WEAPON_SLOTS",
    "NPC_GOALS",
    "PACK_FORMAT",
    "SYSTEM_KINDS",
    "WEAPON_KINDS",
    "Commodity",
    "Content",
    "ContentError",
    "ContentPack",
    "Faction",
    "Hull",
    "NpcRole",
    "Ore",
    "Population",
    "Weapon",
    "load_content",
    "role_counts",
    "system_kind",
]
