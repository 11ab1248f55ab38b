//! Sitemaps: any body (gzipped or not) parses or is refused without a panic, within the
//! limits it was given, and every entry it keeps is an absolute http(s) URL. Limits are
//! small here so the truncation paths run too.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use newsvault::sitemap::{Sitemap, SitemapLimits, parse_sitemap_detailed};
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://news.example.com/sitemap.xml").expect("valid base"));

const LIMITS: SitemapLimits = SitemapLimits {
    max_urls: 200,
    max_decompressed: 4 * 1024 * 1024,
};

fuzz_target!(|body: &[u8]| {
    let Ok(parsed) = parse_sitemap_detailed(body, &BASE, &LIMITS) else {
        return;
    };
    assert!(parsed.sitemap.len() <= LIMITS.max_urls);
    let locs: Vec<&Url> = match &parsed.sitemap {
        Sitemap::Index(refs) => refs.iter().map(|r| &r.loc).collect(),
        Sitemap::Urls(urls) => urls.iter().map(|u| &u.loc).collect(),
    };
    for loc in locs {
        assert!(
            matches!(loc.scheme(), "http" | "https"),
            "kept {loc} with scheme {}",
            loc.scheme()
        );
    }
});
