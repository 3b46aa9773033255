"""One settings object: defaults here, then an optional TOML file, then environment variables.

Every field has a default, bounds where they matter, and a doc string (`doc` metadata) that the
README's settings table is generated from (a test keeps them in step). Environment variables are
`CALLISTER_<NAME>` in upper case, e.g. `CALLISTER_PORT=9000`. The TOML file holds the same names
as top-level keys; `--config FILE` or `CALLISTER_CONFIG` selects it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A setting has the wrong type or is out of its bounds; the message names it and the fix."""


# Settings that existed once, and what replaces them: naming one is an error that says so,
# never a value silently ignored.
REMOVED = {
    "sqlite_synchronous": "SQLite durability is part of the database URL: "
    "db = sqlite:///data/callister.db?synchronous=NORMAL (default FULL)",
}


def _s(default: Any, doc: str, lo: float | None = None, hi: float | None = None) -> Any:
    return field(default=default, metadata={"doc": doc, "lo": lo, "hi": hi})


@dataclass(frozen=True)
class Settings:
    host: str = _s("127.0.0.1", "Address the HTTP/WebSocket server listens on.")
    port: int = _s(8000, "TCP port for HTTP and WebSocket.", 0, 65535)
    db: str = _s(
        "sqlite:///data/callister.db",
        "Database URL: sqlite:///path.db (default, WAL; add ?synchronous=NORMAL to trade "
        "power-loss durability for speed) or postgresql://user@host:port/db.",
    )
    world_name: str = _s("infinity", "Name of the public world this server runs.")
    world_seed: int = _s(1, "Seed of the public world's universe (any 64-bit integer).")
    tick_hz: int = _s(20, "Simulation ticks per second.", 1, 120)
    snapshot_hz: int = _s(10, "Snapshots per second sent to each client (divides tick_hz).", 1, 120)
    aoi_radius: float = _s(
        6000.0, "Sensor range in metres: a client sees entities this close.", 100
    )
    aoi_near_radius: float = _s(
        1000.0, "Entities this close update every snapshot; farther ones less often.", 0
    )
    aoi_far_every: int = _s(
        6,
        "Entities beyond aoi_near_radius update every N-th snapshot (clients extrapolate).",
        1,
        64,
    )
    pvp: bool = _s(True, "Players may attack each other's ships (false: weapons do them no harm).")
    damage_multiplier: float = _s(1.0, "Scales all weapon damage in this world.", 0, 100)
    fuel_multiplier: float = _s(1.0, "Scales fuel burnt by thrust and jumps.", 0, 100)
    price_multiplier: float = _s(1.0, "Scales every market price and service price.", 0.01, 100)
    starting_credits: int = _s(2000, "Credits a new player starts with (issued by the mint).", 0)
    reconnect_grace_s: float = _s(
        60.0, "A dropped client's ship stays in space this long, waiting for it to return.", 0
    )
    checkpoint_interval_s: float = _s(
        10.0, "Ship positions are written to the database this often (bounded loss).", 0.5
    )
    zone_unload_s: float = _s(60.0, "An empty zone is dropped from memory after this long.", 1)
    home_systems: int = _s(16, "New players start at one of this many station systems.", 1, 1000)
    start_choices: int = _s(
        6,
        "Home systems a new player may choose from at registration (the first of home_systems).",
        1,
        1000,
    )
    invite_ttl_s: float = _s(
        72 * 3600.0, "Seconds an invite link (start where a friend is) stays valid.", 1
    )
    invite_max_uses: int = _s(5, "Registrations one invite link may place.", 1, 1000)
    party_max: int = _s(6, "Players in one party at most.", 2, 64)
    npc_density: float = _s(
        1.0, "NPC ships (crewed by clones) per system: 0 none, 1 normal, up to 4.", 0, 4
    )
    clones_survive_death: bool = _s(
        False, "Crew clones escape (set ashore alive) when their ship is destroyed (false: die)."
    )
    # -- the optional language model for crew and NPC speech (docs/agents.md, "Language models")
    llm_url: str = _s(
        "",
        "OpenAI-compatible chat-completions endpoint for crew and NPC replies (llama.cpp's "
        "llama-server, Ollama, vLLM, a hosted provider), e.g. http://127.0.0.1:8080; empty: "
        "template replies only (the default).",
    )
    llm_model: str = _s("local", "Model name sent to llm_url.")
    llm_api_key_env: str = _s(
        "CALLISTER_LLM_API_KEY",
        "Name of the environment variable holding llm_url's API key (the key itself is never "
        "a setting); unset or empty: no Authorization header.",
    )
    llm_model_path: str = _s(
        "",
        "GGUF model file run in-process by llama-cpp-python (pip install 'callister[llm]'), "
        "instead of llm_url; empty: none.",
    )
    llm_threads: int = _s(1, "CPU threads the in-process model (llm_model_path) uses.", 1, 64)
    llm_timeout_s: float = _s(
        8.0,
        "A model reply not back within this many seconds is dropped: the template reply is "
        "said instead.",
        0.1,
        300,
    )
    llm_concurrency: int = _s(
        2, "Model requests in flight at once (per world); the rest wait their turn.", 1, 256
    )
    llm_queue: int = _s(
        16,
        "Replies that may wait for a model slot; more are answered from templates at once.",
        0,
        10_000,
    )
    session_ttl_s: float = _s(7 * 24 * 3600.0, "Login tokens expire after this long.", 60)
    hello_timeout_s: float = _s(10.0, "A WebSocket must authenticate within this time.", 0.5)
    msg_rate: float = _s(60.0, "Messages per second a client may send (sustained).", 1)
    msg_burst: float = _s(120.0, "Messages a client may send in a burst.", 1)
    flood_strikes: int = _s(
        3, "Seconds of flooding (over the rate limit) before the socket is closed (4429).", 1
    )
    login_per_minute: int = _s(
        10, "Failed logins allowed per minute per account name and per address.", 1
    )
    register_per_minute: int = _s(20, "Registrations allowed per minute per address.", 1)
    registration_open: bool = _s(True, "Whether anyone may register an account.")
    argon2_time_cost: int = _s(3, "Argon2id iterations for password hashes.", 1)
    argon2_memory_kib: int = _s(65536, "Argon2id memory per hash, KiB.", 1024)
    password_hash_threads: int = _s(
        1,
        "Password hashes (logins, registrations) computed at once, on threads of their own; "
        "the rest wait their turn, so a login storm costs at most this many cores.",
        1,
        64,
    )
    password_queue_max: int = _s(
        32,
        "Logins and registrations that may wait for a password hash; more are refused at once "
        "(503 BUSY with Retry-After).",
        0,
        100_000,
    )
    max_clients: int = _s(5000, "WebSocket connections accepted at once.", 1)
    metrics_token: str = _s(
        "",
        "Bearer token for /metrics (every process); empty: /metrics answers only loopback "
        "requests that no proxy forwarded.",
    )
    event_loop: str = _s(
        "asyncio",
        "The event loop: asyncio (the standard library's) or uvloop (libuv; needs the uvloop "
        "package: pip install uvloop; measured in docs/benchmarks.md, Crowd).",
    )
    log_level: str = _s("info", "Log level: debug, info, warning, error.")
    log_json: bool = _s(True, "Structured JSON log lines on stderr (false: plain text).")
    # -- many worlds and the kill switch (issue 5; docs/worlds.md)
    players_own_worlds: bool = _s(False, "Players (not only admins) may create private worlds.")
    player_world_limit: int = _s(1, "Private worlds one player may own.", 0, 100)
    world_delete_countdown_s: int = _s(
        30, "Seconds of warning players get before a world is deleted.", 0, 86400
    )
    kill_switch_two_person: bool = _s(
        True,
        "Deleting a world with players or data needs a second administrator's approval "
        "(false: one administrator may; for a one-admin server, audited as off).",
    )
    world_delete_approval_s: float = _s(
        600.0, "Time the second administrator has to approve a deletion.", 10
    )
    world_delete_batch: int = _s(500, "Rows deleted per transaction by a deletion job.", 1)
    world_idle_stop_s: float = _s(
        300.0, "A private world with nobody in it stops running after this long.", 1
    )
    # -- moderation (issue 6; docs/moderation.md)
    footage_window_s: float = _s(
        300.0, "Every active zone keeps this many seconds of footage (rolling window).", 10
    )
    footage_checkpoint_s: float = _s(
        10.0, "Footage takes a full zone checkpoint this often (replays start from one).", 1
    )
    report_footage_s: float = _s(120.0, "Seconds of footage saved with each report.", 5)
    report_footage_share_s: float = _s(
        15.0,
        "Reports from one system within this many seconds share one saved footage copy "
        "(0: a copy per report).",
        0,
        3600,
    )
    reports_per_minute: int = _s(
        5, "Reports one player may file per minute; more are refused (RATE_LIMITED).", 1
    )
    reports_per_target_minute: int = _s(
        10,
        "Reports against one player, ship or clone accepted per minute, from everyone together; "
        "more are refused (RATE_LIMITED).",
        1,
    )
    distress_every_s: float = _s(
        30.0,
        "A player's distress call reaches the system at most once per this many seconds; "
        "repeats within it are refused (RATE_LIMITED), not broadcast (0: no limit).",
        0,
        3600,
    )
    moderation_detect_s: float = _s(30.0, "Detectors run this often (off the tick).", 1)
    nats_url: str = _s(
        "nats://127.0.0.1:4222",
        "Cluster only (`callister worker`, `gateway`): NATS server URL(s), comma-separated.",
    )
    nats_nkey: str = _s(
        "",
        "Cluster only: file holding this process's role's NATS nkey seed (<role>.nk from "
        "`callister cluster nkeys`); empty: connect without credentials.",
    )
    nats_tls_ca: str = _s(
        "", "Cluster only: CA certificate file the NATS server's certificate must chain to."
    )
    nats_tls_cert: str = _s(
        "", "Cluster only: client certificate file for NATS (mutual TLS; with nats_tls_key)."
    )
    nats_tls_key: str = _s("", "Cluster only: the client certificate's private key file.")
    node_name: str = _s(
        "", "Cluster only: this process's unique name (default: <role>-<host>-<pid>)."
    )
    rebalance_s: float = _s(
        30.0,
        "Cluster only: how often zones are rebalanced across workers by load (0: never).",
        0,
    )
    lease_ttl_s: float = _s(
        3.0,
        "Cluster only: a zone lease expires this long after its last renewal (failover time).",
        1.5,
        60,
    )
    edge_views: bool = _s(
        True,
        "Cluster only (`callister gateway`): build its protocol v2 players' views itself from "
        "each zone's frame (one per tick per gateway), not on the zone's worker.",
    )
    edge_views_min_players: int = _s(
        32,
        "Cluster only (`callister worker`): a zone's v2 views go to its players' gateways "
        "(`edge_views`) once it holds this many such players, and come back below half that "
        "(0: always).",
        0,
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
            if lo is not None and value < lo:
                raise SettingsError(f"setting {f.name}={value} is below its minimum {lo}")
            if hi is not None and value > hi:
                raise SettingsError(f"setting {f.name}={value} is above its maximum {hi}")
        if self.tick_hz % self.snapshot_hz:
            raise SettingsError(
                f"snapshot_hz={self.snapshot_hz} must divide tick_hz={self.tick_hz}"
            )
        if self.event_loop not in ("asyncio", "uvloop"):
            raise SettingsError("event_loop must be asyncio or uvloop")
        if self.llm_url and self.llm_model_path:
            raise SettingsError(
                "set llm_url (a model server) or llm_model_path (an in-process model), not both"
            )
        if self.llm_url and not self.llm_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"llm_url must start with http:// or https://, got {self.llm_url!r}"
            )
        if self.log_level.lower() not in ("debug", "info", "warning", "error"):
            raise SettingsError("log_level must be one of debug, info, warning, error")

    def with_overrides(self, values: Mapping[str, Any], source: str) -> Settings:
        """A copy with `values` applied; strings are converted to each field's type."""
        known = {f.name: f for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            if name in REMOVED:
                raise SettingsError(f"{source}: setting '{name}' was removed. {REMOVED[name]}")
            if name not in known:
                raise SettingsError(f"{source}: unknown setting '{name}' (see README, Settings)")
            changes[name] = _convert(name, type(getattr(self, name)), raw, source)
        return replace(self, **changes)


def _convert(name: str, want: type, raw: Any, source: str) -> Any:
    if isinstance(raw, want) and not (want is int and isinstance(raw, bool)):
        return raw
    if want is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if want is bool:
                if text.lower() in ("1", "true", "yes", "on"):
                    return True
                if text.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
            return want(text)
        except ValueError:
            pass
    raise SettingsError(f"{source}: setting '{name}' must be {want.__name__}, got {raw!r}")


ENV_PREFIX = "CALLISTER_"


def load_settings(
    config: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Defaults, then the TOML file (`config` or $CALLISTER_CONFIG), then CALLISTER_* variables,
    then explicit keyword overrides (the command line's flags)."""
    env = os.environ if env is None else env
    settings = Settings()
    path = config or env.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
        settings = settings.with_overrides(data, str(path))
    names = {f.name for f in fields(Settings)} | set(REMOVED)
    from_env = {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in env.items()
        if key.startswith(ENV_PREFIX) and key[len(ENV_PREFIX) :].lower() in names
    }
    settings = settings.with_overrides(from_env, "environment")
    explicit = {k: v for k, v in overrides.items() if v is not None}
    return settings.with_overrides(explicit, "command line")


def settings_table() -> str:
    """The Markdown table of every setting (name, default, meaning) for the README."""
    rows = ["| setting | env | default | meaning |", "|---|---|---|---|"]
    for f in fields(Settings):
        env = f"{ENV_PREFIX}{f.name.upper()}"
        rows.append(f"| `{f.name}` | `{env}` | `{f.default!r}` | {f.metadata['doc']} |")
    return "\n".join(rows)
