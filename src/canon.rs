//! Identity of articles, pure: the canonical form of a URL (so one article reached through
//! tracking links, fragments or reordered queries is recognised), the choice of a page's
//! own canonical URL, and an exact fingerprint of the normalised text.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use unicode_normalization::{UnicodeNormalization, is_nfc};
use url::{Url, form_urlencoded};

/// Query parameters that only track the visitor and never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "yclid",
    "twclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wickedid",
    "cmpid",
    "ocid",
    "s_cid",
    "ncid",
    "sr_share",
    "at_medium",
    "at_campaign",
    "ito",
    "__twitter_impression",
];

fn is_tracking_param(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || TRACKING_PARAMS.contains(&lower.as_str())
}

/// The canonical form of an http(s) URL: lower-case scheme and host (the URL parser does
/// that, and IDNA), no fragment, no default port, no tracking parameters, the remaining
/// query parameters sorted, no empty `?`. Paths are kept as served (`/a` and `/a/` can be
/// different pages) up to RFC 3986's percent-encoding normalisation: `%e0%a6%96`,
/// `%E0%A6%96` and `খ` are one path (CMSs write Bengali slugs in lower-case hex, pages
/// declare them raw). Query values are kept byte for byte, also when they are not UTF-8
/// (legacy-charset sites): two different values are never made one. Returns `None` for
/// anything that is not http(s) with a host.
pub fn canonical_url(input: &Url) -> Option<Url> {
    if !matches!(input.scheme(), "http" | "https") || input.host_str().is_none() {
        return None;
    }
    let mut url = input.clone();
    url.set_fragment(None);
    // The parser already drops a port equal to the scheme's default.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let path = normalise_percent_encoding(url.path());
    if path != url.path() {
        url.set_path(&path);
    }
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(name), form_decode(value))
        })
        .filter(|(name, _)| !is_tracking_param(&String::from_utf8_lossy(name)))
        .collect();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        pairs.sort();
        let query = pairs
            .iter()
            .map(|(name, value)| {
                let name: String = form_urlencoded::byte_serialize(name).collect();
                let value: String = form_urlencoded::byte_serialize(value).collect();
                format!("{name}={value}")
            })
            .collect::<Vec<_>>()
            .join("&");
        url.set_query(Some(&query));
    }
    Some(url)
}

/// One name or value of an `application/x-www-form-urlencoded` query, decoded to bytes
/// (`form_urlencoded::parse` would replace bytes that are not UTF-8).
fn form_decode(raw: &str) -> Vec<u8> {
    percent_decode_str(&raw.replace('+', " ")).collect()
}

