//! Bytes to text for HTML pages, the way browsers decide: a byte-order mark first, then the
//! charset in the HTTP Content-Type, then a `<meta charset>` / `http-equiv` / XML
//! declaration near the start of the document, and only then statistical detection
//! (chardetng). reqwest's own `text()` looks at the header alone, which turns every
//! legacy-charset page without one into mojibake. Pure.

use encoding_rs::{Encoding, UTF_8};
use url::Url;

/// How far into a document to look for a declared charset. The HTML standard says 1024
/// bytes; real pages put a long `<head>` first, so allow more.
const PRESCAN_BYTES: usize = 8 * 1024;

/// Where the chosen encoding came from, kept with each capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    ByteOrderMark,
    HttpHeader,
    MetaTag,
    Detected,
}

impl CharsetSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CharsetSource::ByteOrderMark => "bom",
            CharsetSource::HttpHeader => "http-header",
            CharsetSource::MetaTag => "meta",
            CharsetSource::Detected => "detected",
        }
    }
}

/// A decoded document.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    pub source: CharsetSource,
    /// True when some bytes were not valid in the chosen encoding and were replaced.
    pub had_errors: bool,
}

/// Decodes an HTML (or XML) body. `content_type` is the HTTP header value, if any; the
/// page's `url`, when known, sharpens detection by its top-level domain ("bd", "ru") when
/// nothing is declared.
pub fn decode_html(body: &[u8], content_type: Option<&str>, url: Option<&Url>) -> Decoded {
    let tld = url
        .and_then(Url::host_str)
        .and_then(|host| host.rsplit('.').next());
    let (encoding, source) = choose_encoding(body, content_type, tld);
    // `decode` strips a BOM that matches and otherwise decodes with the chosen encoding.
    let (text, _, had_errors) = encoding.decode(body);
    Decoded {
        text: text.into_owned(),
        encoding,
        source,
        had_errors,
    }
}

fn choose_encoding(
    body: &[u8],
    content_type: Option<&str>,
    tld: Option<&str>,
) -> (&'static Encoding, CharsetSource) {
    if let Some((encoding, _)) = Encoding::for_bom(body) {
        return (encoding, CharsetSource::ByteOrderMark);
    }
    if let Some(encoding) = content_type.and_then(charset_from_content_type) {
        return (
            utf8_if_valid(body, ascii_compatible(encoding)),
            CharsetSource::HttpHeader,
        );
    }
    let head = &body[..body.len().min(PRESCAN_BYTES)];
    if let Some(encoding) = charset_from_markup(head) {
        return (
            utf8_if_valid(body, ascii_compatible(encoding)),
            CharsetSource::MetaTag,
        );
    }
    // What the detector would answer, without running it: with UTF-8 detection allowed it
    // picks UTF-8 for any valid UTF-8 body unless that body is seven-bit with an escape
    // byte (a possible ISO-2022-JP page). Validating runs at memory speed; the detector's
    // scoring of every candidate encoding costs ~0.3 ms on a 150 KB page.
    if !body.contains(&0x1b) && std::str::from_utf8(body).is_ok() {
        return (UTF_8, CharsetSource::Detected);
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(body, true);
    let encoding = detector.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Allow);
    (encoding, CharsetSource::Detected)
}

