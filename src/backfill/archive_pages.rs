//! A source's own archive, walked for a backfill. The source's `archive_url` is a template
//! with a page number (`https://site/archive?page={page}`) or a date
//! (`https://site/{yyyy}/{mm}/{dd}/`); each archive page is fetched through the pipeline
//! like a page source's page (same gate, robots.txt and request log) and its article links
//! are discovered the same way, by the source's `include`/`exclude` rules. A page walk
//! stops where the site's archive ends: at a 404, or after a few pages in a row that add no
//! new link, so a range of a million pages costs only as many requests as the archive has.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use chrono::{DateTime, Days, NaiveDate, Utc};
use regex::Regex;
use url::Url;

use crate::config::SourceConfig;
use crate::pipeline::Pipeline;
use crate::shutdown::Shutdown;
use crate::store::StoreError;

use super::Progress;

/// A page walk ends after this many pages in a row gave no new link (or failed): past its
/// last page a site often repeats that page, or an empty one, instead of answering 404.
const QUIET_PAGES_TO_STOP: usize = 3;
/// A date walk allows longer quiet spells: a site may publish nothing for days.
const QUIET_DAYS_TO_STOP: usize = 31;

/// An `archive_url` template, checked when the configuration is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveTemplate {
    text: String,
    kind: TemplateKind,
}

/// How an archive is numbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// `{page}`: walked over a `--pages` range.
    Paged,
    /// `{yyyy}`, `{mm}`, `{dd}`: walked day by day, newest first, over `--since..--until`.
    Dated,
}

const PLACEHOLDERS: &[&str] = &["page", "yyyy", "mm", "dd"];

impl ArchiveTemplate {
    /// Checks a template: known placeholders only, either `{page}` or a date, and a valid
    /// http(s) URL once they are filled in.
    pub fn parse(text: &str) -> Result<ArchiveTemplate, String> {
        let text = text.trim();
        let mut found = HashSet::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err("has a \"}\" without its \"{\"".into());
            }
            let Some(close) = rest[open..].find('}') else {
                return Err("has a \"{\" without its \"}\"".into());
            };
            let name = &rest[open + 1..open + close];
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{name}}}: use {{page}} for a numbered archive, or {{yyyy}}, {{mm}} and {{dd}} for a dated one"
                ));
            }
            found.insert(name);
            rest = &rest[open + close + 1..];
        }
        let paged = found.contains("page");
        let dated = found.iter().any(|name| *name != "page");
        let kind = match (paged, dated) {
            (true, true) => {
                return Err(
                    "mixes {page} with date placeholders: an archive is walked by page or by day, not both"
                        .into(),
                );
            }
            (true, false) => TemplateKind::Paged,
            (false, true) => TemplateKind::Dated,
            (false, false) => {
                return Err(
                    "has no placeholder: put {page} where the page number goes, or {yyyy}/{mm}/{dd} where the date goes"
                        .into(),
                );
            }
        };
        if kind == TemplateKind::Dated {
            if !found.contains("yyyy") {
                return Err("a dated archive needs {yyyy}".into());
            }
            if found.contains("dd") && !found.contains("mm") {
                return Err("{dd} needs {mm} as well".into());
            }
        }
        let template = ArchiveTemplate {
            text: text.to_string(),
            kind,
        };
        let sample = NaiveDate::from_ymd_opt(2025, 7, 12).unwrap_or_default();
        match Url::parse(&template.fill(2, sample)) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                Ok(template)
            }
            Ok(_) => Err("must be an http or https URL with a host".into()),
            Err(e) => Err(format!("not a valid URL once filled in: {e}")),
        }
    }

    pub fn kind(&self) -> TemplateKind {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The address of one numbered page.
    pub fn page_url(&self, page: u32) -> Option<Url> {
        Url::parse(&self.fill(page, NaiveDate::default())).ok()
    }

    /// The address of one day's page (for a template without `{dd}`, its month's or year's).
    pub fn day_url(&self, day: NaiveDate) -> Option<Url> {
        Url::parse(&self.fill(0, day)).ok()
    }

    fn fill(&self, page: u32, day: NaiveDate) -> String {
        self.text
            .replace("{page}", &page.to_string())
            .replace("{yyyy}", &day.format("%Y").to_string())
            .replace("{mm}", &day.format("%m").to_string())
            .replace("{dd}", &day.format("%d").to_string())
    }
}

