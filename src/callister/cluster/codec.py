"""Bytes for everything that crosses the bus between processes.

One entry point each way: `encode(message) -> bytes` and `decode(data) -> message`. The first
byte says which of two encodings follows:

- ``T`` a zone's tick output (anything with ``key``, ``tick``, ``frame``, ``events``, like
  `server.world.ZoneTick`): the frame's numpy columns as raw little-endian bytes behind a small
  self-describing header (column names and dtypes), then the events as tagged JSON. Decoding is
  zero-copy: the frame's arrays are read-only views of the received buffer.
- ``J`` any other value as tagged JSON (intents, events, `ShipState` hand-offs, ...).

Tagged JSON is plain JSON in which every object is tagged, so nothing is ambiguous:
``{"@": "Input", "actor": 1, ...}`` a registered dataclass or msgspec Struct (by class name,
fields by name so a producer and a consumer one field apart still agree on the rest);
``{"@t": [...]}`` a tuple; ``{"@m": [[k, v], ...]}`` a dict (any keys);
``{"@e": "ErrorCode", "v": "DOCKED"}`` a registered enum; ``{"@f": "nan"}`` a non-finite float;
``{"@b": "<base64>"}`` bytes. Lists, str, int, finite float, bool and None are themselves.
Floats round-trip exactly (JSON writes the shortest repr).

Every value class in `protocol.intents` and `sim.events` is registered at import, so events the
simulation adds later are carried without touching this file; `register()` adds others. An
unknown tag, an unknown field or a malformed frame raises `CodecError` (and nothing else).

No I/O here: it is tested in microseconds, like `protocol/`.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import inspect
import json
import math
import re
import struct
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol, TypeVar

import msgspec
import numpy as np

from callister.protocol import errors as _errors
from callister.protocol import intents as _intents
from callister.sim import events as _events
from callister.sim.events import ShipState, ZoneEvent
from callister.sim.frame import ZoneFrame

T = TypeVar("T")

KIND_JSON = b"J"
KIND_TICK = b"T"
FRAME_MAGIC = b"CZF"
FRAME_VERSION = 1
_FRAME_HEAD = struct.Struct("<3sBqIHH")  # magic, version, tick, rows, columns, names length
_TICK_HEAD = struct.Struct("<HI")  # key length, frame length (then key, frame, events JSON)
_ALIGN = 8


class CodecError(ValueError):
    """Bytes that are not a message this codec can decode (or a value it cannot encode)."""


# ------------------------------------------------------------------------------- registry

_CLASSES: dict[str, type] = {}
_ENUMS: dict[str, type[enum.Enum]] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}
_FIELD_SETS: dict[type, frozenset[str]] = {}
_PLAIN = frozenset({int, float, str, bool})


def register(cls: type[T]) -> type[T]:
    """Make a dataclass, a msgspec Struct or an enum encodable by its class name (usable as a
    decorator).

    Registering the same class twice is a no-op; two different classes with one name are
    refused, since the name is what travels.
    """
    name = cls.__name__
    table: dict[str, Any]
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        table = _ENUMS
    elif _is_record(cls):
        table = _CLASSES
        _FIELDS[cls] = _field_names(cls)
        _FIELD_SETS[cls] = frozenset(_FIELDS[cls])
    else:
        raise TypeError(f"only dataclasses, Structs and enums can be registered, not {cls!r}")
    existing = table.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"two classes named {name!r}: {existing!r} and {cls!r}")
    table[name] = typing.cast(Any, cls)
    return cls


def _is_record(cls: type) -> bool:
    """A class whose values travel field by field: a dataclass or a msgspec Struct."""
    return dataclasses.is_dataclass(cls) or issubclass(cls, msgspec.Struct)


def _field_names(cls: type) -> tuple[str, ...]:
    if issubclass(cls, msgspec.Struct):
        return cls.__struct_fields__
    return tuple(f.name for f in dataclasses.fields(typing.cast(Any, cls)))


def register_module(module: ModuleType) -> None:
    """Register every dataclass, Struct and enum defined in `module` (e.g. server.outcomes)."""
    for _, value in inspect.getmembers(module, inspect.isclass):
        if value.__module__ == module.__name__ and (
            _is_record(value) or issubclass(value, enum.Enum)
        ):
            register(value)


for _module in (_intents, _events, _errors):
    register_module(_module)
for _cls in typing.get_args(ZoneEvent) + typing.get_args(_intents.Intent) + (ShipState,):
    register(_cls)


def registered() -> dict[str, type]:
    """Name -> class of every registered dataclass (a copy)."""
    return dict(_CLASSES)


# ----------------------------------------------------------------------- tagged JSON values


def to_json(value: Any) -> Any:
    """`value` as JSON-ready data with tags (see the module docstring)."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:  # the common case, fast
        return value
    if isinstance(value, enum.Enum):  # before str/int: StrEnum and IntEnum are both
        name = kind.__name__
        if _ENUMS.get(name) is not kind:
            raise CodecError(f"enum {kind!r} is not registered")
        return {"@e": name, "v": value.value}
    if isinstance(value, (str, int)):  # other subclasses: as their plain values
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"@f": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, tuple):
        return {"@t": [to_json(v) for v in value]}
    cls = kind
    fields = _FIELDS.get(cls)
    if fields is not None:
        out: dict[str, Any] = {"@": cls.__name__}
        for name in fields:
            out[name] = to_json(getattr(value, name))
        return out
    if isinstance(value, dict):
        return {"@m": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"@b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, np.generic):
        return to_json(value.item())
    raise CodecError(f"cannot encode a {cls.__module__}.{cls.__qualname__}")


def from_json(data: Any) -> Any:
    """The inverse of `to_json`."""
    if isinstance(data, list):
        return [from_json(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "@" in data:
        name = data["@"]
        cls = _CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise CodecError(f"unknown type {name!r}")
        kwargs = {
            k: (v if v is None or type(v) in _PLAIN else from_json(v))
            for k, v in data.items()
            if k != "@"
        }
        if not _FIELD_SETS[cls].issuperset(kwargs):
            unknown = set(kwargs) - _FIELD_SETS[cls]
            raise CodecError(f"{name} has no fields {sorted(unknown)}")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:  # a required field is missing, or refused
            raise CodecError(f"bad {name}: {exc}") from None
    if len(data) == 1:
        ((tag, body),) = data.items()
        if tag == "@t" and isinstance(body, list):
            return tuple(from_json(v) for v in body)
        if tag == "@m" and isinstance(body, list):
            try:
                return {from_json(k): from_json(v) for k, v in body}
            except (TypeError, ValueError) as exc:
                raise CodecError(f"bad map: {exc}") from None
        if tag == "@f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "@b" and isinstance(body, str):
            try:
                return base64.b64decode(body, validate=True)
            except ValueError as exc:
                raise CodecError(f"bad bytes: {exc}") from None
    if len(data) == 2 and "@e" in data and "v" in data:
        enum_cls = _ENUMS.get(data["@e"]) if isinstance(data["@e"], str) else None
        if enum_cls is None:
            raise CodecError(f"unknown enum {data['@e']!r}")
        try:
            return enum_cls(data["v"])
        except (TypeError, ValueError):
            raise CodecError(f"{data['@e']} has no value {data['v']!r}") from None
    raise CodecError(f"untagged object {sorted(data)[:5]}")


def dumps(value: Any) -> bytes:
    """Tagged JSON text of `value`, UTF-8, compact."""
    return json.dumps(to_json(value), separators=(",", ":"), allow_nan=False).encode("utf-8")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        raw = json.loads(bytes(data) if isinstance(data, memoryview) else data)
        return from_json(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodecError(f"not JSON: {exc}") from None
    except RecursionError:
        raise CodecError("nested too deeply") from None


def encode_ship(state: ShipState) -> str:
    """A `ShipState` as tagged JSON text (what the outbox and checkpoint rows store)."""
    return dumps(state).decode("utf-8")


def decode_ship(text: str | bytes) -> ShipState:
    state = loads(text)
    if not isinstance(state, ShipState):
        raise CodecError(f"expected a ShipState, got {type(state).__name__}")
    return state


# ------------------------------------------------------------------------------- frames


def _frame_columns() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(ZoneFrame) if f.name != "tick")


FRAME_COLUMNS: tuple[str, ...] = _frame_columns()
"""ZoneFrame's array fields, in the order they are written."""


def _pad(n: int) -> int:
    return -n % _ALIGN


def encode_frame(frame: ZoneFrame) -> bytes:
    """The frame's columns as raw little-endian bytes behind a self-describing header.

    Layout: ``CZF`` version tick rows ncols nameslen | names+dtypes | pad to 8 | each column,
    padded to 8. The header names each column and its dtype, so a column added to ZoneFrame
    travels without a codec change and an old reader refuses a frame it cannot build.
    """
    rows = len(frame)
    names = bytearray()
    columns: list[np.ndarray[Any, Any]] = []
    for name in FRAME_COLUMNS:
        column = np.asarray(getattr(frame, name))
        if column.ndim != 1 or column.shape[0] != rows:
            raise CodecError(f"frame column {name} has shape {column.shape}, expected ({rows},)")
        column = column.astype(column.dtype.newbyteorder("<"), copy=False)
        dtype = column.dtype.str.encode("ascii")
        names += bytes([len(name)]) + name.encode("ascii") + bytes([len(dtype)]) + dtype
        columns.append(column)
    parts = [
        _FRAME_HEAD.pack(FRAME_MAGIC, FRAME_VERSION, frame.tick, rows, len(columns), len(names)),
        bytes(names),
        b"\0" * _pad(_FRAME_HEAD.size + len(names)),
    ]
    for column in columns:
        data = np.ascontiguousarray(column).tobytes()
        parts += [data, b"\0" * _pad(len(data))]
    return b"".join(parts)


_SPECS: dict[tuple[bytes, int], list[tuple[str, np.dtype[Any]]]] = {}
_PLAIN_DTYPE = re.compile(r"[<>|=][biuf][1248]")  # a column's `dtype.str`: byte order, kind, size


def _column_specs(names: bytes, ncols: int) -> list[tuple[str, np.dtype[Any]]]:
    """Parse (and cache: every tick of a zone has the same header) the column descriptions."""
    cached = _SPECS.get((names, ncols))
    if cached is not None:
        return cached
    specs: list[tuple[str, np.dtype[Any]]] = []
    pos = 0
    try:
        for _ in range(ncols):
            n = names[pos]
            name = names[pos + 1 : pos + 1 + n].decode("ascii")
            pos += 1 + n
            n = names[pos]
            code = names[pos + 1 : pos + 1 + n].decode("ascii")
            if not _PLAIN_DTYPE.fullmatch(code):
                # numpy parses a dtype string as a small language (repeats through
                # ast.literal_eval: "3," raised SyntaxError); a frame only ever carries a
                # plain number's `dtype.str`, so nothing else is handed to it
                raise CodecError(f"bad dtype {code!r} for column {name}")
            dtype = np.dtype(code)
            pos += 1 + n
            if dtype.hasobject or dtype.itemsize == 0 or dtype.shape != () or dtype.names:
                raise CodecError(f"bad dtype {dtype} for column {name}")
            specs.append((name, dtype))
    except (IndexError, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise CodecError(f"bad frame header: {exc}") from None
    if pos != len(names):
        raise CodecError("bad frame header length")
    if len(_SPECS) < 64:
        _SPECS[(names, ncols)] = specs
    return specs


def decode_frame(data: bytes | memoryview, offset: int = 0, length: int | None = None) -> ZoneFrame:
    """A ZoneFrame whose columns are read-only views into `data` (no copy)."""
    buf = memoryview(data)
    end = len(buf) if length is None else offset + length
    if end > len(buf) or offset + _FRAME_HEAD.size > end:
        raise CodecError("frame truncated")
    magic, version, tick, rows, ncols, names_len = _FRAME_HEAD.unpack_from(buf, offset)
    if magic != FRAME_MAGIC:
        raise CodecError("not a frame")
    if version != FRAME_VERSION:
        raise CodecError(f"frame version {version} not supported")
    pos = offset + _FRAME_HEAD.size
    names_end = pos + names_len
    if names_end > end:
        raise CodecError("frame header truncated")
    specs = _column_specs(bytes(buf[pos:names_end]), ncols)
    pos = names_end + _pad(names_end - offset)
    columns: dict[str, np.ndarray[Any, Any]] = {}
    for name, dtype in specs:
        size = rows * dtype.itemsize
        if pos + size > end:
            raise CodecError("frame truncated")
        columns[name] = np.frombuffer(buf, dtype=dtype, count=rows, offset=pos)
        pos += size + _pad(size)
    missing = set(FRAME_COLUMNS) - set(columns)
    if missing:
        raise CodecError(f"frame lacks columns {sorted(missing)}")
    try:
        return ZoneFrame(tick=tick, **{name: columns[name] for name in FRAME_COLUMNS})
    except TypeError as exc:
        raise CodecError(f"bad frame: {exc}") from None


# ------------------------------------------------------------------------------ zone ticks


class TickLike(Protocol):
    """What a zone publishes each tick (server.world.ZoneTick has exactly these)."""

    @property
    def key(self) -> str: ...
    @property
    def tick(self) -> int: ...
    @property
    def frame(self) -> ZoneFrame: ...
    @property
    def events(self) -> list[ZoneEvent]: ...


@dataclass(frozen=True, slots=True)
class ZoneOutput:
    """A decoded zone tick (same fields as server.world.ZoneTick, which may be used instead
    through `set_tick_factory`)."""

    key: str
    tick: int
    frame: ZoneFrame
    events: list[ZoneEvent]


TickFactory = Callable[[str, int, ZoneFrame, list[Any]], Any]
_tick_types: tuple[type, ...] = (ZoneOutput,)
_tick_factory: TickFactory = ZoneOutput


def set_tick_factory(cls: type) -> None:
    """Decode zone ticks into `cls(key, tick, frame, events)` and encode instances of `cls` as
    ticks (the worker/gateway wiring passes server.world.ZoneTick here)."""
    global _tick_factory, _tick_types
    _tick_factory = cls
    _tick_types = (ZoneOutput, cls)


def encode_tick(tick: TickLike) -> bytes:
    key = tick.key.encode("utf-8")
    frame = encode_frame(tick.frame)
    events = dumps(list(tick.events)) if tick.events else b""
    # kind, pad length, key length, frame length, key, pad, frame, events: the pad puts the
    # frame at an 8-byte boundary of the message, so its columns are aligned too
    pad = _pad(2 + _TICK_HEAD.size + len(key))
    head = KIND_TICK + bytes([pad]) + _TICK_HEAD.pack(len(key), len(frame)) + key
    return b"".join((head, b"\0" * pad, frame, events))


def decode_tick(data: bytes | memoryview) -> Any:
    buf = memoryview(data)
    if len(buf) < 2 + _TICK_HEAD.size or bytes(buf[:1]) != KIND_TICK:
        raise CodecError("not a zone tick")
    pad = buf[1]
    key_len, frame_len = _TICK_HEAD.unpack_from(buf, 2)
    pos = 2 + _TICK_HEAD.size
    try:
        key = bytes(buf[pos : pos + key_len]).decode("utf-8")
    except UnicodeDecodeError:
        raise CodecError("bad zone key") from None
    pos += key_len + pad
    frame = decode_frame(buf, pos, frame_len)
    rest = buf[pos + frame_len :]
    events = loads(rest) if len(rest) else []
    if not isinstance(events, list):
        raise CodecError("tick events must be a list")
    return _tick_factory(key, frame.tick, frame, events)


# ------------------------------------------------------------------------------ messages


def encode(message: Any) -> bytes:
    """Bytes for any bus message: zone ticks in binary, everything else as tagged JSON."""
    if isinstance(message, _tick_types):
        return encode_tick(typing.cast(TickLike, message))
    return KIND_JSON + dumps(message)


def decode(data: bytes | bytearray | memoryview) -> Any:
    """The message `encode` made; `CodecError` for anything else."""
    if not data:
        raise CodecError("empty message")
    kind = bytes(data[:1])
    if kind == KIND_TICK:
        return decode_tick(data if not isinstance(data, bytearray) else bytes(data))
    if kind == KIND_JSON:
        return loads(memoryview(data)[1:])
    raise CodecError(f"unknown message kind {kind!r}")
