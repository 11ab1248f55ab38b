//! The SQLite backend: connection set-up (WAL, busy timeout, foreign keys), append-only
//! migrations tracked in `PRAGMA user_version`, and every statement the archive runs.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use super::checkpoint::Checkpointer;
use super::codec::{self, CompressedBody, DictionaryCache, StoredDictionary};
use super::query::{
    ArticleFilter, ArticleKey, ArticleRecord, Capture, CaptureId, CaptureInfo, ExtractedFields,
    NearDuplicate, Reextracted, SearchHit, SearchRequest, StoryDetail, StoryFilter, StoryMember,
    StorySource, StorySummary,
};
use super::rank;
use super::transfer::{Batch, Cell, Kind, Table};
use super::versions::{ArticleVersion, RevisitOutcome, RevisitTarget, Revisited, header_value};
use super::{
    Archived, ArticleId, CaptureBody, DayCount, DictionaryInfo, FetchId, FetchRecord, ItemStatus,
    MAX_ITEM_ATTEMPTS, NODE_RETENTION, NewArticle, NewDictionary, NodeInfo, NodeLease,
    NodeRegistration, ObjectSize, PollOutcome, PollRecord, ReplacedBody, SHARED_DICTIONARY_SITE,
    SourceId, SourceSpec, SourceState, SourceStats, Stats, StorageUsage, StoreError, StoryId,
};
use crate::clock::{from_db_time, to_db_time};
use crate::config::SourceKind;
use crate::stories::{Fingerprint, StoryRules};
use crate::versions::{RevisitRules, content_hash};

/// Prepared statements the connection keeps. Archiving one page runs about 25 distinct
/// statements (fetch log, duplicate lookup, article, capture, version, story, bands,
/// URLs); with rusqlite's default of 16 they pushed each other out and every page
/// prepared most of them again: 3.3 % of a backfill's CPU in SQLite's parser.
const STATEMENT_CACHE: usize = 64;

/// Migrations in order; the schema version is the number applied. Never edit a released
/// one: append a new file.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_views.sql"),
    include_str!("migrations/0003_adaptive_polling.sql"),
    include_str!("migrations/0004_stories.sql"),
    include_str!("migrations/0005_versions.sql"),
    include_str!("migrations/0006_zstd_dictionaries.sql"),
    include_str!("migrations/0007_leases.sql"),
    include_str!("migrations/0008_version_text_once.sql"),
    include_str!("migrations/0009_fts_prefix_index.sql"),
    include_str!("migrations/0010_captures_by_body.sql"),
];

/// The schema version that adds `article_versions`, whose backfilled rows get their
/// content hash from Rust in the migration's transaction (right after it, while
/// `article_versions` is still that version's table).
const VERSIONS_SCHEMA: i64 = 5;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a statement waits for another process's lock before failing.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct Db {
    /// Checkpoints the log off this connection's thread; first, so that it stops before
    /// the connection closes. None if it could not start (SQLite then checkpoints in the
    /// commits, as by default).
    _checkpointer: Option<Checkpointer>,
    conn: Connection,
    /// Prepared zstd dictionaries (see [`codec`]).
    dictionaries: DictionaryCache,
    /// Most matches a search ranks ([`RANKED_MATCHES`]; smaller in tests).
    ranked_matches: i64,
}

fn sql(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sql { operation, source }
}

fn time(t: DateTime<Utc>) -> String {
    to_db_time(t)
}

fn opt_time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(to_db_time)
}

fn read_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(from_db_time)
}

const SOURCE_COLUMNS: &str = "id, name, url, kind, enabled, next_poll_at, last_polled_at, \
     last_success_at, etag, last_modified, last_body_sha256, error_count, last_error, \
     poll_interval_s, last_new_at, kind_detected_at, lease_node, lease_until";

fn source_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SourceState> {
    Ok(SourceState {
        id: row.get(0)?,
        name: row.get(1)?,
        url: row.get(2)?,
        kind: row.get(3)?,
        enabled: row.get(4)?,
        next_poll_at: read_time(row.get(5)?),
        last_polled_at: read_time(row.get(6)?),
        last_success_at: read_time(row.get(7)?),
        etag: row.get(8)?,
        last_modified: row.get(9)?,
        last_body_sha256: row.get(10)?,
        error_count: row.get(11)?,
        last_error: row.get(12)?,
        poll_interval: row
            .get::<_, Option<i64>>(13)?
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs),
        last_new_at: read_time(row.get(14)?),
        kind_detected_at: read_time(row.get(15)?),
        lease_node: row.get(16)?,
        lease_until: read_time(row.get(17)?),
    })
}

