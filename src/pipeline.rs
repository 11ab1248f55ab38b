//! One poll of one source, end to end: fetch the feed (conditionally), parse it, decide
//! which items are new, fetch each new page, extract it, and archive it with its raw
//! capture. A failed item is logged with the source and URL, counted and skipped; it never
//! aborts the batch. Owns no I/O of its own: HTTP goes through the [`Fetcher`], storage
//! through the [`Store`], time through the [`Clock`].

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::canon;
use crate::clock::Clock;
use crate::config::{SourceConfig, SourceKind};
use crate::cpu_pool::CpuPool;
use crate::discover;
use crate::extract::{self, Extracted, PageRules};
use crate::feed::{self, FeedItem};
use crate::fetch::charset::decode_html;
use crate::fetch::guard;
use crate::fetch::{FetchError, Fetched, Fetcher, Purpose, Response, Validators};
use crate::metrics::{Metrics, PollFigures};
use crate::schedule;
use crate::shutdown::Shutdown;
use crate::sitemap;
use crate::store::{
    Archived, ArticleKey, ExtractedFields, FetchId, FetchRecord, ItemStatus, MAX_ITEM_ATTEMPTS,
    NewArticle, NewCapture, NewVersion, PollOutcome, PollRecord, RevisitOutcome, RevisitTarget,
    Revisited, SourceState, Store, StoreError,
};
use crate::stories;
use crate::versions;

/// A sitemap source reads at most this many sitemaps per poll, this deep into indexes.
const MAX_SITEMAPS_PER_POLL: usize = 50;
const MAX_SITEMAP_DEPTH: usize = 3;
/// Sitemap entries this much older than the last successful poll still count as new:
/// sites set lastmod late or in the wrong time zone.
const SITEMAP_DATE_MARGIN_DAYS: i64 = 1;

/// A page source follows at most this many of the feeds its page advertises.
const MAX_FOLLOWED_FEEDS: usize = 2;

/// How long a batch of revisits holds its articles: while it holds, no other node (or
/// `newsvault revisit`) takes them; an article the batch did not get to (a shutdown, a
/// crash) is due again when it runs out. Longer than a batch normally takes; should one
/// outlast it, another node may look at an article again, which stores a version only if
/// the page changed in between.
pub const REVISIT_HOLD: Duration = Duration::from_secs(30 * 60);

/// What a listing (a feed, or a page's links) offers.
struct Listing {
    items: Vec<FeedItem>,
    /// Feeds a page advertises.
    feeds: Vec<Url>,
    /// A feed's `<ttl>`: how long it asks not to be polled again.
    ttl: Option<Duration>,
}

/// Reads a listing response off the async threads: parses a feed, or decodes a page and
/// finds its article links. The error says why the body is not what the source promised.
async fn read_listing(
    source: &SourceConfig,
    kind: SourceKind,
    response: Response,
) -> Result<Listing, String> {
    let rules = source.links.clone();
    tokio::task::spawn_blocking(move || match kind {
        SourceKind::Page => {
            if let Some(content_type) = response.header("content-type")
                && !is_html_content_type(content_type)
            {
                return Err(format!("not an HTML page (Content-Type {content_type})"));
            }
            let decoded = decode_html(
                &response.body,
                response.header("content-type"),
                Some(&response.final_url),
            );
            let items = discover::discover_links(&decoded.text, &response.final_url, &rules)
                .into_iter()
                .map(|candidate| FeedItem {
                    guid: None,
                    link: Some(candidate.url),
                    title: Some(candidate.text).filter(|t| !t.is_empty()),
                    published: None,
                })
                .collect();
            Ok(Listing {
                items,
                feeds: discover::advertised_feeds(&decoded.text, &response.final_url),
                ttl: None,
            })
        }
        _ => feed::parse_feed(&response.body, &response.final_url)
            .map(|parsed| Listing {
                items: parsed.items,
                feeds: Vec::new(),
                ttl: parsed.ttl,
            })
            .map_err(|e| e.to_string()),
    })
    .await
    .unwrap_or_else(|e| Err(format!("reading the listing failed: {e}")))
}

/// Names the extractor in each article row, so re-parsing knows what produced it.
pub const EXTRACTOR: &str = concat!("newsvault ", env!("CARGO_PKG_VERSION"));

/// What one poll of a source did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PollSummary {
    pub source: String,
    /// Items the feed listed.
    pub items: usize,
    /// Articles archived for the first time.
    pub new: usize,
    /// Items that turned out to be an article already archived (another URL or feed).
    pub duplicates: usize,
    /// Items this source had delivered before.
    pub seen: usize,
    /// Items that could not be archived this time (they are retried on the next poll).
    pub errors: usize,
    /// Items with no usable link, and items whose page failed too often to try again.
    pub skipped: usize,
    /// The feed answered 304 Not Modified.
    pub not_modified: bool,
    /// Why the feed itself could not be read, if it could not.
    pub failure: Option<String>,
    /// Items left for the next poll because `max_new` was reached.
    pub postponed: usize,
    /// Polling stopped early because shutdown was requested.
    pub interrupted: bool,
    /// Not polled at all: this node holds a lease on the source (it is polling it), until
    /// the time given. Only a one-shot `newsvault poll` skips sources so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leased_to: Option<String>,
}

impl PollSummary {
    /// Whether the poll found anything new to the source: archived, recognised as an
    /// article from elsewhere, failed (to be retried), or left for the next poll. Adaptive
    /// polling keeps such a source on its schedule. An interrupted poll counts as news, so
    /// that a shutdown never stretches an interval.
    pub fn found_new(&self) -> bool {
        self.interrupted || self.new + self.duplicates + self.errors + self.postponed > 0
    }
}

impl fmt::Display for PollSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(holder) = &self.leased_to {
            return write!(f, "{}: not polled: leased to {holder}", self.source);
        }
        match &self.failure {
            Some(error) => write!(f, "{}: failed: {error}", self.source),
            None if self.not_modified => write!(f, "{}: not modified", self.source),
            None => write!(
                f,
                "{}: {} items, {} new, {} duplicates, {} seen, {} errors, {} skipped{}",
                self.source,
                self.items,
                self.new,
                self.duplicates,
                self.seen,
                self.errors,
                self.skipped,
                if self.interrupted {
                    " (interrupted)"
                } else {
                    ""
                }
            ),
        }
    }
}

