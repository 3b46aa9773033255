-- A world's own content and generator parameters (sqlite). Its twin is
-- ../postgresql/0009_world_content.sql: same tables, columns, keys and constraints; only type
-- names differ. Change both together.
--
-- world_content: the content pack each world carries, versioned: every `content set` adds
-- a row with the next version (the newest is the world's content; a row with pack NULL says
-- the world's pack was cleared). `pack` is the pack's stored JSON form
-- (callister.content.ContentPack.to_json: the files' text verbatim, name, version, digest);
-- the store checks only its size (`bytes`, the UTF-8 length of `pack`), the loader checks
-- its meaning before it is set. It has a `world` column like every table of a world's data:
-- the kill switch deletes it, a fork copies it.
CREATE TABLE world_content (
    world        TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    pack         TEXT,
    name         TEXT,
    pack_version TEXT,
    digest       TEXT,
    bytes        INTEGER NOT NULL CHECK (bytes >= 0 AND bytes <= 1048576),
    set_by       INTEGER,
    set_at       REAL NOT NULL,
    PRIMARY KEY (world, version)
) STRICT;

-- worlds.params: the world's generator parameters (callister.universe.GeneratorParams as
-- canonical JSON; '{}' the defaults). With the seed they are the world's map: never changed
-- after creation (new parameters apply to a fork).
ALTER TABLE worlds ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
