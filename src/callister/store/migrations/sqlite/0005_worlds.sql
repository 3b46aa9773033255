-- Worlds schema (SQLite). Its twin is ../postgresql/0005_worlds.sql: same tables, columns, keys
-- and constraints; only type names differ. Change both together.
--
-- Every table holding data of one world has a `world` column (deleting a world deletes every
-- row of every table with that column). world_audit deliberately has none: the audit record of
-- a world's creation, moves, deletion and approvals outlives the world.

-- The registry of worlds. rules: JSON (pvp, damage/fuel/price/yield multipliers, ...).
-- owner: the account that owns a private world (NULL: the server). state 'deleting': a
-- deletion job runs; nobody may enter.
CREATE TABLE worlds (
    world        TEXT    PRIMARY KEY,
    seed         INTEGER NOT NULL,
    owner        INTEGER,
    visibility   TEXT    NOT NULL CHECK (visibility IN ('public', 'private', 'invite')),
    player_limit INTEGER NOT NULL CHECK (player_limit >= 0),
    rules        TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('live', 'deleting')),
    created_at   REAL    NOT NULL
) STRICT;

-- Who may enter a non-public world: invited (may join) or member (joined).
CREATE TABLE world_members (
    world      TEXT    NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL CHECK (status IN ('invited', 'member')),
    invited_by INTEGER,
    at         REAL    NOT NULL,
    PRIMARY KEY (world, account_id)
) STRICT;

-- An account's home world (where it lands when the world it is in is deleted). No row: the
-- public world.
CREATE TABLE world_homes (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT    NOT NULL
) STRICT;
CREATE INDEX world_homes_world ON world_homes (world);

-- Deletion jobs (the kill switch). state: 'approval' (waiting for a second administrator until
-- approve_by), 'countdown' (players warned; ends at ends_at), 'deleting' (batches run; resumed
-- after a restart). approvals: JSON list of {"by", "at"}. progress: JSON {table: rows deleted}.
CREATE TABLE world_jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    world        TEXT    NOT NULL UNIQUE,
    state        TEXT    NOT NULL CHECK (state IN ('approval', 'countdown', 'deleting')),
    requested_by INTEGER NOT NULL,
    requested_at REAL    NOT NULL,
    approvals    TEXT    NOT NULL,
    approve_by   REAL,
    countdown_s  INTEGER NOT NULL CHECK (countdown_s >= 0),
    ends_at      REAL,
    override     INTEGER NOT NULL CHECK (override IN (0, 1)),
    progress     TEXT    NOT NULL,
    audit_id     INTEGER NOT NULL
) STRICT;

-- The audit log of world administration: who (actor), when (at), what (action, subject: the
-- world's or account's name), and the details (JSON: approvals, rows deleted per table, the
-- closed-out ledger). Kept for ever; no `world` column on purpose.
CREATE TABLE world_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL    NOT NULL,
    actor   INTEGER,
    action  TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    detail  TEXT    NOT NULL
) STRICT;
