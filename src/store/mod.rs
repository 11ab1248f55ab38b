//! The archive's storage, and the only owner of SQL. The rest of the program sees a small
//! API in domain terms (sources and their schedule state, the request log, "is this item
//! known", "archive this article" and decide its story, statistics; and, in [`query`], the
//! read side: search, stories, whole articles and captures, pages of them for exports,
//! re-extracted fields) and never a connection or a statement, so a second backend can be
//! added behind [`Store`] without touching anything above it.
//!
//! Two backends sit behind it, chosen by what `[archive] database` names: a path is a
//! SQLite file, reached through rusqlite on the blocking thread pool (one connection, one
//! writer, WAL so that readers such as sqlite3 and Datasette never block the daemon); a
//! `postgres://` or `postgresql://` URL is a PostgreSQL database, reached through a pool
//! of tokio-postgres connections, which several crawler nodes may share.

mod checkpoint;
mod cluster;
mod codec;
mod postgres;
pub mod query;
mod rank;
mod sqlite;
mod transfer;
pub mod versions;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, Utc};

use crate::config::SourceKind;
use crate::stories::{Fingerprint, StoryRules};
use crate::versions::RevisitRules;

pub use cluster::ClusterHosts;
pub use codec::{COMPACT_LEVEL, DEFAULT_DICTIONARY_SIZE};
pub use postgres::{PG_SCHEMA_VERSION, is_url as is_postgres_url};
pub use query::{
    ArticleFilter, ArticleKey, ArticleRecord, Capture, CaptureId, CaptureInfo, ExtractedFields,
    NearDuplicate, Reextracted, SearchHit, SearchRequest, StoryDetail, StoryFilter, StoryMember,
    StorySource, StorySummary,
};
pub use sqlite::SCHEMA_VERSION;
pub use transfer::{TableCount, TransferOptions, TransferReport, transfer};
pub use versions::{ArticleVersion, NewVersion, RevisitOutcome, RevisitTarget, Revisited};

/// Row id of a source.
pub type SourceId = i64;
/// Row id of an article.
pub type ArticleId = i64;
/// Row id of a logged request.
pub type FetchId = i64;
/// Row id of a story (near-duplicate articles).
pub type StoryId = i64;

/// A source as configured: what [`Store::sync_sources`] makes the database agree with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub name: String,
    pub url: String,
    /// `None`: the kind is detected, and kept once detected until the URL changes.
    pub kind: Option<SourceKind>,
    pub enabled: bool,
}

/// A source's row: its identity and the state kept between polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub id: SourceId,
    pub name: String,
    pub url: String,
    pub kind: String,
    pub enabled: bool,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_body_sha256: Option<String>,
    pub error_count: i64,
    pub last_error: Option<String>,
    /// The stretched interval between polls; `None` while polled on schedule.
    pub poll_interval: Option<std::time::Duration>,
    /// When a poll last found something new.
    pub last_new_at: Option<DateTime<Utc>>,
    /// When `kind` was detected from a response; `None` when configured or not yet known.
    pub kind_detected_at: Option<DateTime<Utc>>,
    /// The node holding a lease on the source (polling it), and until when; a lease that
    /// ran out may still be shown until the source is claimed again.
    pub lease_node: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

/// A claim on sources: the node taking them, and until when the claim holds unless it is
/// renewed. While it holds, no other node (or process) polls those sources; once it has
/// run out, any node may take them over. Times are the claiming node's clock, so nodes'
/// clocks must agree to well within a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLease {
    pub node: String,
    pub until: DateTime<Utc>,
}

/// A daemon announcing itself in the node registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRegistration {
    pub name: String,
    /// The newsvault version it runs.
    pub version: String,
    pub started_at: DateTime<Utc>,
}

/// A node as the registry records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeInfo {
    pub name: String,
    pub version: String,
    pub schema_version: i64,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Set by a clean shutdown; `None` while it runs, or after it died.
    pub stopped_at: Option<DateTime<Utc>>,
}

impl NodeInfo {
    /// Whether the node counts as running at `now`: not stopped, and heard from within
    /// `lease`.
    pub fn is_live(&self, now: DateTime<Utc>, lease: std::time::Duration) -> bool {
        self.stopped_at.is_none()
            && now.signed_duration_since(self.last_seen_at)
                <= chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX)
    }
}

/// How long a node that stopped, or has not been heard from, stays in the registry.
pub const NODE_RETENTION: chrono::Duration = chrono::Duration::days(30);

/// The live node (other than `me`) whose newsvault version differs from `me`'s, if any,
/// as an error naming it: two versions must not share an archive, since the older may
/// not know what the newer writes.
fn version_clash(
    nodes: &[NodeInfo],
    me: &NodeRegistration,
    lease: std::time::Duration,
    location: &str,
) -> Result<(), StoreError> {
    match nodes
        .iter()
        .find(|n| n.name != me.name && n.version != me.version && n.is_live(me.started_at, lease))
    {
        Some(other) => Err(StoreError::Incompatible {
            location: location.to_string(),
            message: format!(
                "node {:?} runs newsvault {} (this is {}) and was last seen at {}; \
                 stop it, or wait until it has been silent for {} ([cluster] lease), \
                 before starting this version",
                other.name,
                other.version,
                me.version,
                crate::clock::to_db_time(other.last_seen_at),
                humantime::format_duration(lease)
            ),
        }),
        None => Ok(()),
    }
}

/// The live node already registered under `me`'s name, if any, as an error naming it:
/// two daemons under one name would look like one lease holder (each renewing, and on
/// stopping giving up, the other's leases). A node that died keeps its name taken until it
/// has been silent for `lease`; a clean stop frees it at once.
fn name_clash(
    nodes: &[NodeInfo],
    me: &NodeRegistration,
    lease: std::time::Duration,
    location: &str,
) -> Result<(), StoreError> {
    match nodes
        .iter()
        .find(|n| n.name == me.name && n.is_live(me.started_at, lease))
    {
        Some(other) => Err(StoreError::Incompatible {
            location: location.to_string(),
            message: format!(
                "a node named {:?} is already running (started at {}, last seen at {}); \
                 give each daemon its own [cluster] node name (or leave it unset: the host \
                 name and process id), or, if that node died, start this one once it has \
                 been silent for {} ([cluster] lease)",
                other.name,
                crate::clock::to_db_time(other.started_at),
                crate::clock::to_db_time(other.last_seen_at),
                humantime::format_duration(lease)
            ),
        }),
        None => Ok(()),
    }
}

