//! Repairs for ill-formed XML feeds, applied only after feed-rs refused the text as it was
//! (or found no items in it). Owns one forward scan that rewrites the document into XML
//! feed-rs accepts, the way feedparser's and miniflux's lenient parsers read such feeds:
//!
//! - junk before the root element (comments, doctype, PHP warnings, a BOM) and after it is
//!   dropped, and so are processing instructions, whose `encoding` would re-decode the
//!   already decoded text;
//! - a stray `&` that starts no entity becomes `&amp;`, HTML's named entities (`&laquo;`)
//!   become their characters, invalid character references become U+FFFD, and a `<` that
//!   starts no tag becomes `&lt;`;
//! - end tags are matched to open elements (unclosed inner elements are closed, unmatched
//!   end tags dropped), unquoted or repeated attributes are fixed;
//! - old namespaces are mapped to the ones feed-rs knows (Atom 0.3, RSS 0.90, Userland's
//!   RSS 2.0), Atom 0.3 element names and content modes to Atom 1.0's, and `<rss>` without a
//!   version it supports gets `version="2.0"`;
//! - a truncated document is cut after its last complete item (or channel-level element)
//!   and closed.
//!
//! The scan is linear: every search moves forward, entity look-ahead and end-tag matching
//! are bounded, and nesting deeper than any feed needs is refused.

use std::borrow::Cow;

use super::entities::HTML_ENTITIES;

/// Nesting deeper than this is no feed (and would only cost time and memory).
const MAX_DEPTH: usize = 512;
/// How far the root element may sit from the start (after junk, comments, a doctype).
const PROLOG_WINDOW: usize = 64 * 1024;
/// How far below the top of the open-element stack an end tag may find its start tag.
const MATCH_WINDOW: usize = 16;
/// Attributes kept per tag; the rest are dropped.
const MAX_ATTRS: usize = 64;
/// Longest entity name looked for after a `&`.
const MAX_ENTITY: usize = 40;

const ATOM_03_NS: &str = "http://purl.org/atom/ns#";
const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
/// feed-rs's RSS namespace, which it also applies to RSS 2.0 elements.
const RSS_NS: &str = "http://purl.org/rss/1.0/";

/// What the document's first element says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Root {
    /// `rss`, `feed`, `entry`, `RDF` or a bare `channel`, at this byte offset.
    Feed(usize),
    Html,
    /// Some other element, or none.
    Other,
}

/// Finds the root element, skipping whitespace, comments, processing instructions, a
/// doctype and (when an XML declaration follows it) junk printed before the document.
pub(super) fn find_root(text: &str) -> Root {
    let b = text.as_bytes();
    let window = &text[..floor_boundary(text, PROLOG_WINDOW)];
    // Server-side warnings are printed before the XML declaration; start at it.
    let mut i = match window.find("<?xml") {
        Some(p) if !looks_like_html(&window[..p]) => p,
        _ => 0,
    };
    while i < window.len() {
        let rest = &b[i..];
        if rest[0] != b'<' {
            // Text before the root: skip to the next markup.
            match b[i..window.len()].iter().position(|&c| c == b'<') {
                Some(p) => i += p,
                None => return Root::Other,
            }
            continue;
        }
        let skip_to =
            |close: &str, from: usize| window[from..].find(close).map(|p| from + p + close.len());
        let next = if rest.starts_with(b"<!--") {
            skip_to("-->", i + 4)
        } else if rest.starts_with(b"<?") {
            skip_to("?>", i + 2)
        } else if rest.starts_with(b"<!") {
            doctype_end(window, i)
        } else if rest.get(1).is_some_and(|&c| is_name_start(c)) {
            let name = tag_name(text, i + 1);
            let local = name.rsplit(':').next().unwrap_or(name);
            return match local {
                "rss" | "feed" | "entry" | "RDF" | "channel" => Root::Feed(i),
                _ if local.eq_ignore_ascii_case("html") => Root::Html,
                _ => Root::Other,
            };
        } else {
            Some(i + 1)
        };
        match next {
            Some(n) => i = n,
            None => return Root::Other,
        }
    }
    Root::Other
}

