-- newsvault archive schema, version 2: read-only views that make common questions
-- one-liners, for sqlite3, Python and Datasette users. Views hold no data; they read the
-- tables of version 1 as they are at query time. None reads the clock, so each gives the
-- same answer however late it is asked.

-- Articles with their source's name and text, newest archived first.
CREATE VIEW latest_articles AS
SELECT a.id,
       a.first_seen_at,
       a.published_at,
       s.name AS source,
       a.title,
       a.canonical_url,
       a.language,
       a.authors,
       a.site_name,
       a.description,
       a.text
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
ORDER BY a.first_seen_at DESC, a.id DESC;

-- Articles per source per day (UTC): the day of publication when the page gave one,
-- else the day newsvault archived it; `undated` counts the articles of the second kind.
CREATE VIEW daily_counts AS
SELECT s.name AS source,
       date(coalesce(a.published_at, a.first_seen_at)) AS day,
       count(*) AS articles,
       sum(a.published_at IS NULL) AS undated
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
GROUP BY s.name, day
ORDER BY day DESC, source;

-- Articles archived per source per day (UTC) of archiving: what the crawler did each day,
-- whatever dates the pages carry.
CREATE VIEW daily_archived AS
SELECT s.name AS source,
       date(a.first_seen_at) AS day,
       count(*) AS articles
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
GROUP BY s.name, day
ORDER BY day DESC, source;

-- Every URL that leads to an article, with the article's title: look an article up by
-- any address it was reached through (canonical form, see docs/schema.md).
CREATE VIEW article_pages AS
SELECT u.url,
       u.article_id,
       u.first_seen_at,
       s.name AS source,
       a.title,
       a.canonical_url,
       u.url = a.canonical_url AS is_canonical
FROM article_urls u
JOIN articles a ON a.id = u.article_id
LEFT JOIN sources s ON s.id = u.source_id;

-- One row per source: schedule, last poll, error streak, and how much it has archived.
CREATE VIEW source_health AS
SELECT s.name,
       s.kind,
       s.enabled,
       s.url,
       s.next_poll_at,
       s.last_polled_at,
       s.last_success_at,
       s.error_count,
       s.last_error_at,
       s.last_error,
       (SELECT count(*) FROM articles a WHERE a.source_id = s.id) AS articles,
       (SELECT max(a.first_seen_at) FROM articles a WHERE a.source_id = s.id) AS last_article_at,
       (SELECT count(*) FROM fetches f WHERE f.source_id = s.id) AS requests,
       (SELECT count(*) FROM fetches f WHERE f.source_id = s.id AND f.error IS NOT NULL)
           AS failed_requests
FROM sources s
ORDER BY s.name;

-- Captures without their (large) bodies: what was fetched for each article, when, and
-- how it was decoded.
CREATE VIEW capture_index AS
SELECT c.id,
       c.article_id,
       c.url,
       c.fetched_at,
       c.status,
       c.content_type,
       c.charset,
       c.charset_source,
       c.body_size,
       length(c.body_zstd) AS stored_size,
       c.body_sha256
FROM captures c;

-- Failed requests with their source's name, newest first.
CREATE VIEW fetch_errors AS
SELECT f.id,
       f.started_at,
       s.name AS source,
       f.purpose,
       f.url,
       f.status,
       f.error
FROM fetches f
LEFT JOIN sources s ON s.id = f.source_id
WHERE f.error IS NOT NULL
ORDER BY f.started_at DESC, f.id DESC;