/// How a poll of a source ended, written back in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRecord {
    pub source_id: SourceId,
    /// The lease the poll ran under (the source's `lease_node` when it was claimed;
    /// `None`: no lease). The record is written only while the source's lease is still
    /// this one, so that a poll whose lease ran out and was taken over by another node
    /// cannot overwrite the new holder's schedule or clear its lease.
    pub lease_node: Option<String>,
    pub polled_at: DateTime<Utc>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub outcome: PollOutcome,
    /// After a success: the interval now in force (`None`: on schedule), and whether the
    /// poll found something new. A failed poll leaves both as they were.
    pub poll_interval: Option<std::time::Duration>,
    pub found_new: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollOutcome {
    /// The feed was read (or was unchanged); validators to send next time.
    Success {
        etag: Option<String>,
        last_modified: Option<String>,
        body_sha256: Option<String>,
    },
    /// The feed could not be read; validators are kept as they were.
    Failure { error: String },
}

/// One entry of the request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRecord {
    pub source_id: Option<SourceId>,
    pub purpose: String,
    pub url: String,
    pub final_url: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status: Option<u16>,
    pub bytes: u64,
    pub error: Option<String>,
}

/// What the archive already knows of a feed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// This source has delivered this item before and its article is archived.
    Seen,
    /// New to this source, but one of its URLs already leads to an archived article.
    KnownArticle(ArticleId),
    /// Nothing known: the page must be fetched.
    New,
    /// Fetching it failed [`MAX_ITEM_ATTEMPTS`] times; it is no longer tried.
    GivenUp,
}

/// Polls in a row in which an item's page may fail before the item is given up.
pub const MAX_ITEM_ATTEMPTS: i64 = 5;

/// A raw response to keep beside an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCapture {
    pub fetch_id: Option<FetchId>,
    pub url: String,
    pub fetched_at: DateTime<Utc>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub charset: Option<String>,
    pub charset_source: Option<String>,
    pub body: Vec<u8>,
    pub body_sha256: String,
}

/// An article ready to archive, with everything that identifies it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewArticle {
    pub source_id: Option<SourceId>,
    /// The feed item that led here (its key), if any.
    pub item_key: Option<String>,
    pub canonical_url: String,
    /// Every URL (canonical form) that led to this article, the canonical one included.
    pub urls: Vec<String>,
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub updated_at: Option<DateTime<FixedOffset>>,
    pub first_seen_at: DateTime<Utc>,
    pub language: Option<String>,
    pub site_name: Option<String>,
    pub description: Option<String>,
    pub text: String,
    pub text_fingerprint: Option<String>,
    /// The near-duplicate fingerprint of `text` ([`crate::stories::fingerprint`]): which
    /// story the article joins.
    pub story_fingerprint: Option<crate::stories::Fingerprint>,
    pub extractor: String,
    pub capture: NewCapture,
}

/// Whether [`Store::archive`] stored a new article or recognised one it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    New(ArticleId),
    /// The same article was already archived (by URL, canonical URL or text fingerprint);
    /// the new URLs and the feed item were recorded against it.
    Duplicate(ArticleId),
}

/// Counts for `newsvault stats`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub schema_version: i64,
    pub sources: i64,
    pub sources_enabled: i64,
    pub sources_failing: i64,
    pub articles: i64,
    pub article_urls: i64,
    /// Articles a revisit found edited (more than one version), versions beyond the
    /// first, and articles whose page was found gone.
    pub articles_edited: i64,
    pub later_versions: i64,
    pub articles_removed: i64,
    pub captures: i64,
    pub capture_bytes_raw: i64,
    pub capture_bytes_stored: i64,
    pub fetches: i64,
    pub fetch_errors: i64,
    pub database_bytes: i64,
    pub per_source: Vec<SourceStats>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceStats {
    pub name: String,
    pub enabled: bool,
    pub articles: i64,
    pub last_success_at: Option<String>,
    pub error_count: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_polled_at: Option<String>,
    pub next_poll_at: Option<String>,
    /// `feed`, `page` or `sitemap`, and whether it was detected rather than configured.
    pub kind: String,
    pub kind_detected: bool,
    /// The stretched interval between polls in seconds; `None` while polled on schedule.
    pub poll_interval_s: Option<i64>,
    pub last_new_at: Option<String>,
    /// Articles archived on each of the last [`RECENT_DAYS`] days (UTC), oldest first.
    pub recent_days: Vec<DayCount>,
}

/// How many days of per-source counts `stats` shows.
pub const RECENT_DAYS: u64 = 7;

/// Articles archived on one day (UTC, `YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DayCount {
    pub day: String,
    pub articles: i64,
}

/// The site a capture belongs to for its zstd dictionary: the registrable domain of its
/// URL ("bssnews.net" for "https://www.bssnews.net/bangla/…"), or the host for an address
/// or a name the public suffix list does not know.
pub fn site_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| crate::discover::registrable_domain(&u))
        .unwrap_or_default()
}

/// The `site` of the dictionary shared by the sites too small for one of their own: a
/// site's captures are compressed with its own newest dictionary, else with this one.
pub const SHARED_DICTIONARY_SITE: &str = "*";

/// A trained zstd dictionary, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DictionaryInfo {
    pub id: i64,
    pub site: String,
    pub trained_at: DateTime<Utc>,
    /// Captures it was trained on, and their uncompressed bytes.
    pub samples: i64,
    pub sample_bytes: i64,
    /// Its own size in bytes.
    pub size: i64,
    /// Captures compressed with it now.
    pub captures: i64,
}

/// A dictionary to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDictionary {
    pub site: String,
    pub trained_at: DateTime<Utc>,
    pub samples: i64,
    pub sample_bytes: i64,
    pub bytes: Vec<u8>,
}