/// What one round of revisits did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RevisitSummary {
    /// Articles that were due.
    pub due: usize,
    /// Revisits whose page was the same as archived (304, or the same extracted fields).
    pub unchanged: usize,
    /// Revisits that stored a new version.
    pub new_versions: usize,
    /// Pages found gone (404, 410) and marked removed.
    pub removed: usize,
    /// Revisits without a usable answer; tried again at the next step.
    pub failed: usize,
    /// Revisits not sent because the site asked to wait; made when it allows.
    pub postponed: usize,
    /// Revisiting stopped early because shutdown was requested.
    pub interrupted: bool,
}

impl RevisitSummary {
    fn add(&mut self, revisited: Revisited) {
        match revisited {
            Revisited::Unchanged => self.unchanged += 1,
            Revisited::NewVersion(_) => self.new_versions += 1,
            Revisited::Removed => self.removed += 1,
            Revisited::Failed => self.failed += 1,
            Revisited::Postponed => self.postponed += 1,
            Revisited::Missing => {}
        }
    }
}

impl fmt::Display for RevisitSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "revisited {} articles: {} unchanged, {} new versions, {} removed, {} failed, {} postponed{}",
            self.due,
            self.unchanged,
            self.new_versions,
            self.removed,
            self.failed,
            self.postponed,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        )
    }
}

/// Why a listing page read outside a poll gave no links; `status` is the HTTP status
/// when a response came back (a 404 ends an archive walk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingPageError {
    pub status: Option<u16>,
    pub message: String,
}

/// A poll-level failure worth stopping for: the archive itself is unusable.
#[derive(Debug, thiserror::Error)]
#[error("source {source_name}: {error}")]
pub struct PollError {
    pub source_name: String,
    pub error: StoreError,
}

/// Fetch, extract and archive, shared by every source and command.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub fetcher: Fetcher,
    pub store: Store,
    pub clock: Clock,
    /// Backoff after failed polls: base and cap (see [`schedule::backoff_delay`]).
    pub backoff: (Duration, Duration),
    /// How far a quiet source's interval may stretch, unless the source sets its own
    /// (see [`schedule::next_poll`]).
    pub max_interval: Duration,
    /// Live figures for `/metrics`: every request and poll is counted here.
    pub metrics: Metrics,
    /// Where pages are decoded and extracted (see [`CpuPool`]).
    pub cpu: CpuPool,
}

/// Why a feed could not be read, and how long the server asked us to stay away.
#[derive(Debug)]
struct FeedFailure {
    message: String,
    retry_after: Option<Duration>,
}

impl FeedFailure {
    fn new(message: String) -> FeedFailure {
        FeedFailure {
            message,
            retry_after: None,
        }
    }

    /// A request that brought no usable response: an error, or a status that is neither
    /// success nor 304. `None` when the response is usable. `what` and `url` name it.
    fn of_request(
        what: &str,
        url: &Url,
        result: &Result<Response, FetchError>,
        now: DateTime<Utc>,
    ) -> Option<FeedFailure> {
        match result {
            Ok(response) if response.is_success() || response.is_not_modified() => None,
            Ok(response) => Some(FeedFailure {
                message: format!("{what} {url}: {}", response.status_error()),
                retry_after: response.retry_after(now),
            }),
            Err(error) => Some(FeedFailure {
                message: format!("{what} {url}: {error}"),
                retry_after: match error {
                    FetchError::Deferred(deferred) => Some(deferred.wait),
                    _ => None,
                },
            }),
        }
    }
}

/// A listing read to the end: what to write back, and how long the server asked not to
/// be polled again (RSS `<ttl>`, Cache-Control `max-age`, `Expires`).
struct Listed {
    outcome: PollOutcome,
    not_before: Option<Duration>,
}

impl Pipeline {
    /// Polls one source now and writes back its state and next poll time.
    pub async fn poll_source(
        &self,
        source: &SourceConfig,
        state: &SourceState,
        shutdown: &Shutdown,
    ) -> Result<PollSummary, PollError> {
        // Every request of the poll, however deep, may reach private addresses only if
        // the source says so.
        guard::with_private_allowed(
            source.allow_private,
            self.poll_source_as_configured(source, state, shutdown),
        )
        .await
    }

    async fn poll_source_as_configured(
        &self,
        source: &SourceConfig,
        state: &SourceState,
        shutdown: &Shutdown,
    ) -> Result<PollSummary, PollError> {
        let store_error = |error| PollError {
            source_name: source.name.clone(),
            error,
        };
        let started = self.clock.instant();
        let mut summary = PollSummary {
            source: source.name.clone(),
            ..PollSummary::default()
        };
        let poll_started_at = self.clock.now();
        let outcome = match self.source_kind(source, state).await.map_err(store_error)? {
            Err(failure) => Err(failure),
            Ok((SourceKind::Sitemap, _)) => self
                .poll_sitemap(source, state, shutdown, &mut summary)
                .await
                .map_err(store_error)?,
            Ok((kind, fetched)) => self
                .poll_listing(source, kind, state, fetched, shutdown, &mut summary)
                .await
                .map_err(store_error)?,
        };
        let now = self.clock.now();
        let scheduled = source.schedule.next_after(now, source.timezone);
        let (outcome, next_poll_at, poll_interval) = match outcome {
            Ok(Listed {
                outcome,
                not_before,
            }) => {
                let next = schedule::next_poll(
                    &source.schedule,
                    source.timezone,
                    &schedule::PollFacts {
                        started: poll_started_at,
                        found_new: summary.found_new(),
                        interval: state.poll_interval,
                        not_before,
                        max_interval: source.max_interval.unwrap_or(self.max_interval),
                    },
                );
                (outcome, next.at, next.interval)
            }
            Err(failure) => {
                // Back off, and never come back before the server said we may.
                let (base, max) = self.backoff;
                let wait = schedule::backoff_delay(&source.name, state.error_count + 1, base, max)
                    .max(failure.retry_after.unwrap_or_default());
                let earliest = now + chrono::Duration::from_std(wait).unwrap_or_default();
                let next = scheduled.map(|t| t.max(earliest));
                tracing::warn!(
                    source = %source.name,
                    url = %source.url,
                    error = %failure.message,
                    next_poll = ?next,
                    "poll failed"
                );
                summary.failure = Some(failure.message.clone());
                (
                    PollOutcome::Failure {
                        error: failure.message,
                    },
                    next,
                    state.poll_interval,
                )
            }
        };
        let recorded = self
            .store
            .finish_poll(PollRecord {
                source_id: state.id,
                lease_node: state.lease_node.clone(),
                polled_at: now,
                next_poll_at,
                outcome,
                poll_interval,
                found_new: summary.found_new(),
            })
            .await
            .map_err(store_error)?;
        if !recorded {
            tracing::warn!(
                source = %source.name,
                url = %source.url,
                lease = ?state.lease_node,
                "poll finished after its lease on the source ran out and another node took \
                 the source over; what it archived is kept, the schedule is the new holder's"
            );
        }
        self.metrics.poll(
            &source.name,
            &PollFigures {
                new: summary.new,
                duplicates: summary.duplicates,
                errors: summary.errors,
                failed: summary.failure.is_some(),
            },
            started.elapsed(),
        );
        if summary.failure.is_none() {
            tracing::info!(
                source = %source.name,
                items = summary.items,
                new = summary.new,
                duplicates = summary.duplicates,
                seen = summary.seen,
                errors = summary.errors,
                skipped = summary.skipped,
                not_modified = summary.not_modified,
                next_poll = ?next_poll_at,
                interval = ?poll_interval,
                "polled"
            );
        }
        Ok(summary)
    }

