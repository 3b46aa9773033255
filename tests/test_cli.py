"""The command line: --help everywhere, JSON where scripts read it, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
    ["universe"],
    ["universe", "show"],
    ["universe", "map"],
    ["admin"],
    ["admin", "user"],
    ["admin", "user", "create"],
    ["admin", "user", "list"],
    ["admin", "user", "set-role"],
    ["admin", "user", "delete"],
]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callister", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
        check=False,
    )


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
        ["serve", "--config", "/nonexistent.toml"],
    ],
)
def test_bad_arguments_give_clear_errors(args: list[str]) -> None:
    out = cli(*args)
    assert out.returncode == 2
    assert "callister" in out.stderr and "Traceback" not in out.stderr


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
    again = cli(
        "admin",
        "--db",
        db,
        "user",
        "create",
        "root",
        "--password-stdin",
        stdin="a-strong-password\n",
    )
    assert again.returncode == 2 and "taken" in again.stderr
    assert cli("admin", "--db", db, "user", "set-role", "Root", "moderator").returncode == 0
    listed = json.loads(cli("admin", "--db", db, "user", "list", "--json").stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("Root", "moderator")]
    weak = cli("admin", "--db", db, "user", "create", "Weak", "--password-stdin", stdin="x\n")
    assert weak.returncode == 2 and "password" in weak.stderr
    assert cli("admin", "--db", db, "user", "delete", "Root", "--yes").returncode == 0
    assert json.loads(cli("admin", "--db", db, "user", "list", "--json").stdout) == []


def test_settings_markdown_matches_code() -> None:
    out = cli("settings", "--markdown")
    assert out.returncode == 0 and "| `port` |" in out.stdout
