//! Guards for hostile markup, and the DOM-free path used when they trip.
//!
//! html5ever's tree builder and Readability's scoring both grow quadratically with
//! element nesting (100,000 nested `<div>`s take hours), so before parsing we measure
//! the nesting depth with a cheap linear scan. Pages nested deeper than any real page
//! are read by a linear tag scanner instead: it keeps the visible text (one block per
//! line) and the head signals (meta, title, lang, canonical link, JSON-LD, `<time>`),
//! so metadata and dates still work; only the boilerplate removal is lost.

use std::borrow::Cow;

use super::page::{PageSignals, TimeNode, is_block_element, parse_json_ld};

/// Elements whose end tag may be omitted or that never have content: they do not
/// count toward nesting depth.
fn is_uncounted(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
            | "param"
            | "keygen"
            | "p"
            | "li"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "option"
            | "optgroup"
            | "rb"
            | "rt"
            | "rp"
            | "thead"
            | "tbody"
            | "tfoot"
            | "colgroup"
            | "caption"
            | "html"
            | "head"
            | "body"
    )
}

/// Elements whose content is raw text up to their end tag.
fn is_raw_text(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "textarea" | "title" | "xmp" | "iframe" | "noembed" | "noframes"
    )
}

/// One tag found by the scanner.
struct Tag<'a> {
    /// Lowercased (borrowed from the page when it already is: the common case, and
    /// this runs for every tag of every page).
    name: Cow<'a, str>,
    closing: bool,
    self_closing: bool,
    /// The raw attribute text, between the name and `>`.
    attrs: &'a str,
    /// Byte offset just past the `>`.
    end: usize,
}

/// Find the `>` that ends a tag starting at `start` (pointing at `<`), honouring quotes.
fn tag_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    // Jumps from one quote or `>` to the next (memchr's vector search), then over a quoted
    // value to its closing quote: a page's tags are scanned before every parse.
    while let Some(p) = b
        .get(i..)
        .and_then(|rest| memchr::memchr3(b'>', b'"', b'\'', rest))
    {
        let at = i + p;
        match b[at] {
            b'>' => return at + 1,
            quote => match b.get(at + 1..).and_then(|rest| memchr::memchr(quote, rest)) {
                Some(q) => i = at + 1 + q + 1,
                None => return b.len(),
            },
        }
    }
    b.len()
}

/// Parse the tag at `start` (a `<`), or `None` when it is not a tag.
fn read_tag(html: &str, start: usize) -> Option<Tag<'_>> {
    let b = html.as_bytes();
    let mut i = start + 1;
    let closing = b.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b':') {
        i += 1;
    }
    if i == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let raw = html.get(name_start..i)?;
    let name = if raw.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(raw.to_ascii_lowercase())
    } else {
        Cow::Borrowed(raw)
    };
    let end = tag_end(b, start);
    let inner_end = end.saturating_sub(1).max(i);
    let attrs = html.get(i..inner_end).unwrap_or("");
    let self_closing = attrs.trim_end().ends_with('/');
    Some(Tag {
        name,
        closing,
        self_closing,
        attrs,
        end,
    })
}

/// Skip an HTML comment or `<!…>` / `<?…>` construct starting at `start`.
fn skip_markup_decl(html: &str, start: usize) -> usize {
    let rest = &html[start..];
    if rest.starts_with("<!--") {
        return rest
            .as_bytes()
            .get(4..)
            .and_then(|r| memchr::memmem::find(r, b"-->"))
            .map_or(html.len(), |p| start + 4 + p + 3);
    }
    tag_end(html.as_bytes(), start)
}

/// Byte offset of the end tag `</name` at or after `from` (case-insensitive), or the end.
fn find_end_tag(html: &str, from: usize, name: &str) -> (usize, usize) {
    let b = html.as_bytes();
    let n = name.as_bytes();
    let mut i = from;
    // memmem's vector search: `str::find` spent more time here than the rest of the scan
    while let Some(p) = b.get(i..).and_then(|r| memchr::memmem::find(r, b"</")) {
        let at = i + p;
        let s = at + 2;
        if b.len() >= s + n.len() && b[s..s + n.len()].eq_ignore_ascii_case(n) {
            let end = tag_end(b, at);
            return (at, end);
        }
        i = at + 2;
    }
    (html.len(), html.len())
}

