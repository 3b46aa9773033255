-- Cluster schema (PostgreSQL). Its twin is ../sqlite/0008_cluster.sql: same tables, columns,
-- keys and rules; only type names and the trigger syntax differ. Change both together.
--
-- Zone ownership is a lease in NATS (cluster/leases.py); its fencing token (the lease's KV
-- revision, which only grows) is stored here per zone, and every write of a zone's state
-- carries the writer's token. The database refuses a write whose token is lower than the
-- zone's: a worker that lost its lease cannot overwrite the new owner's state, whatever it
-- believes. Zone keys are "<world>.<x>.<y>"; every table also has a `world` column.
--
-- Idempotent (IF NOT EXISTS / OR REPLACE) on purpose: before this was an ordinary migration, a
-- cluster worker created these tables itself (the former fencing.ensure_schema, from the same
-- text) in databases the runner had taken to version 7; those upgrade by running it again.
-- Needs PostgreSQL >= 14 (CREATE OR REPLACE TRIGGER; pg_current_xact_id() is 13+).

-- The highest token seen per zone, and its owner. Raised by claim/checkpoint with a conditional
-- upsert (... DO UPDATE ... WHERE token < new OR (token = new AND owner = new owner)), never
-- lowered.
CREATE TABLE IF NOT EXISTS cluster_fences (
    zone       TEXT   PRIMARY KEY,
    world      TEXT   NOT NULL,
    token      BIGINT NOT NULL CHECK (token > 0),
    owner      TEXT   NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- A zone's last checkpoint: the tick and whatever zone-level state the worker keeps (JSON).
CREATE TABLE IF NOT EXISTS cluster_checkpoints (
    zone       TEXT   PRIMARY KEY REFERENCES cluster_fences (zone),
    world      TEXT   NOT NULL,
    token      BIGINT NOT NULL,
    tick       BIGINT NOT NULL,
    payload    TEXT   NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- Where each ship is, and its checkpointed state (codec tagged JSON of a ShipState).
-- seq counts the ship's hand-offs begun, arrived the ones completed: arrived = seq means the
-- ship is in `zone`; arrived = seq - 1 means it is in transit to `zone` (an outbox row exists).
CREATE TABLE IF NOT EXISTS cluster_ships (
    ship_id    BIGINT PRIMARY KEY,
    world      TEXT   NOT NULL,
    zone       TEXT   NOT NULL,
    seq        BIGINT NOT NULL DEFAULT 0,
    arrived    BIGINT NOT NULL DEFAULT 0,
    state      TEXT   NOT NULL,
    token      BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    CHECK (arrived >= 0 AND arrived <= seq AND seq <= arrived + 1)
);
CREATE INDEX IF NOT EXISTS cluster_ships_zone ON cluster_ships (zone);

-- Jump hand-offs between workers, written in the same transaction as the departure. msg_id
-- (ship id + seq) is the JetStream Nats-Msg-Id, so a republish is deduplicated by the server;
-- delivered_at is set in the arrival transaction. The relay republishes rows still undelivered.
CREATE TABLE IF NOT EXISTS cluster_outbox (
    msg_id       TEXT   PRIMARY KEY,
    world        TEXT   NOT NULL,
    ship_id      BIGINT NOT NULL,
    seq          BIGINT NOT NULL,
    from_zone    TEXT   NOT NULL,
    to_zone      TEXT   NOT NULL,
    payload      TEXT   NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    published_at DOUBLE PRECISION,
    delivered_at DOUBLE PRECISION,
    UNIQUE (ship_id, seq)
);
CREATE INDEX IF NOT EXISTS cluster_outbox_pending ON cluster_outbox (created_at) WHERE delivered_at IS NULL;

-- The fence, enforced by the database for every row of zone state: an insert is checked
-- against its zone, an update against the zone the row was in (a departing ship is written by
-- the owner of the zone it leaves). FOR SHARE takes the fence row's lock, so a claim by a new
-- owner waits for writes in flight and every write after the claim sees the new token. When
-- this transaction itself wrote the fence row (the usual case: ClusterRepository.fenced()
-- raises it first), it already holds the row's lock and the plain read is enough; that skips a
-- lock per row (1000 ships: ~5x faster).
CREATE OR REPLACE FUNCTION cluster_fence_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    fence_zone  TEXT;
    fence_token BIGINT;
    ours        BOOLEAN;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        fence_zone := OLD.zone;
    ELSE
        fence_zone := NEW.zone;
    END IF;
    SELECT token, xmin = pg_current_xact_id()::xid INTO fence_token, ours
        FROM cluster_fences WHERE zone = fence_zone;
    IF NOT COALESCE(ours, FALSE) THEN
        SELECT token INTO fence_token FROM cluster_fences WHERE zone = fence_zone FOR SHARE;
    END IF;
    IF fence_token IS NULL OR NEW.token < fence_token THEN
        RAISE EXCEPTION 'callister fenced: zone % token % is below %',
            fence_zone, NEW.token, fence_token
            USING ERRCODE = 'CL409';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER cluster_ships_fence BEFORE INSERT OR UPDATE ON cluster_ships
    FOR EACH ROW EXECUTE FUNCTION cluster_fence_check();
CREATE OR REPLACE TRIGGER cluster_checkpoints_fence BEFORE INSERT OR UPDATE ON cluster_checkpoints
    FOR EACH ROW EXECUTE FUNCTION cluster_fence_check();
