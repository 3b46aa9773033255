-- Worlds schema (PostgreSQL). Its twin is ../sqlite/0005_worlds.sql: same tables, columns, keys
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
    seed         BIGINT NOT NULL,
    owner        BIGINT,
    visibility   TEXT    NOT NULL CHECK (visibility IN ('public', 'private', 'invite')),
    player_limit BIGINT NOT NULL CHECK (player_limit >= 0),
    rules        TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('live', 'deleting')),
    created_at   DOUBLE PRECISION    NOT NULL
);

-- Who may enter a non-public world: invited (may join) or member (joined).
CREATE TABLE world_members (
    world      TEXT    NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL CHECK (status IN ('invited', 'member')),
    invited_by BIGINT,
    at         DOUBLE PRECISION    NOT NULL,
    PRIMARY KEY (world, account_id)
);

-- An account's home world (where it lands when the world it is in is deleted). No row: the
-- public world.
CREATE TABLE world_homes (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT    NOT NULL
);
CREATE INDEX world_homes_world ON world_homes (world);

-- Deletion jobs (the kill switch). state: 'approval' (waiting for a second administrator until
-- approve_by), 'countdown' (players warned; ends at ends_at), 'deleting' (batches run; resumed
-- after a restart). approvals: JSON list of {"by", "at"}. progress: JSON {table: rows deleted}.
CREATE TABLE world_jobs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world        TEXT    NOT NULL UNIQUE,
    state        TEXT    NOT NULL CHECK (state IN ('approval', 'countdown', 'deleting')),
    requested_by BIGINT NOT NULL,
    requested_at DOUBLE PRECISION    NOT NULL,
    approvals    TEXT    NOT NULL,
    approve_by   DOUBLE PRECISION,
    countdown_s  BIGINT NOT NULL CHECK (countdown_s >= 0),
    ends_at      DOUBLE PRECISION,
    override     BOOLEAN NOT NULL,
    progress     TEXT    NOT NULL,
    audit_id     BIGINT NOT NULL
);

-- The audit log of world administration: who (actor), when (at), what (action, subject: the
-- world's or account's name), and the details (JSON: approvals, rows deleted per table, the
-- closed-out ledger). Kept for ever; no `world` column on purpose.
CREATE TABLE world_audit (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      DOUBLE PRECISION    NOT NULL,
    actor   BIGINT,
    action  TEXT    NOT NULL,
    subject TEXT    NOT NULL,
    detail  TEXT    NOT NULL
);
