-- Friends together (issue 16), SQLite. Its twin is ../postgresql/0010_friends.sql: same tables,
-- columns, keys and constraints; only type names differ. Change both together.

-- Where a new player's character will start in a world, chosen at registration (one of the
-- offered home systems) or given by a friend's invite (the friend's home station). Read once,
-- when the character is first made on the player's first `hello`.
CREATE TABLE starts (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT    NOT NULL,
    system_x   INTEGER NOT NULL,
    system_y   INTEGER NOT NULL,
    station    INTEGER NOT NULL CHECK (station >= 0),
    invited_by INTEGER,  -- the friend whose invite placed them (NULL: chosen at registration)
    created_at REAL    NOT NULL,
    PRIMARY KEY (account_id, world)
) STRICT;

-- Invite links: only the SHA-256 of the code is stored (like session tokens), so a leaked
-- database holds no usable codes. A code is good until expires_at for max_uses registrations.
CREATE TABLE invites (
    code_hash  TEXT    PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT    NOT NULL,
    created_at REAL    NOT NULL,
    expires_at REAL    NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    max_uses   INTEGER NOT NULL CHECK (max_uses >= 1)
) STRICT;
CREATE INDEX invites_account ON invites (account_id, world);

-- Parties (groups of players). A party lives while it has two or more members.
CREATE TABLE parties (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    world      TEXT    NOT NULL,
    leader     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at REAL    NOT NULL
) STRICT;

-- One party per player per world: the primary key is what refuses joining a second one.
CREATE TABLE party_members (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    world      TEXT    NOT NULL,
    party_id   INTEGER NOT NULL,
    joined_at  REAL    NOT NULL,
    PRIMARY KEY (account_id, world)
) STRICT;
CREATE INDEX party_members_party ON party_members (party_id);
