//! Feed bytes to items (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed) through feed-rs, read as
//! leniently as feedparser and miniflux read them, so the archive gets every item a reader
//! would see. This module owns the public API and the order of attempts: the body is decoded
//! to UTF-8 here (`decode`), handed to feed-rs as it is, and only when feed-rs refuses it or
//! finds no items is it repaired (`repair` for XML, `json` for JSON) and parsed once more;
//! the attempt with more items wins. Repairs never make a feed of an HTML page or of a
//! document whose root is not a feed element.
//!
//! feed-rs invents a random id for entries that have none; that id would make every poll
//! look new, so ids it had to invent are dropped here and the item's link identifies it
//! instead.

mod decode;
mod entities;
mod json;
mod repair;

use chrono::{DateTime, Utc};
use feed_rs::model::Feed;
use url::Url;

/// One entry of a feed, reduced to what the archive needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedItem {
    /// The entry's own id (RSS guid, Atom id, JSON Feed id), when the feed gives one.
    pub guid: Option<String>,
    /// The article's address, absolute.
    pub link: Option<Url>,
    pub title: Option<String>,
    pub published: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub items: Vec<FeedItem>,
    /// RSS `<ttl>`: how long the feed asks readers to wait before polling again.
    pub ttl: Option<std::time::Duration>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeedError {
    #[error("empty response body")]
    Empty,
    #[error("not a feed: the server sent an HTML page")]
    Html,
    #[error("not a feed: {0}")]
    Invalid(String),
}

/// Marks ids that feed-rs generated itself. No real id contains a NUL.
const GENERATED_ID: &str = "\0generated";

/// Parses a feed. `base` (the feed's URL) resolves relative links.
pub fn parse_feed(body: &[u8], base: &Url) -> Result<ParsedFeed, FeedError> {
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    let Some(start) = start else {
        return Err(FeedError::Empty);
    };
    if looks_like_html(&body[start..]) {
        return Err(FeedError::Html);
    }
    let decoded = decode::decode(body);
    let text = decoded.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if text.is_empty() {
        return Err(FeedError::Empty);
    }
    // Again on the decoded text: a UTF-16 page hides its markup from the byte check.
    if looks_like_html(text.as_bytes()) {
        return Err(FeedError::Html);
    }
    let feed = if text.starts_with('{') {
        parse_json(base, text)?
    } else {
        parse_xml(base, text)?
    };
    Ok(convert(feed, base))
}

/// Items read from one XML feed at most. feed-rs holds about 1.5 KB per item while it
/// parses, so a 10 MiB feed of 100,000 tiny items would cost hundreds of megabytes; no news
/// feed lists anywhere near this many (the largest of the evaluation set lists 730).
pub const MAX_ITEMS: usize = 10_000;

/// An item's title is kept to this many characters: it only names the item in logs, and a
/// hostile feed's megabyte titles would otherwise be held for the whole poll.
pub const MAX_TITLE_CHARS: usize = 1_000;

fn parse_xml(base: &Url, text: &str) -> Result<Feed, FeedError> {
    let root = match repair::find_root(text) {
        repair::Root::Feed(at) => at,
        repair::Root::Html => return Err(FeedError::Html),
        repair::Root::Other => {
            return Err(FeedError::Invalid("no feed root element".into()));
        }
    };
    // Cut before the item past the limit; like any truncated feed, the repair closes it.
    let text = match nth_item_start(text, MAX_ITEMS) {
        Some(cut) if cut > root => &text[..cut],
        _ => text,
    };
    // As published (minus the declaration: the text is UTF-8 now, whatever it says).
    let first = match repair::strip_declaration(text).map(|t| run(base, t.as_bytes())) {
        Some(Ok(feed)) if !feed.entries.is_empty() => return Ok(feed),
        other => other,
    };
    let second = match repair::repair(text, root) {
        Ok(fixed) => run(base, fixed.as_bytes()),
        Err(repair::RepairError::Truncated) => {
            Err(FeedError::Invalid("truncated before its first item".into()))
        }
        Err(repair::RepairError::TooDeep) => Err(FeedError::Invalid("nested too deeply".into())),
    };
    best_of(first, second)
}