/// A declared legacy charset loses to UTF-8 when the body has non-ASCII bytes and all of
/// them form valid UTF-8: sites move to UTF-8 and forget the old declaration, while text
/// in GB2312, Windows-1252 or KOI8-R is almost never valid UTF-8 by accident. Pure-ASCII
/// bodies keep the declaration (ISO-2022-JP is seven-bit).
fn utf8_if_valid(body: &[u8], declared: &'static Encoding) -> &'static Encoding {
    if declared != UTF_8 && !body.is_ascii() && std::str::from_utf8(body).is_ok() {
        UTF_8
    } else {
        declared
    }
}

/// A page that declares UTF-16 in its markup was necessarily read as ASCII to find that
/// declaration, so it is not UTF-16 (the HTML standard's rule).
fn ascii_compatible(encoding: &'static Encoding) -> &'static Encoding {
    if encoding.is_ascii_compatible() {
        encoding
    } else {
        UTF_8
    }
}

/// The `charset` parameter of a Content-Type header value.
pub fn charset_from_content_type(value: &str) -> Option<&'static Encoding> {
    value.split(';').skip(1).find_map(|param| {
        let (name, val) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        Encoding::for_label(
            val.trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .as_bytes(),
        )
    })
}

/// A charset declared in the document's first bytes: `<meta charset=...>`,
/// `<meta http-equiv="Content-Type" content="...; charset=...">`, or an XML declaration's
/// `encoding="..."`. A byte-level scan: the document is not decoded yet.
fn charset_from_markup(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    if lower.starts_with(b"<?xml")
        && let Some(end) = find(&lower, b"?>", 0)
        && let Some(label) = attribute_value(&lower[..end], b"encoding")
    {
        return Encoding::for_label(label);
    }
    let mut at = 0;
    while let Some(start) = find(&lower, b"<meta", at) {
        let end = find(&lower, b">", start).unwrap_or(lower.len());
        let tag = &lower[start..end];
        if let Some(encoding) = attribute_value(tag, b"charset").and_then(Encoding::for_label) {
            return Some(encoding);
        }
        if attribute_value(tag, b"http-equiv").is_some_and(|v| v == b"content-type")
            && let Some(content) = attribute_value(tag, b"content")
            && let Some(pos) = find(content, b"charset=", 0)
        {
            let label: Vec<u8> = content[pos + 8..]
                .iter()
                .copied()
                .take_while(|b| !matches!(b, b';' | b'"' | b'\'' | b' '))
                .collect();
            if let Some(encoding) = Encoding::for_label(&label) {
                return Some(encoding);
            }
        }
        at = end;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The value of `name=` inside a tag's bytes (quoted or not). The attribute name must
/// start after whitespace so that `data-charset=` does not match `charset=`.
fn attribute_value<'a>(tag: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let mut from = 0;
    while let Some(pos) = find(tag, name, from) {
        from = pos + name.len();
        if pos == 0 || !tag[pos - 1].is_ascii_whitespace() {
            continue;
        }
        let mut i = pos + name.len();
        while tag.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if tag.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while tag.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        return Some(match tag.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let rest = &tag[i + 1..];
                let len = rest.iter().position(|&b| b == q).unwrap_or(rest.len());
                &rest[..len]
            }
            _ => {
                let rest = &tag[i..];
                let len = rest
                    .iter()
                    .position(|b| {
                        b.is_ascii_whitespace() || matches!(b, b'>' | b'/' | b';' | b'\'' | b'"')
                    })
                    .unwrap_or(rest.len());
                &rest[..len]
            }
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_wins_over_a_stale_legacy_declaration() {
        let body = "<meta charset=\"gb2312\"><title>新闻</title>".as_bytes();
        let d = decode_html(body, None, None);
        assert_eq!(d.encoding, UTF_8);
        assert!(d.text.contains("新闻"));
        // real GB2312 bytes are not valid UTF-8 and keep their declaration
        let (gb, _, _) = encoding_rs::GB18030.encode("<meta charset=\"gb2312\"><p>新闻</p>");
        let d = decode_html(&gb, None, None);
        assert_eq!(d.encoding.name(), "GBK");
        assert!(d.text.contains("新闻"));
    }

    #[test]
    fn header_charset_wins_over_markup() {
        let body = "<meta charset=\"iso-8859-1\"><p>caf\u{e9}</p>".as_bytes();
        let d = decode_html(body, Some("text/html; charset=UTF-8"), None);
        assert_eq!(d.source, CharsetSource::HttpHeader);
        assert!(d.text.contains("café"));
    }

    #[test]
    fn meta_charset_decodes_legacy_pages() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("<p>Привет, мир</p>");
        let mut body = b"<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1251'></head>".to_vec();
        body.extend_from_slice(&bytes);
        let d = decode_html(&body, Some("text/html"), None);
        assert_eq!(d.source, CharsetSource::MetaTag);
        assert!(d.text.contains("Привет, мир"), "{}", d.text);
    }

    #[test]
    fn byte_order_mark_comes_first() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("<p>প্রকাশ</p>".as_bytes());
        let d = decode_html(&body, Some("text/html; charset=iso-8859-1"), None);
        assert_eq!(d.source, CharsetSource::ByteOrderMark);
        assert_eq!(d.text, "<p>প্রকাশ</p>");
    }

    #[test]
    fn undeclared_legacy_text_is_detected() {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS
            .encode("<p>これは日本語のニュース記事です。東京で会議が開かれました。</p>");
        let page = Url::parse("https://news.example.jp/").expect("valid");
        let d = decode_html(&bytes, None, Some(&page));
        assert_eq!(d.source, CharsetSource::Detected);
        assert_eq!(d.encoding, encoding_rs::SHIFT_JIS);
        assert!(d.text.contains("日本語"));
    }

    #[test]
    fn undeclared_pages_get_what_the_detector_would_choose() {
        let (iso_2022_jp, _, _) = encoding_rs::ISO_2022_JP.encode("<p>東京で会議</p>");
        let (koi8, _, _) = encoding_rs::KOI8_R.encode("<p>Привет, мир, новости дня</p>");
        let bodies: Vec<Vec<u8>> = vec![
            b"<p>plain ASCII news</p>".to_vec(),
            "<p>বাংলাদেশ সংবাদ সংস্থা, ১২ জানুয়ারি ২০২৫</p>".as_bytes().to_vec(),
            iso_2022_jp.into_owned(),
            koi8.into_owned(),
            b"<p>\x1b escape in ASCII</p>".to_vec(),
        ];
        for (i, body) in bodies.iter().enumerate() {
            for tld in [None, Some("jp"), Some("ru"), Some("bd")] {
                let mut detector =
                    chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
                detector.feed(body, true);
                let expected =
                    detector.guess(tld.map(str::as_bytes), chardetng::Utf8Detection::Allow);
                let page = tld.map(|t| Url::parse(&format!("https://news.example.{t}/")));
                let page = page.transpose().expect("valid");
                let d = decode_html(body, None, page.as_ref());
                assert_eq!(d.source, CharsetSource::Detected, "body {i}");
                assert_eq!(d.encoding, expected, "body {i}, tld {tld:?}");
            }
        }
        assert_eq!(
            decode_html(&bodies[2], None, None).encoding,
            encoding_rs::ISO_2022_JP
        );
    }

    #[test]
    fn xml_declaration_is_read() {
        let (bytes, _, _) = encoding_rs::ISO_8859_2
            .encode("<?xml version=\"1.0\" encoding=\"ISO-8859-2\"?><p>Łódź</p>");
        let d = decode_html(&bytes, None, None);
        assert_eq!(d.source, CharsetSource::MetaTag);
        assert!(d.text.contains("Łódź"));
    }

    #[test]
    fn data_attributes_do_not_count() {
        assert_eq!(
            attribute_value(b"<meta data-charset=\"x\"", b"charset"),
            None
        );
        assert_eq!(
            attribute_value(b"<meta charset=utf-8>", b"charset"),
            Some(&b"utf-8"[..])
        );
    }
}
