-- Haulers are clones of their own goal (SQLite). Its twin is ../postgresql/0012_hauler_goal.sql.
--
-- `clones.goal` accepts 'hauler' (agents.Goal.HAULER: a trader who also brings stations what
-- they lack); before this the living universe had to store its haulers as traders. SQLite
-- cannot alter a CHECK constraint, and rebuilding `clones` inside the migration transaction
-- (foreign keys on) would cascade-delete every memory and relationship; widening a CHECK
-- keeps every stored row valid, so the table's stored definition is edited in place (the
-- procedure of sqlite.org/lang_altertable.html, "other kinds of table schema changes") and
-- the connection reloads the schema.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(
       sql,
       'CHECK (goal IN (''crew'', ''trader'',',
       'CHECK (goal IN (''crew'', ''trader'', ''hauler'','
   )
 WHERE type = 'table' AND name = 'clones';
PRAGMA writable_schema = RESET;
