"""Portable clone files: versioned, signed, verified; licence proofs, claim codes; plus fork.

A clone file is UTF-8 JSON:

    {
      "format": "callister-clone",
      "version": 3,
      "payload": {"clone": {...Clone.to_dict()...},
                  "exported": {"world": "infinity", "tick": 123456, "by": "<signer fingerprint>"}},
      "digest": "sha256:<hex of the canonical payload>",
      "signature": {"alg": "ed25519", "public_key": "<base64, 32 bytes>", "value": "<base64>"}
    }

The canonical payload is `json.dumps(payload, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8; the signature is Ed25519 over b"callister-clone/<version>\n"
+ those bytes, by the exporting server's key (`SigningKey`). Embeddings travel as base64 float32
(little-endian), so the file carries everything: profile, personality, skills, goals, mood,
relationships, beliefs, lineage, licence, life/death and every memory with its embedding.
Version 2 adds to the licence its `proof` (the home server's signed statement that the subject
consented) and `claim` (the hash of the code that lets the owner claim the clone elsewhere);
version 3 adds the clone's `knowledge` (prices, dangers, who attacked whom; `knowledge.py`).
Version 1 files still read, and import with nothing proven; version 2 files arrive knowing
nothing beyond their memories.

Reading checks, in order, and refuses with a `CloneFileError` naming what is wrong: empty or not
UTF-8; truncated (the JSON ends early) or corrupt (invalid JSON elsewhere); not a clone file;
a version newer than this code understands; missing parts; digest mismatch (tampered);
signature that does not verify (tampered or re-signed); a signer not among `trusted` keys when
given; then the clone's own fields.

Importing (`import_clone`) decides what this server believes (docs/agents.md, "Licences and
trust"): a signer that is neither this server's key nor a trusted one is refused (unless the
caller allows it, and then nothing in the file is believed); owners are account numbers of the
signer's server, so only this server's own files keep them; a licence is proven only by a
valid proof from a trusted key (or, for this server's own consent records, by the store).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from callister.agents.errors import AgentError
from callister.agents.memory import MemoryKind
from callister.agents.model import Clone, Licence, Lineage, LineageEvent, Profile

FORMAT: Final = "callister-clone"
VERSION: Final = 3
_PROOF_DOMAIN: Final = b"callister-licence/1\n"
_CLAIM_DOMAIN: Final = b"callister-claim/1\n"
PROOF_KIND: Final = "callister-licence"


PROOF_VERSION: Final = 2  # the first version carrying licence proofs and claim codes


def _domain(version: int) -> bytes:
    """What a version-`version` signature signs before the canonical payload."""
    return b"callister-clone/%d\n" % version


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


def export_clone(
    clone: Clone,
    key: SigningKey,
    *,
    world: str,
    tick: int,
    proof: Mapping[str, Any] | None = None,
    claim_code: str | None = None,
) -> bytes:
    """The signed file bytes for `clone` (dead clones export too: archives travel).

    `proof`: the licence proof this server issues for its own consent record
    (`issue_licence_proof`); only for a clone whose licence is this server's (`home` None). A
    clone licensed elsewhere carries the proof it arrived with. `claim_code`: the code whose
    hash lets the owner claim the clone on the server that imports it; without one, an unowned
    clone keeps the claim it arrived with and an owned one travels without."""
    licence = clone.licence
    if proof is not None and licence.home is not None:
        raise CloneFileError(
            f"clone {clone.id}'s licence belongs to server {licence.home}: only that server "
            "can issue its proof"
        )
    if claim_code is not None:
        claim: str | None = claim_hash(claim_code)
    else:
        claim = licence.claim if licence.owner is None else None
    data = clone.to_dict()
    data["licence"] = replace(
        licence, proof=proof if licence.home is None else licence.proof, claim=claim
    ).to_dict()
    payload = {
        "clone": data,
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
            "public_key": _b64text(key.public_bytes),
            "value": _b64text(key.sign(_domain(VERSION) + body)),
        },
    }
    return (json.dumps(envelope, ensure_ascii=False, indent=1) + "\n").encode()


def _b64text(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


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
        Ed25519PublicKey.from_public_bytes(public).verify(value, _domain(version) + body)
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


# --- licence proofs ------------------------------------------------------------------------


def issue_licence_proof(
    key: SigningKey,
    *,
    subject: int,
    consent: str,
    grantee: int | None,
    granted_at: float,
    issued_at: float,
) -> dict[str, Any]:
    """The statement "account `subject` of this server recorded consent `consent` to be cloned
    by `grantee` (None: anyone)", signed by this server's `key`. The caller issues it only for a
    consent record that exists and is not revoked."""
    statement = {
        "kind": PROOF_KIND,
        "server": key.fingerprint,
        "subject": subject,
        "consent": consent,
        "grantee": grantee,
        "granted_at": granted_at,
        "issued_at": issued_at,
    }
    return {
        "statement": statement,
        "public_key": _b64text(key.public_bytes),
        "signature": _b64text(key.sign(_PROOF_DOMAIN + canonical(statement))),
    }


def proof_key(licence: Licence) -> bytes:
    """The public key that signed `licence.proof`, once the proof is checked: well formed, its
    signature verifies, it was issued by the licence's `home` server and names the licence's
    subject and consent. Whether that key is trusted is the caller's question. CloneFileError
    says what is wrong."""
    proof = licence.proof
    if proof is None:
        raise CloneFileError("the licence carries no proof")
    statement = proof.get("statement")
    if not isinstance(statement, Mapping) or statement.get("kind") != PROOF_KIND:
        raise CloneFileError("licence proof: not a callister licence statement")
    public = _b64("licence proof public_key", proof.get("public_key"))
    value = _b64("licence proof signature", proof.get("signature"))
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(
            value, _PROOF_DOMAIN + canonical(dict(statement))
        )
    except (InvalidSignature, ValueError):
        raise CloneFileError(
            f"licence proof: the signature does not verify against key {fingerprint(public)}"
        ) from None
    if fingerprint(public) != licence.home:
        raise CloneFileError(
            f"licence proof: signed by {fingerprint(public)}, not by the server that holds the "
            f"consent ({licence.home or 'this one'})"
        )
    if statement.get("subject") != licence.subject or statement.get("consent") != licence.consent:
        raise CloneFileError(
            f"licence proof: it is for subject {statement.get('subject')!r} consent "
            f"{statement.get('consent')!r}, the clone names subject {licence.subject!r} consent "
            f"{licence.consent!r}"
        )
    return public


def licence_proven(licence: Licence, trusted: Collection[bytes]) -> bool:
    """True when `licence` (of another server: `home` set) carries a valid proof signed by one
    of the `trusted` keys."""
    if licence.subject is None or licence.home is None or licence.proof is None:
        return False
    try:
        return proof_key(licence) in set(trusted)
    except CloneFileError:
        return False


# --- claim codes --------------------------------------------------------------------------


def new_claim_code() -> str:
    """A fresh claim code (128 random bits, URL-safe text) for the owner of an exported clone."""
    return secrets.token_urlsafe(16)


def claim_hash(code: str) -> str:
    """What a clone file carries of a claim code: SHA-256 (hex) of a domain tag and the code.
    The code is random, so the hash cannot be searched back to it."""
    return hashlib.sha256(_CLAIM_DOMAIN + code.strip().encode()).hexdigest()


def claim_matches(licence: Licence, code: str) -> bool:
    """True when `code` is the claim code of this (unclaimed) clone's licence."""
    if licence.claim is None or not isinstance(code, str) or not code.strip():
        return False
    return hmac.compare_digest(licence.claim, claim_hash(code))