/// The text with a leading XML declaration removed, as feed-rs should first see it; `None`
/// when a further declaration follows (its `encoding` would make feed-rs's reader re-decode
/// or panic), so only the repaired text is safe.
pub(super) fn strip_declaration(text: &str) -> Option<&str> {
    let rest = match text.strip_prefix("<?xml") {
        Some(decl) => &decl[decl.find("?>")? + 2..],
        None => text,
    };
    let mut from = 0;
    while let Some(p) = rest[from..].find("<?xml") {
        let after = rest.as_bytes().get(from + p + 5).copied();
        if after.is_none_or(|c| c.is_ascii_whitespace() || c == b'?') {
            return None;
        }
        from += p + 5;
    }
    Some(rest)
}

/// Why a document could not be repaired.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RepairError {
    /// It ends before anything worth keeping (no complete item, not even the channel).
    Truncated,
    TooDeep,
}

/// Rewrites the document whose root element starts at `root` (from [`find_root`]).
pub(super) fn repair(text: &str, root: usize) -> Result<String, RepairError> {
    let mut r = Repairer {
        text,
        b: text.as_bytes(),
        out: String::with_capacity(text.len() + text.len() / 32 + 64),
        stack: Vec::new(),
        atom03: false,
        atom: false,
        wrapped: false,
        safe: None,
        rss_body: None,
    };
    let complete = r.run(root)?;
    if !complete {
        let (len, open) = r.safe.take().ok_or(RepairError::Truncated)?;
        r.out.truncate(len);
        for name in open.iter().rev() {
            r.push_end(name);
        }
    }
    if let Some(at) = r.rss_body {
        // `<rss>` without a `<channel>` (feedparser's tests have many): feed-rs needs one.
        let close = r.out.rfind("</").unwrap_or(r.out.len()).max(at);
        r.out.insert_str(close, "</channel>");
        r.out.insert_str(at, "<channel>");
    }
    if r.wrapped {
        r.out.push_str("</rss>");
    }
    Ok(r.out)
}

struct Repairer<'a> {
    text: &'a str,
    b: &'a [u8],
    out: String,
    /// Open elements, as named in the source.
    stack: Vec<&'a str>,
    /// The root is Atom 0.3: rename its elements and content modes.
    atom03: bool,
    /// The root is an Atom `<feed>` or `<entry>`.
    atom: bool,
    /// The root is a bare `<channel>`, wrapped in `<rss>`.
    wrapped: bool,
    /// Where a truncated document can be cut (output length) and what is open there.
    safe: Option<(usize, Vec<&'a str>)>,
    /// Where the body of an `<rss>` root starts, until a `<channel>` is seen in it.
    rss_body: Option<usize>,
}

impl<'a> Repairer<'a> {
    /// Rewrites from `i`; true when the root element was closed, false when the text ended
    /// first (truncated).
    fn run(&mut self, mut i: usize) -> Result<bool, RepairError> {
        let (text, b) = (self.text, self.b);
        loop {
            let Some(p) = b[i..].iter().position(|&c| c == b'<' || c == b'&') else {
                return Ok(false);
            };
            let j = i + p;
            self.out.push_str(&text[i..j]);
            if b[j] == b'&' {
                i = j + push_entity(&mut self.out, &text[j..]);
                continue;
            }
            let rest = &b[j..];
            let find_from = |close: &str, from: usize| text[from..].find(close).map(|q| from + q);
            if rest.starts_with(b"<!--") {
                // Comments are dropped: they may hold "--" or junk feed-rs need not see.
                let Some(e) = find_from("-->", j + 4) else {
                    return Ok(false);
                };
                i = e + 3;
            } else if rest.starts_with(b"<![CDATA[") {
                let Some(e) = find_from("]]>", j + 9) else {
                    return Ok(false);
                };
                self.out.push_str(&text[j..e + 3]);
                i = e + 3;
            } else if rest.starts_with(b"<?") {
                let Some(e) = find_from("?>", j + 2) else {
                    return Ok(false);
                };
                i = e + 2;
            } else if rest.starts_with(b"<!") {
                let Some(e) = doctype_end(text, j) else {
                    return Ok(false);
                };
                i = e;
            } else if rest.starts_with(b"</") {
                let Some(e) = find_from(">", j + 2) else {
                    return Ok(false);
                };
                let name = text[j + 2..e].split_ascii_whitespace().next().unwrap_or("");
                i = e + 1;
                if self.end_tag(name) {
                    return Ok(true);
                }
            } else if rest.get(1).is_some_and(|&c| is_name_start(c)) {
                match self.start_tag(j)? {
                    Some(next) => i = next,
                    None => return Ok(false),
                }
            } else {
                self.out.push_str("&lt;");
                i = j + 1;
            }
        }
    }