impl fmt::Display for ArchiveTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The pages of a numbered archive to walk, both ends included (`1..200`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRange {
    pub first: u32,
    pub last: u32,
}

impl FromStr for PageRange {
    type Err = String;

    /// `FIRST..LAST` (or `FIRST..=LAST`), both included, or one page number alone.
    fn from_str(text: &str) -> Result<PageRange, String> {
        let text = text.trim();
        let usage = "give FIRST..LAST, such as 1..200";
        let number = |part: &str, which: &str| -> Result<u32, String> {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("{text:?} has no {which} page: {usage}"));
            }
            part.parse::<u32>().map_err(|e| match e.kind() {
                std::num::IntErrorKind::PosOverflow => {
                    format!("{text:?}: page numbers go up to {}", u32::MAX)
                }
                _ => format!("{text:?} is not a page range: {usage}"),
            })
        };
        let (first, last) = match text.split_once("..") {
            Some((first, last)) => {
                let last = last.strip_prefix('=').unwrap_or(last);
                (number(first, "first")?, number(last, "last")?)
            }
            None => {
                let page = number(text, "first")?;
                (page, page)
            }
        };
        if last < first {
            return Err(format!(
                "{text:?} ends before it starts: the last page must not be below the first ({usage})"
            ));
        }
        Ok(PageRange { first, last })
    }
}

/// What an archive walk visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveSteps {
    Pages(PageRange),
    /// Day by day from `newest` back to `oldest`, both included.
    Days {
        newest: NaiveDate,
        oldest: NaiveDate,
    },
}

/// A source's archive walk, checked against its template.
#[derive(Debug, Clone)]
pub struct ArchiveWalk {
    /// Whose archive: its link rules and time zone apply.
    pub source: SourceConfig,
    pub template: ArchiveTemplate,
    pub steps: ArchiveSteps,
}

impl ArchiveWalk {
    /// Plans the walk of `source`'s archive: over `pages` for a `{page}` template, over
    /// the days from `since` to `until` (default: `now`) in the source's time zone for a
    /// dated one. The error says, naming the source, what is missing or does not fit.
    pub fn plan(
        source: &SourceConfig,
        pages: Option<PageRange>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<ArchiveWalk, String> {
        let name = &source.name;
        let Some(template) = source.archive_url.clone() else {
            return Err(format!(
                "source {name} has no archive_url to walk: add one to its [[source]], such as archive_url = \"https://site.example/archive?page={{page}}\""
            ));
        };
        let steps = match (template.kind(), pages) {
            (TemplateKind::Paged, Some(range)) => ArchiveSteps::Pages(range),
            (TemplateKind::Paged, None) => {
                return Err(format!(
                    "source {name}: archive_url {template} is numbered by {{page}}: give --pages FIRST..LAST, such as --pages 1..200"
                ));
            }
            (TemplateKind::Dated, Some(_)) => {
                return Err(format!(
                    "source {name}: archive_url {template} has no {{page}}; it is dated, so it is walked over the days from --since to --until, and --pages does not apply"
                ));
            }
            (TemplateKind::Dated, None) => {
                let Some(since) = since else {
                    return Err(format!(
                        "source {name}: archive_url {template} is dated: give --since DATE (and --until DATE, default today) for the days to walk"
                    ));
                };
                // Calendar days, as the UTC days --since/--until name; "today" is the
                // site's, which may be ahead of UTC.
                let oldest = since.date_naive();
                let today = now.with_timezone(&source.timezone).date_naive();
                // `until` is the instant just after the range.
                let newest = until
                    .map(|u| (u - chrono::Duration::milliseconds(1)).date_naive())
                    .map_or(today, |last| last.min(today));
                if newest < oldest {
                    return Err(format!(
                        "source {name}: no days to walk: --since {oldest} is after the last day, {newest}"
                    ));
                }
                ArchiveSteps::Days { newest, oldest }
            }
        };
        Ok(ArchiveWalk {
            source: source.clone(),
            template,
            steps,
        })
    }

    /// The archive pages in walking order (a template without `{dd}` gives the same page
    /// for many days; the walk reads it once).
    fn urls(&self) -> Box<dyn Iterator<Item = (String, Option<Url>)> + Send + '_> {
        match &self.steps {
            ArchiveSteps::Pages(range) => Box::new(
                (range.first..=range.last)
                    .map(|page| (format!("page {page}"), self.template.page_url(page))),
            ),
            ArchiveSteps::Days { newest, oldest } => {
                let oldest = *oldest;
                Box::new(
                    std::iter::successors(Some(*newest), |day| day.checked_sub_days(Days::new(1)))
                        .take_while(move |day| *day >= oldest)
                        .map(|day| (day.to_string(), self.template.day_url(day))),
                )
            }
        }
    }
}

