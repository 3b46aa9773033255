"""Entry point for the `callister` command."""

from __future__ import annotations


def main() -> None:
    raise SystemExit("callister: not wired yet")