    /// Handles `</name>`; true when it closed the root.
    fn end_tag(&mut self, name: &str) -> bool {
        let Some(depth) = self
            .stack
            .iter()
            .rev()
            .take(MATCH_WINDOW)
            .position(|open| *open == name)
        else {
            // An end tag nothing opened: dropped.
            return false;
        };
        for _ in 0..=depth {
            if let Some(open) = self.stack.pop() {
                self.push_end(open);
            }
        }
        if self.stack.is_empty() {
            return true;
        }
        if self.stack.len() <= 2 {
            // Between items: a truncated document can be cut here.
            self.safe = Some((self.out.len(), self.stack.clone()));
        }
        false
    }

    /// Rewrites the start tag at `j`; the offset after it, or `None` when the text ends
    /// inside it.
    fn start_tag(&mut self, j: usize) -> Result<Option<usize>, RepairError> {
        let (text, b) = (self.text, self.b);
        let name = tag_name(text, j + 1);
        let mut k = j + 1 + name.len();
        let mut attrs: Vec<(&str, &str)> = Vec::new();
        let self_closing;
        loop {
            while b.get(k).is_some_and(u8::is_ascii_whitespace) {
                k += 1;
            }
            let Some(&c) = b.get(k) else {
                return Ok(None);
            };
            match c {
                b'>' => {
                    k += 1;
                    self_closing = false;
                    break;
                }
                b'/' if b.get(k + 1) == Some(&b'>') => {
                    k += 2;
                    self_closing = true;
                    break;
                }
                // A tag left open by a broken template: it ends where the next begins.
                b'<' => {
                    self_closing = false;
                    break;
                }
                _ => {}
            }
            let start = k;
            while b
                .get(k)
                .is_some_and(|&c| !c.is_ascii_whitespace() && !b"=>/<\"'".contains(&c))
            {
                k += 1;
            }
            if k == start {
                k += 1; // a stray quote or slash
                continue;
            }
            let attr = &text[start..k];
            while b.get(k).is_some_and(u8::is_ascii_whitespace) {
                k += 1;
            }
            let value = if b.get(k) == Some(&b'=') {
                k += 1;
                while b.get(k).is_some_and(u8::is_ascii_whitespace) {
                    k += 1;
                }
                match b.get(k) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let Some(e) = b[k + 1..].iter().position(|&c| c == q) else {
                            return Ok(None);
                        };
                        let value = &text[k + 1..k + 1 + e];
                        k += e + 2;
                        value
                    }
                    _ => {
                        let v = k;
                        while b
                            .get(k)
                            .is_some_and(|&c| !c.is_ascii_whitespace() && c != b'>')
                        {
                            k += 1;
                        }
                        &text[v..k]
                    }
                }
            } else {
                attr // HTML-style boolean attribute
            };
            let valid = attr.bytes().next().is_some_and(is_name_start)
                && attr
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(&c) || c >= 0x80);
            if valid && attrs.len() < MAX_ATTRS && !attrs.iter().any(|(a, _)| *a == attr) {
                attrs.push((attr, value));
            }
        }

        let is_root = self.stack.is_empty();
        let local = name.rsplit(':').next().unwrap_or(name);
        if is_root {
            self.root_fixes(name, local, &mut attrs);
        }
        if self.atom03 && !name.contains(':') {
            atom03_content_mode(local, &mut attrs);
        } else if self.atom && !name.contains(':') {
            atom_text_type(local, &mut attrs);
        }

        self.out.push('<');
        self.out.push_str(self.out_name(name));
        for (attr, value) in &attrs {
            self.out.push(' ');
            self.out.push_str(attr);
            self.out.push_str("=\"");
            let value = if *attr == "xmlns" || attr.starts_with("xmlns:") {
                Cow::Borrowed(namespace_alias(value.trim()))
            } else {
                Cow::Borrowed(*value)
            };
            push_attr_value(&mut self.out, &value);
            self.out.push('"');
        }
        if self_closing {
            self.out.push_str("/>");
            if is_root {
                // `<rss/>`: a complete (empty) document.
                self.stack.push(name);
                self.end_tag(name);
            }
            return Ok(Some(k));
        }
        self.out.push('>');
        if is_root && local == "rss" {
            self.rss_body = Some(self.out.len());
        } else if local == "channel" {
            self.rss_body = None;
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(RepairError::TooDeep);
        }
        self.stack.push(name);
        if self.stack.len() == 1 || (self.stack.len() == 2 && local == "channel") {
            self.safe = Some((self.out.len(), self.stack.clone()));
        }
        Ok(Some(k))
    }

    /// The root element's repairs: a version for `<rss>`, Atom 0.3, a bare `<channel>`.
    fn root_fixes(&mut self, name: &'a str, local: &str, attrs: &mut Vec<(&'a str, &'a str)>) {
        match local {
            "rss" => {
                // feed-rs reads only these versions; the RSS 2.0 reader copes with the rest.
                let version = attrs.iter_mut().find(|(a, _)| *a == "version");
                match version {
                    Some((_, v)) if matches!(v.trim(), "2.0" | "0.91" | "0.92") => {}
                    Some((_, v)) => *v = "2.0",
                    None => attrs.push(("version", "2.0")),
                }
            }
            "feed" | "entry" => {
                self.atom = true;
                self.atom03 = attrs.iter().any(|(a, v)| {
                    (*a == "xmlns" && v.trim() == ATOM_03_NS)
                        || (*a == "version" && v.trim() == "0.3")
                });
            }
            "channel" if !name.contains(':') => {
                self.out.push_str("<rss version=\"2.0\">");
                self.wrapped = true;
            }
            _ => {}
        }
    }

    /// The name to write for an element named `name` in the source.
    fn out_name(&self, name: &'a str) -> &'a str {
        if !self.atom03 {
            return name;
        }
        match name {
            "issued" => "published",
            "modified" => "updated",
            "tagline" => "subtitle",
            "copyright" => "rights",
            other => other,
        }
    }

    fn push_end(&mut self, name: &'a str) {
        self.out.push_str("</");
        self.out.push_str(self.out_name(name));
        self.out.push('>');
    }
}