/// The deepest element nesting in `html`, counted up to `limit` (then it stops early).
pub(crate) fn nesting_depth(html: &str, limit: usize) -> usize {
    let b = html.as_bytes();
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut i = 0usize;
    while let Some(p) = memchr_lt(b, i) {
        let next = b.get(p + 1).copied().unwrap_or(0);
        if next == b'!' || next == b'?' {
            i = skip_markup_decl(html, p);
            continue;
        }
        let Some(tag) = read_tag(html, p) else {
            i = p + 1;
            continue;
        };
        i = tag.end;
        if is_uncounted(&tag.name) {
            continue;
        }
        if tag.closing {
            depth = depth.saturating_sub(1);
        } else {
            if is_raw_text(&tag.name) && !tag.self_closing {
                i = find_end_tag(html, i, &tag.name).1;
                continue;
            }
            if !tag.self_closing {
                depth += 1;
                max = max.max(depth);
                if max > limit {
                    return max;
                }
            }
        }
    }
    max
}

fn memchr_lt(b: &[u8], from: usize) -> Option<usize> {
    // a byte search on the slice: `str::find` would need a char boundary at `from`
    let rest = b.get(from..)?;
    memchr::memchr(b'<', rest).map(|p| p + from)
}

/// The value of attribute `name` in a raw attribute string.
fn attr(attrs: &str, name: &str) -> Option<String> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let ks = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let k = attrs.get(ks..i)?;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut v = "";
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q) if q == b'"' || q == b'\'' => {
                    let vs = i + 1;
                    let ve = b[vs..]
                        .iter()
                        .position(|&c| c == q)
                        .map_or(b.len(), |p| vs + p);
                    v = attrs.get(vs..ve).unwrap_or("");
                    i = ve + 1;
                }
                _ => {
                    let vs = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                    v = attrs.get(vs..i).unwrap_or("");
                }
            }
        }
        if k.eq_ignore_ascii_case(name) {
            return Some(decode_entities(v));
        }
        if i == ks {
            i += 1;
        }
    }
    None
}

/// Decode the character references that matter for text: numeric ones and the common names.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let c = if let Some(num) = ent.strip_prefix('#') {
                let v = match num.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => num.parse().ok(),
                };
                v.and_then(char::from_u32)
            } else {
                match ent {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some('\u{a0}'),
                    "ndash" => Some('–'),
                    "mdash" => Some('—'),
                    "lsquo" => Some('‘'),
                    "rsquo" => Some('’'),
                    "ldquo" => Some('“'),
                    "rdquo" => Some('”'),
                    "hellip" => Some('…'),
                    "copy" => Some('©'),
                    _ => None,
                }
            };
            c.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Elements whose content is hidden from readers.
fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "head" | "noscript" | "template" | "svg" | "select" | "object" | "math"
    )
}