    /// The kind a source is polled as: the configured one, else the one detected for its
    /// URL before, else the one its response shows now, which is recorded (until the URL
    /// changes) and logged. A feed or page detected now comes with its response, so the
    /// poll does not ask twice. The outer `Result` is a storage failure; the inner one a
    /// source that could not be fetched or is none of the kinds.
    async fn source_kind(
        &self,
        source: &SourceConfig,
        state: &SourceState,
    ) -> Result<Result<(SourceKind, Option<Fetched>), FeedFailure>, StoreError> {
        if let Some(kind) = source.kind {
            return Ok(Ok((kind, None)));
        }
        if state.kind_detected_at.is_some()
            && let Some(kind) = SourceKind::from_name(&state.kind)
        {
            return Ok(Ok((kind, None)));
        }
        let mut fetched = self
            .fetcher
            .get(&source.url, Purpose::Feed, &Validators::default())
            .await;
        if let Some(failure) =
            FeedFailure::of_request("source", &source.url, &fetched.result, self.clock.now())
        {
            self.log_fetch(Some(state.id), &fetched, None).await?;
            return Ok(Err(failure));
        }
        let detected = match &fetched.result {
            Ok(response) => {
                let response = response.clone();
                tokio::task::spawn_blocking(move || detect_kind(&response))
                    .await
                    .unwrap_or(None)
            }
            Err(_) => None,
        };
        let Some(kind) = detected else {
            let content_type = match &fetched.result {
                Ok(response) => response.header("content-type").unwrap_or("none"),
                Err(_) => "none",
            };
            let problem = format!(
                "neither a feed, a sitemap nor an HTML page (Content-Type {content_type}); set `kind` in the configuration"
            );
            self.log_fetch(Some(state.id), &fetched, Some(problem.clone()))
                .await?;
            return Ok(Err(FeedFailure::new(format!(
                "source {}: {problem}",
                source.url
            ))));
        };
        self.store
            .record_detected_kind(state.id, kind, self.clock.now())
            .await?;
        tracing::info!(source = %source.name, url = %source.url, %kind, "source kind detected");
        if kind == SourceKind::Sitemap {
            // The sitemap walk reads it again, with the indexes it leads to.
            self.log_fetch(Some(state.id), &fetched, None).await?;
            return Ok(Ok((kind, None)));
        }
        if kind == SourceKind::Page {
            // Logged as what it turned out to be.
            fetched.purpose = Purpose::Page;
        }
        Ok(Ok((kind, Some(fetched))))
    }

    /// The listing part of a poll: a feed's items, or a page's article links. The outer
    /// `Result` is a storage failure; the inner one the source's own outcome.
    /// `prefetched` is the listing's response when detecting the source's kind already
    /// fetched it.
    async fn poll_listing(
        &self,
        source: &SourceConfig,
        kind: SourceKind,
        state: &SourceState,
        prefetched: Option<Fetched>,
        shutdown: &Shutdown,
        summary: &mut PollSummary,
    ) -> Result<Result<Listed, FeedFailure>, StoreError> {
        let (purpose, what) = match kind {
            SourceKind::Page => (Purpose::Page, "page"),
            _ => (Purpose::Feed, "feed"),
        };
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let mut fetched = match prefetched {
            Some(fetched) => fetched,
            None => self.fetcher.get(&source.url, purpose, &validators).await,
        };
        // The request is logged once its body is judged, so a feed that arrived but is not
        // a feed is an error in the request log too. The body (up to `max_body`) goes to
        // the parser itself, not a copy; the poll keeps only its hash.
        let mut body_sha256 = None;
        let listing = match &mut fetched.result {
            Ok(response) if response.is_success() => {
                body_sha256 = Some(canon::body_hash(&response.body));
                let body = std::mem::take(&mut response.body);
                let listing = Response {
                    body,
                    ..response.clone()
                };
                Some(read_listing(source, kind, listing).await)
            }
            _ => None,
        };
        let problem = match &listing {
            Some(Err(error)) => Some(error.clone()),
            _ => None,
        };
        self.log_fetch(Some(state.id), &fetched, problem).await?;
        let response = match fetched.result {
            Ok(response) => response,
            Err(error) => {
                let retry_after = match &error {
                    FetchError::Deferred(deferred) => Some(deferred.wait),
                    _ => None,
                };
                return Ok(Err(FeedFailure {
                    message: format!("{what} {}: {error}", source.url),
                    retry_after,
                }));
            }
        };
        let freshness = response.freshness(self.clock.now());
        if response.is_not_modified() {
            summary.not_modified = true;
            let fresh = response.validators();
            return Ok(Ok(Listed {
                outcome: PollOutcome::Success {
                    etag: fresh.etag.or(validators.etag),
                    last_modified: fresh.last_modified.or(validators.last_modified),
                    body_sha256: state.last_body_sha256.clone(),
                },
                not_before: freshness,
            }));
        }
        let Listing {
            mut items,
            feeds,
            ttl,
        } = match listing {
            Some(Ok(listing)) => listing,
            Some(Err(error)) => {
                return Ok(Err(FeedFailure::new(format!(
                    "{what} {}: {error}",
                    source.url
                ))));
            }
            None => {
                return Ok(Err(FeedFailure {
                    message: format!("{what} {}: {}", source.url, response.status_error()),
                    retry_after: response.retry_after(self.clock.now()),
                }));
            }
        };
        if source.follow_feed {
            for feed_url in feeds.iter().take(MAX_FOLLOWED_FEEDS) {
                items.extend(self.followed_feed_items(state, feed_url).await?);
            }
        }
        let fresh = response.validators();
        let complete = self
            .archive_items(source, state, &items, shutdown, summary)
            .await?;
        // Validators are kept only when every item is safely archived: otherwise the next
        // poll would get a 304 and never retry the items that failed or had to wait.
        Ok(Ok(Listed {
            outcome: PollOutcome::Success {
                etag: fresh.etag.filter(|_| complete),
                last_modified: fresh.last_modified.filter(|_| complete),
                body_sha256: body_sha256.filter(|_| complete),
            },
            not_before: freshness.max(ttl),
        }))
    }

