-- Clone licences that are checked, not claimed (SQLite). Its twin is
-- ../postgresql/0006_clone_trust.sql: same columns and indexes; only type names differ.
--
-- A clone's licence status is computed by the store on every read (store/_clones.py,
-- `_licence_sql`): a clone of this server's account is licensed while its consent record
-- exists, is the subject's, covers the owner and is not revoked; a clone whose subject lives on
-- another server (`licence_home`, that server's key fingerprint; its account numbers are not
-- ours, so `subject_id` stays NULL) is licensed while the key of its checked licence proof
-- (`licence_key`) is among the world's trusted keys. `clones.licence` keeps the status as of
-- the last write, revocation or trust change, for readers of the raw table.

ALTER TABLE clones ADD COLUMN licence_home TEXT;    -- NULL: subject and consent are this server's
ALTER TABLE clones ADD COLUMN licence_key BLOB;     -- 32 bytes: signer of a valid licence proof
CREATE INDEX clones_subject ON clones (subject_id);
CREATE INDEX clones_licence_key ON clones (world, licence_key);
