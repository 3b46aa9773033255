"""`callister bench cluster --protocol`: the wire protocol reaches every `callister bots`
command line it builds (both phases build them the same way: `bots_commands`), the command line
the real parser reads, and the bench's JSON records it. A version the bots do not speak is
refused before anything starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.command_line import run_callister

from callister.bench.cluster import BotLoad, bots_commands, run_cluster_bench
from callister.cli.main import build_parser

URLS = ["ws://127.0.0.1:9001/ws", "ws://127.0.0.1:9002/ws"]


def parsed(cmd: list[str]) -> object:
    """`cmd` (python -m callister ...) as the real command line parser reads it."""
    assert cmd[:3] == [sys.executable, "-m", "callister"]
    return build_parser().parse_args(cmd[3:])


@pytest.mark.parametrize("protocol", [1, 2])
def test_the_protocol_reaches_every_bots_command_line(protocol: int) -> None:
    load = BotLoad(clients=5, seconds=30.0, jump_every=4.0, ramp=2.0, protocol=protocol)
    commands = bots_commands(URLS, load, seconds=42.0)
    assert len(commands) == 2
    args = [parsed(cmd) for cmd in commands]
    assert [a.protocol for a in args] == [protocol, protocol]  # type: ignore[attr-defined]
    assert [a.count for a in args] == [3, 2]  # type: ignore[attr-defined]
    assert [a.url for a in args] == URLS  # type: ignore[attr-defined]
    for a in args:
        assert (a.seconds, a.ramp, a.jump_every, a.json) == (42.0, 2.0, 4.0, True)  # type: ignore[attr-defined]


def test_the_default_load_speaks_v1_and_a_url_without_clients_gets_no_bots() -> None:
    commands = bots_commands(URLS, BotLoad(1, 10.0, 5.0, 1.0), seconds=10.0)
    assert len(commands) == 1 and parsed(commands[0]).protocol == 1  # type: ignore[attr-defined]


def test_bench_cluster_takes_and_records_the_protocol(tmp_path: Path) -> None:
    args = build_parser().parse_args(["bench", "cluster", "--protocol", "2"])
    assert args.protocol == 2
    assert build_parser().parse_args(["bench", "cluster"]).protocol == 1
    # nothing to run (no players, no zone scaling): the result alone, with the protocol
    out = run_cluster_bench(1, 1, 1, 1.0, protocol=2, players=False, workdir=tmp_path)
    assert out["protocol"] == 2 and out["clients"] == 1


def test_a_protocol_the_bots_do_not_speak_is_refused(tmp_path: Path) -> None:
    out = run_callister("bench", "cluster", "--protocol", "3", "--json")
    assert out.returncode == 2
    assert "--protocol: invalid choice: 3 (choose from 1, 2)" in out.stderr
    with pytest.raises(ValueError, match="protocol must be 1 or 2"):
        run_cluster_bench(1, 1, 1, 1.0, protocol=3, workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # refused before anything started
    help_text = run_callister("bench", "cluster", "--help").stdout
    assert "--protocol {1,2}" in help_text
