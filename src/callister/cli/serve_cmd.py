"""`callister serve` and `callister settings`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from callister.server.settings import SettingsError, load_settings, settings_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the server (HTTP + WebSocket, one process)",
        description="Run the game server. Ctrl-C or SIGTERM checkpoints and exits.",
    )
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8000)")
    p.add_argument("--db", help="sqlite:///path.db (default data/callister.db) or postgresql://…")
    p.add_argument(
        "--config", help="TOML settings file, see README, Settings (default: $CALLISTER_CONFIG)"
    )
    p.add_argument("--seed", type=int, dest="world_seed", help="world seed (default 1)")
    p.set_defaults(func=run)


def register_settings(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "settings",
        help="print the effective settings",
        description="Print the settings after the file and environment apply.",
    )
    p.add_argument("--config", help="TOML settings file (default: $CALLISTER_CONFIG)")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    p.add_argument(
        "--markdown", action="store_true", help="print the settings documentation table (Markdown)"
    )
    p.set_defaults(func=show_settings)


def run(args: argparse.Namespace) -> int:
    from callister.server.app import run as run_server
    from callister.server.logs import setup_logging

    try:
        settings = load_settings(
            args.config, host=args.host, port=args.port, db=args.db, world_seed=args.world_seed
        )
    except SettingsError as exc:
        raise ValueError(str(exc)) from None
    setup_logging(settings.log_level, settings.log_json)
    run_server(settings)
    return 0


def show_settings(args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings_table())
        return 0
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        raise ValueError(str(exc)) from None
    if args.json:
        print(json.dumps(asdict(settings), indent=2))
    else:
        for key, value in asdict(settings).items():
            print(f"{key} = {value!r}")
    return 0
