-- newsvault archive schema, version 7: source leases and the node registry.
--
-- Work shared between processes: a source being polled carries a lease (the node polling
-- it, and until when), so no other node takes it meanwhile; a node that dies leaves a
-- lease that runs out and is taken over. The next due time, backoff and error count stay
-- in the row as before, and move only when a poll finishes.
ALTER TABLE sources ADD COLUMN lease_node TEXT;
ALTER TABLE sources ADD COLUMN lease_until TEXT;

-- "What is due next" reads this index, however many sources there are.
CREATE INDEX sources_next_poll_at ON sources (next_poll_at) WHERE enabled = 1;

-- The daemons that have run on this archive: which newsvault and schema version each
-- runs, and when it was last heard from (its heartbeat, every third of its lease).
CREATE TABLE nodes (
    name           TEXT PRIMARY KEY,
    version        TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    started_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    -- Set on a clean shutdown; NULL while running (or after a crash).
    stopped_at     TEXT
);
