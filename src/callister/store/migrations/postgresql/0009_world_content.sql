-- A world's own content and generator parameters (postgresql). Its twin is
-- ../sqlite/0009_world_content.sql: same tables, columns, keys and constraints; only type
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
    version      BIGINT NOT NULL CHECK (version >= 1),
    pack         TEXT,
    name         TEXT,
    pack_version TEXT,
    digest       TEXT,
    bytes        BIGINT NOT NULL CHECK (bytes >= 0 AND bytes <= 1048576),
    set_by       BIGINT,
    set_at       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (world, version)
);

-- worlds.params: the world's generator parameters (callister.universe.GeneratorParams as
-- canonical JSON; '{}' the defaults). With the seed they are the world's map: never changed
-- after creation (new parameters apply to a fork).
ALTER TABLE worlds ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
