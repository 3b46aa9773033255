"""`callister bots`: N real WebSocket clients that register, fly and jump."""

from __future__ import annotations

import argparse
import asyncio

from callister.cli.common import add_command, emit_json, json_switch, option, with_default
from callister.protocol.limits import PROTOCOL_VERSIONS


def register(sub: argparse._SubParsersAction) -> None:
    add_command(
        sub,
        "bots",
        run,
        with_default("--url", "ws://127.0.0.1:8000/ws", "server WebSocket URL"),
        with_default("--count", 10, "number of bots"),
        with_default("--seconds", 30.0, "seconds they fly"),
        with_default("--jump-every", 30.0, "seconds between jumps, 0: never"),
        option(
            "--ramp",
            type=float,
            default=None,
            help="seconds over which bots connect (default: count/50, at most 10)",
        ),
        option(
            "--protocol",
            type=int,
            choices=PROTOCOL_VERSIONS,
            default=1,
            help="wire protocol version the bots speak (docs/protocol.md): 1, binary snapshots "
            "they acknowledge and JSON input; 2, delta updates with no acks, binary controls, "
            "a resync on a gap (the server must answer v2, or each bot fails saying so); "
            "default %(default)s",
        ),
        with_default("--ack-every", 2, "v1: acknowledge every n-th snapshot, 1: every one"),
        option("--prefix", default=None, help="bot name prefix (default: random)"),
        json_switch("print the summary as JSON"),
        help="run N bot players against a server",
        description="Run N real WebSocket clients that register, undock, fly and jump, then print "
        "a summary (`snapshots`: v1 snapshots or v2 updates received). The server must allow "
        "that many registrations per minute from this address (setting register_per_minute).",
    )


def run(args: argparse.Namespace) -> int:
    from callister.bots.swarm import run_swarm

    if args.count < 1 or args.seconds <= 0:
        raise ValueError("--count must be >= 1 and --seconds > 0")
    summary = asyncio.run(
        run_swarm(
            args.url,
            args.count,
            args.seconds,
            prefix=args.prefix,
            jump_every_s=args.jump_every,
            ramp_s=args.ramp,
            ack_every=args.ack_every,
            progress=not args.json,
            protocol=args.protocol,
        )
    )
    if args.json:
        emit_json(summary)
    else:
        for key, value in summary.items():
            print(f"{key:>24}: {value}")
    return 0 if summary["connected"] else 1
