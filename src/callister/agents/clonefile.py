"""Portable clone files: versioned, signed, verified; plus fork.

A clone file is UTF-8 JSON:

    {
      "format": "callister-clone",
      "version": 1,
      "payload": {"clone": {...Clone.to_dict()...},
                  "exported": {"world": "infinity", "tick": 123456, "by": "<signer fingerprint>"}},
      "digest": "sha256:<hex of the canonical payload>",
      "signature": {"alg": "ed25519", "public_key": "<base64, 32 bytes>", "value": "<base64>"}
    }

The canonical payload is `json.dumps(payload, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8; the signature is Ed25519 over b"callister-clone/1\\n" +
those bytes, by the exporting world's key (`SigningKey`). Embeddings travel as base64 float32
(little-endian), so the file carries everything: profile, personality, skills, goals, mood,
relationships, beliefs, lineage, licence, life/death and every memory with its embedding.

Reading checks, in order, and refuses with a `CloneFileError` naming what is wrong: empty or not
UTF-8; truncated (the JSON ends early) or corrupt (invalid JSON elsewhere); not a clone file;
a version newer than this code understands; missing parts; digest mismatch (tampered);
signature that does not verify (tampered or re-signed); a signer not among `trusted` keys when
given; then the clone's own fields.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from callister.agents.errors import AgentError
from callister.agents.memory import MemoryKind
from callister.agents.model import Clone, Lineage, LineageEvent, Profile

FORMAT: Final = "callister-clone"
VERSION: Final = 1
_DOMAIN: Final = b"callister-clone/1\n"


class CloneFileError(AgentError):
    """A clone file was refused; the message says why (truncated, tampered, newer version ...)."""


def canonical(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


class SigningKey:
    """A world's (or server's) Ed25519 signing key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_bytes = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_bytes(cls, raw: bytes) -> SigningKey:
        """From the 32-byte raw private key, or its PEM (PKCS#8) encoding."""
        try:
            if raw.lstrip().startswith(b"-----BEGIN"):
                key = serialization.load_pem_private_key(raw, password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise CloneFileError("the key file does not hold an Ed25519 key")
                return cls(key)
            return cls(Ed25519PrivateKey.from_private_bytes(raw))
        except ValueError as exc:
            if isinstance(exc, CloneFileError):
                raise
            raise CloneFileError(f"not an Ed25519 private key: {exc}") from None

    def to_pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_bytes)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


@dataclass(frozen=True, slots=True)
class ClonePackage:
    """A verified clone file: the clone as exported and who/where/when exported it."""

    clone: Clone
    version: int
    signer: str  # fingerprint of the signing key
    public_key: bytes
    world: str
    tick: int


def export_clone(clone: Clone, key: SigningKey, *, world: str, tick: int) -> bytes:
    """The signed file bytes for `clone` (dead clones export too: archives travel)."""
    payload = {
        "clone": clone.to_dict(),
        "exported": {"world": world, "tick": tick, "by": key.fingerprint},
    }
    body = canonical(payload)
    envelope = {
        "format": FORMAT,
        "version": VERSION,
        "payload": payload,
        "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
        "signature": {
            "alg": "ed25519",
            "public_key": base64.b64encode(key.public_bytes).decode("ascii"),
            "value": base64.b64encode(key.sign(_DOMAIN + body)).decode("ascii"),
        },
    }
    return (json.dumps(envelope, ensure_ascii=False, indent=1) + "\n").encode()