/// What an archive walk found.
#[derive(Debug, Default)]
pub(super) struct WalkOutcome {
    /// Article links, each once, in the order the archive gave them.
    pub links: Vec<Url>,
    pub pages_read: usize,
    pub page_errors: usize,
    pub interrupted: bool,
}

/// Walks an archive and gathers the article links `keep` accepts.
pub(super) async fn walk(
    pipeline: &Pipeline,
    source_id: Option<i64>,
    walk: &ArchiveWalk,
    keep: &(dyn Fn(&Url) -> bool + Sync),
    shutdown: &Shutdown,
    progress: &mut dyn Progress,
) -> Result<WalkOutcome, StoreError> {
    let paged = matches!(walk.steps, ArchiveSteps::Pages(_));
    let quiet_limit = if paged {
        QUIET_PAGES_TO_STOP
    } else {
        QUIET_DAYS_TO_STOP
    };
    let mut outcome = WalkOutcome::default();
    let mut seen = HashSet::new();
    let mut visited = HashSet::new();
    let mut quiet = 0;
    for (step, url) in walk.urls() {
        if shutdown.is_triggered() {
            outcome.interrupted = true;
            break;
        }
        let Some(url) = url else {
            tracing::warn!(source = %walk.source.name, template = %walk.template, %step, "archive page address is not a URL; skipped");
            continue;
        };
        if !visited.insert(url.to_string()) {
            continue;
        }
        match pipeline.listing_page(&walk.source, source_id, &url).await? {
            Ok(items) => {
                outcome.pages_read += 1;
                let before = outcome.links.len();
                for link in items.into_iter().filter_map(|item| item.link) {
                    if keep(&link) && seen.insert(link.to_string()) {
                        outcome.links.push(link);
                    }
                }
                let new = outcome.links.len() - before;
                tracing::debug!(source = %walk.source.name, url = %url, new, "archive page read");
                quiet = if new == 0 { quiet + 1 } else { 0 };
            }
            Err(failure) if matches!(failure.status, Some(404 | 410)) => {
                if paged {
                    tracing::info!(source = %walk.source.name, url = %url, status = ?failure.status, "the archive ends here");
                    break;
                }
                // A day without news may have no page at all.
                tracing::debug!(source = %walk.source.name, url = %url, "no archive page for this day");
                quiet += 1;
            }
            Err(failure) => {
                outcome.page_errors += 1;
                tracing::warn!(source = %walk.source.name, url = %url, error = %failure.message, "archive page not read");
                quiet += 1;
            }
        }
        progress.listing(outcome.pages_read, outcome.links.len());
        if quiet >= quiet_limit {
            tracing::info!(source = %walk.source.name, url = %url, pages = quiet, "no new links for several archive pages in a row; the archive ends here");
            break;
        }
    }
    Ok(outcome)
}

/// The day a URL's path is dated by (`/2025/07/12/`, `/2025-07-12-slug`, `/20250712/`),
/// if it has one.
pub fn url_day(url: &Url) -> Option<NaiveDate> {
    static SEPARATED: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?:^|/)(\d{4})[/_-](\d{1,2})[/_-](\d{1,2})(?:$|[/_.-])").ok()
    });
    static COMPACT: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?:^|/)(\d{4})(\d{2})(\d{2})(?:$|[/_.-])").ok());
    let path = url.path();
    [&*SEPARATED, &*COMPACT]
        .into_iter()
        .flatten()
        .flat_map(|pattern| pattern.captures_iter(path))
        .find_map(|captures| {
            let part = |i: usize| captures.get(i)?.as_str().parse::<u32>().ok();
            let year = i32::try_from(part(1)?).ok()?;
            if !(1990..=2100).contains(&year) {
                return None;
            }
            NaiveDate::from_ymd_opt(year, part(2)?, part(3)?)
        })
}

