//! A feed and its archive, walked for a backfill (RFC 5005): from the feed, the
//! feed-level links `prev-archive` / `next-archive` of an archived feed (section 4) and
//! `previous` / `next` of a paged feed (section 3) are followed page by page, each page once
//! and at most [`MAX_FEED_PAGES`] of them, and every item is gathered as a poll would read
//! it. Items come from the lenient parser in [`crate::feed`]; it keeps no feed-level links,
//! so they are read here from the document itself: Atom `<link>` children of `<feed>`,
//! `<atom:link>` children of an RSS `<channel>`, and a JSON Feed's `next_url`.

use std::collections::{HashSet, VecDeque};

use quick_xml::events::Event;
use url::Url;

use crate::canon;
use crate::feed::{self, FeedItem};
use crate::fetch::{Purpose, Validators};
use crate::pipeline::Pipeline;
use crate::shutdown::Shutdown;
use crate::store::StoreError;

use super::Progress;

/// At most this many pages of one feed's archive are read.
pub const MAX_FEED_PAGES: usize = 1_000;

/// Link relations that lead to more of the same feed.
const ARCHIVE_RELATIONS: &[&str] = &["prev-archive", "next-archive", "previous", "prev", "next"];

/// What a feed walk found.
#[derive(Debug, Default)]
pub(super) struct FeedWalk {
    pub items: Vec<FeedItem>,
    pub pages_read: usize,
    pub page_errors: usize,
    pub interrupted: bool,
}

/// Reads `start` and every archive page it leads to.
pub(super) async fn walk(
    pipeline: &Pipeline,
    source_id: Option<i64>,
    start: &Url,
    shutdown: &Shutdown,
    progress: &mut dyn Progress,
) -> Result<FeedWalk, StoreError> {
    let mut outcome = FeedWalk::default();
    let mut queue = VecDeque::from([start.clone()]);
    // Every address a page was asked for or answered from: an archive page that links to
    // itself, or two pages that link to each other, are read once.
    let mut seen = HashSet::from([page_key(start)]);
    while let Some(url) = queue.pop_front() {
        if shutdown.is_triggered() {
            outcome.interrupted = true;
            break;
        }
        if outcome.pages_read + outcome.page_errors >= MAX_FEED_PAGES {
            tracing::warn!(feed = %start, pages = MAX_FEED_PAGES, "feed archive longer than the page cap; the rest is not read");
            break;
        }
        let fetched = pipeline
            .fetcher
            .get(&url, Purpose::Feed, &Validators::default())
            .await;
        let parsed = match &fetched.result {
            Ok(response) if response.is_success() => {
                let body = response.body.clone();
                let base = response.final_url.clone();
                Some(
                    tokio::task::spawn_blocking(move || {
                        feed::parse_feed(&body, &base)
                            .map(|parsed| (parsed.items, archive_links(&body, &base)))
                            .map_err(|e| e.to_string())
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("reading the feed failed: {e}"))),
                )
            }
            _ => None,
        };
        let problem = match &parsed {
            Some(Err(error)) => Some(error.clone()),
            _ => None,
        };
        pipeline.log_fetch(source_id, &fetched, problem).await?;
        if let Ok(response) = &fetched.result {
            seen.insert(page_key(&response.final_url));
        }
        match (parsed, &fetched.result) {
            (Some(Ok((items, links))), _) => {
                outcome.pages_read += 1;
                tracing::debug!(url = %url, items = items.len(), links = links.len(), "feed page read");
                outcome.items.extend(items);
                for link in links {
                    if seen.insert(page_key(&link)) {
                        queue.push_back(link);
                    }
                }
            }
            (Some(Err(error)), _) => {
                outcome.page_errors += 1;
                tracing::warn!(url = %url, %error, "feed page not read");
            }
            (None, Ok(response)) => {
                outcome.page_errors += 1;
                tracing::warn!(url = %url, error = %response.status_error(), "feed page not read");
            }
            (None, Err(error)) => {
                outcome.page_errors += 1;
                tracing::warn!(url = %url, %error, "feed page not read");
            }
        }
        progress.listing(outcome.pages_read, outcome.items.len());
    }
    Ok(outcome)
}

/// Pages are told apart by their canonical address (fragment and tracking noise gone).
fn page_key(url: &Url) -> String {
    canon::canonical_url(url).map_or_else(|| url.to_string(), String::from)
}

