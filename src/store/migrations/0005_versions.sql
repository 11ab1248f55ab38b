-- newsvault archive schema, version 5: article versions. An archived article is looked at
-- again on a decaying schedule after it was first archived ([revisit] in the
-- configuration). A revisit whose extracted title, text or dates changed stores a new
-- version with its own raw capture, and the article row is updated to show it; one that
-- changed nothing only sets last_checked_at. A page that answers 404 or 410 is marked
-- removed, and nothing is deleted.

-- Every version of every article, numbered from 1. The article row always holds the
-- latest; these rows keep them all.
CREATE TABLE article_versions (
    article_id       INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    version          INTEGER NOT NULL CHECK (version >= 1),
    capture_id       INTEGER REFERENCES captures (id),  -- the raw response it was read from
    title            TEXT,
    text             TEXT NOT NULL,
    published_at     TEXT,               -- UTC
    published_offset TEXT,
    updated_at       TEXT,               -- UTC, as the page stated it
    updated_offset   TEXT,
    seen_at          TEXT NOT NULL,      -- when newsvault first read this version
    content_sha256   TEXT,               -- over the compared fields (docs/schema.md)
    PRIMARY KEY (article_id, version)
) WITHOUT ROWID;

-- Every article archived so far becomes its own version 1, read from its first capture.
-- content_sha256 is filled in by newsvault in the same transaction (SQLite has no SHA-256).
INSERT INTO article_versions (article_id, version, capture_id, title, text, published_at,
    published_offset, updated_at, updated_offset, seen_at)
SELECT a.id, 1, (SELECT min(c.id) FROM captures c WHERE c.article_id = a.id),
       a.title, a.text, a.published_at, a.published_offset, a.updated_at, a.updated_offset,
       a.first_seen_at
FROM articles a;

-- Revisit state. next_revisit_at is NULL once the schedule is over, for a removed page,
-- and for articles archived before version 5 (they are not revisited).
ALTER TABLE articles ADD COLUMN last_checked_at TEXT;  -- the last revisit that got an answer
ALTER TABLE articles ADD COLUMN next_revisit_at TEXT;
ALTER TABLE articles ADD COLUMN revisit_count INTEGER NOT NULL DEFAULT 0;  -- revisits made
ALTER TABLE articles ADD COLUMN removed_at TEXT;      -- when the page answered 404 or 410
ALTER TABLE articles ADD COLUMN removed_status INTEGER;  -- that status
CREATE INDEX articles_next_revisit_at ON articles (next_revisit_at)
    WHERE next_revisit_at IS NOT NULL;

-- Each article with how many versions it has, newest change first: the edited ones.
CREATE VIEW article_history AS
SELECT a.id AS article_id,
       s.name AS source,
       a.title,
       a.canonical_url,
       a.first_seen_at,
       count(v.version) AS versions,
       max(v.seen_at) AS last_changed_at,
       a.last_checked_at,
       a.removed_at
FROM articles a
JOIN article_versions v ON v.article_id = a.id
LEFT JOIN sources s ON s.id = a.source_id
GROUP BY a.id
ORDER BY last_changed_at DESC, a.id DESC;
