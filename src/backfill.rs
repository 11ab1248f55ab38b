//! One-shot archiving of known past articles: a list of URLs, or everything a sitemap (index,
//! urlset, Google News) lists within a date range. It goes through the same gate, dedup and
//! storage as polling. Progress lives in the archive itself: a URL that already leads to an
//! article is skipped, so running the same backfill again after a crash or Ctrl-C fetches
//! only what is missing.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::canon;
use crate::pipeline::Pipeline;
use crate::shutdown::Shutdown;
use crate::store::{Archived, ArticleKey, SourceId, StoreError};

/// At most this many sitemaps are read for one backfill.
const MAX_SITEMAPS: usize = 10_000;
/// Progress is logged at least this often when there is no terminal to draw on.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// What to backfill.
#[derive(Debug, Clone, Default)]
pub struct BackfillRequest {
    pub urls: Vec<Url>,
    pub sitemaps: Vec<Url>,
    /// Keep sitemap entries dated at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Keep sitemap entries dated before this.
    pub until: Option<DateTime<Utc>>,
    /// The source articles are attributed to, if any.
    pub source_id: Option<SourceId>,
    /// Time zone for dates without an offset on the pages.
    pub timezone: Option<Tz>,
    /// List what would be fetched; fetch only sitemaps.
    pub dry_run: bool,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackfillSummary {
    /// URLs to consider, after sitemap date filters, each once.
    pub listed: usize,
    /// Already in the archive from an earlier run or a poll.
    pub already: usize,
    pub archived: usize,
    /// Fetched, and turned out to be an article already archived under another URL.
    pub duplicates: usize,
    pub failed: usize,
    /// Sitemaps that could not be read.
    pub sitemap_errors: usize,
    /// Stopped early by Ctrl-C or SIGTERM.
    pub interrupted: bool,
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

/// Runs a backfill. `report` is called with the summary so far as work proceeds (for a
/// progress display) and once at the end; `listed` is final before the first fetch.
pub async fn backfill(
    pipeline: &Pipeline,
    request: &BackfillRequest,
    shutdown: &Shutdown,
    report: &mut (dyn FnMut(&BackfillSummary, Option<&Url>) + Send),
) -> Result<BackfillSummary, StoreError> {
    let mut summary = BackfillSummary::default();
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
    let mut targets: Vec<Url> = request.urls.clone();
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
        targets.extend(items.into_iter().filter_map(|item| item.link));
    }
    // Each article once, in a stable order.
    let mut seen = std::collections::HashSet::new();
    targets.retain(|url| canon::canonical_url(url).is_some_and(|c| seen.insert(c.to_string())));
    summary.listed = targets.len();
    report(&summary, None);

    let timezone = request.timezone.unwrap_or(chrono_tz::UTC);
    let mut last_log = tokio::time::Instant::now();
    for url in &targets {
        if shutdown.is_triggered() {
            summary.interrupted = true;
            break;
        }
        let Some(canonical) = canon::canonical_url(url) else {
            continue;
        };
        let known = pipeline
            .store
            .find_article(ArticleKey::Urls(vec![canonical.to_string()]))
            .await?;
        if known.is_some() {
            summary.already += 1;
        } else if request.dry_run {
            println!("{url}");
        } else {
            match pipeline
                .fetch_and_archive(request.source_id, None, url, timezone)
                .await?
            {
                Ok(Archived::New(_)) => summary.archived += 1,
                Ok(Archived::Duplicate(_)) => summary.duplicates += 1,
                Err(error) => {
                    tracing::warn!(url = %url, %error, "not archived");
                    summary.failed += 1;
                }
            }
        }
        report(&summary, Some(url));
        if last_log.elapsed() >= PROGRESS_EVERY {
            last_log = tokio::time::Instant::now();
            tracing::info!(
                done = summary.already + summary.archived + summary.duplicates + summary.failed,
                total = summary.listed,
                archived = summary.archived,
                failed = summary.failed,
                "backfill progress"
            );
        }
    }
    report(&summary, None);
    Ok(summary)
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
}
