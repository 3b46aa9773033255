"""`CharacterRepository`: characters (one per account and world), entity ids, universe deltas
and discoveries.

Every method is one transaction (see `Store` for the contract every repository keeps).
`character_row` and `SAVE_CHARACTER` are also used inside other repositories' transactions
(a ledger transaction that moves the ship, a cluster worker's fenced checkpoint).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from . import _check as check
from .database import ConstraintViolation, Cursor, Database, Row
from .errors import NotFound, StoreError
from .records import MAX_ENTITY_ID, MAX_RESERVE, Character

_COLUMNS = (
    "account_id, world, ship_id, hull, system_x, system_y, x, y, vx, vy, angle, "
    "docked_at, home_x, home_y, home_station, extra, updated_at"
)
SAVE_CHARACTER = (
    f"INSERT INTO characters ({_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, world) DO UPDATE SET "
    + ", ".join(
        f"{col} = excluded.{col}"
        for col in _COLUMNS.split(", ")
        if col not in ("account_id", "world")
    )
)
_PUT_DELTA = (
    "INSERT INTO deltas (world, system_x, system_y, key, value, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (world, system_x, system_y, key) "
    "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)
_ENTITY_COUNTER = "entity"


def character_row(c: Character, now: float) -> Row:
    """The validated values of `SAVE_CHARACTER` for `c`, stamped `now` (ValueError if bad)."""
    if not isinstance(c, Character):
        raise ValueError(f"expected a Character, not {type(c).__name__}")
    docked_at = None if c.docked_at is None else check.int64("docked_at", c.docked_at, 0)
    return (
        check.int64("account_id", c.account_id),
        check.text("world", c.world),
        check.int64("ship_id", c.ship_id),
        check.text("hull", c.hull),
        check.int64("system_x", c.system_x),
        check.int64("system_y", c.system_y),
        check.finite("x", c.x),
        check.finite("y", c.y),
        check.finite("vx", c.vx),
        check.finite("vy", c.vy),
        check.finite("angle", c.angle),
        docked_at,
        check.int64("home_x", c.home_x),
        check.int64("home_y", c.home_y),
        check.int64("home_station", c.home_station, 0),
        check.to_json("extra", c.extra, object_only=True),
        now,
    )


def character_rows(characters: Sequence[Character], now: float) -> list[Row]:
    """Rows for saving several characters, all validated first, in key order: two writers
    upserting overlapping batches then lock rows in the same order and cannot deadlock
    (PostgreSQL). The sort is stable, so a later duplicate still wins."""
    rows = [character_row(c, now) for c in characters]
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


def _character(row: Row) -> Character:
    (aid, world, ship_id, hull, sx, sy, x, y, vx, vy, angle, docked, hx, hy, hs, extra, at) = row
    return Character(
        account_id=int(aid),
        world=world,
        ship_id=int(ship_id),
        hull=hull,
        system_x=int(sx),
        system_y=int(sy),
        x=float(x),
        y=float(y),
        vx=float(vx),
        vy=float(vy),
        angle=float(angle),
        docked_at=None if docked is None else int(docked),
        home_x=int(hx),
        home_y=int(hy),
        home_station=int(hs),
        extra=json.loads(extra),
        updated_at=float(at),
    )


class CharacterRepository:
    """Characters, the entity id counter, universe deltas and discoveries."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- characters -------------------------------------------------------------------------

    def save(self, c: Character) -> None:
        """Insert or replace the character of (c.account_id, c.world); stamps updated_at.

        NotFound if the account does not exist; ValueError for non-finite floats, out-of-range
        integers or an `extra` that is not a JSON object of JSON values.
        """
        self.save_many([c])

    def save_many(self, cs: Sequence[Character]) -> None:
        """`save` for each, all in one transaction: all are written or none are.

        Every character is validated before anything is written. Checkpoints use this.
        """
        rows = character_rows(cs, time.time())
        try:
            self._db.executemany(SAVE_CHARACTER, rows)
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                ids = sorted({row[0] for row in rows})
                raise NotFound(
                    f"no account for some of the characters (account ids {ids})"
                ) from exc
            raise

    def load(self, account_id: int, world: str) -> Character | None:
        """The saved character of that account in that world, or None."""
        account_id = check.int64("account_id", account_id)
        world = check.text("world", world)
        return self._one("account_id = ? AND world = ?", (account_id, world))

    def by_ship(self, world: str, ship_id: int) -> Character | None:
        """The saved character in `world` whose ship is `ship_id`, or None."""
        world = check.text("world", world)
        ship_id = check.int64("ship_id", ship_id)
        return self._one("world = ? AND ship_id = ?", (world, ship_id))

    def _one(self, where: str, params: tuple[Any, ...]) -> Character | None:
        """The character the condition picks (one at most: it names a key), or None."""
        return self._db.one(
            f"SELECT {_COLUMNS} FROM characters WHERE {where}", params, map=_character
        )

    def in_system(self, world: str, x: int, y: int) -> list[Character]:
        """Every saved character whose current system is (x, y) in `world`, by account id."""
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        return self._db.all(
            f"SELECT {_COLUMNS} FROM characters "
            "WHERE world = ? AND system_x = ? AND system_y = ? ORDER BY account_id",
            (world, x, y),
            map=_character,
        )

    def in_world(self, world: str) -> list[int]:
        """Account ids with a character in the world."""
        world = check.text("world", world, 64)
        return self._db.all(
            "SELECT account_id FROM characters WHERE world = ? ORDER BY account_id",
            (world,),
            map=lambda r: int(r[0]),
        )

    def worlds_of(self, account_id: int) -> list[str]:
        """The worlds the account has a character in."""
        account_id = check.int64("account_id", account_id, 1)
        return self._db.all(
            "SELECT world FROM characters WHERE account_id = ? ORDER BY world",
            (account_id,),
            map=lambda r: str(r[0]),
        )

    # -- entity ids -------------------------------------------------------------------------

    def reserve_ids(self, count: int) -> range:
        """Reserve `count` (1..1_000_000) fresh entity ids, returned as a range.

        The persisted counter advances atomically before this returns, so ids are never handed
        out twice: not to concurrent callers, not to other processes sharing the database, not
        after a restart. Ids start at 1. Ids of a block the caller never uses are simply skipped.
        Ids never exceed MAX_ENTITY_ID (2**53 - 1): past it, StoreError "exhausted".
        """
        count = check.count("count", count, 1, MAX_RESERVE)

        def advance(cur: Cursor) -> int:
            # One UPDATE ... RETURNING: the row lock (PostgreSQL) or the write lock taken by
            # BEGIN IMMEDIATE (SQLite) makes read-and-advance atomic across connections and
            # processes. The guard keeps every id at or below MAX_ENTITY_ID, so clients read it
            # exactly as a JSON number (and far inside int64, which SQLite would silently turn
            # into a float on overflow).
            row = cur.execute(
                "UPDATE id_counters SET next_id = next_id + ? WHERE name = ? AND next_id <= ? "
                "RETURNING next_id",
                (count, _ENTITY_COUNTER, MAX_ENTITY_ID + 1 - count),
            ).one()
            if row is None:
                exists = cur.execute(
                    "SELECT next_id FROM id_counters WHERE name = ?", (_ENTITY_COUNTER,)
                ).one()
                if exists is None:
                    raise StoreError("the entity id counter row is missing; the schema is damaged")
                raise StoreError(f"entity ids exhausted: next id {exists[0]} + {count} > 2**53")
            return int(row[0])

        end = self._db.write(advance)
        return range(end - count, end)

    # -- universe deltas --------------------------------------------------------------------

    def put_delta(self, world: str, x: int, y: int, key: str, value: Any) -> None:
        """Set one player-made change of system (x, y): `key` -> any JSON value (upsert)."""
        self.put_deltas(world, [(x, y, key, value)])

    def put_deltas(self, world: str, items: Sequence[tuple[int, int, str, Any]]) -> None:
        """put_delta for each (x, y, key, value), in one transaction: all or none.

        If a (x, y, key) appears twice, the later item wins.
        """
        world = check.text("world", world)
        now = time.time()
        rows = []
        for i, item in enumerate(items):
            if not isinstance(item, tuple | list) or len(item) != 4:
                raise ValueError(f"items[{i}] must be a tuple (x, y, key, value)")
            x, y, key, value = item
            key = check.text(f"items[{i}] key", key)
            rows.append(
                (
                    world,
                    check.int64(f"items[{i}] x", x),
                    check.int64(f"items[{i}] y", y),
                    key,
                    check.to_json(f"delta {key!r}", value),
                    now,
                )
            )
        rows.sort(key=lambda row: (row[1], row[2], row[3]))  # lock order; see character_rows
        self._db.executemany(_PUT_DELTA, rows)

    def get_deltas(self, world: str, x: int, y: int) -> dict[str, Any]:
        """Every delta of system (x, y) in `world` as {key: value}; empty if none."""
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        rows = self._db.all(
            "SELECT key, value FROM deltas WHERE world = ? AND system_x = ? AND system_y = ? "
            "ORDER BY key",
            (world, x, y),
        )
        return {key: json.loads(value) for key, value in rows}

    def delete_delta(self, world: str, x: int, y: int, key: str) -> None:
        """Remove one delta; removing an absent one is not an error."""
        world, key = check.text("world", world), check.text("key", key)
        x, y = check.int64("x", x), check.int64("y", y)
        self._db.execute(
            "DELETE FROM deltas WHERE world = ? AND system_x = ? AND system_y = ? AND key = ?",
            (world, x, y, key),
        )

    # -- discoveries ------------------------------------------------------------------------

    def add_discovery(self, account_id: int, world: str, x: int, y: int, at: float) -> bool:
        """Record that the account has seen system (x, y). True if new; a repeat changes
        nothing (the first discovery time is kept). NotFound for an unknown account.
        """
        account_id = check.int64("account_id", account_id)
        world = check.text("world", world)
        x, y = check.int64("x", x), check.int64("y", y)
        at = check.finite("at", at)
        try:
            inserted = self._db.execute(
                "INSERT INTO discoveries (account_id, world, system_x, system_y, "
                "discovered_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (account_id, world, system_x, system_y) DO NOTHING",
                (account_id, world, x, y, at),
            )
        except ConstraintViolation as exc:
            if exc.kind == "foreign_key":
                raise NotFound(f"no account with id {account_id}") from exc
            raise
        return inserted == 1

    def list_discoveries(
        self, account_id: int, world: str, limit: int = 10_000
    ) -> list[tuple[int, int]]:
        """The account's discovered systems in `world`, oldest first, at most `limit`."""
        account_id = check.int64("account_id", account_id)
        world = check.text("world", world)
        limit = check.count("limit", limit, 0, 10_000_000)
        return self._db.all(
            "SELECT system_x, system_y FROM discoveries WHERE account_id = ? AND world = ? "
            "ORDER BY discovered_at, system_x, system_y LIMIT ?",
            (account_id, world, limit),
            map=lambda r: (int(r[0]), int(r[1])),
        )
