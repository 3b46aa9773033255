"""Helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


class BadCoordinates(argparse.ArgumentTypeError, ValueError):
    """Sector coordinates that are not X,Y 64-bit integers. argparse prints this message
    (for a plain ValueError it would say only "invalid parse_xy value")."""


SECTOR_FORMAT = (
    "sector coordinates are X,Y: two whole numbers from -9223372036854775808 to "
    "9223372036854775807 (signed 64-bit), like 12,-7 (a negative first one after an =: --at=-5,3)"
)


def parse_xy(text: str) -> tuple[int, int]:
    """'X,Y' -> (X, Y) for sector coordinates (any 64-bit integers); BadCoordinates naming
    the expected format otherwise."""
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        x, y = int(parts[0]), int(parts[1])
    except ValueError:
        raise BadCoordinates(f"{SECTOR_FORMAT}; got {text!r}") from None
    for v in (x, y):
        if not -(2**63) <= v < 2**63:
            raise BadCoordinates(f"{SECTOR_FORMAT}; {v} is outside that range")
    return x, y
