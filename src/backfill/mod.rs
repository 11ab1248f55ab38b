//! One-shot archiving of known past articles: a list of URLs, everything a sitemap (index,
//! urlset, Google News) lists within a date range, a feed and its RFC 5005 archive pages
//! ([`feed_archive`]), or a source's own paginated or dated archive ([`archive_pages`]). It
//! goes through the same gate, dedup and storage as polling. Progress lives in the archive
//! itself: a URL that already leads to an article is skipped, so running the same backfill
//! again after a crash or Ctrl-C fetches only what is missing. How progress is shown is the
//! caller's business ([`Progress`]; the command line's bar and log lines are in
//! [`crate::progress`]).

mod archive_pages;
mod feed_archive;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use tokio::task::JoinSet;
use url::Url;

use crate::canon;
use crate::extract::PageRules;
use crate::feed::FeedItem;
use crate::fetch::guard;
use crate::pipeline::Pipeline;
use crate::shutdown::Shutdown;
use crate::store::{Archived, ArticleKey, SourceId, StoreError};

pub use archive_pages::{
    ArchiveSteps, ArchiveTemplate, ArchiveWalk, PageRange, TemplateKind, url_day, url_in_range,
};
pub use feed_archive::{MAX_FEED_PAGES, archive_links};

/// At most this many sitemaps are read for one backfill.
const MAX_SITEMAPS: usize = 10_000;

/// What to backfill.
#[derive(Debug, Clone, Default)]
pub struct BackfillRequest {
    pub urls: Vec<Url>,
    pub sitemaps: Vec<Url>,
    /// Feeds to read with all their archive pages.
    pub feeds: Vec<Url>,
    /// A source's own archive to walk.
    pub archive: Option<ArchiveWalk>,
    /// Keep entries dated at or after this: sitemap entries by publication date or
    /// lastmod, feed items by their date, archive links by the date in their URL.
    pub since: Option<DateTime<Utc>>,
    /// Keep entries dated before this.
    pub until: Option<DateTime<Utc>>,
    /// The source articles are attributed to, if any.
    pub source_id: Option<SourceId>,
    /// How the pages are read: the time zone for dates without an offset and the
    /// source's selectors (UTC and the heuristics alone when none is given).
    pub page_rules: Option<PageRules>,
    /// List what would be fetched; fetch only sitemaps, feeds and archive pages.
    pub dry_run: bool,
    /// Pages fetched and extracted at the same time (at least 1); the per-host gate
    /// still limits each site.
    pub concurrency: usize,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackfillSummary {
    /// URLs to consider, after date filters, each once.
    pub listed: usize,
    /// Already in the archive from an earlier run or a poll.
    pub already: usize,
    pub archived: usize,
    /// Fetched, and turned out to be an article already archived under another URL.
    pub duplicates: usize,
    pub failed: usize,
    /// Sitemaps that could not be read.
    pub sitemap_errors: usize,
    /// Archive pages and feed pages read for links.
    pub pages_read: usize,
    /// Archive pages and feed pages that could not be read.
    pub page_errors: usize,
    /// Stopped early by Ctrl-C or SIGTERM.
    pub interrupted: bool,
}

impl BackfillSummary {
    /// URLs dealt with so far, one way or another.
    pub fn done(&self) -> usize {
        self.already + self.archived + self.duplicates + self.failed
    }
}

/// Where a backfill reports how it is going. The walk calls it and never draws or logs
/// progress itself, so it runs the same with a terminal, a log, or a test watching.
pub trait Progress: Send {
    /// Archive and feed pages read so far, and the article links they gave.
    fn listing(&mut self, _pages: usize, _links: usize) {}
    /// The counts so far and the URL just dealt with: called once with `None` when the
    /// list is final (before the first fetch), after each URL, and once at the end.
    fn update(&mut self, summary: &BackfillSummary, current: Option<&Url>);
}

impl<F> Progress for F
where
    F: FnMut(&BackfillSummary, Option<&Url>) + Send,
{
    fn update(&mut self, summary: &BackfillSummary, current: Option<&Url>) {
        self(summary, current)
    }
}

/// One line of a URL list that is not a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub text: String,
}

/// Reads a URL list: one http(s) URL per line; blank lines and lines starting with `#` are
/// ignored; anything else is reported, not fatal.
pub fn parse_url_list(text: &str) -> (Vec<Url>, Vec<BadLine>) {
    let mut urls = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match Url::parse(line) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                urls.push(url);
            }
            _ => bad.push(BadLine {
                line: index + 1,
                text: line.chars().take(200).collect(),
            }),
        }
    }
    (urls, bad)
}

