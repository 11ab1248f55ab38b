-- newsvault PostgreSQL schema, version 8: captures indexed by the SHA-256 of their body,
-- as SQLite's version 10 (see src/store/migrations/0010_captures_by_body.sql).
CREATE INDEX captures_body_sha256 ON captures (body_sha256);
