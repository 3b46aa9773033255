-- Initial schema (PostgreSQL). Its twin is ../sqlite/0001_initial.sql: same tables, columns,
-- keys and constraints; only type names differ. Change both together.
--
-- BIGINT is signed 64-bit, DOUBLE PRECISION an IEEE double (floats round-trip exactly). JSON is
-- kept as TEXT, not jsonb, so it comes back byte-for-byte as written and behaves exactly as on
-- SQLite (jsonb would reorder keys and refuse "\u0000"). Every table holding world data has a
-- `world` column, so a whole world can later be deleted by key. No schema-qualified names: the
-- store's search_path decides where tables live.

-- IDENTITY: a deleted account's id is never handed out again (sequences do not go back).
-- name_key is the NFKC-casefolded name, computed by the store, unique.
CREATE TABLE accounts (
    id            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT    NOT NULL,
    name_key      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('player', 'moderator', 'admin')),
    banned        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    DOUBLE PRECISION NOT NULL
);

-- token_hash: SHA-256 hex of the session token; the token itself is never stored.
CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Persisted id counters; reserve_ids advances 'entity' in blocks. next_id is the next unused id.
CREATE TABLE id_counters (
    name    TEXT   PRIMARY KEY,
    next_id BIGINT NOT NULL CHECK (next_id >= 1)
);
INSERT INTO id_counters (name, next_id) VALUES ('entity', 1);

-- One character per account per world.
CREATE TABLE characters (
    account_id   BIGINT  NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world        TEXT    NOT NULL,
    ship_id      BIGINT  NOT NULL,
    hull         TEXT    NOT NULL,
    system_x     BIGINT  NOT NULL,
    system_y     BIGINT  NOT NULL,
    x            DOUBLE PRECISION NOT NULL,
    y            DOUBLE PRECISION NOT NULL,
    vx           DOUBLE PRECISION NOT NULL,
    vy           DOUBLE PRECISION NOT NULL,
    angle        DOUBLE PRECISION NOT NULL,
    docked_at    BIGINT  CHECK (docked_at >= 0),
    home_x       BIGINT  NOT NULL,
    home_y       BIGINT  NOT NULL,
    home_station BIGINT  NOT NULL CHECK (home_station >= 0),
    extra        TEXT    NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, world)
);
CREATE INDEX characters_system ON characters (world, system_x, system_y);

-- Player-made changes over the generated universe: one JSON value per (system, key).
CREATE TABLE deltas (
    world      TEXT   NOT NULL,
    system_x   BIGINT NOT NULL,
    system_y   BIGINT NOT NULL,
    key        TEXT   NOT NULL,
    value      TEXT   NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (world, system_x, system_y, key)
);

-- Systems each player has seen, for their galaxy map.
CREATE TABLE discoveries (
    account_id    BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world         TEXT   NOT NULL,
    system_x      BIGINT NOT NULL,
    system_y      BIGINT NOT NULL,
    discovered_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, world, system_x, system_y)
);
CREATE INDEX discoveries_world ON discoveries (world);
CREATE INDEX discoveries_order ON discoveries (account_id, world, discovered_at);

-- Small server metadata (world seed, last checkpoint tick ...).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
