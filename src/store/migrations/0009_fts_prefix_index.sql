-- newsvault archive schema, version 9: the full-text index keeps an index of 3-character
-- prefixes.
--
-- A prefix query (`ren*`) without one merges the posting lists of every word that starts
-- with the prefix before it can return a row, newest first or not: on 100,000 synthetic
-- articles `"ren"*` (1,099 words) took ~280 ms for the newest 5,000 matches, and the
-- cost grows with the archive. With the prefix index a 3-character prefix is one posting
-- list (~11 ms on the same archive); longer prefixes match few enough words to be fast
-- without one (~10 ms for 4 characters), so only 3 is indexed. Shorter prefixes (1 or 2
-- characters) still merge every word's list. The index costs about 60 % more space in
-- `articles_fts_data` (docs/performance.md, "Growth").
--
-- FTS5 fixes its options when the table is created, so the index is made again: the
-- same columns, tokenizer and triggers as version 1, plus `prefix = '3'`, rebuilt from
-- `articles` (about 35 s per 100,000 articles). Searches read it as before.
DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER articles_fts_update;
DROP TABLE articles_fts;

-- Full-text index over title and text. The tokenizer keeps combining marks (M*) inside
-- words, so Bengali and other Indic words are indexed whole, and keeps diacritics.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, text,
    content = 'articles', content_rowid = 'id',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* N* Co M*'",
    prefix = '3'
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
INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
