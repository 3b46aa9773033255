"""`callister worker`, `callister gateway` (the cluster's processes, docs/deploy.md) and
`callister zone` (where zones live; move one live)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from callister.server.settings import Settings, SettingsError, load_settings


def _common(p: argparse.ArgumentParser, port_help: str) -> None:
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help=port_help)
    p.add_argument(
        "--db",
        help="postgresql://user@host:port/db[?schema=NAME], the state all processes share "
        "(default: the db setting, $CALLISTER_DB)",
    )
    p.add_argument(
        "--nats",
        dest="nats_url",
        help="NATS URL(s), comma-separated (default nats://127.0.0.1:4222)",
    )
    p.add_argument(
        "--name", dest="node_name", help="this process's unique name (default: <role>-<host>-<pid>)"
    )
    p.add_argument(
        "--config", help="TOML settings file, see README, Settings (default: $CALLISTER_CONFIG)"
    )
    p.add_argument("--seed", type=int, dest="world_seed", help="world seed (default 1)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worker",
        help="run a zone worker (cluster): owns zones by lease and simulates them",
        description="Run a zone worker. It serves /metrics and /healthz on --port. "
        "SIGTERM checkpoints its zones and releases their leases.",
    )
    _common(p, "port for /metrics and /healthz (default 8000)")
    p.set_defaults(func=run_worker)

    p = sub.add_parser(
        "gateway",
        help="run a gateway (cluster): holds client HTTP/WebSocket connections",
        description="Run a gateway: the HTTP API, the web client and WebSockets, relayed to "
        "the workers that own the players' zones.",
    )
    _common(p, "listen port (default 8000)")
    p.set_defaults(func=run_gateway)

    p = sub.add_parser(
        "zone",
        help="cluster zones: list where they live, or move one live to another worker",
        description="List the live workers and their zones, or move a zone to another worker "
        "(drain, hand off, resume; players see a pause).",
    )
    p.add_argument(
        "action",
        choices=("list", "move"),
        help="list: the live workers and their zones; move: move ZONE to another worker",
    )
    p.add_argument(
        "zone", nargs="?", help="zone key <world>.<x>.<y>, e.g. infinity.0.0 (move only)"
    )
    p.add_argument("--to", help="target worker name (default: the least loaded other worker)")
    p.add_argument(
        "--nats",
        dest="nats_url",
        help="NATS URL(s), comma-separated (default nats://127.0.0.1:4222)",
    )
    p.add_argument("--config", help="TOML settings file (default: $CALLISTER_CONFIG)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_zone)


def _settings(args: argparse.Namespace) -> Settings:
    keys = ("host", "port", "db", "nats_url", "node_name", "world_seed")
    overrides = {k: getattr(args, k, None) for k in keys}
    try:
        return load_settings(args.config, **overrides)
    except SettingsError as exc:
        raise ValueError(str(exc)) from None


def _start_failed(settings: Settings, exc: BaseException) -> ValueError:
    """What went wrong at start-up, said so that the operator knows what to fix."""
    import nats.errors

    from callister.cluster.db import ClusterDbError
    from callister.store import StoreError
    from callister.store.url import redact

    if isinstance(exc, nats.errors.Error | TimeoutError) or (
        isinstance(exc, OSError) and "nats" in str(exc).lower()
    ):
        return ValueError(
            f"cannot reach NATS at {settings.nats_url} ({exc!r}); start nats-server with "
            "JetStream (nats-server -js) or pass --nats URL"
        )
    if isinstance(exc, StoreError | ClusterDbError):
        return ValueError(
            f"database {redact(settings.db)}: {exc}; a cluster shares one PostgreSQL "
            "(--db postgresql://user@host:port/db)"
        )
    return ValueError(f"{type(exc).__name__}: {exc}")


def run_worker(args: argparse.Namespace) -> int:
    import nats.errors

    from callister.cluster.db import ClusterDbError
    from callister.cluster.worker import serve
    from callister.server.logs import setup_logging
    from callister.store import StoreError

    settings = _settings(args)
    setup_logging(settings.log_level, settings.log_json)
    sys.setswitchinterval(0.001)  # the tick must win the GIL back quickly from store threads
    try:
        asyncio.run(serve(settings))
    except (nats.errors.Error, TimeoutError, StoreError, ClusterDbError) as exc:
        raise _start_failed(settings, exc) from None
    return 0


def run_gateway(args: argparse.Namespace) -> int:
    import nats.errors

    from callister.cluster.gateway import run
    from callister.server.logs import setup_logging
    from callister.store import StoreError

    settings = _settings(args)
    setup_logging(settings.log_level, settings.log_json)
    try:
        run(settings)
    except (nats.errors.Error, TimeoutError, StoreError) as exc:
        raise _start_failed(settings, exc) from None
    return 0


def run_zone(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.action == "move" and not args.zone:
        raise ValueError("zone move needs a zone key, e.g. callister zone move infinity.0.0")
    result = asyncio.run(_zone(settings, args.action, args.zone, args.to))
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.action == "list":
        for name, info in sorted(result["workers"].items()):
            zones = ", ".join(f"{z} ({n:g})" for z, n in sorted(info["zones"].items())) or "-"
            print(f"{name}: {info['players']} players; zones: {zones}")
    else:
        if not result.get("ok"):
            raise ValueError(f"move failed: {result.get('error', result)}")
        print(f"moved {args.zone} to {result['to']} in {result['ms']:.0f} ms")
    return 0 if result.get("ok", True) else 1


async def _zone(settings: Settings, action: str, zone: str | None, to: str | None) -> Any:
    from callister.cluster.directory import Directory
    from callister.cluster.nats_bus import connect
    from callister.cluster.remote import WORKER_HEARTBEAT

    servers = [s.strip() for s in settings.nats_url.split(",") if s.strip()]
    nc = await connect(servers, name="callister zone", timeout=5.0)
    try:
        if action == "list":
            workers: dict[str, Any] = {}

            async def beat(msg: Any) -> None:
                data = json.loads(msg.data)
                workers[data["worker"]] = data

            sub = await nc.subscribe(WORKER_HEARTBEAT, cb=beat)
            await asyncio.sleep(1.2)  # two heartbeats
            await sub.unsubscribe()
            return {"workers": workers, "at": time.time()}
        assert zone is not None

        async def request(subject: str, data: bytes, timeout: float) -> bytes:
            return bytes((await nc.request(subject, data, timeout=timeout)).data)

        return await Directory(request).move(zone, to)
    finally:
        await nc.close()
