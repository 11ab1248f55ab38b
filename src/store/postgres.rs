//! The PostgreSQL backend: a connection pool (deadpool over tokio-postgres), append-only
//! migrations applied under an advisory lock so that several nodes starting at once apply
//! each exactly once, and the statements of the archive's write path, reads and search.
//!
//! Several nodes may write the same archive. Deduplication rests on the unique
//! constraints (canonical URL, text fingerprint, URL): an insert that loses a race to
//! another node's insert of the same article finds that article and records its URLs
//! against it. Story assignment takes a transaction-scoped advisory lock, so that two
//! near-duplicates archived at once by two nodes cannot split a story. The nodes' shared
//! politeness (host turns, Retry-After, robots.txt) is in [`hosts`].

mod hosts;

mod tls;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{GenericClient, NoTls, Row};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use super::codec::{self, CompressedBody, DictionaryCache, StoredDictionary};

use super::query::{
    ArticleFilter, ArticleKey, ArticleRecord, Capture, CaptureId, CaptureInfo, ExtractedFields,
    NearDuplicate, Reextracted, SearchHit, SearchRequest, StoryDetail, StoryFilter, StoryMember,
    StorySource, StorySummary,
};
use super::transfer::{Batch, Cell, Kind, Table};
use super::versions::{ArticleVersion, RevisitOutcome, RevisitTarget, Revisited, header_value};
use super::{
    Archived, ArticleId, CaptureBody, DayCount, DictionaryInfo, FetchId, FetchRecord, ItemStatus,
    MAX_ITEM_ATTEMPTS, NODE_RETENTION, NewArticle, NewCapture, NewDictionary, NodeInfo, NodeLease,
    NodeRegistration, ObjectSize, PollOutcome, PollRecord, ReplacedBody, SHARED_DICTIONARY_SITE,
    SourceId, SourceSpec, SourceState, SourceStats, Stats, StorageUsage, StoreError, StoryId,
};
use crate::clock::to_db_time;
use crate::config::SourceKind;
use crate::stories::{Fingerprint, StoryRules};
use crate::versions::{RevisitRules, content_hash};

/// Migrations in order; the schema version is the number applied. Never edit a released
/// one: append a new file.
const MIGRATIONS: &[&str] = &[
    include_str!("postgres/0001_initial.sql"),
    include_str!("postgres/0002_versions_dictionaries_views.sql"),
    include_str!("postgres/0003_leases.sql"),
    include_str!("postgres/0004_cluster_politeness.sql"),
    include_str!("postgres/0005_story_bands_by_article.sql"),
    include_str!("postgres/0006_story_fk_deferrable.sql"),
    include_str!("postgres/0007_version_text_once.sql"),
    include_str!("postgres/0008_captures_by_body.sql"),
];

/// The schema version that adds `article_versions`, whose backfilled rows get their
/// content hash from Rust in the migration's transaction (right after it, while
/// `article_versions` is still that version's table).
const VERSIONS_SCHEMA: i64 = 2;

/// The PostgreSQL schema version this build writes.
pub const PG_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Advisory lock keys (one namespace for newsvault; the numbers are arbitrary but fixed).
const MIGRATION_LOCK: i64 = 0x6e76_0001;
const SOURCE_SYNC_LOCK: i64 = 0x6e76_0002;
/// Story-band locks (see [`lock_story_bands`]) live above this: the band's index and hash
/// in the low 38 bits, this namespace above them, clear of the single keys above.
const BAND_LOCK_SPACE: i64 = 0x6e76 << 40;

/// Connections one process keeps open: the daemon's fetch tasks archive concurrently.
const POOL_SIZE: usize = 8;

/// How long a new connection may take before the open or the statement fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `database` (the `[archive] database` setting) names a PostgreSQL server.
pub fn is_url(database: &str) -> bool {
    database.starts_with("postgres://") || database.starts_with("postgresql://")
}

/// The URL without its password, for logs and messages.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

pub(super) struct Db {
    pool: Pool,
    location: String,
    /// Prepared zstd dictionaries (see [`codec`]); never held across an await.
    dictionaries: Mutex<DictionaryCache>,
}

/// Turns a driver error into a message naming the server's own words when it sent any.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match std::error::Error::source(error) {
            Some(cause) => format!("{error}: {cause}"),
            None => error.to_string(),
        },
    }
}

