"""Helpers shared by the CLI commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


def print_result(as_json: bool, data: Any, *lines: str) -> int:
    """A command's result: `data` as JSON (--json) or the lines a person reads; returns 0, the
    exit status."""
    if as_json:
        emit_json(data)
    else:
        for line in lines:
            print(line)
    return 0


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


# --- declaring commands ----------------------------------------------------------------------
# A command is declared as data: its name, the function that runs it, its texts and its options
# in the order --help lists them. The helpers below build the options that recur everywhere.

Option = tuple[tuple[str, ...], dict[str, Any]]
"""One argparse option: the flags and the keywords of `add_argument`."""


def option(*flags: str, **kwargs: Any) -> Option:
    """Any option, with `add_argument`'s keywords."""
    return flags, kwargs


def with_default(flag: str, default: Any, what: str, **kwargs: Any) -> Option:
    """An option whose help ends with its default; a number option takes the type of its
    default (int or float)."""
    if isinstance(default, int | float):
        kwargs["type"] = type(default)
    return option(flag, default=default, help=f"{what} (default %(default)s)", **kwargs)


def switch(flag: str, help: str) -> Option:
    """An on/off flag (store_true)."""
    return option(flag, action="store_true", help=help)


def json_switch(help: str = "print JSON only") -> Option:
    """`--json`: the output a script reads."""
    return switch("--json", help)


# options of the server's processes (`serve`, `worker`, `gateway`) and of the commands that read
# their settings
LISTEN_HOST = option("--host", help="listen address (default 127.0.0.1)")
WORLD_SEED = option("--seed", type=int, dest="world_seed", help="world seed (default 1)")


def config_option(see: str = "") -> Option:
    """--config, the TOML settings file (`see`: where its settings are described)."""
    return option("--config", help=f"TOML settings file{see} (default: $CALLISTER_CONFIG)")


def add_command(
    sub: argparse._SubParsersAction,
    name: str,
    func: Callable[[argparse.Namespace], int],
    *options: Option,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """Register the command `name` with its options (in that order) and the function that runs
    it; the parser is returned for what a table cannot say (mutually exclusive groups)."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description)
    add_options(p, options)
    p.set_defaults(func=func)
    return p


def add_options(p: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    for flags, kwargs in options:
        p.add_argument(*flags, **kwargs)


def add_group(
    sub: argparse._SubParsersAction,
    name: str,
    *,
    help: str,
    description: str,
    dest: str,
    choose: str,
    metavar: str = "ACTION",
) -> argparse._SubParsersAction:
    """A command made of subcommands (`callister clone new|list|...`): returns the subparsers
    its subcommands are added to; one of them must be given (`choose`: the help of that
    choice), its name stored as `dest`."""
    p = sub.add_parser(name, help=help, description=description)
    return p.add_subparsers(dest=dest, metavar=metavar, required=True, help=choose)
