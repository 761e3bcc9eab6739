-- The same reasoning as 0010 for the rows a rule's decision writes: a rule run's and an outbox
-- row's workspace cannot dangle (workspaces are never deleted), and each check took a share
-- lock on the one workspace row that every concurrent writer and dispatcher also locked, a
-- row with many lockers at once at hundreds of replies a second.
ALTER TABLE rule_runs DROP CONSTRAINT rule_runs_workspace_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_workspace_id_fkey;
