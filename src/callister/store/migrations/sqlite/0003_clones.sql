-- Clones schema (SQLite). Its twin is ../postgresql/0003_clones.sql: same tables, columns, keys
-- and constraints; only type names differ. Change both together.
--
-- A clone (docs/agents.md) is one row of `clones` (indexed facts + a JSON document with the
-- rest), its memory stream (`clone_memories`, one row per memory, embeddings as raw float32) and
-- its relationships. Every world-data table has a `world` column so a world can be deleted by
-- key. Dead clones stay: they are archives. Consents are a person's (an account's), not a
-- world's; signing keys are per world; trusted keys per world.

CREATE TABLE clone_consents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    grantee_id  INTEGER REFERENCES accounts (id) ON DELETE CASCADE,  -- NULL: anyone
    granted_at  REAL    NOT NULL,
    revoked_at  REAL
) STRICT;
CREATE INDEX clone_consents_subject ON clone_consents (subject_id);

CREATE TABLE clones (
    id            INTEGER PRIMARY KEY,              -- random in [2^61, 2^62), never reused
    world         TEXT    NOT NULL,                 -- where it lives now
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('pilot', 'gunner', 'engineer', 'miner')),
    goal          TEXT    NOT NULL CHECK (goal IN ('crew', 'trader', 'miner', 'pirate', 'patrol')),
    ship_id       INTEGER,                          -- the ship it is aboard, if any
    owner_id      INTEGER,                          -- the account that owns it (no FK: archives
    subject_id    INTEGER,                          -- outlive accounts); whose profile it is
    consent_id    TEXT,                             -- the consent record it runs under (may be
                                                    -- another world's, so no FK)
    licence       TEXT    NOT NULL CHECK (licence IN ('generated', 'licensed', 'unlicensed')),
    parent_id     INTEGER,                          -- no FK: the parent may live in another world
    fork_tick     INTEGER,
    generation    INTEGER NOT NULL DEFAULT 0,
    origin_world  TEXT    NOT NULL,
    born_tick     INTEGER NOT NULL,
    alive         INTEGER NOT NULL CHECK (alive IN (0, 1)),
    died_tick     INTEGER,
    death_cause   TEXT    NOT NULL DEFAULT '',
    doc           TEXT    NOT NULL,                 -- JSON: the rest of Clone.to_dict()
    next_memory   INTEGER NOT NULL,                 -- memory sequence counter
    updated_at    REAL    NOT NULL
) STRICT;
CREATE INDEX clones_world ON clones (world, alive);
CREATE INDEX clones_owner ON clones (owner_id);
CREATE INDEX clones_ship ON clones (ship_id);

CREATE TABLE clone_memories (
    world       TEXT    NOT NULL,
    clone_id    INTEGER NOT NULL REFERENCES clones (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    tick        INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('observation', 'reflection', 'summary', 'dialogue')),
    importance  REAL    NOT NULL CHECK (importance BETWEEN 1 AND 10),
    event       TEXT    NOT NULL,
    entities    TEXT    NOT NULL,                   -- JSON list of ids
    text        TEXT    NOT NULL,
    embedding   BLOB    NOT NULL,                   -- 256 x float32 little-endian (1024 bytes)
    last_access INTEGER NOT NULL,
    PRIMARY KEY (clone_id, seq)
) STRICT;
CREATE INDEX clone_memories_world ON clone_memories (world);

CREATE TABLE clone_relationships (
    world     TEXT    NOT NULL,
    clone_id  INTEGER NOT NULL REFERENCES clones (id) ON DELETE CASCADE,
    entity    INTEGER NOT NULL,                     -- actor id (account or clone)
    name      TEXT    NOT NULL,
    trust     REAL    NOT NULL,
    affinity  REAL    NOT NULL,
    hostile   INTEGER NOT NULL CHECK (hostile IN (0, 1)),
    attacks   INTEGER NOT NULL,
    helps     INTEGER NOT NULL,
    last_tick INTEGER NOT NULL,
    PRIMARY KEY (clone_id, entity)
) STRICT;
CREATE INDEX clone_relationships_world ON clone_relationships (world);

CREATE TABLE world_keys (                           -- signing keys for clone files
    world       TEXT    PRIMARY KEY,
    private_pem TEXT    NOT NULL,
    created_at  REAL    NOT NULL
) STRICT;

CREATE TABLE trusted_keys (                         -- other worlds whose clone files we accept
    world       TEXT    NOT NULL,
    public_key  BLOB    NOT NULL,                   -- 32 bytes
    label       TEXT    NOT NULL,
    added_at    REAL    NOT NULL,
    PRIMARY KEY (world, public_key)
) STRICT;
