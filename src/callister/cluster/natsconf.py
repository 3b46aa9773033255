"""NATS identities for the cluster's roles, and the nats-server configuration that grants them.

Each role (subjects.py) is one NATS user authenticated by an **nkey**: an Ed25519 key pair.
The process holds the seed (a file, mode 0600: `<role>.nk`); the server's configuration holds
only the public key (`<role>.pub`), and a connecting client proves it holds the seed by signing
the server's nonce. So the configuration file is no secret, nothing replayable crosses the
wire, and a leaked gateway seed lets an attacker do only what a gateway may.

`server_config()` builds the whole nats-server configuration (listen address, JetStream,
authorization with each role's permissions from the subject table, TLS when given) as a plain
dict; `render_conf()` writes it in nats-server's own syntax with a comment per user, and
`json.dumps()` of it is a valid configuration too (nats-server reads JSON). `callister cluster
nkeys` and `callister cluster nats-config` are the command-line faces of this module, and the
tests start their nats-server from the same function, so documentation, deployment and tests
use one configuration.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nkeys

from callister.cluster.subjects import ROLES, SUBJECTS, permissions


class NatsConfigError(ValueError):
    """Keys or settings that cannot make a configuration; the message says what to fix."""


def new_seed() -> bytes:
    """A fresh nkey user seed (``SU...``), from the OS's random source."""
    return bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))


def public_key(seed: bytes) -> str:
    """The public key (``U...``) of a user seed; NatsConfigError if it is not one."""
    try:
        return str(nkeys.from_seed(bytearray(seed.strip())).public_key.decode())
    except (nkeys.NkeysError, ValueError, TypeError) as exc:
        raise NatsConfigError(f"not an nkey seed: {exc}") from None