/// Atom 0.3 text constructs say `type="text/html" mode="escaped"`; Atom 1.0 says
/// `type="html"`.
fn atom03_content_mode(local: &str, attrs: &mut Vec<(&str, &str)>) {
    let has_mode = attrs.iter().any(|(a, _)| *a == "mode");
    let text_construct = matches!(
        local,
        "title" | "tagline" | "summary" | "content" | "copyright" | "info"
    );
    if !has_mode && !text_construct {
        return;
    }
    let mode = attrs
        .iter()
        .find(|(a, _)| *a == "mode")
        .map(|(_, v)| v.trim());
    let ty = attrs
        .iter()
        .find(|(a, _)| *a == "type")
        .map(|(_, v)| v.trim());
    let new_type = match (ty, mode) {
        (Some("text/plain"), _) => Some("text"),
        (Some("application/xhtml+xml"), _) | (Some("text/html"), Some("xml")) => Some("xhtml"),
        (Some("text/html"), _) | (None, Some("escaped")) => Some("html"),
        _ => None,
    };
    attrs.retain(|(a, _)| *a != "mode" && (new_type.is_none() || *a != "type"));
    if let Some(t) = new_type {
        attrs.push(("type", t));
    }
}

/// feed-rs refuses a whole feed over one text construct typed with a MIME type (base64
/// `application/octet-stream`, `application/xhtml+xml`); Atom 1.0 allows only three.
fn atom_text_type(local: &str, attrs: &mut [(&str, &str)]) {
    if !matches!(local, "title" | "subtitle" | "rights" | "summary") {
        return;
    }
    if let Some((_, ty)) = attrs.iter_mut().find(|(a, _)| *a == "type") {
        *ty = match ty.trim() {
            t @ ("text" | "html" | "xhtml") => t,
            "text/html" => "html",
            "application/xhtml+xml" => "xhtml",
            _ => "text",
        };
    }
}

