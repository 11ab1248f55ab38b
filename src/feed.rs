//! Feed bytes to items (RSS 0.9x/1.0/2.0, Atom, JSON Feed) through feed-rs. Pure. The raw
//! bytes go to feed-rs undecoded, since it honours the XML declaration's encoding. feed-rs
//! invents a random id for entries that have none; that id would make every poll look new,
//! so ids it had to invent are dropped here and the item's link identifies it instead.

use chrono::{DateTime, Utc};
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
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .id_generator(|_, _, _| GENERATED_ID.to_string())
        .sanitize_content(false)
        .build();
    let feed = parser
        .parse(body)
        .map_err(|e| FeedError::Invalid(e.to_string()))?;
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
                    .map(|t| t.content.trim().to_string())
                    .filter(|t| !t.is_empty()),
                published: entry.published.or(entry.updated),
            }
        })
        .collect();
    Ok(ParsedFeed {
        title: feed.title.map(|t| t.content.trim().to_string()),
        items,
    })
}

fn resolve(href: &str, base: &Url) -> Option<Url> {
    let url = base.join(href.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
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
