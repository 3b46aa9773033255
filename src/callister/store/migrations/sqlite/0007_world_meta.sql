-- World-scoped metadata, and the audit log by subject (SQLite). Its twin is
-- ../postgresql/0007_world_meta.sql: same tables, columns, keys, index and data migration; only
-- the string functions differ. Change both together.
--
-- `meta` gets a `world` column like every other table holding a world's data, so a world's
-- keys are found by equality (`world = ?`), never by a pattern. Before, they were stored as
-- "world.<name>.<key>" and deleted with LIKE 'world.<name>.%'; '_' is legal in world names
-- and a LIKE wildcard, so deleting world kw_1 also deleted the keys of kw-1 and kwz1.
-- world = '' holds the server-wide keys ('' is never a world name). Existing rows
-- "world.<name>.<key>" become (<name>, <key>); world names hold no '.', so the split is exact.
-- SQLite cannot change a primary key in place: build the new table, copy, swap.

CREATE TABLE meta_by_world (
    world TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (world, key)
) STRICT;

INSERT INTO meta_by_world (world, key, value)
SELECT CASE WHEN dot > 1 AND dot < length(rest) THEN substr(rest, 1, dot - 1) ELSE '' END,
       CASE WHEN dot > 1 AND dot < length(rest) THEN substr(rest, dot + 1) ELSE key END,
       value
FROM (
    SELECT key, value, rest, instr(rest, '.') AS dot
    FROM (
        SELECT key, value,
               CASE WHEN substr(key, 1, 6) = 'world.' THEN substr(key, 7) ELSE '' END AS rest
        FROM meta
    ) AS split_prefix
) AS split_name;

DROP TABLE meta;
ALTER TABLE meta_by_world RENAME TO meta;

-- The audit log by subject (a world's or an account's records): the deletion job looks up the
-- steps it already did (who stayed, the closed ledger, its runs) when it resumes, and
-- list_world_audit(subject) reads one subject's history.
CREATE INDEX world_audit_subject ON world_audit (subject, id);
