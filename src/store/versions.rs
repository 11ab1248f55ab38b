//! Article versions and revisits in domain terms: an article due for a revisit, what the
//! revisit found, what the store made of it, and a stored version. [`super::Store`] takes
//! and hands out these types; they carry no backend type.

use chrono::{DateTime, Utc};

use super::query::{CaptureId, ExtractedFields};
use super::{ArticleId, NewCapture, SourceId};
use crate::fetch::Validators;

/// An article whose next revisit is due, with what the request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisitTarget {
    pub article_id: ArticleId,
    pub source_id: Option<SourceId>,
    /// The name of the source that first found it.
    pub source: Option<String>,
    /// Where it was last fetched from (its latest capture's final URL), else its
    /// canonical URL.
    pub url: String,
    pub first_seen_at: DateTime<Utc>,
    pub revisit_count: i64,
    /// From the latest capture, for a conditional GET.
    pub validators: Validators,
    /// The latest version's content hash (see [`crate::versions::content_hash`]).
    pub content_sha256: Option<String>,
    /// Whether the latest version has any text.
    pub has_text: bool,
    /// The extractor that produced the article row's fields.
    pub extractor: String,
    /// The SHA-256 of the latest capture's body: a response with the same bytes is the
    /// page unchanged, whatever it would extract to.
    pub body_sha256: Option<String>,
}

/// A revisit's fetched and extracted page.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub fields: ExtractedFields,
    /// [`crate::versions::content_hash`] of the fields.
    pub content_sha256: String,
    pub capture: NewCapture,
}

/// What a revisit found.
#[derive(Debug, Clone, PartialEq)]
pub enum RevisitOutcome {
    /// 304 Not Modified.
    NotModified,
    /// A page whose extracted fields are those of the latest version (checked by the
    /// caller against [`RevisitTarget::content_sha256`]).
    Unchanged,
    /// A page read in full: a new version unless its hash is the latest version's.
    Fetched(Box<NewVersion>),
    /// 404 or 410: the page is gone.
    Removed { status: u16 },
    /// No usable answer (network error, 5xx, not HTML); tried again at the next step.
    Failed,
    /// Not sent: the site asked newsvault to wait (Retry-After, a long Crawl-delay queue).
    /// The revisit stays owed and is made at `until` instead.
    Postponed { until: DateTime<Utc> },
}

/// What [`super::Store::record_revisit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revisited {
    /// Only `last_checked_at` (and the schedule) changed.
    Unchanged,
    /// A new version with this number was stored.
    NewVersion(i64),
    /// The article is marked removed and will not be revisited.
    Removed,
    /// Nothing but the schedule changed.
    Failed,
    /// Not made; due again later.
    Postponed,
    /// No such article (deleted meanwhile).
    Missing,
}

/// One stored version of an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleVersion {
    pub article_id: ArticleId,
    /// From 1, in the order newsvault read them.
    pub version: i64,
    pub capture_id: Option<CaptureId>,
    pub title: Option<String>,
    pub text: String,
    pub published_at: Option<DateTime<Utc>>,
    pub published_offset: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_offset: Option<String>,
    /// When newsvault first read this version.
    pub seen_at: DateTime<Utc>,
    pub content_sha256: Option<String>,
}

/// The first value of a header in a stored capture's headers (for a revisit's validators).
pub(super) fn header_value(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}
