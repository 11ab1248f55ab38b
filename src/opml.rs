//! OPML, the outline format feed readers export subscriptions in: every `<outline>` with
//! an `xmlUrl`, however deeply nested in folders, becomes a feed to follow, and is written
//! out as `[[source]]` entries for the configuration file. Pure: bytes in, text out.

use std::collections::HashSet;

use quick_xml::events::Event;
use url::Url;

/// One subscription from an OPML file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub title: Option<String>,
    pub feed_url: Url,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpmlError {
    #[error("not OPML: {0}")]
    Invalid(String),
    #[error("no outline with an xmlUrl: nothing to import")]
    Empty,
}

/// Reads the subscriptions of an OPML document, in document order, each feed URL once.
/// Outlines whose `xmlUrl` is not an http(s) URL are skipped.
pub fn parse_opml(body: &[u8]) -> Result<Vec<Subscription>, OpmlError> {
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().check_end_names = false;
    let mut buffer = Vec::new();
    let mut seen = HashSet::new();
    let mut subscriptions = Vec::new();
    let mut saw_root = false;
    loop {
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| OpmlError::Invalid(e.to_string()))?;
        match event {
            Event::Start(ref tag) | Event::Empty(ref tag) => {
                let name = tag.local_name();
                if name.as_ref().eq_ignore_ascii_case("opml") {
                    saw_root = true;
                }
                if !name.as_ref().eq_ignore_ascii_case("outline") {
                    buffer.clear();
                    continue;
                }
                let mut title = None;
                let mut text = None;
                let mut xml_url = None;
                for attribute in tag.attributes().flatten() {
                    let value = attribute
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.trim().to_string())
                        .unwrap_or_default();
                    match attribute.key.local_name().as_ref() {
                        "title" => title = Some(value),
                        "text" => text = Some(value),
                        // Some exporters write xmlurl or XMLURL.
                        key if key.eq_ignore_ascii_case("xmlUrl") => xml_url = Some(value),
                        _ => {}
                    }
                }
                if let Some(feed_url) = xml_url
                    .and_then(|u| Url::parse(&u).ok())
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    && seen.insert(feed_url.to_string())
                {
                    subscriptions.push(Subscription {
                        title: title.or(text).filter(|t| !t.is_empty()),
                        feed_url,
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    if !saw_root {
        return Err(OpmlError::Invalid("no <opml> element".into()));
    }
    if subscriptions.is_empty() {
        return Err(OpmlError::Empty);
    }
    Ok(subscriptions)
}

/// `[[source]]` entries for the subscriptions. Names come from the titles (spaces become
/// dashes, any script kept) or else the feed's host, and are made unique against `taken`
/// (the names a configuration already has) and each other.
pub fn to_sources_toml(subscriptions: &[Subscription], taken: &HashSet<String>) -> String {
    let mut used = taken.clone();
    let mut out = String::new();
    for subscription in subscriptions {
        let base = subscription
            .title
            .as_deref()
            .map(slug)
            .filter(|s| !s.is_empty())
            .or_else(|| subscription.feed_url.host_str().map(slug))
            .unwrap_or_else(|| "feed".to_string());
        let mut name = base.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        used.insert(name.clone());
        out.push_str("\n[[source]]\n");
        if let Some(title) = &subscription.title {
            out.push_str(&format!("# {}\n", title.replace(['\n', '\r'], " ")));
        }
        out.push_str(&format!("name = {}\n", toml_string(&name)));
        out.push_str(&format!(
            "url = {}\n",
            toml_string(subscription.feed_url.as_str())
        ));
        out.push_str("kind = \"feed\"\n");
    }
    out
}

/// A source name from a title: lower-case, runs of anything that is not a letter or digit
/// become one dash, at most 60 characters.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || matches!(c, '\u{0900}'..='\u{0DFF}') {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    const EXPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Bangladesh" title="Bangladesh">
      <outline type="rss" text="বাসস বাংলা" title="বাসস বাংলা" xmlUrl="https://www.bssnews.net/bangla/rss.xml" htmlUrl="https://www.bssnews.net/bangla"/>
      <outline type="rss" text="BBC Bangla" xmlUrl="https://feeds.bbci.co.uk/bengali/rss.xml"/>
    </outline>
    <outline type="rss" text="BBC Bangla" xmlUrl="https://feeds.bbci.co.uk/bengali/rss.xml?x=&amp;y"/>
    <outline type="rss" text="" xmlUrl="https://example.org/feed"/>
    <outline type="rss" text="Duplicate" xmlUrl="https://www.bssnews.net/bangla/rss.xml"/>
    <outline type="rss" text="Not http" xmlUrl="file:///etc/passwd"/>
    <outline text="A folder with no feed"/>
  </body>
</opml>"#;

    #[test]
    fn nested_subscriptions_become_valid_unique_sources() {
        let subs = parse_opml(EXPORT.as_bytes()).expect("parses");
        assert_eq!(subs.len(), 4);
        assert_eq!(subs[0].title.as_deref(), Some("বাসস বাংলা"));
        let taken: HashSet<String> = ["bbc-bangla".to_string()].into();
        let toml = to_sources_toml(&subs, &taken);
        assert!(toml.contains("name = \"বাসস-বাংলা\""), "{toml}");
        assert!(toml.contains("name = \"bbc-bangla-2\""), "{toml}");
        assert!(toml.contains("name = \"bbc-bangla-3\""), "{toml}");
        assert!(toml.contains("name = \"example-org\""), "{toml}");
        // What is printed is configuration the validator accepts.
        let config = Config::parse(&toml, Path::new("imported.toml")).expect("valid config");
        assert_eq!(config.sources.len(), 4);
    }

    #[test]
    fn non_opml_input_is_refused() {
        assert!(matches!(
            parse_opml(b"<html><body>hi</body></html>"),
            Err(OpmlError::Invalid(_))
        ));
        assert!(matches!(
            parse_opml(b"\x00\x01 binary"),
            Err(OpmlError::Invalid(_))
        ));
        assert_eq!(
            parse_opml(b"<opml><body><outline text='x'/></body></opml>"),
            Err(OpmlError::Empty)
        );
    }
}
