"""`callister serve` and `callister settings`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from callister.cli.common import (
    LISTEN_HOST,
    WORLD_SEED,
    add_command,
    config_option,
    json_switch,
    option,
    switch,
)
from callister.server.settings import SettingsError, load_settings, settings_table


def register(sub: argparse._SubParsersAction) -> None:
    add_command(
        sub,
        "serve",
        run,
        LISTEN_HOST,
        option("--port", type=int, help="listen port (default 8000)"),
        option("--db", help="sqlite:///path.db (default data/callister.db) or postgresql://…"),
        config_option(", see README, Settings"),
        WORLD_SEED,
        help="run the server (HTTP + WebSocket, one process)",
        description="Run the game server. Ctrl-C or SIGTERM checkpoints and exits.",
    )


def register_settings(sub: argparse._SubParsersAction) -> None:
    add_command(
        sub,
        "settings",
        show_settings,
        config_option(),
        json_switch("print the settings as JSON"),
        switch("--markdown", "print the settings documentation table (Markdown)"),
        help="print the effective settings",
        description="Print the settings after the file and environment apply.",
    )


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