/// Read a page without building a DOM: its visible text and head signals.
pub(crate) fn scan(html: &str) -> PageSignals {
    let mut sig = PageSignals::default();
    let b = html.as_bytes();
    let mut i = 0usize;
    let mut text = String::new();
    // Hidden elements may be unbalanced in junk: a counter per name would be exact,
    // a single counter clamped at zero is enough to stay sane.
    let mut hidden = 0usize;
    let mut open_time: Option<(usize, TimeNode)> = None;
    while i < b.len() {
        let Some(p) = memchr_lt(b, i) else {
            if hidden == 0 {
                text.push_str(&decode_entities(&html[i..]));
            }
            break;
        };
        if p > i && hidden == 0 {
            text.push_str(&decode_entities(&html[i..p]));
        }
        let next = b.get(p + 1).copied().unwrap_or(0);
        if next == b'!' || next == b'?' {
            i = skip_markup_decl(html, p);
            continue;
        }
        let Some(tag) = read_tag(html, p) else {
            if hidden == 0 {
                text.push('<');
            }
            i = p + 1;
            continue;
        };
        i = tag.end;
        let name = tag.name.as_ref();
        if tag.closing {
            if is_hidden(name) {
                hidden = hidden.saturating_sub(1);
            }
            if name == "time"
                && let Some((start, mut t)) = open_time.take()
            {
                t.text = text
                    .get(start..)
                    .unwrap_or("")
                    .trim()
                    .chars()
                    .take(300)
                    .collect();
                sig.times.push(t);
            }
            if is_block_element(name) {
                text.push('\n');
            }
            continue;
        }
        match name {
            "script" | "style" | "textarea" | "title" | "xmp" | "iframe" | "noembed"
            | "noframes" => {
                let (content_end, after) = find_end_tag(html, i, name);
                let content = html.get(i..content_end).unwrap_or("");
                if name == "title" && sig.title_tag.is_none() {
                    sig.title_tag = Some(decode_entities(content.trim()));
                }
                if name == "script"
                    && attr(tag.attrs, "type")
                        .is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"))
                    && sig.json_ld.len() < 50
                    && let Some(v) = parse_json_ld(content)
                {
                    sig.json_ld.push(v);
                }
                i = after;
                continue;
            }
            "meta" => {
                if let Some(content) = attr(tag.attrs, "content") {
                    for a in ["property", "name", "itemprop", "http-equiv"] {
                        if let Some(k) = attr(tag.attrs, a)
                            && sig.metas.len() < 900
                        {
                            sig.metas.push((k.to_ascii_lowercase(), content.clone()));
                        }
                    }
                }
            }
            "link"
                if attr(tag.attrs, "rel")
                    .is_some_and(|r| r.to_ascii_lowercase().contains("canonical"))
                    && sig.canonical.is_none() =>
            {
                sig.canonical = attr(tag.attrs, "href");
            }
            "html" if sig.html_lang.is_none() => {
                sig.html_lang = attr(tag.attrs, "lang");
            }
            // An unclosed <head> must not hide the whole body.
            "body" => hidden = 0,
            "time" if sig.times.len() < 300 => {
                let t = TimeNode {
                    datetime: attr(tag.attrs, "datetime"),
                    hint: attr(tag.attrs, "class").unwrap_or_default(),
                    pubdate: attr(tag.attrs, "pubdate").is_some(),
                    text: String::new(),
                };
                open_time = Some((text.len(), t));
            }
            _ => {}
        }
        if is_hidden(name) && !tag.self_closing {
            hidden += 1;
        }
        if is_block_element(name) {
            text.push('\n');
        }
    }
    if let Some(u) = sig.meta("og:url") {
        sig.og_url = Some(u.to_string());
    }
    sig.visible_text = text;
    sig
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_real_nesting_only() {
        assert_eq!(nesting_depth("<div><div><p>a<p>b</div></div>", 100), 2);
        assert_eq!(nesting_depth("<ul><li>a<li>b</ul><br><img src=x>", 100), 1);
        assert_eq!(
            nesting_depth("<script>if (a<b) { '<div><div>' }</script><div></div>", 100),
            1
        );
        let deep = "<div>".repeat(5000);
        assert!(nesting_depth(&deep, 1000) > 1000);
    }

    #[test]
    fn a_tag_ends_at_the_first_unquoted_angle_bracket() {
        let html = r#"<a title="x > y" data-q='it"s'>text</a>"#;
        assert_eq!(
            tag_end(html.as_bytes(), 0),
            html.find(">text").map_or(0, |p| p + 1)
        );
        // Quotes of the other kind inside a value do not close it.
        assert_eq!(tag_end(b"<p a='\"'>", 0), 9);
        // A quote never closed runs to the end, as in a browser's tokenizer.
        assert_eq!(tag_end(b"<p a=\"oops>text", 0), 15);
        assert_eq!(tag_end(b"<p", 0), 2);
        // Quoted brackets do not nest elements.
        assert_eq!(
            nesting_depth(r#"<div title="<div><div>"><b>a</b></div>"#, 100),
            2
        );
    }

    #[test]
    fn scanner_reads_text_and_head() {
        let html = r#"<html lang="bn"><head><title>T &amp; U</title>
            <meta property="og:site_name" content="Site"><link rel="canonical" href="/a">
            <script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2025-07-12"}</script>
            </head><body><div><p>Hello &amp; <b>world</b></p><time datetime="2025-07-12">x</time></div>
            <script>var x = "<p>no</p>";</script></body></html>"#;
        let sig = scan(html);
        assert_eq!(sig.title_tag.as_deref(), Some("T & U"));
        assert_eq!(sig.html_lang.as_deref(), Some("bn"));
        assert_eq!(sig.canonical.as_deref(), Some("/a"));
        assert_eq!(sig.meta("og:site_name"), Some("Site"));
        assert_eq!(sig.json_ld.len(), 1);
        assert_eq!(sig.times.len(), 1);
        assert!(sig.visible_text.contains("Hello & world"));
        assert!(!sig.visible_text.contains("no"));
        assert!(!sig.visible_text.contains("T & U"));
    }

    #[test]
    fn end_tags_and_comment_ends_are_found_past_other_text() {
        // The first "</" is another element's; Bengali text around it; upper case.
        let html = "<script>ক = '</b>'; খ</SCRIPT><p>গ";
        let from = "<script>".len();
        let at = html.find("</SCRIPT>").unwrap_or(0);
        assert_eq!(
            find_end_tag(html, from, "script"),
            (at, at + "</SCRIPT>".len())
        );
        // No end tag: the rest of the page is the element's.
        assert_eq!(find_end_tag("<style>a</b", 7, "style"), (11, 11));
        // A comment runs to its first "-->", however much it holds.
        let html = "<!-- <div> ঘ -- > --><div>";
        assert_eq!(skip_markup_decl(html, 0), html.len() - "<div>".len());
        assert_eq!(skip_markup_decl("<!-- open", 0), 9);
        assert_eq!(nesting_depth("<!-- <div><div> --><div>ঙ</div>", 100), 1);
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            decode_entities("a&amp;b&#2453;&#x995;&bogus;&"),
            "a&bকক&bogus;&"
        );
    }
}
