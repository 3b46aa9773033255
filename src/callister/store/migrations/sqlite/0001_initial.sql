-- Initial schema (SQLite). Its twin is ../postgresql/0001_initial.sql: same tables, columns,
-- keys and constraints; only type names differ. Change both together.
--
-- STRICT tables so a wrongly typed value is an error, not a silent coercion. INTEGER is signed
-- 64-bit, REAL is an IEEE double (floats round-trip exactly). JSON is kept as TEXT so it comes
-- back byte-for-byte as written on both backends. Every table holding world data has a `world`
-- column, so a whole world can later be deleted by key.

-- AUTOINCREMENT: a deleted account's id is never handed out again (ids appear in logs, ledgers,
-- reports). name_key is the NFKC-casefolded name, computed by the store, unique.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('player', 'moderator', 'admin')),
    banned        INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0, 1)),
    created_at    REAL    NOT NULL
) STRICT;

-- token_hash: SHA-256 hex of the session token; the token itself is never stored.
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at REAL    NOT NULL,
    expires_at REAL    NOT NULL
) STRICT;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Persisted id counters; reserve_ids advances 'entity' in blocks. next_id is the next unused id.
CREATE TABLE id_counters (
    name    TEXT    PRIMARY KEY,
    next_id INTEGER NOT NULL CHECK (next_id >= 1)
) STRICT;
INSERT INTO id_counters (name, next_id) VALUES ('entity', 1);

-- One character per account per world.
CREATE TABLE characters (
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world        TEXT    NOT NULL,
    ship_id      INTEGER NOT NULL,
    hull         TEXT    NOT NULL,
    system_x     INTEGER NOT NULL,
    system_y     INTEGER NOT NULL,
    x            REAL    NOT NULL,
    y            REAL    NOT NULL,
    vx           REAL    NOT NULL,
    vy           REAL    NOT NULL,
    angle        REAL    NOT NULL,
    docked_at    INTEGER CHECK (docked_at >= 0),
    home_x       INTEGER NOT NULL,
    home_y       INTEGER NOT NULL,
    home_station INTEGER NOT NULL CHECK (home_station >= 0),
    extra        TEXT    NOT NULL,
    updated_at   REAL    NOT NULL,
    PRIMARY KEY (account_id, world)
) STRICT;
CREATE INDEX characters_system ON characters (world, system_x, system_y);

-- Player-made changes over the generated universe: one JSON value per (system, key).
CREATE TABLE deltas (
    world      TEXT    NOT NULL,
    system_x   INTEGER NOT NULL,
    system_y   INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at REAL    NOT NULL,
    PRIMARY KEY (world, system_x, system_y, key)
) STRICT;

-- Systems each player has seen, for their galaxy map.
CREATE TABLE discoveries (
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world         TEXT    NOT NULL,
    system_x      INTEGER NOT NULL,
    system_y      INTEGER NOT NULL,
    discovered_at REAL    NOT NULL,
    PRIMARY KEY (account_id, world, system_x, system_y)
) STRICT;
CREATE INDEX discoveries_world ON discoveries (world);
CREATE INDEX discoveries_order ON discoveries (account_id, world, discovered_at);

-- Small server metadata (world seed, last checkpoint tick ...).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