/// Creates the archive's directory readable by its owner only: the archive holds whatever
/// the crawled sites served, and the request log shows what was followed.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates an empty archive file with owner-only permissions when none exists, before
/// SQLite opens it (SQLite gives its -wal and -shm files the same permissions). An
/// existing file keeps the permissions its owner chose.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Db {
    pub(super) fn open(path: &Path) -> Result<Db, StoreError> {
        let open_error = |message: String| StoreError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.exists()
        {
            create_private_dir(parent)
                .map_err(|e| open_error(format!("cannot create directory: {e}")))?;
        }
        create_private_file(path).map_err(|e| open_error(format!("cannot create: {e}")))?;
        let conn = Connection::open(path).map_err(|e| open_error(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_error(e.to_string()))?;
        // SQLite quietly opens a file it may not write read-only, and then fails with
        // "unable to open database file"; say why.
        let read_only = conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false);
        let open_error = |message: String| {
            open_error(if read_only {
                format!(
                    "{message} (opened read-only: the file, its directory or its file system does not allow writing)"
                )
            } else {
                message
            })
        };
        // WAL: readers never block the writer. NORMAL sync is durable against process
        // crashes, which is the failure a daemon meets; a power cut can lose the last
        // transactions but never corrupts the file.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| open_error(format!("cannot enable WAL: {e}")))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(|e| open_error(e.to_string()))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        rank::register(&conn, RANKED_MATCHES).map_err(open_error)?;
        let checkpointer = Checkpointer::start(path, &conn)
            .inspect_err(|e| {
                tracing::warn!(archive = %path.display(), error = %e, "background checkpoints unavailable; SQLite checkpoints in commits instead");
            })
            .ok();
        let mut db = Db {
            _checkpointer: checkpointer,
            conn,
            dictionaries: DictionaryCache::default(),
            ranked_matches: RANKED_MATCHES,
        };
        db.migrate().map_err(|e| open_error(e.to_string()))?;
        Ok(db)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        // Up to date (the usual case): no write lock, so opening an archive to read it
        // never waits for the daemon writing to it.
        let current: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql("read schema version"))?;
        if current == SCHEMA_VERSION {
            return Ok(());
        }
        loop {
            // The version is read inside the write transaction that applies the next
            // migration, so two processes opening a new archive at once cannot both apply
            // it: the second waits for the first (busy timeout), then sees its work.
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(sql("begin migration"))?;
            let current: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(sql("read schema version"))?;
            if current > SCHEMA_VERSION {
                return Err(StoreError::Other(format!(
                    "schema version {current} is newer than this newsvault understands ({SCHEMA_VERSION}); upgrade newsvault"
                )));
            }
            let Some(migration) = MIGRATIONS.get(current as usize) else {
                return Ok(());
            };
            let version = current + 1;
            tx.execute_batch(migration)
                .map_err(sql("apply migration"))?;
            if version == VERSIONS_SCHEMA {
                fill_version_hashes(&tx)?;
            }
            tx.pragma_update(None, "user_version", version)
                .map_err(sql("record schema version"))?;
            tx.commit().map_err(sql("commit migration"))?;
            tracing::info!(version, "archive schema migrated");
        }
    }

    pub(super) fn sync_sources(
        &mut self,
        specs: &[SourceSpec],
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceState>, StoreError> {
        // Immediate: a deferred transaction that reads before it writes cannot wait for
        // another writer (SQLite answers SQLITE_BUSY at once rather than risk a deadlock),
        // so it would fail instead of waiting out the busy timeout.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin source sync"))?;
        {
            let mut find = tx
                .prepare("SELECT id, url FROM sources WHERE name = ?1")
                .map_err(sql("find source"))?;
            for spec in specs {
                let existing: Option<(i64, String)> = find
                    .query_row([&spec.name], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(sql("find source"))?;
                match existing {
                    // A kind left out of the configuration (NULL here) is detected on the
                    // first poll; until then the row says 'feed', which its CHECK allows.
                    None => {
                        tx.execute(
                            "INSERT INTO sources (name, url, kind, enabled, created_at, next_poll_at)
                             VALUES (?1, ?2, COALESCE(?3, 'feed'), ?4, ?5, ?5)",
                            params![spec.name, spec.url, spec.kind.map(SourceKind::as_str), spec.enabled, time(now)],
                        )
                        .map_err(sql("add source"))?;
                    }
                    Some((id, url)) if url != spec.url => {
                        // A new address: the old validators, error streak, stretched interval
                        // and detected kind mean nothing there.
                        tx.execute(
                            "UPDATE sources SET url = ?2, kind = COALESCE(?3, kind), enabled = ?4,
                                 etag = NULL, last_modified = NULL, last_body_sha256 = NULL,
                                 error_count = 0, next_poll_at = ?5, poll_interval_s = NULL,
                                 kind_detected_at = NULL
                             WHERE id = ?1",
                            params![
                                id,
                                spec.url,
                                spec.kind.map(SourceKind::as_str),
                                spec.enabled,
                                time(now)
                            ],
                        )
                        .map_err(sql("update source"))?;
                    }
                    Some((id, _)) => {
                        // A configured kind replaces a detected one; a kind removed from the
                        // configuration is detected again (kind_detected_at is NULL then).
                        tx.execute(
                            "UPDATE sources SET kind = COALESCE(?2, kind), enabled = ?3,
                                 next_poll_at = COALESCE(next_poll_at, ?4),
                                 kind_detected_at = CASE WHEN ?2 IS NULL THEN kind_detected_at END
                             WHERE id = ?1",
                            params![
                                id,
                                spec.kind.map(SourceKind::as_str),
                                spec.enabled,
                                time(now)
                            ],
                        )
                        .map_err(sql("update source"))?;
                    }
                }
            }
            let mut all = tx
                .prepare("SELECT id, name FROM sources WHERE enabled = 1")
                .map_err(sql("list sources"))?;
            let enabled: Vec<(i64, String)> = all
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sql("list sources"))?
                .collect::<Result<_, _>>()
                .map_err(sql("list sources"))?;
            for (id, name) in enabled {
                if !specs.iter().any(|s| s.name == name) {
                    tx.execute("UPDATE sources SET enabled = 0 WHERE id = ?1", [id])
                        .map_err(sql("disable source"))?;
                }
            }
        }
        tx.commit().map_err(sql("commit source sync"))?;
        self.sources()
    }

    pub(super) fn sources(&self) -> Result<Vec<SourceState>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {SOURCE_COLUMNS} FROM sources ORDER BY name"
            ))
            .map_err(sql("list sources"))?;
        stmt.query_map([], source_row)
            .map_err(sql("list sources"))?
            .collect::<Result<_, _>>()
            .map_err(sql("list sources"))
    }

    pub(super) fn due_sources(&self, now: DateTime<Utc>) -> Result<Vec<SourceState>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {SOURCE_COLUMNS} FROM sources
                 WHERE enabled = 1 AND next_poll_at IS NOT NULL AND next_poll_at <= ?1
                 ORDER BY next_poll_at, name"
            ))
            .map_err(sql("list due sources"))?;
        stmt.query_map([time(now)], source_row)
            .map_err(sql("list due sources"))?
            .collect::<Result<_, _>>()
            .map_err(sql("list due sources"))
    }

    pub(super) fn next_poll_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = self
            .conn
            .query_row(
                // A leased source can be claimed once its lease runs out.
                "SELECT min(CASE WHEN lease_until > next_poll_at THEN lease_until
                                 ELSE next_poll_at END)
                 FROM sources WHERE enabled = 1",
                [],
                |r| r.get(0),
            )
            .map_err(sql("find next poll"))?;
        Ok(read_time(next))
    }

    pub(super) fn set_next_poll(
        &self,
        source_id: SourceId,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sources SET next_poll_at = ?2 WHERE id = ?1",
                params![source_id, opt_time(at)],
            )
            .map_err(sql("set next poll"))?;
        Ok(())
    }

    pub(super) fn finish_poll(&self, record: &PollRecord) -> Result<bool, StoreError> {
        let polled = time(record.polled_at);
        let next = opt_time(record.next_poll_at);
        // `IS`: a poll without a lease matches a source nobody holds.
        let updated = match &record.outcome {
            PollOutcome::Success {
                etag,
                last_modified,
                body_sha256,
            } => self.conn.execute(
                "UPDATE sources SET last_polled_at = ?2, last_success_at = ?2, next_poll_at = ?3,
                     etag = ?4, last_modified = ?5, last_body_sha256 = ?6,
                     error_count = 0, last_error = NULL, last_error_at = NULL,
                     poll_interval_s = ?7,
                     last_new_at = CASE WHEN ?8 THEN ?2 ELSE last_new_at END,
                     lease_node = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_node IS ?9",
                params![
                    record.source_id,
                    polled,
                    next,
                    etag,
                    last_modified,
                    body_sha256,
                    // Rounded to whole seconds, at least one (the column's CHECK).
                    record.poll_interval.map(|d| {
                        i64::try_from(((d.as_millis() + 500) / 1000).max(1)).unwrap_or(i64::MAX)
                    }),
                    record.found_new,
                    record.lease_node
                ],
            ),
            PollOutcome::Failure { error } => self.conn.execute(
                "UPDATE sources SET last_polled_at = ?2, next_poll_at = ?3,
                     error_count = error_count + 1, last_error = ?4, last_error_at = ?2,
                     lease_node = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_node IS ?5",
                params![record.source_id, polled, next, error, record.lease_node],
            ),
        }
        .map_err(sql("record poll"))?;
        Ok(updated == 1)
    }

    pub(super) fn claim_due_sources(
        &mut self,
        now: DateTime<Utc>,
        lease: &NodeLease,
        limit: usize,
    ) -> Result<Vec<SourceState>, StoreError> {
        // Immediate: the read of what is due and the claim are one write transaction, so
        // a second process claiming at the same time waits and then sees the leases.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin claim"))?;
        let mut claimed = {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "UPDATE sources SET lease_node = ?2, lease_until = ?3
                     WHERE id IN (
                         SELECT id FROM sources
                         WHERE enabled = 1 AND next_poll_at IS NOT NULL AND next_poll_at <= ?1
                           AND (lease_until IS NULL OR lease_until <= ?1)
                         ORDER BY next_poll_at, name
                         LIMIT ?4)
                     RETURNING {SOURCE_COLUMNS}"
                ))
                .map_err(sql("claim due sources"))?;
            stmt.query_map(
                params![
                    time(now),
                    lease.node,
                    time(lease.until),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                source_row,
            )
            .map_err(sql("claim due sources"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql("claim due sources"))?
        };
        tx.commit().map_err(sql("commit claim"))?;
        // RETURNING gives rows in no particular order.
        claimed.sort_by(|a, b| (a.next_poll_at, &a.name).cmp(&(b.next_poll_at, &b.name)));
        Ok(claimed)
    }

    pub(super) fn claim_sources(
        &mut self,
        sources: &[SourceId],
        lease: &NodeLease,
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceState>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin claim"))?;
        let mut claimed = Vec::new();
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "UPDATE sources SET lease_node = ?2, lease_until = ?3
                     WHERE id = ?1 AND (lease_until IS NULL OR lease_until <= ?4)
                     RETURNING {SOURCE_COLUMNS}"
                ))
                .map_err(sql("claim sources"))?;
            for id in sources {
                let row = stmt
                    .query_row(
                        params![id, lease.node, time(lease.until), time(now)],
                        source_row,
                    )
                    .optional()
                    .map_err(sql("claim sources"))?;
                claimed.extend(row);
            }
        }
        tx.commit().map_err(sql("commit claim"))?;
        Ok(claimed)
    }

    pub(super) fn renew_leases(
        &mut self,
        lease: &NodeLease,
        sources: &[SourceId],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin lease renewal"))?;
        let mut renewed = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE sources SET lease_until = ?3 WHERE id = ?1 AND lease_node = ?2",
                )
                .map_err(sql("renew lease"))?;
            for id in sources {
                renewed += stmt
                    .execute(params![id, lease.node, time(lease.until)])
                    .map_err(sql("renew lease"))?;
            }
        }
        tx.execute(
            "UPDATE nodes SET last_seen_at = ?2 WHERE name = ?1",
            params![lease.node, time(now)],
        )
        .map_err(sql("record node heartbeat"))?;
        tx.commit().map_err(sql("commit lease renewal"))?;
        Ok(renewed)
    }

    pub(super) fn release_leases(
        &mut self,
        node: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin lease release"))?;
        tx.execute(
            "UPDATE sources SET lease_node = NULL, lease_until = NULL WHERE lease_node = ?1",
            [node],
        )
        .map_err(sql("release leases"))?;
        tx.execute(
            "UPDATE nodes SET last_seen_at = ?2, stopped_at = ?2 WHERE name = ?1",
            params![node, time(now)],
        )
        .map_err(sql("record node stop"))?;
        tx.commit().map_err(sql("commit lease release"))
    }

    pub(super) fn release_lease(&self, node: &str, source: SourceId) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sources SET lease_node = NULL, lease_until = NULL
                 WHERE id = ?1 AND lease_node = ?2",
                params![source, node],
            )
            .map_err(sql("release lease"))?;
        Ok(())
    }

    pub(super) fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError> {
        read_nodes(&self.conn)
    }

    pub(super) fn register_node(
        &mut self,
        me: &NodeRegistration,
        check: impl FnOnce(&[NodeInfo], &NodeRegistration) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin node registration"))?;
        check(&read_nodes(&tx)?, me)?;
        tx.execute(
            "DELETE FROM nodes WHERE last_seen_at < ?1",
            [time(me.started_at - NODE_RETENTION)],
        )
        .map_err(sql("forget old nodes"))?;
        tx.execute(
            "INSERT INTO nodes (name, version, schema_version, started_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version,
                 schema_version = excluded.schema_version, started_at = excluded.started_at,
                 last_seen_at = excluded.last_seen_at, stopped_at = NULL",
            params![me.name, me.version, SCHEMA_VERSION, time(me.started_at)],
        )
        .map_err(sql("register node"))?;
        tx.commit().map_err(sql("commit node registration"))
    }

    pub(super) fn record_detected_kind(
        &self,
        source_id: SourceId,
        kind: SourceKind,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE sources SET kind = ?2, kind_detected_at = ?3 WHERE id = ?1",
                params![source_id, kind.as_str(), time(at)],
            )
            .map_err(sql("record detected kind"))?;
        Ok(())
    }

    pub(super) fn record_fetch(&self, r: &FetchRecord) -> Result<FetchId, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO fetches (source_id, purpose, url, final_url, started_at,
                     duration_ms, status, bytes, error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut stmt| {
                stmt.execute(params![
                    r.source_id,
                    r.purpose,
                    r.url,
                    r.final_url,
                    time(r.started_at),
                    r.duration_ms,
                    r.status,
                    r.bytes as i64,
                    r.error,
                ])
            })
            .map_err(sql("record fetch"))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub(super) fn item_status(
        &self,
        source_id: SourceId,
        item_key: &str,
        urls: &[String],
    ) -> Result<ItemStatus, StoreError> {
        let seen: Option<(Option<ArticleId>, i64)> = self
            .conn
            .prepare_cached(
                "SELECT article_id, failed_attempts FROM feed_items
                 WHERE source_id = ?1 AND item_key = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![source_id, item_key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(sql("look up feed item"))?;
        match seen {
            Some((Some(_), _)) => return Ok(ItemStatus::Seen),
            Some((None, attempts)) if attempts >= MAX_ITEM_ATTEMPTS => {
                return Ok(ItemStatus::GivenUp);
            }
            _ => {}
        }
        match find_by_urls(&self.conn, urls)? {
            Some(id) => Ok(ItemStatus::KnownArticle(id)),
            None => Ok(ItemStatus::New),
        }
    }

    pub(super) fn record_item_failure(
        &self,
        source_id: SourceId,
        item_key: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO feed_items (source_id, item_key, first_seen_at, failed_attempts, last_error)
                 VALUES (?1, ?2, ?3, 1, ?4)
                 ON CONFLICT (source_id, item_key) DO UPDATE SET
                     failed_attempts = failed_attempts + 1, last_error = excluded.last_error
                 RETURNING failed_attempts",
            )
            .and_then(|mut s| s.query_row(params![source_id, item_key, time(now), error], |r| r.get(0)))
            .map_err(sql("record item failure"))
    }

    pub(super) fn link_to_article(
        &mut self,
        source_id: Option<SourceId>,
        item_key: Option<&str>,
        urls: &[String],
        article_id: ArticleId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(sql("begin link"))?;
        add_urls(&tx, article_id, source_id, urls, now)?;
        if let (Some(source_id), Some(key)) = (source_id, item_key) {
            add_item(&tx, source_id, key, article_id, now)?;
        }
        tx.commit().map_err(sql("commit link"))
    }

    /// `compressed` is the capture body, compressed by the caller (with the dictionary
    /// [`Db::capture_encoder`] gave, or none) before it takes the connection, since
    /// compression is the slow part.
    pub(super) fn archive(
        &mut self,
        a: &NewArticle,
        compressed: Option<&CompressedBody>,
        rules: &StoryRules,
        revisits: &RevisitRules,
    ) -> Result<Archived, StoreError> {
        let authors = serde_json::to_string(&a.authors)
            .map_err(|e| StoreError::Other(format!("encode authors: {e}")))?;
        let now = a.first_seen_at;

        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin archive"))?;
        let lookup = lookup_urls(a);
        let existing = find_existing(&tx, &lookup, a.text_fingerprint.as_deref())?;
        let outcome = match existing {
            Some(id) => Archived::Duplicate(id),
            None => {
                let source_name = source_name(&tx, a.source_id)?;
                let next_revisit = revisits
                    .schedule_for(source_name.as_deref())
                    .next_after(now, now);
                tx.prepare_cached(
                    "INSERT INTO articles (source_id, canonical_url, title, authors,
                         published_at, published_offset, updated_at, updated_offset,
                         first_seen_at, language, site_name, description, text,
                         text_fingerprint, extractor, next_revisit_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                         ?16)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        a.source_id,
                        a.canonical_url,
                        a.title,
                        authors,
                        a.published_at.map(|t| time(t.with_timezone(&Utc))),
                        a.published_at.map(|t| t.offset().to_string()),
                        a.updated_at.map(|t| time(t.with_timezone(&Utc))),
                        a.updated_at.map(|t| t.offset().to_string()),
                        time(now),
                        a.language,
                        a.site_name,
                        a.description,
                        a.text,
                        a.text_fingerprint,
                        a.extractor,
                        opt_time(next_revisit),
                    ])
                })
                .map_err(sql("insert article"))?;
                let id = tx.last_insert_rowid();
                let capture_id = insert_capture(&tx, id, &a.capture, compressed)?;
                let published = a.published_at.map(|t| time(t.with_timezone(&Utc)));
                let updated = a.updated_at.map(|t| time(t.with_timezone(&Utc)));
                insert_version(
                    &tx,
                    &VersionRow {
                        article_id: id,
                        capture_id,
                        title: a.title.as_deref(),
                        text: &a.text,
                        published_at: published.as_deref(),
                        published_offset: a.published_at.map(|t| t.offset().to_string()),
                        updated_at: updated.as_deref(),
                        updated_offset: a.updated_at.map(|t| t.offset().to_string()),
                        seen_at: now,
                    },
                )?;
                let fingerprint = a.story_fingerprint.as_ref();
                let seen_at = time(now);
                join_story(
                    &tx,
                    id,
                    a.source_id,
                    a.title.as_deref(),
                    &seen_at,
                    fingerprint,
                    rules,
                )?;
                Archived::New(id)
            }
        };
        let id = match outcome {
            Archived::New(id) | Archived::Duplicate(id) => id,
        };
        add_urls(&tx, id, a.source_id, &lookup, now)?;
        if let (Some(source_id), Some(key)) = (a.source_id, &a.item_key) {
            add_item(&tx, source_id, key, id, now)?;
        }
        tx.commit().map_err(sql("commit archive"))?;
        Ok(outcome)
    }

    pub(super) fn stats(&self, now: DateTime<Utc>) -> Result<Stats, StoreError> {
        let count = |query: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(query, [], |r| r.get::<_, Option<i64>>(0))
                .map(Option::unwrap_or_default)
                .map_err(sql("count"))
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, s.enabled, count(a.id), s.last_success_at, s.error_count, s.last_error,
                     s.last_error_at, s.last_polled_at, s.next_poll_at, s.kind,
                     s.kind_detected_at IS NOT NULL, s.poll_interval_s, s.last_new_at
                 FROM sources s LEFT JOIN articles a ON a.source_id = s.id
                 GROUP BY s.id ORDER BY s.name",
            )
            .map_err(sql("per-source stats"))?;
        let mut per_source: Vec<SourceStats> = stmt
            .query_map([], |r| {
                Ok(SourceStats {
                    name: r.get(0)?,
                    enabled: r.get(1)?,
                    articles: r.get(2)?,
                    last_success_at: r.get(3)?,
                    error_count: r.get(4)?,
                    last_error: r.get(5)?,
                    last_error_at: r.get(6)?,
                    last_polled_at: r.get(7)?,
                    next_poll_at: r.get(8)?,
                    kind: r.get(9)?,
                    kind_detected: r.get(10)?,
                    poll_interval_s: r.get(11)?,
                    last_new_at: r.get(12)?,
                    recent_days: Vec::new(),
                })
            })
            .map_err(sql("per-source stats"))?
            .collect::<Result<_, _>>()
            .map_err(sql("per-source stats"))?;
        // Articles archived per day over the last RECENT_DAYS days (UTC), oldest first,
        // days without any included as zero.
        let today = now.date_naive();
        let days: Vec<String> = (0..super::RECENT_DAYS)
            .rev()
            .filter_map(|back| today.checked_sub_days(chrono::Days::new(back)))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        let from = days.first().map(|d| format!("{d}T00:00:00.000Z"));
        let mut daily = self
            .conn
            .prepare(
                "SELECT s.name, date(a.first_seen_at) AS day, count(*)
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE a.first_seen_at >= ?1
                 GROUP BY s.id, day",
            )
            .map_err(sql("per-source daily counts"))?;
        let counts: Vec<(String, Option<String>, i64)> = daily
            .query_map([from], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql("per-source daily counts"))?
            .collect::<Result<_, _>>()
            .map_err(sql("per-source daily counts"))?;
        for source in &mut per_source {
            source.recent_days = days
                .iter()
                .map(|day| DayCount {
                    day: day.clone(),
                    articles: counts
                        .iter()
                        .filter(|(name, d, _)| *name == source.name && d.as_deref() == Some(day))
                        .map(|(_, _, n)| *n)
                        .sum(),
                })
                .collect();
        }
        Ok(Stats {
            schema_version: count("PRAGMA user_version")?,
            sources: count("SELECT count(*) FROM sources")?,
            sources_enabled: count("SELECT count(*) FROM sources WHERE enabled = 1")?,
            sources_failing: count(
                "SELECT count(*) FROM sources WHERE enabled = 1 AND error_count > 0",
            )?,
            articles: count("SELECT count(*) FROM articles")?,
            article_urls: count("SELECT count(*) FROM article_urls")?,
            articles_edited: count(
                "SELECT count(DISTINCT article_id) FROM article_version_rows WHERE version > 1",
            )?,
            later_versions: count("SELECT count(*) FROM article_version_rows WHERE version > 1")?,
            articles_removed: count("SELECT count(*) FROM articles WHERE removed_at IS NOT NULL")?,
            captures: count("SELECT count(*) FROM captures")?,
            capture_bytes_raw: count("SELECT sum(body_size) FROM captures")?,
            capture_bytes_stored: count("SELECT sum(length(body_zstd)) FROM captures")?,
            fetches: count("SELECT count(*) FROM fetches")?,
            fetch_errors: count("SELECT count(*) FROM fetches WHERE error IS NOT NULL")?,
            database_bytes: count(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )?,
            per_source,
        })
    }
}