/// Old or variant namespace names mapped to the ones feed-rs recognises.
fn namespace_alias(ns: &str) -> &str {
    match ns {
        ATOM_03_NS | "http://www.w3.org/2005/Atom/" | "https://www.w3.org/2005/Atom" => ATOM_NS,
        "http://my.netscape.com/rdf/simple/0.9/"
        | "http://backend.userland.com/rss2"
        | "http://backend.userland.com/rss"
        | "http://purl.org/rss/1.0" => RSS_NS,
        other => other,
    }
}

/// Writes an attribute value for a double-quoted attribute, escaping what XML forbids.
fn push_attr_value(out: &mut String, value: &str) {
    let mut i = 0;
    let b = value.as_bytes();
    while let Some(p) = b[i..].iter().position(|c| b"&<\"".contains(c)) {
        let j = i + p;
        out.push_str(&value[i..j]);
        i = match b[j] {
            b'&' => j + push_entity(out, &value[j..]),
            b'<' => {
                out.push_str("&lt;");
                j + 1
            }
            _ => {
                out.push_str("&quot;");
                j + 1
            }
        };
    }
    out.push_str(&value[i..]);
}

/// Writes the reference starting at `s` (which starts with '&') in a form XML accepts and
/// returns how many bytes of `s` it stands for.
fn push_entity(out: &mut String, s: &str) -> usize {
    let b = s.as_bytes();
    let limit = b.len().min(MAX_ENTITY + 2);
    let Some(semi) = b[1..limit].iter().position(|&c| c == b';').map(|p| p + 1) else {
        out.push_str("&amp;");
        return 1;
    };
    let name = &s[1..semi];
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()
            }
            None if !num.is_empty() && num.bytes().all(|c| c.is_ascii_digit()) => num.parse().ok(),
            _ => {
                out.push_str("&amp;");
                return 1;
            }
        };
        match code.and_then(char::from_u32) {
            // C1 controls in references almost always mean windows-1252 punctuation.
            Some(c @ '\u{80}'..='\u{9f}') => {
                let byte = [c as u8];
                out.push_str(
                    &encoding_rs::WINDOWS_1252
                        .decode_without_bom_handling(&byte)
                        .0,
                );
            }
            Some(c) if is_xml_char(c) => out.push_str(&s[..=semi]),
            _ => out.push('\u{FFFD}'),
        }
        return semi + 1;
    }
    let valid_name = name.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c));
    if !valid_name {
        out.push_str("&amp;");
        return 1;
    }
    if matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") {
        out.push_str(&s[..=semi]);
    } else if let Ok(at) = HTML_ENTITIES.binary_search_by(|(n, _)| (*n).cmp(name)) {
        out.push(HTML_ENTITIES[at].1);
    } else {
        // Unknown: kept as literal text, as feed-rs itself would.
        out.push_str("&amp;");
        out.push_str(&s[1..=semi]);
    }
    semi + 1
}

/// Elements whose text feed-rs splits into a person's name and e-mail address (RSS 2.0,
/// Dublin Core, iTunes), matched by local name.
const PERSON_ELEMENTS: &[&str] = &["author", "managingEditor", "webMaster", "creator", "owner"];

/// The document without its person elements (`<author>…</author>`, `<dc:creator>…`), for
/// a feed on which feed-rs panics while splitting a name from an e-mail address. Comments
/// and CDATA sections are copied as they are. An element whose end tag never comes stops
/// the stripping there, so the scan stays linear.
pub(super) fn without_people(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(p) = text[i..].find('<') {
        let j = i + p;
        out.push_str(&text[i..j]);
        let rest = &text[j..];
        if let Some((open, close)) = [("<!--", "-->"), ("<![CDATA[", "]]>")]
            .into_iter()
            .find(|(open, _)| rest.starts_with(open))
        {
            let end = rest[open.len()..]
                .find(close)
                .map_or(text.len(), |e| j + open.len() + e + close.len());
            out.push_str(&text[j..end]);
            i = end;
            continue;
        }
        let name = tag_name(text, j + 1);
        let local = name.rsplit(':').next().unwrap_or(name);
        if !name.is_empty()
            && PERSON_ELEMENTS.contains(&local)
            && !rest.find('>').is_some_and(|e| rest[..e].ends_with('/'))
        {
            let end_tag = format!("</{name}>");
            let Some(e) = rest.find(&end_tag) else {
                i = j;
                break;
            };
            i = j + e + end_tag.len();
            continue;
        }
        out.push('<');
        i = j + 1;
    }
    out.push_str(&text[i..]);
    out
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}

