-- newsvault PostgreSQL schema, version 3: source leases and the node registry.
--
-- Work shared between nodes: a source being polled carries a lease (the node polling it,
-- and until when), claimed with FOR UPDATE SKIP LOCKED so that no two nodes take the same
-- source; a node that dies leaves a lease that runs out and is taken over. The next due
-- time, backoff and error count stay in the row, and move only when a poll finishes.
-- (sources_next_poll_at, the index "what is due next" reads, exists since 0001.)
ALTER TABLE sources ADD COLUMN lease_node text;
ALTER TABLE sources ADD COLUMN lease_until timestamptz;

-- The nodes that have run on this database: which newsvault and schema version each
-- runs, and when it was last heard from (its heartbeat, every third of its lease).
CREATE TABLE nodes (
    name           text PRIMARY KEY,
    version        text NOT NULL,
    schema_version bigint NOT NULL,
    started_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    -- Set on a clean shutdown; NULL while running (or after a crash).
    stopped_at     timestamptz
);