    /// The items of a feed that a page source advertises. A feed that cannot be read is
    /// logged and skipped: the page's own links still count.
    async fn followed_feed_items(
        &self,
        state: &SourceState,
        feed_url: &Url,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let fetched = self
            .fetcher
            .get(feed_url, Purpose::Feed, &Validators::default())
            .await;
        let parsed = match &fetched.result {
            Ok(response) if response.is_success() => {
                Some(feed::parse_feed(&response.body, &response.final_url))
            }
            _ => None,
        };
        let problem = match &parsed {
            Some(Err(error)) => Some(error.to_string()),
            _ => None,
        };
        self.log_fetch(Some(state.id), &fetched, problem).await?;
        match parsed {
            Some(Ok(feed)) => Ok(feed.items),
            _ => {
                tracing::warn!(source = %state.name, url = %feed_url, "advertised feed not readable; using the page's links only");
                Ok(Vec::new())
            }
        }
    }

    /// Archives a listing's items in order, up to the source's `max_new`; returns whether
    /// all of them are now settled (none failed, none left for the next poll).
    async fn archive_items(
        &self,
        source: &SourceConfig,
        state: &SourceState,
        items: &[FeedItem],
        shutdown: &Shutdown,
        summary: &mut PollSummary,
    ) -> Result<bool, StoreError> {
        summary.items = items.len();
        let oldest = source
            .max_age
            .and_then(|age| chrono::Duration::from_std(age).ok())
            .map(|age| self.clock.now() - age);
        for (index, item) in items.iter().enumerate() {
            if shutdown.is_triggered() {
                summary.interrupted = true;
                break;
            }
            // Too old to want: listed, not fetched. Undated items are always taken.
            if let (Some(oldest), Some(published)) = (oldest, item.published)
                && published < oldest
            {
                summary.skipped += 1;
                continue;
            }
            if summary.new >= source.max_new {
                summary.postponed = items.len() - index;
                tracing::info!(source = %source.name, max_new = source.max_new, postponed = summary.postponed, "new-article limit reached; the rest wait for the next poll");
                break;
            }
            self.archive_item(source, state, item, summary).await?;
        }
        Ok(summary.errors == 0 && !summary.interrupted && summary.postponed == 0)
    }

    /// A sitemap source: the sitemap at the source's URL, or, when that URL is a site's
    /// root, the sitemaps its robots.txt names (else `/sitemap.xml`). Indexes are followed
    /// breadth-first within limits; entries dated before the last successful poll (less a
    /// day's margin for late lastmods) are left out.
    async fn poll_sitemap(
        &self,
        source: &SourceConfig,
        state: &SourceState,
        shutdown: &Shutdown,
        summary: &mut PollSummary,
    ) -> Result<Result<Listed, FeedFailure>, StoreError> {
        let since = state
            .last_success_at
            .map(|t| t - chrono::Duration::days(SITEMAP_DATE_MARGIN_DAYS));
        let is_new = |date: Option<chrono::DateTime<chrono::FixedOffset>>| match (since, date) {
            (Some(since), Some(date)) => date.with_timezone(&chrono::Utc) >= since,
            _ => true,
        };
        let roots = if matches!(source.url.path(), "" | "/") && source.url.query().is_none() {
            self.sitemaps_of_site(Some(state.id), &source.url).await?
        } else {
            vec![source.url.clone()]
        };
        let (mut items, root_error) = self
            .walk_sitemaps(
                Some(state.id),
                &source.name,
                roots,
                &is_new,
                &is_new,
                MAX_SITEMAPS_PER_POLL,
                shutdown,
            )
            .await?;
        if items.is_empty()
            && let Some(error) = root_error
        {
            return Ok(Err(FeedFailure::new(error)));
        }
        // Newest first, so a max_new limit takes the latest news.
        items.sort_by_key(|item| std::cmp::Reverse(item.published));
        self.archive_items(source, state, &items, shutdown, summary)
            .await?;
        Ok(Ok(Listed {
            outcome: PollOutcome::Success {
                etag: None,
                last_modified: None,
                body_sha256: None,
            },
            not_before: None,
        }))
    }