/// The element name starting at `at` (just after '<').
fn tag_name(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    let end = rest
        .bytes()
        .position(|c| c.is_ascii_whitespace() || b"/><\"'=".contains(&c))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The offset after a `<!DOCTYPE …>` (or other `<!…>`) starting at `at`, skipping an
/// internal subset in brackets.
fn doctype_end(text: &str, at: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = at + 2;
    while let Some(&c) = b.get(i) {
        match c {
            b'>' => return Some(i + 1),
            b'[' => i += b[i..].iter().position(|&c| c == b']')?,
            _ => {}
        }
        i += 1;
    }
    None
}

fn looks_like_html(junk: &str) -> bool {
    let lower = junk.to_ascii_lowercase();
    lower.contains("<html") || lower.contains("<!doctype html")
}

/// The largest char boundary at or below `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(text: &str) -> String {
        let Root::Feed(at) = find_root(text) else {
            panic!("no root in {text}");
        };
        repair(text, at).expect("repairs")
    }

    #[test]
    fn entities_and_stray_markup() {
        assert_eq!(
            fix(
                "<rss version='2.0'><a x=1 b>R&D &amp; &laquo;x&raquo; &#2 &#0; 1<2 &bogus;</a></rss>"
            ),
            "<rss version=\"2.0\"><channel><a x=\"1\" b=\"b\">R&amp;D &amp; «x» &amp;#2 \u{FFFD} 1&lt;2 &amp;bogus;</a></channel></rss>"
        );
        assert_eq!(
            fix("<rss><l href='a?x=1&y=2'/></rss>"),
            "<rss version=\"2.0\"><channel><l href=\"a?x=1&amp;y=2\"/></channel></rss>"
        );
    }

    #[test]
    fn prolog_junk_atom03_and_truncation() {
        assert_eq!(
            fix(
                "Warning: x<br>\n<?xml version='1.0'?><!-- c --><!DOCTYPE rss [<!ENTITY a 'b'>]>\n<feed xmlns='http://purl.org/atom/ns#' version='0.3'><entry><issued>d</issued><title mode='escaped' type='text/html'>t</title></entry></feed>junk"
            ),
            "<feed xmlns=\"http://www.w3.org/2005/Atom\" version=\"0.3\"><entry><published>d</published><title type=\"html\">t</title></entry></feed>"
        );
        assert_eq!(
            fix("<rss><channel><item><b>x</item><item>cut"),
            "<rss version=\"2.0\"><channel><item><b>x</b></item></channel></rss>"
        );
        assert_eq!(
            repair("<rss version=\"2.0\"", 0),
            Err(RepairError::Truncated)
        );
        let deep = format!("<rss>{}", "<a>".repeat(10_000));
        assert_eq!(repair(&deep, 0), Err(RepairError::TooDeep));
    }

    #[test]
    fn people_are_taken_out_and_nothing_else() {
        assert_eq!(
            without_people(
                "<rss><item><title>t</title><author>王（w@x.com）</author>\
                 <dc:creator><![CDATA[Desk]]></dc:creator><author/>\
                 <!-- <author> --><description><![CDATA[<author>]]></description></item></rss>"
            ),
            "<rss><item><title>t</title><author/>\
             <!-- <author> --><description><![CDATA[<author>]]></description></item></rss>"
        );
        // An element that never ends stops the stripping; nothing is lost or repeated.
        assert_eq!(
            without_people("<a><author>x</a><b>y</b>"),
            "<a><author>x</a><b>y</b>"
        );
    }

    #[test]
    fn roots() {
        assert_eq!(find_root("<!DOCTYPE html><html><feed>"), Root::Html);
        assert_eq!(find_root("hello world"), Root::Other);
        assert_eq!(find_root("<?xml version='1.0'?><sitemap/>"), Root::Other);
        assert_eq!(find_root("\n<!-- x --><rdf:RDF>"), Root::Feed(11));
        assert_eq!(
            strip_declaration("<?xml version='1.0'?><rss/>"),
            Some("<rss/>")
        );
        assert_eq!(
            strip_declaration("<rss/><?xml version='1.0' encoding='koi8-r'?>"),
            None
        );
    }
}