# --- import --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arrival:
    """An imported clone and what the person importing it should be told (`notes`)."""

    clone: Clone
    package: ClonePackage
    trusted: bool  # signed by one of this server's keys or a trusted key
    home: bool  # signed by one of this server's keys: its owner is one of our accounts
    notes: tuple[str, ...]


def _arriving_licence(
    package: ClonePackage, own: set[bytes], trusted: set[bytes], believed: bool
) -> tuple[Licence, list[str]]:
    """The licence the clone has here, and why parts of it were not kept."""
    licence = package.clone.licence
    at_home = package.public_key in own
    notes: list[str] = []
    # Account numbers are the signer's (owner) and the home server's (subject, consent): only
    # this server's own numbers are kept; nothing an untrusted file says about us is believed.
    home: str | None = licence.home or package.signer
    if home in {fingerprint(k) for k in own}:
        home = None if believed else package.signer
    owner = licence.owner if at_home else None
    if licence.owner is not None and not at_home:
        how = (
            "someone proves to be that owner with the claim code given at export "
            "(`callister clone claim`, or POST /api/clones/{id}/claim)"
            if licence.claim is not None
            else "an administrator assigns one (`callister clone claim ID --account A --assign`): "
            "the file carries no claim code"
        )
        notes.append(
            f"its owner, account {licence.owner} of server {package.signer}, is not an account "
            f"here: the clone is unowned until {how}"
        )
    proven = False
    arriving = replace(
        licence,
        owner=owner,
        home=home,
        proof=licence.proof if home is not None else None,
        claim=licence.claim if owner is None else None,
    )
    if licence.subject is not None and home is not None:
        proven = believed and licence_proven(arriving, trusted)
        if not proven:
            if licence.proof is None:
                why = f"the file carries no licence proof from its home server {home}"
            else:
                try:
                    signer = fingerprint(proof_key(arriving))
                    why = (
                        f"its licence proof is signed by {signer}, which this world does not "
                        "trust (trust that key to license it)"
                    )
                except CloneFileError as exc:
                    why = str(exc)
            notes.append(
                f"it is a copy of account {licence.subject} of server {home} and arrives "
                f"UNLICENSED: {why}"
            )
    return replace(arriving, proven=proven), notes


