"""Footage: what happened in a zone, recorded compactly and replayable exactly.

A `ZoneRecorder` hangs on a zone's `tap` and records every call that changes the zone from
outside, in the order the zone receives them: intents (`submit`), ships and wrecks added and
removed, vitals set, id grants, and each `step` (the tick boundary). Every `checkpoint_s` it
closes the current *segment* and starts a new one with a full `Zone.checkpoint()`. Closed
segments are zlib-compressed; segments older than `window_s` are dropped (the rolling window).

Replaying a segment's calls onto `Zone.from_checkpoint(layout, checkpoint)` reproduces the live
zone exactly (the same `state_hash()` after every step), because the zone is deterministic and
the recorder saw every input it had.

A saved footage (`Footage.encode()`) is self-contained: a JSON header (zone key, layout, the
system for the viewer, names, the segments' ticks and sizes, marks such as the report) and the
segments' compressed bytes. No pickle anywhere: saved footage comes back from a database.
"""

from __future__ import annotations

import json
import math
import struct
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from callister.content import Content, ContentError, ContentPack, Hull, load_content
from callister.protocol.intents import Input
from callister.protocol.snapshot import encode_snapshot, quantise
from callister.sim import Zone, ZoneEvent, ZoneLayout
from callister.sim.checkpoint import INTENT_TYPES, intent_from_json, intent_to_json
from callister.sim.entities import NO_WEAPON
from callister.sim.frame import HULL_KEYS, hull_index, register_hulls
from callister.sim.layout import FieldSpec, RockSpec, StationSpec
from callister.sim.weapons import WEAPON_KEYS, register_weapons, weapon_index

MAGIC: Final = b"CFTG"
VERSION: Final = 1
_HEAD: Final = struct.Struct("<4sII")
MAX_FOOTAGE: Final = 64 * 1024 * 1024
"""Bytes: the most one saved footage may hold (the store refuses larger; see docs)."""
MAX_FRAMES: Final = 2400
"""Frames one replay request may ask for (2 minutes at 20 Hz)."""
OPS: Final = frozenset(
    {"submit", "add_ship", "remove_ship", "remove_entity", "add_wreck", "set_vitals", "grant_ids",
     "set_crew", "tune_ship", "step"}
)  # fmt: skip


class FootageError(ValueError):
    """Bytes that are not footage, or a request footage cannot answer."""


# --------------------------------------------------------------------------- value codec
def _enc(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Hull):
        return {"hull": value.key}
    if isinstance(value, range):
        return {"range": [value.start, value.stop, value.step]}
    if type(value) in _INTENT_CLASSES:
        return {"intent": intent_to_json(value)}
    if isinstance(value, list | tuple):
        return [_enc(v) for v in value]
    raise TypeError(f"footage cannot record {type(value).__name__}")


_INTENT_CLASSES: Final = frozenset(INTENT_TYPES.values())


def _dec(value: Any, hulls: Mapping[str, Hull]) -> Any:
    if isinstance(value, dict):
        if "hull" in value:
            hull = hulls.get(value["hull"])
            if hull is None:
                raise FootageError(f"footage names unknown hull {value['hull']!r}")
            return hull
        if "range" in value:
            start, stop, step = value["range"]
            return range(int(start), int(stop), int(step))
        if "intent" in value:
            return intent_from_json(value["intent"])
        raise FootageError("bad footage value")
    if isinstance(value, list):
        return [_dec(v, hulls) for v in value]
    return value


