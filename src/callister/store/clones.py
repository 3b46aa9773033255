"""`CloneRowRepository`: clones with their memories and relationships, consents to clone a
person's profile, the worlds' signing keys and the keys they trust.

A clone's `licence` is never taken from the writer: every read computes it from the consent
records and the trusted keys (see `_licence_sql`), so a revoked consent or a key no longer
trusted unlicenses the clones at once. Trust changes are written to `world_audit`.

The store knows nothing of `callister.agents` (it is a leaf layer): a clone travels as a
`CloneRow` of plain values, and `server.crew.StoreCloneRepository` converts. Dead clones are
kept (archives); `purge` exists for moderation only. Every method is one transaction (see
`Store` for the contract every repository keeps).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from . import _check as check
from ._audit import insert_audit
from .database import Cursor, Database, Row
from .errors import NotFound
from .records import (
    CLONE_GOALS,
    CLONE_LICENCES,
    CLONE_ROLES,
    EMBEDDING_BYTES,
    MAX_LIST,
    MEMORY_KINDS,
    CloneFilter,
    CloneInfo,
    CloneRow,
    Consent,
    MemoryRow,
    RelationshipRow,
    TrustedKey,
)

_CLONE_COLUMNS = (
    "id, world, name, role, goal, ship_id, owner_id, subject_id, consent_id, licence, "
    "parent_id, fork_tick, generation, origin_world, born_tick, alive, died_tick, death_cause, "
    "doc, next_memory, updated_at, licence_home, licence_key"
)


def _licence_sql(t: str) -> str:
    """The live licence status of the clones row `t` (a table name or alias), as SQL.

    Another server's clone (`licence_home` set): licensed while the key of its checked proof
    is trusted in the clone's world. This server's: generated without a subject; licensed while
    the consent record it names exists, is the subject's, covers its owner (or anyone) and is
    not revoked. Anything else is unlicensed: a consent string proves nothing by itself."""
    return (
        f"CASE WHEN {t}.licence_home IS NOT NULL THEN "
        f"CASE WHEN EXISTS (SELECT 1 FROM trusted_keys tk WHERE tk.world = {t}.world "
        f"AND tk.public_key = {t}.licence_key) THEN 'licensed' ELSE 'unlicensed' END "
        f"WHEN {t}.subject_id IS NULL THEN 'generated' "
        f"WHEN EXISTS (SELECT 1 FROM clone_consents cc WHERE cc.subject_id = {t}.subject_id "
        f"AND CAST(cc.id AS TEXT) = {t}.consent_id AND cc.revoked_at IS NULL "
        f"AND (cc.grantee_id IS NULL OR cc.grantee_id = {t}.owner_id)) THEN 'licensed' "
        "ELSE 'unlicensed' END"
    )


_SELECT_CLONE = _CLONE_COLUMNS.replace(
    "consent_id, licence,", f"consent_id, {_licence_sql('clones')},"
)


def _refresh_licences(cur: Cursor, where: str, params: Sequence[Any]) -> None:
    """Store the live status in `clones.licence` for the rows matching `where` (kept for readers
    of the raw table; the store's own reads compute it)."""
    cur.execute(f"UPDATE clones SET licence = {_licence_sql('clones')} WHERE {where}", params)


_MEMORY_COLUMNS = (
    "world, clone_id, seq, tick, kind, importance, event, entities, text, embedding, last_access"
)
_REL_COLUMNS = "world, clone_id, entity, name, trust, affinity, hostile, attacks, helps, last_tick"
_CONSENT_COLUMNS = "id, subject_id, grantee_id, granted_at, revoked_at"
_MAX_CLONE_TEXT = 100_000


def _opt_int(name: str, value: object, minimum: int = check.INT64_MIN) -> int | None:
    return None if value is None else check.int64(name, value, minimum)


def _opt_key(name: str, value: object) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ValueError(f"{name} must be 32 bytes (an Ed25519 public key) or None")
    return bytes(value)


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, not {value!r}")
    return str(value)


def _clone_values(r: CloneRow, now: float) -> tuple[Row, list[Row], list[Row]]:
    if not isinstance(r, CloneRow):
        raise ValueError(f"expected a CloneRow, not {type(r).__name__}")
    cid = check.int64("id", r.id, 1)
    world = check.text("world", r.world)
    row = (
        cid,
        world,
        check.text("name", r.name),
        _one_of("role", r.role, CLONE_ROLES),
        _one_of("goal", r.goal, CLONE_GOALS),
        _opt_int("ship_id", r.ship_id),
        _opt_int("owner_id", r.owner_id),
        _opt_int("subject_id", r.subject_id),
        None if r.consent_id is None else check.text("consent_id", r.consent_id),
        _one_of("licence", r.licence, CLONE_LICENCES),
        _opt_int("parent_id", r.parent_id),
        _opt_int("fork_tick", r.fork_tick),
        check.int64("generation", r.generation, 0),
        check.text("origin_world", r.origin_world),
        check.int64("born_tick", r.born_tick),
        bool(r.alive),
        _opt_int("died_tick", r.died_tick),
        check.clean("death_cause", str(r.death_cause)),
        check.to_json("doc", r.doc, object_only=True),
        check.int64("next_memory", r.next_memory, 0),
        now,
        None if r.licence_home is None else check.text("licence_home", r.licence_home, 64),
        _opt_key("licence_key", r.licence_key),
    )
    mems = []
    for i, m in enumerate(r.memories):
        where = f"memories[{i}]"
        if not isinstance(m, MemoryRow):
            raise ValueError(f"{where} must be a MemoryRow")
        if not isinstance(m.embedding, bytes | bytearray) or len(m.embedding) != EMBEDDING_BYTES:
            raise ValueError(f"{where}.embedding must be {EMBEDDING_BYTES} bytes")
        importance = check.finite(f"{where}.importance", m.importance)
        if not 1.0 <= importance <= 10.0:
            raise ValueError(f"{where}.importance must be in 1..10, not {importance}")
        mems.append(
            (
                world,
                cid,
                check.int64(f"{where}.seq", m.seq, 0),
                check.int64(f"{where}.tick", m.tick),
                _one_of(f"{where}.kind", m.kind, MEMORY_KINDS),
                importance,
                check.clean(f"{where}.event", str(m.event)),
                json.dumps([check.int64(f"{where}.entities", e) for e in m.entities]),
                check.clean(f"{where}.text", str(m.text))[:_MAX_CLONE_TEXT],
                bytes(m.embedding),
                check.int64(f"{where}.last_access", m.last_access),
            )
        )
    rels = []
    for i, x in enumerate(r.relationships):
        where = f"relationships[{i}]"
        if not isinstance(x, RelationshipRow):
            raise ValueError(f"{where} must be a RelationshipRow")
        rels.append(
            (
                world,
                cid,
                check.int64(f"{where}.entity", x.entity),
                check.clean(f"{where}.name", str(x.name)),
                check.finite(f"{where}.trust", x.trust),
                check.finite(f"{where}.affinity", x.affinity),
                bool(x.hostile),
                check.int64(f"{where}.attacks", x.attacks, 0),
                check.int64(f"{where}.helps", x.helps, 0),
                check.int64(f"{where}.last_tick", x.last_tick),
            )
        )
    return row, mems, rels


def _write_clone(cur: Cursor, row: Row, mems: list[Row], rels: list[Row]) -> None:
    cid = row[0]
    cols = _CLONE_COLUMNS.split(", ")
    cur.execute(
        f"INSERT INTO clones ({_CLONE_COLUMNS}) VALUES ({', '.join('?' * len(cols))}) "
        "ON CONFLICT (id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in cols if c != "id"),
        row,
    )
    _refresh_licences(cur, "id = ?", (cid,))
    cur.execute("DELETE FROM clone_memories WHERE clone_id = ?", (cid,))
    cur.execute("DELETE FROM clone_relationships WHERE clone_id = ?", (cid,))
    cur.executemany(
        f"INSERT INTO clone_memories ({_MEMORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        mems,
    )
    cur.executemany(
        f"INSERT INTO clone_relationships ({_REL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rels,
    )


def _consent(row: Row) -> Consent:
    id_, subject, grantee, granted, revoked = row
    return Consent(
        int(id_),
        int(subject),
        None if grantee is None else int(grantee),
        float(granted),
        None if revoked is None else float(revoked),
    )


class CloneRowRepository:
    """Clones (as `CloneRow`s), consents, signing keys and trusted keys."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def put(self, row: CloneRow) -> None:
        """Insert or replace the clone with its memories and relationships (one transaction).
        ValueError for bad values (unknown role/goal/kind, a wrong-sized embedding ...).
        `row.licence` is ignored: the store computes the status (module docstring)."""
        values = _clone_values(row, time.time())
        self._db.write(lambda c: _write_clone(c, *values))

    def put_many(self, rows: Sequence[CloneRow]) -> None:
        """`put` for each, all in one transaction."""
        now = time.time()
        values = [_clone_values(r, now) for r in rows]

        def write(cur: Cursor) -> None:
            for v in values:
                _write_clone(cur, *v)

        if values:
            self._db.write(write)

    def get(self, clone_id: int) -> CloneRow | None:
        """The stored clone with memories (in seq order) and relationships, or None."""
        cid = check.int64("clone_id", clone_id)

        def read(cur: Cursor) -> Any:
            row = cur.execute(f"SELECT {_SELECT_CLONE} FROM clones WHERE id = ?", (cid,)).one()
            if row is None:
                return None
            mems = cur.execute(
                f"SELECT {_MEMORY_COLUMNS} FROM clone_memories WHERE clone_id = ? ORDER BY seq",
                (cid,),
            ).all()
            rels = cur.execute(
                f"SELECT {_REL_COLUMNS} FROM clone_relationships WHERE clone_id = ? "
                "ORDER BY entity",
                (cid,),
            ).all()
            return row, mems, rels

        got = self._db.read(read)
        if got is None:
            return None
        row, mems, rels = got
        (id_, world, name, role, goal, ship, owner, subject, consent, licence, parent, fork,
         gen, origin, born, alive, died, cause, doc, next_memory, updated, home,
         key) = row  # fmt: skip
        return CloneRow(
            id=int(id_),
            world=world,
            name=name,
            role=role,
            goal=goal,
            ship_id=None if ship is None else int(ship),
            owner_id=None if owner is None else int(owner),
            subject_id=None if subject is None else int(subject),
            consent_id=consent,
            licence=licence,
            parent_id=None if parent is None else int(parent),
            fork_tick=None if fork is None else int(fork),
            generation=int(gen),
            origin_world=origin,
            born_tick=int(born),
            alive=bool(alive),
            died_tick=None if died is None else int(died),
            death_cause=cause,
            doc=json.loads(doc),
            next_memory=int(next_memory),
            memories=tuple(
                MemoryRow(
                    seq=int(m[2]),
                    tick=int(m[3]),
                    kind=m[4],
                    importance=float(m[5]),
                    event=m[6],
                    entities=tuple(int(e) for e in json.loads(m[7])),
                    text=m[8],
                    embedding=bytes(m[9]),
                    last_access=int(m[10]),
                )
                for m in mems
            ),
            relationships=tuple(
                RelationshipRow(
                    entity=int(x[2]),
                    name=x[3],
                    trust=float(x[4]),
                    affinity=float(x[5]),
                    hostile=bool(x[6]),
                    attacks=int(x[7]),
                    helps=int(x[8]),
                    last_tick=int(x[9]),
                )
                for x in rels
            ),
            updated_at=float(updated),
            licence_home=home,
            licence_key=None if key is None else bytes(key),
        )

    def exists(self, clone_id: int) -> bool:
        """True if a clone (alive or dead) with that id is stored."""
        cid = check.int64("clone_id", clone_id)
        return self._db.one("SELECT 1 FROM clones WHERE id = ?", (cid,)) is not None

    def find(self, where: CloneFilter | None = None, limit: int = 1000) -> list[CloneInfo]:
        """Clones matching every given field of `where`, by id."""
        where = where or CloneFilter()
        limit = check.count("limit", limit, 0, MAX_LIST)
        conds: list[str] = []
        params: list[Any] = []
        if where.world is not None:
            conds.append("c.world = ?")
            params.append(check.text("world", where.world))
        if where.alive is not None:
            conds.append("c.alive = ?")
            params.append(bool(where.alive))
        if where.owner_id is not None:
            conds.append("c.owner_id = ?")
            params.append(check.int64("owner_id", where.owner_id))
        if where.ship_id is not None:
            conds.append("c.ship_id = ?")
            params.append(check.int64("ship_id", where.ship_id))
        if where.ids:
            ids = [check.int64("ids", i) for i in where.ids]
            conds.append(f"c.id IN ({', '.join('?' * len(ids))})")
            params.extend(ids)
        sql = (
            "SELECT c.id, c.world, c.name, c.role, c.goal, c.ship_id, c.owner_id, c.subject_id, "
            f"{_licence_sql('c')}, c.alive, c.died_tick, c.death_cause, c.parent_id, "
            "c.generation, (SELECT COUNT(*) FROM clone_memories m WHERE m.clone_id = c.id), "
            "c.licence_home FROM clones c"
            + (" WHERE " + " AND ".join(conds) if conds else "")
            + " ORDER BY c.id LIMIT ?"
        )
        params.append(limit)
        rows = self._db.all(sql, params)
        return [
            CloneInfo(
                id=int(r[0]),
                world=r[1],
                name=r[2],
                role=r[3],
                goal=r[4],
                ship_id=None if r[5] is None else int(r[5]),
                owner_id=None if r[6] is None else int(r[6]),
                subject_id=None if r[7] is None else int(r[7]),
                licence=r[8],
                alive=bool(r[9]),
                died_tick=None if r[10] is None else int(r[10]),
                death_cause=r[11],
                parent_id=None if r[12] is None else int(r[12]),
                generation=int(r[13]),
                memories=int(r[14]),
                licence_home=r[15],
            )
            for r in rows
        ]

    def set_ship(self, clone_id: int, ship_id: int | None) -> None:
        """Move the clone aboard `ship_id` (None: ashore). NotFound for an unknown clone."""
        cid = check.int64("clone_id", clone_id)
        ship = _opt_int("ship_id", ship_id)

        def update(cur: Cursor) -> None:
            cur.execute(
                "UPDATE clones SET ship_id = ?, updated_at = ? WHERE id = ?",
                (ship, time.time(), cid),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no clone {cid}")

        self._db.write(update)

    def purge(self, clone_id: int) -> bool:
        """Delete the clone and everything of it (moderation only). True if it existed."""
        cid = check.int64("clone_id", clone_id)

        def delete(cur: Cursor) -> bool:
            cur.execute("DELETE FROM clone_memories WHERE clone_id = ?", (cid,))
            cur.execute("DELETE FROM clone_relationships WHERE clone_id = ?", (cid,))
            return cur.execute("DELETE FROM clones WHERE id = ?", (cid,)).rowcount > 0

        return self._db.write(delete)

    # -- consents ---------------------------------------------------------------------------

    def record_consent(self, subject_id: int, grantee_id: int | None = None) -> Consent:
        """Record that `subject_id` allows clones of their profile (by `grantee_id`, or
        anyone). NotFound for an unknown account."""
        subject = check.int64("subject_id", subject_id, 1)
        grantee = _opt_int("grantee_id", grantee_id, 1)
        now = time.time()

        def insert(cur: Cursor) -> Consent:
            for who in (subject, grantee):
                if (
                    who is not None
                    and cur.execute("SELECT 1 FROM accounts WHERE id = ?", (who,)).one() is None
                ):
                    raise NotFound(f"no account {who}")
            row = cur.execute(
                "INSERT INTO clone_consents (subject_id, grantee_id, granted_at) "
                f"VALUES (?, ?, ?) RETURNING {_CONSENT_COLUMNS}",
                (subject, grantee, now),
            ).one()
            assert row is not None
            return _consent(row)

        return self._db.write(insert)

    def revoke_consent(self, subject_id: int, consent_id: int, by: int | None = None) -> bool:
        """Revoke one of the subject's consents; False if it is not theirs or already revoked.
        The clones licensed by it read as unlicensed from then on. Recorded in world_audit
        (`clone_consent_revoked`, by the account `by`; None: the server's operator)."""
        subject = check.int64("subject_id", subject_id)
        cid = check.int64("consent_id", consent_id)
        who = _opt_int("by", by)

        def revoke(cur: Cursor) -> bool:
            done = (
                cur.execute(
                    "UPDATE clone_consents SET revoked_at = ? "
                    "WHERE id = ? AND subject_id = ? AND revoked_at IS NULL",
                    (time.time(), cid, subject),
                ).rowcount
                > 0
            )
            if done:
                _refresh_licences(cur, "subject_id = ? AND licence_home IS NULL", (subject,))
                insert_audit(cur, who, "clone_consent_revoked", str(subject), {"consent": cid})
            return done

        return self._db.write(revoke)

    def active_consent(self, subject_id: int, grantee_id: int | None) -> Consent | None:
        """The newest unrevoked consent of `subject_id` that covers `grantee_id`, or None."""
        subject = check.int64("subject_id", subject_id)
        grantee = _opt_int("grantee_id", grantee_id)
        return self._db.one(
            f"SELECT {_CONSENT_COLUMNS} FROM clone_consents WHERE subject_id = ? "
            "AND revoked_at IS NULL AND (grantee_id IS NULL OR grantee_id = ?) "
            "ORDER BY id DESC LIMIT 1",
            (subject, grantee),
            map=_consent,
        )

    def list_consents(self, subject_id: int) -> list[Consent]:
        """Every consent the subject ever recorded, oldest first."""
        subject = check.int64("subject_id", subject_id)
        return self._db.all(
            f"SELECT {_CONSENT_COLUMNS} FROM clone_consents WHERE subject_id = ? ORDER BY id",
            (subject,),
            map=_consent,
        )

    # -- keys -------------------------------------------------------------------------------

    def world_key(self, world: str, create_pem: str | None = None) -> str | None:
        """The world's signing key (PEM). With `create_pem`, store it if the world has none
        yet (the first stored key wins) and return the stored one."""
        world = check.text("world", world)
        pem = None if create_pem is None else check.text("create_pem", create_pem, 10_000)

        def run(cur: Cursor) -> str | None:
            if pem is not None:
                cur.execute(
                    "INSERT INTO world_keys (world, private_pem, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (world) DO NOTHING",
                    (world, pem, time.time()),
                )
            row = cur.execute("SELECT private_pem FROM world_keys WHERE world = ?", (world,)).one()
            return None if row is None else str(row[0])

        return self._db.write(run) if pem is not None else self._db.read(run)

    def signing_keys(self) -> list[tuple[str, str]]:
        """Every world's signing key as (world, PEM): together, this server's own keys."""
        return self._db.all(
            "SELECT world, private_pem FROM world_keys ORDER BY world",
            map=lambda r: (str(r[0]), str(r[1])),
        )

    def trust_key(
        self, world: str, public_key: bytes, label: str, actor: int | None = None
    ) -> None:
        """Accept clone files and licence proofs signed by `public_key` in `world` (upsert of
        the label), recorded in world_audit (`clone_key_trusted`, by `actor`; None: the
        server's operator)."""
        world = check.text("world", world)
        key = _opt_key("public_key", public_key)
        if key is None:
            raise ValueError("public_key must be 32 bytes (Ed25519)")
        label = check.clean("label", str(label))[:200]
        who = _opt_int("actor", actor)

        def run(cur: Cursor) -> None:
            cur.execute(
                "INSERT INTO trusted_keys (world, public_key, label, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (world, public_key) DO UPDATE SET label = excluded.label",
                (world, key, label, time.time()),
            )
            _refresh_licences(cur, "world = ? AND licence_key = ?", (world, key))
            insert_audit(cur, who, "clone_key_trusted", world, {"key": key.hex(), "label": label})

        self._db.write(run)

    def untrust_key(self, world: str, public_key: bytes, actor: int | None = None) -> bool:
        """Stop trusting `public_key` in `world` (audited as `clone_key_untrusted`); False if it
        was not trusted. Clones licensed by its proofs read as unlicensed from then on."""
        world = check.text("world", world)
        key = _opt_key("public_key", public_key)
        if key is None:
            raise ValueError("public_key must be 32 bytes (Ed25519)")
        who = _opt_int("actor", actor)

        def run(cur: Cursor) -> bool:
            gone = cur.execute(
                "DELETE FROM trusted_keys WHERE world = ? AND public_key = ?", (world, key)
            ).rowcount
            if not gone:
                return False
            _refresh_licences(cur, "world = ? AND licence_key = ?", (world, key))
            insert_audit(cur, who, "clone_key_untrusted", world, {"key": key.hex()})
            return True

        return self._db.write(run)

    def trusted_keys(self, world: str) -> list[TrustedKey]:
        """The world's trusted keys, oldest first."""
        world = check.text("world", world)
        return self._db.all(
            "SELECT world, public_key, label, added_at FROM trusted_keys WHERE world = ? "
            "ORDER BY added_at, public_key",
            (world,),
            map=lambda r: TrustedKey(r[0], bytes(r[1]), r[2], float(r[3])),
        )
