//! robots.txt: any body parses without a panic; the paths it names are matched against it
//! (wildcards, `$`, percent-encoding), `/robots.txt` itself is always allowed, and the
//! announced sitemaps are absolute http(s) URLs without repeats.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use newsvault::robots::{Robots, product_token};
use url::Url;

const USER_AGENT: &str = "newsvault/0.1 (+https://example.org/newsvault)";

static HOST: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://news.example.com/").expect("valid base"));

fuzz_target!(|body: &[u8]| {
    let robots = Robots::parse(body, USER_AGENT);
    let _ = product_token(body);
    let _ = robots.crawl_delay();
    let sitemaps = robots.sitemaps();
    for (i, sitemap) in sitemaps.iter().enumerate() {
        assert!(matches!(sitemap.scheme(), "http" | "https"));
        assert!(!sitemaps[..i].contains(sitemap), "{sitemap} repeated");
    }
    let robots_txt = HOST.join("/robots.txt").expect("valid path");
    assert!(robots.is_allowed(&robots_txt));
    // Every value in the file, read as a path, is a URL worth asking about.
    let text = String::from_utf8_lossy(body);
    for line in text.lines().take(64) {
        let value = line.split_once(':').map_or(line, |(_, v)| v).trim();
        if let Ok(url) = HOST.join(value) {
            let _ = robots.is_allowed(&url);
        }
    }
});
