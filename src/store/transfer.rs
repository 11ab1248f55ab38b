//! Moving an archive between backends (`newsvault migrate --from --to`): SQLite to
//! PostgreSQL, PostgreSQL to SQLite, SQLite to SQLite. Owns the list of tables copied, in
//! an order that satisfies their foreign keys, and the copy loop; each backend reads and
//! writes rows of these tables in its own SQL and types ([`Cell`] carries a value between
//! them).
//!
//! Each table is copied in batches over an integer key column (its id, or the article or
//! source a row belongs to), in key order, one transaction per batch, and a batch always
//! holds every row of the keys it covers. So the target's largest key of a table says
//! exactly how far its copy got: a run that was stopped resumes after it and never copies
//! a row twice. Ids are kept (PostgreSQL's identity sequences are moved past them at the
//! end), so URLs and ids users noted stay valid. Captures move as stored: compressed
//! bytes and the dictionaries they were compressed with, never recompressed.
//!
//! Two things are not copied row by row: `articles.story_id` is written after the stories
//! (articles and stories refer to each other), and `story_bands`, derived from
//! `article_fingerprints`, is computed again from each fingerprint as it is copied, in the
//! same transaction.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};
use crate::stories::Fingerprint;

/// How a column's values are carried between the backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Text,
    /// An instant: SQLite's UTC text, PostgreSQL's timestamptz.
    Time,
    /// SQLite's 0/1 integer, PostgreSQL's boolean.
    Bool,
    Bytes,
    /// A JSON document: SQLite's text, PostgreSQL's jsonb.
    Json,
}

/// One value of a row being moved; `None` is SQL NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
    Time(Option<DateTime<Utc>>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
    Json(Option<String>),
}

impl Cell {
    fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(v) => *v,
            _ => None,
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Cell::Bytes(v) => v.as_deref(),
            _ => None,
        }
    }
}

/// A table as the copy sees it.
#[derive(Debug)]
pub(super) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
    /// The integer column batches are cut on (every row of a key goes in one batch).
    pub key: &'static str,
    /// Columns that identify the row at the target's largest key in the source: what
    /// tells a partial copy of this archive from another archive.
    pub identity: &'static [&'static str],
}

impl Table {
    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(c, _)| *c == name)
    }
}

use Kind::{Bool, Bytes, Int, Json, Text, Time};

const SOURCES: Table = Table {
    name: "sources",
    columns: &[
        ("id", Int),
        ("name", Text),
        ("url", Text),
        ("kind", Text),
        ("enabled", Bool),
        ("created_at", Time),
        ("next_poll_at", Time),
        ("last_polled_at", Time),
        ("last_success_at", Time),
        ("etag", Text),
        ("last_modified", Text),
        ("last_body_sha256", Text),
        ("error_count", Int),
        ("last_error", Text),
        ("last_error_at", Time),
        ("poll_interval_s", Int),
        ("last_new_at", Time),
        ("kind_detected_at", Time),
    ],
    key: "id",
    identity: &["name"],
};

const FETCHES: Table = Table {
    name: "fetches",
    columns: &[
        ("id", Int),
        ("source_id", Int),
        ("purpose", Text),
        ("url", Text),
        ("final_url", Text),
        ("started_at", Time),
        ("duration_ms", Int),
        ("status", Int),
        ("bytes", Int),
        ("error", Text),
    ],
    key: "id",
    identity: &["url", "started_at"],
};

const DICTIONARIES: Table = Table {
    name: "zstd_dictionaries",
    columns: &[
        ("id", Int),
        ("site", Text),
        ("trained_at", Time),
        ("samples", Int),
        ("sample_bytes", Int),
        ("size", Int),
        ("dictionary", Bytes),
    ],
    key: "id",
    identity: &["site", "trained_at", "size"],
};

/// `story_id` is left out: articles are copied before the stories that refer to them,
/// and [`link_stories`] writes it afterwards.
const ARTICLES: Table = Table {
    name: "articles",
    columns: &[
        ("id", Int),
        ("source_id", Int),
        ("canonical_url", Text),
        ("title", Text),
        ("authors", Json),
        ("published_at", Time),
        ("published_offset", Text),
        ("updated_at", Time),
        ("updated_offset", Text),
        ("first_seen_at", Time),
        ("language", Text),
        ("site_name", Text),
        ("description", Text),
        ("text", Text),
        ("text_fingerprint", Text),
        ("extractor", Text),
        ("last_checked_at", Time),
        ("next_revisit_at", Time),
        ("revisit_count", Int),
        ("removed_at", Time),
        ("removed_status", Int),
    ],
    key: "id",
    identity: &["canonical_url"],
};

const STORIES: Table = Table {
    name: "stories",
    columns: &[
        ("id", Int),
        ("first_article_id", Int),
        ("title", Text),
        ("member_count", Int),
        ("source_count", Int),
        ("first_seen_at", Time),
        ("last_seen_at", Time),
    ],
    key: "id",
    identity: &["first_article_id"],
};

/// Articles' story ids, copied after the stories.
pub(super) const STORY_LINKS: Table = Table {
    name: "articles",
    columns: &[("id", Int), ("story_id", Int)],
    key: "id",
    identity: &[],
};

