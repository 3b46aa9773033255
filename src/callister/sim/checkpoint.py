"""Zone checkpoints: the FULL state of a zone as bytes, and back (for footage and replays).

A checkpoint holds everything a later `step()` reads: every `EntityStore` column (rows in their
current order), the retired-id set, the pending intents and actions, the charging-jump and
mining sets, the combat bookkeeping (`damaged`, `criminals`), the id pool, every field's ore,
the rules, the tick and the static raster's margin. The layout is not included (it is the
static part; the caller keeps it). Restoring a checkpoint and applying the same calls in the
same order gives the same `state_hash()` and events as the live zone.

Format (little-endian): b"CZCK", u32 version, u32 header length, a JSON header, then the raw
bytes of each column's live rows and of the retired ids, in the order the header lists them.
No pickle: the bytes may come from a database.

Intents travel as small JSON lists, ``[type, actor, ship, ...fields]`` (`intent_to_json`).
"""

from __future__ import annotations

import dataclasses
import json
import struct
from typing import Any, Final

import numpy as np

from callister.protocol.intents import INTENT_NAMES, INTENT_TYPES, Intent
from callister.sim.entities import COLUMN_NAMES, SCHEMA, WIDE_COLUMNS, EntityStore
from callister.sim.rules import ZoneRules
from callister.sim.state import FieldState, IdPool, SimState

MAGIC: Final = b"CZCK"
VERSION: Final = 1
_HEAD: Final = struct.Struct("<4sII")
MAX_CHECKPOINT: Final = 256 * 1024 * 1024
"""Bytes: a checkpoint larger than this is refused on restore (corrupt or hostile input)."""


class CheckpointError(ValueError):
    """The bytes are not a checkpoint this code can restore."""


def intent_to_json(intent: Intent) -> list[Any]:
    """An intent as ``[type, field values in declaration order]`` (JSON-safe)."""
    name = INTENT_NAMES.get(type(intent))
    if name is None:
        raise TypeError(f"not an intent: {intent!r}")
    return [name, *(getattr(intent, f.name) for f in dataclasses.fields(intent))]


def intent_from_json(value: Any) -> Intent:
    """The intent `intent_to_json` encoded; CheckpointError for anything else."""
    if not isinstance(value, list) or not value or value[0] not in INTENT_TYPES:
        raise CheckpointError(f"not an encoded intent: {str(value)[:80]}")
    cls = INTENT_TYPES[value[0]]
    names = [f.name for f in dataclasses.fields(cls)]
    if len(value) - 1 != len(names):
        raise CheckpointError(f"{value[0]} intent needs {len(names)} fields")
    try:
        intent: Intent = cls(*value[1:])
        return intent
    except TypeError as exc:
        raise CheckpointError(str(exc)) from None


