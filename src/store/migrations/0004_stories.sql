-- newsvault archive schema, version 4: stories. Articles whose texts are near-duplicates
-- (the same wire story on several sites, a site's re-publication of its own article)
-- share a story. Each article with enough text has a MinHash fingerprint of its text
-- (src/stories.rs explains the scheme) and 42 locality-sensitive band hashes; an article
-- being archived looks its bands up, compares the few articles that share one, and joins
-- the story of the most similar, or starts a story of its own. All of it happens in the
-- transaction that archives the article.

-- One row per story. Counts are kept up to date as articles join.
CREATE TABLE stories (
    id               INTEGER PRIMARY KEY,
    first_article_id INTEGER NOT NULL REFERENCES articles (id),  -- the article that started it
    title            TEXT,               -- that article's title when the story started
    member_count     INTEGER NOT NULL DEFAULT 1,  -- articles in the story
    source_count     INTEGER NOT NULL DEFAULT 0,  -- distinct sources among them
    first_seen_at    TEXT NOT NULL,      -- first_seen_at of its earliest article
    last_seen_at     TEXT NOT NULL       -- first_seen_at of its latest article
);
CREATE INDEX stories_last_seen_at ON stories (last_seen_at);

-- NULL for articles archived before version 4 until `newsvault reparse` gives them one.
ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories (id);
CREATE INDEX articles_story_id ON articles (story_id);

-- The fingerprint of an article's current text. Articles whose text is shorter than
-- `[stories] min_words` have none (and a story of their own).
CREATE TABLE article_fingerprints (
    article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    scheme     INTEGER NOT NULL,         -- fingerprint scheme version (1)
    words      INTEGER NOT NULL,         -- normalised words read (at most 10000)
    shingles   INTEGER NOT NULL,         -- distinct 4-word shingles among them
    minhash    BLOB NOT NULL             -- 128 little-endian u32 MinHash values
);

-- The locality-sensitive index: one row per band of each fingerprint. Derived from
-- article_fingerprints (and rebuilt with it); `hash` is the band's 32-bit hash stored as
-- a signed 32-bit integer. A lookup reads 42 (band, hash) keys.
CREATE TABLE story_bands (
    band       INTEGER NOT NULL,         -- 0..41
    hash       INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (band, hash, article_id)
) WITHOUT ROWID;

-- Every article of every story, with its source: what `newsvault stories` shows.
CREATE VIEW story_articles AS
SELECT st.id AS story_id,
       st.title AS story_title,
       a.id AS article_id,
       s.name AS source,
       a.title,
       a.canonical_url,
       a.published_at,
       a.first_seen_at
FROM stories st
JOIN articles a ON a.story_id = st.id
LEFT JOIN sources s ON s.id = a.source_id
ORDER BY st.id, a.first_seen_at, a.id;
