"""A small JSON Schema validator: the subset the model outputs need (no dependency).

Supported keywords: type (string or list; "integer" excludes booleans and floats), enum, const,
properties, required, additionalProperties (boolean), items, minItems, maxItems, minLength,
maxLength, minimum, maximum, pattern. Errors name the JSON path of the offending value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Final

_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class SchemaError(ValueError):
    """A value does not match its schema; `path` is where ("$.beliefs[0].about")."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


# The bounds on a string's length and an array's item count: (keyword of the minimum, message
# when below it, keyword of the maximum, message when above it).
_STRING_SIZE: Final = (
    "minLength",
    "shorter than {} characters",
    "maxLength",
    "longer than {} characters",
)
_ARRAY_SIZE: Final = ("minItems", "fewer than {} items", "maxItems", "more than {} items")


def _check_size(
    size: int, schema: Mapping[str, Any], path: str, bounds: tuple[str, str, str, str]
) -> None:
    low, below, high, above = bounds
    if size < schema.get(low, 0):
        raise SchemaError(path, below.format(schema[low]))
    if high in schema and size > schema[high]:
        raise SchemaError(path, above.format(schema[high]))


def validate(value: Any, schema: Mapping[str, Any], path: str = "$") -> None:
    """Raise SchemaError unless `value` matches `schema`."""
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else list(kind)
        if not any(_TYPES[k](value) for k in kinds):
            raise SchemaError(path, f"expected {' or '.join(kinds)}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(path, f"{value!r} is not one of {list(schema['enum'])}")
    if "const" in schema and value != schema["const"]:
        raise SchemaError(path, f"must be {schema['const']!r}")
    if isinstance(value, str):
        _check_size(len(value), schema, path, _STRING_SIZE)
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise SchemaError(path, f"does not match {schema['pattern']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(path, f"below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(path, f"above the maximum {schema['maximum']}")
    if isinstance(value, list):
        _check_size(len(value), schema, path, _ARRAY_SIZE)
        items = schema.get("items")
        if items is not None:
            for i, item in enumerate(value):
                validate(item, items, f"{path}[{i}]")
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                raise SchemaError(path, f"lacks required {key!r}")
        if schema.get("additionalProperties", True) is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise SchemaError(path, f"has unexpected {extra}")
        for key, sub in props.items():
            if key in value:
                validate(value[key], sub, f"{path}.{key}")
