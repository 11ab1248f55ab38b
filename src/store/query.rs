//! The read side of the archive in domain terms: filters over articles, full-text search
//! requests and hits, whole article and capture records, and the re-extraction update.
//! These types are what [`super::Store`] hands out and takes for `search`, `show`, `raw`,
//! `export` and `reparse`; they carry no backend type, so another backend can fill them.
//!
//! Long reads are paged by id ("the next `limit` rows after id N"), never held whole, so a
//! caller streams an archive of any size in constant memory with any backend.

use chrono::{DateTime, FixedOffset, Utc};

use super::{ArticleId, SourceId, StoryId};

/// Row id of a capture.
pub type CaptureId = i64;

/// Which articles a read covers. Dates compare against the article's date: its publication
/// time when the page gave one, else the time it was archived (`first_seen_at`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleFilter {
    /// Only articles first found by this source (by name).
    pub source: Option<String>,
    /// Only articles dated at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only articles dated strictly before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only articles in this language (ISO 639-1).
    pub language: Option<String>,
}

impl ArticleFilter {
    /// Whether the filter lets every article through.
    pub fn is_empty(&self) -> bool {
        self.source.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.language.is_none()
    }
}

/// A full-text search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// An FTS5 query expression (NFC), passed to the index as a bound value.
    pub expression: String,
    pub filter: ArticleFilter,
    pub limit: u32,
    /// Marks put around matched words in snippets.
    pub highlight: (String, String),
}

/// One search result, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub id: ArticleId,
    pub source: Option<String>,
    pub title: Option<String>,
    pub canonical_url: String,
    pub published_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
    pub language: Option<String>,
    /// A few words around the best match, matches between the highlight marks.
    pub snippet: String,
    /// bm25 relevance: lower is better (SQLite's sign convention).
    pub score: f64,
}

/// How an article is named: by id, by any URL that led to it, or by the exact bytes of
/// one of its captures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleKey {
    Id(ArticleId),
    /// Candidate URLs, tried in order (canonical form first).
    Urls(Vec<String>),
    /// The SHA-256 of a capture's body, lower-case hex (`captures.body_sha256`). Where
    /// several articles hold such a capture, the one that held it first.
    CaptureBody(String),
}

/// An article row with its source's name and every URL that led to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleRecord {
    pub id: ArticleId,
    pub source_id: Option<SourceId>,
    pub source: Option<String>,
    pub canonical_url: String,
    pub urls: Vec<String>,
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub published_offset: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_offset: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    pub language: Option<String>,
    pub site_name: Option<String>,
    pub description: Option<String>,
    pub text: String,
    pub text_fingerprint: Option<String>,
    pub extractor: String,
    /// The story it belongs to; `None` until it has one (see [`crate::stories`]).
    pub story_id: Option<StoryId>,
    /// How many versions the archive holds: 1 until a revisit finds an edit.
    pub versions: i64,
    /// The last revisit that got an answer.
    pub last_checked_at: Option<DateTime<Utc>>,
    /// When it is revisited next; `None` when it never will be again.
    pub next_revisit_at: Option<DateTime<Utc>>,
    /// When a revisit found the page gone (404 or 410), and that status.
    pub removed_at: Option<DateTime<Utc>>,
    pub removed_status: Option<u16>,
}

/// A capture's description, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureInfo {
    pub id: CaptureId,
    pub article_id: ArticleId,
    pub url: String,
    pub fetched_at: DateTime<Utc>,
    pub status: u16,
    /// As received, in order.
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub charset: Option<String>,
    pub body_size: u64,
    pub body_sha256: String,
}

/// A capture with its body, decompressed: the bytes exactly as served (after HTTP
/// content-encoding was undone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub info: CaptureInfo,
    pub body: Vec<u8>,
}

/// Freshly extracted fields for an article already archived.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractedFields {
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub updated_at: Option<DateTime<FixedOffset>>,
    pub language: Option<String>,
    pub site_name: Option<String>,
    pub description: Option<String>,
    pub text: String,
    pub text_fingerprint: Option<String>,
    /// The near-duplicate fingerprint of `text` (see [`crate::stories`]).
    pub story_fingerprint: Option<crate::stories::Fingerprint>,
    pub extractor: String,
}

/// What [`super::Store::update_extracted`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reextracted {
    /// These fields (column names) differed and were written, with the extractor.
    Changed(Vec<&'static str>),
    /// The fields were already as extracted; only the extractor name may have been updated.
    Unchanged,
    /// The fields were written, but the new text fingerprint already belongs to another
    /// article (the two are now the same story), so this one's fingerprint was cleared.
    FingerprintClash {
        changed: Vec<&'static str>,
        other: ArticleId,
    },
    /// No such article (deleted meanwhile).
    Missing,
}

/// Which stories `newsvault stories` lists, newest activity first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoryFilter {
    /// Only stories an article joined at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only stories told by at least this many distinct sources.
    pub min_sources: u32,
    pub limit: u32,
}

/// A story: articles whose texts are near-duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorySummary {
    pub id: StoryId,
    /// The title of the article that started it.
    pub title: Option<String>,
    pub first_article_id: ArticleId,
    pub articles: i64,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Its sources, in the order they joined, each with its article count; articles
    /// found by no configured source (a backfill without `--source`) count under `None`.
    pub sources: Vec<StorySource>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorySource {
    pub name: Option<String>,
    pub articles: i64,
}

/// One article of a story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryMember {
    pub article_id: ArticleId,
    pub source: Option<String>,
    pub title: Option<String>,
    pub canonical_url: String,
    pub first_seen_at: DateTime<Utc>,
}

/// A story with (the first of) its articles, in the order they were archived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryDetail {
    pub story: StorySummary,
    pub members: Vec<StoryMember>,
}

/// An archived article whose text is within the story threshold of a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearDuplicate {
    pub article_id: ArticleId,
    pub story_id: Option<StoryId>,
    /// The similarity [`crate::stories::StoryRules::score`] gives.
    pub score: f64,
}
