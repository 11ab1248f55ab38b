//! Page signals: everything the metadata and date logic reads from a page, gathered in
//! one iterative walk over the parsed DOM (or filled by the no-DOM fallback scanner).
//!
//! Keeping this a plain struct decouples `dates` and `meta` from the DOM library, lets
//! the fallback path reuse them unchanged, and makes them testable without HTML.

use std::borrow::Cow;
use std::sync::LazyLock;

use dom_query::{Document, Element, NodeData, NodeRef};

use super::fragments::Fragments;

/// At most this many characters of an element's text are kept as a signal.
const MAX_SIGNAL_TEXT: usize = 300;
/// Caps on the lists, so a page of ten thousand `<time>` tags stays cheap.
const MAX_ITEMS: usize = 300;
/// JSON-LD blocks larger than this are not parsed (they are catalogues, not articles).
const MAX_JSON_LD: usize = 2_000_000;
/// Visible text kept for date-label search.
const MAX_VISIBLE_TEXT: usize = 400_000;
/// Script text scanned for dates, per script, and snippets kept per page.
const MAX_SCRIPT_SCAN: usize = 200_000;
const MAX_SCRIPT_DATES: usize = 60;

/// A `<time>` element.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimeNode {
    pub datetime: Option<String>,
    pub text: String,
    /// class, id and itemprop of the element and its parent, for "published"/"updated".
    pub hint: String,
    /// The HTML5-draft `pubdate` attribute.
    pub pubdate: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PageSignals {
    /// (lowercased name / property / itemprop / http-equiv, value), in document order.
    pub metas: Vec<(String, String)>,
    pub json_ld: Vec<serde_json::Value>,
    pub html_lang: Option<String>,
    pub title_tag: Option<String>,
    /// Texts of h1–h4 and of headline-like elements, in document order.
    pub headings: Vec<String>,
    pub canonical: Option<String>,
    pub og_url: Option<String>,
    /// Texts of author-like elements (rel=author, itemprop=author, .author, .byline).
    pub author_nodes: Vec<String>,
    pub times: Vec<TimeNode>,
    /// Short texts of elements whose class/id says "date".
    pub date_nodes: Vec<String>,
    /// The page's visible text, one block element per line.
    pub visible_text: String,
    /// Where each of `times` sits (filled by the DOM walk; the fallback scanner leaves
    /// it empty).
    pub time_places: Vec<Place>,
    /// Where each of `date_nodes` sits, as `time_places`.
    pub date_node_places: Vec<Place>,
    /// Short windows of script text around ISO-like dates ("…published_at":
    /// "2019-03-02T06:22:28…"), for pages that give their date nowhere else. (Comments
    /// are not read: their dates are mostly the time the page was generated or cached.)
    pub script_dates: Vec<String>,
}

/// Where a date-bearing element sits in the page.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Place {
    /// Byte offset in `visible_text` where the element starts.
    pub pos: usize,
    /// Inside a link: teasers of other stories link their dates.
    pub linked: bool,
    /// Inside navigation or the comments: dates of other things.
    pub aside: bool,
    /// The element's class or id says "updated" / "modified" / "lastmod".
    pub update: bool,
}

fn is_update_hint(class_id: &str) -> bool {
    ["updated", "modified", "lastmod"]
        .iter()
        .any(|h| class_id.contains(h))
}

/// Elements whose dates belong to something other than the article: navigation and
/// comment threads. (`<aside>` is not one: articles put their dateline in one.)
fn is_aside(name: &str, element: &Element) -> bool {
    if name == "nav" {
        return true;
    }
    // the page's own containers carry "comments-open"-style state classes
    if matches!(name, "html" | "body" | "article" | "main") {
        return false;
    }
    ["class", "id"].iter().any(|a| {
        attr(element, a).is_some_and(|v| {
            v.as_bytes()
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"comment"))
        })
    })
}

/// An element's name in ASCII lower case: the parser's own name for HTML elements
/// (already lower case), a copy for SVG's `clipPath` and the like.
fn lowercase_name(element: &Element) -> Cow<'_, str> {
    let name: &str = &element.name.local;
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// An attribute's value, read in place (`NodeRef::attr` copies it into a new string).
pub(crate) fn attr<'e>(element: &'e Element, name: &str) -> Option<&'e str> {
    element
        .attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| &*a.value)
}