def encode_op(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """One recorded call as a JSON line."""
    if name == "step":
        return b'["step"]\n'
    if name == "submit" and len(args) == 1 and type(args[0]) is Input and not kwargs:
        # the call a crowd makes ten times a second per player: the same line as the general
        # path below, written directly (json.dumps of floats is their repr) at a fifth the cost
        i = args[0]
        thrust, turn = float(i.thrust), float(i.turn)
        if math.isfinite(thrust) and math.isfinite(turn):
            brake = "true" if i.brake else "false"
            return (
                f'["submit",[{{"intent":["input",{int(i.actor)},{int(i.ship)},{thrust!r},'
                f"{turn!r},{brake}]}}]]\n"
            ).encode()
    body: list[Any] = [name, [_enc(a) for a in args]]
    if kwargs:
        body.append({k: _enc(v) for k, v in kwargs.items()})
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def apply_op(zone: Zone, line: bytes) -> list[ZoneEvent] | None:
    """Replay one recorded call on `zone`; a step returns its events."""
    try:
        body = json.loads(line)
        name = body[0]
    except (ValueError, IndexError, TypeError) as exc:
        raise FootageError(f"bad footage line: {exc}") from None
    if name not in OPS:
        raise FootageError(f"footage names unknown call {str(name)[:32]!r}")
    if name == "step":
        return zone.step()
    hulls = zone.content.hulls  # the recorded world's hulls (its content pack's too)
    args = _dec(body[1], hulls)
    kwargs = {k: _dec(v, hulls) for k, v in body[2].items()} if len(body) > 2 else {}
    getattr(zone, name)(*args, **kwargs)
    return None


def _renumber(zone: Zone, keys: Mapping[str, list[str]]) -> None:
    """Map the restored hull and weapon columns from the recording process's numbering
    (`keys`) to this one's (the base keys agree everywhere; a pack's may not)."""
    store = zone.store
    n = store.count
    hulls, weapons = keys.get("hulls", []), keys.get("weapons", [])
    if hulls and hulls != HULL_KEYS[: len(hulls)]:
        register_hulls(hulls)
        table = np.array([hull_index(k) for k in hulls], dtype=store.hull.dtype)
        store.hull[:n] = table[store.hull[:n]]
    if weapons and weapons != WEAPON_KEYS[: len(weapons)]:
        register_weapons(weapons)
        table = np.array([weapon_index(k) for k in weapons] + [NO_WEAPON], dtype=np.int64)
        old = store.weapon[:n].astype(np.int64)
        store.weapon[:n] = table[np.where(old < 0, len(weapons), old)]


# --------------------------------------------------------------------------- layout codec
def layout_to_json(layout: ZoneLayout) -> dict[str, Any]:
    return {
        "radius": layout.radius,
        "sector": list(layout.sector),
        "links": [list(link) for link in layout.links],
        "star_radius": layout.star_radius,
        "stations": [
            [s.index, s.x, s.y, s.radius, s.dock_radius, s.lawful] for s in layout.stations
        ],
        "rocks": [[r.x, r.y, r.r, r.field] for r in layout.rocks],
        "fields": [[f.index, f.ore, f.richness, f.base, f.tick] for f in layout.fields],
        "gates": [list(g) for g in layout.gates],
    }


def layout_from_json(d: dict[str, Any]) -> ZoneLayout:
    try:
        return ZoneLayout(
            radius=float(d["radius"]),
            sector=(int(d["sector"][0]), int(d["sector"][1])),
            links=tuple((int(a), int(b)) for a, b in d["links"]),
            star_radius=float(d["star_radius"]),
            stations=tuple(StationSpec(int(i), x, y, r, dr, bool(lw)) for i, x, y, r, dr, lw in
                           d["stations"]),
            rocks=tuple(RockSpec(x, y, r, int(f)) for x, y, r, f in d["rocks"]),
            fields=tuple(FieldSpec(int(i), str(o), int(r), int(b), t) for i, o, r, b, t in
                         d["fields"]),
            gates=tuple((float(x), float(y)) for x, y in d.get("gates", ())),  # older: none
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise FootageError(f"bad footage layout: {exc}") from None


# --------------------------------------------------------------------------- segments
_COMPRESSOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="footage")
"""Compresses ended segments' calls beside the tick (`Segment.close_beside`)."""


@dataclass(slots=True)
class Segment:
    """A checkpoint and the calls after it. `ops` is zlib-compressed JSON lines once closed."""

    tick: int  # the zone tick of the checkpoint
    at: float  # wall time of the checkpoint
    checkpoint: bytes  # zlib-compressed Zone.checkpoint()
    lines: list[bytes] = field(default_factory=list)  # open segment: the calls so far
    ops: bytes = b""  # closed segment: zlib(b"".join(lines))
    end_tick: int = 0
    end_at: float = 0.0
    ended: bool = False  # no more calls: end_tick and end_at are set

    @property
    def closed(self) -> bool:
        return not self.lines and bool(self.ops)

    def close_beside(self) -> None:
        """No more calls: they are compressed into `ops` on the footage thread (zlib lets go of
        the interpreter while it works): a crowded zone's ten seconds of calls took 15-30 ms to
        compress, and the tick that ended the segment waited for it. Until it is done the
        segment reads as open (`frozen_ops` compresses its lines itself)."""
        self.ended = True
        data = b"".join(self.lines)

        def done(future: Future[bytes]) -> None:
            if future.exception() is None:
                self.ops = future.result()  # (ops first: a reader sees lines or ops)
                self.lines = []

        _COMPRESSOR.submit(zlib.compress, data, 6).add_done_callback(done)

    def frozen_ops(self) -> bytes:
        """Compressed calls so far (an open segment is compressed on the fly)."""
        if self.ops and not self.lines:
            return self.ops
        return zlib.compress(b"".join(self.lines), 6)

    @property
    def size(self) -> int:
        return len(self.checkpoint) + len(self.ops) + sum(len(x) for x in self.lines)


class ZoneRecorder:
    """Records one zone's footage in a rolling window (see the module docstring)."""

    def __init__(
        self,
        zone: Zone,
        key: str,
        *,
        window_s: float = 300.0,
        checkpoint_s: float = 10.0,
        system: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        on_submit: Callable[[Any], None] | None = None,
    ) -> None:
        if window_s <= 0 or checkpoint_s <= 0:
            raise ValueError("window_s and checkpoint_s must be positive")
        self.zone = zone
        self.key = key
        self.layout = zone.layout
        self.system = system
        self.window_s = window_s
        self.checkpoint_ticks = max(1, round(checkpoint_s * zone.tick_hz))
        self.clock = clock
        self.on_submit = on_submit  # sees every intent as it arrives (the bot detector's input)
        self.segments: deque[Segment] = deque()
        self.marks: list[dict[str, Any]] = []  # {"tick", "at", "kind", ...} (chat, notes)
        self._start_segment()
        zone.tap = self._tap

    def detach(self) -> None:
        if self.zone.tap == self._tap:
            self.zone.tap = None

    def _start_segment(self) -> None:
        if self.segments:
            last = self.segments[-1]
            last.end_tick, last.end_at = self.zone.tick, self.clock()
            last.close_beside()
        now = self.clock()
        self.segments.append(Segment(self.zone.tick, now, zlib.compress(self.zone.checkpoint(), 6)))
        # keep every segment that still covers part of the window
        while len(self.segments) > 1 and self.segments[1].at < now - self.window_s:
            self.segments.popleft()

    def _tap(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        segment = self.segments[-1]
        segment.lines.append(encode_op(name, args, kwargs))
        if name == "submit" and self.on_submit is not None:
            self.on_submit(args[0])
        if name == "step" and self.zone.tick - segment.tick >= self.checkpoint_ticks:
            self._start_segment()

    def mark(self, kind: str, **fields: Any) -> None:
        """A timeline note (a chat line, a distress call, a report) at the current tick."""
        self.marks.append({"tick": self.zone.tick + 1, "at": self.clock(), "kind": kind, **fields})
        cutoff = self.clock() - self.window_s
        while self.marks and self.marks[0]["at"] < cutoff:
            self.marks.pop(0)

    @property
    def size(self) -> int:
        """Bytes held now (compressed closed segments + the open one's raw calls)."""
        return sum(s.size for s in self.segments)

    def save(self, seconds: float | None = None, *, names: dict[int, str] | None = None) -> Footage:
        """The last `seconds` (default: the whole window) as a self-contained `Footage`."""
        now = self.clock()
        since = now - (self.window_s if seconds is None else seconds)
        chosen = list(self.segments)
        while len(chosen) > 1 and chosen[1].at <= since:
            chosen.pop(0)
        parts = []
        for s in chosen:
            end = s.end_tick if s.ended else self.zone.tick
            parts.append((s.tick, end, s.checkpoint, s.frozen_ops()))
        marks = [m for m in self.marks if m["at"] >= chosen[0].at]
        return Footage(
            key=self.key,
            layout=self.layout,
            tick_hz=self.zone.tick_hz,
            system=self.system,
            names=dict(names or {}),
            marks=marks,
            parts=parts,
            started_at=chosen[0].at,
            packs=[p.to_json() for p in self.zone.content.packs],
            keys={"hulls": list(HULL_KEYS), "weapons": list(WEAPON_KEYS)},
        )


@dataclass
class Footage:
    """A saved stretch of a zone's footage: segments (start tick, end tick, compressed
    checkpoint, compressed calls) that follow one another."""

    key: str
    layout: ZoneLayout
    tick_hz: int
    system: dict[str, Any] | None
    names: dict[int, str]
    marks: list[dict[str, Any]]
    parts: list[tuple[int, int, bytes, bytes]]
    started_at: float = 0.0
    # the recorded world's content packs (stored JSON forms) and the process's hull and weapon
    # keys by index when it was saved: a replay runs the same content, and renumbers the
    # checkpoint's hull and weapon columns if another process numbered a pack's keys otherwise
    packs: list[dict[str, Any]] = field(default_factory=list)
    keys: dict[str, list[str]] = field(default_factory=dict)

    def content(self) -> Content:
        """The content the recorded zone ran (FootageError if its packs do not load)."""
        try:
            return load_content(packs=[ContentPack.from_json(p) for p in self.packs])
        except ContentError as exc:
            raise FootageError(f"footage content does not load: {exc}") from None

    @property
    def start_tick(self) -> int:
        return self.parts[0][0]

    @property
    def end_tick(self) -> int:
        return self.parts[-1][1]

    def encode(self) -> bytes:
        header = {
            "key": self.key,
            "tick_hz": self.tick_hz,
            "layout": layout_to_json(self.layout),
            "system": self.system,
            "names": {str(k): v for k, v in self.names.items()},
            "marks": self.marks,
            "started_at": self.started_at,
            "parts": [[a, b, len(c), len(o)] for a, b, c, o in self.parts],
            "packs": self.packs,
            "keys": self.keys,
        }
        head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
        blobs = [blob for _, _, c, o in self.parts for blob in (c, o)]
        out = b"".join([_HEAD.pack(MAGIC, VERSION, len(head)), head, *blobs])
        if len(out) > MAX_FOOTAGE:
            raise FootageError(f"footage of {len(out)} bytes is over {MAX_FOOTAGE}")
        return out

    @classmethod
    def decode(cls, data: bytes) -> Footage:
        data = bytes(data)
        if len(data) < _HEAD.size or len(data) > MAX_FOOTAGE:
            raise FootageError("not footage (size)")
        magic, version, head_len = _HEAD.unpack_from(data)
        if magic != MAGIC or version != VERSION:
            raise FootageError("not footage (bad magic or version)")
        try:
            h = json.loads(data[_HEAD.size : _HEAD.size + head_len])
            offset = _HEAD.size + head_len
            parts = []
            for a, b, cn, on in h["parts"]:
                c = data[offset : offset + cn]
                o = data[offset + cn : offset + cn + on]
                if len(c) != cn or len(o) != on:
                    raise FootageError("footage truncated")
                parts.append((int(a), int(b), c, o))
                offset += cn + on
            if not parts:
                raise FootageError("footage without segments")
            return cls(
                key=str(h["key"]),
                layout=layout_from_json(h["layout"]),
                tick_hz=int(h["tick_hz"]),
                system=h.get("system"),
                names={int(k): str(v) for k, v in h["names"].items()},
                marks=list(h["marks"]),
                parts=parts,
                started_at=float(h.get("started_at", 0.0)),
                packs=list(h.get("packs", [])),
                keys={str(k): [str(x) for x in v] for k, v in dict(h.get("keys", {})).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, FootageError):
                raise
            raise FootageError(f"bad footage header: {exc}") from None

    # ------------------------------------------------------------------- replay
    def replay(self, start: int | None = None) -> Iterator[tuple[Zone, list[ZoneEvent]]]:
        """Yield (zone, events) after every replayed step from tick `start` (default: the
        first checkpoint) to the end; the zone object is reused (read it before the next)."""
        start = self.start_tick if start is None else start
        index = 0
        for i, part in enumerate(self.parts):
            if part[0] <= start:
                index = i
        zone: Zone | None = None
        for a, _b, cp, ops in self.parts[index:]:
            try:
                checkpoint = zlib.decompress(cp)
                lines = zlib.decompress(ops).splitlines()
            except zlib.error as exc:
                raise FootageError(f"corrupt footage segment: {exc}") from None
            if zone is None:
                zone = Zone.from_checkpoint(self.layout, checkpoint, content=self.content())
                _renumber(zone, self.keys)
            elif zone.tick != a:
                raise FootageError(f"footage gap: at tick {zone.tick}, next segment at {a}")
            for line in lines:
                events = apply_op(zone, line)
                if events is not None and zone.tick >= start:
                    yield zone, events

    def hashes(self) -> dict[int, str]:
        """state_hash() after every replayed tick (for determinism checks)."""
        return {zone.tick: zone.state_hash() for zone, _ in self.replay()}

    def frames(self, start: int, stop: int, every: int = 1) -> tuple[bytes, list[dict[str, Any]]]:
        """Full binary snapshots (the game's record format, protocol/snapshot.py) of ticks
        start..stop (every `every`-th), each prefixed by its u32 length, and the events of
        those ticks for the timeline."""
        if stop < start or (stop - start) // max(1, every) > MAX_FRAMES:
            raise FootageError(f"ask for at most {MAX_FRAMES} frames, from <= to")
        out: list[bytes] = []
        events_out: list[dict[str, Any]] = []
        for zone, events in self.replay(start):
            tick = zone.tick
            if tick > stop:
                break
            for e in events:
                events_out.append(event_json(tick, e))
            if (tick - start) % max(1, every):
                continue
            f = zone.frame()
            records = quantise(f.ids, f.x, f.y, f.vx, f.vy, f.angle, f.kind, f.flags)
            snap = encode_snapshot(tick, len(out) + 1, 0, records, np.empty(0, np.uint64))
            out.append(struct.pack("<I", len(snap)) + snap)
        return b"".join(out), events_out

    def entities(self) -> list[dict[str, Any]]:
        """Ships seen in the footage's first checkpoint and added later: id, owner, name."""
        seen: dict[int, int] = {}
        for zone, _ in self.replay():
            store = zone.store
            n = store.count
            ships = store.kind[:n] == 1
            for i, o in zip(store.ids[:n][ships].tolist(), store.owner[:n][ships].tolist(),
                            strict=True):  # fmt: skip
                seen.setdefault(int(i), int(o))
            break
        return [
            {"id": str(i), "owner": o, "name": self.names.get(i, f"ship-{i}")}
            for i, o in sorted(seen.items())
        ]


_EVENT_SKIP: Final = frozenset({"ShipHit", "Mined"})


def event_json(tick: int, event: ZoneEvent) -> dict[str, Any]:
    """A zone event for the viewer's timeline: its type and plain fields (ids as strings)."""
    out: dict[str, Any] = {"tick": tick, "type": type(event).__name__}
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if isinstance(value, bool) or value is None or isinstance(value, str):
            out[name] = value
        elif isinstance(value, int | np.integer):
            out[name] = str(int(value)) if abs(int(value)) > 2**31 else int(value)
        elif isinstance(value, float | np.floating):
            v = float(value)
            out[name] = round(v, 2) if np.isfinite(v) else None
    return out
