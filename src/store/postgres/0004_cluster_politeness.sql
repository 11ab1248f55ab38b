-- newsvault archive schema on PostgreSQL: politeness shared by every node crawling into
-- this database (docs/schema.md, "PostgreSQL only"). Per host, the next allowed request
-- start and Retry-After, and the requests in flight as slots that expire by themselves (so
-- a node that dies holding one does not block the host for ever); per origin, the
-- robots.txt one node fetched for all. Times are the database's clock, so the nodes'
-- clocks do not matter. Released migrations are never edited: a change is a new file.

-- One row per host ("host:port") any node has sent a request to.
CREATE TABLE hosts (
    host              text PRIMARY KEY,
    -- No request starts before this (the last start plus the host's delay).
    next_allowed_at   timestamptz NOT NULL DEFAULT '-infinity',
    -- The host answered 429/503 with Retry-After: nobody asks it before this.
    retry_after_until timestamptz,
    last_start_at     timestamptz
);

-- One row per request in flight; deleted when the request ends, or disregarded (and
-- deleted) once `expires_at` has passed.
CREATE TABLE host_slots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host       text NOT NULL REFERENCES hosts (host) ON DELETE CASCADE,
    -- The node holding it: its address as the database saw it (NULL over a unix socket)
    -- and its process id.
    node_addr  inet DEFAULT inet_client_addr(),
    node_pid   integer,
    taken_at   timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX host_slots_host ON host_slots (host);

-- One row per origin ("scheme://host:port"): what its robots.txt said, while fresh, and
-- which node is fetching it now.
CREATE TABLE robots_txt (
    origin             text PRIMARY KEY,
    outcome            text CHECK (outcome IN ('rules', 'allow_all', 'unavailable')),
    -- The file as served, when `outcome` is 'rules'.
    body               bytea,
    -- Why the file could not be read, when `outcome` is 'unavailable'.
    unavailable_reason text,
    fetched_at         timestamptz,
    expires_at         timestamptz,
    -- A node claimed the fetch until then; the others wait for it.
    fetching_until     timestamptz
);

-- A request start to `p_host`, in one round trip: under the host row's lock, when the
-- host's next allowed start (and Retry-After) has come and fewer than `p_in_flight` slots
-- are held, take a slot (expiring after `p_slot_ttl_us` microseconds) and move the next
-- allowed start `p_delay_us` on. Otherwise `wait_us` says how long until the next allowed
-- start, or `slots_full` that every slot is held.
CREATE FUNCTION newsvault_take_host_slot(
    p_host text,
    p_in_flight integer,
    p_delay_us bigint,
    p_slot_ttl_us bigint,
    p_node_pid integer,
    OUT slot_id bigint,
    OUT wait_us bigint,
    OUT slots_full boolean
) LANGUAGE plpgsql AS $$
DECLARE
    ready   timestamptz;
    now_at timestamptz;
    held    integer;
BEGIN
    slots_full := false;
    INSERT INTO hosts (host) VALUES (p_host) ON CONFLICT (host) DO NOTHING;
    SELECT greatest(next_allowed_at, coalesce(retry_after_until, '-infinity'))
      INTO ready FROM hosts WHERE host = p_host FOR UPDATE;
    -- Read after the lock is granted: the wait for it is not counted as spacing.
    now_at := clock_timestamp();
    IF ready > now_at THEN
        wait_us := ceil(extract(epoch FROM ready - now_at) * 1000000)::bigint;
        RETURN;
    END IF;
    DELETE FROM host_slots WHERE host = p_host AND expires_at <= now_at;
    SELECT count(*) INTO held FROM host_slots WHERE host = p_host;
    IF held >= p_in_flight THEN
        slots_full := true;
        RETURN;
    END IF;
    INSERT INTO host_slots (host, node_pid, taken_at, expires_at)
        VALUES (p_host, p_node_pid, now_at, now_at + p_slot_ttl_us * interval '1 microsecond')
        RETURNING id INTO slot_id;
    UPDATE hosts
       SET next_allowed_at = now_at + p_delay_us * interval '1 microsecond',
           last_start_at = now_at
     WHERE host = p_host;
END
$$;
