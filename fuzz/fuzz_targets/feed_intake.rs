//! Feed intake: any bytes a server may send as a feed go through `parse_feed`, which must
//! return a feed or an error, never panic, and keep the promises of `FeedItem`.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use newsvault::feed::parse_feed;
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://news.example.com/bangla/feed/").expect("valid base"));

fuzz_target!(|body: &[u8]| {
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
            assert!(!guid.is_empty() && !guid.contains('\0'), "guid {guid:?}");
        }
        if let Some(title) = &item.title {
            assert!(!title.is_empty() && title.trim() == title, "title {title:?}");
        }
    }
});
