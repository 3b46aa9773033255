"""Helpers shared by the CLI commands."""

from __future__ import annotations

import json
import sys
from typing import Any


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def parse_xy(text: str) -> tuple[int, int]:
    """'X,Y' -> (X, Y) for sector coordinates (any 64-bit integers)."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2:
        raise ValueError(f"expected X,Y (two integers separated by a comma), got {text!r}")
    try:
        x, y = int(parts[0]), int(parts[1])
    except ValueError:
        raise ValueError(f"expected X,Y integers, got {text!r}") from None
    for v in (x, y):
        if not -(2**63) <= v < 2**63:
            raise ValueError(f"{v} is outside the 64-bit sector range")
    return x, y
