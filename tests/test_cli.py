"""The command line: --help everywhere, JSON where scripts read it, clear errors."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.command_line import run_callister as cli

from callister.cli.main import build_parser

COMMANDS = [
    [],
    ["serve"],
    ["settings"],
    ["bots"],
    ["bench"],
    ["bench", "gen"],
    ["bench", "sim"],
    ["bench", "net"],
    ["bench", "stack"],
    ["bench", "loginstorm"],
    ["bench", "views"],
    ["bench", "values"],
    ["universe"],
    ["universe", "show"],
    ["universe", "map"],
    ["admin"],
    ["admin", "user"],
    ["admin", "user", "create"],
    ["admin", "user", "list"],
    ["admin", "user", "set-role"],
    ["admin", "user", "delete"],
    ["admin", "ledger"],
    ["admin", "ledger", "audit"],
]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "callister")
def test_help(cmd: list[str]) -> None:
    out = cli(*cmd, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


def test_universe_show_json() -> None:
    out = cli("universe", "show", "--seed", "7", "--at", "123456789012,-98765432109", "--json")
    assert out.returncode == 0, out.stderr
    assert isinstance(json.loads(out.stdout), dict)


def test_universe_map_prints_and_renders(tmp_path: Path) -> None:
    svg = tmp_path / "map.svg"
    out = cli("universe", "map", "--seed", "1", "--around=-3,2", "--radius", "4", "--svg", str(svg))
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.splitlines()) > 9
    assert svg.read_text().startswith("<svg")
    data = json.loads(cli("universe", "map", "--around", "0,0", "--radius", "2", "--json").stdout)
    assert all({"x", "y", "name", "links"} <= set(s) for s in data)


@pytest.mark.parametrize(
    "args",
    [
        ["universe", "show", "--at", "1"],
        ["universe", "show", "--at", "1,99999999999999999999999"],
        ["universe", "map", "--around", "0,0", "--radius", "1000"],
        ["bench", "gen", "--systems", "0"],
        ["bench", "loginstorm", "--storm", "0"],
        ["bench", "views", "--clients", "0"],
        ["bench", "values", "--number", "0"],
        ["serve", "--config", "/nonexistent.toml"],
    ],
)
def test_bad_arguments_give_clear_errors(args: list[str]) -> None:
    out = cli(*args)
    assert out.returncode == 2
    assert "callister" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("at", ["9e18,0", "9223372036854775808,0", "1", "a,b", "1,2,3"])
def test_bad_sector_names_the_expected_format(at: str) -> None:
    """Issue 13: argparse said only "invalid parse_xy value"; the error says what to write."""
    out = cli("universe", "show", "--at", at)
    assert out.returncode == 2
    assert "parse_xy" not in out.stderr
    assert "X,Y" in out.stderr and "9223372036854775807" in out.stderr, out.stderr
    out = cli("universe", "map", "--around", at)
    assert out.returncode == 2 and "X,Y" in out.stderr, out.stderr


def test_version_is_the_installed_package_version() -> None:
    out = cli("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"callister {importlib.metadata.version('callister')}"


def test_admin_user_lifecycle(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/admin.db"
    out = cli(
        "admin",
        "--db",
        db,
        "user",
        "create",
        "Root",
        "--role",
        "admin",
        "--password-stdin",
        "--json",
        stdin="a-strong-password\n",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["role"] == "admin"
    acting = ("--as", "Root", "--password-stdin")  # an administrator exists: prove who acts
    again = cli(
        "admin",
        "--db",
        db,
        "user",
        "create",
        "root",
        *acting,
        stdin="a-strong-password\n" * 2,
    )
    assert again.returncode == 2 and "taken" in again.stderr
    demoted = cli("admin", "--db", db, "user", "set-role", "Root", "moderator", *acting,
                  stdin="a-strong-password\n")  # fmt: skip
    assert demoted.returncode == 0, demoted.stderr
    listed = json.loads(cli("admin", "--db", db, "user", "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("Root", "moderator")]
    weak = cli("admin", "--db", db, "user", "create", "Weak", "--password-stdin", stdin="x\n")
    assert weak.returncode == 2 and "password" in weak.stderr
    assert cli("admin", "--db", db, "user", "delete", "Root", "--yes").returncode == 0
    assert json.loads(cli("admin", "--db", db, "user", "list", "--json").stdout) == []


def test_settings_markdown_matches_code() -> None:
    out = cli("settings", "--markdown")
    assert out.returncode == 0 and "| `port` |" in out.stdout


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """(command path, parser, the help its parent's command list gives it) for every parser."""
    yield path, parser, None
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {a.dest: a.help for a in action._choices_actions}
            for name, child in action.choices.items():
                for sub_path, sub, helped in _parsers(child, (*path, name)):
                    yield sub_path, sub, listed.get(name) if sub is child else helped


def unexplained(root: argparse.ArgumentParser) -> tuple[int, list[str]]:
    """(parsers walked, what lacks help): every argument except -h needs help=, every
    subcommand help= and description=; every --help must render (a stray % would raise)."""
    missing: list[str] = []
    walked = 0
    for path, parser, listed_help in _parsers(root):
        walked += 1
        where = " ".join(("callister", *path))
        if path and not (listed_help or "").strip():
            missing.append(f"{where}: no help= in its parent's command list")
        if path and not (parser.description or "").strip():
            missing.append(f"{where}: no description=")
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
                name = "/".join(action.option_strings) or str(action.metavar or action.dest)
                missing.append(f"{where} {name}: no help=")
        assert "usage:" in parser.format_help()
    return walked, missing


def test_every_command_and_option_explains_itself() -> None:
    walked, missing = unexplained(build_parser())
    assert walked > 40  # the walk reached the nested subcommands (admin world delete, ...)
    assert not missing, "\n".join(missing)


def test_the_help_check_catches_an_option_without_help() -> None:
    parser = build_parser()
    for path, sub, _ in list(_parsers(parser)):
        if path == ("admin", "world", "create"):
            sub.add_argument("--undocumented")
            sub.add_argument("thing")
        if path == ("admin", "world"):
            actions = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction))
            actions.add_parser("bare").add_argument("--flag", help="documented")
    _, missing = unexplained(parser)
    assert sorted(missing) == [
        "callister admin world bare: no description=",
        "callister admin world bare: no help= in its parent's command list",
        "callister admin world create --undocumented: no help=",
        "callister admin world create thing: no help=",
    ]