/// An instant as PostgreSQL stores it: to the millisecond, as the SQLite backend does, so
/// both give back the same values.
fn ts(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

fn unsigned(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

impl Db {
    fn failed(&self, operation: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError {
        let location = self.location.clone();
        move |e| StoreError::Postgres {
            location: location.clone(),
            operation,
            message: describe(&e),
        }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|e| StoreError::Postgres {
            location: self.location.clone(),
            operation: "connect",
            message: match &e {
                deadpool_postgres::PoolError::Backend(e) => describe(e),
                other => other.to_string(),
            },
        })
    }

    /// Opens the database, initialising an empty one. A database of an older schema is
    /// refused (`newsvault upgrade` brings it up to date), as is one of a newer schema.
    pub(super) async fn open(url: &str) -> Result<Db, StoreError> {
        let db = Self::open_pool(url)?;
        db.migrate(false).await?;
        Ok(db)
    }

    /// The connection pool, not yet connected.
    fn open_pool(url: &str) -> Result<Db, StoreError> {
        let location = redacted(url);
        let open_error = |message: String| StoreError::Other(format!("{location}: {message}"));
        let tls = tls::settings(url).map_err(&open_error)?;
        let mut config = tokio_postgres::Config::from_str(&tls.url)
            .map_err(|e| open_error(format!("not a PostgreSQL URL: {e}")))?;
        config.ssl_mode(tls.ssl_mode());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("newsvault");
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls::connector(&tls).map_err(&open_error)? {
            Some(connector) => Manager::from_config(config, connector, manager_config),
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| open_error(format!("cannot build the connection pool: {e}")))?;
        Ok(Db {
            pool,
            location: location.clone(),
            dictionaries: Mutex::new(DictionaryCache::default()),
        })
    }

    /// Opens the database and applies every migration it lacks, whatever its version
    /// (`newsvault upgrade`); returns the version it had.
    pub(super) async fn open_upgrading(url: &str) -> Result<(Db, i64), StoreError> {
        let db = Self::open_pool(url)?;
        let before = db.migrate(true).await?;
        Ok((db, before))
    }

    pub(super) fn location(&self) -> &str {
        &self.location
    }

    /// Brings the schema up to date under the migration lock and returns the version
    /// found. Without `upgrade`, only an empty database (version 0) is migrated; an
    /// older one is an error telling the user to run `newsvault upgrade`, and nothing
    /// is written.
    async fn migrate(&self, upgrade: bool) -> Result<i64, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin migration"))?;
        // Held until commit: a second node starting now waits here, then finds the
        // migrations applied.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(self.failed("lock for migration"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(self.failed("create schema_migrations"))?;
        let current: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.failed("read schema version"))?;
        if current > PG_SCHEMA_VERSION {
            return Err(StoreError::Incompatible {
                location: self.location.clone(),
                message: format!(
                    "schema version {current} is newer than this newsvault understands ({PG_SCHEMA_VERSION}); upgrade newsvault"
                ),
            });
        }
        if current > 0 && current < PG_SCHEMA_VERSION && !upgrade {
            // Dropping the transaction rolls back the schema_migrations table it may have
            // created: nothing is written.
            return Err(StoreError::Incompatible {
                location: self.location.clone(),
                message: format!(
                    "schema version {current} is older than this newsvault's ({PG_SCHEMA_VERSION}); \
                     run `newsvault upgrade --database URL` to bring it up to date"
                ),
            });
        }
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let version = index as i64 + 1;
            tx.batch_execute(migration)
                .await
                .map_err(self.failed("apply migration"))?;
            if version == VERSIONS_SCHEMA {
                fill_version_hashes(&*tx)
                    .await
                    .map_err(self.failed("hash backfilled versions"))?;
            }
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(self.failed("record schema version"))?;
            tracing::info!(version, database = %self.location, "archive schema migrated");
        }
        tx.commit().await.map_err(self.failed("commit migration"))?;
        Ok(current)
    }

    // ------------------------------------------------------------------ sources

    pub(super) async fn sync_sources(
        &self,
        specs: &[SourceSpec],
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceState>, StoreError> {
        let now = ts(now);
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin source sync"))?;
        // Nodes starting together with the same configuration take turns.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SOURCE_SYNC_LOCK])
            .await
            .map_err(self.failed("lock for source sync"))?;
        for spec in specs {
            let kind = spec.kind.map(SourceKind::as_str);
            let existing = tx
                .query_opt("SELECT id, url FROM sources WHERE name = $1", &[&spec.name])
                .await
                .map_err(self.failed("find source"))?;
            let existing: Option<(i64, String)> = match existing {
                Some(row) => Some(
                    (|| Ok::<_, tokio_postgres::Error>((row.try_get(0)?, row.try_get(1)?)))()
                        .map_err(self.failed("find source"))?,
                ),
                None => None,
            };
            match existing {
                None => {
                    tx.execute(
                        "INSERT INTO sources (name, url, kind, enabled, created_at, next_poll_at)
                         VALUES ($1, $2, COALESCE($3::text, 'feed'), $4, $5, $5)
                         ON CONFLICT (name) DO NOTHING",
                        &[&spec.name, &spec.url, &kind, &spec.enabled, &now],
                    )
                    .await
                    .map_err(self.failed("add source"))?;
                }
                Some((id, url)) if url != spec.url => {
                    tx.execute(
                        "UPDATE sources SET url = $2, kind = COALESCE($3::text, kind), enabled = $4,
                             etag = NULL, last_modified = NULL, last_body_sha256 = NULL,
                             error_count = 0, next_poll_at = $5, poll_interval_s = NULL,
                             kind_detected_at = NULL
                         WHERE id = $1",
                        &[&id, &spec.url, &kind, &spec.enabled, &now],
                    )
                    .await
                    .map_err(self.failed("update source"))?;
                }
                Some((id, _)) => {
                    tx.execute(
                        "UPDATE sources SET kind = COALESCE($2::text, kind), enabled = $3,
                             next_poll_at = COALESCE(next_poll_at, $4),
                             kind_detected_at = CASE WHEN $2::text IS NULL THEN kind_detected_at END
                         WHERE id = $1",
                        &[&id, &kind, &spec.enabled, &now],
                    )
                    .await
                    .map_err(self.failed("update source"))?;
                }
            }
        }
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
        tx.execute(
            "UPDATE sources SET enabled = false WHERE enabled AND NOT (name = ANY($1))",
            &[&names],
        )
        .await
        .map_err(self.failed("disable source"))?;
        tx.commit()
            .await
            .map_err(self.failed("commit source sync"))?;
        drop(client);
        self.sources().await
    }

    async fn source_rows(
        &self,
        operation: &'static str,
        condition: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<SourceState>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {SOURCE_COLUMNS} FROM sources {condition}"),
                params,
            )
            .await
            .map_err(self.failed(operation))?;
        rows.iter()
            .map(source_row)
            .collect::<Result<_, _>>()
            .map_err(self.failed(operation))
    }

    pub(super) async fn sources(&self) -> Result<Vec<SourceState>, StoreError> {
        self.source_rows("list sources", "ORDER BY name", &[]).await
    }

    pub(super) async fn due_sources(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceState>, StoreError> {
        self.source_rows(
            "list due sources",
            "WHERE enabled AND next_poll_at IS NOT NULL AND next_poll_at <= $1
             ORDER BY next_poll_at, name",
            &[&ts(now)],
        )
        .await
    }

    pub(super) async fn next_poll_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.client().await?;
        client
            .query_one(
                // A leased source can be claimed once its lease runs out.
                "SELECT min(CASE WHEN lease_until > next_poll_at THEN lease_until
                                 ELSE next_poll_at END)
                 FROM sources WHERE enabled",
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.failed("find next poll"))
    }

    pub(super) async fn set_next_poll(
        &self,
        source_id: SourceId,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE sources SET next_poll_at = $2 WHERE id = $1",
                &[&source_id, &at.map(ts)],
            )
            .await
            .map_err(self.failed("set next poll"))?;
        Ok(())
    }

    pub(super) async fn finish_poll(&self, record: &PollRecord) -> Result<bool, StoreError> {
        let polled = ts(record.polled_at);
        let next = record.next_poll_at.map(ts);
        let client = self.client().await?;
        // IS NOT DISTINCT FROM: a poll without a lease matches a source nobody holds.
        let updated = match &record.outcome {
            PollOutcome::Success {
                etag,
                last_modified,
                body_sha256,
            } => {
                // Rounded to whole seconds, at least one (the column's CHECK).
                let interval = record.poll_interval.map(|d| {
                    i64::try_from(((d.as_millis() + 500) / 1000).max(1)).unwrap_or(i64::MAX)
                });
                client
                    .execute(
                        "UPDATE sources SET last_polled_at = $2, last_success_at = $2,
                             next_poll_at = $3, etag = $4, last_modified = $5,
                             last_body_sha256 = $6, error_count = 0, last_error = NULL,
                             last_error_at = NULL, poll_interval_s = $7,
                             last_new_at = CASE WHEN $8 THEN $2 ELSE last_new_at END,
                             lease_node = NULL, lease_until = NULL
                         WHERE id = $1 AND lease_node IS NOT DISTINCT FROM $9",
                        &[
                            &record.source_id,
                            &polled,
                            &next,
                            etag,
                            last_modified,
                            body_sha256,
                            &interval,
                            &record.found_new,
                            &record.lease_node,
                        ],
                    )
                    .await
            }
            PollOutcome::Failure { error } => {
                client
                    .execute(
                        "UPDATE sources SET last_polled_at = $2, next_poll_at = $3,
                             error_count = error_count + 1, last_error = $4, last_error_at = $2,
                             lease_node = NULL, lease_until = NULL
                         WHERE id = $1 AND lease_node IS NOT DISTINCT FROM $5",
                        &[&record.source_id, &polled, &next, error, &record.lease_node],
                    )
                    .await
            }
        }
        .map_err(self.failed("record poll"))?;
        Ok(updated == 1)
    }

    pub(super) async fn claim_due_sources(
        &self,
        now: DateTime<Utc>,
        lease: &NodeLease,
        limit: usize,
    ) -> Result<Vec<SourceState>, StoreError> {
        let client = self.client().await?;
        // SKIP LOCKED: rows another node is claiming right now are passed over rather
        // than waited for, and the lease condition keeps them from being taken after.
        let rows = client
            .query(
                &format!(
                    "UPDATE sources SET lease_node = $2, lease_until = $3
                     WHERE id IN (
                         SELECT id FROM sources
                         WHERE enabled AND next_poll_at IS NOT NULL AND next_poll_at <= $1
                           AND (lease_until IS NULL OR lease_until <= $1)
                         ORDER BY next_poll_at, name
                         LIMIT $4
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {SOURCE_COLUMNS}"
                ),
                &[
                    &ts(now),
                    &lease.node,
                    &ts(lease.until),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await
            .map_err(self.failed("claim due sources"))?;
        let mut claimed = rows
            .iter()
            .map(source_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.failed("claim due sources"))?;
        // RETURNING gives rows in no particular order.
        claimed.sort_by(|a, b| (a.next_poll_at, &a.name).cmp(&(b.next_poll_at, &b.name)));
        Ok(claimed)
    }

    pub(super) async fn claim_sources(
        &self,
        sources: &[SourceId],
        lease: &NodeLease,
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceState>, StoreError> {
        let client = self.client().await?;
        // SKIP LOCKED: a source another node is claiming right now is being polled.
        let rows = client
            .query(
                &format!(
                    "UPDATE sources SET lease_node = $2, lease_until = $3
                     WHERE id IN (
                         SELECT id FROM sources
                         WHERE id = ANY($1) AND (lease_until IS NULL OR lease_until <= $4)
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {SOURCE_COLUMNS}"
                ),
                &[&sources, &lease.node, &ts(lease.until), &ts(now)],
            )
            .await
            .map_err(self.failed("claim sources"))?;
        rows.iter()
            .map(source_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.failed("claim sources"))
    }

    pub(super) async fn renew_leases(
        &self,
        lease: &NodeLease,
        sources: &[SourceId],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let client = self.client().await?;
        let renewed = client
            .execute(
                "UPDATE sources SET lease_until = $3 WHERE id = ANY($1) AND lease_node = $2",
                &[&sources, &lease.node, &ts(lease.until)],
            )
            .await
            .map_err(self.failed("renew leases"))?;
        client
            .execute(
                "UPDATE nodes SET last_seen_at = $2 WHERE name = $1",
                &[&lease.node, &ts(now)],
            )
            .await
            .map_err(self.failed("record node heartbeat"))?;
        Ok(usize::try_from(renewed).unwrap_or(usize::MAX))
    }

    pub(super) async fn release_leases(
        &self,
        node: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin lease release"))?;
        tx.execute(
            "UPDATE sources SET lease_node = NULL, lease_until = NULL WHERE lease_node = $1",
            &[&node],
        )
        .await
        .map_err(self.failed("release leases"))?;
        tx.execute(
            "UPDATE nodes SET last_seen_at = $2, stopped_at = $2 WHERE name = $1",
            &[&node, &ts(now)],
        )
        .await
        .map_err(self.failed("record node stop"))?;
        tx.commit()
            .await
            .map_err(self.failed("commit lease release"))
    }

    pub(super) async fn release_lease(
        &self,
        node: &str,
        source: SourceId,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE sources SET lease_node = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_node = $2",
                &[&source, &node],
            )
            .await
            .map_err(self.failed("release lease"))?;
        Ok(())
    }

    async fn read_nodes<C: GenericClient + Sync>(
        &self,
        client: &C,
    ) -> Result<Vec<NodeInfo>, StoreError> {
        let rows = client
            .query(
                "SELECT name, version, schema_version, started_at, last_seen_at, stopped_at
                 FROM nodes ORDER BY name",
                &[],
            )
            .await
            .map_err(self.failed("list nodes"))?;
        rows.iter()
            .map(|row| {
                Ok(NodeInfo {
                    name: row.try_get(0)?,
                    version: row.try_get(1)?,
                    schema_version: row.try_get(2)?,
                    started_at: row.try_get(3)?,
                    last_seen_at: row.try_get(4)?,
                    stopped_at: row.try_get(5)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(self.failed("list nodes"))
    }

    pub(super) async fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError> {
        let client = self.client().await?;
        self.read_nodes(&**client).await
    }

    pub(super) async fn register_node(
        &self,
        me: &NodeRegistration,
        check: impl FnOnce(&[NodeInfo], &NodeRegistration) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin node registration"))?;
        // Nodes starting together register one at a time, so two versions starting at
        // once cannot both pass the check.
        tx.execute("LOCK TABLE nodes IN EXCLUSIVE MODE", &[])
            .await
            .map_err(self.failed("lock node registry"))?;
        check(&self.read_nodes(&*tx).await?, me)?;
        let started = ts(me.started_at);
        tx.execute(
            "DELETE FROM nodes WHERE last_seen_at < $1",
            &[&(started - NODE_RETENTION)],
        )
        .await
        .map_err(self.failed("forget old nodes"))?;
        tx.execute(
            "INSERT INTO nodes (name, version, schema_version, started_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version,
                 schema_version = excluded.schema_version, started_at = excluded.started_at,
                 last_seen_at = excluded.last_seen_at, stopped_at = NULL",
            &[&me.name, &me.version, &PG_SCHEMA_VERSION, &started],
        )
        .await
        .map_err(self.failed("register node"))?;
        tx.commit()
            .await
            .map_err(self.failed("commit node registration"))
    }

    pub(super) async fn record_detected_kind(
        &self,
        source_id: SourceId,
        kind: SourceKind,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE sources SET kind = $2, kind_detected_at = $3 WHERE id = $1",
                &[&source_id, &kind.as_str(), &ts(at)],
            )
            .await
            .map_err(self.failed("record detected kind"))?;
        Ok(())
    }

    pub(super) async fn record_fetch(&self, r: &FetchRecord) -> Result<FetchId, StoreError> {
        let client = self.client().await?;
        let status = r.status.map(i32::from);
        let bytes = i64::try_from(r.bytes).unwrap_or(i64::MAX);
        client
            .query_one(
                "INSERT INTO fetches (source_id, purpose, url, final_url, started_at,
                     duration_ms, status, bytes, error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                &[
                    &r.source_id,
                    &r.purpose,
                    &r.url,
                    &r.final_url,
                    &ts(r.started_at),
                    &r.duration_ms,
                    &status,
                    &bytes,
                    &r.error,
                ],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(self.failed("record fetch"))
    }

    // ------------------------------------------------------------------ items, archive

    pub(super) async fn item_status(
        &self,
        source_id: SourceId,
        item_key: &str,
        urls: &[String],
    ) -> Result<ItemStatus, StoreError> {
        let client = self.client().await?;
        let client: &tokio_postgres::Client = &client;
        let seen = client
            .query_opt(
                "SELECT article_id, failed_attempts FROM feed_items
                 WHERE source_id = $1 AND item_key = $2",
                &[&source_id, &item_key],
            )
            .await
            .map_err(self.failed("look up feed item"))?;
        if let Some(row) = seen {
            let (article, attempts): (Option<ArticleId>, i64) =
                (|| Ok::<_, tokio_postgres::Error>((row.try_get(0)?, row.try_get(1)?)))()
                    .map_err(self.failed("look up feed item"))?;
            if article.is_some() {
                return Ok(ItemStatus::Seen);
            }
            if attempts >= MAX_ITEM_ATTEMPTS {
                return Ok(ItemStatus::GivenUp);
            }
        }
        match find_by_urls(client, urls)
            .await
            .map_err(self.failed("look up url"))?
        {
            Some(id) => Ok(ItemStatus::KnownArticle(id)),
            None => Ok(ItemStatus::New),
        }
    }

    pub(super) async fn record_item_failure(
        &self,
        source_id: SourceId,
        item_key: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let client = self.client().await?;
        client
            .query_one(
                "INSERT INTO feed_items (source_id, item_key, first_seen_at, failed_attempts, last_error)
                 VALUES ($1, $2, $3, 1, $4)
                 ON CONFLICT (source_id, item_key) DO UPDATE SET
                     failed_attempts = feed_items.failed_attempts + 1,
                     last_error = excluded.last_error
                 RETURNING failed_attempts",
                &[&source_id, &item_key, &ts(now), &error],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(self.failed("record item failure"))
    }

    pub(super) async fn link_to_article(
        &self,
        source_id: Option<SourceId>,
        item_key: Option<&str>,
        urls: &[String],
        article_id: ArticleId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = ts(now);
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin link"))?;
        add_urls(&*tx, article_id, source_id, urls, now)
            .await
            .map_err(self.failed("record url"))?;
        if let (Some(source_id), Some(key)) = (source_id, item_key) {
            add_item(&*tx, source_id, key, article_id, now)
                .await
                .map_err(self.failed("record feed item"))?;
        }
        tx.commit().await.map_err(self.failed("commit link"))
    }

    /// `compressed` is the capture body, compressed with the dictionary
    /// [`Db::capture_encoder`] chose for its site (or none).
    pub(super) async fn archive(
        &self,
        a: &NewArticle,
        compressed: &CompressedBody,
        rules: &StoryRules,
        revisits: &RevisitRules,
    ) -> Result<Archived, StoreError> {
        let authors = serde_json::to_string(&a.authors)
            .map_err(|e| StoreError::Other(format!("encode authors: {e}")))?;
        let now = ts(a.first_seen_at);
        let mut lookup: Vec<String> = a.urls.clone();
        if !lookup.contains(&a.canonical_url) {
            lookup.push(a.canonical_url.clone());
        }
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin archive"))?;
        let source_name = source_name(&*tx, a.source_id)
            .await
            .map_err(self.failed("read source name"))?;
        let next_revisit = revisits
            .schedule_for(source_name.as_deref())
            .next_after(now, now)
            .map(ts);
        let mut outcome = None;
        let mut story = None;
        // Twice at most: a first insert that loses a race to another node's insert of the
        // same article finds that article on the second lookup (the conflicting row is
        // committed by then: the insert waited for it).
        for _ in 0..2 {
            if let Some(id) = find_existing(&*tx, &lookup, a.text_fingerprint.as_deref())
                .await
                .map_err(self.failed("look up article"))?
            {
                outcome = Some(Archived::Duplicate(id));
                break;
            }
            let plan = match story {
                Some(plan) => plan,
                None => *story.insert(
                    plan_story(&*tx, a.story_fingerprint.as_ref(), rules)
                        .await
                        .map_err(self.failed("find the article's story"))?,
                ),
            };
            let inserted = tx
                .query_opt(
                    "INSERT INTO articles (source_id, canonical_url, title, authors,
                         published_at, published_offset, updated_at, updated_offset,
                         first_seen_at, language, site_name, description, text,
                         text_fingerprint, extractor, next_revisit_at, story_id)
                     VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7, $8, $9, $10, $11, $12,
                         $13, $14, $15, $16, $17)
                     ON CONFLICT DO NOTHING RETURNING id",
                    &[
                        &a.source_id,
                        &a.canonical_url,
                        &a.title,
                        &authors,
                        &a.published_at.map(|t| ts(t.with_timezone(&Utc))),
                        &a.published_at.map(|t| t.offset().to_string()),
                        &a.updated_at.map(|t| ts(t.with_timezone(&Utc))),
                        &a.updated_at.map(|t| t.offset().to_string()),
                        &now,
                        &a.language,
                        &a.site_name,
                        &a.description,
                        &a.text,
                        &a.text_fingerprint,
                        &a.extractor,
                        &next_revisit,
                        &plan.story_id(),
                    ],
                )
                .await
                .map_err(self.failed("insert article"))?;
            if let Some(row) = inserted {
                let id: ArticleId = row.try_get(0).map_err(self.failed("insert article"))?;
                outcome = Some(Archived::New(id));
                break;
            }
        }
        let Some(outcome) = outcome else {
            return Err(StoreError::Other(format!(
                "{}: archive {}: the article conflicts with an archived one that cannot be found",
                self.location, a.canonical_url
            )));
        };
        if let Archived::New(id) = outcome {
            let capture_id = self
                .insert_capture(&*tx, id, &a.capture, Some(compressed))
                .await?;
            insert_version(
                &*tx,
                &VersionRow {
                    article_id: id,
                    capture_id,
                    title: a.title.as_deref(),
                    text: &a.text,
                    published_at: a.published_at,
                    updated_at: a.updated_at,
                    seen_at: now,
                },
            )
            .await
            .map_err(self.failed("record version"))?;
            let joined = match story {
                Some(StoryPlan::Join(story_id)) => {
                    count_into_story(&*tx, story_id, id, a.source_id, now).await
                }
                Some(StoryPlan::Start(story_id)) => start_story(
                    &*tx,
                    Some(story_id),
                    id,
                    a.source_id,
                    a.title.as_deref(),
                    now,
                )
                .await
                .map(|_| ()),
                None => Ok(()),
            };
            joined.map_err(self.failed("join story"))?;
            if let Some(fp) = a.story_fingerprint.as_ref().filter(|f| rules.comparable(f)) {
                insert_fingerprint(&*tx, id, fp)
                    .await
                    .map_err(self.failed("record story fingerprint"))?;
            }
        }
        let id = match outcome {
            Archived::New(id) | Archived::Duplicate(id) => id,
        };
        add_urls(&*tx, id, a.source_id, &lookup, now)
            .await
            .map_err(self.failed("record url"))?;
        if let (Some(source_id), Some(key)) = (a.source_id, &a.item_key) {
            add_item(&*tx, source_id, key, id, now)
                .await
                .map_err(self.failed("record feed item"))?;
        }
        tx.commit().await.map_err(self.failed("commit archive"))?;
        Ok(outcome)
    }

    // ------------------------------------------------------------------ stats

    pub(super) async fn stats(&self, now: DateTime<Utc>) -> Result<Stats, StoreError> {
        let client = self.client().await?;
        let op = "stats";
        let rows = client
            .query(
                "SELECT s.name, s.enabled, count(a.id), s.last_success_at, s.error_count,
                     s.last_error, s.last_error_at, s.last_polled_at, s.next_poll_at, s.kind,
                     s.kind_detected_at IS NOT NULL, s.poll_interval_s, s.last_new_at
                 FROM sources s LEFT JOIN articles a ON a.source_id = s.id
                 GROUP BY s.id ORDER BY s.name",
                &[],
            )
            .await
            .map_err(self.failed(op))?;
        let text = |t: Option<DateTime<Utc>>| t.map(to_db_time);
        let mut per_source = Vec::with_capacity(rows.len());
        for r in &rows {
            per_source.push(
                (|| {
                    Ok::<_, tokio_postgres::Error>(SourceStats {
                        name: r.try_get(0)?,
                        enabled: r.try_get(1)?,
                        articles: r.try_get(2)?,
                        last_success_at: text(r.try_get(3)?),
                        error_count: r.try_get(4)?,
                        last_error: r.try_get(5)?,
                        last_error_at: text(r.try_get(6)?),
                        last_polled_at: text(r.try_get(7)?),
                        next_poll_at: text(r.try_get(8)?),
                        kind: r.try_get(9)?,
                        kind_detected: r.try_get(10)?,
                        poll_interval_s: r.try_get(11)?,
                        last_new_at: text(r.try_get(12)?),
                        recent_days: Vec::new(),
                    })
                })()
                .map_err(self.failed(op))?,
            );
        }
        let today = now.date_naive();
        let days: Vec<String> = (0..super::RECENT_DAYS)
            .rev()
            .filter_map(|back| today.checked_sub_days(chrono::Days::new(back)))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect();
        let from = days
            .first()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc());
        let daily = client
            .query(
                "SELECT s.name, to_char(a.first_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                     count(*)
                 FROM articles a JOIN sources s ON s.id = a.source_id
                 WHERE a.first_seen_at >= $1
                 GROUP BY s.name, day",
                &[&from],
            )
            .await
            .map_err(self.failed(op))?;
        let counts: Vec<(String, String, i64)> = daily
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(self.failed(op))?;
        for source in &mut per_source {
            source.recent_days = days
                .iter()
                .map(|day| DayCount {
                    day: day.clone(),
                    articles: counts
                        .iter()
                        .filter(|(name, d, _)| *name == source.name && d == day)
                        .map(|(_, _, n)| *n)
                        .sum(),
                })
                .collect();
        }
        let totals = client
            .query_one(
                "SELECT (SELECT coalesce(max(version), 0) FROM schema_migrations),
                     (SELECT count(*) FROM sources),
                     (SELECT count(*) FROM sources WHERE enabled),
                     (SELECT count(*) FROM sources WHERE enabled AND error_count > 0),
                     (SELECT count(*) FROM articles),
                     (SELECT count(*) FROM article_urls),
                     (SELECT count(*) FROM captures),
                     (SELECT coalesce(sum(body_size), 0)::bigint FROM captures),
                     (SELECT coalesce(sum(length(body_zstd)), 0)::bigint FROM captures),
                     (SELECT count(*) FROM fetches),
                     (SELECT count(*) FROM fetches WHERE error IS NOT NULL),
                     pg_database_size(current_database()),
                     (SELECT count(DISTINCT article_id) FROM article_version_rows
                      WHERE version > 1),
                     (SELECT count(*) FROM article_version_rows WHERE version > 1),
                     (SELECT count(*) FROM articles WHERE removed_at IS NOT NULL)",
                &[],
            )
            .await
            .map_err(self.failed(op))?;
        let n = |i: usize| totals.try_get::<_, i64>(i);
        (|| {
            Ok::<_, tokio_postgres::Error>(Stats {
                schema_version: n(0)?,
                sources: n(1)?,
                sources_enabled: n(2)?,
                sources_failing: n(3)?,
                articles: n(4)?,
                article_urls: n(5)?,
                captures: n(6)?,
                capture_bytes_raw: n(7)?,
                capture_bytes_stored: n(8)?,
                fetches: n(9)?,
                fetch_errors: n(10)?,
                database_bytes: n(11)?,
                articles_edited: n(12)?,
                later_versions: n(13)?,
                articles_removed: n(14)?,
                per_source: Vec::new(),
            })
        })()
        .map_err(self.failed(op))
        .map(|stats| Stats {
            per_source,
            ..stats
        })
    }

    // ------------------------------------------------------------------ reads

    pub(super) async fn search(
        &self,
        request: &SearchRequest,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let client = self.client().await?;
        let f = FilterValues::new(&request.filter);
        let limit = i64::from(request.limit);
        let options = format!(
            "StartSel=\"{}\", StopSel=\"{}\", MaxWords={SNIPPET_WORDS}, MinWords={}, MaxFragments=1, FragmentDelimiter=\" … \"",
            request.highlight.0.replace('"', "\"\""),
            request.highlight.1.replace('"', "\"\""),
            SNIPPET_WORDS / 2
        );
        let filter = article_filter(3);
        let rows = client
            .query(
                &format!(
                    "WITH q AS (SELECT websearch_to_tsquery('simple'::regconfig, $1) AS query)
                     SELECT a.id, s.name, a.title, a.canonical_url, a.published_at,
                         a.first_seen_at, a.language,
                         ts_headline('simple'::regconfig, a.text, q.query, $2),
                         -ts_rank('{SEARCH_WEIGHTS}', a.search, q.query)::float8 AS score
                     FROM q, articles a
                     LEFT JOIN sources s ON s.id = a.source_id
                     WHERE a.search @@ q.query AND {filter}
                     ORDER BY score, a.id
                     LIMIT $7"
                ),
                &[
                    &request.expression,
                    &options,
                    &f.source,
                    &f.since,
                    &f.until,
                    &f.lang,
                    &limit,
                ],
            )
            .await
            .map_err(|e| match e.as_db_error() {
                // 42601: syntax error; 22023: invalid parameter (headline options).
                Some(db) if db.code().code() == "42601" => StoreError::BadQuery {
                    query: request.expression.clone(),
                    message: db.message().to_string(),
                },
                _ => self.failed("search")(e),
            })?;
        rows.iter()
            .map(|r| {
                Ok(SearchHit {
                    id: r.try_get(0)?,
                    source: r.try_get(1)?,
                    title: r.try_get(2)?,
                    canonical_url: r.try_get(3)?,
                    published_at: r.try_get(4)?,
                    first_seen_at: r.try_get(5)?,
                    language: r.try_get(6)?,
                    snippet: r.try_get::<_, Option<String>>(7)?.unwrap_or_default(),
                    score: r.try_get(8)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(self.failed("search"))
    }

    pub(super) async fn find_article(
        &self,
        key: &ArticleKey,
    ) -> Result<Option<ArticleId>, StoreError> {
        let client = self.client().await?;
        let client: &tokio_postgres::Client = &client;
        match key {
            ArticleKey::Id(id) => client
                .query_opt("SELECT id FROM articles WHERE id = $1", &[id])
                .await
                .and_then(|row| row.map(|r| r.try_get(0)).transpose())
                .map_err(self.failed("look up article")),
            ArticleKey::Urls(urls) => find_by_urls(client, urls)
                .await
                .map_err(self.failed("look up article")),
            ArticleKey::CaptureBody(sha256) => client
                .query_opt(
                    "SELECT article_id FROM captures WHERE body_sha256 = $1 ORDER BY id LIMIT 1",
                    &[sha256],
                )
                .await
                .and_then(|row| row.map(|r| r.try_get(0)).transpose())
                .map_err(self.failed("look up capture body")),
        }
    }

    async fn article_urls(
        &self,
        client: &tokio_postgres::Client,
        id: ArticleId,
    ) -> Result<Vec<String>, StoreError> {
        client
            .query(
                "SELECT url FROM article_urls WHERE article_id = $1 ORDER BY first_seen_at, url",
                &[&id],
            )
            .await
            .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
            .map_err(self.failed("list article urls"))
    }

    pub(super) async fn article(&self, id: ArticleId) -> Result<Option<ArticleRecord>, StoreError> {
        let client = self.client().await?;
        let client: &tokio_postgres::Client = &client;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {ARTICLE_COLUMNS} FROM articles a
                     LEFT JOIN sources s ON s.id = a.source_id WHERE a.id = $1"
                ),
                &[&id],
            )
            .await
            .map_err(self.failed("read article"))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut article = article_row(&row).map_err(|e| self.bad_row("read article", e))?;
        article.urls = self.article_urls(client, id).await?;
        Ok(Some(article))
    }

    fn bad_row(&self, operation: &'static str, error: RowError) -> StoreError {
        match error {
            RowError::Driver(e) => self.failed(operation)(e),
            RowError::Value(message) => StoreError::Postgres {
                location: self.location.clone(),
                operation,
                message,
            },
        }
    }

    pub(super) async fn articles_page(
        &self,
        filter: &ArticleFilter,
        after: ArticleId,
        limit: u32,
    ) -> Result<Vec<ArticleRecord>, StoreError> {
        let client = self.client().await?;
        let client: &tokio_postgres::Client = &client;
        let f = FilterValues::new(filter);
        let rows = client
            .query(
                &format!(
                    "SELECT {ARTICLE_COLUMNS} FROM articles a
                     LEFT JOIN sources s ON s.id = a.source_id
                     WHERE a.id > $1 AND {}
                     ORDER BY a.id LIMIT $6",
                    article_filter(2)
                ),
                &[
                    &after,
                    &f.source,
                    &f.since,
                    &f.until,
                    &f.lang,
                    &i64::from(limit),
                ],
            )
            .await
            .map_err(self.failed("read articles"))?;
        let mut page = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut article = article_row(row).map_err(|e| self.bad_row("read articles", e))?;
            article.urls = self.article_urls(client, article.id).await?;
            page.push(article);
        }
        Ok(page)
    }

    pub(super) async fn captures_of(
        &self,
        article: ArticleId,
    ) -> Result<Vec<CaptureInfo>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CAPTURE_COLUMNS} FROM captures c
                     WHERE c.article_id = $1 ORDER BY c.fetched_at, c.id"
                ),
                &[&article],
            )
            .await
            .map_err(self.failed("list captures"))?;
        rows.iter()
            .map(capture_info_row)
            .collect::<Result<_, _>>()
            .map_err(|e| self.bad_row("list captures", e))
    }

    pub(super) async fn latest_capture(
        &self,
        article: ArticleId,
    ) -> Result<Option<Capture>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {CAPTURE_COLUMNS}, c.body_zstd, c.dictionary_id FROM captures c
                     WHERE c.article_id = $1 ORDER BY c.fetched_at DESC, c.id DESC LIMIT 1"
                ),
                &[&article],
            )
            .await
            .map_err(self.failed("read capture"))?;
        let stored = row
            .as_ref()
            .map(stored_capture_row)
            .transpose()
            .map_err(|e| self.bad_row("read capture", e))?;
        Ok(self
            .decompress_captures(&client, stored.into_iter().collect())
            .await?
            .pop())
    }

    pub(super) async fn captures_page(
        &self,
        filter: &ArticleFilter,
        after: CaptureId,
        limit: u32,
    ) -> Result<Vec<Capture>, StoreError> {
        let client = self.client().await?;
        let f = FilterValues::new(filter);
        let rows = client
            .query(
                &format!(
                    "SELECT {CAPTURE_COLUMNS}, c.body_zstd, c.dictionary_id FROM captures c
                     JOIN articles a ON a.id = c.article_id
                     WHERE c.id > $1 AND {}
                     ORDER BY c.id LIMIT $6",
                    article_filter(2)
                ),
                &[
                    &after,
                    &f.source,
                    &f.since,
                    &f.until,
                    &f.lang,
                    &i64::from(limit),
                ],
            )
            .await
            .map_err(self.failed("read captures"))?;
        let stored = rows
            .iter()
            .map(stored_capture_row)
            .collect::<Result<_, _>>()
            .map_err(|e| self.bad_row("read captures", e))?;
        self.decompress_captures(&client, stored).await
    }

    pub(super) async fn update_extracted(
        &self,
        id: ArticleId,
        fields: &ExtractedFields,
        rules: &StoryRules,
    ) -> Result<Reextracted, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin re-extraction"))?;
        // The story-band locks before the article's row, as revisits take them, so that
        // the two never wait on each other in opposite orders.
        lock_story_bands(&*tx, fields.story_fingerprint.as_ref(), rules)
            .await
            .map_err(self.failed("lock for story"))?;
        let outcome = self.apply_extracted(&*tx, id, fields, rules).await?;
        if outcome != Reextracted::Missing {
            tx.commit()
                .await
                .map_err(self.failed("commit re-extraction"))?;
        }
        Ok(outcome)
    }

    /// Writes extracted fields to an article where they differ from the stored ones (the
    /// full-text document follows), records the extractor and refreshes the story
    /// fingerprint, inside the caller's transaction, which holds the fingerprint's band locks.
    async fn apply_extracted<C: GenericClient + Sync>(
        &self,
        tx: &C,
        id: ArticleId,
        fields: &ExtractedFields,
        rules: &StoryRules,
    ) -> Result<Reextracted, StoreError> {
        let op = "re-extract article";
        let mut new = FieldValues::new(fields);
        let authors = serde_json::to_string(&new.authors)
            .map_err(|e| StoreError::Other(format!("encode authors of article {id}: {e}")))?;
        let row = tx
            .query_opt(
                "SELECT title, authors::text, published_at, published_offset, updated_at,
                     updated_offset, language, site_name, description, text, text_fingerprint,
                     extractor
                 FROM articles WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await
            .map_err(self.failed(op))?;
        let Some(row) = row else {
            return Ok(Reextracted::Missing);
        };
        let old = FieldValues::read(&row).map_err(|e| self.bad_row(op, e))?;
        let old_extractor: String = row.try_get(11).map_err(self.failed(op))?;
        // A fingerprint another article already holds means the two are one story; this
        // one keeps none rather than breaking the unique index.
        let mut clash = None;
        if let Some(fp) = &new.text_fingerprint
            && old.text_fingerprint.as_deref() != Some(fp.as_str())
        {
            clash = tx
                .query_opt(
                    "SELECT id FROM articles WHERE text_fingerprint = $1 AND id <> $2",
                    &[fp, &id],
                )
                .await
                .and_then(|r| r.map(|r| r.try_get::<_, ArticleId>(0)).transpose())
                .map_err(self.failed("look up fingerprint"))?;
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
        )
        .await
        .map_err(self.failed("refresh story"))?;
        if changed.is_empty() {
            if old_extractor != fields.extractor {
                tx.execute(
                    "UPDATE articles SET extractor = $2 WHERE id = $1",
                    &[&id, &fields.extractor],
                )
                .await
                .map_err(self.failed("record extractor"))?;
            }
            return Ok(if story_changes.is_empty() {
                Reextracted::Unchanged
            } else {
                Reextracted::Changed(story_changes)
            });
        }
        tx.execute(
            "UPDATE articles SET title = $2, authors = $3::text::jsonb, published_at = $4,
                 published_offset = $5, updated_at = $6, updated_offset = $7, language = $8,
                 site_name = $9, description = $10, text = $11, text_fingerprint = $12,
                 extractor = $13
             WHERE id = $1",
            &[
                &id,
                &new.title,
                &authors,
                &new.published_at,
                &new.published_offset,
                &new.updated_at,
                &new.updated_offset,
                &new.language,
                &new.site_name,
                &new.description,
                &new.text,
                &new.text_fingerprint,
                &fields.extractor,
            ],
        )
        .await
        .map_err(self.failed("update article"))?;
        changed.extend(story_changes);
        Ok(match clash {
            Some(other) => Reextracted::FingerprintClash { changed, other },
            None => Reextracted::Changed(changed),
        })
    }

    // ------------------------------------------------------------------ stories

    pub(super) async fn near_duplicates(
        &self,
        fingerprint: &Fingerprint,
        rules: &StoryRules,
        limit: usize,
    ) -> Result<Vec<NearDuplicate>, StoreError> {
        let client = self.client().await?;
        let client: &tokio_postgres::Client = &client;
        find_near_duplicates(client, fingerprint, rules, None, limit)
            .await
            .map_err(self.failed("look up near duplicates"))
    }

    async fn story_sources(
        &self,
        client: &tokio_postgres::Client,
        story: StoryId,
    ) -> Result<Vec<StorySource>, StoreError> {
        client
            .query(
                "SELECT s.name, count(*) FROM articles a
                 LEFT JOIN sources s ON s.id = a.source_id
                 WHERE a.story_id = $1
                 GROUP BY a.source_id, s.name ORDER BY min(a.first_seen_at), min(a.id)",
                &[&story],
            )
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        Ok(StorySource {
                            name: r.try_get(0)?,
                            articles: r.try_get(1)?,
                        })
                    })
                    .collect()
            })
            .map_err(self.failed("list story sources"))
    }

    pub(super) async fn stories(
        &self,
        filter: &StoryFilter,
    ) -> Result<Vec<StorySummary>, StoreError> {
        let client = self.client().await?;
        let client: &tokio_postgres::Client = &client;
        let rows = client
            .query(
                &format!(
                    "SELECT {STORY_COLUMNS} FROM stories
                     WHERE ($1::timestamptz IS NULL OR last_seen_at >= $1)
                         AND source_count >= $2
                     ORDER BY last_seen_at DESC, id DESC LIMIT $3"
                ),
                &[
                    &filter.since.map(ts),
                    &i64::from(filter.min_sources),
                    &i64::from(filter.limit),
                ],
            )
            .await
            .map_err(self.failed("list stories"))?;
        let mut stories = rows
            .iter()
            .map(story_row)
            .collect::<Result<Vec<_>, _>>()
            .map_err(self.failed("list stories"))?;
        for story in &mut stories {
            story.sources = self.story_sources(client, story.id).await?;
        }
        Ok(stories)
    }

    pub(super) async fn story_of(
        &self,
        article: ArticleId,
        limit: u32,
    ) -> Result<Option<StoryDetail>, StoreError> {
        let client = self.client().await?;
        let client: &tokio_postgres::Client = &client;
        let story_id: Option<StoryId> = client
            .query_opt("SELECT story_id FROM articles WHERE id = $1", &[&article])
            .await
            .and_then(|row| row.map(|r| r.try_get(0)).transpose())
            .map_err(self.failed("read story of article"))?
            .flatten();
        let Some(story_id) = story_id else {
            return Ok(None);
        };
        let story = client
            .query_opt(
                &format!("SELECT {STORY_COLUMNS} FROM stories WHERE id = $1"),
                &[&story_id],
            )
            .await
            .and_then(|row| row.as_ref().map(story_row).transpose())
            .map_err(self.failed("read story"))?;
        let Some(mut story) = story else {
            return Ok(None);
        };
        story.sources = self.story_sources(client, story_id).await?;
        let members = client
            .query(
                "SELECT a.id, s.name, a.title, a.canonical_url, a.first_seen_at
                 FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                 WHERE a.story_id = $1 ORDER BY a.first_seen_at, a.id LIMIT $2",
                &[&story_id, &i64::from(limit)],
            )
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        Ok(StoryMember {
                            article_id: r.try_get(0)?,
                            source: r.try_get(1)?,
                            title: r.try_get(2)?,
                            canonical_url: r.try_get(3)?,
                            first_seen_at: r.try_get(4)?,
                        })
                    })
                    .collect()
            })
            .map_err(self.failed("list story articles"))?;
        Ok(Some(StoryDetail { story, members }))
    }
}

