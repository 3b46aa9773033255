-- Missions (PostgreSQL): one progress document per character (issue 16; docs/missions.md). Its
-- twin is ../sqlite/0009_missions.sql: same table, columns and keys. Change both together.
--
-- `doc` is `missions.Progress.to_dict()` as JSON text (tutorial, mission log, reputation, the
-- patrol fund's last payment), versioned inside: the server reads it with Progress.from_dict.
-- A row per (account, world) like `characters`, with a `world` column so a world's deletion
-- and forks find it; it goes with the account (ON DELETE CASCADE).
CREATE TABLE mission_progress (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT   NOT NULL,
    doc        TEXT   NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, world)
);
