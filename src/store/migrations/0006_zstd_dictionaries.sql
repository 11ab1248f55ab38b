-- newsvault archive schema, version 6: per-site zstd dictionaries for raw captures.
--
-- Pages of one site share most of their bytes (head, scripts, menus, footer), which zstd
-- cannot see when it compresses each page alone. A dictionary trained on a site's pages
-- holds what they share, so each page compresses to little more than what is its own.
-- `newsvault compact` trains them once a site has enough captures and re-compresses the
-- older captures; new captures of a site with a dictionary are compressed with it.
-- This migration only adds its own table, column and index, so it applies the same after
-- any other migration of its release.

-- One row per trained dictionary. A site may have several while captures still use an
-- older one; the newest (highest id) is the one new captures use. Rows never change;
-- `compact` deletes a dictionary once no capture uses it and a newer one exists.
CREATE TABLE zstd_dictionaries (
    id           INTEGER PRIMARY KEY,
    site         TEXT NOT NULL,      -- registrable domain of the captures' URLs, e.g. 'bssnews.net'
    trained_at   TEXT NOT NULL,
    samples      INTEGER NOT NULL,   -- captures it was trained on
    sample_bytes INTEGER NOT NULL,   -- their uncompressed bytes
    size         INTEGER NOT NULL,   -- length(dictionary)
    dictionary   BLOB NOT NULL       -- zstd dictionary (zstd --train format)
);
CREATE INDEX zstd_dictionaries_site ON zstd_dictionaries (site, id);

-- The dictionary `body_zstd` was compressed with; NULL: plain zstd, as before version 6.
ALTER TABLE captures ADD COLUMN dictionary_id INTEGER REFERENCES zstd_dictionaries (id);
-- Also lets compaction read which dictionary each capture uses without reading the
-- (large) rows themselves.
CREATE INDEX captures_dictionary_id ON captures (dictionary_id);
