-- newsvault archive schema, version 3: adaptive polling state.
--
-- A source that keeps finding nothing new is polled less often than its schedule allows,
-- up to a maximum interval; one poll with news puts it back on its schedule. The interval
-- in force lives here (with next_poll_at), so a restart neither forgets it nor polls every
-- stretched source at once.

-- The interval between the last poll's start and the next poll, in seconds, while it is
-- stretched; NULL while the source is polled on its schedule.
ALTER TABLE sources ADD COLUMN poll_interval_s INTEGER CHECK (poll_interval_s > 0);

-- When a poll last found something new to the source (an article, archived or not yet).
ALTER TABLE sources ADD COLUMN last_new_at TEXT;

-- When `kind` was detected from the source's response, for a source whose configuration
-- gives no kind; NULL when the configuration names the kind, or while it is still to be
-- detected (a new source, or one whose URL changed).
ALTER TABLE sources ADD COLUMN kind_detected_at TEXT;