/// Whether a link dated by its URL falls in `[since, until)`. The URL names a calendar
/// day, read as the UTC day that `--since`/`--until` days are, so `--since 2025-07-12
/// --until 2025-07-12` keeps exactly the links dated 12 July. Undated links are kept: the
/// range cannot exclude them.
pub fn url_in_range(url: &Url, since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> bool {
    let Some(day) = url_day(url) else {
        return true;
    };
    let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let end = start + chrono::Duration::days(1);
    since.is_none_or(|since| end > since) && until.is_none_or(|until| start < until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_checked_when_read() {
        let paged = ArchiveTemplate::parse("https://site.example/archive?page={page}")
            .expect("paged template");
        assert_eq!(paged.kind(), TemplateKind::Paged);
        assert_eq!(
            paged.page_url(7).map(String::from).as_deref(),
            Some("https://site.example/archive?page=7")
        );
        let dated = ArchiveTemplate::parse("https://site.example/{yyyy}/{mm}/{dd}/")
            .expect("dated template");
        assert_eq!(dated.kind(), TemplateKind::Dated);
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).expect("date");
        assert_eq!(
            dated.day_url(day).map(String::from).as_deref(),
            Some("https://site.example/2025/07/02/")
        );
        for (bad, says) in [
            ("https://site.example/archive", "no placeholder"),
            (
                "https://site.example/archive?p={pg}",
                "unknown placeholder {pg}",
            ),
            ("https://site.example/{yyyy}/p/{page}", "mixes"),
            ("https://site.example/{mm}/{dd}", "needs {yyyy}"),
            ("https://site.example/{yyyy}/{dd}", "{dd} needs {mm}"),
            (
                "https://site.example/archive?page={page",
                "without its \"}\"",
            ),
            ("ftp://site.example/{page}", "http or https"),
            ("/archive/{page}", "not a valid URL"),
        ] {
            let error = ArchiveTemplate::parse(bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn page_ranges_are_bounded_and_ordered() {
        let range = |text: &str| text.parse::<PageRange>();
        assert_eq!(
            range("1..200"),
            Ok(PageRange {
                first: 1,
                last: 200
            })
        );
        assert_eq!(range("0..=3"), Ok(PageRange { first: 0, last: 3 }));
        assert_eq!(range(" 4 "), Ok(PageRange { first: 4, last: 4 }));
        assert_eq!(
            range("1..1000000"),
            Ok(PageRange {
                first: 1,
                last: 1_000_000
            })
        );
        for (bad, says) in [
            ("5..1", "ends before it starts"),
            ("abc", "not a page range"),
            ("0..", "no last page"),
            ("..5", "no first page"),
            ("", "no first page"),
            ("1..99999999999", "go up to"),
            ("-1..3", "not a page range"),
        ] {
            let error = range(bad).expect_err(bad);
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }

    #[test]
    fn urls_tell_their_day() {
        let day = |u: &str| url_day(&Url::parse(u).expect("url")).map(|d| d.to_string());
        assert_eq!(
            day("https://x.example/news/2025/07/12/story").as_deref(),
            Some("2025-07-12")
        );
        assert_eq!(
            day("https://x.example/2025-7-2-story.html").as_deref(),
            Some("2025-07-02")
        );
        assert_eq!(
            day("https://x.example/a/20250712/b").as_deref(),
            Some("2025-07-12")
        );
        assert_eq!(day("https://x.example/2020/08/23646/"), None);
        assert_eq!(day("https://x.example/news/491317"), None);
        assert_eq!(day("https://x.example/2025/13/40/x"), None);
    }

    #[test]
    fn url_days_are_matched_against_the_range() {
        let url = Url::parse("https://x.example/2025/07/12/story").expect("url");
        let at = |text: &str| {
            Some(
                DateTime::parse_from_rfc3339(text)
                    .expect("time")
                    .with_timezone(&Utc),
            )
        };
        let (day_start, next_day) = (at("2025-07-12T00:00:00Z"), at("2025-07-13T00:00:00Z"));
        assert!(url_in_range(&url, day_start, next_day));
        assert!(url_in_range(&url, at("2025-07-12T23:00:00Z"), None));
        assert!(!url_in_range(&url, next_day, None));
        assert!(!url_in_range(&url, None, day_start));
        let undated = Url::parse("https://x.example/story-slug").expect("url");
        assert!(url_in_range(&undated, at("2030-01-01T00:00:00Z"), None));
    }
}