    /// Reads sitemaps breadth-first from `roots`, following indexes (depth-limited, each
    /// sitemap once, at most `max_sitemaps`), and returns the entries `keep_entry` accepts
    /// (by publication date or lastmod), with the error of the first root sitemap that
    /// could not be read. `keep_sitemap` decides which child sitemaps of an index are read.
    #[allow(clippy::too_many_arguments)]
    pub async fn walk_sitemaps(
        &self,
        source_id: Option<i64>,
        source_name: &str,
        roots: Vec<Url>,
        keep_sitemap: &(dyn Fn(Option<chrono::DateTime<chrono::FixedOffset>>) -> bool + Sync),
        keep_entry: &(dyn Fn(Option<chrono::DateTime<chrono::FixedOffset>>) -> bool + Sync),
        max_sitemaps: usize,
        shutdown: &Shutdown,
    ) -> Result<(Vec<FeedItem>, Option<String>), StoreError> {
        let mut queue: std::collections::VecDeque<(Url, usize)> =
            roots.into_iter().map(|u| (u, 0)).collect();
        let mut visited = std::collections::HashSet::new();
        let mut items = Vec::new();
        let mut root_error = None;
        let limits = sitemap::SitemapLimits::default();
        while let Some((url, depth)) = queue.pop_front() {
            if visited.len() >= max_sitemaps || shutdown.is_triggered() {
                break;
            }
            if !visited.insert(url.to_string()) {
                continue; // an index that lists itself, or a loop
            }
            let fetched = self
                .fetcher
                .get(&url, Purpose::Feed, &Validators::default())
                .await;
            let parsed = match &fetched.result {
                Ok(response) if response.is_success() => Some(
                    sitemap::parse_sitemap(&response.body, &response.final_url, &limits)
                        .map_err(|e| e.to_string()),
                ),
                Ok(response) => Some(Err(response.status_error())),
                Err(error) => Some(Err(error.to_string())),
            };
            let problem = match (&parsed, &fetched.result) {
                (Some(Err(error)), Ok(_)) => Some(error.clone()),
                _ => None,
            };
            self.log_fetch(source_id, &fetched, problem).await?;
            match parsed {
                Some(Ok(sitemap::Sitemap::Index(children))) => {
                    if depth + 1 > MAX_SITEMAP_DEPTH {
                        tracing::warn!(source = %source_name, url = %url, "sitemap index nested too deep; not followed");
                        continue;
                    }
                    queue.extend(
                        children
                            .into_iter()
                            .filter(|child| keep_sitemap(child.lastmod))
                            .map(|child| (child.loc, depth + 1)),
                    );
                }
                Some(Ok(sitemap::Sitemap::Urls(entries))) => {
                    items.extend(entries.into_iter().filter_map(|entry| {
                        let news = entry.news.unwrap_or_default();
                        let date = news.publication_date.or(entry.lastmod);
                        keep_entry(date).then(|| FeedItem {
                            guid: None,
                            link: Some(entry.loc),
                            title: news.title,
                            published: date.map(|d| d.with_timezone(&chrono::Utc)),
                        })
                    }));
                }
                Some(Err(error)) => {
                    tracing::warn!(source = %source_name, url = %url, %error, "sitemap not read");
                    if depth == 0 && root_error.is_none() {
                        root_error = Some(format!("sitemap {url}: {error}"));
                    }
                }
                None => {}
            }
        }
        Ok((items, root_error))
    }

    /// The sitemaps a site's robots.txt names, or its `/sitemap.xml` when it names none.
    pub async fn sitemaps_of_site(
        &self,
        source_id: Option<i64>,
        site: &Url,
    ) -> Result<Vec<Url>, StoreError> {
        // The same cached rules every request is checked against: no second fetch.
        let (robots, fetched) = self.fetcher.robots_for(site).await;
        if let Some(fetched) = &fetched {
            self.log_fetch(source_id, fetched, None).await?;
        }
        let named = robots.map(|r| r.sitemaps().to_vec()).unwrap_or_default();
        if named.is_empty() {
            let mut fallback = site.clone();
            fallback.set_path("/sitemap.xml");
            return Ok(vec![fallback]);
        }
        Ok(named)
    }

    /// One page of a site's own listing read outside a poll (a backfill walking a
    /// source's archive pages): fetched and logged as a page source's page is, and read
    /// for article links by `source`'s rules. The outer error is a storage failure.
    pub async fn listing_page(
        &self,
        source: &SourceConfig,
        source_id: Option<i64>,
        url: &Url,
    ) -> Result<Result<Vec<FeedItem>, ListingPageError>, StoreError> {
        let fetched = self
            .fetcher
            .get(url, Purpose::Page, &Validators::default())
            .await;
        let listing = match &fetched.result {
            Ok(response) if response.is_success() => {
                Some(read_listing(source, SourceKind::Page, response.clone()).await)
            }
            _ => None,
        };
        let problem = match &listing {
            Some(Err(error)) => Some(error.clone()),
            _ => None,
        };
        self.log_fetch(source_id, &fetched, problem).await?;
        let status = fetched.status;
        Ok(match (listing, fetched.result) {
            (Some(Ok(listing)), _) => Ok(listing.items),
            (Some(Err(message)), response) => Err(ListingPageError {
                status: response.ok().map(|r| r.status),
                message: format!("page {url}: {message}"),
            }),
            (None, Ok(response)) => Err(ListingPageError {
                status: Some(response.status),
                message: format!("page {url}: {}", response.status_error()),
            }),
            (None, Err(error)) => Err(ListingPageError {
                status,
                message: format!("page {url}: {error}"),
            }),
        })
    }

    async fn archive_item(
        &self,
        source: &SourceConfig,
        state: &SourceState,
        item: &FeedItem,
        summary: &mut PollSummary,
    ) -> Result<(), StoreError> {
        let Some(link) = item.link.as_ref().and_then(canon::canonical_url) else {
            tracing::warn!(source = %source.name, guid = ?item.guid, title = ?item.title, "feed item has no usable link; skipped");
            summary.skipped += 1;
            return Ok(());
        };
        let item_key = item.guid.clone().unwrap_or_else(|| format!("link:{link}"));
        match self
            .store
            .item_status(state.id, item_key.clone(), vec![link.to_string()])
            .await?
        {
            ItemStatus::Seen => {
                summary.seen += 1;
                return Ok(());
            }
            ItemStatus::KnownArticle(article_id) => {
                self.store
                    .link_to_article(
                        Some(state.id),
                        Some(item_key),
                        vec![link.to_string()],
                        article_id,
                        self.clock.now(),
                    )
                    .await?;
                summary.duplicates += 1;
                return Ok(());
            }
            ItemStatus::GivenUp => {
                summary.skipped += 1;
                return Ok(());
            }
            ItemStatus::New => {}
        }
        let page_url = item.link.as_ref().unwrap_or(&link);
        match self
            .fetch_and_archive(
                Some(state.id),
                Some(item_key.clone()),
                page_url,
                &source.page_rules(),
            )
            .await?
        {
            Ok(Archived::New(_)) => summary.new += 1,
            Ok(Archived::Duplicate(_)) => summary.duplicates += 1,
            Err(error) => {
                let attempts = self
                    .store
                    .record_item_failure(state.id, item_key, error.clone(), self.clock.now())
                    .await?;
                if attempts >= MAX_ITEM_ATTEMPTS {
                    tracing::warn!(source = %source.name, url = %page_url, %error, attempts, "article not archived; giving up on it");
                    summary.skipped += 1;
                } else {
                    tracing::warn!(source = %source.name, url = %page_url, %error, attempts, "article not archived; will retry");
                    summary.errors += 1;
                }
            }
        }
        Ok(())
    }