const SOURCE_COLUMNS: &str = "id, name, url, kind, enabled, next_poll_at, last_polled_at, \
     last_success_at, etag, last_modified, last_body_sha256, error_count, last_error, \
     poll_interval_s, last_new_at, kind_detected_at, lease_node, lease_until";

fn source_row(row: &Row) -> Result<SourceState, tokio_postgres::Error> {
    Ok(SourceState {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        url: row.try_get(2)?,
        kind: row.try_get(3)?,
        enabled: row.try_get(4)?,
        next_poll_at: row.try_get(5)?,
        last_polled_at: row.try_get(6)?,
        last_success_at: row.try_get(7)?,
        etag: row.try_get(8)?,
        last_modified: row.try_get(9)?,
        last_body_sha256: row.try_get(10)?,
        error_count: row.try_get(11)?,
        last_error: row.try_get(12)?,
        poll_interval: row
            .try_get::<_, Option<i64>>(13)?
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs),
        last_new_at: row.try_get(14)?,
        kind_detected_at: row.try_get(15)?,
        lease_node: row.try_get(16)?,
        lease_until: row.try_get(17)?,
    })
}

/// The filter of a read over articles `a`, its four parameters numbered from `first`
/// (source, since, until, language); NULL means "no filter". Values are always bound,
/// never spliced.
fn article_filter(first: usize) -> String {
    let (source, since, until, lang) = (first, first + 1, first + 2, first + 3);
    format!(
        "(${source}::text IS NULL OR a.source_id = (SELECT id FROM sources WHERE name = ${source}))
         AND (${since}::timestamptz IS NULL OR coalesce(a.published_at, a.first_seen_at) >= ${since})
         AND (${until}::timestamptz IS NULL OR coalesce(a.published_at, a.first_seen_at) < ${until})
         AND (${lang}::text IS NULL OR a.language = ${lang})"
    )
}

