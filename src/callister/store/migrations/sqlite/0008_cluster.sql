-- Cluster schema (SQLite). Its twin is ../postgresql/0008_cluster.sql: same tables, columns,
-- keys and rules; only type names and the trigger syntax differ. Change both together.
--
-- Zone ownership is a lease in NATS (cluster/leases.py); its fencing token (the lease's KV
-- revision, which only grows) is stored here per zone, and every write of a zone's state
-- carries the writer's token. The database refuses a write whose token is lower than the
-- zone's. SQLite serialises writers (BEGIN IMMEDIATE), so the triggers need no row locks.
-- Idempotent (IF NOT EXISTS) on purpose: before this was an ordinary migration, a cluster
-- worker created these tables itself (the former fencing.ensure_schema, from the same text) in
-- databases the runner had taken to version 7; those upgrade by running it again.

-- The highest token seen per zone, and its owner; raised by a conditional upsert, never lowered.
CREATE TABLE IF NOT EXISTS cluster_fences (
    zone       TEXT    PRIMARY KEY,
    world      TEXT    NOT NULL,
    token      INTEGER NOT NULL CHECK (token > 0),
    owner      TEXT    NOT NULL,
    updated_at REAL    NOT NULL
) STRICT;

-- A zone's last checkpoint: the tick and whatever zone-level state the worker keeps (JSON).
CREATE TABLE IF NOT EXISTS cluster_checkpoints (
    zone       TEXT    PRIMARY KEY REFERENCES cluster_fences (zone),
    world      TEXT    NOT NULL,
    token      INTEGER NOT NULL,
    tick       INTEGER NOT NULL,
    payload    TEXT    NOT NULL,
    updated_at REAL    NOT NULL
) STRICT;

-- Where each ship is, and its checkpointed state (codec tagged JSON of a ShipState).
-- arrived = seq: the ship is in `zone`; arrived = seq - 1: in transit to `zone`.
CREATE TABLE IF NOT EXISTS cluster_ships (
    ship_id    INTEGER PRIMARY KEY,
    world      TEXT    NOT NULL,
    zone       TEXT    NOT NULL,
    seq        INTEGER NOT NULL DEFAULT 0,
    arrived    INTEGER NOT NULL DEFAULT 0,
    state      TEXT    NOT NULL,
    token      INTEGER NOT NULL,
    updated_at REAL    NOT NULL,
    CHECK (arrived >= 0 AND arrived <= seq AND seq <= arrived + 1)
) STRICT;
CREATE INDEX IF NOT EXISTS cluster_ships_zone ON cluster_ships (zone);

-- Jump hand-offs between workers, written in the same transaction as the departure.
CREATE TABLE IF NOT EXISTS cluster_outbox (
    msg_id       TEXT    PRIMARY KEY,
    world        TEXT    NOT NULL,
    ship_id      INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    from_zone    TEXT    NOT NULL,
    to_zone      TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    created_at   REAL    NOT NULL,
    published_at REAL,
    delivered_at REAL,
    UNIQUE (ship_id, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS cluster_outbox_pending ON cluster_outbox (created_at) WHERE delivered_at IS NULL;

-- The fence: an insert is checked against its zone, an update against the zone the row was in.
CREATE TRIGGER IF NOT EXISTS cluster_ships_fence_insert BEFORE INSERT ON cluster_ships
WHEN NEW.token < COALESCE(
    (SELECT token FROM cluster_fences WHERE zone = NEW.zone), 9223372036854775807)
BEGIN
    SELECT RAISE(ABORT, 'callister fenced');
END;
CREATE TRIGGER IF NOT EXISTS cluster_ships_fence_update BEFORE UPDATE ON cluster_ships
WHEN NEW.token < COALESCE(
    (SELECT token FROM cluster_fences WHERE zone = OLD.zone), 9223372036854775807)
BEGIN
    SELECT RAISE(ABORT, 'callister fenced');
END;
CREATE TRIGGER IF NOT EXISTS cluster_checkpoints_fence_insert BEFORE INSERT ON cluster_checkpoints
WHEN NEW.token < COALESCE(
    (SELECT token FROM cluster_fences WHERE zone = NEW.zone), 9223372036854775807)
BEGIN
    SELECT RAISE(ABORT, 'callister fenced');
END;
CREATE TRIGGER IF NOT EXISTS cluster_checkpoints_fence_update BEFORE UPDATE ON cluster_checkpoints
WHEN NEW.token < COALESCE(
    (SELECT token FROM cluster_fences WHERE zone = OLD.zone), 9223372036854775807)
BEGIN
    SELECT RAISE(ABORT, 'callister fenced');
END;