def read_seed_file(path: str | Path) -> str:
    """Check that `path` holds a user nkey seed and return its public key (never the seed).
    NatsConfigError says what is wrong (missing, unreadable, not a seed)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise NatsConfigError(
            f"nkey seed file {path}: {exc.strerror or exc}; create the keys with "
            "`callister cluster nkeys DIR` and point nats_nkey at <role>.nk"
        ) from None
    try:
        return public_key(data)
    except NatsConfigError:
        raise NatsConfigError(
            f"{path} does not hold an nkey user seed (SU...); use a <role>.nk file "
            "written by `callister cluster nkeys`"
        ) from None


@dataclass(frozen=True)
class RoleKey:
    role: str
    public: str
    seed_file: Path | None  # None: only the public key is here (the NATS server's machine)


def write_keys(directory: str | Path, roles: tuple[str, ...] = ROLES) -> list[RoleKey]:
    """Create `<role>.nk` (seed, mode 0600) and `<role>.pub` for each role in `directory`.
    An existing seed is kept (its .pub rewritten), so re-running never locks a process out."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    keys = []
    for role in roles:
        if role not in ROLES:
            raise NatsConfigError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        seed_file = folder / f"{role}.nk"
        if seed_file.exists():
            public = read_seed_file(seed_file)
        else:
            seed = new_seed()
            fd = os.open(seed_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(seed + b"\n")
            public = public_key(seed)
        (folder / f"{role}.pub").write_text(public + "\n")
        keys.append(RoleKey(role, public, seed_file))
    return keys


def read_public_keys(directory: str | Path) -> dict[str, str]:
    """Each role's public key from `directory` (`<role>.pub`, else derived from `<role>.nk`);
    NatsConfigError when a role has neither."""
    folder = Path(directory)
    found: dict[str, str] = {}
    for role in ROLES:
        pub, seed = folder / f"{role}.pub", folder / f"{role}.nk"
        if pub.exists():
            text = pub.read_text().strip()
            if not (text.startswith("U") and len(text) == 56):
                raise NatsConfigError(f"{pub} does not hold a user public key (U..., 56 chars)")
            found[role] = text
        elif seed.exists():
            found[role] = read_seed_file(seed)
        else:
            raise NatsConfigError(
                f"no key for role {role} in {folder} ({role}.pub or {role}.nk); "
                "create them with `callister cluster nkeys DIR`"
            )
    return found


_UNITS = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def parse_size(text: str) -> int:
    """Bytes in `text` like ``8MB`` or ``10GB`` (units of 1024, as nats-server reads them)."""
    raw = text.strip().upper().replace(" ", "")
    digits = raw.rstrip("KMGTB")
    unit = raw[len(digits) :]
    if not digits.isdigit() or unit not in _UNITS:
        raise NatsConfigError(f"{text!r} is not a size like 8MB or 10GB")
    return int(digits) * _UNITS[unit]


@dataclass(frozen=True)
class ServerTls:
    """The server's certificate and key, and the CA clients' certificates must chain to
    (`verify`: clients must present one: mutual TLS)."""

    cert_file: str
    key_file: str
    ca_file: str = ""
    verify: bool = False


def server_config(
    users: dict[str, str],
    *,
    listen: str = "0.0.0.0:4222",
    store_dir: str = "/var/lib/nats/js",
    max_payload: int = 8 * 1024**2,
    max_file_store: int = 10 * 1024**3,
    sync_always: bool = True,
    tls: ServerTls | None = None,
) -> dict[str, Any]:
    """The nats-server configuration: `users` maps each role to its public nkey."""
    missing = [r for r in ROLES if r not in users]
    if missing:
        raise NatsConfigError(f"no public key for role(s) {', '.join(missing)}")
    jetstream: dict[str, Any] = {"store_dir": store_dir, "max_file_store": max_file_store}
    if sync_always:
        jetstream["sync_interval"] = "always"
    config: dict[str, Any] = {
        "listen": listen,
        "max_payload": max_payload,
        "jetstream": jetstream,
        "authorization": {
            "users": [{"nkey": users[role], "permissions": permissions(role)} for role in ROLES]
        },
    }
    if tls is not None:
        block: dict[str, Any] = {"cert_file": tls.cert_file, "key_file": tls.key_file}
        if tls.ca_file:
            block["ca_file"] = tls.ca_file
        if tls.verify:
            block["verify"] = True
        config["tls"] = block
    return config


def _value(value: Any, indent: str) -> str:
    if isinstance(value, dict):
        inner = indent + "  "
        lines = [f"{inner}{k}: {_value(v, inner)}" for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return "[" + ", ".join(json.dumps(v) for v in value) + "]"
        inner = indent + "  "
        return "[\n" + "\n".join(f"{inner}{_value(v, inner)}" for v in value) + f"\n{indent}]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def render_conf(config: dict[str, Any]) -> str:
    """`config` in nats-server's configuration syntax, each user preceded by its role."""
    head = [
        "# nats-server configuration for a Callister cluster (docs/deploy.md, Security).",
        "# Generated by `callister cluster nats-config` from cluster/subjects.py: regenerate,",
        "# do not edit, when the cluster's subjects change.",
    ]
    body = []
    for key, value in config.items():
        if key == "authorization":
            users = [  # server_config lists the users in ROLES order
                f"    # {role}\n    {_value(user, '    ')}"
                for role, user in zip(ROLES, value["users"], strict=True)
            ]
            body.append("authorization {\n  users: [\n" + "\n".join(users) + "\n  ]\n}")
        else:
            body.append(f"{key}: {_value(value, '')}")
    return "\n".join(head + body) + "\n"


def subject_table() -> list[dict[str, Any]]:
    """The subject table as JSON-ready rows (for `callister cluster nats-config --subjects`)."""
    return [
        {
            "subject": s.pattern,
            "publish": list(s.publishers),
            "subscribe": list(s.subscribers),
            "what": s.what,
        }
        for s in SUBJECTS
    ]


def subject_markdown() -> str:
    """The subject table as Markdown (docs/deploy.md holds this text; a test compares)."""
    rows = ["| subject | published by | subscribed by | what |", "|---|---|---|---|"]
    for s in SUBJECTS:
        pub = ", ".join(s.publishers) or "(replies only)"
        sub = ", ".join(s.subscribers) or "(JetStream)"
        rows.append(f"| `{s.pattern}` | {pub} | {sub} | {s.what} |")
    return "\n".join(rows)