const ARTICLE_COLUMNS: &str = "a.id, a.source_id, s.name, a.canonical_url, a.title, \
     a.authors::text, a.published_at, a.published_offset, a.updated_at, a.updated_offset, \
     a.first_seen_at, a.language, a.site_name, a.description, a.text, a.text_fingerprint, \
     a.extractor, a.story_id, \
     (SELECT count(*) FROM article_version_rows v WHERE v.article_id = a.id), \
     a.last_checked_at, a.next_revisit_at, a.removed_at, a.removed_status";

const CAPTURE_COLUMNS: &str = "c.id, c.article_id, c.url, c.fetched_at, c.status, \
     c.headers::text, c.content_type, c.charset, c.body_size, c.body_sha256";

const STORY_COLUMNS: &str =
    "id, title, first_article_id, member_count, first_seen_at, last_seen_at";

/// ts_rank weights for D, C, B, A: a word in the title (A) counts five times as much as
/// one in the text (B), as in the SQLite backend's bm25 weights.
const SEARCH_WEIGHTS: &str = "{0.1, 0.2, 0.2, 1.0}";

/// Words in a search snippet.
const SNIPPET_WORDS: u32 = 24;

struct FilterValues {
    source: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    lang: Option<String>,
}

impl FilterValues {
    fn new(f: &ArticleFilter) -> FilterValues {
        FilterValues {
            source: f.source.clone(),
            since: f.since.map(ts),
            until: f.until.map(ts),
            lang: f.language.clone(),
        }
    }
}

/// A row that could not be read: the driver's error, or a stored value that does not
/// parse (a column's CHECK should prevent it).
enum RowError {
    Driver(tokio_postgres::Error),
    Value(String),
}

impl From<tokio_postgres::Error> for RowError {
    fn from(e: tokio_postgres::Error) -> RowError {
        RowError::Driver(e)
    }
}

fn article_row(row: &Row) -> Result<ArticleRecord, RowError> {
    let authors: String = row.try_get(5)?;
    let authors: Vec<String> = serde_json::from_str(&authors)
        .map_err(|e| RowError::Value(format!("authors is not a JSON array of text: {e}")))?;
    Ok(ArticleRecord {
        id: row.try_get(0)?,
        source_id: row.try_get(1)?,
        source: row.try_get(2)?,
        canonical_url: row.try_get(3)?,
        urls: Vec::new(),
        title: row.try_get(4)?,
        authors,
        published_at: row.try_get(6)?,
        published_offset: row.try_get(7)?,
        updated_at: row.try_get(8)?,
        updated_offset: row.try_get(9)?,
        first_seen_at: row.try_get(10)?,
        language: row.try_get(11)?,
        site_name: row.try_get(12)?,
        description: row.try_get(13)?,
        text: row.try_get(14)?,
        text_fingerprint: row.try_get(15)?,
        extractor: row.try_get(16)?,
        story_id: row.try_get(17)?,
        versions: row.try_get(18)?,
        last_checked_at: row.try_get(19)?,
        next_revisit_at: row.try_get(20)?,
        removed_at: row.try_get(21)?,
        removed_status: row
            .try_get::<_, Option<i32>>(22)?
            .and_then(|status| u16::try_from(status).ok()),
    })
}

