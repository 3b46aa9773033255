-- Economy schema (SQLite). Its twin is ../postgresql/0002_economy.sql: same tables, columns,
-- keys and constraints; only type names differ. Change both together.
--
-- Money moves only through the double-entry ledger (ledger_*), items only through item_moves;
-- the store writes both in one transaction per economic event (Store.commit_txn). Every table
-- has a `world` column so a world can be deleted by key.

-- One row per ledger account. owned = 1 for keys with ':' ("player:7", "bounty:7"), which never
-- go below zero; system accounts ("mint", "market", "services", "insurer") may. balance always
-- equals the sum of the account's entries (the store updates both in the same transaction).
CREATE TABLE ledger_accounts (
    world   TEXT    NOT NULL,
    account TEXT    NOT NULL,
    owned   INTEGER NOT NULL CHECK (owned IN (0, 1)),
    balance INTEGER NOT NULL,
    PRIMARY KEY (world, account),
    CHECK (NOT owned OR balance >= 0)
) STRICT;

-- One row per economic event. idem is the idempotency key (a client request id scoped by
-- player and kind, or a deterministic system key): a repeated key returns `result`, the JSON
-- the first commit produced, and applies nothing. AUTOINCREMENT: ids are never reused.
CREATE TABLE ledger_txns (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    world      TEXT    NOT NULL,
    idem       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    account    TEXT,
    created_at REAL    NOT NULL,
    result     TEXT    NOT NULL,
    UNIQUE (world, idem)
) STRICT;
CREATE INDEX ledger_txns_account ON ledger_txns (world, account, kind, id);

-- The postings of each transaction; they sum to zero per transaction.
CREATE TABLE ledger_entries (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    world   TEXT    NOT NULL,
    txn_id  INTEGER NOT NULL REFERENCES ledger_txns (id) ON DELETE CASCADE,
    account TEXT    NOT NULL,
    amount  INTEGER NOT NULL CHECK (amount <> 0)
) STRICT;
CREATE INDEX ledger_entries_txn ON ledger_entries (txn_id);
CREATE INDEX ledger_entries_account ON ledger_entries (world, account);

-- What each holder ("ship:<id>", "wreck:<id>", "station:<x>:<y>:<i>") holds now. A holding that
-- reaches zero is deleted, so qty is always positive.
CREATE TABLE holdings (
    world  TEXT    NOT NULL,
    holder TEXT    NOT NULL,
    item   TEXT    NOT NULL,
    qty    INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (world, holder, item)
) STRICT;

-- The audit log of every item move. NULL source = created (mining, drift); NULL destination =
-- destroyed (drift, wreck expiry). Per item: sum(holdings) = created - destroyed, always.
CREATE TABLE item_moves (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    world       TEXT    NOT NULL,
    txn_id      INTEGER NOT NULL REFERENCES ledger_txns (id) ON DELETE CASCADE,
    item        TEXT    NOT NULL,
    qty         INTEGER NOT NULL CHECK (qty > 0),
    source      TEXT,
    destination TEXT,
    CHECK (source IS NOT NULL OR destination IS NOT NULL),
    CHECK (source IS NULL OR destination IS NULL OR source <> destination)
) STRICT;
CREATE INDEX item_moves_txn ON item_moves (txn_id);
CREATE INDEX item_moves_item ON item_moves (world, item);

-- Wrecks of destroyed ships, restored when their system loads; their cargo is the holdings of
-- "wreck:<wreck_id>". origin_account: whose ship it was (no foreign key: the record outlives
-- the account, like the ledger).
CREATE TABLE wrecks (
    world          TEXT    NOT NULL,
    wreck_id       INTEGER NOT NULL CHECK (wreck_id > 0),
    system_x       INTEGER NOT NULL,
    system_y       INTEGER NOT NULL,
    x              REAL    NOT NULL,
    y              REAL    NOT NULL,
    expires_at     REAL    NOT NULL,
    origin_account INTEGER,
    created_at     REAL    NOT NULL,
    PRIMARY KEY (world, wreck_id)
) STRICT;
CREATE INDEX wrecks_system ON wrecks (world, system_x, system_y);

-- Moderation evidence (refused actions that may be cheating). No foreign key on account_id:
-- evidence outlives the account it is about.
CREATE TABLE evidence (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    world      TEXT    NOT NULL,
    account_id INTEGER NOT NULL,
    tick       INTEGER NOT NULL CHECK (tick >= 0),
    at         REAL    NOT NULL,
    code       TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    detail     TEXT    NOT NULL
) STRICT;
CREATE INDEX evidence_world ON evidence (world, id);
CREATE INDEX evidence_account ON evidence (world, account_id, id);