impl PageSignals {
    /// The first value of a meta key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metas
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// All JSON-LD objects, including those inside `@graph` arrays, in document order.
    pub fn ld_objects(&self) -> Vec<&serde_json::Map<String, serde_json::Value>> {
        let mut out = Vec::new();
        for v in &self.json_ld {
            collect_ld_objects(v, 0, &mut out);
        }
        out
    }
}

fn collect_ld_objects<'a>(
    v: &'a serde_json::Value,
    depth: usize,
    out: &mut Vec<&'a serde_json::Map<String, serde_json::Value>>,
) {
    // JSON-LD nests a handful of levels; deeper is junk, and recursion must stay bounded.
    if depth > 8 || out.len() > MAX_ITEMS {
        return;
    }
    match v {
        serde_json::Value::Array(a) => {
            for x in a {
                collect_ld_objects(x, depth + 1, out);
            }
        }
        serde_json::Value::Object(o) => {
            out.push(o);
            for key in [
                "@graph",
                "mainEntity",
                "mainEntityOfPage",
                "itemListElement",
            ] {
                if let Some(g) = o.get(key)
                    && (g.is_array() || g.is_object())
                {
                    collect_ld_objects(g, depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

/// Parse a JSON-LD block leniently: CDATA wrappers, HTML comments, and trailing
/// semicolons occur in the wild.
pub(crate) fn parse_json_ld(raw: &str) -> Option<serde_json::Value> {
    if raw.len() > MAX_JSON_LD {
        return None;
    }
    let mut s = raw.trim();
    for (open, close) in [
        ("<![CDATA[", "]]>"),
        ("<!--", "-->"),
        ("//<![CDATA[", "//]]>"),
    ] {
        if let Some(rest) = s.strip_prefix(open) {
            s = rest.trim();
            if let Some(rest) = s.strip_suffix(close) {
                s = rest.trim();
            }
        }
    }
    let s = s.trim_end_matches(';').trim();
    serde_json::from_str(s).ok().or_else(|| {
        let flat = s.replace(['\n', '\r', '\t'], " ");
        serde_json::from_str(&flat)
            .ok()
            // a complete object followed by junk (a stray brace, a second block)
            .or_else(|| first_json_value(&flat))
    })
}

/// The first complete JSON value at the start of `s`, ignoring what follows it.
fn first_json_value(s: &str) -> Option<serde_json::Value> {
    serde_json::Deserializer::from_str(s)
        .into_iter::<serde_json::Value>()
        .next()?
        .ok()
}

/// Elements whose content is not visible text.
fn is_hidden_element(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "head"
            | "iframe"
            | "object"
            | "select"
            | "textarea"
            | "math"
            | "canvas"
    )
}

/// Elements that start a new line of visible text.
pub(crate) fn is_block_element(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "br"
            | "li"
            | "ul"
            | "ol"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "nav"
            | "aside"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "main"
            | "figure"
            | "figcaption"
            | "blockquote"
            | "form"
            | "dd"
            | "dt"
            | "dl"
            | "pre"
            | "address"
            | "hr"
            | "time"
            | "body"
            | "html"
    )
}

/// Class/id fragments of elements that hold a dateline.
fn is_date_hint(s: &str) -> bool {
    static HINTS: LazyLock<Fragments> = LazyLock::new(|| {
        Fragments::new(&[
            "date",
            "time",
            "publish",
            "posted",
            "dateline",
            "timestamp",
            "byline",
            "entry-meta",
            "post-meta",
            "article-meta",
            "meta-info",
            "info",
            "updated",
            // German and Spanish class names, and blocks that carry the dateline with the
            // author's name
            "datum",
            "fecha",
            "submitted",
            "created",
            "author",
            "autor",
            "subline",
        ])
    });
    HINTS.found_in(s)
}

fn is_author_hint(s: &str) -> bool {
    static HINTS: LazyLock<Fragments> = LazyLock::new(|| {
        Fragments::new(&["author", "byline", "writer", "reporter", "contributor"])
    });
    HINTS.found_in(s)
}

/// Class/id fragments that make an author-like name something else (a dateline, a
/// photo credit, an author's picture or biography).
fn is_not_author_hint(s: &str) -> bool {
    static HINTS: LazyLock<Fragments> = LazyLock::new(|| {
        Fragments::new(&[
            "place", "location", "date", "time", "photo", "image", "avatar", "bio",
        ])
    });
    HINTS.found_in(s)
}

fn clip(s: &str, max_chars: usize) -> Option<String> {
    // Stops at the first word past the limit: the texts asked are often a wrapper's,
    // the whole article.
    let mut t = String::new();
    let mut chars = 0usize;
    for word in s.split_whitespace() {
        if !t.is_empty() {
            t.push(' ');
            chars += 1;
        }
        t.push_str(word);
        chars += word.chars().count();
        if chars > max_chars {
            return None;
        }
    }
    (!t.is_empty()).then_some(t)
}

/// Push windows of `text` around ISO-like dates (1990-2039, `-` or `/` separated, or
/// "/20200428/" in a URL) to `out`: up to 40 bytes before (the key that names the
/// date) and 30 after.
fn date_snippets(text: &str, out: &mut Vec<String>) {
    let b = text.as_bytes();
    let scan = b.len().min(MAX_SCRIPT_SCAN);
    let mut i = 0;
    while i + 10 <= scan && out.len() < MAX_SCRIPT_DATES {
        // A year starts with 1 or 2: jump to the next such byte (a vector search) instead
        // of testing every byte of a script that may be 200 KB of code.
        match memchr::memchr2(b'1', b'2', &b[i..scan - 9]) {
            Some(skip) => i += skip,
            None => break,
        }
        let year = &b[i..i + 4];
        let plausible =
            (year.starts_with(b"20") && matches!(year[2], b'0'..=b'3')) || year.starts_with(b"199");
        let sep = b[i + 4];
        let separated = matches!(sep, b'-' | b'/')
            && b[i + 5].is_ascii_digit()
            && b[i + 6].is_ascii_digit()
            && b[i + 7] == sep
            && b[i + 8].is_ascii_digit();
        // a URL path segment "/20200428/"
        let compact = i > 0
            && b[i - 1] == b'/'
            && b[i + 4..i + 8].iter().all(u8::is_ascii_digit)
            && b[i + 8] == b'/';
        if plausible
            && year.iter().all(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && (separated || compact)
        {
            let mut start = i.saturating_sub(40);
            while !text.is_char_boundary(start) {
                start += 1;
            }
            let mut end = (i + 30).min(b.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            out.push(text[start..end].to_string());
            i += 10;
        } else {
            i += 1;
        }
    }
}

/// Appends `value` to `buf` in ASCII lower case (how class and id words are matched)
/// without a string of its own: the walks below do this for every element of a page.
pub(crate) fn push_lowercase(buf: &mut String, value: &str) {
    let start = buf.len();
    buf.push_str(value);
    buf[start..].make_ascii_lowercase();
}

/// What leaving an element undoes of what entering it counted.
#[derive(Clone, Copy)]
struct Exit {
    hidden: bool,
    link: bool,
    aside: bool,
    block: bool,
}

/// Walk the whole document once and collect its signals.
pub(crate) fn collect(doc: &Document) -> PageSignals {
    let mut sig = PageSignals::default();
    // (node, what leaving it undoes: None when entering)
    let mut stack: Vec<(NodeRef, Option<Exit>)> = vec![(doc.root(), None)];
    let mut hidden = 0usize;
    let mut expensive = 0usize;
    let mut links = 0usize;
    let mut asides = 0usize;
    // One buffer for every element's class/id words.
    let mut class_id = String::new();
    while let Some((node, exit)) = stack.pop() {
        if let Some(exit) = exit {
            if exit.hidden {
                hidden = hidden.saturating_sub(1);
            }
            if exit.link {
                links = links.saturating_sub(1);
            }
            if exit.aside {
                asides = asides.saturating_sub(1);
            }
            if exit.block {
                sig.visible_text.push('\n');
            }
            continue;
        }
        if node.is_text() {
            if hidden == 0 && sig.visible_text.len() < MAX_VISIBLE_TEXT {
                // read in place: `NodeRef::text` would copy it first
                node.query(|t| {
                    if let NodeData::Text { contents } = &t.data {
                        sig.visible_text.push_str(contents);
                    }
                });
            }
            continue;
        }
        if !node.is_element() && !node.is_document() {
            continue;
        }
        // One borrow of the element for its name and every attribute read below (the
        // document node has neither).
        let element = node.element_ref();
        let element = element.as_deref();
        let get = |name: &str| element.and_then(|e| attr(e, name));
        let name = element.map_or(Cow::Borrowed(""), lowercase_name);
        let name: &str = &name;
        match name {
            "script" => {
                let is_ld = get("type").is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"));
                let text = node.text();
                let parsed = if is_ld && sig.json_ld.len() < 50 {
                    parse_json_ld(&text)
                } else {
                    None
                };
                match parsed {
                    Some(v) => sig.json_ld.push(v),
                    None if sig.script_dates.len() < MAX_SCRIPT_DATES => {
                        date_snippets(&text, &mut sig.script_dates);
                    }
                    None => {}
                }
                // Script and style content is never visible: skip the subtree.
                continue;
            }
            "style" => continue,
            "meta" => {
                if let Some(content) = get("content") {
                    for key_attr in ["property", "name", "itemprop", "http-equiv"] {
                        if let Some(k) = get(key_attr) {
                            // "og:title article:title" style multi-keys are split.
                            for key in k.split_whitespace() {
                                if sig.metas.len() < MAX_ITEMS * 3 {
                                    sig.metas
                                        .push((key.to_ascii_lowercase(), content.to_string()));
                                }
                            }
                        }
                    }
                }
                continue;
            }
            "link" => {
                let rel = get("rel").map(|r| r.to_ascii_lowercase());
                if let (Some(rel), Some(href)) = (rel, get("href"))
                    && rel.split_whitespace().any(|r| r == "canonical")
                    && sig.canonical.is_none()
                {
                    sig.canonical = Some(href.trim().to_string());
                }
                continue;
            }
            "title" => {
                if sig.title_tag.is_none() {
                    sig.title_tag = clip(&node.text(), 1000);
                }
                continue;
            }
            "html" if sig.html_lang.is_none() => {
                sig.html_lang = get("lang")
                    .or_else(|| get("xml:lang"))
                    .map(|l| l.to_string());
            }
            _ => {}
        }
        // microdata, or RDFa's property="schema:dateCreated"
        let prop = get("itemprop").or_else(|| get("property"));
        if let Some(ip) = prop {
            let ip = ip.to_ascii_lowercase().replace("schema:", "");
            if ip.contains("date") && sig.metas.len() < MAX_ITEMS * 3 {
                let v = get("content")
                    .or_else(|| get("datetime"))
                    .map(|v| v.to_string())
                    .or_else(|| clip(&node.text(), MAX_SIGNAL_TEXT));
                if let Some(v) = v {
                    for key in ip.split_whitespace() {
                        sig.metas.push((key.to_string(), v.clone()));
                    }
                }
            }
        }
        if matches!(name, "h1" | "h2" | "h3" | "h4")
            && sig.headings.len() < MAX_ITEMS
            && let Some(t) = clip(&node.text(), 500)
        {
            sig.headings.push(t);
        }
        let aside_here = element.is_some_and(|e| is_aside(name, e));
        if name == "time" && sig.times.len() < MAX_ITEMS {
            let mut hint = String::new();
            let parent = node.parent();
            let parent = parent.as_ref().and_then(NodeRef::element_ref);
            for e in [element, parent.as_deref()].into_iter().flatten() {
                for a in ["class", "id", "itemprop"] {
                    if let Some(v) = attr(e, a) {
                        hint.push_str(v);
                        hint.push(' ');
                    }
                }
            }
            sig.time_places.push(Place {
                pos: sig.visible_text.len(),
                linked: links > 0,
                aside: asides > 0 || aside_here,
                update: is_update_hint(&hint.to_ascii_lowercase()),
            });
            sig.times.push(TimeNode {
                datetime: get("datetime").map(|d| d.to_string()),
                text: clip(&node.text(), MAX_SIGNAL_TEXT).unwrap_or_default(),
                hint,
                pubdate: get("pubdate").is_some(),
            });
        }
        // class/id hints: dates, authors, headlines
        class_id.clear();
        for a in ["class", "id", "itemprop", "rel"] {
            if let Some(v) = get(a) {
                push_lowercase(&mut class_id, v);
                class_id.push(' ');
            }
        }
        if !class_id.is_empty() && expensive < MAX_ITEMS * 2 && hidden == 0 {
            let date_like = is_date_hint(&class_id) && sig.date_nodes.len() < MAX_ITEMS;
            let author_like = is_author_hint(&class_id)
                && !is_not_author_hint(&class_id)
                && sig.author_nodes.len() < MAX_ITEMS;
            let headline_like = (class_id.contains("headline") || class_id.contains("title"))
                && sig.headings.len() < MAX_ITEMS
                && !matches!(name, "h1" | "h2" | "h3" | "h4" | "title" | "a" | "img");
            if date_like || author_like || headline_like {
                expensive += 1;
                let text = node.text();
                if date_like {
                    let place = Place {
                        pos: sig.visible_text.len(),
                        linked: links > 0,
                        aside: asides > 0 || aside_here,
                        update: is_update_hint(&class_id),
                    };
                    if let Some(t) = clip(&text, MAX_SIGNAL_TEXT) {
                        sig.date_nodes.push(t);
                        sig.date_node_places.push(place);
                    }
                    for a in ["title", "datetime", "content", "data-time", "data-date"] {
                        if let Some(v) = get(a)
                            && v.len() < 100
                        {
                            sig.date_nodes.push(v.to_string());
                            sig.date_node_places.push(place);
                        }
                    }
                }
                if author_like {
                    // itemprop=author often wraps itemprop=name
                    let named = node
                        .descendants_it()
                        .find(|d| d.attr("itemprop").is_some_and(|v| v.as_ref() == "name"));
                    let t = match named {
                        Some(n) => n
                            .attr("content")
                            .map(|c| c.to_string())
                            .or_else(|| clip(&n.text(), 120)),
                        None => get("content")
                            .map(|c| c.to_string())
                            .or_else(|| clip(&text, 120)),
                    };
                    if let Some(t) = t {
                        sig.author_nodes.push(t);
                    }
                }
                if headline_like && let Some(t) = clip(&text, 500) {
                    sig.headings.push(t);
                }
            }
        }
        let exit = Exit {
            hidden: is_hidden_element(name),
            link: name == "a",
            aside: aside_here,
            block: is_block_element(name),
        };
        hidden += usize::from(exit.hidden);
        links += usize::from(exit.link);
        asides += usize::from(exit.aside);
        if exit.block {
            sig.visible_text.push('\n');
        }
        stack.push((node, Some(exit)));
        // children in reverse so the first child is popped first
        stack.extend(node.children_it(true).map(|c| (c, None)));
    }
    if let Some(u) = sig.meta("og:url") {
        sig.og_url = Some(u.to_string());
    }
    sig
}

/// Class/id fragments of link lists that sit inside articles but are not part of them.
static LINK_LIST_HINTS: LazyLock<Fragments> = LazyLock::new(|| {
    Fragments::new(&[
        "also-read",
        "alsoread",
        "read-more",
        "readmore",
        "read-also",
        "related",
        "more-news",
        "morenews",
        "recommend",
        "see-also",
        "more-stories",
        "most-read",
        "mostread",
        "trending",
        "popular",
        "latest-news",
        "breadcrumb",
        "tag-list",
        "story-tags",
        "post-tags",
    ])
});

/// Class/id fragments of the byline and dateline block above an article.
static DATELINE_HINTS: LazyLock<Fragments> = LazyLock::new(|| {
    Fragments::new(&[
        "byline",
        "dateline",
        "posted-on",
        "entry-meta",
        "post-meta",
        "article-meta",
        "author",
    ])
});

/// Labels that open an in-article list of links ("আরও পড়ুন:", "Read more:").
const READ_MORE_LABELS: &[&str] = &[
    "আরও পড়ুন",
    "আরো পড়ুন",
    "আরও খবর",
    "read more",
    "also read",
    "read also",
    "related:",
    "see also",
];

/// Longest text, in bytes, that can be a "read more" label.
const READ_MORE_LABEL_LEN: usize = 40;

/// The text of `node` without its leading whitespace, or None once it passes `max` bytes.
/// Stops reading there: the first child of a wrapper is often the whole article, and
/// reading it all for every wrapper level cost more than the rest of the pass.
fn short_text(node: &NodeRef, max: usize) -> Option<String> {
    let mut text = String::new();
    for part in node.descendants_it().filter(|d| d.is_text()) {
        let part = part.text();
        text.push_str(if text.is_empty() {
            part.trim_start()
        } else {
            &part
        });
        if text.len() > max && text.trim_end().len() > max {
            return None;
        }
    }
    Some(text)
}

fn link_density(node: &NodeRef) -> f32 {
    let total = node.text().chars().filter(|c| !c.is_whitespace()).count();
    if total == 0 {
        return 1.0;
    }
    let links: usize = node
        .descendants_it()
        .filter(|d| d.has_name("a"))
        .map(|a| a.text().chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    links as f32 / total as f32
}

/// Remove what Readability tends to keep but is not the article: in-article link lists
/// ("আরও পড়ুন", related stories, tags) and the short byline/dateline block. Runs after
/// [`collect`] has read their signals, before `parse()`.
pub(crate) fn pre_clean(doc: &Document) {
    let mut doomed: Vec<NodeRef> = Vec::new();
    let mut checked = 0usize;
    let mut stack: Vec<NodeRef> = doc.body().into_iter().collect();
    // "class id", lower-cased, in one buffer for every element.
    let mut class_id = String::new();
    while let Some(node) = stack.pop() {
        if !node.is_element() {
            continue;
        }
        let Some(element) = node.element_ref() else {
            continue;
        };
        let name = lowercase_name(&element);
        if matches!(&*name, "body" | "article" | "main" | "script" | "style") {
            if name != "script" && name != "style" {
                stack.extend(node.children_it(true));
            }
            continue;
        }
        class_id.clear();
        if let Some(class) = attr(&element, "class") {
            push_lowercase(&mut class_id, class);
        }
        class_id.push(' ');
        if let Some(id) = attr(&element, "id") {
            push_lowercase(&mut class_id, id);
        }
        let mut remove = false;
        if class_id.len() > 1 && checked < MAX_ITEMS {
            if LINK_LIST_HINTS.found_in(&class_id) {
                checked += 1;
                remove = link_density(&node) >= 0.5;
            } else if DATELINE_HINTS.found_in(&class_id) {
                checked += 1;
                let len = node.text().chars().count();
                remove = len < 150
                    && !node
                        .descendants_it()
                        .any(|d| d.has_name("p") && d.text().chars().count() > 150);
            }
        }
        if !remove
            && matches!(&*name, "div" | "aside" | "section" | "ul" | "ol")
            && checked < MAX_ITEMS
        {
            // a block that opens with "আরও পড়ুন:" and is mostly links
            if let Some(t) = node
                .first_element_child()
                .and_then(|first| short_text(&first, 4 * READ_MORE_LABEL_LEN))
            {
                let t = t.to_lowercase();
                let t = t.trim();
                if t.len() < READ_MORE_LABEL_LEN
                    && READ_MORE_LABELS.iter().any(|l| t.starts_with(l))
                {
                    checked += 1;
                    remove = link_density(&node) >= 0.5;
                }
            }
        }
        if remove {
            doomed.push(node);
        } else {
            stack.extend(node.children_it(true));
        }
    }
    for n in doomed {
        n.remove_from_parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_joins_words_and_refuses_long_texts() {
        assert_eq!(
            clip("  ১২ জুলাই\n\t২০২৫ ", 20).as_deref(),
            Some("১২ জুলাই ২০২৫")
        );
        // The limit counts characters, not bytes, and the single spaces between words.
        assert_eq!(clip("আজ কাল", 6).as_deref(), Some("আজ কাল"));
        assert_eq!(clip("আজ কাল", 5), None);
        assert_eq!(clip(" \n ", 10), None);
        assert_eq!(clip("", 10), None);
        let long = "word ".repeat(10_000);
        assert_eq!(clip(&long, 300), None);
        assert_eq!(clip(&long, 49_999).map(|t| t.len()), Some(49_999));
    }

    #[test]
    fn script_dates_are_found_with_their_key() {
        let script = concat!(
            r#"var a = 12345-67, b = "1889-01-01", id = 2101;"#,
            r#"window.meta = {"datePublished":"2025-07-12T09:30:00+06:00"};"#,
            r#"var u = "https://bssnews.net/news/20250712/১২"; x = 2024/13/40"#,
        );
        let mut found = Vec::new();
        date_snippets(script, &mut found);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(
            found[0].contains(r#""datePublished":"2025-07-12T09:30"#),
            "{found:?}"
        );
        assert!(found[1].contains("/news/20250712/"), "{found:?}");
        // A separated form is not checked for a valid month: the date finder does that.
        assert!(found[2].contains("2024/13/40"), "{found:?}");
        // Nothing after the scan limit, and short texts are read without a panic.
        let mut none = Vec::new();
        date_snippets("2025-07-1", &mut none);
        date_snippets("", &mut none);
        let far = format!("{}2025-07-12", " ".repeat(MAX_SCRIPT_SCAN));
        date_snippets(&far, &mut none);
        assert!(none.is_empty(), "{none:?}");
    }
}
