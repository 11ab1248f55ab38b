-- newsvault archive schema, version 1. Released migrations are never edited: a change
-- is a new file. All timestamps are RFC 3339 text in UTC ("2025-07-12T12:31:00.000Z"),
-- so SQLite's date() and strftime() work on them directly.

-- One row per configured source. A source removed from the configuration keeps its row
-- (its articles point at it) with enabled = 0.
CREATE TABLE sources (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    url              TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('feed', 'page', 'sitemap')),
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at       TEXT NOT NULL,
    next_poll_at     TEXT,               -- when the scheduler polls it next
    last_polled_at   TEXT,
    last_success_at  TEXT,
    etag             TEXT,               -- validators for conditional GET of the feed
    last_modified    TEXT,
    last_body_sha256 TEXT,               -- guards against servers with stale ETags
    error_count      INTEGER NOT NULL DEFAULT 0,  -- consecutive failed polls
    last_error       TEXT,
    last_error_at    TEXT
);

-- One row per story, however many URLs and feeds lead to it.
CREATE TABLE articles (
    id               INTEGER PRIMARY KEY,
    source_id        INTEGER REFERENCES sources (id),  -- the source that found it first
    canonical_url    TEXT NOT NULL UNIQUE,
    title            TEXT,
    authors          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(authors)),  -- JSON array
    published_at     TEXT,               -- UTC
    published_offset TEXT,               -- the offset the page gave, e.g. '+06:00'
    updated_at       TEXT,               -- UTC
    updated_offset   TEXT,
    first_seen_at    TEXT NOT NULL,
    language         TEXT,               -- ISO 639-1
    site_name        TEXT,
    description      TEXT,
    text             TEXT NOT NULL,      -- main text, NFC, paragraphs separated by '\n'
    text_fingerprint TEXT,               -- SHA-256 of normalised title + text; NULL if too short
    extractor        TEXT NOT NULL       -- which extractor version produced the fields
);
CREATE UNIQUE INDEX articles_text_fingerprint ON articles (text_fingerprint)
    WHERE text_fingerprint IS NOT NULL;
CREATE INDEX articles_published_at ON articles (published_at);
CREATE INDEX articles_source_first_seen ON articles (source_id, first_seen_at);

-- Every URL (canonical form) that led to an article.
CREATE TABLE article_urls (
    url           TEXT PRIMARY KEY,
    article_id    INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    source_id     INTEGER REFERENCES sources (id),
    first_seen_at TEXT NOT NULL
);
CREATE INDEX article_urls_article_id ON article_urls (article_id);

-- Feed entries already seen, per source: the entry's own id, or 'link:' + canonical link
-- when the feed gives none. article_id is NULL while the page has not been archived;
-- failed_attempts and last_error then say why, and after a few failures the item is
-- given up (see the README).
CREATE TABLE feed_items (
    source_id       INTEGER NOT NULL REFERENCES sources (id),
    item_key        TEXT NOT NULL,
    article_id      INTEGER REFERENCES articles (id) ON DELETE CASCADE,
    first_seen_at   TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    PRIMARY KEY (source_id, item_key)
);
CREATE INDEX feed_items_article_id ON feed_items (article_id);

-- The request log: every HTTP request, successful or not.
CREATE TABLE fetches (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER REFERENCES sources (id),
    purpose     TEXT NOT NULL,            -- 'feed' or 'page'
    url         TEXT NOT NULL,
    final_url   TEXT,                     -- after redirects
    started_at  TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status      INTEGER,                  -- HTTP status, NULL when none was received
    bytes       INTEGER NOT NULL,         -- body bytes received (after decompression)
    error       TEXT                      -- NULL on success
);
CREATE INDEX fetches_started_at ON fetches (started_at);
CREATE INDEX fetches_source_started_at ON fetches (source_id, started_at);

-- Raw responses behind articles, byte for byte as served (after content-encoding),
-- zstd-compressed. zstd -d or Python's zstandard module restores them.
CREATE TABLE captures (
    id             INTEGER PRIMARY KEY,
    article_id     INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    fetch_id       INTEGER REFERENCES fetches (id),
    url            TEXT NOT NULL,         -- final URL, as fetched
    fetched_at     TEXT NOT NULL,
    status         INTEGER NOT NULL,
    headers        TEXT NOT NULL CHECK (json_valid(headers)),  -- JSON array of [name, value]
    content_type   TEXT,
    charset        TEXT,                  -- encoding used to decode the body
    charset_source TEXT,                  -- 'bom', 'http-header', 'meta' or 'detected'
    body_size      INTEGER NOT NULL,      -- uncompressed bytes
    body_sha256    TEXT NOT NULL,
    body_zstd      BLOB NOT NULL
);
CREATE INDEX captures_article_id ON captures (article_id);

-- Full-text index over title and text. The tokenizer keeps combining marks (M*) inside
-- words, so Bengali and other Indic words are indexed whole, and keeps diacritics.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, text,
    content = 'articles', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'"
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO articles_fts (rowid, title, text) VALUES (new.id, new.title, new.text);
END;