/// The feed-level links of a feed document that lead to more of it ([`ARCHIVE_RELATIONS`]),
/// absolute, in document order. Links inside entries are not the feed's and are ignored.
pub fn archive_links(body: &[u8], base: &Url) -> Vec<Url> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let hrefs = if text.starts_with('{') {
        json_next_url(text)
    } else {
        xml_archive_hrefs(text)
    };
    let mut links: Vec<Url> = Vec::new();
    for href in hrefs {
        if let Ok(url) = base.join(href.trim())
            && matches!(url.scheme(), "http" | "https")
            && !links.contains(&url)
        {
            links.push(url);
        }
    }
    links
}

/// JSON Feed's paging: `next_url`.
fn json_next_url(text: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|feed| feed.get("next_url")?.as_str().map(str::to_string))
        .into_iter()
        .collect()
}

/// `href`s of `<link rel="…">` elements that are children of Atom's `<feed>` or RSS's
/// `<channel>`, with a relation in [`ARCHIVE_RELATIONS`]. A document that stops being
/// well-formed yields the links read before that point.
fn xml_archive_hrefs(text: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    // Local names of the open elements, outermost first.
    let mut open: Vec<String> = Vec::new();
    let mut hrefs = Vec::new();
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        let (tag, is_start) = match &event {
            Event::Start(tag) => (tag, true),
            Event::Empty(tag) => (tag, false),
            Event::End(_) => {
                open.pop();
                continue;
            }
            _ => continue,
        };
        let name = tag.local_name().as_ref().to_ascii_lowercase();
        let parent = open.last().map(String::as_str);
        if name == "link" && matches!(parent, Some("feed" | "channel")) {
            let mut rel = None;
            let mut href = None;
            for attribute in tag.attributes().flatten() {
                let value = attribute
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default();
                match attribute.key.local_name().as_ref() {
                    "rel" => rel = Some(value.to_ascii_lowercase()),
                    "href" => href = Some(value),
                    _ => {}
                }
            }
            if let (Some(rel), Some(href)) = (rel, href)
                && rel
                    .split_ascii_whitespace()
                    .any(|r| ARCHIVE_RELATIONS.contains(&r))
                && !href.is_empty()
            {
                hrefs.push(href);
            }
        }
        if is_start {
            open.push(name);
        }
    }
    hrefs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://site.example/feed/atom.xml").expect("url")
    }

    fn links(xml: &str) -> Vec<String> {
        archive_links(xml.as_bytes(), &base())
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn atom_feed_links_lead_to_the_archive() {
        let xml = r#"<?xml version="1.0"?>
            <feed xmlns="http://www.w3.org/2005/Atom" xmlns:fh="http://purl.org/syndication/history/1.0">
              <link rel="self" href="/feed/atom.xml"/>
              <link rel="current" href="/feed/atom.xml"/>
              <link rel="prev-archive" href="archive/2025-06.xml"/>
              <link rel="next" href="https://site.example/feed/atom.xml?page=2"/>
              <entry><title>x</title><link rel="next" href="/not/a/feed/link"/></entry>
              <link rel="alternate" href="/"/>
            </feed>"#;
        assert_eq!(
            links(xml),
            vec![
                "https://site.example/feed/archive/2025-06.xml",
                "https://site.example/feed/atom.xml?page=2",
            ]
        );
    }

    #[test]
    fn rss_channels_carry_atom_links() {
        let xml = r#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
            <title>t</title><link>https://site.example/</link>
            <atom:link rel="self" href="https://site.example/rss"/>
            <atom:link rel="previous" href="https://site.example/rss?page=2&amp;x=1"/>
            <item><title>a</title><link>https://site.example/a</link></item>
            </channel></rss>"#;
        assert_eq!(links(xml), vec!["https://site.example/rss?page=2&x=1"]);
    }

    #[test]
    fn json_feeds_page_with_next_url() {
        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t",
            "next_url":"/feed.json?page=2","items":[]}"#;
        assert_eq!(links(json), vec!["https://site.example/feed.json?page=2"]);
    }

    #[test]
    fn broken_documents_give_what_was_read() {
        assert!(links("").is_empty());
        assert!(links("<html><body>not a feed</body></html>").is_empty());
        let cut = r#"<feed><link rel="prev-archive" href="/a.xml"/><entry><title>x"#;
        assert_eq!(links(cut), vec!["https://site.example/a.xml"]);
    }
}
