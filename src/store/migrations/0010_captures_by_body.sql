-- newsvault archive schema, version 10: captures indexed by the SHA-256 of their body.
--
-- A page whose bytes are already archived (the same page under another URL, a feed
-- listing it twice, a backfill run again) is recognised by its body's hash before it is
-- parsed and extracted, which would only find the article it already is. The lookup
-- needs this index; it also answers "which article had exactly these bytes" from SQL.
CREATE INDEX captures_body_sha256 ON captures (body_sha256);