/// RFC 3986 6.2.2: percent-escapes in upper-case hex, and unreserved characters (letters,
/// digits, `-._~`) unescaped. Other escapes, `%2F` among them, stay escapes.
fn normalise_percent_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let escape_at = |i: usize| match bytes.get(i..i + 3) {
        Some(&[b'%', high, low]) => hex_digit(high).zip(hex_digit(low)).map(|(h, l)| h << 4 | l),
        _ => None,
    };
    // A `%` that starts no escape (the parser leaves it) would pair with an unescaped
    // digit into a new escape, and the form would change again on the next pass.
    let unescape = (0..bytes.len()).all(|i| bytes[i] != b'%' || escape_at(i).is_some());
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        match escape_at(i) {
            Some(b)
                if unescape
                    && (b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')) =>
            {
                out.push(char::from(b));
                i += 3;
            }
            Some(b) => {
                out.push_str(&format!("%{b:02X}"));
                i += 3;
            }
            None => {
                let len = path[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&path[i..i + len]);
                i += len;
            }
        }
    }
    out
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Parses `href` (absolute, or relative to `base`) and canonicalises it.
pub fn canonical_url_str(href: &str, base: Option<&Url>) -> Option<Url> {
    let href = href.trim();
    let parsed = match base {
        Some(base) => base.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    canonical_url(&parsed)
}

/// Decides whether the URL a page declares as its own (`rel=canonical`, `og:url`) can be
/// trusted as the article's identity, given where the page was fetched from. Some sites put
/// their home page in every article's canonical link; trusting that would merge all their
/// articles into one, so a canonical that points at a site root is refused unless the page
/// itself is that root.
pub fn trusted_page_canonical(declared: &Url, fetched: &Url) -> bool {
    let is_root = |u: &Url| matches!(u.path(), "" | "/") && u.query().is_none();
    !is_root(declared) || is_root(fetched)
}

/// `text` in Unicode NFC, borrowed when it already is (extracted text always is): checking
/// allocates nothing, and its quick test settles most scripts in one read. Bengali's
/// vowel signs া and ৗ may compose, so Bengali text takes the full (still copy-free)
/// comparison.
pub fn nfc(text: &str) -> Cow<'_, str> {
    if is_nfc(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Text normalised for comparison: NFC, lower-case, whitespace collapsed to one space.
pub fn normalise_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in nfc(text).split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Fewer words than this and a text is no evidence of identity (an empty extraction, a
/// "subscribe to read" stub): such articles get no fingerprint and are never merged by it.
pub const MIN_FINGERPRINT_WORDS: usize = 30;

/// An exact fingerprint of an article: SHA-256 (hex) over its normalised title and text.
/// The title is included so that two different articles behind the same boilerplate
/// body (a paywall notice) stay apart.
pub fn text_fingerprint(title: Option<&str>, text: &str) -> Option<String> {
    let body = normalise_text(text);
    if body.split(' ').count() < MIN_FINGERPRINT_WORDS {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(normalise_text(title.unwrap_or("")).as_bytes());
    hasher.update(b"\n");
    hasher.update(body.as_bytes());
    Some(hex(&hasher.finalize()))
}

/// SHA-256 of raw bytes, hex: identifies a response body exactly.
pub fn body_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_url_str(s, None)
            .map(String::from)
            .unwrap_or_default()
    }

    #[test]
    fn nfc_borrows_text_already_composed_and_composes_the_rest() {
        let composed = "প্রকাশ: ১২ জুলাই, café, \u{09A1}\u{09BC}";
        assert!(matches!(nfc(composed), Cow::Borrowed(_)));
        // "e" + combining acute composes; U+09DC (ড়) is excluded from composition, so
        // NFC spells it as ড + nukta
        let decomposed = "cafe\u{301} \u{09DC}";
        let out = nfc(decomposed);
        assert!(matches!(out, Cow::Owned(_)));
        assert_eq!(out, decomposed.nfc().collect::<String>());
        assert_eq!(out, "caf\u{e9} \u{09A1}\u{09BC}");
    }

    #[test]
    fn canonical_urls_drop_noise() {
        assert_eq!(
            canon("HTTPS://WWW.Example.ORG:443/News/Story?utm_source=rss&b=2&a=1&fbclid=x#top"),
            "https://www.example.org/News/Story?a=1&b=2"
        );
        assert_eq!(canon("http://example.org:80/a?"), "http://example.org/a");
        assert_eq!(
            canon("http://example.org:8080/a"),
            "http://example.org:8080/a"
        );
        assert_eq!(
            canon("https://user:pw@example.org/a"),
            "https://example.org/a"
        );
        assert_eq!(canon("ftp://example.org/a"), "");
    }

    #[test]
    fn non_latin_urls_have_one_form() {
        // The same Bengali path typed raw and percent-encoded is one URL.
        let raw = canon("https://www.bssnews.net/bangla/national/খবর?gclid=1");
        let encoded = canon("https://www.bssnews.net/bangla/national/%E0%A6%96%E0%A6%AC%E0%A6%B0");
        assert_eq!(raw, encoded);
        // Internationalised host names become their ASCII form.
        assert_eq!(
            canon("https://বাংলা.example/a"),
            "https://xn--54b7fta0cc.example/a"
        );
    }

    #[test]
    fn relative_links_resolve_against_the_base() {
        let base = Url::parse("https://example.org/news/").expect("valid");
        assert_eq!(
            canonical_url_str("../story/1?utm_medium=x", Some(&base)).map(String::from),
            Some("https://example.org/story/1".to_string())
        );
    }

    #[test]
    fn root_canonicals_are_not_trusted_for_articles() {
        let page = Url::parse("https://example.org/2025/07/12/story").expect("valid");
        let root = Url::parse("https://example.org/").expect("valid");
        assert!(!trusted_page_canonical(&root, &page));
        assert!(trusted_page_canonical(&page, &page));
        assert!(trusted_page_canonical(&root, &root));
    }

    #[test]
    fn fingerprints_ignore_case_spacing_and_normal_form() {
        let body = "শব্দ ".repeat(40);
        // "ো" written as two code points (ে + া) is the same text after NFC.
        let composed = format!("{body} ব\u{09CB}ন");
        let decomposed = format!("{body}\n\n ব\u{09C7}\u{09BE}ন");
        assert_eq!(
            text_fingerprint(Some("Title"), &composed),
            text_fingerprint(Some("  title "), &decomposed)
        );
        assert_ne!(
            text_fingerprint(Some("One"), &composed),
            text_fingerprint(Some("Two"), &composed)
        );
        assert_eq!(text_fingerprint(Some("Short"), "too few words"), None);
    }
}