/// The article's date for filters: publication time when known, else archiving time.
/// Filter parameters are named and always bound (NULL for "no filter"), never spliced.
const ARTICLE_FILTER: &str =
    "(:source IS NULL OR a.source_id = (SELECT id FROM sources WHERE name = :source))
     AND (:since IS NULL OR coalesce(a.published_at, a.first_seen_at) >= :since)
     AND (:until IS NULL OR coalesce(a.published_at, a.first_seen_at) < :until)
     AND (:lang IS NULL OR a.language = :lang)";

const ARTICLE_COLUMNS: &str = "a.id, a.source_id, s.name, a.canonical_url, a.title, a.authors,
     a.published_at, a.published_offset, a.updated_at, a.updated_offset, a.first_seen_at,
     a.language, a.site_name, a.description, a.text, a.text_fingerprint, a.extractor,
     a.story_id, (SELECT count(*) FROM article_version_rows v WHERE v.article_id = a.id),
     a.last_checked_at, a.next_revisit_at, a.removed_at, a.removed_status";

const CAPTURE_COLUMNS: &str = "c.id, c.article_id, c.url, c.fetched_at, c.status, c.headers,
     c.content_type, c.charset, c.body_size, c.body_sha256";

/// bm25 with weights for the `title` and `text` columns (a word in the title counts five
/// times as much as one in the body), each phrase's matches counted only up to a bound
/// ([`rank`]): FTS5's own `bm25()` reads a common word's whole posting list to count them.
const SEARCH_RANK: &str = "newsvault_bm25(articles_fts,
     (SELECT min(id) FROM articles), (SELECT max(id) FROM articles), 5.0, 1.0)";

/// Words around the best match in a snippet (FTS5 allows up to 64).
const SNIPPET_TOKENS: i64 = 24;

/// Most matches of one query that search ranks by relevance: the most recently archived
/// ones. Scoring is linear in the matches it ranks, so a word found in much of a large
/// archive would otherwise cost time in proportion to the archive (measured in
/// docs/performance-log.md: 555 ms at 100,000 articles for such words); a query with fewer
/// matches is ranked whole, as before. Also how many matches of each phrase relevance
/// counts before it estimates ([`rank`]), so that counting costs no more than ranking.
const RANKED_MATCHES: i64 = 5_000;

/// An error about a stored value that does not parse (a column's CHECK should prevent it).
fn read_nodes(conn: &Connection) -> Result<Vec<NodeInfo>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, version, schema_version, started_at, last_seen_at, stopped_at
             FROM nodes ORDER BY name",
        )
        .map_err(sql("list nodes"))?;
    stmt.query_map([], |row| {
        Ok(NodeInfo {
            name: row.get(0)?,
            version: row.get(1)?,
            schema_version: row.get(2)?,
            started_at: required_time(row, 3)?,
            last_seen_at: required_time(row, 4)?,
            stopped_at: optional_time(row, 5)?,
        })
    })
    .map_err(sql("list nodes"))?
    .collect::<Result<_, _>>()
    .map_err(sql("list nodes"))
}

/// The schema version of the archive at `path` without changing it (0: no archive yet).
pub(super) fn schema_version_of(path: &Path) -> Result<i64, StoreError> {
    if !path.exists() {
        return Ok(0);
    }
    let open_error = |e: rusqlite::Error| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(open_error)?;
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_error)
}

fn bad_column(index: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, message.into())
}

fn required_time(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(index)?;
    from_db_time(&text).ok_or_else(|| bad_column(index, format!("not a timestamp: {text:?}")))
}

fn optional_time(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(index)?;
    match text {
        None => Ok(None),
        Some(text) => from_db_time(&text)
            .map(Some)
            .ok_or_else(|| bad_column(index, format!("not a timestamp: {text:?}"))),
    }
}

fn article_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ArticleRecord> {
    let authors: String = row.get(5)?;
    let authors: Vec<String> = serde_json::from_str(&authors)
        .map_err(|e| bad_column(5, format!("authors is not a JSON array of text: {e}")))?;
    Ok(ArticleRecord {
        id: row.get(0)?,
        source_id: row.get(1)?,
        source: row.get(2)?,
        canonical_url: row.get(3)?,
        urls: Vec::new(),
        title: row.get(4)?,
        authors,
        published_at: optional_time(row, 6)?,
        published_offset: row.get(7)?,
        updated_at: optional_time(row, 8)?,
        updated_offset: row.get(9)?,
        first_seen_at: required_time(row, 10)?,
        language: row.get(11)?,
        site_name: row.get(12)?,
        description: row.get(13)?,
        text: row.get(14)?,
        text_fingerprint: row.get(15)?,
        extractor: row.get(16)?,
        story_id: row.get(17)?,
        versions: row.get(18)?,
        last_checked_at: optional_time(row, 19)?,
        next_revisit_at: optional_time(row, 20)?,
        removed_at: optional_time(row, 21)?,
        removed_status: row.get(22)?,
    })
}

fn capture_info_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CaptureInfo> {
    let headers: String = row.get(5)?;
    let headers: Vec<(String, String)> = serde_json::from_str(&headers)
        .map_err(|e| bad_column(5, format!("headers are not [name, value] pairs: {e}")))?;
    let size: i64 = row.get(8)?;
    Ok(CaptureInfo {
        id: row.get(0)?,
        article_id: row.get(1)?,
        url: row.get(2)?,
        fetched_at: required_time(row, 3)?,
        status: row.get(4)?,
        headers,
        content_type: row.get(6)?,
        charset: row.get(7)?,
        body_size: u64::try_from(size).unwrap_or(0),
        body_sha256: row.get(9)?,
    })
}

/// A capture row as stored (CAPTURE_COLUMNS then body_zstd and dictionary_id), before
/// decompression, which may need the dictionary from another table.
struct StoredCapture {
    info: CaptureInfo,
    compressed: Vec<u8>,
    dictionary_id: Option<i64>,
}

fn stored_capture_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCapture> {
    Ok(StoredCapture {
        info: capture_info_row(row)?,
        compressed: row.get(10)?,
        dictionary_id: row.get(11)?,
    })
}

/// The filter's values, in the archive's time format, for ARTICLE_FILTER's parameters.
struct FilterValues {
    source: Option<String>,
    since: Option<String>,
    until: Option<String>,
    lang: Option<String>,
}

impl FilterValues {
    fn new(f: &ArticleFilter) -> FilterValues {
        FilterValues {
            source: f.source.clone(),
            since: opt_time(f.since),
            until: opt_time(f.until),
            lang: f.language.clone(),
        }
    }
}

/// Whether a failure running a MATCH is the query's fault (FTS5 syntax, unknown column)
/// rather than the archive's.
fn is_query_error(error: &rusqlite::Error) -> Option<String> {
    match error {
        rusqlite::Error::SqliteFailure(e, message) if e.code == rusqlite::ErrorCode::Unknown => {
            Some(message.clone().unwrap_or_else(|| "syntax error".into()))
        }
        _ => None,
    }
}

/// Extracted fields in the form the `articles` columns hold them: authors as JSON text,
/// instants as the archive's time text.
type FieldValues = super::ArticleFields<String, String>;