def _b64(where: str, text: Any) -> bytes:
    if not isinstance(text, str):
        raise CloneFileError(f"{where} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CloneFileError(f"{where} is not valid base64") from None


def read_clone_file(data: bytes, *, trusted: Collection[bytes] | None = None) -> ClonePackage:
    """Verify and decode a clone file (see the module docstring for the checks)."""
    if not data:
        raise CloneFileError("the file is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CloneFileError(
            f"not a clone file: not UTF-8 text (bad byte at offset {exc.start})"
        ) from None
    try:
        env = json.loads(text)
    except json.JSONDecodeError as exc:
        tail = text.rstrip()
        if exc.pos >= len(tail) - 1 or not tail.endswith("}"):
            raise CloneFileError(
                f"truncated: the file ends after {len(data)} bytes, before the clone is complete "
                f"({exc.msg} at byte {exc.pos})"
            ) from None
        raise CloneFileError(
            f"corrupt: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    if not isinstance(env, dict) or env.get("format") != FORMAT:
        got = env.get("format") if isinstance(env, dict) else type(env).__name__
        raise CloneFileError(f"not a clone file (format is {got!r}, expected {FORMAT!r})")
    version = env.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CloneFileError(f"bad version {version!r}: expected a positive integer")
    if version > VERSION:
        raise CloneFileError(
            f"clone file version {version} is newer than this server understands (up to "
            f"{VERSION}): upgrade callister to import it"
        )
    missing = [k for k in ("payload", "digest", "signature") if k not in env]
    if missing:
        raise CloneFileError(f"incomplete clone file: missing {missing}")
    payload, sig = env["payload"], env["signature"]
    if not isinstance(payload, dict) or not isinstance(sig, dict):
        raise CloneFileError("incomplete clone file: payload and signature must be objects")
    if sig.get("alg") != "ed25519":
        raise CloneFileError(f"unsupported signature algorithm {sig.get('alg')!r}")
    body = canonical(payload)
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if env["digest"] != digest:
        raise CloneFileError(
            f"tampered: the content's digest is {digest[:23]}..., the file records "
            f"{str(env['digest'])[:23]}... (the clone was changed after it was signed)"
        )
    public = _b64("signature.public_key", sig.get("public_key"))
    value = _b64("signature.value", sig.get("value"))
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(value, _DOMAIN + body)
    except (InvalidSignature, ValueError):
        raise CloneFileError(
            f"tampered: the signature does not verify against the file's key "
            f"{fingerprint(public)} (content or signature changed)"
        ) from None
    if trusted is not None and public not in set(trusted):
        raise CloneFileError(
            f"signed by an untrusted key {fingerprint(public)}; trust it with --trust to import"
        )
    exported = payload.get("exported")
    if not isinstance(exported, dict):
        raise CloneFileError("payload.exported is missing")
    try:
        clone = Clone.from_dict(payload.get("clone"))
    except AgentError as exc:
        raise CloneFileError(f"invalid clone: {exc}") from None
    tick = exported.get("tick")
    if isinstance(tick, bool) or not isinstance(tick, int):
        raise CloneFileError("payload.exported.tick must be an integer")
    return ClonePackage(
        clone=clone,
        version=version,
        signer=fingerprint(public),
        public_key=public,
        world=str(exported.get("world", "")),
        tick=tick,
    )


def import_clone(
    data: bytes,
    *,
    world: str,
    tick: int,
    trusted: Collection[bytes] | None = None,
    new_id: int | None = None,
) -> Clone:
    """Verify a file and give its clone a place in `world` at `tick`: its world changes, its
    lineage records the import, and it remembers arriving (importance 8). With `new_id` the
    clone takes a new id (when its own is taken here)."""
    package = read_clone_file(data, trusted=trusted)
    clone = package.clone
    origin = f"from world {package.world}" if package.world else "from an unknown world"
    note = f"{origin}, exported at tick {package.tick}, signed by {package.signer}"
    if new_id is not None and new_id != clone.id:
        note += f"; was #{clone.id}"
        clone.id = new_id
    clone.world = world
    clone.lineage = clone.lineage.with_event(LineageEvent("imported", world, tick, note))
    if clone.alive:
        clone.memory.add(
            tick,
            f"I arrived in world {world} {origin}; I was exported there at tick {package.tick}.",
            importance=8,
            event="arrived",
        )
    return clone


def fork_clone(
    clone: Clone,
    *,
    new_id: int,
    tick: int,
    at_tick: int | None = None,
    world: str | None = None,
    name: str | None = None,
) -> Clone:
    """A new individual who shares `clone`'s memories up to `at_tick` (default: now) and goes on
    alone: new id, parent = the original, generation + 1, its own relationships and beliefs as
    they were. It remembers being forked. A dead clone cannot be forked."""
    clone.require_alive()
    if new_id == clone.id:
        raise AgentError("a fork needs a new id")
    at = tick if at_tick is None else at_tick
    if at > tick:
        raise AgentError(f"cannot fork at tick {at}, after now ({tick})")
    data = clone.to_dict()
    twin = Clone.from_dict(data)
    twin.id = new_id
    twin.memory = clone.memory.copy(up_to_tick=at)
    if name:
        twin.profile = Profile.from_dict({**twin.profile.to_dict(), "name": name})
    w = world or clone.world
    twin.world = w
    twin.lineage = Lineage(
        origin_world=w,
        born_tick=tick,
        parent=clone.id,
        fork_tick=at,
        generation=clone.lineage.generation + 1,
        history=(
            *clone.lineage.history,
            LineageEvent("forked", w, tick, f"from #{clone.id} at tick {at}"),
        ),
    )
    twin.memory.add(
        tick,
        f"I was forked from {clone.name} (#{clone.id}); our memories are shared up to tick {at}.",
        importance=8,
        entities=(clone.id,),
        event="forked",
        kind=MemoryKind.OBSERVATION,
    )
    return twin