fn capture_info_row(row: &Row) -> Result<CaptureInfo, RowError> {
    let headers: String = row.try_get(5)?;
    let headers: Vec<(String, String)> = serde_json::from_str(&headers)
        .map_err(|e| RowError::Value(format!("headers are not [name, value] pairs: {e}")))?;
    let status: i32 = row.try_get(4)?;
    let size: i64 = row.try_get(8)?;
    Ok(CaptureInfo {
        id: row.try_get(0)?,
        article_id: row.try_get(1)?,
        url: row.try_get(2)?,
        fetched_at: row.try_get(3)?,
        status: u16::try_from(status)
            .map_err(|_| RowError::Value(format!("not an HTTP status: {status}")))?,
        headers,
        content_type: row.try_get(6)?,
        charset: row.try_get(7)?,
        body_size: u64::try_from(size).unwrap_or(0),
        body_sha256: row.try_get(9)?,
    })
}

/// A capture row as stored (CAPTURE_COLUMNS then body_zstd and dictionary_id), before
/// decompression, which may need the dictionary from another table.
struct StoredCapture {
    info: CaptureInfo,
    compressed: Vec<u8>,
    dictionary_id: Option<i64>,
}

fn stored_capture_row(row: &Row) -> Result<StoredCapture, RowError> {
    Ok(StoredCapture {
        info: capture_info_row(row)?,
        compressed: row.try_get(10)?,
        dictionary_id: row.try_get(11)?,
    })
}

/// Decompresses a capture's body with its dictionary from `decoders`, naming the capture,
/// its article and URL when that fails (a damaged body, or a dictionary missing or not the
/// one it was made with).
fn decompress_stored(
    stored: &StoredCapture,
    decoders: &HashMap<i64, Arc<DecoderDictionary<'static>>>,
) -> Result<Vec<u8>, String> {
    let info = &stored.info;
    let what = || {
        format!(
            "capture {} of article {} ({})",
            info.id, info.article_id, info.url
        )
    };
    let decoder = match stored.dictionary_id {
        None => None,
        Some(d) => match decoders.get(&d) {
            Some(decoder) => Some(decoder),
            None => {
                return Err(format!(
                    "{}: its zstd dictionary {d} is missing from zstd_dictionaries",
                    what()
                ));
            }
        },
    };
    let size = usize::try_from(info.body_size).unwrap_or(usize::MAX);
    codec::decompress(&stored.compressed, size, decoder.map(|d| &**d)).map_err(|e| {
        format!(
            "{} does not decompress{}: {e}",
            what(),
            stored
                .dictionary_id
                .map(|d| format!(" with zstd dictionary {d}"))
                .unwrap_or_default()
        )
    })
}

fn story_row(r: &Row) -> Result<StorySummary, tokio_postgres::Error> {
    Ok(StorySummary {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        first_article_id: r.try_get(2)?,
        articles: r.try_get(3)?,
        first_seen_at: r.try_get(4)?,
        last_seen_at: r.try_get(5)?,
        sources: Vec::new(),
    })
}

/// The article any of `urls` already leads to, trying them in order.
async fn find_by_urls<C: GenericClient + Sync>(
    client: &C,
    urls: &[String],
) -> Result<Option<ArticleId>, tokio_postgres::Error> {
    for url in urls {
        let row = client
            .query_opt(
                "SELECT article_id FROM article_urls WHERE url = $1
                 UNION ALL SELECT id FROM articles WHERE canonical_url = $1
                 LIMIT 1",
                &[url],
            )
            .await?;
        if let Some(row) = row {
            return Ok(Some(row.try_get(0)?));
        }
    }
    Ok(None)
}

/// The archived article that `urls` or the text fingerprint name.
async fn find_existing<C: GenericClient + Sync>(
    client: &C,
    urls: &[String],
    text_fingerprint: Option<&str>,
) -> Result<Option<ArticleId>, tokio_postgres::Error> {
    if let Some(id) = find_by_urls(client, urls).await? {
        return Ok(Some(id));
    }
    let Some(fp) = text_fingerprint else {
        return Ok(None);
    };
    client
        .query_opt(
            "SELECT id FROM articles WHERE text_fingerprint = $1",
            &[&fp],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()
}

async fn add_urls<C: GenericClient + Sync>(
    client: &C,
    article_id: ArticleId,
    source_id: Option<SourceId>,
    urls: &[String],
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO article_urls (url, article_id, source_id, first_seen_at)
             SELECT url, $2, $3, $4 FROM unnest($1::text[]) AS url
             ON CONFLICT (url) DO NOTHING",
            &[&urls, &article_id, &source_id, &now],
        )
        .await?;
    Ok(())
}

async fn add_item<C: GenericClient + Sync>(
    client: &C,
    source_id: SourceId,
    item_key: &str,
    article_id: ArticleId,
    now: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO feed_items (source_id, item_key, article_id, first_seen_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (source_id, item_key) DO UPDATE SET article_id = excluded.article_id",
            &[&source_id, &item_key, &article_id, &now],
        )
        .await?;
    Ok(())
}

// ------------------------------------------------------------------ story helpers

/// Articles read per band in a near-duplicate lookup (as in the SQLite backend).
const BAND_BUCKET_LIMIT: i64 = 64;

/// Candidates whose fingerprints are compared in one lookup.
const MAX_CANDIDATES: usize = 32;

/// A band's key as stored: its index, and its 32-bit hash as a signed 32-bit integer.
fn band_key(band: usize, hash: u32) -> (i32, i32) {
    (i32::try_from(band).unwrap_or(i32::MAX), hash as i32)
}

async fn find_near_duplicates<C: GenericClient + Sync>(
    client: &C,
    fingerprint: &Fingerprint,
    rules: &StoryRules,
    exclude: Option<ArticleId>,
    limit: usize,
) -> Result<Vec<NearDuplicate>, tokio_postgres::Error> {
    if !rules.comparable(fingerprint) {
        return Ok(Vec::new());
    }
    let (bands, hashes): (Vec<i32>, Vec<i32>) = fingerprint
        .bands()
        .into_iter()
        .enumerate()
        .map(|(band, hash)| band_key(band, hash))
        .unzip();
    // Each band's newest BAND_BUCKET_LIMIT articles, counted per article.
    let rows = client
        .query(
            "SELECT b.article_id, count(*) FROM unnest($1::int[], $2::int[]) AS k (band, hash)
             CROSS JOIN LATERAL (
                 SELECT article_id FROM story_bands
                 WHERE band = k.band AND hash = k.hash
                 ORDER BY article_id DESC LIMIT $3
             ) b
             GROUP BY b.article_id",
            &[&bands, &hashes, &BAND_BUCKET_LIMIT],
        )
        .await?;
    let mut shared: HashMap<ArticleId, i64> = HashMap::new();
    for row in &rows {
        shared.insert(row.try_get(0)?, row.try_get(1)?);
    }
    if let Some(exclude) = exclude {
        shared.remove(&exclude);
    }
    let mut candidates: Vec<(ArticleId, i64)> = shared.into_iter().collect();
    candidates.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    candidates.truncate(MAX_CANDIDATES);
    let ids: Vec<ArticleId> = candidates.iter().map(|(id, _)| *id).collect();
    let rows = client
        .query(
            "SELECT f.article_id, f.scheme, f.words, f.shingles, f.minhash, a.story_id
             FROM article_fingerprints f JOIN articles a ON a.id = f.article_id
             WHERE f.article_id = ANY($1)",
            &[&ids],
        )
        .await?;
    let mut found = Vec::new();
    for row in &rows {
        let minhash: Vec<u8> = row.try_get(4)?;
        let Some(other) = Fingerprint::from_stored(
            unsigned(row.try_get(1)?),
            unsigned(row.try_get(2)?),
            unsigned(row.try_get(3)?),
            &minhash,
        ) else {
            continue;
        };
        if let Some(score) = rules.score(fingerprint, &other)
            && score >= rules.threshold
        {
            found.push(NearDuplicate {
                article_id: row.try_get(0)?,
                story_id: row.try_get(5)?,
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

/// Replaces an article's fingerprint and bands.
async fn put_fingerprint<C: GenericClient + Sync>(
    client: &C,
    article_id: ArticleId,
    fingerprint: &Fingerprint,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "DELETE FROM story_bands WHERE article_id = $1",
            &[&article_id],
        )
        .await?;
    insert_fingerprint(client, article_id, fingerprint).await
}

/// Writes an article's fingerprint and its bands (an article that has none yet, or whose
/// old bands are gone).
async fn insert_fingerprint<C: GenericClient + Sync>(
    client: &C,
    article_id: ArticleId,
    fingerprint: &Fingerprint,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO article_fingerprints (article_id, scheme, words, shingles, minhash)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (article_id) DO UPDATE SET scheme = excluded.scheme,
                 words = excluded.words, shingles = excluded.shingles,
                 minhash = excluded.minhash",
            &[
                &article_id,
                &i64::from(fingerprint.scheme),
                &i64::from(fingerprint.words),
                &i64::from(fingerprint.shingles),
                &fingerprint.minhash_bytes(),
            ],
        )
        .await?;
    let (bands, hashes): (Vec<i32>, Vec<i32>) = fingerprint
        .bands()
        .into_iter()
        .enumerate()
        .map(|(band, hash)| band_key(band, hash))
        .unzip();
    client
        .execute(
            "INSERT INTO story_bands (band, hash, article_id)
             SELECT band, hash, $3 FROM unnest($1::int[], $2::int[]) AS k (band, hash)
             ON CONFLICT DO NOTHING",
            &[&bands, &hashes, &article_id],
        )
        .await?;
    Ok(())
}

/// Takes the transaction-scoped advisory locks of a fingerprint's bands, in ascending key
/// order and in one statement, before the transaction looks up near-duplicates or writes
/// bands. Two articles can only find each other through a band they share, so two
/// transactions that could put near-duplicates into two different stories always share a
/// lock and run one after the other; the later one's lookup (a new statement, so a new
/// snapshot under READ COMMITTED) sees the earlier one's committed bands. Articles with no
/// band in common, most of them, never wait for each other; one lock for the whole
/// archive made every node's articles queue behind each other. The ascending order in a
/// single statement is what keeps two such transactions from deadlocking on each other's
/// bands. A fingerprint too short to compare takes no lock: it is never looked up.
async fn lock_story_bands<C: GenericClient + Sync>(
    client: &C,
    fingerprint: Option<&Fingerprint>,
    rules: &StoryRules,
) -> Result<(), tokio_postgres::Error> {
    let Some(fingerprint) = fingerprint.filter(|f| rules.comparable(f)) else {
        return Ok(());
    };
    let mut keys: Vec<i64> = fingerprint
        .bands()
        .into_iter()
        .enumerate()
        .map(|(band, hash)| band_lock_key(band, hash))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // unnest yields the array's elements in order and the projection locks them one by
    // one in that order.
    client
        .execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k",
            &[&keys],
        )
        .await?;
    Ok(())
}

/// A band's advisory lock key: [`BAND_LOCK_SPACE`], the band's index above bit 32 and its
/// hash below.
fn band_lock_key(band: usize, hash: u32) -> i64 {
    let band = i64::try_from(band % 64).unwrap_or(0);
    BAND_LOCK_SPACE | (band << 32) | i64::from(hash)
}

/// Where an article about to be archived goes: into the story of a near-duplicate, or a
/// story of its own whose id is taken from the sequence beforehand, so that the article's
/// row is written once with its story (an update afterwards would rewrite every index of
/// the row, the full-text and trigram ones included).
#[derive(Debug, Clone, Copy)]
enum StoryPlan {
    Join(StoryId),
    Start(StoryId),
}

impl StoryPlan {
    fn story_id(self) -> StoryId {
        match self {
            StoryPlan::Join(id) | StoryPlan::Start(id) => id,
        }
    }
}

/// Decides [`StoryPlan`] for an article not yet inserted, under its bands' locks (taken
/// here, held to the commit). A new story's row can only follow the article's (it names
/// its first article), so the article's foreign key to it is checked at the commit.
async fn plan_story<C: GenericClient + Sync>(
    client: &C,
    fingerprint: Option<&Fingerprint>,
    rules: &StoryRules,
) -> Result<StoryPlan, tokio_postgres::Error> {
    lock_story_bands(client, fingerprint, rules).await?;
    if let Some(story_id) = joinable_story(client, fingerprint, rules, None).await? {
        return Ok(StoryPlan::Join(story_id));
    }
    // Both at once: the connection pipelines them, one round trip while the band locks
    // are held instead of two.
    let (_, row) = tokio::try_join!(
        client.batch_execute("SET CONSTRAINTS articles_story_id_fkey DEFERRED"),
        client.query_one(
            "SELECT nextval(pg_get_serial_sequence('stories', 'id'))",
            &[],
        ),
    )?;
    Ok(StoryPlan::Start(row.try_get(0)?))
}

/// The story of the closest near-duplicate that has one, if any.
async fn joinable_story<C: GenericClient + Sync>(
    client: &C,
    fingerprint: Option<&Fingerprint>,
    rules: &StoryRules,
    exclude: Option<ArticleId>,
) -> Result<Option<StoryId>, tokio_postgres::Error> {
    let Some(fp) = fingerprint.filter(|f| rules.comparable(f)) else {
        return Ok(None);
    };
    Ok(
        find_near_duplicates(client, fp, rules, exclude, MAX_CANDIDATES)
            .await?
            .into_iter()
            .find_map(|d| d.story_id),
    )
}

/// Counts `article_id` into an existing story (its own row, naming the story or not yet,
/// is left out of the check whether its source is new to the story).
async fn count_into_story<C: GenericClient + Sync>(
    client: &C,
    story_id: StoryId,
    article_id: ArticleId,
    source_id: Option<SourceId>,
    seen_at: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    // The story's row first, in a statement of its own: another article joining it at the
    // same time commits before this one goes on, and the update below (a new snapshot)
    // then sees it when it counts the story's sources.
    client
        .execute(
            "SELECT 1 FROM stories WHERE id = $1 FOR UPDATE",
            &[&story_id],
        )
        .await?;
    client
        .execute(
            "UPDATE stories SET member_count = member_count + 1,
                 source_count = source_count + CASE WHEN $2::bigint IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM articles
                         WHERE story_id = $1 AND source_id = $2 AND id <> $3)
                     THEN 1 ELSE 0 END,
                 first_seen_at = least(first_seen_at, $4),
                 last_seen_at = greatest(last_seen_at, $4)
             WHERE id = $1",
            &[&story_id, &source_id, &article_id, &seen_at],
        )
        .await?;
    Ok(())
}

/// Writes a story with `article_id` as its first and only member; `id`: the id
/// [`plan_story`] took for it, or `None` for a new one. Returns its id.
async fn start_story<C: GenericClient + Sync>(
    client: &C,
    id: Option<StoryId>,
    article_id: ArticleId,
    source_id: Option<SourceId>,
    title: Option<&str>,
    seen_at: DateTime<Utc>,
) -> Result<StoryId, tokio_postgres::Error> {
    client
        .query_one(
            "INSERT INTO stories (id, first_article_id, title, member_count, source_count,
                 first_seen_at, last_seen_at)
             OVERRIDING SYSTEM VALUE
             VALUES (coalesce($1, nextval(pg_get_serial_sequence('stories', 'id'))), $2, $3,
                 1, CASE WHEN $4::bigint IS NULL THEN 0 ELSE 1 END, $5, $5)
             RETURNING id",
            &[&id, &article_id, &title, &source_id, &seen_at],
        )
        .await?
        .try_get(0)
}