impl Db {
    pub(super) fn search(&self, request: &SearchRequest) -> Result<Vec<SearchHit>, StoreError> {
        // Bounded work whatever the number of matches, and one pass over the index per
        // step (a prefix query costs a pass however few rows it returns): the newest
        // `ranked_matches` matches with their bm25 score (FTS5 walks its index newest first
        // and stops there); the best `limit` of them; then snippets for those rows only,
        // in one pass over the rowid range they span (CROSS JOIN keeps the index outside,
        // so it is not queried once per row, and `articles` after `best`: SQLite 3.53
        // otherwise reads every match's row in the range before checking it is one of the
        // best). The ranking pass reads `articles` only when
        // a filter needs its columns: in a large archive those rows are scattered over the
        // file, and reading thousands of them cost more than the ranking (measured in
        // docs/performance-log.md, "Growth").
        let filtered = !request.filter.is_empty();
        let ranked_from = if filtered {
            format!(
                "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid
                 WHERE articles_fts MATCH :expression AND {ARTICLE_FILTER}"
            )
        } else {
            "FROM articles_fts WHERE articles_fts MATCH :expression".to_string()
        };
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "WITH recent AS MATERIALIZED (
                     SELECT articles_fts.rowid AS id, {SEARCH_RANK} AS score
                     {ranked_from}
                     ORDER BY articles_fts.rowid DESC
                     LIMIT :ranked
                 ),
                 best AS MATERIALIZED (
                     SELECT id, score FROM recent ORDER BY score, id LIMIT :limit
                 )
                 SELECT a.id, s.name, a.title, a.canonical_url, a.published_at, a.first_seen_at,
                     a.language,
                     snippet(articles_fts, -1, :open, :close, '…', {SNIPPET_TOKENS}),
                     best.score
                 FROM articles_fts
                 CROSS JOIN best ON best.id = +articles_fts.rowid
                 CROSS JOIN articles a ON a.id = best.id
                 LEFT JOIN sources s ON s.id = a.source_id
                 WHERE articles_fts MATCH :expression
                     AND articles_fts.rowid BETWEEN (SELECT min(id) FROM best)
                         AND (SELECT max(id) FROM best)
                 ORDER BY best.score, best.id"
            ))
            .map_err(sql("prepare search"))?;
        let f = FilterValues::new(&request.filter);
        let bad_query = |e: rusqlite::Error| match is_query_error(&e) {
            Some(message) => StoreError::BadQuery {
                query: request.expression.clone(),
                message,
            },
            None => StoreError::Sql {
                operation: "search",
                source: e,
            },
        };
        let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
            (":open", &request.highlight.0),
            (":close", &request.highlight.1),
            (":expression", &request.expression),
            (":limit", &request.limit),
            (":ranked", &self.ranked_matches),
        ];
        if filtered {
            params.extend([
                (":source", &f.source as &dyn rusqlite::ToSql),
                (":since", &f.since),
                (":until", &f.until),
                (":lang", &f.lang),
            ]);
        }
        let rows = stmt
            .query_map(params.as_slice(), |r| {
                Ok(SearchHit {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    title: r.get(2)?,
                    canonical_url: r.get(3)?,
                    published_at: optional_time(r, 4)?,
                    first_seen_at: required_time(r, 5)?,
                    language: r.get(6)?,
                    snippet: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
                    score: r.get(8)?,
                })
            })
            .map_err(bad_query)?;
        rows.collect::<Result<_, _>>().map_err(bad_query)
    }

    pub(super) fn find_article(&self, key: &ArticleKey) -> Result<Option<ArticleId>, StoreError> {
        match key {
            ArticleKey::Id(id) => self
                .conn
                .query_row("SELECT id FROM articles WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(sql("look up article")),
            ArticleKey::Urls(urls) => find_by_urls(&self.conn, urls),
            ArticleKey::CaptureBody(sha256) => self
                .conn
                .prepare_cached(
                    "SELECT article_id FROM captures WHERE body_sha256 = ?1 ORDER BY id LIMIT 1",
                )
                .and_then(|mut s| s.query_row([sha256], |r| r.get(0)).optional())
                .map_err(sql("look up capture body")),
        }
    }

    fn article_urls(&self, id: ArticleId) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT url FROM article_urls WHERE article_id = ?1 ORDER BY first_seen_at, url",
            )
            .map_err(sql("list article urls"))?;
        stmt.query_map([id], |r| r.get(0))
            .map_err(sql("list article urls"))?
            .collect::<Result<_, _>>()
            .map_err(sql("list article urls"))
    }

    pub(super) fn article(&self, id: ArticleId) -> Result<Option<ArticleRecord>, StoreError> {
        let found = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ARTICLE_COLUMNS} FROM articles a
                 LEFT JOIN sources s ON s.id = a.source_id WHERE a.id = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([id], article_row).optional())
            .map_err(sql("read article"))?;
        match found {
            None => Ok(None),
            Some(mut article) => {
                article.urls = self.article_urls(id)?;
                Ok(Some(article))
            }
        }
    }

    pub(super) fn articles_page(
        &self,
        filter: &ArticleFilter,
        after: ArticleId,
        limit: u32,
    ) -> Result<Vec<ArticleRecord>, StoreError> {
        let f = FilterValues::new(filter);
        let mut page: Vec<ArticleRecord> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ARTICLE_COLUMNS} FROM articles a
                 LEFT JOIN sources s ON s.id = a.source_id
                 WHERE a.id > :after AND {ARTICLE_FILTER}
                 ORDER BY a.id LIMIT :limit"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(
                    rusqlite::named_params! {
                        ":after": after,
                        ":source": f.source,
                        ":since": f.since,
                        ":until": f.until,
                        ":lang": f.lang,
                        ":limit": limit,
                    },
                    article_row,
                )?
                .collect()
            })
            .map_err(sql("read articles"))?;
        for article in &mut page {
            article.urls = self.article_urls(article.id)?;
        }
        Ok(page)
    }

    pub(super) fn captures_of(&self, article: ArticleId) -> Result<Vec<CaptureInfo>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {CAPTURE_COLUMNS} FROM captures c
                 WHERE c.article_id = ?1 ORDER BY c.fetched_at, c.id"
            ))
            .and_then(|mut stmt| stmt.query_map([article], capture_info_row)?.collect())
            .map_err(sql("list captures"))
    }

    pub(super) fn latest_capture(
        &mut self,
        article: ArticleId,
    ) -> Result<Option<Capture>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {CAPTURE_COLUMNS}, c.body_zstd, c.dictionary_id FROM captures c
                 WHERE c.article_id = ?1 ORDER BY c.fetched_at DESC, c.id DESC LIMIT 1"
            ))
            .and_then(|mut stmt| stmt.query_row([article], stored_capture_row).optional())
            .map_err(sql("read capture"))?
            .map(|stored| self.decompress_capture(stored))
            .transpose()
    }

    pub(super) fn captures_page(
        &mut self,
        filter: &ArticleFilter,
        after: CaptureId,
        limit: u32,
    ) -> Result<Vec<Capture>, StoreError> {
        let f = FilterValues::new(filter);
        let stored: Vec<StoredCapture> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {CAPTURE_COLUMNS}, c.body_zstd, c.dictionary_id FROM captures c
                 JOIN articles a ON a.id = c.article_id
                 WHERE c.id > :after AND {ARTICLE_FILTER}
                 ORDER BY c.id LIMIT :limit"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(
                    rusqlite::named_params! {
                        ":after": after,
                        ":source": f.source,
                        ":since": f.since,
                        ":until": f.until,
                        ":lang": f.lang,
                        ":limit": limit,
                    },
                    stored_capture_row,
                )?
                .collect()
            })
            .map_err(sql("read captures"))?;
        stored
            .into_iter()
            .map(|c| self.decompress_capture(c))
            .collect()
    }

    pub(super) fn update_extracted(
        &mut self,
        id: ArticleId,
        fields: &ExtractedFields,
        rules: &StoryRules,
    ) -> Result<Reextracted, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin re-extraction"))?;
        let outcome = apply_extracted(&tx, id, fields, rules)?;
        tx.commit().map_err(sql("commit re-extraction"))?;
        Ok(outcome)
    }
}

/// Writes extracted fields to an article where they differ from the stored ones (the
/// full-text index follows), records the extractor and refreshes the story fingerprint,
/// inside the caller's transaction.
fn apply_extracted(
    tx: &Connection,
    id: ArticleId,
    fields: &ExtractedFields,
    rules: &StoryRules,
) -> Result<Reextracted, StoreError> {
    let extractor = fields.extractor.as_str();
    let authors = serde_json::to_string(&fields.authors)
        .map_err(|e| StoreError::Other(format!("encode authors of article {id}: {e}")))?;
    let new = FieldValues {
        title: fields.title.clone(),
        authors,
        published_at: fields.published_at.map(|t| time(t.with_timezone(&Utc))),
        published_offset: fields.published_at.map(|t| t.offset().to_string()),
        updated_at: fields.updated_at.map(|t| time(t.with_timezone(&Utc))),
        updated_offset: fields.updated_at.map(|t| t.offset().to_string()),
        language: fields.language.clone(),
        site_name: fields.site_name.clone(),
        description: fields.description.clone(),
        text: fields.text.clone(),
        text_fingerprint: fields.text_fingerprint.clone(),
    };
    let current: Option<(FieldValues, String)> = tx
        .query_row(
            "SELECT title, authors, published_at, published_offset, updated_at,
                 updated_offset, language, site_name, description, text, text_fingerprint,
                 extractor
             FROM articles WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    FieldValues {
                        title: r.get(0)?,
                        authors: r.get(1)?,
                        published_at: r.get(2)?,
                        published_offset: r.get(3)?,
                        updated_at: r.get(4)?,
                        updated_offset: r.get(5)?,
                        language: r.get(6)?,
                        site_name: r.get(7)?,
                        description: r.get(8)?,
                        text: r.get(9)?,
                        text_fingerprint: r.get(10)?,
                    },
                    r.get(11)?,
                ))
            },
        )
        .optional()
        .map_err(sql("read article for re-extraction"))?;
    let Some((old, old_extractor)) = current else {
        return Ok(Reextracted::Missing);
    };
    // A fingerprint another article already holds means the two are one story; this
    // one keeps none rather than breaking the unique index.
    let mut new = new;
    let mut clash = None;
    if let Some(fp) = &new.text_fingerprint
        && old.text_fingerprint.as_deref() != Some(fp.as_str())
    {
        clash = tx
            .query_row(
                "SELECT id FROM articles WHERE text_fingerprint = ?1 AND id <> ?2",
                params![fp, id],
                |r| r.get::<_, ArticleId>(0),
            )
            .optional()
            .map_err(sql("look up fingerprint"))?;
        if clash.is_some() {
            new.text_fingerprint = None;
        }
    }
    let mut changed = new.changed_from(&old);
    let story_changes = refresh_story(
        tx,
        id,
        fields.story_fingerprint.as_ref(),
        new.title.as_deref(),
        rules,
    )?;
    if changed.is_empty() {
        if old_extractor != extractor {
            tx.execute(
                "UPDATE articles SET extractor = ?2 WHERE id = ?1",
                params![id, extractor],
            )
            .map_err(sql("record extractor"))?;
        }
        return Ok(if story_changes.is_empty() {
            Reextracted::Unchanged
        } else {
            Reextracted::Changed(story_changes)
        });
    }
    tx.execute(
        "UPDATE articles SET title = ?2, authors = ?3, published_at = ?4,
             published_offset = ?5, updated_at = ?6, updated_offset = ?7, language = ?8,
             site_name = ?9, description = ?10, text = ?11, text_fingerprint = ?12,
             extractor = ?13
         WHERE id = ?1",
        params![
            id,
            new.title,
            new.authors,
            new.published_at,
            new.published_offset,
            new.updated_at,
            new.updated_offset,
            new.language,
            new.site_name,
            new.description,
            new.text,
            new.text_fingerprint,
            extractor,
        ],
    )
    .map_err(sql("update article"))?;
    changed.extend(story_changes);
    Ok(match clash {
        Some(other) => Reextracted::FingerprintClash { changed, other },
        None => Reextracted::Changed(changed),
    })
}

/// Every URL an article is looked up by and recorded under: its URLs and its canonical URL.
fn lookup_urls(a: &NewArticle) -> Vec<String> {
    let mut lookup: Vec<String> = a.urls.clone();
    if !lookup.contains(&a.canonical_url) {
        lookup.push(a.canonical_url.clone());
    }
    lookup
}

/// The archived article `urls` or the text fingerprint lead to: what makes a new article
/// a duplicate.
fn find_existing(
    conn: &Connection,
    urls: &[String],
    text_fingerprint: Option<&str>,
) -> Result<Option<ArticleId>, StoreError> {
    if let Some(id) = find_by_urls(conn, urls)? {
        return Ok(Some(id));
    }
    match text_fingerprint {
        Some(fp) => conn
            .prepare_cached("SELECT id FROM articles WHERE text_fingerprint = ?1")
            .and_then(|mut s| s.query_row([fp], |r| r.get(0)).optional())
            .map_err(sql("look up fingerprint")),
        None => Ok(None),
    }
}

impl Db {
    /// The archived article `a` would be a duplicate of, read outside any transaction: a
    /// cheap check that spares compressing the capture of a page already archived. Only
    /// [`Db::archive`]'s own check, in its transaction, decides.
    pub(super) fn known_article(&self, a: &NewArticle) -> Result<Option<ArticleId>, StoreError> {
        find_existing(&self.conn, &lookup_urls(a), a.text_fingerprint.as_deref())
    }
}