    /// Fetches one page, extracts it and archives it. The inner error is a message about
    /// the page (HTTP failure, not HTML); the outer one a storage failure.
    pub async fn fetch_and_archive(
        &self,
        source_id: Option<i64>,
        item_key: Option<String>,
        url: &Url,
        page_rules: &PageRules,
    ) -> Result<Result<Archived, String>, StoreError> {
        let fetched = self
            .fetcher
            .get(url, Purpose::Page, &Validators::default())
            .await;
        let problem = not_an_html_page(&fetched);
        let fetch_id = self.log_fetch(source_id, &fetched, problem.clone()).await?;
        if let Some(problem) = problem {
            return Ok(Err(problem));
        }
        let response = match fetched.result {
            Ok(response) if response.is_success() => response,
            Ok(response) => return Ok(Err(response.status_error())),
            Err(error) => return Ok(Err(error.to_string())),
        };
        // The same bytes archived before (under another URL, or by an earlier run) are
        // the same page: parsing and extracting them again would only find the article
        // they already are.
        let body_sha256 = canon::body_hash(&response.body);
        if let Some(article_id) = self
            .store
            .find_article(ArticleKey::CaptureBody(body_sha256.clone()))
            .await?
        {
            let mut urls = Vec::new();
            add_canonical(&mut urls, url);
            add_canonical(&mut urls, &response.final_url);
            self.store
                .link_to_article(source_id, item_key, urls, article_id, self.clock.now())
                .await?;
            return Ok(Ok(Archived::Duplicate(article_id)));
        }
        let article = self
            .build_article(
                source_id,
                item_key,
                url,
                response,
                body_sha256,
                fetch_id,
                fetched.started_at,
                page_rules,
            )
            .await;
        self.store.archive(article).await.map(Ok)
    }

    #[allow(clippy::too_many_arguments)]
    async fn build_article(
        &self,
        source_id: Option<i64>,
        item_key: Option<String>,
        requested: &Url,
        response: Response,
        body_sha256: String,
        fetch_id: FetchId,
        fetched_at: DateTime<Utc>,
        page_rules: &PageRules,
    ) -> NewArticle {
        let now = self.clock.now();
        let final_url = response.final_url.clone();
        // Charset decoding and extraction are CPU work: off the async threads, and below
        // the priority of the archive's connection (see CpuPool).
        let content_type = response.header("content-type").map(str::to_string);
        let body = response.body;
        let options = page_rules.options(Some(final_url.clone()), Some(now));
        let (body, decoded_charset, charset_source, extracted, story_fingerprint) = {
            let content_type = content_type.clone();
            self.cpu
                .run(move || {
                    let decoded = decode_html(&body, content_type.as_deref(), options.url.as_ref());
                    let extracted = extract::extract(&decoded.text, &options);
                    let story_fingerprint = stories::fingerprint(&extracted.text);
                    (
                        body,
                        decoded.encoding.name(),
                        decoded.source.as_str(),
                        extracted,
                        story_fingerprint,
                    )
                })
                .await
                .unwrap_or_else(|e| {
                    tracing::error!(url = %requested, error = %e, "extraction failed");
                    (Vec::new(), "UTF-8", "detected", Extracted::default(), None)
                })
        };
        let mut urls: Vec<String> = Vec::new();
        add_canonical(&mut urls, requested);
        add_canonical(&mut urls, &final_url);
        let declared = extracted
            .canonical_url
            .as_deref()
            .and_then(|href| canon::canonical_url_str(href, Some(&final_url)))
            .filter(|declared| canon::trusted_page_canonical(declared, &final_url));
        if let Some(declared) = &declared {
            add_canonical(&mut urls, declared);
        }
        let canonical_url = declared
            .or_else(|| canon::canonical_url(&final_url))
            .map(String::from)
            .unwrap_or_else(|| final_url.to_string());
        let text_fingerprint = canon::text_fingerprint(extracted.title.as_deref(), &extracted.text);
        NewArticle {
            source_id,
            item_key,
            canonical_url,
            urls,
            title: extracted.title,
            authors: extracted.authors,
            published_at: extracted.published_at,
            updated_at: extracted.updated_at,
            first_seen_at: now,
            language: extracted.language,
            site_name: extracted.site_name,
            description: extracted.description,
            text: extracted.text,
            text_fingerprint,
            story_fingerprint,
            extractor: EXTRACTOR.to_string(),
            capture: NewCapture {
                fetch_id: Some(fetch_id),
                url: final_url.to_string(),
                fetched_at,
                status: response.status,
                body_sha256,
                headers: response.headers,
                content_type,
                charset: Some(decoded_charset.to_string()),
                charset_source: Some(charset_source.to_string()),
                body,
            },
        }
    }

    /// Looks at an archived article again (conditional GET from its latest capture,
    /// through the same politeness gate, robots.txt and address guard as any page) and
    /// records what changed: nothing, a new version, or that the page is gone. A failure
    /// is logged with the source, URL and cause; the article is tried again at its next
    /// scheduled time. The error is a storage failure.
    pub async fn revisit(
        &self,
        target: &RevisitTarget,
        page_rules: &PageRules,
    ) -> Result<Revisited, StoreError> {
        let source = target.source.as_deref().unwrap_or("-");
        let outcome = match Url::parse(&target.url) {
            Err(e) => {
                tracing::warn!(source, url = %target.url, error = %e, article = target.article_id, "revisit failed: stored URL does not parse");
                RevisitOutcome::Failed
            }
            Ok(url) => self.revisit_outcome(target, &url, page_rules).await?,
        };
        let checked_at = self.clock.now();
        let revisited = self
            .store
            .record_revisit(target.article_id, checked_at, outcome)
            .await?;
        self.metrics.revisit(match revisited {
            Revisited::Unchanged => "unchanged",
            Revisited::NewVersion(_) => "new_version",
            Revisited::Removed => "removed",
            Revisited::Failed | Revisited::Missing => "failed",
            Revisited::Postponed => "postponed",
        });
        match revisited {
            Revisited::NewVersion(version) => {
                tracing::info!(source, url = %target.url, article = target.article_id, version, "article changed; new version stored")
            }
            Revisited::Removed => {
                tracing::info!(source, url = %target.url, article = target.article_id, "article page is gone; marked removed")
            }
            _ => {}
        }
        Ok(revisited)
    }

