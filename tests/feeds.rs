//! Real feeds from the wild parse into the expected items: RSS 0.91/1.0/2.0, Atom and JSON
//! Feed, in legacy charsets (windows-1251, Shift_JIS, EUC-KR), and with the blemishes real
//! servers add (whitespace before the XML declaration). Counts are from the fixtures'
//! index of the evaluation set; see tests/fixtures/SOURCES.md.

mod common;

use common::fixture;
use newsvault::feed::parse_feed;
use url::Url;

fn parse(name: &str) -> newsvault::feed::ParsedFeed {
    let base = Url::parse("https://feeds.example/feed").expect("valid");
    parse_feed(&fixture(&format!("feeds/{name}")), &base).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn real_feeds_parse_with_all_their_items() {
    for (name, items) in [
        ("aif-ru-health.rss.xml", 17),
        ("10e-org.rdf.xml", 30),
        ("acnnewswire-ko.rss.xml", 8),
        ("jsonfeed-org.jsonfeed.json", 1),
        ("xkcd.atom.xml", 4),
        ("nytimes-homepage.rss.xml", 1),
        ("aws-blog-typepad.atom.xml", 10),
    ] {
        let feed = parse(name);
        assert_eq!(feed.items.len(), items, "{name}");
        assert!(
            feed.items.iter().all(|i| i.link.is_some()),
            "{name}: every item has a link"
        );
    }
}

#[test]
fn legacy_charsets_decode_to_the_right_text() {
    let russian = parse("aif-ru-health.rss.xml");
    let title = russian.items[0].title.as_deref().unwrap_or("");
    assert!(
        title.chars().any(|c| ('а'..='я').contains(&c)),
        "windows-1251 title decoded as Cyrillic: {title:?}"
    );
    let japanese = parse("10e-org.rdf.xml");
    assert!(
        japanese
            .items
            .iter()
            .filter_map(|i| i.title.as_deref())
            .any(|t| t.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)
                || ('\u{4e00}'..='\u{9fff}').contains(&c))),
        "Shift_JIS titles decoded as Japanese"
    );
    let korean = parse("acnnewswire-ko.rss.xml");
    assert!(
        korean
            .items
            .iter()
            .filter_map(|i| i.title.as_deref())
            .any(|t| t.chars().any(|c| ('\u{ac00}'..='\u{d7a3}').contains(&c))),
        "EUC-KR titles decoded as Hangul"
    );
}

#[test]
fn the_example_feeds_list_their_pages() {
    let base = Url::parse("http://127.0.0.1:8736/site/bangla.rss.xml").expect("valid");
    let feed = parse_feed(&fixture("site/bangla.rss.xml"), &base).expect("parses");
    assert_eq!(feed.items.len(), 5);
    for item in &feed.items {
        let link = item.link.as_ref().expect("link");
        let page = link.path().trim_start_matches('/');
        assert!(
            common::fixtures().join(page).exists(),
            "{page} is served by the demo"
        );
    }
    // Items without a guid get none (not an invented one), so their link identifies them.
    assert_eq!(feed.items.iter().filter(|i| i.guid.is_none()).count(), 3);
}