/// The article any of `urls` already leads to.
fn find_by_urls(conn: &Connection, urls: &[String]) -> Result<Option<ArticleId>, StoreError> {
    let mut by_url = conn
        .prepare_cached("SELECT article_id FROM article_urls WHERE url = ?1")
        .map_err(sql("look up url"))?;
    let mut by_canonical = conn
        .prepare_cached("SELECT id FROM articles WHERE canonical_url = ?1")
        .map_err(sql("look up url"))?;
    for url in urls {
        let found: Option<ArticleId> = by_url
            .query_row([url], |r| r.get(0))
            .optional()
            .map_err(sql("look up url"))?;
        if found.is_some() {
            return Ok(found);
        }
        let found: Option<ArticleId> = by_canonical
            .query_row([url], |r| r.get(0))
            .optional()
            .map_err(sql("look up url"))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

fn add_urls(
    tx: &Transaction<'_>,
    article_id: ArticleId,
    source_id: Option<SourceId>,
    urls: &[String],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO article_urls (url, article_id, source_id, first_seen_at)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql("record url"))?;
    for url in urls {
        stmt.execute(params![url, article_id, source_id, time(now)])
            .map_err(sql("record url"))?;
    }
    Ok(())
}

fn add_item(
    tx: &Transaction<'_>,
    source_id: SourceId,
    item_key: &str,
    article_id: ArticleId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO feed_items (source_id, item_key, article_id, first_seen_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (source_id, item_key) DO UPDATE SET article_id = excluded.article_id",
    )
    .and_then(|mut s| s.execute(params![source_id, item_key, article_id, time(now)]))
    .map_err(sql("record feed item"))?;
    Ok(())
}

// ------------------------------------------------------------------ stories

/// One band's bucket in a near-duplicate lookup: at most 64 articles, newest first. A
/// bucket larger than this is boilerplate many texts share, which says little about any
/// one of them; the cap keeps a lookup's work bounded however large the archive grows.
/// The limit is written into the text rather than bound: SQLite plans with the value
/// bound to a `LIMIT ?` and prepares the statement again whenever that parameter is bound
/// anew, which a lookup did for each of its 42 bands (2.4 % of a backfill's CPU in
/// SQLite's parser).
const BAND_BUCKET_QUERY: &str = "SELECT article_id FROM story_bands WHERE band = ?1 AND hash = ?2
     ORDER BY article_id DESC LIMIT 64";

/// Candidates whose fingerprints are compared in one lookup, those sharing most bands
/// first.
const MAX_CANDIDATES: usize = 32;

/// A band's key as stored: its index, and its 32-bit hash as a signed 32-bit integer (the
/// 4-byte integer form SQLite stores most compactly).
fn band_key(band: usize, hash: u32) -> (i64, i64) {
    (band as i64, i64::from(hash as i32))
}

fn read_fingerprint(scheme: u32, words: u32, shingles: u32, minhash: &[u8]) -> Option<Fingerprint> {
    Fingerprint::from_stored(scheme, words, shingles, minhash)
}

/// The archived articles within `rules` of `fingerprint`, most similar first (then
/// oldest), at most `limit`. Only articles sharing a band are read.
fn find_near_duplicates(
    conn: &Connection,
    fingerprint: &Fingerprint,
    rules: &StoryRules,
    exclude: Option<ArticleId>,
    limit: usize,
) -> Result<Vec<NearDuplicate>, StoreError> {
    if !rules.comparable(fingerprint) {
        return Ok(Vec::new());
    }
    let mut shared_bands: HashMap<ArticleId, u32> = HashMap::new();
    {
        let mut bucket = conn
            .prepare_cached(BAND_BUCKET_QUERY)
            .map_err(sql("look up story bands"))?;
        for (band, hash) in fingerprint.bands().into_iter().enumerate() {
            let (band, hash) = band_key(band, hash);
            let ids = bucket
                .query_map(params![band, hash], |r| r.get::<_, ArticleId>(0))
                .map_err(sql("look up story bands"))?;
            for id in ids {
                *shared_bands
                    .entry(id.map_err(sql("look up story bands"))?)
                    .or_default() += 1;
            }
        }
    }
    if let Some(exclude) = exclude {
        shared_bands.remove(&exclude);
    }
    let mut candidates: Vec<(ArticleId, u32)> = shared_bands.into_iter().collect();
    candidates.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    candidates.truncate(MAX_CANDIDATES);
    let mut read = conn
        .prepare_cached(
            "SELECT f.scheme, f.words, f.shingles, f.minhash, a.story_id
             FROM article_fingerprints f JOIN articles a ON a.id = f.article_id
             WHERE f.article_id = ?1",
        )
        .map_err(sql("read fingerprint"))?;
    let mut found = Vec::new();
    for (id, _) in candidates {
        let row: Option<(Option<Fingerprint>, Option<StoryId>)> = read
            .query_row([id], |r| {
                let minhash: Vec<u8> = r.get(3)?;
                Ok((
                    read_fingerprint(r.get(0)?, r.get(1)?, r.get(2)?, &minhash),
                    r.get(4)?,
                ))
            })
            .optional()
            .map_err(sql("read fingerprint"))?;
        // No row: a band left behind by a deleted article. No fingerprint: a damaged blob.
        let Some((Some(other), story_id)) = row else {
            continue;
        };
        if let Some(score) = rules.score(fingerprint, &other)
            && score >= rules.threshold
        {
            found.push(NearDuplicate {
                article_id: id,
                story_id,
                score,
            });
        }
    }
    found.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.article_id.cmp(&b.article_id))
    });
    found.truncate(limit);
    Ok(found)
}

/// Deletes an article's fingerprint and its bands (found from the stored signature, so
/// the band index needs no second index by article).
fn remove_fingerprint(conn: &Connection, article_id: ArticleId) -> Result<(), StoreError> {
    let stored: Option<(u32, u32, u32, Vec<u8>)> = conn
        .prepare_cached(
            "SELECT scheme, words, shingles, minhash FROM article_fingerprints
             WHERE article_id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([article_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
        })
        .map_err(sql("read fingerprint"))?;
    let Some((scheme, words, shingles, minhash)) = stored else {
        return Ok(());
    };
    match read_fingerprint(scheme, words, shingles, &minhash) {
        Some(old) => {
            let mut delete = conn
                .prepare_cached(
                    "DELETE FROM story_bands WHERE band = ?1 AND hash = ?2 AND article_id = ?3",
                )
                .map_err(sql("delete story bands"))?;
            for (band, hash) in old.bands().into_iter().enumerate() {
                let (band, hash) = band_key(band, hash);
                delete
                    .execute(params![band, hash, article_id])
                    .map_err(sql("delete story bands"))?;
            }
        }
        None => {
            // A damaged signature: find its bands the slow way.
            conn.execute(
                "DELETE FROM story_bands WHERE article_id = ?1",
                [article_id],
            )
            .map_err(sql("delete story bands"))?;
        }
    }
    conn.execute(
        "DELETE FROM article_fingerprints WHERE article_id = ?1",
        [article_id],
    )
    .map_err(sql("delete fingerprint"))?;
    Ok(())
}

/// Stores an article's fingerprint and its bands, replacing any it had.
fn put_fingerprint(
    conn: &Connection,
    article_id: ArticleId,
    fingerprint: &Fingerprint,
) -> Result<(), StoreError> {
    remove_fingerprint(conn, article_id)?;
    conn.prepare_cached(
        "INSERT INTO article_fingerprints (article_id, scheme, words, shingles, minhash)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| {
        s.execute(params![
            article_id,
            fingerprint.scheme,
            fingerprint.words,
            fingerprint.shingles,
            fingerprint.minhash_bytes(),
        ])
    })
    .map_err(sql("record fingerprint"))?;
    let mut insert = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO story_bands (band, hash, article_id) VALUES (?1, ?2, ?3)",
        )
        .map_err(sql("record story bands"))?;
    for (band, hash) in fingerprint.bands().into_iter().enumerate() {
        let (band, hash) = band_key(band, hash);
        insert
            .execute(params![band, hash, article_id])
            .map_err(sql("record story bands"))?;
    }
    Ok(())
}

/// Gives an article without a story its story: that of its most similar archived
/// article within `rules`, or a new one it starts. Then records its fingerprint, so later
/// articles can find it. `seen_at` is the article's `first_seen_at`, as stored.
fn join_story(
    conn: &Connection,
    article_id: ArticleId,
    source_id: Option<SourceId>,
    title: Option<&str>,
    seen_at: &str,
    fingerprint: Option<&Fingerprint>,
    rules: &StoryRules,
) -> Result<StoryId, StoreError> {
    let fingerprint = fingerprint.filter(|f| rules.comparable(f));
    let joined = match fingerprint {
        Some(fp) => find_near_duplicates(conn, fp, rules, Some(article_id), MAX_CANDIDATES)?
            .into_iter()
            .find_map(|d| d.story_id),
        None => None,
    };
    let story_id = match joined {
        Some(story_id) => {
            conn.prepare_cached(
                "UPDATE stories SET member_count = member_count + 1,
                     source_count = source_count + (?2 IS NOT NULL AND NOT EXISTS (
                         SELECT 1 FROM articles
                         WHERE story_id = ?1 AND source_id = ?2 AND id <> ?3)),
                     first_seen_at = min(first_seen_at, ?4),
                     last_seen_at = max(last_seen_at, ?4)
                 WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![story_id, source_id, article_id, seen_at]))
            .map_err(sql("join story"))?;
            story_id
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO stories (first_article_id, title, member_count, source_count,
                     first_seen_at, last_seen_at)
                 VALUES (?1, ?2, 1, ?3 IS NOT NULL, ?4, ?4)",
            )
            .and_then(|mut s| s.execute(params![article_id, title, source_id, seen_at]))
            .map_err(sql("start story"))?;
            conn.last_insert_rowid()
        }
    };
    conn.prepare_cached("UPDATE articles SET story_id = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![article_id, story_id]))
        .map_err(sql("record story"))?;
    match fingerprint {
        Some(fp) => put_fingerprint(conn, article_id, fp)?,
        None => remove_fingerprint(conn, article_id)?,
    }
    Ok(story_id)
}

/// After re-extraction: replaces the article's fingerprint when it changed, and gives an
/// article archived before stories existed its story. An article keeps the story it has.
/// Returns the names of what changed (`story_fingerprint`, `story_id`).
fn refresh_story(
    conn: &Connection,
    article_id: ArticleId,
    fingerprint: Option<&Fingerprint>,
    title: Option<&str>,
    rules: &StoryRules,
) -> Result<Vec<&'static str>, StoreError> {
    let fingerprint = fingerprint.filter(|f| rules.comparable(f));
    type Current = (
        Option<StoryId>,
        Option<SourceId>,
        String,
        Option<Fingerprint>,
    );
    let current: Option<Current> = conn
        .prepare_cached(
            "SELECT a.story_id, a.source_id, a.first_seen_at,
                 f.scheme, f.words, f.shingles, f.minhash
             FROM articles a LEFT JOIN article_fingerprints f ON f.article_id = a.id
             WHERE a.id = ?1",
        )
        .and_then(|mut s| {
            s.query_row([article_id], |r| {
                let stored = match r.get::<_, Option<Vec<u8>>>(6)? {
                    Some(minhash) => read_fingerprint(r.get(3)?, r.get(4)?, r.get(5)?, &minhash),
                    None => None,
                };
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, stored))
            })
            .optional()
        })
        .map_err(sql("read story of article"))?;
    let Some((story_id, source_id, seen_at, stored)) = current else {
        return Ok(Vec::new());
    };
    let mut changed = Vec::new();
    if stored.as_ref() != fingerprint {
        changed.push("story_fingerprint");
    }
    if story_id.is_none() {
        join_story(
            conn,
            article_id,
            source_id,
            title,
            &seen_at,
            fingerprint,
            rules,
        )?;
        changed.push("story_id");
    } else if !changed.is_empty() {
        match fingerprint {
            Some(fp) => put_fingerprint(conn, article_id, fp)?,
            None => remove_fingerprint(conn, article_id)?,
        }
    }
    Ok(changed)
}

fn story_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StorySummary> {
    Ok(StorySummary {
        id: r.get(0)?,
        title: r.get(1)?,
        first_article_id: r.get(2)?,
        articles: r.get(3)?,
        first_seen_at: required_time(r, 4)?,
        last_seen_at: required_time(r, 5)?,
        sources: Vec::new(),
    })
}

const STORY_COLUMNS: &str =
    "id, title, first_article_id, member_count, first_seen_at, last_seen_at";

impl Db {
    pub(super) fn near_duplicates(
        &self,
        fingerprint: &Fingerprint,
        rules: &StoryRules,
        exclude: Option<ArticleId>,
        limit: usize,
    ) -> Result<Vec<NearDuplicate>, StoreError> {
        find_near_duplicates(&self.conn, fingerprint, rules, exclude, limit)
    }