/// Gives an archived article without a story its story (re-extraction of an article
/// archived before its text could be fingerprinted), under the caller's band locks.
async fn join_story<C: GenericClient + Sync>(
    client: &C,
    article_id: ArticleId,
    source_id: Option<SourceId>,
    title: Option<&str>,
    seen_at: DateTime<Utc>,
    fingerprint: Option<&Fingerprint>,
    rules: &StoryRules,
) -> Result<StoryId, tokio_postgres::Error> {
    let fingerprint = fingerprint.filter(|f| rules.comparable(f));
    let story_id = match joinable_story(client, fingerprint, rules, Some(article_id)).await? {
        Some(story_id) => {
            count_into_story(client, story_id, article_id, source_id, seen_at).await?;
            story_id
        }
        None => start_story(client, None, article_id, source_id, title, seen_at).await?,
    };
    client
        .execute(
            "UPDATE articles SET story_id = $2 WHERE id = $1",
            &[&article_id, &story_id],
        )
        .await?;
    match fingerprint {
        Some(fp) => put_fingerprint(client, article_id, fp).await?,
        None => remove_fingerprint(client, article_id).await?,
    }
    Ok(story_id)
}

/// Deletes an article's fingerprint and its bands.
async fn remove_fingerprint<C: GenericClient + Sync>(
    client: &C,
    article_id: ArticleId,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "DELETE FROM story_bands WHERE article_id = $1",
            &[&article_id],
        )
        .await?;
    client
        .execute(
            "DELETE FROM article_fingerprints WHERE article_id = $1",
            &[&article_id],
        )
        .await?;
    Ok(())
}

/// After re-extraction: replaces the article's fingerprint when it changed, and gives an
/// article without a story its story; an article keeps the story it has. Returns the
/// names of what changed (`story_fingerprint`, `story_id`), as the SQLite backend does.
async fn refresh_story<C: GenericClient + Sync>(
    client: &C,
    article_id: ArticleId,
    fingerprint: Option<&Fingerprint>,
    title: Option<&str>,
    rules: &StoryRules,
) -> Result<Vec<&'static str>, tokio_postgres::Error> {
    let fingerprint = fingerprint.filter(|f| rules.comparable(f));
    let Some(row) = client
        .query_opt(
            "SELECT a.story_id, a.source_id, a.first_seen_at,
                 f.scheme, f.words, f.shingles, f.minhash
             FROM articles a LEFT JOIN article_fingerprints f ON f.article_id = a.id
             WHERE a.id = $1",
            &[&article_id],
        )
        .await?
    else {
        return Ok(Vec::new());
    };
    let story_id: Option<StoryId> = row.try_get(0)?;
    let source_id: Option<SourceId> = row.try_get(1)?;
    let seen_at: DateTime<Utc> = row.try_get(2)?;
    let stored = match row.try_get::<_, Option<Vec<u8>>>(6)? {
        Some(minhash) => Fingerprint::from_stored(
            unsigned(row.try_get(3)?),
            unsigned(row.try_get(4)?),
            unsigned(row.try_get(5)?),
            &minhash,
        ),
        None => None,
    };
    let mut changed = Vec::new();
    if stored.as_ref() != fingerprint {
        changed.push("story_fingerprint");
    }
    if story_id.is_none() {
        join_story(
            client,
            article_id,
            source_id,
            title,
            seen_at,
            fingerprint,
            rules,
        )
        .await?;
        changed.push("story_id");
    } else if !changed.is_empty() {
        match fingerprint {
            Some(fp) => put_fingerprint(client, article_id, fp).await?,
            None => remove_fingerprint(client, article_id).await?,
        }
    }
    Ok(changed)
}

/// Extracted fields in the form they are compared and written.
type FieldValues = super::ArticleFields<Vec<String>, DateTime<Utc>>;

impl FieldValues {
    fn new(fields: &ExtractedFields) -> FieldValues {
        FieldValues {
            title: fields.title.clone(),
            authors: fields.authors.clone(),
            published_at: fields.published_at.map(|t| ts(t.with_timezone(&Utc))),
            published_offset: fields.published_at.map(|t| t.offset().to_string()),
            updated_at: fields.updated_at.map(|t| ts(t.with_timezone(&Utc))),
            updated_offset: fields.updated_at.map(|t| t.offset().to_string()),
            language: fields.language.clone(),
            site_name: fields.site_name.clone(),
            description: fields.description.clone(),
            text: fields.text.clone(),
            text_fingerprint: fields.text_fingerprint.clone(),
        }
    }

    fn read(row: &Row) -> Result<FieldValues, RowError> {
        let authors: String = row.try_get(1)?;
        Ok(FieldValues {
            title: row.try_get(0)?,
            authors: serde_json::from_str(&authors).map_err(|e| {
                RowError::Value(format!("authors is not a JSON array of text: {e}"))
            })?,
            published_at: row.try_get(2)?,
            published_offset: row.try_get(3)?,
            updated_at: row.try_get(4)?,
            updated_offset: row.try_get(5)?,
            language: row.try_get(6)?,
            site_name: row.try_get(7)?,
            description: row.try_get(8)?,
            text: row.try_get(9)?,
            text_fingerprint: row.try_get(10)?,
        })
    }
}

// ------------------------------------------------------------------ versions

/// A version as written.
struct VersionRow<'a> {
    article_id: ArticleId,
    capture_id: CaptureId,
    title: Option<&'a str>,
    text: &'a str,
    published_at: Option<DateTime<FixedOffset>>,
    updated_at: Option<DateTime<FixedOffset>>,
    seen_at: DateTime<Utc>,
}

/// The content hash of a version's fields, over dates in the SQLite schema's text form,
/// so that both backends give one version the same hash.
fn version_hash(
    title: Option<&str>,
    text: &str,
    published_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
) -> String {
    let published = published_at.map(|t| to_db_time(ts(t)));
    let updated = updated_at.map(|t| to_db_time(ts(t)));
    content_hash(title, text, published.as_deref(), updated.as_deref())
}

/// Appends a version (numbered after the article's last one, whose row the caller has
/// locked) and returns its number. Its text is stored as NULL when it is the article
/// row's text (docs/schema.md, `article_version_rows`), so the caller writes the article
/// row first.
async fn insert_version<C: GenericClient + Sync>(
    client: &C,
    v: &VersionRow<'_>,
) -> Result<i64, tokio_postgres::Error> {
    let published = v.published_at.map(|t| ts(t.with_timezone(&Utc)));
    let updated = v.updated_at.map(|t| ts(t.with_timezone(&Utc)));
    let hash = version_hash(v.title, v.text, published, updated);
    client
        .query_one(
            "INSERT INTO article_version_rows (article_id, version, capture_id, title, text,
                 published_at, published_offset, updated_at, updated_offset, seen_at,
                 content_sha256)
             VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM article_version_rows
                          WHERE article_id = $1),
                     $2, $3,
                     CASE WHEN $4::text = (SELECT text FROM articles WHERE id = $1)
                         THEN NULL ELSE $4::text END,
                     $5, $6, $7, $8, $9, $10)
             RETURNING version",
            &[
                &v.article_id,
                &v.capture_id,
                &v.title,
                &v.text,
                &published,
                &v.published_at.map(|t| t.offset().to_string()),
                &updated,
                &v.updated_at.map(|t| t.offset().to_string()),
                &ts(v.seen_at),
                &hash,
            ],
        )
        .await?
        .try_get(0)
}

/// Gives the versions backfilled by migration 2 their content hash. Runs right after that
/// migration, when `article_versions` is still a table with every text (version 7 made it
/// a view over `article_version_rows`).
async fn fill_version_hashes<C: GenericClient + Sync>(
    client: &C,
) -> Result<(), tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT article_id, version, title, text, published_at, updated_at
             FROM article_versions WHERE content_sha256 IS NULL",
            &[],
        )
        .await?;
    for r in &rows {
        let (article, version): (ArticleId, i64) = (r.try_get(0)?, r.try_get(1)?);
        let title: Option<String> = r.try_get(2)?;
        let text: String = r.try_get(3)?;
        let hash = version_hash(title.as_deref(), &text, r.try_get(4)?, r.try_get(5)?);
        client
            .execute(
                "UPDATE article_versions SET content_sha256 = $3
                 WHERE article_id = $1 AND version = $2",
                &[&article, &version, &hash],
            )
            .await?;
    }
    Ok(())
}

/// A source's name by id.
async fn source_name<C: GenericClient + Sync>(
    client: &C,
    source_id: Option<SourceId>,
) -> Result<Option<String>, tokio_postgres::Error> {
    let Some(id) = source_id else {
        return Ok(None);
    };
    client
        .query_opt("SELECT name FROM sources WHERE id = $1", &[&id])
        .await?
        .map(|r| r.try_get(0))
        .transpose()
}

