//! Feed intake: any bytes a server may send as a feed go through `parse_feed`, which must
//! return a feed or an error, never panic, and keep the promises of `FeedItem`: links are
//! http(s), ids are trimmed and never empty, titles are trimmed and cut at `MAX_TITLE_CHARS`.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use newsvault::feed::{MAX_TITLE_CHARS, parse_feed};
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://news.example.com/bangla/feed/").expect("valid base"));

/// libFuzzer's panic hook aborts on every panic, also on one the library catches. feed-rs
/// 3.0's panic on authors (in `parse_person_name_email`) is caught by `parse_feed`, which
/// then reads the feed without its authors (`tests/fuzz_regressions.rs` keeps the case);
/// that one panic is let through to the library so the fuzzer can look further.
fn let_known_feed_rs_panic_through() {
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let known = info.location().is_some_and(|l| {
            l.file().contains("feed-rs") && l.file().ends_with("parser/util/mod.rs")
        });
        if !known {
            abort(info);
        }
    }));
}

fuzz_target!(init: let_known_feed_rs_panic_through(), |body: &[u8]| {
    let Ok(feed) = parse_feed(body, &BASE) else {
        return;
    };
    for item in &feed.items {
        if let Some(link) = &item.link {
            assert!(
                matches!(link.scheme(), "http" | "https"),
                "item link with scheme {}",
                link.scheme()
            );
        }
        if let Some(guid) = &item.guid {
            // Hostile feeds do put control characters, NUL among them, into ids.
            assert!(!guid.is_empty() && guid.trim() == guid, "guid {guid:?}");
        }
        if let Some(title) = &item.title {
            // Trimmed, then cut: the cut may end in whitespace.
            assert!(
                !title.is_empty() && title.trim_start() == title,
                "title {title:?}"
            );
            assert!(title.chars().count() <= MAX_TITLE_CHARS, "title not cut");
        }
    }
});
