//! Inputs the fuzz targets in `fuzz/` found, kept so the fixed behaviour stays fixed. Each
//! test runs its input through the same public function and checks the same property as
//! the target that found it; the inputs are written inline (they are a few dozen bytes).

use newsvault::canon::{canonical_url, canonical_url_str};
use newsvault::feed::parse_feed;
use url::Url;

/// What the `canon` target asserts: a canonical URL is a fixed point, also through its text.
fn assert_canonical_fixed_point(input: &str, base: Option<&Url>) {
    let Some(canonical) = canonical_url_str(input, base) else {
        return;
    };
    assert_eq!(
        canonical_url(&canonical).as_ref(),
        Some(&canonical),
        "{input:?}"
    );
    let reparsed = Url::parse(canonical.as_str()).expect("a canonical URL parses again");
    assert_eq!(
        canonical_url(&reparsed).as_ref(),
        Some(&canonical),
        "{input:?}"
    );
}

/// `canon`: a `%` that starts no escape next to an escaped hex digit. Unescaping `%66` to
/// `f` made `%%666` into `%f6`, which the next pass read as an escape.
#[test]
fn stray_percent_before_an_escaped_digit() {
    let base = Url::parse("https://news.example.com/bangla/national/").expect("valid base");
    let found = format!("h%%%%%%%*%%%{}\nm_3", "6".repeat(56));
    assert_canonical_fixed_point(&found, Some(&base));
    for input in [
        "http://a.com/%%666",
        "http://a.com/%4%31",
        "http://a.com/%%6a2",
        "http://a.com/100%/%41",
    ] {
        assert_canonical_fixed_point(input, None);
    }
    // Without a stray `%` the escapes of unreserved characters are still undone.
    assert_eq!(
        canonical_url_str("http://a.com/%66%2f", None).map(String::from),
        Some("http://a.com/f%2F".to_string())
    );
}

/// `feed_intake`: feed-rs 3.0 cuts an author's name from its e-mail address one byte
/// before or after the address (`parse_person_name_email`), which panics when that byte is
/// inside a non-ASCII character: full-width brackets, curly quotes, a dash, or the U+FFFD
/// of an undecodable byte. The fuzzer's input was a real feed whose `<author>` had bytes
/// 0xFF in it; these feeds are the same thing written by hand.
#[test]
fn author_next_to_a_non_ascii_character() {
    let base = Url::parse("https://news.example.com/feed").expect("valid base");
    let rss = |author: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>T</title>\
             <item><title>One</title><link>https://news.example.com/1</link><author>{author}</author></item>\
             <item><title>Two</title><link>https://news.example.com/2</link></item>\
             </channel></rss>"
        )
    };
    for author in [
        "王小明（wang@example.com）",
        "wang@example.com（编辑）",
        "“desk@example.com”",
        "নিজস্ব প্রতিবেদক—desk@example.com",
        "tim.mckinno\u{FFFD}\u{FFFD}n@japancorp.net (Tim)",
    ] {
        let feed = parse_feed(rss(author).as_bytes(), &base)
            .unwrap_or_else(|e| panic!("author {author:?}: {e}"));
        assert_eq!(feed.items.len(), 2, "author {author:?}");
        assert_eq!(feed.items[0].title.as_deref(), Some("One"));
    }
    let json = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [
        {"id": "1", "url": "https://news.example.com/1", "title": "One",
         "authors": [{"name": "王小明（wang@example.com）"}]},
        {"id": "2", "url": "https://news.example.com/2", "title": "Two"}]}"#;
    let feed = parse_feed(json.as_bytes(), &base).expect("JSON feed with that author reads");
    assert_eq!(feed.items.len(), 2);
}