impl Db {
    /// Inserts a capture of an article and returns its id. A dictionary deleted since it
    /// was chosen (`compact` retrained the site meanwhile, on another node) is not used:
    /// the body is compressed again without.
    async fn insert_capture<C: GenericClient + Sync>(
        &self,
        tx: &C,
        article_id: ArticleId,
        c: &NewCapture,
        compressed: Option<&CompressedBody>,
    ) -> Result<CaptureId, StoreError> {
        let headers = serde_json::to_string(&c.headers)
            .map_err(|e| StoreError::Other(format!("encode headers: {e}")))?;
        // A dictionary deleted since it was chosen (`compact` retrained the site meanwhile,
        // on another node), or no body compressed by the caller: the body is compressed
        // here, plain.
        let dictionary_exists = match compressed.and_then(|c| c.dictionary_id) {
            // FOR SHARE: a deletion waits until this capture is committed, and then finds
            // the dictionary in use.
            Some(dictionary) => tx
                .query_opt(
                    "SELECT 1 FROM zstd_dictionaries WHERE id = $1 FOR SHARE",
                    &[&dictionary],
                )
                .await
                .map_err(self.failed("look up dictionary"))?
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
        let body_size = i64::try_from(c.body.len()).unwrap_or(i64::MAX);
        tx.query_one(
            "INSERT INTO captures (article_id, fetch_id, url, fetched_at, status, headers,
                 content_type, charset, charset_source, body_size, body_sha256, body_zstd,
                 dictionary_id)
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9, $10, $11, $12, $13)
             RETURNING id",
            &[
                &article_id,
                &c.fetch_id,
                &c.url,
                &ts(c.fetched_at),
                &i32::from(c.status),
                &headers,
                &c.content_type,
                &c.charset,
                &c.charset_source,
                &body_size,
                &c.body_sha256,
                &body_zstd,
                &dictionary_id,
            ],
        )
        .await
        .and_then(|r| r.try_get(0))
        .map_err(self.failed("insert capture"))
    }

    /// One statement: the due articles are locked (SKIP LOCKED: those another node is
    /// claiming right now are passed over), their next revisit moved to `hold_until`, and
    /// what a revisit needs read from the rows as they were.
    pub(super) async fn claim_due_revisits(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        source: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RevisitTarget>, StoreError> {
        let op = "claim due revisits";
        let client = self.client().await?;
        let rows = client
            .query(
                "WITH due AS (
                     SELECT a.id, a.next_revisit_at AS was_due
                     FROM articles a
                     LEFT JOIN sources s ON s.id = a.source_id
                     WHERE a.next_revisit_at IS NOT NULL AND a.next_revisit_at <= $1
                         AND a.removed_at IS NULL AND ($2::text IS NULL OR s.name = $2)
                     ORDER BY a.next_revisit_at, a.id LIMIT $3
                     FOR UPDATE OF a SKIP LOCKED),
                 claimed AS (
                     UPDATE articles SET next_revisit_at = $4 FROM due
                     WHERE articles.id = due.id
                     RETURNING articles.id, due.was_due)
                 SELECT a.id, a.source_id, s.name, a.canonical_url, a.first_seen_at,
                     a.revisit_count, c.url, c.headers::text, v.content_sha256,
                     v.text <> '', a.extractor, c.body_sha256
                 FROM claimed k
                 JOIN articles a ON a.id = k.id
                 LEFT JOIN sources s ON s.id = a.source_id
                 LEFT JOIN LATERAL (
                     SELECT url, headers, body_sha256 FROM captures WHERE article_id = a.id
                     ORDER BY fetched_at DESC, id DESC LIMIT 1) c ON true
                 LEFT JOIN LATERAL (
                     SELECT content_sha256, coalesce(text, a.text) AS text
                     FROM article_version_rows WHERE article_id = a.id
                     ORDER BY version DESC LIMIT 1) v ON true
                 ORDER BY k.was_due, a.id",
                &[&ts(now), &source, &i64::from(limit), &ts(hold_until)],
            )
            .await
            .map_err(self.failed(op))?;
        rows.iter()
            .map(|r| {
                let headers: Option<String> = r.try_get(7)?;
                let headers: Vec<(String, String)> = headers
                    .and_then(|h| serde_json::from_str(&h).ok())
                    .unwrap_or_default();
                let canonical: String = r.try_get(3)?;
                let url: Option<String> = r.try_get(6)?;
                Ok(RevisitTarget {
                    article_id: r.try_get(0)?,
                    source_id: r.try_get(1)?,
                    source: r.try_get(2)?,
                    url: url.unwrap_or(canonical),
                    first_seen_at: r.try_get(4)?,
                    revisit_count: r.try_get(5)?,
                    validators: crate::fetch::Validators {
                        etag: header_value(&headers, "etag"),
                        last_modified: header_value(&headers, "last-modified"),
                    },
                    content_sha256: r.try_get(8)?,
                    has_text: r.try_get::<_, Option<bool>>(9)?.unwrap_or(false),
                    extractor: r.try_get(10)?,
                    body_sha256: r.try_get(11)?,
                })
            })
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(self.failed(op))
    }

    pub(super) async fn next_revisit_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.client().await?;
        client
            .query_one(
                "SELECT min(next_revisit_at) FROM articles WHERE removed_at IS NULL",
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.failed("find next revisit"))
    }

    pub(super) async fn release_revisits(
        &self,
        ids: &[ArticleId],
        hold_until: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE articles SET next_revisit_at = $3
                 WHERE id = ANY($1) AND next_revisit_at = $2",
                &[&ids, &ts(hold_until), &ts(due_at)],
            )
            .await
            .map_err(self.failed("release revisits"))?;
        Ok(())
    }

    pub(super) async fn record_revisit(
        &self,
        id: ArticleId,
        checked_at: DateTime<Utc>,
        outcome: &RevisitOutcome,
        compressed: Option<&CompressedBody>,
        rules: &StoryRules,
        revisits: &RevisitRules,
    ) -> Result<Revisited, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin revisit"))?;
        if let RevisitOutcome::Fetched(version) = outcome {
            // A new version may change the story fingerprint: its band locks first, as
            // re-extraction takes them, then the article's row.
            lock_story_bands(&*tx, version.fields.story_fingerprint.as_ref(), rules)
                .await
                .map_err(self.failed("lock for story"))?;
        }
        let current = tx
            .query_opt(
                "SELECT s.name, a.first_seen_at,
                     (SELECT content_sha256 FROM article_version_rows
                      WHERE article_id = a.id ORDER BY version DESC LIMIT 1)
                 FROM articles a LEFT JOIN sources s ON s.id = a.source_id
                 WHERE a.id = $1 FOR UPDATE OF a",
                &[&id],
            )
            .await
            .map_err(self.failed("read article for revisit"))?;
        let Some(current) = current else {
            return Ok(Revisited::Missing);
        };
        let (source, first_seen, latest_hash): (Option<String>, DateTime<Utc>, Option<String>) =
            (|| {
                Ok::<_, tokio_postgres::Error>((
                    current.try_get(0)?,
                    current.try_get(1)?,
                    current.try_get(2)?,
                ))
            })()
            .map_err(self.failed("read article for revisit"))?;
        let next = revisits
            .schedule_for(source.as_deref())
            .next_after(first_seen, checked_at)
            .map(ts);
        let checked = ts(checked_at);
        if let RevisitOutcome::Postponed { until } = outcome {
            tx.execute(
                "UPDATE articles SET next_revisit_at = $2 WHERE id = $1",
                &[&id, &ts(*until)],
            )
            .await
            .map_err(self.failed("postpone revisit"))?;
            tx.commit().await.map_err(self.failed("commit revisit"))?;
            return Ok(Revisited::Postponed);
        }
        let result = match outcome {
            RevisitOutcome::Removed { status } => {
                tx.execute(
                    "UPDATE articles SET removed_at = $2, removed_status = $3,
                         last_checked_at = $2, next_revisit_at = NULL,
                         revisit_count = revisit_count + 1
                     WHERE id = $1",
                    &[&id, &checked, &i32::from(*status)],
                )
                .await
                .map_err(self.failed("mark article removed"))?;
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
                let capture_id = self
                    .insert_capture(&*tx, id, &version.capture, compressed)
                    .await?;
                let f = &version.fields;
                // The article row first: changing its text gives the versions that shared
                // the old text their own copy (the schema's trigger), and the new version
                // then shares the new one.
                self.apply_extracted(&*tx, id, f, rules).await?;
                let number = insert_version(
                    &*tx,
                    &VersionRow {
                        article_id: id,
                        capture_id,
                        title: f.title.as_deref(),
                        text: &f.text,
                        published_at: f.published_at,
                        updated_at: f.updated_at,
                        seen_at: version.capture.fetched_at,
                    },
                )
                .await
                .map_err(self.failed("record version"))?;
                Revisited::NewVersion(number)
            }
        };
        if result != Revisited::Removed {
            let answered = result != Revisited::Failed;
            tx.execute(
                "UPDATE articles SET next_revisit_at = $2, revisit_count = revisit_count + 1,
                     last_checked_at = CASE WHEN $3 THEN $4 ELSE last_checked_at END
                 WHERE id = $1",
                &[&id, &next, &answered, &checked],
            )
            .await
            .map_err(self.failed("record revisit"))?;
        }
        tx.commit().await.map_err(self.failed("commit revisit"))?;
        Ok(result)
    }

    pub(super) async fn versions_of(
        &self,
        article: ArticleId,
    ) -> Result<Vec<ArticleVersion>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT article_id, version, capture_id, title, text, published_at,
                     published_offset, updated_at, updated_offset, seen_at, content_sha256
                 FROM article_versions WHERE article_id = $1 ORDER BY version",
                &[&article],
            )
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        Ok(ArticleVersion {
                            article_id: r.try_get(0)?,
                            version: r.try_get(1)?,
                            capture_id: r.try_get(2)?,
                            title: r.try_get(3)?,
                            text: r.try_get(4)?,
                            published_at: r.try_get(5)?,
                            published_offset: r.try_get(6)?,
                            updated_at: r.try_get(7)?,
                            updated_offset: r.try_get(8)?,
                            seen_at: r.try_get(9)?,
                            content_sha256: r.try_get(10)?,
                        })
                    })
                    .collect()
            })
            .map_err(self.failed("list versions"))
    }
}

// ------------------------------------------------------------------ zstd dictionaries

impl Db {
    fn cache(&self) -> MutexGuard<'_, DictionaryCache> {
        // The cache holds prepared dictionaries only; a panic while it was held cannot
        // have left it inconsistent in a way that matters (at worst one is prepared again).
        self.dictionaries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The prepared dictionary new captures of `site` are compressed with (the site's
    /// newest, else the newest shared one), or `None` for plain zstd. The dictionary is
    /// read and parsed only when the cache does not have it.
    pub(super) async fn capture_encoder(
        &self,
        site: &str,
    ) -> Result<Option<(i64, Arc<EncoderDictionary<'static>>)>, StoreError> {
        let client = self.client().await?;
        let newest: Option<i64> = client
            .query_one("SELECT max(id) FROM zstd_dictionaries", &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.failed("read newest dictionary"))?;
        {
            let mut cache = self.cache();
            cache.observe_newest(newest);
            if let Some(cached) = cache.encoder(site) {
                return Ok(cached);
            }
        }
        let stored = client
            .query_opt(
                "SELECT id, dictionary FROM zstd_dictionaries WHERE site IN ($1, $2)
                 ORDER BY site = $1 DESC, id DESC LIMIT 1",
                &[&site, &SHARED_DICTIONARY_SITE],
            )
            .await
            .and_then(|row| {
                row.map(|r| {
                    Ok(StoredDictionary {
                        id: r.try_get(0)?,
                        bytes: r.try_get(1)?,
                    })
                })
                .transpose()
            })
            .map_err(self.failed("read site dictionary"))?;
        drop(client);
        Ok(self.cache().put_encoder(site, stored.as_ref()))
    }

    pub(super) async fn dictionary_bytes(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                "SELECT dictionary FROM zstd_dictionaries WHERE id = $1",
                &[&id],
            )
            .await
            .and_then(|row| row.map(|r| r.try_get(0)).transpose())
            .map_err(self.failed("read dictionary"))
    }