const ARTICLE_URLS: Table = Table {
    name: "article_urls",
    columns: &[
        ("url", Text),
        ("article_id", Int),
        ("source_id", Int),
        ("first_seen_at", Time),
    ],
    key: "article_id",
    identity: &["article_id"],
};

const FEED_ITEMS: Table = Table {
    name: "feed_items",
    columns: &[
        ("source_id", Int),
        ("item_key", Text),
        ("article_id", Int),
        ("first_seen_at", Time),
        ("failed_attempts", Int),
        ("last_error", Text),
    ],
    key: "source_id",
    identity: &["source_id"],
};

const CAPTURES: Table = Table {
    name: "captures",
    columns: &[
        ("id", Int),
        ("article_id", Int),
        ("fetch_id", Int),
        ("url", Text),
        ("fetched_at", Time),
        ("status", Int),
        ("headers", Json),
        ("content_type", Text),
        ("charset", Text),
        ("charset_source", Text),
        ("body_size", Int),
        ("body_sha256", Text),
        ("body_zstd", Bytes),
        ("dictionary_id", Int),
    ],
    key: "id",
    identity: &["article_id", "body_sha256"],
};

/// The stored versions, not the view `article_versions` over them: a version's text is
/// NULL where it is the article row's, and stays so in the copy, whose articles come
/// first.
const ARTICLE_VERSIONS: Table = Table {
    name: "article_version_rows",
    columns: &[
        ("article_id", Int),
        ("version", Int),
        ("capture_id", Int),
        ("title", Text),
        ("text", Text),
        ("published_at", Time),
        ("published_offset", Text),
        ("updated_at", Time),
        ("updated_offset", Text),
        ("seen_at", Time),
        ("content_sha256", Text),
    ],
    key: "article_id",
    identity: &["article_id"],
};

const ARTICLE_FINGERPRINTS: Table = Table {
    name: "article_fingerprints",
    columns: &[
        ("article_id", Int),
        ("scheme", Int),
        ("words", Int),
        ("shingles", Int),
        ("minhash", Bytes),
    ],
    key: "article_id",
    identity: &["article_id", "minhash"],
};

/// Written with each batch of fingerprints, never read for copying.
pub(super) const STORY_BANDS: Table = Table {
    name: "story_bands",
    columns: &[("band", Int), ("hash", Int), ("article_id", Int)],
    key: "article_id",
    identity: &[],
};

/// The tables copied, in an order in which every row's references are already there.
const TABLES: &[&Table] = &[
    &SOURCES,
    &FETCHES,
    &DICTIONARIES,
    &ARTICLES,
    &STORIES,
    &ARTICLE_URLS,
    &FEED_ITEMS,
    &CAPTURES,
    &ARTICLE_VERSIONS,
    &ARTICLE_FINGERPRINTS,
];

/// The tables whose counts are compared at the end.
const COUNTED: &[&Table] = &[
    &SOURCES,
    &FETCHES,
    &DICTIONARIES,
    &ARTICLES,
    &STORIES,
    &ARTICLE_URLS,
    &FEED_ITEMS,
    &CAPTURES,
    &ARTICLE_VERSIONS,
    &ARTICLE_FINGERPRINTS,
    &STORY_BANDS,
];

/// Rows read from one table, with the largest key they cover.
pub(super) struct Batch {
    pub rows: Vec<Vec<Cell>>,
    pub last_key: i64,
}

/// How a copy goes.
#[derive(Debug, Clone)]
pub struct TransferOptions {
    /// Rows per batch (a batch also takes the other rows of its last key).
    pub batch_rows: u32,
    /// Stop after this many batches (the next run carries on); `None`: copy everything.
    pub max_batches: Option<u64>,
}

impl Default for TransferOptions {
    fn default() -> TransferOptions {
        TransferOptions {
            batch_rows: 500,
            max_batches: None,
        }
    }
}

/// One table's rows in the source and in the target after the copy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCount {
    pub table: String,
    pub source: i64,
    pub target: i64,
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TransferReport {
    /// Rows copied by this run, and batches written.
    pub rows: u64,
    pub batches: u64,
    /// Whether every table was copied to its end (false when `max_batches` stopped it).
    pub complete: bool,
    pub counts: Vec<TableCount>,
}

impl TransferReport {
    /// Whether the target holds as many rows as the source in every table.
    pub fn counts_match(&self) -> bool {
        self.counts.iter().all(|c| c.source == c.target)
    }
}

