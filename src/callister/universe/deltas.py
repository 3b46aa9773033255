"""Players' changes as deltas over the generated base system.

The store keeps, per system, a dict {key: value}; `apply_deltas(generated, deltas)` returns the
system as players see it. Deltas always apply to the freshly generated base (indices below are
the generated ones), never to a system that already had deltas applied. Supported keys:

``field.<i>.richness``            int 0-100: the field's ore richness; 0 means mined out.
``field.<i>.tick``                int >= 0: the world tick of the field's last richness change
                                  (for regrowth while the system is not loaded; see
                                  `callister.sim.regrown`). Validated, then read by the world
                                  with `field_ticks`; it does not change the system.
``field.<i>.rock.<j>.destroyed``  bool: rock j (generated order) of field i is gone (when true).
``station.<i>.destroyed``         bool: the station is a wreck: it stays in `stations` (indices
                                  never shift) with ``destroyed=True`` and no services.
``station.<i>.faction``           str, a content faction key: the station changed hands.
``station.<i>.services``          list of SERVICES: the station's services (sorted into
                                  SERVICES order; ignored while the station is destroyed).

Unknown keys, indices out of range and values of the wrong type or range raise ValueError, so a
corrupt or future delta is never silently dropped.
"""

from __future__ import annotations

import re
from typing import Any

from msgspec import structs

from callister.content import load_content
from callister.universe.model import SERVICES, StarSystem

DELTA_KEYS: tuple[str, ...] = (
    "field.<i>.richness",
    "field.<i>.tick",
    "field.<i>.rock.<j>.destroyed",
    "station.<i>.destroyed",
    "station.<i>.faction",
    "station.<i>.services",
)

_KEY = re.compile(
    r"^(?:field\.(?P<f>0|[1-9][0-9]*)\.(?:(?P<fattr>richness|tick)|rock\.(?P<r>0|[1-9][0-9]*)"
    r"\.destroyed)|station\.(?P<s>0|[1-9][0-9]*)\.(?P<sattr>destroyed|faction|services))$"
)


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"delta {key!r} must be a bool, not {value!r}")
    return value


def _tick(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"delta {key!r} must be an int >= 0, not {value!r}")
    return value


def field_ticks(deltas: dict[str, Any]) -> dict[int, int]:
    """Field index -> world tick of its last richness change, from the ``field.<i>.tick`` keys
    (validated like `apply_deltas`; other keys are ignored). Feed it to
    `ZoneLayout.from_system(..., field_ticks=...)`."""
    out: dict[int, int] = {}
    for key in sorted(deltas):
        m = _KEY.match(key) if isinstance(key, str) else None
        if m is not None and m["fattr"] == "tick":
            out[int(m["f"])] = _tick(key, deltas[key])
    return out


def apply_deltas(system: StarSystem, deltas: dict[str, Any]) -> StarSystem:
    """A new StarSystem: `system` (the generated base) with `deltas` applied (see module doc).

    Pure: `system` is not modified; equal inputs give equal outputs regardless of dict order.
    Raises ValueError naming the first offending key (in sorted order).
    """
    fields = list(system.fields)
    stations = list(system.stations)
    dead_rocks: dict[int, set[int]] = {}
    factions = load_content().factions
    for key in sorted(deltas):
        value = deltas[key]
        m = _KEY.match(key) if isinstance(key, str) else None
        if m is None:
            raise ValueError(f"unknown delta key {key!r}; supported: {', '.join(DELTA_KEYS)}")
        if m["f"] is not None:
            i = int(m["f"])
            if i >= len(fields):
                raise ValueError(f"delta {key!r}: system {system.key} has {len(fields)} fields")
            if m["fattr"] == "richness":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
                    raise ValueError(f"delta {key!r} must be an int in 0..100, not {value!r}")
                fields[i] = structs.replace(fields[i], richness=value)
            elif m["fattr"] == "tick":
                _tick(key, value)
            else:
                j = int(m["r"])
                if j >= len(system.fields[i].rocks):
                    raise ValueError(f"delta {key!r}: field {i} has no rock {j}")
                if _bool(key, value):
                    dead_rocks.setdefault(i, set()).add(j)
            continue
        i = int(m["s"])
        if i >= len(stations):
            raise ValueError(f"delta {key!r}: system {system.key} has {len(stations)} stations")
        attr = m["sattr"]
        if attr == "destroyed":
            stations[i] = structs.replace(stations[i], destroyed=_bool(key, value))
        elif attr == "faction":
            if not isinstance(value, str) or value not in factions:
                raise ValueError(f"delta {key!r} must be a faction key, not {value!r}")
            stations[i] = structs.replace(stations[i], faction=value)
        else:
            if not isinstance(value, list | tuple) or not all(
                isinstance(v, str) and v in SERVICES for v in value
            ):
                raise ValueError(f"delta {key!r} must be a list of {SERVICES}, not {value!r}")
            wanted = set(value)
            stations[i] = structs.replace(
                stations[i], services=tuple(s for s in SERVICES if s in wanted)
            )
    for i, dead in dead_rocks.items():
        rocks = tuple(r for j, r in enumerate(fields[i].rocks) if j not in dead)
        fields[i] = structs.replace(fields[i], rocks=rocks)
    # a destroyed station offers nothing, whatever other deltas say about its services
    stations = [structs.replace(s, services=()) if s.destroyed else s for s in stations]
    return structs.replace(system, fields=tuple(fields), stations=tuple(stations))