/// A page to archive, and the feed item it came from when a feed listed it (so a later
/// poll of the source knows the item).
struct Target {
    url: Url,
    item_key: Option<String>,
}

impl Target {
    fn url(url: Url) -> Target {
        Target {
            url,
            item_key: None,
        }
    }
}

/// Runs a backfill: gathers the URLs to consider (reading sitemaps, feeds and archive
/// pages), then archives those not archived yet, reporting to `progress` as it goes.
pub async fn backfill(
    pipeline: &Pipeline,
    request: &BackfillRequest,
    shutdown: &Shutdown,
    progress: &mut dyn Progress,
) -> Result<BackfillSummary, StoreError> {
    let mut summary = BackfillSummary::default();
    // What the user named on the command line is trusted as written (see
    // `fetch::guard`); what those sitemaps and feeds lead to elsewhere is not.
    for url in request
        .urls
        .iter()
        .chain(&request.sitemaps)
        .chain(&request.feeds)
    {
        pipeline.fetcher.trust_host_of(url);
    }
    let in_range = |date: Option<DateTime<FixedOffset>>| {
        let Some(date) = date.map(|d| d.with_timezone(&Utc)) else {
            // Undated entries are kept: the range cannot exclude them.
            return true;
        };
        request.since.is_none_or(|since| date >= since)
            && request.until.is_none_or(|until| date < until)
    };
    // A child sitemap last changed before the range starts holds nothing in it.
    let sitemap_may_hold = |lastmod: Option<DateTime<FixedOffset>>| match (request.since, lastmod) {
        (Some(since), Some(lastmod)) => lastmod.with_timezone(&Utc) >= since,
        _ => true,
    };
    let mut targets: Vec<Target> = request.urls.iter().cloned().map(Target::url).collect();
    for root in &request.sitemaps {
        let roots = if matches!(root.path(), "" | "/") && root.query().is_none() {
            pipeline.sitemaps_of_site(request.source_id, root).await?
        } else {
            vec![root.clone()]
        };
        let (items, error) = pipeline
            .walk_sitemaps(
                request.source_id,
                "backfill",
                roots,
                &sitemap_may_hold,
                &in_range,
                MAX_SITEMAPS,
                shutdown,
            )
            .await?;
        if let Some(error) = error {
            tracing::warn!(sitemap = %root, %error, "sitemap not read");
            summary.sitemap_errors += 1;
        }
        targets.extend(
            items
                .into_iter()
                .filter_map(|item| item.link)
                .map(Target::url),
        );
        progress.listing(summary.pages_read, targets.len());
    }
    for feed in &request.feeds {
        let walked =
            feed_archive::walk(pipeline, request.source_id, feed, shutdown, progress).await?;
        summary.pages_read += walked.pages_read;
        summary.page_errors += walked.page_errors;
        summary.interrupted |= walked.interrupted;
        targets.extend(
            walked
                .items
                .into_iter()
                .filter(|item| in_range(item.published.map(|t| t.fixed_offset())))
                .filter_map(|item| feed_target(item, request.source_id.is_some())),
        );
    }
    if let Some(walk) = &request.archive {
        let keep = |url: &Url| url_in_range(url, request.since, request.until);
        let walked =
            archive_pages::walk(pipeline, request.source_id, walk, &keep, shutdown, progress)
                .await?;
        summary.pages_read += walked.pages_read;
        summary.page_errors += walked.page_errors;
        summary.interrupted |= walked.interrupted;
        targets.extend(walked.links.into_iter().map(Target::url));
    }
    // Each article once, in a stable order.
    let mut seen = HashSet::new();
    targets.retain(|target| {
        canon::canonical_url(&target.url).is_some_and(|c| seen.insert(c.to_string()))
    });
    summary.listed = targets.len();
    progress.update(&summary, None);
    if summary.interrupted || shutdown.is_triggered() {
        summary.interrupted = true;
        return Ok(summary);
    }

    let page_rules = Arc::new(
        request
            .page_rules
            .clone()
            .unwrap_or_else(|| PageRules::in_timezone(chrono_tz::UTC)),
    );
    // Pages are fetched and extracted `concurrency` at a time (the per-host gate still
    // decides how many reach one site); a dry run prints in list order, one at a time.
    let concurrency = if request.dry_run {
        1
    } else {
        request.concurrency.max(1)
    };
    // Spawned tasks do not inherit the caller's task-locals: carry the address policy.
    let private_allowed = guard::private_allowed();
    let mut queue = targets.into_iter();
    let mut running: JoinSet<(Url, Result<Outcome, StoreError>)> = JoinSet::new();
    loop {
        while running.len() < concurrency && !shutdown.is_triggered() {
            let Some(target) = queue.next() else { break };
            let pipeline = pipeline.clone();
            let job = Job {
                source_id: request.source_id,
                page_rules: page_rules.clone(),
                dry_run: request.dry_run,
            };
            running.spawn(async move {
                let url = target.url.clone();
                let outcome =
                    guard::with_private_allowed(private_allowed, job.run(&pipeline, target)).await;
                (url, outcome)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let (url, outcome) = match done {
            Ok(done) => done,
            Err(error) => {
                tracing::error!(%error, "a backfill task failed");
                summary.failed += 1;
                continue;
            }
        };
        match outcome? {
            Outcome::Skipped => {}
            Outcome::Already => summary.already += 1,
            Outcome::Listed => {}
            Outcome::Archived => summary.archived += 1,
            Outcome::Duplicate => summary.duplicates += 1,
            Outcome::Failed => summary.failed += 1,
        }
        progress.update(&summary, Some(&url));
    }
    if queue.next().is_some() {
        summary.interrupted = true;
    }
    progress.update(&summary, None);
    Ok(summary)
}

/// What became of one URL.
enum Outcome {
    /// Not a URL that can be archived (no canonical form).
    Skipped,
    /// In the archive already.
    Already,
    /// Printed by a dry run.
    Listed,
    Archived,
    Duplicate,
    Failed,
}

/// The settings one URL is archived with.
#[derive(Clone)]
struct Job {
    source_id: Option<SourceId>,
    page_rules: Arc<PageRules>,
    dry_run: bool,
}

impl Job {
    async fn run(self, pipeline: &Pipeline, target: Target) -> Result<Outcome, StoreError> {
        let Some(canonical) = canon::canonical_url(&target.url) else {
            return Ok(Outcome::Skipped);
        };
        let known = pipeline
            .store
            .find_article(ArticleKey::Urls(vec![canonical.to_string()]))
            .await?;
        if let Some(article_id) = known {
            // So that the source's next poll counts the item as seen.
            if let (Some(source_id), Some(item_key), false) =
                (self.source_id, target.item_key, self.dry_run)
            {
                pipeline
                    .store
                    .link_to_article(
                        Some(source_id),
                        Some(item_key),
                        vec![canonical.to_string()],
                        article_id,
                        pipeline.clock.now(),
                    )
                    .await?;
            }
            return Ok(Outcome::Already);
        }
        if self.dry_run {
            println!("{}", target.url);
            return Ok(Outcome::Listed);
        }
        let archived = pipeline
            .fetch_and_archive(
                self.source_id,
                target.item_key,
                &target.url,
                &self.page_rules,
            )
            .await?;
        Ok(match archived {
            Ok(Archived::New(_)) => Outcome::Archived,
            Ok(Archived::Duplicate(_)) => Outcome::Duplicate,
            Err(error) => {
                tracing::warn!(url = %target.url, %error, "not archived");
                Outcome::Failed
            }
        })
    }
}

/// A feed item as a page to archive; with a source, keyed as that source's poll keys it.
fn feed_target(item: FeedItem, keyed: bool) -> Option<Target> {
    let link = item.link?;
    let item_key = if keyed {
        let canonical = canon::canonical_url(&link)?;
        Some(item.guid.unwrap_or_else(|| format!("link:{canonical}")))
    } else {
        None
    };
    Some(Target {
        url: link,
        item_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_lists_skip_comments_and_report_garbage() {
        let (urls, bad) = parse_url_list(
            "# archive of July\n\nhttps://example.org/a\n  http://example.org/b  \nnot a url\nftp://x/y\nhttps://example.org/ক\n",
        );
        assert_eq!(urls.len(), 3);
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![5, 6]);
    }

    #[test]
    fn feed_items_are_keyed_as_a_poll_keys_them() {
        let item = |guid: Option<&str>| FeedItem {
            guid: guid.map(str::to_string),
            link: Url::parse("https://example.org/a?utm_source=x").ok(),
            title: None,
            published: None,
        };
        let key = |item, keyed| feed_target(item, keyed).and_then(|t| t.item_key);
        assert_eq!(key(item(Some("id-1")), true).as_deref(), Some("id-1"));
        assert_eq!(
            key(item(None), true).as_deref(),
            Some("link:https://example.org/a")
        );
        assert_eq!(key(item(Some("id-1")), false), None);
    }
}