def require_trusted(
    package: ClonePackage,
    *,
    own: Collection[bytes],
    trusted: Collection[bytes],
    allow_untrusted: bool = False,
) -> bool:
    """True when the file's signer is one of this server's keys (`own`) or a `trusted` one;
    False when it is neither and `allow_untrusted`; otherwise CloneFileError saying what to do."""
    if package.public_key in set(own) or package.public_key in set(trusted):
        return True
    if allow_untrusted:
        return False
    raise CloneFileError(
        f"signed by key {package.signer}, which this world does not trust: anyone can make a "
        "key, so the file proves nothing about where it came from. If you know the sender, "
        "trust their key (they print it with `callister clone key`; add it with `callister "
        "clone trust add KEYFILE`) and import again, or import it with --allow-untrusted (it "
        "arrives unowned and unlicensed)"
    )


def import_clone(
    data: bytes,
    *,
    world: str,
    tick: int,
    own: Collection[bytes],
    trusted: Collection[bytes] = (),
    allow_untrusted: bool = False,
    new_id: int | None = None,
) -> Arrival:
    """Verify a file and give its clone a place in `world` at `tick`: its world changes, its
    lineage records the import, and it remembers arriving (importance 8). With `new_id` the
    clone takes a new id (when its own is taken here).

    `own`: this server's public keys (their account numbers are ours); `trusted`: the keys an
    administrator trusts. A file signed by neither is refused, with what to do, unless
    `allow_untrusted`: then nothing it says is believed (unowned, unlicensed). A clone from
    another server arrives unowned (`claim` lets its owner take it) and licensed only by a valid
    proof signed by a trusted key; a licence of this server is left for the store to check
    (`proven` False here)."""
    package = read_clone_file(data)
    own_keys, trusted_keys = set(own), set(trusted)
    believed = require_trusted(
        package, own=own_keys, trusted=trusted_keys, allow_untrusted=allow_untrusted
    )
    notes: list[str] = []
    if not believed:
        notes.append(
            f"signed by the untrusted key {package.signer}: nothing the file says about owners "
            "or consent is believed"
        )
    if package.version < PROOF_VERSION:
        notes.append(
            f"older clone file (format version {package.version}): it carries no licence proof "
            "and no claim code"
        )
    licence, licence_notes = _arriving_licence(package, own_keys, trusted_keys, believed)
    notes += licence_notes
    clone = package.clone
    clone.licence = licence
    origin = f"from world {package.world}" if package.world else "from an unknown world"
    note = f"{origin}, exported at tick {package.tick}, signed by {package.signer}"
    if not believed:
        note += " (untrusted)"
    if new_id is not None and new_id != clone.id:
        note += f"; was #{clone.id}"
        clone.id = new_id
    clone.world = world
    clone.lineage = clone.lineage.with_event(LineageEvent("imported", world, tick, note))
    if clone.alive:
        clone.memory.add(
            tick,
            f"I arrived in world {world} {origin}.",
            importance=8,
            event="arrived",
        )
    return Arrival(
        clone=clone,
        package=package,
        trusted=believed,
        home=package.public_key in own_keys,
        notes=tuple(notes),
    )


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
        f"I was forked from {clone.name}; we share our memories up to then.",
        importance=8,
        entities=(clone.id,),
        event="forked",
        kind=MemoryKind.OBSERVATION,
    )
    return twin
