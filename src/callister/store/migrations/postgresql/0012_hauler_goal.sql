-- Haulers are clones of their own goal (PostgreSQL). Its twin is ../sqlite/0012_hauler_goal.sql.
--
-- `clones.goal` accepts 'hauler' (agents.Goal.HAULER: a trader who also brings stations what
-- they lack); before this the living universe had to store its haulers as traders.
ALTER TABLE clones DROP CONSTRAINT clones_goal_check;
ALTER TABLE clones ADD CONSTRAINT clones_goal_check
    CHECK (goal IN ('crew', 'trader', 'hauler', 'miner', 'pirate', 'patrol'));