/// A capture's body read for training or re-compression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureBody {
    pub id: CaptureId,
    pub article_id: ArticleId,
    pub url: String,
    /// The dictionary its stored form uses (`None`: plain zstd).
    pub dictionary_id: Option<i64>,
    /// Bytes it takes in `body_zstd` now.
    pub stored_size: u64,
    pub body_sha256: String,
    /// The body; or why it cannot be read, naming the capture.
    pub body: Result<Vec<u8>, String>,
}

/// A capture body compressed again, to replace the stored one if that still uses
/// `previous_dictionary`.
pub(crate) struct ReplacedBody {
    id: CaptureId,
    previous_dictionary: Option<i64>,
    dictionary_id: i64,
    bytes: Vec<u8>,
}

/// A site's dictionary prepared for re-compressing its captures (at the compaction
/// level). Cheap to clone.
#[derive(Clone)]
pub struct SiteEncoder {
    id: i64,
    dictionary: Arc<zstd::dict::EncoderDictionary<'static>>,
}

impl std::fmt::Debug for SiteEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteEncoder").field("id", &self.id).finish()
    }
}

impl SiteEncoder {
    /// The dictionary's row id.
    pub fn id(&self) -> i64 {
        self.id
    }
}

/// What one batch of [`Store::recompress`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recompressed {
    /// Captures now stored with the new dictionary.
    pub replaced: u64,
    /// Captures it would not have made smaller, left as they were.
    pub kept: u64,
    /// Their stored bytes before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Captures left as they were, each with the reason (a body that does not decompress
    /// or does not match its SHA-256).
    pub failures: Vec<String>,
}

/// The space one table or index takes (from SQLite's dbstat).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectSize {
    pub name: String,
    /// Pages it occupies, in bytes.
    pub bytes: i64,
    /// Of which data (the rest is page headers and free space inside pages).
    pub payload: i64,
}

/// What the archive occupies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StorageUsage {
    /// The database file (pages × page size), without its WAL.
    pub file_bytes: i64,
    /// Free pages inside it, reused by later writes.
    pub free_bytes: i64,
    pub captures: i64,
    pub capture_bytes_raw: i64,
    pub capture_bytes_stored: i64,
    pub dictionary_bytes: i64,
    /// Per table and index, largest first, when asked for.
    pub objects: Vec<ObjectSize>,
}

/// A storage failure. The message names the operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("archive {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("archive {operation}: {source}")]
    Sql {
        operation: &'static str,
        source: rusqlite::Error,
    },
    /// A statement failed on the archive file at `path`: locked by another writer, the
    /// disk full, the file read-only or damaged. [`Store`] turns each `Sql` error into
    /// this, so a log line says which file is in trouble.
    #[error("archive {path}: {operation}: {source}{}", busy_hint(.source))]
    Failed {
        path: PathBuf,
        operation: &'static str,
        // Boxed so that the path does not make every StoreError larger.
        source: Box<rusqlite::Error>,
    },
    /// A statement failed on the PostgreSQL database at `location` (the URL without its
    /// password): the server unreachable or restarting, a constraint, a permission.
    #[error("archive {location}: {operation}: {message}")]
    Postgres {
        location: String,
        operation: &'static str,
        message: String,
    },
    /// The archive cannot be used by this newsvault as it is: its schema is older or
    /// newer than this build's, or a node of another version runs on it. Nothing was
    /// written.
    #[error("archive {location}: {message}")]
    Incompatible { location: String, message: String },
    /// A full-text query the index cannot parse: the user's to fix, not the archive's.
    #[error("invalid search query {query:?}: {message}")]
    BadQuery { query: String, message: String },
    #[error("archive: {0}")]
    Other(String),
}

/// Says that a "database is locked" came after waiting, not at once.
fn busy_hint(error: &rusqlite::Error) -> String {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) => format!(
            " (another connection held the write lock past the {:?} busy timeout)",
            sqlite::BUSY_TIMEOUT
        ),
        _ => String::new(),
    }
}

impl StoreError {
    fn in_archive(self, path: &Path) -> StoreError {
        match self {
            StoreError::Sql { operation, source } => StoreError::Failed {
                path: path.to_path_buf(),
                operation,
                source: Box::new(source),
            },
            other => other,
        }
    }
}

/// Takes the connection. A panic while it was held cannot have left a transaction
/// half-applied (rusqlite rolls back on drop), so a poisoned lock is safe to reuse.
fn lock(db: &Mutex<sqlite::Db>) -> std::sync::MutexGuard<'_, sqlite::Db> {
    db.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An article's extracted fields as its `articles` row holds them, in the backend's own
/// forms of the author list (`A`) and of instants (`T`). Re-extraction compares an
/// article's stored fields with newly extracted ones through this, on either backend.
struct ArticleFields<A, T> {
    title: Option<String>,
    authors: A,
    published_at: Option<T>,
    published_offset: Option<String>,
    updated_at: Option<T>,
    updated_offset: Option<String>,
    language: Option<String>,
    site_name: Option<String>,
    description: Option<String>,
    text: String,
    text_fingerprint: Option<String>,
}

impl<A: PartialEq, T: PartialEq> ArticleFields<A, T> {
    /// The names of the fields (as columns) that differ from `old`.
    fn changed_from(&self, old: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        macro_rules! compare {
            ($($field:ident),*) => {
                $(if old.$field != self.$field { changed.push(stringify!($field)); })*
            };
        }
        compare!(
            title,
            authors,
            published_at,
            published_offset,
            updated_at,
            updated_offset,
            language,
            site_name,
            description,
            text,
            text_fingerprint
        );
        changed
    }
}