fn parse_json(base: &Url, text: &str) -> Result<Feed, FeedError> {
    let first = run(base, text.as_bytes());
    if let Ok(feed) = &first
        && !feed.entries.is_empty()
    {
        return first;
    }
    // serde_json bounds nesting (128 levels) itself.
    let second = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => match json::normalise(&value) {
            Some(feed) => serde_json::to_vec(&feed)
                .map_err(|e| FeedError::Invalid(e.to_string()))
                .and_then(|bytes| run(base, &bytes)),
            None => Err(FeedError::Invalid("JSON, but not a feed".into())),
        },
        Err(e) => Err(FeedError::Invalid(format!("unable to parse JSON: {e}"))),
    };
    best_of(Some(first), second)
}

/// The attempt with more items; the first one's error when both failed.
fn best_of(
    first: Option<Result<Feed, FeedError>>,
    second: Result<Feed, FeedError>,
) -> Result<Feed, FeedError> {
    match (first, second) {
        (Some(Ok(a)), Ok(b)) => Ok(if b.entries.len() > a.entries.len() {
            b
        } else {
            a
        }),
        (Some(Ok(a)), Err(_)) => Ok(a),
        (_, Ok(b)) => Ok(b),
        (Some(Err(a)), Err(_)) => Err(a),
        (None, Err(b)) => Err(b),
    }
}

/// feed-rs on `bytes`. Its XML reader asserts on input it dislikes (an encoding change after
/// the first 64 bytes); a panic there must not take the crawler down with it.
fn run(base: &Url, bytes: &[u8]) -> Result<Feed, FeedError> {
    if let Some(result) = run_once(base, bytes) {
        return result;
    }
    // feed-rs 3.0 also panics on some authors: it cuts the name off the e-mail address one
    // byte before or after it, inside a non-ASCII character (`王（wang@example.com）`).
    // One such item would cost the whole feed; newsvault keeps no authors, so the feed is
    // read once more without them.
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| {
            if text.trim_start().starts_with('{') {
                json::without_authors(text)
            } else {
                Some(repair::without_people(text))
            }
        })
        .and_then(|text| run_once(base, text.as_bytes()))
        .unwrap_or_else(|| {
            Err(FeedError::Invalid(
                "feed parser failed on this input".into(),
            ))
        })
}

/// One feed-rs parse; `None` when it panicked.
fn run_once(base: &Url, bytes: &[u8]) -> Option<Result<Feed, FeedError>> {
    // A fresh parser each time: feed-rs keeps per-parse state in the parser, which a panic
    // leaves behind to fail the next parse.
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| GENERATED_ID.to_string())
        .sanitize_content(false)
        .build();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse(bytes)))
        .ok()
        .map(|parsed| parsed.map_err(|e| FeedError::Invalid(e.to_string())))
}

fn convert(feed: Feed, base: &Url) -> ParsedFeed {
    let items = feed
        .entries
        .into_iter()
        .map(|entry| {
            let guid =
                Some(entry.id.trim().to_string()).filter(|id| !id.is_empty() && id != GENERATED_ID);
            let link = entry
                .links
                .iter()
                .filter(|l| matches!(l.rel.as_deref(), None | Some("alternate")))
                .chain(entry.links.iter())
                .find_map(|l| resolve(&l.href, base))
                // RSS guids are often the permalink itself.
                .or_else(|| {
                    guid.as_deref()
                        .and_then(|g| resolve(g, base).filter(|_| g.starts_with("http")))
                });
            FeedItem {
                guid,
                link,
                title: entry
                    .title
                    .map(|t| t.content.trim().chars().take(MAX_TITLE_CHARS).collect())
                    .filter(|t: &String| !t.is_empty()),
                published: entry.published.or(entry.updated),
            }
        })
        .collect();
    ParsedFeed {
        title: feed.title.map(|t| t.content.trim().to_string()),
        items,
        ttl: feed
            .ttl
            .map(|minutes| std::time::Duration::from_secs(u64::from(minutes) * 60)),
    }
}

