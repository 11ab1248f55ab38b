//! URL canonicalisation: any string, absolute or relative to a base, canonicalises without
//! panicking, and a canonical URL is a fixed point, also after a round trip through its
//! text (the form stored in the database). The other public functions of `canon` run on
//! the same input for panics.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use newsvault::canon::{
    body_hash, canonical_url, canonical_url_str, normalise_text, text_fingerprint,
    trusted_page_canonical,
};
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://news.example.com/bangla/national/").expect("valid base"));

fn check_fixed_point(canonical: &Url) {
    assert!(matches!(canonical.scheme(), "http" | "https"));
    assert!(
        canonical.fragment().is_none(),
        "{canonical} kept its fragment"
    );
    assert_eq!(
        canonical_url(canonical).as_ref(),
        Some(canonical),
        "canonical_url is not idempotent"
    );
    let reparsed = Url::parse(canonical.as_str()).expect("a canonical URL parses again");
    assert_eq!(
        canonical_url(&reparsed).as_ref(),
        Some(canonical),
        "the text of a canonical URL canonicalises differently"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        let _ = body_hash(data);
        return;
    };
    let absolute = canonical_url_str(input, None);
    if let Some(c) = &absolute {
        check_fixed_point(c);
        let _ = trusted_page_canonical(c, &BASE);
        let _ = trusted_page_canonical(&BASE, c);
    }
    if let Some(c) = canonical_url_str(input, Some(&BASE)) {
        check_fixed_point(&c);
    }
    let normalised = normalise_text(input);
    assert!(!normalised.starts_with(' ') && !normalised.ends_with(' '));
    let _ = text_fingerprint(Some(input), input);
});