/// A capture body compressed for storage: with the site's dictionary when `encoder` has
/// one (its id and the prepared dictionary), else plain zstd.
fn compress_body(
    body: &[u8],
    encoder: Option<(i64, Arc<zstd::dict::EncoderDictionary<'static>>)>,
) -> Result<codec::CompressedBody, StoreError> {
    Ok(match encoder {
        Some((id, dictionary)) => codec::CompressedBody {
            bytes: codec::compress_with(body, &dictionary)?,
            dictionary_id: Some(id),
        },
        None => codec::CompressedBody {
            bytes: codec::compress_plain(body, codec::CAPTURE_LEVEL)?,
            dictionary_id: None,
        },
    })
}

/// Where the archive lives.
#[derive(Clone)]
enum Backend {
    /// One connection, shared by the clones, used on the blocking thread pool.
    Sqlite(Arc<Mutex<sqlite::Db>>),
    /// A connection pool, shared by the clones.
    Postgres(Arc<postgres::Db>),
}

/// The archive. Cheap to clone; clones share one connection (SQLite) or one pool
/// (PostgreSQL).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    path: PathBuf,
    /// When an archived article joins another's story.
    story_rules: StoryRules,
    /// When archived articles are looked at again.
    revisit_rules: Arc<RevisitRules>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location())
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the archive `path` names: a `postgres://` or
    /// `postgresql://` URL is a PostgreSQL database (which must exist), anything else the
    /// path of a SQLite file. A SQLite archive's schema is brought up to date; so is an
    /// empty PostgreSQL database's, but one of an older schema is refused
    /// ([`StoreError::Incompatible`]; [`Store::upgrade`] migrates it), since other nodes
    /// of the older version may be using it.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let backend = match path.to_str().filter(|p| postgres::is_url(p)) {
            Some(url) => Backend::Postgres(Arc::new(postgres::Db::open(url).await?)),
            None => {
                let owned = path.to_path_buf();
                let db = tokio::task::spawn_blocking(move || sqlite::Db::open(&owned))
                    .await
                    .map_err(|e| StoreError::Other(format!("open task failed: {e}")))??;
                Backend::Sqlite(Arc::new(Mutex::new(db)))
            }
        };
        Ok(Store {
            backend,
            path: path.to_path_buf(),
            story_rules: StoryRules::default(),
            revisit_rules: Arc::new(RevisitRules::default()),
        })
    }

    /// Opens the archive as [`Store::open`] does, first bringing an existing PostgreSQL
    /// database of an older schema up to date (which [`Store::open`] refuses to do
    /// behind the user's back): `newsvault upgrade`. Returns the schema version found and
    /// the one now in force. A SQLite archive is brought up to date by any open.
    pub async fn upgrade(path: &Path) -> Result<(Store, i64, i64), StoreError> {
        match path.to_str().filter(|p| postgres::is_url(p)) {
            Some(url) => {
                let (db, before) = postgres::Db::open_upgrading(url).await?;
                let store = Store {
                    backend: Backend::Postgres(Arc::new(db)),
                    path: path.to_path_buf(),
                    story_rules: StoryRules::default(),
                    revisit_rules: Arc::new(RevisitRules::default()),
                };
                Ok((store, before, PG_SCHEMA_VERSION))
            }
            None => {
                let owned = path.to_path_buf();
                let before = tokio::task::spawn_blocking(move || sqlite::schema_version_of(&owned))
                    .await
                    .map_err(|e| StoreError::Other(format!("open task failed: {e}")))??;
                Ok((Store::open(path).await?, before, SCHEMA_VERSION))
            }
        }
    }

    /// The schema version this build writes on this archive's backend.
    pub fn schema_version(&self) -> i64 {
        match &self.backend {
            Backend::Sqlite(_) => SCHEMA_VERSION,
            Backend::Postgres(_) => PG_SCHEMA_VERSION,
        }
    }

    /// This store, scheduling revisits of the articles it archives by `rules` (`[revisit]`
    /// in the configuration) from now on; clones made afterwards share them.
    pub fn with_revisit_rules(mut self, rules: RevisitRules) -> Store {
        self.revisit_rules = Arc::new(rules);
        self
    }

    /// This store, deciding stories by `rules` (`[stories]` in the configuration) from now
    /// on; clones made afterwards share them.
    pub fn with_story_rules(mut self, rules: StoryRules) -> Store {
        self.story_rules = rules;
        self
    }

    /// The rules [`Store::archive`] and [`Store::update_extracted`] decide stories by.
    pub fn story_rules(&self) -> StoryRules {
        self.story_rules
    }

    /// What the archive was opened as: the SQLite file's path, or the PostgreSQL URL as
    /// given (see [`Store::location`] for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the archive lives, for messages: the SQLite file's path, or the PostgreSQL
    /// URL without its password.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::Sqlite(_) => self.path.display().to_string(),
            Backend::Postgres(db) => db.location().to_string(),
        }
    }

    /// Runs `f` on the SQLite connection, off the async threads.
    async fn call<T, F>(&self, db: &Arc<Mutex<sqlite::Db>>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut sqlite::Db) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(db);
        tokio::task::spawn_blocking(move || f(&mut lock(&db)))
            .await
            .map_err(|e| StoreError::Other(format!("storage task failed: {e}")))?
            .map_err(|e| e.in_archive(&self.path))
    }

    /// Makes the sources table agree with the configuration: new sources are added (due
    /// at `now`), changed ones updated (a changed URL forgets its validators), and sources
    /// no longer configured are disabled, keeping their articles.
    pub async fn sync_sources(
        &self,
        specs: Vec<SourceSpec>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceState>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.sync_sources(&specs, now)).await,
            Backend::Postgres(db) => db.sync_sources(&specs, now).await,
        }
    }

    /// All sources, enabled or not, by name.
    pub async fn sources(&self) -> Result<Vec<SourceState>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.sources()).await,
            Backend::Postgres(db) => db.sources().await,
        }
    }

    /// Enabled sources whose next poll time has come.
    pub async fn due_sources(&self, now: DateTime<Utc>) -> Result<Vec<SourceState>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.due_sources(now)).await,
            Backend::Postgres(db) => db.due_sources(now).await,
        }
    }

    /// The earliest next poll time of any enabled source.
    pub async fn next_poll_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.next_poll_at()).await,
            Backend::Postgres(db) => db.next_poll_at().await,
        }
    }

    /// Sets when a source is polled next, without recording a poll.
    pub async fn set_next_poll(
        &self,
        source_id: SourceId,
        at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.set_next_poll(source_id, at))
                    .await
            }
            Backend::Postgres(db) => db.set_next_poll(source_id, at).await,
        }
    }

    /// Writes back how a poll ended and when the source is due next, and gives up the
    /// poll's lease; returns false, writing nothing, when the source's lease is no longer
    /// `record.lease_node`'s (it ran out and another node claimed the source, or finished
    /// polling it since). The poll that lost its lease then counts for nothing in the
    /// schedule: the articles it archived stay (duplicates are recognised as ever), and the
    /// holder's poll decides when the source is due next.
    pub async fn finish_poll(&self, record: PollRecord) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.finish_poll(&record)).await,
            Backend::Postgres(db) => db.finish_poll(&record).await,
        }
    }

    /// Claims at most `limit` enabled sources that are due at `now` and not leased by a
    /// live claim (none, or one that ran out by `now`), earliest due first, for
    /// `lease.node` until `lease.until`; in one transaction, so that two claimers never
    /// get the same source. Their next due time stays as it is until the poll finishes
    /// ([`Store::finish_poll`] clears the lease), so a node dying mid-poll leaves them
    /// due, for another node to take once the lease has run out.
    pub async fn claim_due_sources(
        &self,
        now: DateTime<Utc>,
        lease: &NodeLease,
        limit: usize,
    ) -> Result<Vec<SourceState>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lease = lease.clone();
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.claim_due_sources(now, &lease, limit))
                    .await
            }
            Backend::Postgres(db) => db.claim_due_sources(now, &lease, limit).await,
        }
    }

    /// Claims the given sources for `lease.node` until `lease.until` whatever their due
    /// time (a one-shot `newsvault poll`), except those under a lease that has not run out
    /// by `now`, whoever holds it: those are being polled, and are left out of the
    /// result. In one transaction, like [`Store::claim_due_sources`].
    pub async fn claim_sources(
        &self,
        sources: Vec<SourceId>,
        lease: &NodeLease,
        now: DateTime<Utc>,
    ) -> Result<Vec<SourceState>, StoreError> {
        let lease = lease.clone();
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.claim_sources(&sources, &lease, now))
                    .await
            }
            Backend::Postgres(db) => db.claim_sources(&sources, &lease, now).await,
        }
    }

    /// The heartbeat: extends `lease.node`'s leases on `sources` (the polls it still runs)
    /// to `lease.until`, and records the node as seen at `now`. Returns how many leases
    /// were extended: fewer than `sources` means another node took some over after they
    /// ran out.
    pub async fn renew_leases(
        &self,
        lease: &NodeLease,
        sources: Vec<SourceId>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let lease = lease.clone();
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.renew_leases(&lease, &sources, now))
                    .await
            }
            Backend::Postgres(db) => db.renew_leases(&lease, &sources, now).await,
        }
    }

    /// A clean shutdown: gives up every lease `node` holds (sources whose poll was
    /// abandoned are due again at once, for any node) and records the node as stopped.
    pub async fn release_leases(&self, node: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let node = node.to_string();
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.release_leases(&node, now)).await,
            Backend::Postgres(db) => db.release_leases(&node, now).await,
        }
    }

    /// Gives up `node`'s lease on one source without polling it (a source claimed just
    /// before a configuration reload removed it); the source stays due.
    pub async fn release_lease(&self, node: &str, source: SourceId) -> Result<(), StoreError> {
        let node = node.to_string();
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.release_lease(&node, source))
                    .await
            }
            Backend::Postgres(db) => db.release_lease(&node, source).await,
        }
    }

    /// The nodes the registry knows, by name.
    pub async fn nodes(&self) -> Result<Vec<NodeInfo>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.nodes()).await,
            Backend::Postgres(db) => db.nodes().await,
        }
    }

    /// Fails with [`StoreError::Incompatible`] when a live node (heard from within
    /// `lease`) other than `me` runs another newsvault version. Writes nothing.
    pub async fn check_node_versions(
        &self,
        me: &NodeRegistration,
        lease: std::time::Duration,
    ) -> Result<(), StoreError> {
        version_clash(&self.nodes().await?, me, lease, &self.location())
    }

    /// Enters `me` in the node registry (running, at this build's schema version), after
    /// the same check as [`Store::check_node_versions`] and one that no live node already
    /// goes by `me`'s name, in one transaction: when a check fails nothing is written.
    /// Nodes not heard from for [`NODE_RETENTION`] are dropped from the registry.
    pub async fn register_node(
        &self,
        me: &NodeRegistration,
        lease: std::time::Duration,
    ) -> Result<(), StoreError> {
        let me = me.clone();
        let location = self.location();
        let check = move |nodes: &[NodeInfo], me: &NodeRegistration| {
            name_clash(nodes, me, lease, &location)?;
            version_clash(nodes, me, lease, &location)
        };
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.register_node(&me, check)).await,
            Backend::Postgres(db) => db.register_node(&me, check).await,
        }
    }

    /// Records the kind detected for a source without a configured one; it stands until
    /// the source's URL changes.
    pub async fn record_detected_kind(
        &self,
        source_id: SourceId,
        kind: SourceKind,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.record_detected_kind(source_id, kind, at))
                    .await
            }
            Backend::Postgres(db) => db.record_detected_kind(source_id, kind, at).await,
        }
    }

    /// Appends to the request log.
    pub async fn record_fetch(&self, record: FetchRecord) -> Result<FetchId, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.record_fetch(&record)).await,
            Backend::Postgres(db) => db.record_fetch(&record).await,
        }
    }

    /// What is known of a feed item, by its key for this source and by its URLs.
    pub async fn item_status(
        &self,
        source_id: SourceId,
        item_key: String,
        urls: Vec<String>,
    ) -> Result<ItemStatus, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.item_status(source_id, &item_key, &urls))
                    .await
            }
            Backend::Postgres(db) => db.item_status(source_id, &item_key, &urls).await,
        }
    }

    /// Records that a page's URLs, and the feed item it came from when there is one, lead
    /// to an article already archived.
    pub async fn link_to_article(
        &self,
        source_id: Option<SourceId>,
        item_key: Option<String>,
        urls: Vec<String>,
        article_id: ArticleId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| {
                    db.link_to_article(source_id, item_key.as_deref(), &urls, article_id, now)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.link_to_article(source_id, item_key.as_deref(), &urls, article_id, now)
                    .await
            }
        }
    }

    /// Records that a feed item's page could not be archived; returns how many times
    /// that has now happened.
    pub async fn record_item_failure(
        &self,
        source_id: SourceId,
        item_key: String,
        error: String,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| {
                    db.record_item_failure(source_id, &item_key, &error, now)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.record_item_failure(source_id, &item_key, &error, now)
                    .await
            }
        }
    }

    /// Stores an article with its capture, URLs and feed item in one transaction, or
    /// recognises it as one already archived. Either way nothing is half-written. A new
    /// article joins the story of its most similar archived article (by the store's
    /// [`StoryRules`]) or starts its own, in the same transaction, so two articles archived
    /// at once cannot split a story.
    pub async fn archive(&self, article: NewArticle) -> Result<Archived, StoreError> {
        let rules = self.story_rules;
        match &self.backend {
            Backend::Sqlite(db) => {
                let db = Arc::clone(db);
                let revisits = Arc::clone(&self.revisit_rules);
                tokio::task::spawn_blocking(move || {
                    // A page already archived (another URL of it, the same text) keeps no
                    // capture, so its body is not compressed at all; the archive
                    // transaction checks again and decides.
                    let encoder = {
                        let mut db = lock(&db);
                        match db.known_article(&article)? {
                            Some(_) => None,
                            None => Some(db.capture_encoder(&site_of(&article.capture.url))?),
                        }
                    };
                    // Compressed without the connection held: this is the slow part.
                    let compressed = encoder
                        .map(|encoder| compress_body(&article.capture.body, encoder))
                        .transpose()?;
                    lock(&db).archive(&article, compressed.as_ref(), &rules, &revisits)
                })
                .await
                .map_err(|e| StoreError::Other(format!("storage task failed: {e}")))?
                .map_err(|e| e.in_archive(&self.path))
            }
            Backend::Postgres(db) => {
                let encoder = db.capture_encoder(&site_of(&article.capture.url)).await?;
                // Compression is the slow part: off the async threads, before a
                // connection is taken.
                let (article, compressed) = tokio::task::spawn_blocking(move || {
                    let compressed = compress_body(&article.capture.body, encoder);
                    (article, compressed)
                })
                .await
                .map_err(|e| StoreError::Other(format!("compression task failed: {e}")))?;
                db.archive(&article, &compressed?, &rules, &self.revisit_rules)
                    .await
            }
        }
    }

    /// Counts for `stats`; per-day counts are for the days up to `now`.
    pub async fn stats(&self, now: DateTime<Utc>) -> Result<Stats, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.stats(now)).await,
            Backend::Postgres(db) => db.stats(now).await,
        }
    }

    /// Full-text search, best matches first. On SQLite, a query with more matches than
    /// search ranks (5,000) ranks the most recently archived ones, so that a word found in
    /// much of a large archive costs no more than one found in 5,000 articles. A query the
    /// index cannot parse is [`StoreError::BadQuery`].
    pub async fn search(&self, request: SearchRequest) -> Result<Vec<SearchHit>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.search(&request)).await,
            Backend::Postgres(db) => db.search(&request).await,
        }
    }

    /// The article an id or URL names, if archived.
    pub async fn find_article(&self, key: ArticleKey) -> Result<Option<ArticleId>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.find_article(&key)).await,
            Backend::Postgres(db) => db.find_article(&key).await,
        }
    }

    /// One article with its source name and URLs.
    pub async fn article(&self, id: ArticleId) -> Result<Option<ArticleRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.article(id)).await,
            Backend::Postgres(db) => db.article(id).await,
        }
    }

    /// The next at most `limit` articles matching `filter` with ids above `after`, by id:
    /// call again with the last id to stream the whole selection.
    pub async fn articles_page(
        &self,
        filter: ArticleFilter,
        after: ArticleId,
        limit: u32,
    ) -> Result<Vec<ArticleRecord>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.articles_page(&filter, after, limit))
                    .await
            }
            Backend::Postgres(db) => db.articles_page(&filter, after, limit).await,
        }
    }

    /// An article's captures, oldest first, without their bodies.
    pub async fn captures_of(&self, article: ArticleId) -> Result<Vec<CaptureInfo>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.captures_of(article)).await,
            Backend::Postgres(db) => db.captures_of(article).await,
        }
    }

    /// An article's most recent capture with its body decompressed.
    pub async fn latest_capture(&self, article: ArticleId) -> Result<Option<Capture>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.latest_capture(article)).await,
            Backend::Postgres(db) => db.latest_capture(article).await,
        }
    }

    /// The next at most `limit` captures (with bodies) of articles matching `filter`, with
    /// capture ids above `after`, by id: call again with the last id to stream them all.
    pub async fn captures_page(
        &self,
        filter: ArticleFilter,
        after: CaptureId,
        limit: u32,
    ) -> Result<Vec<Capture>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.captures_page(&filter, after, limit))
                    .await
            }
            Backend::Postgres(db) => db.captures_page(&filter, after, limit).await,
        }
    }

    /// Writes re-extracted fields to an article where they differ from the stored ones
    /// (the full-text index follows), recording the extractor; in one transaction. The
    /// story fingerprint is replaced when it changed, and an article without a story
    /// (archived before stories existed) gets one; an article keeps the story it has.
    pub async fn update_extracted(
        &self,
        id: ArticleId,
        fields: ExtractedFields,
    ) -> Result<Reextracted, StoreError> {
        let rules = self.story_rules;
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.update_extracted(id, &fields, &rules))
                    .await
            }
            Backend::Postgres(db) => db.update_extracted(id, &fields, &rules).await,
        }
    }

    /// The archived articles whose texts are near-duplicates of `fingerprint` by the
    /// store's rules, most similar first (at most `limit`). Reads only the few articles
    /// that share a locality-sensitive band with it, however large the archive.
    pub async fn near_duplicates(
        &self,
        fingerprint: Fingerprint,
        limit: usize,
    ) -> Result<Vec<NearDuplicate>, StoreError> {
        let rules = self.story_rules;
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| {
                    db.near_duplicates(&fingerprint, &rules, None, limit)
                })
                .await
            }
            Backend::Postgres(db) => db.near_duplicates(&fingerprint, &rules, limit).await,
        }
    }

    /// Stories with their sources, most recently joined first.
    pub async fn stories(&self, filter: StoryFilter) -> Result<Vec<StorySummary>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.stories(&filter)).await,
            Backend::Postgres(db) => db.stories(&filter).await,
        }
    }

    /// The story an article belongs to, with at most `limit` of its articles (oldest
    /// first); `None` when the article has no story yet.
    pub async fn story_of(
        &self,
        article: ArticleId,
        limit: u32,
    ) -> Result<Option<StoryDetail>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.story_of(article, limit)).await,
            Backend::Postgres(db) => db.story_of(article, limit).await,
        }
    }

    /// Claims the articles whose next revisit is due at `now` (not removed), earliest
    /// first, at most `limit`; only those first found by the source named `source` when
    /// given. Claiming moves their next revisit to `hold_until`, in one transaction, so
    /// that no other node (or `newsvault revisit`) takes them meanwhile;
    /// [`Store::record_revisit`] then schedules the next one. A process that dies before
    /// recording leaves its articles due again at `hold_until`.
    pub async fn claim_due_revisits(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        source: Option<String>,
        limit: u32,
    ) -> Result<Vec<RevisitTarget>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| {
                    db.claim_due_revisits(now, hold_until, source.as_deref(), limit)
                })
                .await
            }
            Backend::Postgres(db) => {
                db.claim_due_revisits(now, hold_until, source.as_deref(), limit)
                    .await
            }
        }
    }

    /// Gives back articles a revisit batch claimed (held until `hold_until`) but did not
    /// revisit: they are due again at `due_at`. An article whose hold has changed since
    /// (another claim after it ran out, or its revisit recorded) is left as it is.
    pub async fn release_revisits(
        &self,
        ids: Vec<ArticleId>,
        hold_until: DateTime<Utc>,
        due_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.release_revisits(&ids, hold_until, due_at))
                    .await
            }
            Backend::Postgres(db) => db.release_revisits(&ids, hold_until, due_at).await,
        }
    }

    /// The earliest next revisit of any article.
    pub async fn next_revisit_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.next_revisit_at()).await,
            Backend::Postgres(db) => db.next_revisit_at().await,
        }
    }

    /// Records a revisit of an article made at `checked_at`, and schedules the next one by
    /// the store's revisit rules. A response whose content hash equals the latest
    /// version's stores nothing but the time; a changed one becomes a new version with its
    /// own capture, the article row (full-text index and story fingerprint included) is
    /// updated to it, all in one transaction. The article keeps its story.
    pub async fn record_revisit(
        &self,
        article: ArticleId,
        checked_at: DateTime<Utc>,
        outcome: RevisitOutcome,
    ) -> Result<Revisited, StoreError> {
        let rules = self.story_rules;
        let db = match &self.backend {
            Backend::Sqlite(db) => Arc::clone(db),
            Backend::Postgres(db) => {
                let compressed = match &outcome {
                    RevisitOutcome::Fetched(version) => {
                        let encoder = db.capture_encoder(&site_of(&version.capture.url)).await?;
                        let body = version.capture.body.clone();
                        Some(
                            tokio::task::spawn_blocking(move || compress_body(&body, encoder))
                                .await
                                .map_err(|e| {
                                    StoreError::Other(format!("compression task failed: {e}"))
                                })??,
                        )
                    }
                    _ => None,
                };
                return db
                    .record_revisit(
                        article,
                        checked_at,
                        &outcome,
                        compressed.as_ref(),
                        &rules,
                        &self.revisit_rules,
                    )
                    .await;
            }
        };
        let revisits = Arc::clone(&self.revisit_rules);
        tokio::task::spawn_blocking(move || {
            let compressed = match &outcome {
                RevisitOutcome::Fetched(version) => {
                    let site = site_of(&version.capture.url);
                    let encoder = lock(&db).capture_encoder(&site)?;
                    Some(compress_body(&version.capture.body, encoder)?)
                }
                _ => None,
            };
            lock(&db).record_revisit(
                article,
                checked_at,
                &outcome,
                compressed.as_ref(),
                &rules,
                &revisits,
            )
        })
        .await
        .map_err(|e| StoreError::Other(format!("storage task failed: {e}")))?
        .map_err(|e| e.in_archive(&self.path))
    }

    /// An article's versions, oldest first (version 1 is what was first archived).
    pub async fn versions_of(&self, article: ArticleId) -> Result<Vec<ArticleVersion>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.versions_of(article)).await,
            Backend::Postgres(db) => db.versions_of(article).await,
        }
    }

    /// The trained zstd dictionaries, by site.
    pub async fn dictionaries(&self) -> Result<Vec<DictionaryInfo>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.dictionaries()).await,
            Backend::Postgres(db) => db.dictionaries().await,
        }
    }

    /// Every capture's id, URL's site and dictionary (`None`: plain zstd), by id. Reads
    /// URLs a page at a time and dictionaries from their index, never the bodies.
    pub async fn capture_sites(&self) -> Result<Vec<(CaptureId, String, Option<i64>)>, StoreError> {
        let used = match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.dictionary_use()).await?,
            Backend::Postgres(db) => db.dictionary_use().await?,
        };
        let mut sites = Vec::new();
        let mut after = 0;
        loop {
            let page = match &self.backend {
                Backend::Sqlite(db) => {
                    self.call(db, move |db| db.capture_urls_page(after, 1000))
                        .await?
                }
                Backend::Postgres(db) => db.capture_urls_page(after, 1000).await?,
            };
            let Some(&(last, _)) = page.last() else {
                break;
            };
            after = last;
            for (id, url) in page {
                sites.push((id, site_of(&url), used.get(&id).copied()));
            }
        }
        Ok(sites)
    }

    /// These captures' bodies, decompressed (each with the reason when it cannot be).
    pub async fn capture_bodies(
        &self,
        ids: Vec<CaptureId>,
    ) -> Result<Vec<CaptureBody>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.capture_bodies(&ids)).await,
            Backend::Postgres(db) => db.capture_bodies(&ids).await,
        }
    }

    /// Trains a zstd dictionary of at most `max_size` bytes on sample bodies. CPU work,
    /// run off the async threads; an error says why zstd could not build one.
    pub async fn train_dictionary(
        samples: Vec<Vec<u8>>,
        max_size: usize,
    ) -> Result<Vec<u8>, String> {
        tokio::task::spawn_blocking(move || codec::train(&samples, max_size))
            .await
            .map_err(|e| format!("training task failed: {e}"))?
    }

    /// Stores a trained dictionary; the site's new captures use it from now on.
    pub async fn add_dictionary(&self, dictionary: NewDictionary) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.add_dictionary(&dictionary))
                    .await
            }
            Backend::Postgres(db) => db.add_dictionary(&dictionary).await,
        }
    }

    /// Prepares a stored dictionary for [`Store::recompress`] at zstd `level`.
    pub async fn site_encoder(&self, id: i64, level: i32) -> Result<SiteEncoder, StoreError> {
        let bytes = match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.dictionary_bytes(id)).await?,
            Backend::Postgres(db) => db.dictionary_bytes(id).await?,
        }
        .ok_or_else(|| StoreError::Other(format!("zstd dictionary {id} is missing")))?;
        tokio::task::spawn_blocking(move || SiteEncoder {
            id,
            dictionary: Arc::new(zstd::dict::EncoderDictionary::copy(&bytes, level)),
        })
        .await
        .map_err(|e| StoreError::Other(format!("dictionary task failed: {e}")))
    }

    /// Compresses these captures again with `encoder`'s dictionary and replaces their
    /// bodies in one transaction, where that makes them smaller. Each body is checked against its SHA-256 before it is
    /// replaced, and a capture another process re-compressed meanwhile is left alone; the
    /// connection is not held while compressing. Killed at any point, every capture is in
    /// its old form or its new one.
    pub async fn recompress(
        &self,
        ids: Vec<CaptureId>,
        encoder: &SiteEncoder,
    ) -> Result<Recompressed, StoreError> {
        let bodies = self.capture_bodies(ids).await?;
        let encoder = encoder.clone();
        let (outcome, batch) = tokio::task::spawn_blocking(move || {
            let mut outcome = Recompressed::default();
            let mut batch = Vec::new();
            for capture in bodies {
                if capture.dictionary_id == Some(encoder.id) {
                    continue;
                }
                let body = match capture.body {
                    Ok(body) if crate::canon::body_hash(&body) == capture.body_sha256 => body,
                    Ok(_) => {
                        outcome.failures.push(format!(
                            "capture {} of article {} ({}): its body does not match its SHA-256",
                            capture.id, capture.article_id, capture.url
                        ));
                        continue;
                    }
                    Err(reason) => {
                        outcome.failures.push(reason);
                        continue;
                    }
                };
                let bytes = codec::compress_with(&body, &encoder.dictionary)?;
                // A dictionary trained on few or unusual pages can do worse than the
                // capture's present form; it keeps that form (and is tried again by the
                // next run, with the next dictionary).
                if bytes.len() as u64 >= capture.stored_size {
                    outcome.kept += 1;
                    continue;
                }
                outcome.bytes_before += capture.stored_size;
                outcome.bytes_after += bytes.len() as u64;
                batch.push(ReplacedBody {
                    id: capture.id,
                    previous_dictionary: capture.dictionary_id,
                    dictionary_id: encoder.id,
                    bytes,
                });
            }
            Ok::<_, StoreError>((outcome, batch))
        })
        .await
        .map_err(|e| StoreError::Other(format!("compression task failed: {e}")))??;
        let mut outcome = outcome;
        if !batch.is_empty() {
            let replaced = match &self.backend {
                Backend::Sqlite(db) => {
                    self.call(db, move |db| db.replace_capture_bodies(&batch))
                        .await?
                }
                Backend::Postgres(db) => db.replace_capture_bodies(&batch).await?,
            };
            outcome.replaced = replaced as u64;
        }
        Ok(outcome)
    }

    /// Deletes dictionaries no capture uses any more (a site's newest is kept).
    pub async fn drop_unused_dictionaries(&self) -> Result<usize, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.drop_unused_dictionaries()).await,
            Backend::Postgres(db) => db.drop_unused_dictionaries().await,
        }
    }

    /// What the archive occupies; with `by_object`, per table and index (on SQLite this
    /// reads every page, so for measurements rather than routine use).
    pub async fn storage_usage(&self, by_object: bool) -> Result<StorageUsage, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.storage_usage(by_object)).await,
            Backend::Postgres(db) => db.storage_usage(by_object).await,
        }
    }

    /// Gives the archive's free pages back to the file system (SQLite: VACUUM, or
    /// `incremental_vacuum` where the archive allows it, holding the write lock
    /// throughout). On PostgreSQL, a plain VACUUM of the capture tables, which makes the
    /// space reusable without stopping other nodes' writes.
    pub async fn reclaim_space(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, |db| db.reclaim_space()).await,
            Backend::Postgres(db) => db.reclaim_space().await,
        }
    }

    // ------------------------------------------------------------------ moving archives
    // The steps of [`transfer`], each on this archive's backend.

    async fn transfer_last_key(
        &self,
        table: &'static transfer::Table,
    ) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.transfer_last_key(table)).await,
            Backend::Postgres(db) => db.transfer_last_key(table).await,
        }
    }

    async fn transfer_count(&self, table: &'static transfer::Table) -> Result<i64, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.transfer_count(table)).await,
            Backend::Postgres(db) => db.transfer_count(table).await,
        }
    }

    async fn transfer_read(
        &self,
        table: &'static transfer::Table,
        after: i64,
        upto: i64,
        limit: u32,
    ) -> Result<transfer::Batch, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.transfer_read(table, after, upto, limit))
                    .await
            }
            Backend::Postgres(db) => db.transfer_read(table, after, upto, limit).await,
        }
    }

    async fn transfer_write(
        &self,
        writes: Vec<(&'static transfer::Table, Vec<Vec<transfer::Cell>>)>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => self.call(db, move |db| db.transfer_write(&writes)).await,
            Backend::Postgres(db) => db.transfer_write(&writes).await,
        }
    }

    async fn transfer_link_stories(
        &self,
        rows: Vec<Vec<transfer::Cell>>,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                self.call(db, move |db| db.transfer_link_stories(&rows))
                    .await
            }
            Backend::Postgres(db) => db.transfer_link_stories(&rows).await,
        }
    }

    async fn transfer_finish(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.transfer_finish().await,
        }
    }
}