/// The story bands of a batch of fingerprint rows, as `story_bands` rows.
fn bands_of(fingerprints: &[Vec<Cell>]) -> Vec<Vec<Cell>> {
    let mut bands = Vec::new();
    for row in fingerprints {
        let (Some(article), Some(scheme), Some(words), Some(shingles), Some(minhash)) = (
            row[0].int(),
            row[1].int(),
            row[2].int(),
            row[3].int(),
            row[4].bytes(),
        ) else {
            continue;
        };
        let unsigned = |v: i64| u32::try_from(v).unwrap_or(0);
        let Some(fingerprint) = Fingerprint::from_stored(
            unsigned(scheme),
            unsigned(words),
            unsigned(shingles),
            minhash,
        ) else {
            continue;
        };
        for (band, hash) in fingerprint.bands().into_iter().enumerate() {
            // As the backends store them: the hash as a signed 32-bit integer.
            bands.push(vec![
                Cell::Int(Some(i64::try_from(band).unwrap_or(i64::MAX))),
                Cell::Int(Some(i64::from(hash as i32))),
                Cell::Int(Some(article)),
            ]);
        }
    }
    bands
}

/// Refuses a target that holds rows of another archive: for each table it has rows of,
/// its row at the largest key must be the source's row at that key (by the table's
/// identity columns), and it may not hold more rows than the source.
async fn check_same_archive(from: &Store, to: &Store) -> Result<(), StoreError> {
    for table in TABLES {
        let Some(last) = to.transfer_last_key(table).await? else {
            continue;
        };
        let mismatch = |why: String| {
            StoreError::Other(format!(
                "{} holds a different archive than {} ({}: {why}); migrate copies into an empty archive or into an earlier copy of the same one",
                to.location(),
                from.location(),
                table.name
            ))
        };
        let theirs = to.transfer_read(table, last - 1, last, 1).await?;
        let ours = from.transfer_read(table, last - 1, last, 1).await?;
        let identity = |batch: &Batch| -> Vec<Vec<Cell>> {
            batch
                .rows
                .iter()
                .map(|row| {
                    table
                        .identity
                        .iter()
                        .filter_map(|c| table.column(c))
                        .map(|i| row[i].clone())
                        .collect()
                })
                .collect()
        };
        let (theirs, ours) = (identity(&theirs), identity(&ours));
        if theirs.is_empty() || ours.is_empty() || !theirs.iter().all(|r| ours.contains(r)) {
            return Err(mismatch(format!(
                "its rows at {} {last} are not the source's",
                table.key
            )));
        }
        let (source, target) = (
            from.transfer_count(table).await?,
            to.transfer_count(table).await?,
        );
        if target > source {
            return Err(mismatch(format!(
                "{target} rows, more than the source's {source}"
            )));
        }
    }
    Ok(())
}

/// Copies the archive `from` into `to` (see the module documentation), then compares the
/// row counts of every table. `progress` is told each batch (table, rows so far).
pub async fn transfer(
    from: &Store,
    to: &Store,
    options: &TransferOptions,
    mut progress: impl FnMut(&str, u64),
) -> Result<TransferReport, StoreError> {
    if from.location() == to.location() {
        return Err(StoreError::Other(format!(
            "{}: the source and the target are the same archive",
            from.location()
        )));
    }
    check_same_archive(from, to).await?;
    let batch_rows = options.batch_rows.max(1);
    let mut report = TransferReport {
        rows: 0,
        batches: 0,
        complete: false,
        counts: Vec::new(),
    };
    let out_of_batches =
        |report: &TransferReport| options.max_batches.is_some_and(|m| report.batches >= m);
    'tables: for table in TABLES {
        let mut after = to.transfer_last_key(table).await?.unwrap_or(i64::MIN);
        loop {
            if out_of_batches(&report) {
                break 'tables;
            }
            let batch = from
                .transfer_read(table, after, i64::MAX, batch_rows)
                .await?;
            if batch.rows.is_empty() {
                break;
            }
            let rows = batch.rows.len() as u64;
            let mut writes = vec![(*table, batch.rows)];
            if table.name == ARTICLE_FINGERPRINTS.name {
                let bands = bands_of(&writes[0].1);
                writes.push((&STORY_BANDS, bands));
            }
            to.transfer_write(writes).await?;
            after = batch.last_key;
            report.rows += rows;
            report.batches += 1;
            progress(table.name, report.rows);
        }
        if table.name == STORIES.name {
            link_stories(from, to, batch_rows).await?;
        }
    }
    // Complete when every table's copy has reached the source's last key (a run stopped
    // by `max_batches` exactly at the end is complete too).
    report.complete = true;
    for table in TABLES {
        if from.transfer_last_key(table).await? != to.transfer_last_key(table).await? {
            report.complete = false;
            break;
        }
    }
    if report.complete {
        to.transfer_finish().await?;
    }
    for table in COUNTED {
        report.counts.push(TableCount {
            table: table.name.to_string(),
            source: from.transfer_count(table).await?,
            target: to.transfer_count(table).await?,
        });
    }
    Ok(report)
}

/// Writes every article's story id in the target as the source has it (a pass over
/// article ids and story ids only; done again by every run that gets this far, so an
/// interrupted pass is finished by the next).
async fn link_stories(from: &Store, to: &Store, batch_rows: u32) -> Result<(), StoreError> {
    let mut after = i64::MIN;
    loop {
        let batch = from
            .transfer_read(&STORY_LINKS, after, i64::MAX, batch_rows)
            .await?;
        if batch.rows.is_empty() {
            return Ok(());
        }
        after = batch.last_key;
        to.transfer_link_stories(batch.rows).await?;
    }
}
