-- newsvault PostgreSQL schema, version 7: each article's current text is stored once, as
-- SQLite's version 8 does (see src/store/migrations/0008_version_text_once.sql for the
-- reasoning; docs/schema.md).
--
-- The versions live in article_version_rows, whose `text` is NULL where it is the same as
-- the article row's current text (in practice the latest version's). article_versions
-- becomes a view with the old table's name, columns and order that fills such a NULL
-- from articles.text, so readers still get every version's full title and text. When an
-- article's text changes, a trigger first writes the text it had into the version rows
-- that left it NULL, in the same transaction; newsvault stores a new version's text as
-- NULL only when it equals the article row's text at that moment. Titles stay in every
-- row (a version's title may itself be NULL).
--
-- Renamed in place: the primary key and foreign keys come along, and the view
-- article_history follows the table (PostgreSQL binds views to tables, not names).
-- Clearing the duplicated texts leaves dead row versions that VACUUM makes reusable.

ALTER TABLE article_versions RENAME TO article_version_rows;
ALTER TABLE article_version_rows RENAME CONSTRAINT article_versions_pkey
    TO article_version_rows_pkey;
ALTER TABLE article_version_rows ALTER COLUMN text DROP NOT NULL;

UPDATE article_version_rows v SET text = NULL
FROM articles a
WHERE a.id = v.article_id AND v.text = a.text;

-- Every version of every article with its full text, as the table of versions 2 to 5.
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
CREATE FUNCTION article_text_kept_in_versions() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE article_version_rows SET text = OLD.text
    WHERE article_id = OLD.id AND text IS NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER articles_text_kept_in_versions AFTER UPDATE OF text ON articles
FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text)
EXECUTE FUNCTION article_text_kept_in_versions();