    fn story_sources(&self, story: StoryId) -> Result<Vec<StorySource>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT s.name, count(*) FROM articles a
                 LEFT JOIN sources s ON s.id = a.source_id
                 WHERE a.story_id = ?1
                 GROUP BY a.source_id ORDER BY min(a.first_seen_at), min(a.id)",
            )
            .and_then(|mut stmt| {
                stmt.query_map([story], |r| {
                    Ok(StorySource {
                        name: r.get(0)?,
                        articles: r.get(1)?,
                    })
                })?
                .collect()
            })
            .map_err(sql("list story sources"))
    }

    pub(super) fn stories(&self, filter: &StoryFilter) -> Result<Vec<StorySummary>, StoreError> {
        let mut stories: Vec<StorySummary> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {STORY_COLUMNS} FROM stories
                 WHERE (:since IS NULL OR last_seen_at >= :since)
                     AND source_count >= :min_sources
                 ORDER BY last_seen_at DESC, id DESC LIMIT :limit"
            ))
            .and_then(|mut stmt| {
                stmt.query_map(
                    rusqlite::named_params! {
                        ":since": opt_time(filter.since),
                        ":min_sources": filter.min_sources,
                        ":limit": filter.limit,
                    },
                    story_row,
                )?
                .collect()
            })
            .map_err(sql("list stories"))?;
        for story in &mut stories {
            story.sources = self.story_sources(story.id)?;
        }
        Ok(stories)
    }

    pub(super) fn story_of(
        &self,
        article: ArticleId,
        limit: u32,
    ) -> Result<Option<StoryDetail>, StoreError> {
        let story_id: Option<StoryId> = self
            .conn
            .query_row(
                "SELECT story_id FROM articles WHERE id = ?1",
                [article],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read story of article"))?
            .flatten();
        let Some(story_id) = story_id else {
            return Ok(None);
        };
        let story = self
            .conn
            .prepare_cached(&format!(
                "SELECT {STORY_COLUMNS} FROM stories WHERE id = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([story_id], story_row).optional())
            .map_err(sql("read story"))?;
        let Some(mut story) = story else {
            return Ok(None);
        };
        story.sources = self.story_sources(story_id)?;
        let members = self
            .conn
            .prepare_cached(
                "SELECT a.id, s.name, a.title, a.canonical_url, a.first_seen_at
                 FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                 WHERE a.story_id = ?1 ORDER BY a.first_seen_at, a.id LIMIT ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_map(params![story_id, limit], |r| {
                    Ok(StoryMember {
                        article_id: r.get(0)?,
                        source: r.get(1)?,
                        title: r.get(2)?,
                        canonical_url: r.get(3)?,
                        first_seen_at: required_time(r, 4)?,
                    })
                })?
                .collect()
            })
            .map_err(sql("list story articles"))?;
        Ok(Some(StoryDetail { story, members }))
    }
}

// ------------------------------------------------------------------ versions

/// Gives the versions backfilled by migration 5 their content hash. Runs right after that
/// migration, when `article_versions` is still a table with every text (version 8 made it
/// a view over `article_version_rows`).
fn fill_version_hashes(tx: &Connection) -> Result<(), StoreError> {
    let mut read = tx
        .prepare(
            "SELECT article_id, version, title, text, published_at, updated_at
             FROM article_versions WHERE content_sha256 IS NULL",
        )
        .map_err(sql("read versions to hash"))?;
    let mut write = tx
        .prepare(
            "UPDATE article_versions SET content_sha256 = ?3
             WHERE article_id = ?1 AND version = ?2",
        )
        .map_err(sql("record version hash"))?;
    let mut rows = read.query([]).map_err(sql("read versions to hash"))?;
    while let Some(r) = rows.next().map_err(sql("read versions to hash"))? {
        let (article, version): (ArticleId, i64) = (
            r.get(0).map_err(sql("read versions to hash"))?,
            r.get(1).map_err(sql("read versions to hash"))?,
        );
        let title: Option<String> = r.get(2).map_err(sql("read versions to hash"))?;
        let text: String = r.get(3).map_err(sql("read versions to hash"))?;
        let published: Option<String> = r.get(4).map_err(sql("read versions to hash"))?;
        let updated: Option<String> = r.get(5).map_err(sql("read versions to hash"))?;
        let hash = content_hash(
            title.as_deref(),
            &text,
            published.as_deref(),
            updated.as_deref(),
        );
        write
            .execute(params![article, version, hash])
            .map_err(sql("record version hash"))?;
    }
    Ok(())
}

/// A version as written: dates already in the archive's text form.
struct VersionRow<'a> {
    article_id: ArticleId,
    capture_id: CaptureId,
    title: Option<&'a str>,
    text: &'a str,
    published_at: Option<&'a str>,
    published_offset: Option<String>,
    updated_at: Option<&'a str>,
    updated_offset: Option<String>,
    seen_at: DateTime<Utc>,
}

/// Appends a version (numbered after the article's last one) and returns its number. Its
/// text is stored as NULL when it is the article row's text (docs/schema.md,
/// `article_version_rows`), so the caller writes the article row first.
fn insert_version(tx: &Connection, v: &VersionRow<'_>) -> Result<i64, StoreError> {
    let hash = content_hash(v.title, v.text, v.published_at, v.updated_at);
    tx.prepare_cached(
        "INSERT INTO article_version_rows (article_id, version, capture_id, title, text,
             published_at, published_offset, updated_at, updated_offset, seen_at,
             content_sha256)
         VALUES (?1, (SELECT coalesce(max(version), 0) + 1 FROM article_version_rows
                      WHERE article_id = ?1),
                 ?2, ?3,
                 CASE WHEN ?4 = (SELECT text FROM articles WHERE id = ?1) THEN NULL ELSE ?4 END,
                 ?5, ?6, ?7, ?8, ?9, ?10)
         RETURNING version",
    )
    .and_then(|mut s| {
        s.query_row(
            params![
                v.article_id,
                v.capture_id,
                v.title,
                v.text,
                v.published_at,
                v.published_offset,
                v.updated_at,
                v.updated_offset,
                time(v.seen_at),
                hash,
            ],
            |r| r.get(0),
        )
    })
    .map_err(sql("record version"))
}

/// A source's name by id.
fn source_name(tx: &Connection, source_id: Option<SourceId>) -> Result<Option<String>, StoreError> {
    let Some(id) = source_id else {
        return Ok(None);
    };
    tx.query_row("SELECT name FROM sources WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(sql("read source name"))
}

fn insert_capture(
    tx: &Connection,
    article_id: ArticleId,
    c: &super::NewCapture,
    compressed: Option<&CompressedBody>,
) -> Result<CaptureId, StoreError> {
    let headers = serde_json::to_string(&c.headers)
        .map_err(|e| StoreError::Other(format!("encode headers: {e}")))?;
    // A dictionary deleted since it was chosen (`compact` retrained the site meanwhile,
    // in another process), or no body compressed because the article looked archived
    // already and then was not (deleted meanwhile): the body is compressed here, plain.
    let dictionary_exists = match compressed.and_then(|c| c.dictionary_id) {
        Some(dictionary) => tx
            .query_row(
                "SELECT 1 FROM zstd_dictionaries WHERE id = ?1",
                [dictionary],
                |_| Ok(()),
            )
            .optional()
            .map_err(sql("look up dictionary"))?
            .is_some(),
        None => true,
    };
    let plain;
    let (body_zstd, dictionary_id) = match compressed {
        Some(compressed) if dictionary_exists => {
            (compressed.bytes.as_slice(), compressed.dictionary_id)
        }
        _ => {
            plain = codec::compress_plain(&c.body, codec::CAPTURE_LEVEL)?;
            (plain.as_slice(), None)
        }
    };
    tx.execute(
        "INSERT INTO captures (article_id, fetch_id, url, fetched_at, status, headers,
             content_type, charset, charset_source, body_size, body_sha256, body_zstd,
             dictionary_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            article_id,
            c.fetch_id,
            c.url,
            time(c.fetched_at),
            c.status,
            headers,
            c.content_type,
            c.charset,
            c.charset_source,
            c.body.len() as i64,
            c.body_sha256,
            body_zstd,
            dictionary_id,
        ],
    )
    .map_err(sql("insert capture"))?;
    Ok(tx.last_insert_rowid())
}

impl Db {
    /// In one write transaction, so that two processes never get the same article: the
    /// due articles are read and their next revisit moved to `hold_until`.
    pub(super) fn claim_due_revisits(
        &mut self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        source: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RevisitTarget>, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin revisit claim"))?;
        let due = due_revisits(&tx, now, source, limit)?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE articles SET next_revisit_at = ?2 WHERE id = ?1")
                .map_err(sql("claim due revisits"))?;
            for target in &due {
                stmt.execute(params![target.article_id, time(hold_until)])
                    .map_err(sql("claim due revisits"))?;
            }
        }
        tx.commit().map_err(sql("commit revisit claim"))?;
        Ok(due)
    }

    pub(super) fn release_revisits(
        &mut self,
        ids: &[ArticleId],
        hold_until: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin revisit release"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE articles SET next_revisit_at = ?3
                     WHERE id = ?1 AND next_revisit_at = ?2",
                )
                .map_err(sql("release revisits"))?;
            for id in ids {
                stmt.execute(params![id, time(hold_until), time(due_at)])
                    .map_err(sql("release revisits"))?;
            }
        }
        tx.commit().map_err(sql("commit revisit release"))
    }

    pub(super) fn next_revisit_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let next: Option<String> = self
            .conn
            .query_row(
                "SELECT min(next_revisit_at) FROM articles WHERE removed_at IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(sql("find next revisit"))?;
        Ok(read_time(next))
    }

    pub(super) fn record_revisit(
        &mut self,
        id: ArticleId,
        checked_at: DateTime<Utc>,
        outcome: &RevisitOutcome,
        compressed: Option<&CompressedBody>,
        rules: &StoryRules,
        revisits: &RevisitRules,
    ) -> Result<Revisited, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin revisit"))?;
        let current: Option<(Option<String>, String, Option<String>)> = tx
            .query_row(
                "SELECT s.name, a.first_seen_at,
                     (SELECT content_sha256 FROM article_version_rows
                      WHERE article_id = a.id ORDER BY version DESC LIMIT 1)
                 FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                 WHERE a.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(sql("read article for revisit"))?;
        let Some((source, first_seen, latest_hash)) = current else {
            return Ok(Revisited::Missing);
        };
        let first_seen = from_db_time(&first_seen).unwrap_or(checked_at);
        let next = revisits
            .schedule_for(source.as_deref())
            .next_after(first_seen, checked_at);
        let checked = time(checked_at);
        if let RevisitOutcome::Postponed { until } = outcome {
            tx.execute(
                "UPDATE articles SET next_revisit_at = ?2 WHERE id = ?1",
                params![id, time(*until)],
            )
            .map_err(sql("postpone revisit"))?;
            tx.commit().map_err(sql("commit revisit"))?;
            return Ok(Revisited::Postponed);
        }
        let result = match outcome {
            RevisitOutcome::Removed { status } => {
                tx.execute(
                    "UPDATE articles SET removed_at = ?2, removed_status = ?3,
                         last_checked_at = ?2, next_revisit_at = NULL,
                         revisit_count = revisit_count + 1
                     WHERE id = ?1",
                    params![id, checked, status],
                )
                .map_err(sql("mark article removed"))?;
                Revisited::Removed
            }
            RevisitOutcome::Failed | RevisitOutcome::Postponed { .. } => Revisited::Failed,
            RevisitOutcome::NotModified | RevisitOutcome::Unchanged => Revisited::Unchanged,
            RevisitOutcome::Fetched(version)
                if latest_hash.as_deref() == Some(version.content_sha256.as_str()) =>
            {
                Revisited::Unchanged
            }
            RevisitOutcome::Fetched(version) => {
                let capture_id = insert_capture(&tx, id, &version.capture, compressed)?;
                let f = &version.fields;
                // The article row first: changing its text gives the versions that shared
                // the old text their own copy (the schema's trigger), and the new version
                // then shares the new one.
                apply_extracted(&tx, id, f, rules)?;
                let published = f.published_at.map(|t| time(t.with_timezone(&Utc)));
                let updated = f.updated_at.map(|t| time(t.with_timezone(&Utc)));
                let number = insert_version(
                    &tx,
                    &VersionRow {
                        article_id: id,
                        capture_id,
                        title: f.title.as_deref(),
                        text: &f.text,
                        published_at: published.as_deref(),
                        published_offset: f.published_at.map(|t| t.offset().to_string()),
                        updated_at: updated.as_deref(),
                        updated_offset: f.updated_at.map(|t| t.offset().to_string()),
                        seen_at: version.capture.fetched_at,
                    },
                )?;
                Revisited::NewVersion(number)
            }
        };
        if result != Revisited::Removed {
            let answered = result != Revisited::Failed;
            tx.execute(
                "UPDATE articles SET next_revisit_at = ?2, revisit_count = revisit_count + 1,
                     last_checked_at = CASE WHEN ?3 THEN ?4 ELSE last_checked_at END
                 WHERE id = ?1",
                params![id, opt_time(next), answered, checked],
            )
            .map_err(sql("record revisit"))?;
        }
        tx.commit().map_err(sql("commit revisit"))?;
        Ok(result)
    }

    pub(super) fn versions_of(
        &self,
        article: ArticleId,
    ) -> Result<Vec<ArticleVersion>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT article_id, version, capture_id, title, text, published_at,
                     published_offset, updated_at, updated_offset, seen_at, content_sha256
                 FROM article_versions WHERE article_id = ?1 ORDER BY version",
            )
            .and_then(|mut stmt| {
                stmt.query_map([article], |r| {
                    Ok(ArticleVersion {
                        article_id: r.get(0)?,
                        version: r.get(1)?,
                        capture_id: r.get(2)?,
                        title: r.get(3)?,
                        text: r.get(4)?,
                        published_at: optional_time(r, 5)?,
                        published_offset: r.get(6)?,
                        updated_at: optional_time(r, 7)?,
                        updated_offset: r.get(8)?,
                        seen_at: required_time(r, 9)?,
                        content_sha256: r.get(10)?,
                    })
                })?
                .collect()
            })
            .map_err(sql("list versions"))
    }
}

