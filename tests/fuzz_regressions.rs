//! Inputs the fuzz targets in `fuzz/` found, kept so the fixed behaviour stays fixed. Each
//! test runs its input through the same public function and checks the same property as
//! the target that found it; the inputs are written inline (they are a few dozen bytes).

use newsvault::canon::{canonical_url, canonical_url_str};
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
