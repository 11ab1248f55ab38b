-- newsvault archive schema, version 8: each article's current text is stored once.
--
-- Until version 7, article_versions held every version's full text, and the latest
-- version's text is the article row's text: every article's text was stored twice (about
-- 4.5 % of the raw HTML archived, as much as articles.text itself; docs/performance.md).
--
-- The versions now live in article_version_rows, whose `text` is NULL where it is the
-- same as the article row's current text (in practice the latest version's; also an
-- earlier one when a later revisit changed only the title or dates). article_versions
-- becomes a view with the same name, columns and order as the old table that fills such
-- a NULL from articles.text, so everyone reading article_versions (sqlite3, Datasette,
-- the `history` and `diff` commands) still gets every version's full title and text.
--
-- What keeps the NULLs true: when an article's text changes (a revisit storing a new
-- version, `newsvault reparse`, or a hand-made UPDATE), the trigger below writes the
-- text it had into every version row that left it NULL, within the same statement and
-- so the same transaction; newsvault stores a new version's text as NULL only when it
-- equals the article row's text at that moment (a revisit updates the article first). A trigger rather than
-- code in each writer: every path that changes articles.text is covered, including ones
-- outside newsvault.
--
-- Titles stay in every row: a version's title may itself be NULL (none found), so NULL
-- could not also mean "as in the article row", and titles are small.
--
-- SQLite cannot make a NOT NULL column nullable in place, so the table is rebuilt; the
-- file keeps its size until `newsvault compact --vacuum`.

CREATE TABLE article_version_rows (
    article_id       INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    version          INTEGER NOT NULL CHECK (version >= 1),
    capture_id       INTEGER REFERENCES captures (id),  -- the raw response it was read from
    title            TEXT,
    text             TEXT,               -- NULL: the same as articles.text
    published_at     TEXT,               -- UTC
    published_offset TEXT,
    updated_at       TEXT,               -- UTC, as the page stated it
    updated_offset   TEXT,
    seen_at          TEXT NOT NULL,      -- when newsvault first read this version
    content_sha256   TEXT,               -- over the compared fields (docs/schema.md)
    PRIMARY KEY (article_id, version)
) WITHOUT ROWID;

INSERT INTO article_version_rows (article_id, version, capture_id, title, text,
    published_at, published_offset, updated_at, updated_offset, seen_at, content_sha256)
SELECT v.article_id, v.version, v.capture_id, v.title,
       CASE WHEN v.text = a.text THEN NULL ELSE v.text END,
       v.published_at, v.published_offset, v.updated_at, v.updated_offset, v.seen_at,
       v.content_sha256
FROM article_versions v
LEFT JOIN articles a ON a.id = v.article_id;

DROP VIEW article_history;
DROP TABLE article_versions;

-- Every version of every article with its full text, as the table of versions 5 to 7.
CREATE VIEW article_versions AS
SELECT v.article_id,
       v.version,
       v.capture_id,
       v.title,
       coalesce(v.text, a.text) AS text,
       v.published_at,
       v.published_offset,
       v.updated_at,
       v.updated_offset,
       v.seen_at,
       v.content_sha256
FROM article_version_rows v
JOIN articles a ON a.id = v.article_id;

-- When an article's text changes, the versions that shared it keep their own copy.
CREATE TRIGGER articles_text_kept_in_versions AFTER UPDATE OF text ON articles
WHEN old.text IS NOT new.text
BEGIN
    UPDATE article_version_rows SET text = old.text
    WHERE article_id = old.id AND text IS NULL;
END;

-- As in version 5; it needs no text, so it reads the stored rows.
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
JOIN article_version_rows v ON v.article_id = a.id
LEFT JOIN sources s ON s.id = a.source_id
GROUP BY a.id
ORDER BY last_changed_at DESC, a.id DESC;