// ------------------------------------------------------------------ zstd dictionaries

impl Db {
    /// The prepared dictionary new captures of `site` are compressed with (the site's
    /// newest, else the newest shared one), or `None` for plain zstd. One indexed lookup per call; the dictionary is
    /// parsed only when the cache does not have it.
    pub(super) fn capture_encoder(
        &mut self,
        site: &str,
    ) -> Result<Option<(i64, Arc<EncoderDictionary<'static>>)>, StoreError> {
        let newest: Option<i64> = self
            .conn
            .prepare_cached("SELECT max(id) FROM zstd_dictionaries")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(sql("read newest dictionary"))?;
        self.dictionaries.observe_newest(newest);
        if let Some(cached) = self.dictionaries.encoder(site) {
            return Ok(cached);
        }
        let stored = self
            .conn
            .prepare_cached(
                "SELECT id, dictionary FROM zstd_dictionaries WHERE site IN (?1, ?2)
                 ORDER BY site = ?1 DESC, id DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row([site, SHARED_DICTIONARY_SITE], |r| {
                    Ok(StoredDictionary {
                        id: r.get(0)?,
                        bytes: r.get(1)?,
                    })
                })
                .optional()
            })
            .map_err(sql("read site dictionary"))?;
        Ok(self.dictionaries.put_encoder(site, stored.as_ref()))
    }

    pub(super) fn dictionary_bytes(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .prepare_cached("SELECT dictionary FROM zstd_dictionaries WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(sql("read dictionary"))
    }

    fn decoder(&mut self, id: i64) -> Result<Option<Arc<DecoderDictionary<'static>>>, StoreError> {
        if let Some(cached) = self.dictionaries.decoder(id) {
            return Ok(Some(cached));
        }
        Ok(self
            .dictionary_bytes(id)?
            .map(|bytes| self.dictionaries.put_decoder(id, &bytes)))
    }

    /// Decompresses a capture's body, naming the capture, its article and URL when that
    /// fails (a damaged body, or a dictionary missing or not the one it was made with).
    fn decompress_body(
        &mut self,
        info: &CaptureInfo,
        compressed: &[u8],
        dictionary_id: Option<i64>,
    ) -> Result<Vec<u8>, String> {
        let what = || {
            format!(
                "capture {} of article {} ({})",
                info.id, info.article_id, info.url
            )
        };
        let decoder = match dictionary_id {
            None => None,
            Some(d) => match self.decoder(d) {
                Ok(Some(decoder)) => Some(decoder),
                Ok(None) => {
                    return Err(format!(
                        "{}: its zstd dictionary {d} is missing from zstd_dictionaries",
                        what()
                    ));
                }
                Err(e) => return Err(format!("{}: {e}", what())),
            },
        };
        let size = usize::try_from(info.body_size).unwrap_or(usize::MAX);
        codec::decompress(compressed, size, decoder.as_deref()).map_err(|e| {
            format!(
                "{} does not decompress{}: {e}",
                what(),
                dictionary_id
                    .map(|d| format!(" with zstd dictionary {d}"))
                    .unwrap_or_default()
            )
        })
    }

    fn decompress_capture(&mut self, stored: StoredCapture) -> Result<Capture, StoreError> {
        let body = self
            .decompress_body(&stored.info, &stored.compressed, stored.dictionary_id)
            .map_err(StoreError::Other)?;
        Ok(Capture {
            info: stored.info,
            body,
        })
    }

    /// The next at most `limit` captures after `after`, by id, with their URLs.
    pub(super) fn capture_urls_page(
        &self,
        after: CaptureId,
        limit: u32,
    ) -> Result<Vec<(CaptureId, String)>, StoreError> {
        self.conn
            .prepare_cached("SELECT id, url FROM captures WHERE id > ?1 ORDER BY id LIMIT ?2")
            .and_then(|mut s| {
                s.query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(sql("list capture urls"))
    }

    /// Which dictionary each capture compressed with one uses (read from the index, not
    /// the rows, which would mean reading every body).
    pub(super) fn dictionary_use(&self) -> Result<HashMap<CaptureId, i64>, StoreError> {
        self.conn
            .prepare(
                "SELECT id, dictionary_id FROM captures INDEXED BY captures_dictionary_id
                 WHERE dictionary_id IS NOT NULL",
            )
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(sql("read dictionary use"))
    }

    pub(super) fn dictionaries(&self) -> Result<Vec<DictionaryInfo>, StoreError> {
        self.conn
            .prepare(
                "SELECT d.id, d.site, d.trained_at, d.samples, d.sample_bytes, d.size,
                     (SELECT count(*) FROM captures c WHERE c.dictionary_id = d.id)
                 FROM zstd_dictionaries d ORDER BY d.site, d.id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(DictionaryInfo {
                        id: r.get(0)?,
                        site: r.get(1)?,
                        trained_at: required_time(r, 2)?,
                        samples: r.get(3)?,
                        sample_bytes: r.get(4)?,
                        size: r.get(5)?,
                        captures: r.get(6)?,
                    })
                })?
                .collect()
            })
            .map_err(sql("list dictionaries"))
    }

    /// The bodies of these captures, decompressed; a capture that does not decompress is
    /// returned with the reason, so one damaged row does not stop the others.
    pub(super) fn capture_bodies(
        &mut self,
        ids: &[CaptureId],
    ) -> Result<Vec<CaptureBody>, StoreError> {
        let mut stored = Vec::with_capacity(ids.len());
        {
            let mut read = self
                .conn
                .prepare_cached(&format!(
                    "SELECT {CAPTURE_COLUMNS}, c.body_zstd, c.dictionary_id FROM captures c
                     WHERE c.id = ?1"
                ))
                .map_err(sql("read capture"))?;
            for id in ids {
                if let Some(row) = read
                    .query_row([id], stored_capture_row)
                    .optional()
                    .map_err(sql("read capture"))?
                {
                    stored.push(row);
                }
            }
        }
        Ok(stored
            .into_iter()
            .map(|c| {
                let body = self.decompress_body(&c.info, &c.compressed, c.dictionary_id);
                CaptureBody {
                    id: c.info.id,
                    article_id: c.info.article_id,
                    url: c.info.url,
                    dictionary_id: c.dictionary_id,
                    stored_size: c.compressed.len() as u64,
                    body_sha256: c.info.body_sha256,
                    body,
                }
            })
            .collect())
    }

    pub(super) fn add_dictionary(&self, d: &NewDictionary) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO zstd_dictionaries (site, trained_at, samples, sample_bytes, size,
                     dictionary)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    d.site,
                    time(d.trained_at),
                    d.samples,
                    d.sample_bytes,
                    d.bytes.len() as i64,
                    d.bytes
                ],
            )
            .map_err(sql("record dictionary"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Replaces capture bodies in one transaction. Each row is replaced only if it still
    /// uses the dictionary it was read with, so a concurrent compaction cannot be undone;
    /// returns how many were replaced.
    pub(super) fn replace_capture_bodies(
        &mut self,
        batch: &[ReplacedBody],
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin re-compression"))?;
        let mut replaced = 0;
        {
            let mut update = tx
                .prepare_cached(
                    "UPDATE captures SET body_zstd = ?2, dictionary_id = ?3
                     WHERE id = ?1 AND dictionary_id IS ?4",
                )
                .map_err(sql("replace capture body"))?;
            for r in batch {
                replaced += update
                    .execute(params![
                        r.id,
                        r.bytes,
                        r.dictionary_id,
                        r.previous_dictionary
                    ])
                    .map_err(sql("replace capture body"))?;
            }
        }
        tx.commit().map_err(sql("commit re-compression"))?;
        Ok(replaced)
    }

    /// Deletes the dictionaries no capture uses that are not their site's newest; returns
    /// how many.
    pub(super) fn drop_unused_dictionaries(&self) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM zstd_dictionaries AS d
                 WHERE d.id < (SELECT max(n.id) FROM zstd_dictionaries n WHERE n.site = d.site)
                     AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.dictionary_id = d.id)",
                [],
            )
            .map_err(sql("delete unused dictionaries"))
    }

    /// What the archive occupies. `by_object` reads every page (the dbstat table), so it
    /// is only for measurements.
    pub(super) fn storage_usage(&self, by_object: bool) -> Result<StorageUsage, StoreError> {
        let value = |query: &str| -> Result<i64, StoreError> {
            self.conn
                .query_row(query, [], |r| r.get::<_, Option<i64>>(0))
                .map(Option::unwrap_or_default)
                .map_err(sql("measure storage"))
        };
        let objects = if by_object {
            self.conn
                .prepare(
                    "SELECT name, sum(pgsize), sum(payload) FROM dbstat
                     GROUP BY name ORDER BY sum(pgsize) DESC, name",
                )
                .and_then(|mut s| {
                    s.query_map([], |r| {
                        Ok(ObjectSize {
                            name: r.get(0)?,
                            bytes: r.get(1)?,
                            payload: r.get(2)?,
                        })
                    })?
                    .collect()
                })
                .map_err(sql("measure storage by table"))?
        } else {
            Vec::new()
        };
        Ok(StorageUsage {
            file_bytes: value(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            )?,
            free_bytes: value(
                "SELECT freelist_count * page_size FROM pragma_freelist_count(), pragma_page_size()",
            )?,
            captures: value("SELECT count(*) FROM captures")?,
            capture_bytes_raw: value("SELECT sum(body_size) FROM captures")?,
            capture_bytes_stored: value("SELECT sum(length(body_zstd)) FROM captures")?,
            dictionary_bytes: value("SELECT sum(size) FROM zstd_dictionaries")?,
            objects,
        })
    }

    /// Gives free pages back to the file system: `incremental_vacuum` where the archive
    /// was created with incremental auto-vacuum, else a full VACUUM (which rewrites the
    /// file and needs as much free disk space again).
    pub(super) fn reclaim_space(&self) -> Result<(), StoreError> {
        let auto_vacuum: i64 = self
            .conn
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .map_err(sql("read auto_vacuum"))?;
        if auto_vacuum == 2 {
            self.conn
                .execute_batch("PRAGMA incremental_vacuum")
                .map_err(sql("incremental vacuum"))?;
        } else {
            self.conn.execute_batch("VACUUM").map_err(sql("vacuum"))?;
        }
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(sql("checkpoint"))
    }
}

// ------------------------------------------------------------------ moving archives

