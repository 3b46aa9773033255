"""`callister worker`, `callister gateway` (the cluster's processes, docs/deploy.md),
`callister zone` (where zones live; move one live) and `callister cluster` (the NATS identities
of the cluster's roles and the nats-server configuration that grants them)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from callister.cli.common import (
    LISTEN_HOST,
    WORLD_SEED,
    Option,
    add_command,
    add_group,
    config_option,
    json_switch,
    option,
    switch,
)
from callister.server.settings import Settings, SettingsError, load_settings


def _nats_options(role: str) -> tuple[Option, ...]:
    """How a process of `role` reaches NATS."""
    return (
        option(
            "--nats",
            dest="nats_url",
            help="NATS URL(s), comma-separated (default nats://127.0.0.1:4222)",
        ),
        option(
            "--nkey",
            dest="nats_nkey",
            help=f"file with the {role} role's NATS nkey seed ({role}.nk from `callister cluster "
            "nkeys`; default: the nats_nkey setting, $CALLISTER_NATS_NKEY)",
        ),
    )


def _process_options(port_help: str, role: str) -> tuple[Option, ...]:
    """The options of a cluster process (worker or gateway)."""
    return (
        LISTEN_HOST,
        option("--port", type=int, help=port_help),
        option(
            "--db",
            help="postgresql://user@host:port/db[?schema=NAME], the state all processes share "
            "(default: the db setting, $CALLISTER_DB)",
        ),
        *_nats_options(role),
        option(
            "--name",
            dest="node_name",
            help="this process's unique name (default: <role>-<host>-<pid>)",
        ),
        config_option(", see README, Settings"),
        WORLD_SEED,
    )


def register(sub: argparse._SubParsersAction) -> None:
    add_command(
        sub,
        "worker",
        run_worker,
        *_process_options("port for /metrics and /healthz (default 8000)", "worker"),
        switch(
            "--bench-spawn",
            "serve `callister bench cluster`'s synthetic ships (cl.bench.<name>); benches only",
        ),
        help="run a zone worker (cluster): owns zones by lease and simulates them",
        description="Run a zone worker. It serves /metrics and /healthz on --port. "
        "SIGTERM checkpoints its zones and releases their leases.",
    )
    add_command(
        sub,
        "gateway",
        run_gateway,
        *_process_options("listen port (default 8000)", "gateway"),
        help="run a gateway (cluster): holds client HTTP/WebSocket connections",
        description="Run a gateway: the HTTP API, the web client and WebSockets, relayed to "
        "the workers that own the players' zones.",
    )
    add_command(
        sub,
        "zone",
        run_zone,
        option(
            "action",
            choices=("list", "move"),
            help="list: the live workers and their zones; move: move ZONE to another worker",
        ),
        option("zone", nargs="?", help="zone key <world>.<x>.<y>, e.g. infinity.0.0 (move only)"),
        option("--to", help="target worker name (default: the least loaded other worker)"),
        *_nats_options("admin"),
        config_option(),
        json_switch("print JSON"),
        help="cluster zones: list where they live, or move one live to another worker",
        description="List the live workers and their zones, or move a zone to another worker "
        "(drain, hand off, resume; players see a pause).",
    )
    _register_cluster(sub)


def _register_cluster(sub: argparse._SubParsersAction) -> None:
    cmds = add_group(
        sub,
        "cluster",
        help="cluster security: NATS keys for each role and the nats-server configuration",
        description="NATS identities of the cluster's roles (gateway, worker, admin, bench) "
        "and the nats-server configuration granting each role only its subjects "
        "(docs/deploy.md, Security).",
        dest="cluster_command",
        metavar="COMMAND",
        choose="nkeys or nats-config",
    )
    add_command(
        cmds,
        "nkeys",
        run_nkeys,
        option("dir", help="directory for the key files (created if missing)"),
        json_switch("print JSON"),
        help="create one nkey per role in a directory (existing keys are kept)",
        description="Write <role>.nk (the seed: give it only to that role's processes; mode "
        "0600) and <role>.pub (the public key, for the server's configuration) for each role.",
    )
    c = add_command(
        cmds,
        "nats-config",
        run_nats_config,
        option("--keys", required=True, help="directory with <role>.pub (or <role>.nk)"),
        option("--listen", default="0.0.0.0:4222", help="host:port (default 0.0.0.0:4222)"),
        option("--store-dir", default="/var/lib/nats/js", help="JetStream store directory"),
        option("--max-payload", default="8MB", help="largest message (default 8MB)"),
        option("--max-file-store", default="10GB", help="JetStream disk limit (10GB)"),
        switch(
            "--no-sync-always",
            "leave JetStream's fsync interval at its default (replicated clusters)",
        ),
        option("--tls-cert", help="the server's certificate file (turns TLS on)"),
        option("--tls-key", help="the server certificate's key file"),
        option("--tls-ca", help="CA file for clients' certificates"),
        switch("--tls-verify", "clients must present a certificate"),
        help="print the nats-server configuration (auth, permissions, JetStream, TLS)",
        description="Print a nats-server configuration whose users are the roles' public keys "
        "(read from --keys DIR) with their permissions from the cluster's subject table.",
    )
    form = c.add_mutually_exclusive_group()
    form.add_argument("--conf", action="store_true", help="nats-server syntax (the default)")
    form.add_argument("--json", action="store_true", help="JSON (nats-server reads it too)")
    form.add_argument(
        "--subjects", action="store_true", help="the subject table as JSON, not a config"
    )


def run_nkeys(args: argparse.Namespace) -> int:
    from callister.cluster.natsconf import write_keys

    keys = write_keys(args.dir)
    if args.json:
        rows = [{"role": k.role, "public": k.public, "seed_file": str(k.seed_file)} for k in keys]
        print(json.dumps(rows, indent=2))
    else:
        for key in keys:
            print(f"{key.role:8} {key.public}  seed: {key.seed_file}")
    return 0


def run_nats_config(args: argparse.Namespace) -> int:
    from callister.cluster.natsconf import (
        ServerTls,
        parse_size,
        read_public_keys,
        render_conf,
        server_config,
        subject_table,
    )

    if args.subjects:
        print(json.dumps(subject_table(), indent=2))
        return 0
    tls = None
    if args.tls_cert or args.tls_key or args.tls_ca or args.tls_verify:
        if not (args.tls_cert and args.tls_key):
            raise ValueError("TLS needs both --tls-cert and --tls-key")
        for path in (args.tls_cert, args.tls_key, args.tls_ca):
            if path and not Path(path).is_file():
                raise ValueError(f"{path} is not a file")
        tls = ServerTls(args.tls_cert, args.tls_key, args.tls_ca or "", args.tls_verify)
    config = server_config(
        read_public_keys(args.keys),
        listen=args.listen,
        store_dir=args.store_dir,
        max_payload=parse_size(args.max_payload),
        max_file_store=parse_size(args.max_file_store),
        sync_always=not args.no_sync_always,
        tls=tls,
    )
    if args.json:
        print(json.dumps(config, indent=2))
    else:
        print(render_conf(config), end="")
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    keys = ("host", "port", "db", "nats_url", "nats_nkey", "node_name", "world_seed")
    overrides = {k: getattr(args, k, None) for k in keys}
    try:
        return load_settings(args.config, **overrides)
    except SettingsError as exc:
        raise ValueError(str(exc)) from None


def _start_failed(settings: Settings, exc: BaseException) -> ValueError:
    """What went wrong at start-up, said so that the operator knows what to fix."""
    import nats.errors

    from callister.cluster.natsconf import NatsConfigError
    from callister.store import StoreError
    from callister.store.url import redact

    nats_url = ",".join(redact(u) for u in settings.nats_url.split(","))
    if isinstance(exc, nats.errors.AuthorizationError):
        key = settings.nats_nkey or "none (nats_nkey is empty)"
        return ValueError(
            f"NATS at {nats_url} refused this process's credentials (nkey file: {key}); give "
            "it its role's <role>.nk and start nats-server with `callister cluster "
            "nats-config` (docs/deploy.md, Security)"
        )
    if isinstance(exc, PermissionError | NatsConfigError):
        return ValueError(str(exc))
    if isinstance(exc, nats.errors.Error | TimeoutError) or (
        isinstance(exc, OSError) and "nats" in str(exc).lower()
    ):
        return ValueError(
            f"cannot reach NATS at {nats_url} ({exc!r}); start nats-server with "
            "JetStream (nats-server -js) or pass --nats URL"
        )
    if isinstance(exc, StoreError):
        return ValueError(
            f"database {redact(settings.db)}: {exc}; a cluster shares one PostgreSQL "
            "(--db postgresql://user@host:port/db)"
        )
    return ValueError(f"{type(exc).__name__}: {exc}")


def run_worker(args: argparse.Namespace) -> int:
    import nats.errors

    from callister.cluster.natsconf import NatsConfigError
    from callister.cluster.worker import serve
    from callister.server.logs import setup_logging
    from callister.store import StoreError

    settings = _settings(args)
    setup_logging(settings.log_level, settings.log_json)
    sys.setswitchinterval(0.001)  # the tick must win the GIL back quickly from store threads
    try:
        asyncio.run(serve(settings, bench_spawn=args.bench_spawn))
    except (
        nats.errors.Error,
        TimeoutError,
        StoreError,
        PermissionError,
        NatsConfigError,
    ) as exc:
        raise _start_failed(settings, exc) from None
    return 0


def run_gateway(args: argparse.Namespace) -> int:
    import nats.errors

    from callister.cluster.gateway import run
    from callister.cluster.natsconf import NatsConfigError
    from callister.server.logs import setup_logging
    from callister.store import StoreError

    settings = _settings(args)
    setup_logging(settings.log_level, settings.log_json)
    try:
        run(settings)
    except (nats.errors.Error, TimeoutError, StoreError, PermissionError, NatsConfigError) as exc:
        raise _start_failed(settings, exc) from None
    return 0


def run_zone(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.action == "move" and not args.zone:
        raise ValueError("zone move needs a zone key, e.g. callister zone move infinity.0.0")
    import nats.errors

    from callister.cluster.natsconf import NatsConfigError

    try:
        result = asyncio.run(_zone(settings, args.action, args.zone, args.to))
    except (nats.errors.Error, TimeoutError, NatsConfigError) as exc:
        raise _start_failed(settings, exc) from None
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
    from callister.cluster.nats_bus import ClientAuth, connect
    from callister.cluster.subjects import ADMIN, WORKER_HEARTBEAT

    servers = [s.strip() for s in settings.nats_url.split(",") if s.strip()]
    auth = ClientAuth.from_settings(settings, ADMIN)
    nc = await connect(servers, name="callister zone", auth=auth, timeout=5.0)
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
