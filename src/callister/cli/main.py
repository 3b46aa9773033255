"""`callister`: serve, bots, bench, universe, admin, settings. Every command has --help; the ones a
script reads have --json."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections.abc import Sequence

from callister.cli import (
    admin_cmd,
    bench_cmd,
    bots_cmd,
    clone_cmd,
    cluster_cmd,
    serve_cmd,
    universe_cmd,
)


def package_version() -> str:
    """The installed distribution's version (the one pip reports); the source tree's
    `callister.__version__` when the package is not installed (run from a checkout)."""
    try:
        return importlib.metadata.version("callister")
    except importlib.metadata.PackageNotFoundError:
        import callister

        return callister.__version__


class CliError(Exception):
    """A user error: printed as 'callister: <message>' with exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callister",
        description="Server, bots and tools for Infinity, an endless multiplayer space universe.",
    )
    parser.add_argument(
        "--version", action="version", version=f"callister {package_version()}",
        help="print the installed package's version and exit",
    )  # fmt: skip
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, help="the command to run"
    )
    serve_cmd.register(sub)
    cluster_cmd.register(sub)
    bots_cmd.register(sub)
    bench_cmd.register(sub)
    universe_cmd.register(sub)
    admin_cmd.register(sub)
    clone_cmd.register(sub)
    serve_cmd.register_settings(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        code = 130
    except (ValueError, LookupError, OSError) as exc:
        print(f"callister: {exc}", file=sys.stderr)
        code = 2
    raise SystemExit(code or 0)