fn resolve(href: &str, base: &Url) -> Option<Url> {
    // An empty `<link></link>` would otherwise resolve to the feed's own address.
    if href.trim().is_empty() {
        return None;
    }
    let url = base.join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// Where the `n`-th (counting from 0) `<item` or `<entry` start tag begins, namespace
/// prefix or not, if the text has that many.
fn nth_item_start(text: &str, n: usize) -> Option<usize> {
    let b = text.as_bytes();
    let is_item_tag = |at: usize| {
        let rest = &b[at + 1..];
        let prefix = rest
            .iter()
            .take(32)
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
            .filter(|&p| rest[p] == b':')
            .map_or(0, |p| p + 1);
        let rest = &rest[prefix..];
        ["item", "entry"].iter().any(|name| {
            rest.starts_with(name.as_bytes())
                && rest
                    .get(name.len())
                    .is_some_and(|c| matches!(c, b'>' | b'/' | b' ' | b'\t' | b'\r' | b'\n'))
        })
    };
    text.match_indices('<')
        .map(|(at, _)| at)
        .filter(|&at| is_item_tag(at))
        .nth(n)
}

fn looks_like_html(start: &[u8]) -> bool {
    let head: Vec<u8> = start.iter().take(512).map(u8::to_ascii_lowercase).collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/feed.xml").expect("valid")
    }

    #[test]
    fn rss_items_keep_guid_and_resolve_links() {
        let xml = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
            <item><title>One</title><link>/a/1</link><guid isPermaLink="false">id-1</guid>
            <pubDate>Sat, 12 Jul 2025 12:31:00 GMT</pubDate></item>
            <item><title>Two</title><link>https://example.org/a/2</link></item>
            </channel></rss>"#;
        let feed = parse_feed(xml, &base()).expect("parses");
        assert_eq!(feed.items.len(), 2);
        assert_eq!(feed.items[0].guid.as_deref(), Some("id-1"));
        assert_eq!(
            feed.items[0].link.as_ref().map(Url::as_str),
            Some("https://example.org/a/1")
        );
        assert!(feed.items[0].published.is_some());
        // No guid: none is invented, so the link identifies the item on every poll.
        assert_eq!(feed.items[1].guid, None);
    }

    #[test]
    fn a_feed_of_too_many_items_is_read_up_to_the_limit() {
        let items: String = (0..MAX_ITEMS + 5)
            .map(|i| format!("<item><link>/a/{i}</link></item>"))
            .collect();
        let rss = format!("<rss version=\"2.0\"><channel><title>T</title>{items}</channel></rss>");
        let feed = parse_feed(rss.as_bytes(), &base()).expect("parses");
        assert_eq!(feed.items.len(), MAX_ITEMS);
        assert_eq!(
            feed.items
                .last()
                .and_then(|i| i.link.as_ref())
                .map(Url::path),
            Some(format!("/a/{}", MAX_ITEMS - 1).as_str())
        );
        let atom = format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>T</title>{}</feed>",
            (0..MAX_ITEMS + 1)
                .map(|i| format!("<atom:entry><id>e{i}</id></atom:entry>"))
                .collect::<String>()
        );
        assert_eq!(nth_item_start(&atom, MAX_ITEMS), atom.rfind("<atom:entry>"));
    }

    #[test]
    fn html_and_garbage_are_told_apart() {
        assert_eq!(
            parse_feed(b"\n<!DOCTYPE html><html><body>hi</body></html>", &base()),
            Err(FeedError::Html)
        );
        assert_eq!(parse_feed(b"  ", &base()), Err(FeedError::Empty));
        assert!(matches!(
            parse_feed(b"\x00\x01binary", &base()),
            Err(FeedError::Invalid(_))
        ));
    }
}