    /// Prepared decoders for the dictionaries these captures use; a dictionary missing
    /// from the archive is missing from the map.
    async fn decoders_for(
        &self,
        client: &tokio_postgres::Client,
        captures: &[StoredCapture],
    ) -> Result<HashMap<i64, Arc<DecoderDictionary<'static>>>, StoreError> {
        let mut decoders = HashMap::new();
        let mut wanted = Vec::new();
        {
            let cache = self.cache();
            for id in captures.iter().filter_map(|c| c.dictionary_id) {
                if decoders.contains_key(&id) || wanted.contains(&id) {
                    continue;
                }
                match cache.decoder(id) {
                    Some(decoder) => {
                        decoders.insert(id, decoder);
                    }
                    None => wanted.push(id),
                }
            }
        }
        if wanted.is_empty() {
            return Ok(decoders);
        }
        let rows = client
            .query(
                "SELECT id, dictionary FROM zstd_dictionaries WHERE id = ANY($1)",
                &[&wanted],
            )
            .await
            .map_err(self.failed("read dictionary"))?;
        let mut cache = self.cache();
        for r in &rows {
            let (id, bytes): (i64, Vec<u8>) = (|| Ok((r.try_get(0)?, r.try_get(1)?)))()
                .map_err(self.failed("read dictionary"))?;
            decoders.insert(id, cache.put_decoder(id, &bytes));
        }
        Ok(decoders)
    }

    /// Decompresses stored captures; the first that does not decompress is an error
    /// naming it.
    async fn decompress_captures(
        &self,
        client: &tokio_postgres::Client,
        stored: Vec<StoredCapture>,
    ) -> Result<Vec<Capture>, StoreError> {
        let decoders = self.decoders_for(client, &stored).await?;
        stored
            .into_iter()
            .map(|c| {
                let body = decompress_stored(&c, &decoders).map_err(StoreError::Other)?;
                Ok(Capture { info: c.info, body })
            })
            .collect()
    }

    /// The next at most `limit` captures after `after`, by id, with their URLs.
    pub(super) async fn capture_urls_page(
        &self,
        after: CaptureId,
        limit: u32,
    ) -> Result<Vec<(CaptureId, String)>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT id, url FROM captures WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            })
            .map_err(self.failed("list capture urls"))
    }

    /// Which dictionary each capture compressed with one uses.
    pub(super) async fn dictionary_use(&self) -> Result<HashMap<CaptureId, i64>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT id, dictionary_id FROM captures WHERE dictionary_id IS NOT NULL",
                &[],
            )
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                    .collect()
            })
            .map_err(self.failed("read dictionary use"))
    }

    pub(super) async fn dictionaries(&self) -> Result<Vec<DictionaryInfo>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT d.id, d.site, d.trained_at, d.samples, d.sample_bytes, d.size,
                     (SELECT count(*) FROM captures c WHERE c.dictionary_id = d.id)
                 FROM zstd_dictionaries d ORDER BY d.site COLLATE \"C\", d.id",
                &[],
            )
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        Ok(DictionaryInfo {
                            id: r.try_get(0)?,
                            site: r.try_get(1)?,
                            trained_at: r.try_get(2)?,
                            samples: r.try_get(3)?,
                            sample_bytes: r.try_get(4)?,
                            size: r.try_get(5)?,
                            captures: r.try_get(6)?,
                        })
                    })
                    .collect()
            })
            .map_err(self.failed("list dictionaries"))
    }

    /// The bodies of these captures, decompressed; a capture that does not decompress is
    /// returned with the reason, so one damaged row does not stop the others.
    pub(super) async fn capture_bodies(
        &self,
        ids: &[CaptureId],
    ) -> Result<Vec<CaptureBody>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CAPTURE_COLUMNS}, c.body_zstd, c.dictionary_id FROM captures c
                     WHERE c.id = ANY($1) ORDER BY c.id"
                ),
                &[&ids],
            )
            .await
            .map_err(self.failed("read capture"))?;
        let stored: Vec<StoredCapture> = rows
            .iter()
            .map(stored_capture_row)
            .collect::<Result<_, _>>()
            .map_err(|e| self.bad_row("read capture", e))?;
        let decoders = self.decoders_for(&client, &stored).await?;
        Ok(stored
            .into_iter()
            .map(|c| {
                let body = decompress_stored(&c, &decoders);
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

    pub(super) async fn add_dictionary(&self, d: &NewDictionary) -> Result<i64, StoreError> {
        let client = self.client().await?;
        client
            .query_one(
                "INSERT INTO zstd_dictionaries (site, trained_at, samples, sample_bytes, size,
                     dictionary)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &d.site,
                    &ts(d.trained_at),
                    &d.samples,
                    &d.sample_bytes,
                    &i64::try_from(d.bytes.len()).unwrap_or(i64::MAX),
                    &d.bytes,
                ],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.failed("record dictionary"))
    }

    /// Replaces capture bodies in one transaction. Each row is replaced only if it still
    /// uses the dictionary it was read with, so a concurrent compaction cannot be undone;
    /// returns how many were replaced.
    pub(super) async fn replace_capture_bodies(
        &self,
        batch: &[ReplacedBody],
    ) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin re-compression"))?;
        let update = tx
            .prepare(
                "UPDATE captures SET body_zstd = $2, dictionary_id = $3
                 WHERE id = $1 AND dictionary_id IS NOT DISTINCT FROM $4",
            )
            .await
            .map_err(self.failed("replace capture body"))?;
        let mut replaced = 0;
        for r in batch {
            replaced += tx
                .execute(
                    &update,
                    &[&r.id, &r.bytes, &r.dictionary_id, &r.previous_dictionary],
                )
                .await
                .map_err(self.failed("replace capture body"))?;
        }
        tx.commit()
            .await
            .map_err(self.failed("commit re-compression"))?;
        Ok(usize::try_from(replaced).unwrap_or(usize::MAX))
    }

    /// Deletes the dictionaries no capture uses that are not their site's newest; returns
    /// how many.
    pub(super) async fn drop_unused_dictionaries(&self) -> Result<usize, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM zstd_dictionaries d
                 WHERE d.id < (SELECT max(n.id) FROM zstd_dictionaries n WHERE n.site = d.site)
                     AND NOT EXISTS (SELECT 1 FROM captures c WHERE c.dictionary_id = d.id)",
                &[],
            )
            .await
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .map_err(self.failed("delete unused dictionaries"))
    }

    /// What the archive occupies: the database's size, and with `by_object` each table
    /// (with its TOAST data) and index of the archive's schema. PostgreSQL does not say
    /// how much of that is free space without reading every page (pgstattuple), so
    /// `free_bytes` is 0 and `payload` equals `bytes`.
    pub(super) async fn storage_usage(&self, by_object: bool) -> Result<StorageUsage, StoreError> {
        let op = "measure storage";
        let client = self.client().await?;
        let objects = if by_object {
            client
                .query(
                    "SELECT c.relname::text,
                         CASE WHEN c.relkind = 'i' THEN pg_relation_size(c.oid)
                              ELSE pg_table_size(c.oid) END AS bytes
                     FROM pg_class c
                     WHERE c.relnamespace = current_schema()::regnamespace
                         AND c.relkind IN ('r', 'i')
                     ORDER BY bytes DESC, c.relname",
                    &[],
                )
                .await
                .and_then(|rows| {
                    rows.iter()
                        .map(|r| {
                            let bytes: i64 = r.try_get(1)?;
                            Ok(ObjectSize {
                                name: r.try_get(0)?,
                                bytes,
                                payload: bytes,
                            })
                        })
                        .collect()
                })
                .map_err(self.failed(op))?
        } else {
            Vec::new()
        };
        let row = client
            .query_one(
                "SELECT pg_database_size(current_database()),
                     (SELECT count(*) FROM captures),
                     (SELECT coalesce(sum(body_size), 0)::bigint FROM captures),
                     (SELECT coalesce(sum(octet_length(body_zstd)), 0)::bigint FROM captures),
                     (SELECT coalesce(sum(size), 0)::bigint FROM zstd_dictionaries)",
                &[],
            )
            .await
            .map_err(self.failed(op))?;
        (|| {
            Ok(StorageUsage {
                file_bytes: row.try_get(0)?,
                free_bytes: 0,
                captures: row.try_get(1)?,
                capture_bytes_raw: row.try_get(2)?,
                capture_bytes_stored: row.try_get(3)?,
                dictionary_bytes: row.try_get(4)?,
                objects,
            })
        })()
        .map_err(self.failed(op))
    }

    /// Makes the space of replaced capture bodies and deleted dictionaries reusable
    /// (VACUUM). Unlike VACUUM FULL it takes no lock that would stop the other nodes'
    /// writes, and so gives back to the file system only free pages at a table's end.
    pub(super) async fn reclaim_space(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .batch_execute("VACUUM (ANALYZE) captures, zstd_dictionaries")
            .await
            .map_err(self.failed("vacuum"))
    }
}

// ------------------------------------------------------------------ moving archives

/// Most parameters one statement of a copy binds (the protocol allows 65,535).
const TRANSFER_PARAMETERS: usize = 8192;

/// The tables whose ids are identities, moved past the copied ids after a copy.
const IDENTITY_TABLES: &[&str] = &[
    "sources",
    "fetches",
    "zstd_dictionaries",
    "articles",
    "stories",
    "captures",
];

impl Db {
    /// The largest key of `table` (see [`transfer`]), `None` when it is empty.
    pub(super) async fn transfer_last_key(&self, table: &Table) -> Result<Option<i64>, StoreError> {
        let client = self.client().await?;
        client
            .query_one(
                &format!("SELECT max({})::bigint FROM {}", table.key, table.name),
                &[],
            )
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.failed("read last copied key"))
    }

    pub(super) async fn transfer_count(&self, table: &Table) -> Result<i64, StoreError> {
        let client = self.client().await?;
        client
            .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])
            .await
            .and_then(|r| r.try_get(0))
            .map_err(self.failed("count rows"))
    }

    /// The rows of `table` with keys above `after` and at most `upto`: about `limit` rows,
    /// and every row of the last key read.
    pub(super) async fn transfer_read(
        &self,
        table: &Table,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<Batch, StoreError> {
        let op = "read rows to copy";
        let (key, name) = (table.key, table.name);
        let client = self.client().await?;
        let upper: Option<i64> = client
            .query_opt(
                &format!(
                    "SELECT {key}::bigint FROM {name} WHERE {key} > $1 AND {key} <= $2
                     ORDER BY {key} LIMIT 1 OFFSET $3"
                ),
                &[&after, &upto, &(i64::from(limit.max(1)) - 1)],
            )
            .await
            .and_then(|row| row.map(|r| r.try_get(0)).transpose())
            .map_err(self.failed(op))?;
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(column, kind)| match kind {
                Kind::Int => format!("{column}::bigint"),
                Kind::Json => format!("{column}::text"),
                _ => column.to_string(),
            })
            .collect();
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM {name} WHERE {key} > $1 AND {key} <= $2 ORDER BY {key}",
                    columns.join(", ")
                ),
                &[&after, &upper.unwrap_or(upto)],
            )
            .await
            .map_err(self.failed(op))?;
        let key_index = table.columns.iter().position(|(c, _)| *c == key);
        let mut batch = Batch {
            rows: Vec::with_capacity(rows.len()),
            last_key: after,
        };
        for r in &rows {
            let row = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| {
                    Ok(match kind {
                        Kind::Int => Cell::Int(r.try_get(i)?),
                        Kind::Text => Cell::Text(r.try_get(i)?),
                        Kind::Json => Cell::Json(r.try_get(i)?),
                        Kind::Bytes => Cell::Bytes(r.try_get(i)?),
                        Kind::Bool => Cell::Bool(r.try_get(i)?),
                        Kind::Time => Cell::Time(r.try_get(i)?),
                    })
                })
                .collect::<Result<Vec<Cell>, tokio_postgres::Error>>()
                .map_err(self.failed(op))?;
            if let Some(Cell::Int(Some(k))) = key_index.map(|i| &row[i]) {
                batch.last_key = *k;
            }
            batch.rows.push(row);
        }
        Ok(batch)
    }

    /// Inserts rows into their tables, all in one transaction.
    pub(super) async fn transfer_write(
        &self,
        writes: &[(&Table, Vec<Vec<Cell>>)],
    ) -> Result<(), StoreError> {
        type Param = Box<dyn tokio_postgres::types::ToSql + Sync + Send>;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(self.failed("begin copy"))?;
        for (table, rows) in writes {
            let columns: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
            let casts: Vec<&str> = table
                .columns
                .iter()
                .map(|(_, kind)| match kind {
                    Kind::Int => "bigint",
                    Kind::Text => "text",
                    Kind::Json => "text::jsonb",
                    Kind::Bytes => "bytea",
                    Kind::Bool => "boolean",
                    Kind::Time => "timestamptz",
                })
                .collect();
            // Many rows per statement: one round trip per chunk rather than per row (a
            // batch of fingerprints brings 42 story bands per article), within the
            // protocol's limit on parameters.
            let per_statement = (TRANSFER_PARAMETERS / columns.len().max(1)).max(1);
            for chunk in rows.chunks(per_statement) {
                let mut values = Vec::with_capacity(chunk.len());
                let mut params: Vec<Param> = Vec::with_capacity(chunk.len() * columns.len());
                for row in chunk {
                    let placeholders: Vec<String> = casts
                        .iter()
                        .enumerate()
                        .map(|(i, cast)| format!("${}::{cast}", params.len() + i + 1))
                        .collect();
                    values.push(format!("({})", placeholders.join(", ")));
                    params.extend(row.iter().map(|cell| -> Param {
                        match cell {
                            Cell::Int(v) => Box::new(*v),
                            Cell::Text(v) | Cell::Json(v) => Box::new(v.clone()),
                            Cell::Time(v) => Box::new(*v),
                            Cell::Bool(v) => Box::new(*v),
                            Cell::Bytes(v) => Box::new(v.clone()),
                        }
                    }));
                }
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                tx.execute(
                    &format!(
                        "INSERT INTO {} ({}) VALUES {}",
                        table.name,
                        columns.join(", "),
                        values.join(", ")
                    ),
                    &refs,
                )
                .await
                .map_err(self.failed("copy rows"))?;
            }
        }
        tx.commit().await.map_err(self.failed("commit copy"))
    }

    /// Sets articles' story ids: rows of (article id, story id).
    pub(super) async fn transfer_link_stories(&self, rows: &[Vec<Cell>]) -> Result<(), StoreError> {
        let (ids, stories): (Vec<i64>, Vec<Option<i64>>) = rows
            .iter()
            .filter_map(|row| match row.as_slice() {
                [Cell::Int(Some(id)), Cell::Int(story)] => Some((*id, *story)),
                _ => None,
            })
            .unzip();
        let client = self.client().await?;
        client
            .execute(
                "UPDATE articles a SET story_id = l.story_id
                 FROM unnest($1::bigint[], $2::bigint[]) AS l (id, story_id)
                 WHERE a.id = l.id AND a.story_id IS DISTINCT FROM l.story_id",
                &[&ids, &stories],
            )
            .await
            .map_err(self.failed("copy story links"))?;
        Ok(())
    }

    /// After a copy that kept ids: moves each identity past the largest id, so that the
    /// next row inserted gets a new one.
    pub(super) async fn transfer_finish(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        for table in IDENTITY_TABLES {
            client
                .execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id))
                         FROM {table} HAVING max(id) IS NOT NULL"
                    ),
                    &[],
                )
                .await
                .map_err(self.failed("reset identity"))?;
        }
        Ok(())
    }
}
