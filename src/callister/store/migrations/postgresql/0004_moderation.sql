-- Moderation schema (PostgreSQL). Its twin is ../sqlite/0004_moderation.sql: same tables,
-- columns, keys and constraints; only type names differ. Change both together. Every table has
-- a `world` column so a world can be deleted by key. Text columns hold what players and
-- moderators typed, shown as literal text only.

-- Saved footage: zlib-compressed segments of a zone's recorded inputs and checkpoints
-- (callister.moderation.footage), at most 64 MiB per row (docs/moderation.md).
CREATE TABLE mod_footage (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world      TEXT    NOT NULL,
    zone       TEXT    NOT NULL,
    start_tick BIGINT NOT NULL,
    end_tick   BIGINT NOT NULL,
    at         DOUBLE PRECISION    NOT NULL,
    reason     TEXT    NOT NULL,
    size       BIGINT NOT NULL CHECK (size >= 0),
    data       BYTEA    NOT NULL
);
CREATE INDEX mod_footage_world ON mod_footage (world, id);

-- Player reports: the moderators' queue.
CREATE TABLE mod_reports (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world          TEXT    NOT NULL,
    reporter_id    BIGINT NOT NULL,
    target_kind    TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    target_account BIGINT,
    reason         TEXT    NOT NULL,
    text           TEXT    NOT NULL,
    at             DOUBLE PRECISION    NOT NULL,
    zone           TEXT    NOT NULL,
    tick           BIGINT NOT NULL,
    footage_id     BIGINT REFERENCES mod_footage (id) ON DELETE SET NULL,
    chat           TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('open', 'closed'))
);
CREATE INDEX mod_reports_queue ON mod_reports (world, status, id);

-- Detector flags (score 0..1 with the evidence as JSON).
CREATE TABLE mod_flags (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world      TEXT    NOT NULL,
    detector   TEXT    NOT NULL,
    account_id BIGINT NOT NULL,
    subject    TEXT    NOT NULL,
    score      DOUBLE PRECISION    NOT NULL CHECK (score >= 0 AND score <= 1),
    evidence   TEXT    NOT NULL,
    at         DOUBLE PRECISION    NOT NULL,
    status     TEXT    NOT NULL CHECK (status IN ('open', 'dismissed', 'actioned'))
);
CREATE INDEX mod_flags_queue ON mod_flags (world, status, id);
CREATE INDEX mod_flags_key ON mod_flags (world, detector, account_id, subject, status);

-- Every moderator action with its reason.
CREATE TABLE mod_audit (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world          TEXT    NOT NULL,
    moderator_id   BIGINT NOT NULL,
    action         TEXT    NOT NULL,
    target_account BIGINT,
    reason         TEXT    NOT NULL,
    at             DOUBLE PRECISION    NOT NULL,
    detail         TEXT    NOT NULL
);
CREATE INDEX mod_audit_target ON mod_audit (world, target_account, id);

-- Bans of an account or an address; until NULL = permanent; lifted once lifted.
CREATE TABLE mod_bans (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world  TEXT    NOT NULL,
    kind   TEXT    NOT NULL CHECK (kind IN ('account', 'address')),
    value  TEXT    NOT NULL,
    until  DOUBLE PRECISION,
    reason TEXT    NOT NULL,
    by_id  BIGINT NOT NULL,
    at     DOUBLE PRECISION    NOT NULL,
    lifted BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX mod_bans_value ON mod_bans (world, kind, value);

-- Accounts whose zones' footage is saved continuously.
CREATE TABLE mod_watch (
    world      TEXT    NOT NULL,
    account_id BIGINT NOT NULL,
    by_id      BIGINT NOT NULL,
    reason     TEXT    NOT NULL,
    at         DOUBLE PRECISION    NOT NULL,
    PRIMARY KEY (world, account_id)
);

-- Where and when accounts connected (links accounts sharing an address).
CREATE TABLE mod_logins (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world      TEXT    NOT NULL,
    account_id BIGINT NOT NULL,
    address    TEXT    NOT NULL,
    at         DOUBLE PRECISION    NOT NULL
);
CREATE INDEX mod_logins_account ON mod_logins (world, account_id, id);
CREATE INDEX mod_logins_address ON mod_logins (world, address);
