"""`callister bots`: N real WebSocket clients that register, fly and jump."""

from __future__ import annotations

import argparse
import asyncio

from callister.cli.common import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bots",
        help="run N bot players against a server",
        description="Run N real WebSocket clients that register, undock, fly and jump, then print "
        "a summary. The server must allow that many registrations per minute from this address "
        "(setting register_per_minute).",
    )
    p.add_argument(
        "--url", default="ws://127.0.0.1:8000/ws", help="server WebSocket URL (default %(default)s)"
    )
    p.add_argument("--count", type=int, default=10, help="number of bots (default %(default)s)")
    p.add_argument(
        "--seconds", type=float, default=30.0, help="seconds they fly (default %(default)s)"
    )
    p.add_argument(
        "--jump-every",
        type=float,
        default=30.0,
        help="seconds between jumps, 0: never (default %(default)s)",
    )
    p.add_argument(
        "--ramp",
        type=float,
        default=None,
        help="seconds over which bots connect (default: count/50, at most 10)",
    )
    p.add_argument(
        "--ack-every",
        type=int,
        default=2,
        help="acknowledge every n-th snapshot, 1: every one (default %(default)s)",
    )
    p.add_argument("--prefix", default=None, help="bot name prefix (default: random)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


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
        )
    )
    if args.json:
        emit_json(summary)
    else:
        for key, value in summary.items():
            print(f"{key:>24}: {value}")
    return 0 if summary["connected"] else 1
