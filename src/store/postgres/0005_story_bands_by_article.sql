-- newsvault PostgreSQL schema, version 5: story_bands indexed by article.
--
-- Writing or removing an article's fingerprint first deletes its old bands by
-- article_id, inside the transaction that holds the story lock. The primary key
-- (band, hash, article_id) cannot serve that lookup, so each delete scanned the whole
-- table — a cost growing with the archive, paid by every archived article while every
-- other node waited for the lock (docs/performance.md, "Several nodes").
CREATE INDEX story_bands_article_id ON story_bands (article_id);