def dump(state: SimState) -> bytes:
    """The zone state as checkpoint bytes (see the module docstring)."""
    store = state.store
    n = store.count
    retired = store.retired().astype("<u8")
    columns = []
    blobs = []
    for name, _, _ in SCHEMA:
        column = getattr(store, name)[:n]
        le = column.astype(column.dtype.newbyteorder("<"), copy=False)
        columns.append([name, le.dtype.str])
        blobs.append(np.ascontiguousarray(le).tobytes())
    header = {
        "tick": state.tick,
        "tick_hz": state.tick_hz,
        "count": n,
        "retired": int(retired.size),
        "columns": columns,
        "rules": dataclasses.asdict(state.rules),
        "margin": state.statics.margin,
        "intents": [intent_to_json(i) for i in state.intents],
        "actions": [intent_to_json(i) for i in state.actions],
        "fires": [[intent_to_json(f), row] for f, row in state.fires],
        "fires_version": state.fires_version,
        "jumping": sorted(state.jumping),
        "miners": sorted(state.miners),
        "crew": sorted([a, s] for a, s in getattr(state, "crew", {}).items()),
        "stations": sorted([s, sorted(t.items())] for s, t in state.stations.items()),
        "power": sorted([s, list(f)] for s, f in state.power.items()),
        "damaged": state.damaged,
        "criminals": state.criminals,
        "pool": [[r.start, r.stop, r.step] for r in state.pool.ranges()],
        "fields": [
            [f.index, f.ore, f.richness, f.base, f.units, f.tick]
            for f in (state.fields[i] for i in sorted(state.fields))
        ],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([_HEAD.pack(MAGIC, VERSION, len(head)), head, *blobs, retired.tobytes()])


def load(data: bytes) -> tuple[dict[str, Any], EntityStore]:
    """Parse checkpoint bytes into (header, a rebuilt EntityStore); CheckpointError if bad."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CheckpointError("a checkpoint is bytes")
    data = bytes(data)
    if len(data) > MAX_CHECKPOINT or len(data) < _HEAD.size:
        raise CheckpointError(f"checkpoint of {len(data)} bytes")
    magic, version, head_len = _HEAD.unpack_from(data)
    if magic != MAGIC or version != VERSION:
        raise CheckpointError("not a zone checkpoint (bad magic or version)")
    try:
        header = json.loads(data[_HEAD.size : _HEAD.size + head_len])
        n = int(header["count"])
        columns = header["columns"]
        retired_n = int(header["retired"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"bad checkpoint header: {exc}") from None
    try:
        names = [str(c[0]) for c in columns]
    except (TypeError, IndexError, KeyError):
        names = []
    if not names or names != list(COLUMN_NAMES[: len(names)]):
        raise CheckpointError("checkpoint columns differ from this build's entity schema")
    # A checkpoint from before columns were appended to the schema (saved footage outlives
    # builds) restores with the newer columns at their defaults.
    store = EntityStore(capacity=max(n, 1) * 2)
    offset = _HEAD.size + head_len
    for (name, dtype), (_, want, _) in zip(columns, SCHEMA[: len(columns)], strict=True):
        dt = np.dtype(dtype)
        if dt != np.dtype(want).newbyteorder("<"):
            raise CheckpointError(f"column {name} has dtype {dtype}")
        shape = (n, store.weapon.shape[1]) if name in WIDE_COLUMNS else (n,)
        size = int(np.prod(shape)) * dt.itemsize
        if offset + size > len(data):
            raise CheckpointError("checkpoint truncated")
        values = np.frombuffer(data, dtype=dt, count=int(np.prod(shape)), offset=offset)
        getattr(store, name)[:n] = values.reshape(shape)
        offset += size
    if offset + retired_n * 8 != len(data):
        raise CheckpointError("checkpoint length does not match its header")
    retired = np.frombuffer(data, dtype="<u8", count=retired_n, offset=offset).astype(np.uint64)
    try:
        store.restore(n, retired)
    except ValueError:
        raise CheckpointError("checkpoint has duplicate entity ids") from None
    return header, store


def apply(state: SimState, header: dict[str, Any], store: EntityStore) -> None:
    """Overwrite `state` (a freshly built zone's) with a parsed checkpoint; CheckpointError
    (changing nothing) if the header is malformed."""
    try:
        tick = int(header["tick"])
        rules = ZoneRules(**header["rules"])
        statics = state.statics.with_margin(float(header["margin"]))
        intents = [intent_from_json(i) for i in header["intents"]]
        actions = [intent_from_json(i) for i in header["actions"]]
        fires = [(intent_from_json(f), int(r)) for f, r in header["fires"]]
        fires_version = int(header["fires_version"])
        jumping = {int(i) for i in header["jumping"]}
        miners = {int(i) for i in header["miners"]}
        crew = {int(a): int(s) for a, s in header.get("crew", [])}
        stations = {int(s): {str(k): int(v) for k, v in t} for s, t in header.get("stations", [])}
        power = {
            int(s): (float(f[0]), float(f[1]), float(f[2])) for s, f in header.get("power", [])
        }
        damaged = bool(header["damaged"])
        criminals = int(header["criminals"])
        pool = IdPool()
        for start, stop, step in header["pool"]:
            pool.grant(range(int(start), int(stop), int(step)))
        fields = {
            int(i): FieldState(int(i), str(ore), int(rich), int(base), float(units), int(t))
            for i, ore, rich, base, units, t in header["fields"]
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"bad checkpoint: {exc}") from None
    state.store = store
    state.tick = tick
    state.rules = rules
    state.statics = statics
    state.intents = intents
    state.actions = actions  # type: ignore[assignment]
    state.fires = fires  # type: ignore[assignment]
    state.fires_version = fires_version
    state.jumping = jumping
    state.miners = miners
    if hasattr(state, "crew"):
        state.crew = crew
    state.stations = stations
    state.power = power
    state.damaged = damaged
    state.criminals = criminals
    state.pool = pool
    state.fields = fields
    state.grid_built = (-1, -1)
    state.drop_scratch()
    state.update_next_regrow()