impl Db {
    /// The largest key of `table` (see [`transfer`]), `None` when it is empty.
    pub(super) fn transfer_last_key(&self, table: &Table) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT max({}) FROM {}", table.key, table.name),
                [],
                |r| r.get(0),
            )
            .map_err(sql("read last copied key"))
    }

    pub(super) fn transfer_count(&self, table: &Table) -> Result<i64, StoreError> {
        self.conn
            .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| {
                r.get(0)
            })
            .map_err(sql("count rows"))
    }

    /// The rows of `table` with keys above `after` and at most `upto`: about `limit` rows,
    /// and every row of the last key read.
    pub(super) fn transfer_read(
        &self,
        table: &Table,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<Batch, StoreError> {
        let key = table.key;
        let name = table.name;
        let upper: Option<i64> = self
            .conn
            .query_row(
                &format!(
                    "SELECT {key} FROM {name} WHERE {key} > ?1 AND {key} <= ?2
                     ORDER BY {key} LIMIT 1 OFFSET ?3"
                ),
                params![after, upto, i64::from(limit.max(1)) - 1],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql("read rows to copy"))?;
        let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM {name} WHERE {key} > ?1 AND {key} <= ?2 ORDER BY {key}",
                columns.join(", ")
            ))
            .map_err(sql("read rows to copy"))?;
        let mut rows = statement
            .query(params![after, upper.unwrap_or(upto)])
            .map_err(sql("read rows to copy"))?;
        let key_index = table.columns.iter().position(|(c, _)| *c == key);
        let mut batch = Batch {
            rows: Vec::new(),
            last_key: after,
        };
        while let Some(r) = rows.next().map_err(sql("read rows to copy"))? {
            let mut row = Vec::with_capacity(table.columns.len());
            for (i, (column, kind)) in table.columns.iter().enumerate() {
                let cell = match kind {
                    Kind::Int => Cell::Int(r.get(i).map_err(sql("read rows to copy"))?),
                    Kind::Text => Cell::Text(r.get(i).map_err(sql("read rows to copy"))?),
                    Kind::Json => Cell::Json(r.get(i).map_err(sql("read rows to copy"))?),
                    Kind::Bytes => Cell::Bytes(r.get(i).map_err(sql("read rows to copy"))?),
                    Kind::Bool => Cell::Bool(
                        r.get::<_, Option<i64>>(i)
                            .map_err(sql("read rows to copy"))?
                            .map(|v| v != 0),
                    ),
                    Kind::Time => {
                        let text: Option<String> = r.get(i).map_err(sql("read rows to copy"))?;
                        Cell::Time(match text {
                            None => None,
                            Some(text) => Some(from_db_time(&text).ok_or_else(|| {
                                StoreError::Other(format!(
                                    "{name}: {column} {text:?} is not a time"
                                ))
                            })?),
                        })
                    }
                };
                row.push(cell);
            }
            if let Some(Cell::Int(Some(k))) = key_index.map(|i| &row[i]) {
                batch.last_key = *k;
            }
            batch.rows.push(row);
        }
        Ok(batch)
    }

    /// Inserts rows into their tables, all in one transaction.
    pub(super) fn transfer_write(
        &mut self,
        writes: &[(&Table, Vec<Vec<Cell>>)],
    ) -> Result<(), StoreError> {
        use rusqlite::types::Value;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin copy"))?;
        for (table, rows) in writes {
            let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
            let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    columns.join(", "),
                    placeholders.join(", ")
                ))
                .map_err(sql("copy rows"))?;
            for row in rows {
                let values = row.iter().map(|cell| match cell {
                    Cell::Int(v) => v.map_or(Value::Null, Value::Integer),
                    Cell::Text(v) | Cell::Json(v) => v.clone().map_or(Value::Null, Value::Text),
                    Cell::Time(v) => v.map_or(Value::Null, |t| Value::Text(time(t))),
                    Cell::Bool(v) => v.map_or(Value::Null, |b| Value::Integer(i64::from(b))),
                    Cell::Bytes(v) => v.clone().map_or(Value::Null, Value::Blob),
                });
                insert
                    .execute(rusqlite::params_from_iter(values))
                    .map_err(sql("copy rows"))?;
            }
        }
        tx.commit().map_err(sql("commit copy"))
    }

    /// Sets articles' story ids: rows of (article id, story id).
    pub(super) fn transfer_link_stories(&mut self, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql("begin story links"))?;
        {
            let mut update = tx
                .prepare("UPDATE articles SET story_id = ?2 WHERE id = ?1 AND story_id IS NOT ?2")
                .map_err(sql("copy story links"))?;
            for row in rows {
                if let [Cell::Int(Some(id)), Cell::Int(story)] = row.as_slice() {
                    update
                        .execute(params![id, story])
                        .map_err(sql("copy story links"))?;
                }
            }
        }
        tx.commit().map_err(sql("commit story links"))
    }
}

/// Articles whose next revisit is due at `now` (not removed), earliest first, at most
/// `limit`; only those first found by the source named `source` when given.
fn due_revisits(
    conn: &rusqlite::Connection,
    now: DateTime<Utc>,
    source: Option<&str>,
    limit: u32,
) -> Result<Vec<RevisitTarget>, StoreError> {
    type Row = (
        ArticleId,
        Option<SourceId>,
        Option<String>,
        String,
        DateTime<Utc>,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        bool,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = conn
        .prepare_cached(
            "SELECT a.id, a.source_id, s.name, a.canonical_url, a.first_seen_at, a.revisit_count,
                 c.url, c.headers, v.content_sha256,
                 v.article_id IS NOT NULL AND coalesce(v.text, a.text) <> '', a.extractor,
                 c.body_sha256
             FROM articles a
             LEFT JOIN sources s ON s.id = a.source_id
             LEFT JOIN captures c ON c.id = (
                 SELECT id FROM captures WHERE article_id = a.id
                 ORDER BY fetched_at DESC, id DESC LIMIT 1)
             LEFT JOIN article_version_rows v ON v.article_id = a.id AND v.version = (
                 SELECT max(version) FROM article_version_rows WHERE article_id = a.id)
             WHERE a.next_revisit_at IS NOT NULL AND a.next_revisit_at <= :now
                 AND a.removed_at IS NULL AND (:source IS NULL OR s.name = :source)
             ORDER BY a.next_revisit_at, a.id LIMIT :limit",
        )
        .and_then(|mut stmt| {
            stmt.query_map(
                rusqlite::named_params! {
                    ":now": time(now),
                    ":source": source,
                    ":limit": limit,
                },
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        required_time(r, 4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get::<_, Option<bool>>(9)?.unwrap_or(false),
                        r.get(10)?,
                        r.get(11)?,
                    ))
                },
            )?
            .collect()
        })
        .map_err(sql("list due revisits"))?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                source_id,
                source,
                canonical,
                first_seen,
                count,
                url,
                headers,
                hash,
                has_text,
                extractor,
                body_sha256,
            )| {
                let headers: Vec<(String, String)> = headers
                    .and_then(|h| serde_json::from_str(&h).ok())
                    .unwrap_or_default();
                RevisitTarget {
                    article_id: id,
                    source_id,
                    source,
                    url: url.unwrap_or(canonical),
                    first_seen_at: first_seen,
                    revisit_count: count,
                    validators: crate::fetch::Validators {
                        etag: header_value(&headers, "etag"),
                        last_modified: header_value(&headers, "last-modified"),
                    },
                    content_sha256: hash,
                    has_text,
                    extractor,
                    body_sha256,
                }
            },
        )
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewCapture;

    fn article(url: &str, text: &str) -> NewArticle {
        let seen = Utc::now();
        let body = format!("<html><title>{url}</title><p>{text}</p></html>").into_bytes();
        NewArticle {
            source_id: None,
            item_key: None,
            canonical_url: url.to_string(),
            urls: vec![url.to_string()],
            title: Some(url.to_string()),
            authors: Vec::new(),
            published_at: None,
            updated_at: None,
            first_seen_at: seen,
            language: Some("en".into()),
            site_name: None,
            description: None,
            text: text.to_string(),
            text_fingerprint: Some(crate::canon::body_hash(text.as_bytes())),
            story_fingerprint: None,
            extractor: "test".into(),
            capture: NewCapture {
                fetch_id: None,
                url: url.to_string(),
                fetched_at: seen,
                status: 200,
                headers: Vec::new(),
                content_type: Some("text/html".into()),
                charset: Some("UTF-8".into()),
                charset_source: Some("http-header".into()),
                body_sha256: crate::canon::body_hash(&body),
                body,
            },
        }
    }

    fn archive(db: &mut Db, a: &NewArticle, compressed: Option<&CompressedBody>) -> Archived {
        db.archive(
            a,
            compressed,
            &StoryRules::default(),
            &RevisitRules::default(),
        )
        .expect("archives")
    }

    #[test]
    fn an_article_is_known_by_any_url_or_its_text_before_the_transaction() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut db = Db::open(&dir.path().join("a.sqlite3")).expect("opens");
        let first = article("https://example.com/a", "The council met on Monday.");
        assert_eq!(db.known_article(&first).expect("reads"), None);
        let Archived::New(id) = archive(&mut db, &first, None) else {
            panic!("a new article");
        };
        let mut other_url = article("https://example.com/b", "Another text entirely.");
        other_url.urls.push("https://example.com/a".into());
        assert_eq!(db.known_article(&other_url).expect("reads"), Some(id));
        let same_text = article("https://example.org/copy", "The council met on Monday.");
        assert_eq!(db.known_article(&same_text).expect("reads"), Some(id));
        let unrelated = article("https://example.org/new", "Rain is expected.");
        assert_eq!(db.known_article(&unrelated).expect("reads"), None);
    }

    #[test]
    fn a_new_article_without_a_compressed_body_stores_its_capture_all_the_same() {
        // The body is not compressed when the article looked archived before the
        // transaction; if it was not after all, the capture must still be stored whole.
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut db = Db::open(&dir.path().join("a.sqlite3")).expect("opens");
        let a = article("https://example.com/a", "The council met on Monday.");
        let Archived::New(id) = archive(&mut db, &a, None) else {
            panic!("a new article");
        };
        let capture = db.latest_capture(id).expect("reads").expect("one capture");
        assert_eq!(capture.body, a.capture.body);
        // A duplicate stores no capture, compressed or not.
        let copy = article("https://example.org/copy", "The council met on Monday.");
        assert_eq!(archive(&mut db, &copy, None), Archived::Duplicate(id));
        assert_eq!(db.captures_of(id).expect("reads").len(), 1);
    }

    fn search(db: &Db, expression: &str, filter: ArticleFilter) -> Vec<String> {
        let request = SearchRequest {
            expression: expression.into(),
            filter,
            limit: 3,
            highlight: ("[".into(), "]".into()),
        };
        let hits = db.search(&request).expect("searches");
        for hit in &hits {
            assert!(
                hit.snippet.contains('['),
                "a snippet for every hit: {hit:?}"
            );
        }
        hits.into_iter().map(|h| h.canonical_url).collect()
    }

    #[test]
    fn a_broad_query_ranks_only_the_most_recent_matches() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut db = Db::open(&dir.path().join("a.sqlite3")).expect("opens");
        db.ranked_matches = 4;
        // Oldest first: the best match for "mango" (in its title, twice in its text) is
        // the oldest article.
        let mut best = article("https://example.com/0", "Mango mango: the mango harvest.");
        best.title = Some("Mango".into());
        archive(&mut db, &best, None);
        for i in 1..=6 {
            let mut a = article(
                &format!("https://example.com/{i}"),
                &format!("Story {i} about rain, prices and one mango among many other words."),
            );
            a.language = Some(if i % 2 == 0 { "en" } else { "de" }.into());
            archive(&mut db, &a, None);
        }
        // Seven matches, four ranked: the newest four, best first (a tie on score goes to
        // the older article); the oldest, best one is not among them.
        assert_eq!(
            search(&db, "mango", ArticleFilter::default()),
            [
                "https://example.com/3",
                "https://example.com/4",
                "https://example.com/5"
            ]
        );
        // The window counts matches that pass the filter: the four newest in English
        // reach back to the oldest article, which ranks first.
        let english = ArticleFilter {
            language: Some("en".into()),
            ..ArticleFilter::default()
        };
        assert_eq!(
            search(&db, "mango", english),
            [
                "https://example.com/0",
                "https://example.com/2",
                "https://example.com/4"
            ]
        );
        // A query with fewer matches than the window is ranked whole.
        db.ranked_matches = 100;
        assert_eq!(
            search(&db, "mango", ArticleFilter::default())[0],
            "https://example.com/0"
        );
        assert!(search(&db, "nowhere", ArticleFilter::default()).is_empty());
        // Without a filter the ranking pass skips the articles table; a filter every
        // article passes takes the other pass, and both must give the same hits, scores
        // and snippets, in the same order.
        db.ranked_matches = 4;
        let everything = ArticleFilter {
            since: Some(DateTime::<Utc>::UNIX_EPOCH),
            ..ArticleFilter::default()
        };
        let request = |filter| SearchRequest {
            expression: "mango OR rain".into(),
            filter,
            limit: 10,
            highlight: ("[".into(), "]".into()),
        };
        let plain = db
            .search(&request(ArticleFilter::default()))
            .expect("searches");
        assert_eq!(plain.len(), 4, "{plain:?}");
        assert_eq!(db.search(&request(everything)).expect("searches"), plain);
    }
}