    async fn revisit_outcome(
        &self,
        target: &RevisitTarget,
        url: &Url,
        page_rules: &PageRules,
    ) -> Result<RevisitOutcome, StoreError> {
        let source = target.source.as_deref().unwrap_or("-");
        let fetched = self
            .fetcher
            .get(url, Purpose::Page, &target.validators)
            .await;
        let problem = not_an_html_page(&fetched);
        let fetch_id = self
            .log_fetch(target.source_id, &fetched, problem.clone())
            .await?;
        let failed = |cause: String| {
            tracing::warn!(source, url = %url, article = target.article_id, error = %cause, "revisit failed; trying again at the next step");
            Ok(RevisitOutcome::Failed)
        };
        if let Some(problem) = problem {
            return failed(problem);
        }
        let response = match fetched.result {
            Ok(response) if response.is_not_modified() => return Ok(RevisitOutcome::NotModified),
            Ok(response) if matches!(response.status, 404 | 410) => {
                return Ok(RevisitOutcome::Removed {
                    status: response.status,
                });
            }
            Ok(response) if response.is_success() => response,
            Ok(response) => return failed(response.status_error()),
            Err(FetchError::Deferred(deferred)) => {
                let until = self.clock.now()
                    + chrono::Duration::from_std(deferred.wait).unwrap_or(chrono::Duration::MAX);
                tracing::info!(source, url = %url, article = target.article_id, wait = ?deferred.wait, "revisit postponed: the site asked to wait");
                return Ok(RevisitOutcome::Postponed { until });
            }
            Err(error) => return failed(error.to_string()),
        };
        let body_sha256 = canon::body_hash(&response.body);
        if target.body_sha256.as_deref() == Some(body_sha256.as_str()) {
            // The bytes archived last time: nothing on the page changed, so it is not
            // parsed again (and a change in how it would be read is `reparse`'s business).
            return Ok(RevisitOutcome::Unchanged);
        }
        let page = self
            .build_article(
                target.source_id,
                None,
                url,
                response,
                body_sha256,
                fetch_id,
                fetched.started_at,
                page_rules,
            )
            .await;
        let content_sha256 = page_hash(&page);
        if target.content_sha256.as_deref() == Some(content_sha256.as_str()) {
            return Ok(RevisitOutcome::Unchanged);
        }
        if target.extractor != EXTRACTOR
            && self.reextracted_hash(target, page_rules).await?.as_deref()
                == Some(content_sha256.as_str())
        {
            // The page is as it was; only this version's extractor reads it differently
            // (`newsvault reparse` brings the article row up to date).
            return Ok(RevisitOutcome::Unchanged);
        }
        if page.text.trim().is_empty() && target.has_text {
            // A page that now yields no text at all is more likely an error page served
            // with 200, a consent wall or a broken layout than an edit that deleted the
            // article: it does not replace the archived text.
            return failed("the page now yields no article text".into());
        }
        Ok(RevisitOutcome::Fetched(Box::new(NewVersion {
            fields: ExtractedFields {
                title: page.title,
                authors: page.authors,
                published_at: page.published_at,
                updated_at: page.updated_at,
                language: page.language,
                site_name: page.site_name,
                description: page.description,
                text: page.text,
                text_fingerprint: page.text_fingerprint,
                story_fingerprint: page.story_fingerprint,
                extractor: page.extractor,
            },
            content_sha256,
            capture: page.capture,
        })))
    }

    /// The content hash this version's extractor gives the article's latest capture; `None`
    /// when it has none that reads.
    async fn reextracted_hash(
        &self,
        target: &RevisitTarget,
        page_rules: &PageRules,
    ) -> Result<Option<String>, StoreError> {
        let Some(capture) = self.store.latest_capture(target.article_id).await? else {
            return Ok(None);
        };
        let Ok(final_url) = Url::parse(&capture.info.url) else {
            return Ok(None);
        };
        let response = Response {
            final_url: final_url.clone(),
            status: capture.info.status,
            headers: capture.info.headers,
            body: capture.body,
        };
        let body_sha256 = capture.info.body_sha256;
        let page = self
            .build_article(
                target.source_id,
                None,
                &final_url,
                response,
                body_sha256,
                0,
                capture.info.fetched_at,
                page_rules,
            )
            .await;
        Ok(Some(page_hash(&page)))
    }

