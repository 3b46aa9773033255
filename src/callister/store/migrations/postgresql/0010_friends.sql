-- Friends together (issue 16), PostgreSQL. Its twin is ../sqlite/0010_friends.sql: same tables,
-- columns, keys and constraints; only type names differ. Change both together.

-- Where a new player's character will start in a world, chosen at registration (one of the
-- offered home systems) or given by a friend's invite (the friend's home station). Read once,
-- when the character is first made on the player's first `hello`.
CREATE TABLE starts (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT   NOT NULL,
    system_x   BIGINT NOT NULL,
    system_y   BIGINT NOT NULL,
    station    BIGINT NOT NULL CHECK (station >= 0),
    invited_by BIGINT,  -- the friend whose invite placed them (NULL: chosen at registration)
    created_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, world)
);

-- Invite links: only the SHA-256 of the code is stored (like session tokens), so a leaked
-- database holds no usable codes. A code is good until expires_at for max_uses registrations.
CREATE TABLE invites (
    code_hash  TEXT   PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT   NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    uses       BIGINT NOT NULL DEFAULT 0 CHECK (uses >= 0),
    max_uses   BIGINT NOT NULL CHECK (max_uses >= 1)
);
CREATE INDEX invites_account ON invites (account_id, world);

-- Parties (groups of players). A party lives while it has two or more members.
CREATE TABLE parties (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    world      TEXT   NOT NULL,
    leader     BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL
);

-- One party per player per world: the primary key is what refuses joining a second one.
CREATE TABLE party_members (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT   NOT NULL,
    party_id   BIGINT NOT NULL,
    joined_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account_id, world)
);
CREATE INDEX party_members_party ON party_members (party_id);