    /// Revisits the articles due at `now` (those first found by `source` only, when
    /// given), at most `limit`, `concurrency` at a time (the per-host gate still spaces
    /// requests to each site). Pages are read as `page_rules` says for the article's
    /// source (time zone for dates without an offset, selectors). The articles are claimed
    /// for [`REVISIT_HOLD`] first, so that other nodes sharing the archive revisit others.
    /// Once `shutdown` trips no further revisit starts (those under way finish) and the
    /// articles not started are given back, due at once for whichever node comes next;
    /// only a crash leaves them held until the hold runs out.
    pub async fn revisit_due(
        &self,
        now: DateTime<Utc>,
        source: Option<String>,
        limit: u32,
        concurrency: usize,
        page_rules: &std::collections::HashMap<String, PageRules>,
        shutdown: &Shutdown,
    ) -> Result<RevisitSummary, StoreError> {
        let hold_until = now + chrono::Duration::from_std(REVISIT_HOLD).unwrap_or_default();
        let targets = self
            .store
            .claim_due_revisits(now, hold_until, source, limit)
            .await?;
        let mut summary = RevisitSummary {
            due: targets.len(),
            ..RevisitSummary::default()
        };
        let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
        let mut running = tokio::task::JoinSet::new();
        for target in targets {
            let rules = target
                .source
                .as_ref()
                .and_then(|name| page_rules.get(name))
                .cloned()
                .unwrap_or_else(|| PageRules::in_timezone(chrono_tz::UTC));
            let pipeline = self.clone();
            let limit = std::sync::Arc::clone(&limit);
            let shutdown = shutdown.clone();
            running.spawn(async move {
                let _permit = limit.acquire_owned().await;
                if shutdown.is_triggered() {
                    return Ok(Err(target.article_id));
                }
                pipeline.revisit(&target, &rules).await.map(Ok)
            });
        }
        let mut not_started = Vec::new();
        let mut first_error = None;
        while let Some(done) = running.join_next().await {
            match done {
                Ok(Ok(Ok(revisited))) => summary.add(revisited),
                Ok(Ok(Err(not_revisited))) => not_started.push(not_revisited),
                Ok(Err(error)) => {
                    summary.failed += 1;
                    first_error.get_or_insert(error);
                }
                Err(e) => {
                    tracing::error!(error = %e, "a revisit task panicked");
                    summary.failed += 1;
                }
            }
        }
        if !not_started.is_empty() {
            summary.interrupted = true;
            let articles = not_started.len();
            let released = self
                .store
                .release_revisits(not_started, hold_until, now)
                .await;
            if let Err(error) = released {
                tracing::warn!(%error, articles,
                    "cannot give back the revisits not started; they are due again when their hold runs out");
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(summary),
        }
    }

    /// Writes one request to the request log. `problem` is what was wrong with a response
    /// that arrived intact (not a feed, not HTML).
    pub async fn log_fetch(
        &self,
        source_id: Option<i64>,
        fetched: &Fetched,
        problem: Option<String>,
    ) -> Result<FetchId, StoreError> {
        for earlier in &fetched.preceding {
            Box::pin(self.log_fetch(source_id, earlier, None)).await?;
        }
        let sent = !matches!(
            fetched.result,
            Err(FetchError::Deferred(_)
                | FetchError::DisallowedByRobots(_)
                | FetchError::RobotsUnavailable(..)
                | FetchError::Refused(_))
        );
        if sent {
            self.metrics
                .request(fetched.purpose.as_str(), fetched.status, fetched.bytes);
        }
        let (final_url, status, error) = match &fetched.result {
            Ok(r) if r.is_success() || r.is_not_modified() => {
                (Some(r.final_url.to_string()), Some(r.status), problem)
            }
            // A missing robots.txt is an answer ("no rules"), not a failure.
            Ok(r) if fetched.purpose == Purpose::Robots && (400..500).contains(&r.status) => {
                (Some(r.final_url.to_string()), Some(r.status), None)
            }
            Ok(r) => (
                Some(r.final_url.to_string()),
                Some(r.status),
                Some(r.status_error()),
            ),
            Err(e) => (None, fetched.status, Some(e.to_string())),
        };
        self.store
            .record_fetch(FetchRecord {
                source_id,
                purpose: fetched.purpose.as_str().to_string(),
                url: fetched.url.to_string(),
                final_url,
                started_at: fetched.started_at,
                duration_ms: fetched.duration.as_millis().min(i64::MAX as u128) as i64,
                status,
                bytes: fetched.bytes,
                error,
            })
            .await
    }
}

/// Adds `url`'s canonical form to `urls` unless it is there already.
fn add_canonical(urls: &mut Vec<String>, url: &Url) {
    if let Some(canonical) = canon::canonical_url(url) {
        let canonical = canonical.to_string();
        if !urls.contains(&canonical) {
            urls.push(canonical);
        }
    }
}

/// The content hash of a freshly extracted page (see [`versions::content_hash`]).
fn page_hash(page: &NewArticle) -> String {
    let db_time = |t: Option<DateTime<chrono::FixedOffset>>| {
        t.map(|t| crate::clock::to_db_time(t.with_timezone(&Utc)))
    };
    versions::content_hash(
        page.title.as_deref(),
        &page.text,
        db_time(page.published_at).as_deref(),
        db_time(page.updated_at).as_deref(),
    )
}

/// What a response is, for a source without a configured kind: a feed (RSS, Atom, RDF,
/// JSON Feed), a sitemap (`<urlset>` or `<sitemapindex>`, gzipped or not, or a text list
/// of URLs) or an HTML page. The body decides where it is clear, so a feed served as
/// text/html is a feed; Content-Type decides only for a body that is none of them. A
/// site's root page is a page even when its robots.txt names sitemaps: `kind = "sitemap"`
/// says otherwise.
fn detect_kind(response: &Response) -> Option<SourceKind> {
    let mut html = match feed::parse_feed(&response.body, &response.final_url) {
        Ok(_) => return Some(SourceKind::Feed),
        Err(feed::FeedError::Html) => true,
        Err(_) => false,
    };
    if !html {
        // One entry is enough to tell, and keeps a big sitemap cheap.
        let limits = sitemap::SitemapLimits {
            max_urls: 1,
            ..sitemap::SitemapLimits::default()
        };
        match sitemap::parse_sitemap_detailed(&response.body, &response.final_url, &limits) {
            Ok(parsed) if !parsed.sitemap.is_empty() => return Some(SourceKind::Sitemap),
            Err(sitemap::SitemapError::Html) => html = true,
            _ => {}
        }
    }
    let declared_html = response.header("content-type").is_some_and(|value| {
        let mime = value.split(';').next().unwrap_or("").trim();
        mime.eq_ignore_ascii_case("text/html") || mime.eq_ignore_ascii_case("application/xhtml+xml")
    });
    (html || declared_html).then_some(SourceKind::Page)
}

/// Why a successful response to an article request is no article page: its declared
/// Content-Type is not HTML. `None` for HTML, and for failures (reported as such).
fn not_an_html_page(fetched: &Fetched) -> Option<String> {
    match &fetched.result {
        Ok(response) if response.is_success() => response
            .header("content-type")
            .filter(|kind| !is_html_content_type(kind))
            .map(|kind| format!("not an HTML page (Content-Type {kind})")),
        _ => None,
    }
}

fn is_html_content_type(value: &str) -> bool {
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.is_empty()
        || mime == "text/html"
        || mime == "application/xhtml+xml"
        || mime == "text/plain"
        || mime == "application/octet-stream"
}
