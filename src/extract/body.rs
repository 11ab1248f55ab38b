//! Main-text extraction on the parsed DOM, in the spirit of trafilatura and Readability.
//!
//! The `<body>` is copied once into a compact arena ([`Tree`]), dropping what is never
//! text (scripts, forms, navigation, hidden elements). Per-element sums (characters,
//! characters inside links) are computed bottom-up in one pass. Then:
//!
//! 1. boilerplate containers are marked by tag and by class/id patterns (navigation,
//!    sharing, related stories, comments, newsletter and cookie boxes, sidebars...);
//! 2. the article container is chosen by Readability's candidate scoring (paragraphs
//!    vote for their ancestors, weighted by commas, length and link density), with a
//!    bonus for the class names content-management systems give article bodies;
//! 3. its text is written out block by block, skipping link-heavy lists and blocks and
//!    short lines that are boilerplate by their wording ("Read more", "আরও পড়ুন",
//!    "Anzeige", bare timestamps...).
//!
//! Everything is linear in the page size.

use dom_query::{Document, NodeRef};

/// No more nodes than this are copied; the rest of a giant page is ignored.
const MAX_NODES: usize = 400_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Text,
    Element,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// Lowercased tag name (elements), empty for text.
    tag: String,
    /// Lowercased class, id, itemprop and role, space-separated.
    hint: String,
    /// Text nodes: their text.
    text: String,
    parent: u32,
    children: Vec<u32>,
    /// Characters of text below (whitespace excluded).
    chars: u32,
    /// Of which inside `<a>`.
    link_chars: u32,
    /// Commas (any script) below.
    commas: u32,
    discard: bool,
    score: f32,
    scored: bool,
}

struct Tree {
    nodes: Vec<Node>,
}

/// Extract the main text; empty when no article-like container is found.
pub(crate) fn extract_body(doc: &Document) -> String {
    let Some(body) = doc.body() else {
        return String::new();
    };
    let mut tree = build(body);
    if tree.nodes.is_empty() {
        return String::new();
    }
    tree.sums();
    tree.mark_boilerplate();
    let Some(top) = tree.pick_candidate() else {
        return String::new();
    };
    let mut out = Emitter::default();
    for id in tree.with_siblings(top) {
        tree.emit(id, &mut out);
    }
    out.finish()
}

fn build(body: NodeRef) -> Tree {
    let mut nodes: Vec<Node> = Vec::with_capacity(4096);
    // (dom node, parent index)
    let mut stack: Vec<(NodeRef, u32)> = vec![(body, u32::MAX)];
    while let Some((n, parent)) = stack.pop() {
        if nodes.len() >= MAX_NODES {
            break;
        }
        let idx = nodes.len() as u32;
        if n.is_text() {
            let text = n.text();
            if text.trim().is_empty() && !text.is_empty() {
                // keep one space so inline words stay apart
                push(
                    &mut nodes,
                    parent,
                    Kind::Text,
                    String::new(),
                    String::new(),
                    " ".into(),
                );
            } else if !text.is_empty() {
                push(
                    &mut nodes,
                    parent,
                    Kind::Text,
                    String::new(),
                    String::new(),
                    text.to_string(),
                );
            }
            continue;
        }
        if !n.is_element() {
            continue;
        }
        let tag = n
            .node_name()
            .map(|t| t.to_ascii_lowercase())
            .unwrap_or_default();
        if is_never_text(&tag) || is_hidden(&n) {
            continue;
        }
        let mut hint = String::new();
        for a in ["class", "id", "itemprop", "role"] {
            if let Some(v) = n.attr(a) {
                if !hint.is_empty() {
                    hint.push(' ');
                }
                hint.push_str(&v.to_ascii_lowercase());
            }
        }
        push(&mut nodes, parent, Kind::Element, tag, hint, String::new());
        let kids: Vec<NodeRef> = n.children_it(true).collect();
        for k in kids {
            stack.push((k, idx));
        }
    }
    Tree { nodes }
}

fn push(nodes: &mut Vec<Node>, parent: u32, kind: Kind, tag: String, hint: String, text: String) {
    let idx = nodes.len() as u32;
    if parent != u32::MAX {
        nodes[parent as usize].children.push(idx);
    }
    nodes.push(Node {
        kind,
        tag,
        hint,
        text,
        parent,
        children: Vec::new(),
        chars: 0,
        link_chars: 0,
        commas: 0,
        discard: false,
        score: 0.0,
        scored: false,
    });
}

/// Elements whose content is never article text.
fn is_never_text(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "head"
            | "iframe"
            | "object"
            | "embed"
            | "select"
            | "option"
            | "textarea"
            | "input"
            | "button"
            | "math"
            | "canvas"
            | "nav"
            | "menu"
            | "aside"
            | "footer"
            | "dialog"
            | "label"
            | "video"
            | "audio"
            | "map"
            | "link"
            | "meta"
    )
}

fn is_hidden(n: &NodeRef) -> bool {
    if n.has_attr("hidden") {
        return true;
    }
    if let Some(style) = n.attr("style") {
        let s: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return true;
        }
    }
    false
}

/// Class/id fragments of containers that are boilerplate whatever their content.
const BOILERPLATE_HINTS: &[&str] = &[
    "sidebar",
    "side-bar",
    "breadcrumb",
    "navigation",
    "navbar",
    "menu",
    "related",
    "share",
    "sharing",
    "social",
    "sociable",
    "newsletter",
    "subscribe",
    "cookie",
    "comment",
    "disqus",
    "widget",
    "teaser",
    "recommend",
    "outbrain",
    "taboola",
    "popular",
    "trending",
    "most-read",
    "mostread",
    "more-news",
    "morenews",
    "read-more",
    "readmore",
    "also-read",
    "alsoread",
    "read-also",
    "further-reading",
    "author-box",
    "authorbox",
    "author-bio",
    "about-author",
    "post-tags",
    "tag-list",
    "taglist",
    "tagcloud",
    "paywall",
    "jp-relatedposts",
    "yarpp",
    "post-navigation",
    "skip-link",
    "screen-reader",
    "sr-only",
    "visually-hidden",
    "byline",
    "copyright",
    "post-meta",
    "entry-meta",
    "article-meta",
    "postmeta",
    "dateline",
    "footer",
];

/// Class/id words (between `-`, `_` and spaces) of boilerplate containers.
const BOILERPLATE_TOKENS: &[&str] = &[
    "nav",
    "ad",
    "ads",
    "adv",
    "advert",
    "advertisement",
    "banner",
    "promo",
    "modal",
    "popup",
    "tags",
    "tag",
    "meta",
    "date",
    "author",
    "print",
    "header",
    "aside",
    "follow",
    "respond",
    "caption",
    "credit",
    "credits",
    "rating",
    "login",
    "signup",
    "pager",
    "pagination",
    "masthead",
    "topbar",
    "toolbar",
    "consent",
    "gdpr",
    "sponsor",
    "sponsored",
    "hidden",
    "hide",
    "kommentare",
    "werbung",
    "anzeige",
];

/// Class/id fragments of article bodies in common content-management systems.
const CONTENT_HINTS: &[&str] = &[
    "articlebody",
    "article-body",
    "article_body",
    "article__body",
    "article-content",
    "article_content",
    "article__content",
    "articlecontent",
    "article-text",
    "articletext",
    "entry-content",
    "entry_content",
    "post-content",
    "post_content",
    "postcontent",
    "post-body",
    "postbody",
    "post-entry",
    "story-body",
    "storybody",
    "story-content",
    "storycontent",
    "story-text",
    "content-body",
    "body-text",
    "bodytext",
    "news-text",
    "news-content",
    "td-post-content",
    "field-name-body",
    "field--name-body",
    "single-content",
    "main-content",
    "maincontent",
    "text-content",
    "rich-text",
    "richtext",
    "blog-content",
    "blogpost",
    "post-text",
    "detail-text",
    "details-text",
    "news-details",
    "news_details",
    "dtl_part",
];

/// Readability's hints.
const NEGATIVE: &[&str] = &[
    "hidden",
    "banner",
    "combx",
    "comment",
    "com-",
    "contact",
    "footer",
    "gdpr",
    "masthead",
    "media",
    "meta",
    "outbrain",
    "promo",
    "related",
    "scroll",
    "share",
    "shoutbox",
    "sidebar",
    "skyscraper",
    "sponsor",
    "shopping",
    "tags",
    "widget",
    "teaser",
];
const POSITIVE: &[&str] = &[
    "article", "body", "content", "entry", "hentry", "h-entry", "main", "page", "post", "text",
    "blog", "story",
];

/// Does a class/id/role list name a boilerplate box? Each name is judged on its own;
/// WordPress's taxonomy classes on posts ("tag-social", "category-related") are not.
fn is_boilerplate_hint(hint: &str) -> bool {
    hint.split_ascii_whitespace().any(|name| {
        if [
            "tag-",
            "category-",
            "format-",
            "type-",
            "status-",
            "post-",
            "postid-",
            "has-",
            "no-",
            "with-",
        ]
        .iter()
        .any(|p| name.starts_with(p))
        {
            return false;
        }
        BOILERPLATE_HINTS.iter().any(|h| name.contains(h))
            || name
                .split(['-', '_'])
                .any(|t| BOILERPLATE_TOKENS.contains(&t))
    })
}

fn is_content_hint(hint: &str) -> bool {
    hint.split_ascii_whitespace().any(|w| w == "articlebody")
        || CONTENT_HINTS.iter().any(|h| hint.contains(h))
}

fn is_comma(c: char) -> bool {
    matches!(c, ',' | '،' | '、' | '，' | '।' | ';')
}

impl Tree {
    /// Bottom-up sums; children always have larger indices than their parent.
    fn sums(&mut self) {
        for i in (0..self.nodes.len()).rev() {
            let (chars, commas) = {
                let n = &self.nodes[i];
                if n.kind == Kind::Text {
                    let mut ch = 0u32;
                    let mut co = 0u32;
                    for c in n.text.chars() {
                        if !c.is_whitespace() {
                            ch += 1;
                        }
                        if is_comma(c) {
                            co += 1;
                        }
                    }
                    (ch, co)
                } else {
                    (self.nodes[i].chars, self.nodes[i].commas)
                }
            };
            let n = &mut self.nodes[i];
            n.chars = chars;
            n.commas = commas;
            if n.kind == Kind::Element && n.tag == "a" {
                n.link_chars = n.chars;
            }
            let (p, lc) = (n.parent, n.link_chars);
            if p != u32::MAX {
                let pn = &mut self.nodes[p as usize];
                pn.chars += chars;
                pn.commas += commas;
                pn.link_chars += lc;
            }
        }
        // link_chars of an <a> inside an <a> would count twice; cap.
        for n in &mut self.nodes {
            n.link_chars = n.link_chars.min(n.chars);
        }
    }

    fn link_density(&self, i: usize) -> f32 {
        let n = &self.nodes[i];
        if n.chars == 0 {
            0.0
        } else {
            n.link_chars as f32 / n.chars as f32
        }
    }

    fn mark_boilerplate(&mut self) {
        let total = self.nodes[0].chars.max(1);
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if n.kind != Kind::Element || n.hint.is_empty() {
                if n.kind == Kind::Element && matches!(n.tag.as_str(), "header" | "figcaption") {
                    // page headers: navigation and title; captions: credits
                    let keep = n.tag == "header" && n.chars > 400 && self.link_density(i) < 0.3;
                    self.nodes[i].discard = !keep;
                }
                continue;
            }
            if matches!(n.tag.as_str(), "body" | "html") || is_content_hint(&n.hint) {
                continue;
            }
            let hit = is_boilerplate_hint(&n.hint);
            let header_like = n.tag == "header" || n.tag == "figcaption";
            if !(hit || header_like) {
                continue;
            }
            // A wrapper holding most of the page is layout ("has-sidebar"), not a box.
            let big = n.chars as f32 > 0.4 * total as f32
                && n.chars > 1000
                && self.link_density(i) < 0.3
                && !n.hint.contains("comment");
            if big && !header_like {
                continue;
            }
            if header_like && n.tag == "header" && n.chars > 400 && self.link_density(i) < 0.3 {
                continue;
            }
            self.nodes[i].discard = true;
        }
        // propagate: a node below a discarded one is discarded
        for i in 1..self.nodes.len() {
            let p = self.nodes[i].parent as usize;
            if self.nodes[p].discard {
                self.nodes[i].discard = true;
            }
        }
    }

    fn init_score(&mut self, i: usize) {
        let n = &self.nodes[i];
        let mut s: f32 = match n.tag.as_str() {
            "div" | "article" | "main" | "section" => 5.0,
            "pre" | "td" | "blockquote" => 3.0,
            "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
            _ => 0.0,
        };
        let h = n.hint.as_str();
        if !h.is_empty() {
            if NEGATIVE.iter().any(|x| h.contains(x)) {
                s -= 25.0;
            }
            if POSITIVE.iter().any(|x| h.contains(x)) {
                s += 25.0;
            }
            if is_content_hint(h) {
                s += 25.0;
            }
        }
        if n.tag == "article" {
            s += 10.0;
        }
        let n = &mut self.nodes[i];
        n.score = s;
        n.scored = true;
    }

    /// Is this element a paragraph for scoring: a `<p>`-like tag, or a div holding text
    /// directly.
    fn is_paragraph(&self, i: usize) -> bool {
        let n = &self.nodes[i];
        match n.tag.as_str() {
            "p" | "pre" | "td" | "blockquote" | "dd" => true,
            "div" | "section" | "article" | "li" | "font" | "span" | "center" => {
                // own text of at least 25 characters
                let own: usize = n
                    .children
                    .iter()
                    .map(|&c| &self.nodes[c as usize])
                    .filter(|c| c.kind == Kind::Text || is_inline(&c.tag))
                    .map(|c| c.chars as usize)
                    .sum();
                own >= 25
                    && n.children.iter().all(|&c| {
                        let c = &self.nodes[c as usize];
                        c.kind == Kind::Text || !is_block(&c.tag) || c.tag == "br"
                    })
                    && (n.tag != "span" && n.tag != "font" || own >= 80)
            }
            _ => false,
        }
    }

    fn pick_candidate(&mut self) -> Option<usize> {
        // Decided once per node: asking again for every child of a parent with 20,000
        // paragraphs made this quadratic.
        let paragraph: Vec<bool> = (0..self.nodes.len())
            .map(|i| self.nodes[i].kind == Kind::Element && self.is_paragraph(i))
            .collect();
        let mut candidates: Vec<usize> = Vec::new();
        for i in 0..self.nodes.len() {
            if self.nodes[i].kind != Kind::Element || self.nodes[i].discard {
                continue;
            }
            if !paragraph[i] {
                continue;
            }
            let n = &self.nodes[i];
            if n.chars < 25 {
                continue;
            }
            // a paragraph inside a paragraph votes once
            let p = n.parent;
            if p != u32::MAX && paragraph[p as usize] && self.nodes[p as usize].tag == "p" {
                continue;
            }
            let content = 1.0 + n.commas as f32 + (n.chars as f32 / 100.0).min(3.0);
            let mut anc = n.parent;
            let mut level = 0;
            while anc != u32::MAX && level < 5 {
                let a = anc as usize;
                if self.nodes[a].discard {
                    break;
                }
                if !self.nodes[a].scored {
                    self.init_score(a);
                    candidates.push(a);
                }
                let div = match level {
                    0 => 1.0,
                    1 => 2.0,
                    l => l as f32 * 3.0,
                };
                self.nodes[a].score += content / div;
                anc = self.nodes[a].parent;
                level += 1;
            }
        }
        if candidates.is_empty() {
            return None;
        }
        for &c in &candidates {
            let ld = self.link_density(c);
            self.nodes[c].score *= 1.0 - ld;
        }
        candidates.sort_by(|&a, &b| self.nodes[b].score.total_cmp(&self.nodes[a].score));
        let top = candidates[0];
        let top_score = self.nodes[top].score;
        // If several strong candidates share an ancestor, the article is that ancestor.
        let strong: Vec<usize> = candidates
            .iter()
            .take(5)
            .skip(1)
            .copied()
            .filter(|&c| self.nodes[c].score >= 0.75 * top_score)
            .collect();
        let mut best = top;
        if strong.len() >= 2 {
            let mut anc = self.nodes[top].parent;
            while anc != u32::MAX && self.nodes[anc as usize].tag != "body" {
                let holds = strong
                    .iter()
                    .filter(|&&c| self.is_ancestor(anc as usize, c))
                    .count();
                if holds >= 2 {
                    best = anc as usize;
                    break;
                }
                anc = self.nodes[anc as usize].parent;
            }
        }
        // climb while the parent is the only real content of its own parent
        let mut cur = best;
        loop {
            let p = self.nodes[cur].parent;
            if p == u32::MAX || self.nodes[p as usize].tag == "body" {
                break;
            }
            let pc = self.nodes[p as usize].chars.max(1);
            if self.nodes[cur].chars as f32 >= 0.9 * pc as f32 {
                cur = p as usize;
            } else {
                break;
            }
        }
        Some(cur)
    }

    fn is_ancestor(&self, a: usize, mut d: usize) -> bool {
        while d != u32::MAX as usize {
            if d == a {
                return true;
            }
            let p = self.nodes[d].parent;
            if p == u32::MAX {
                return false;
            }
            d = p as usize;
        }
        false
    }

    /// The top candidate and the siblings that belong to the article with it.
    fn with_siblings(&self, top: usize) -> Vec<usize> {
        let p = self.nodes[top].parent;
        if p == u32::MAX {
            return vec![top];
        }
        let top_score = self.nodes[top].score;
        let threshold = (top_score * 0.2).max(10.0);
        let mut out = Vec::new();
        for &s in &self.nodes[p as usize].children {
            let s = s as usize;
            if s == top {
                out.push(s);
                continue;
            }
            let n = &self.nodes[s];
            if n.kind != Kind::Element || n.discard {
                continue;
            }
            let mut append = n.scored && n.score >= threshold;
            if !append && n.tag == "p" {
                let ld = self.link_density(s);
                let len = n.chars;
                append =
                    (len > 80 && ld < 0.25) || (len > 0 && len <= 80 && ld == 0.0 && n.commas > 0);
            }
            if append {
                out.push(s);
            }
        }
        out
    }

    fn emit(&self, i: usize, out: &mut Emitter) {
        // iterative walk: (node, entering)
        let mut stack: Vec<(usize, bool)> = vec![(i, true)];
        while let Some((i, entering)) = stack.pop() {
            let n = &self.nodes[i];
            if n.kind == Kind::Text {
                out.text(&n.text);
                continue;
            }
            let block = is_block(&n.tag);
            if !entering {
                if block {
                    out.flush();
                } else if matches!(n.tag.as_str(), "td" | "th") {
                    out.text(" ");
                }
                continue;
            }
            if n.discard || self.skip_block(i) {
                continue;
            }
            if n.tag == "br" || n.tag == "hr" {
                out.flush();
                continue;
            }
            if block {
                out.flush();
            }
            stack.push((i, false));
            for &c in n.children.iter().rev() {
                stack.push((c as usize, true));
            }
        }
    }

    /// Link lists and link-heavy blocks inside the article: menus, "related" lists.
    fn skip_block(&self, i: usize) -> bool {
        let n = &self.nodes[i];
        let ld = self.link_density(i);
        match n.tag.as_str() {
            "ul" | "ol" | "dl" => ld > 0.5,
            "div" | "section" | "table" | "tr" | "td" => ld > 0.65 && n.chars < 1000,
            "p" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => ld > 0.8 && n.chars < 200,
            _ => false,
        }
    }
}

fn is_inline(tag: &str) -> bool {
    !is_block(tag)
}

fn is_block(tag: &str) -> bool {
    matches!(
        tag,
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
            | "tr"
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
            | "center"
            | "fieldset"
            | "details"
            | "summary"
            | "caption"
            | "tbody"
            | "thead"
            | "tfoot"
    )
}

#[derive(Default)]
struct Emitter {
    out: String,
    line: String,
}

impl Emitter {
    fn text(&mut self, t: &str) {
        self.line.push_str(t);
    }

    fn flush(&mut self) {
        if self.line.trim().is_empty() {
            self.line.clear();
            return;
        }
        let line = std::mem::take(&mut self.line);
        let trimmed = line.trim();
        if !is_boilerplate_line(trimmed) {
            if !self.out.is_empty() {
                self.out.push('\n');
            }
            self.out.push_str(trimmed);
        }
    }

    fn finish(mut self) -> String {
        self.flush();
        self.out
    }
}

/// Short lines that are page furniture by their wording.
const BOILERPLATE_STARTS: &[&str] = &[
    "read more",
    "read also",
    "also read",
    "see also",
    "related:",
    "related articles",
    "related stories",
    "related posts",
    "you might also like",
    "you may also like",
    "more from",
    "share this",
    "share on",
    "share:",
    "follow us",
    "subscribe",
    "sign up",
    "advertisement",
    "sponsored",
    "click here",
    "tags:",
    "filed under",
    "posted in",
    "comments",
    "leave a comment",
    "leave a reply",
    "all rights reserved",
    "copyright",
    "©",
    "anzeige",
    "- anzeige",
    "werbung",
    "lesen sie auch",
    "lesen sie hier",
    "mehr zum thema",
    "auch interessant",
    "das könnte dich",
    "das könnte sie",
    "weiterlesen",
    "weiterführende",
    "kommentare",
    "kommentar schreiben",
    "teilen",
    "jetzt teilen",
    "artikel teilen",
    "schlagwörter",
    "foto:",
    "fotos:",
    "bild:",
    "bildquelle",
    "quelle: shutterstock",
    "lade weitere",
    "newsletter",
    "publicidad",
    "lee también",
    "leer más",
    "lire aussi",
    "à lire aussi",
    "publicité",
    "আরও পড়ুন",
    "আরো পড়ুন",
    "আরও খবর",
    "আরো খবর",
    "সর্বশেষ",
    "জনপ্রিয়",
    "বিজ্ঞাপন",
    "শেয়ার",
    "সম্পর্কিত",
    "এই বিভাগের",
    "weitere informationen",
    "was sind cookies",
    "war der artikel nützlich",
    "war dieser artikel hilfreich",
    "möchten sie den artikel",
    "view comments",
    "credit:",
    "(credit",
    "crédits photo",
    "photo credit",
    "image credit",
    "bildnachweis",
    "noch keine bewertung",
    "vorschau auf den nächsten",
    "nachfolgebeitrag",
    "vorheriger beitrag",
    "nächster beitrag",
    "previous post",
    "next post",
    "previous article",
    "next article",
    "if you enjoyed",
    "unless otherwise stated",
    "discover our latest",
    "beitragsbild",
    "titelbild",
    "aufrufe:",
    "den artikel mit anderen",
    "artikel drucken",
    "print this",
    "email this",
    "more stories",
    "top stories",
    "most popular",
    "most read",
    "meistgelesen",
    "beliebteste",
    "ähnliche artikel",
    "ähnliche beiträge",
    "verwandte artikel",
    "passend dazu",
    "empfohlene artikel",
];

pub(crate) fn is_boilerplate_line(line: &str) -> bool {
    let n = line.chars().count();
    if n > 120 {
        return false;
    }
    let lower = line.to_lowercase();
    if BOILERPLATE_STARTS.iter().any(|s| lower.starts_with(s)) {
        return true;
    }
    // bare timestamps and counters: "19:49", "3:59 PM", "23.10.2018"
    if n <= 22 {
        let rest: String = lower
            .chars()
            .filter(|c| !c.is_ascii_digit() && !matches!(c, '.' | ':' | '/' | '-' | ',' | ' '))
            .collect();
        let digits = lower.chars().filter(|c| c.is_ascii_digit()).count();
        if digits >= 3 && matches!(rest.as_str(), "" | "am" | "pm" | "uhr" | "h") {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(html: &str) -> String {
        extract_body(&Document::from(html))
    }

    #[test]
    fn picks_the_article_and_drops_boilerplate() {
        let p = "<p>Ein Absatz des Artikels, lang genug, mit Kommas, Nebensätzen und Wörtern, \
                 damit er als Inhalt zählt.</p>";
        let html = format!(
            "<html><body><nav><a href=/>Home</a></nav><div class=sidebar><p>Sidebar text \
             that is long enough to be a paragraph, with commas, too.</p></div>\
             <div class=entry-content>{p}{p}{p}<p>Read more: other story</p>\
             <ul><li><a href=/x>Link one here</a></li><li><a href=/y>Link two</a></li></ul>\
             <div class=share-buttons>Teilen Facebook</div><p>19:49</p></div>\
             <footer>Impressum</footer></body></html>"
        );
        let t = run(&html);
        assert!(t.contains("Ein Absatz des Artikels"), "{t}");
        assert!(!t.contains("Sidebar"), "{t}");
        assert!(!t.contains("Read more"), "{t}");
        assert!(!t.contains("Link one"), "{t}");
        assert!(!t.contains("Teilen"), "{t}");
        assert!(!t.contains("19:49"), "{t}");
        assert!(!t.contains("Impressum"), "{t}");
    }

    #[test]
    fn bengali_sidebars_do_not_leak() {
        let p = "<p>চন্দনপুরের আমের হাটে এবার ভালো দাম পাচ্ছেন চাষিরা, ক্রেতারাও খুশি, \
                 ব্যবসায়ীরা বলছেন মৌসুম ভালো যাবে।</p>";
        let html = format!(
            "<body><div class=news-details>{p}{p}{p}</div>\
             <div class=latest><h3>সর্বশেষ</h3><ul><li><a href=/a>অন্য খবর এক</a></li>\
             <li><a href=/b>অন্য খবর দুই</a></li></ul></div>\
             <div><p>জনপ্রিয়</p></div></body>"
        );
        let t = run(&html);
        assert!(t.contains("চন্দনপুরের"), "{t}");
        assert!(
            !t.contains("সর্বশেষ") && !t.contains("জনপ্রিয়") && !t.contains("অন্য খবর"),
            "{t}"
        );
    }

    #[test]
    fn tables_and_lists_inside_the_article_are_kept() {
        let p = "<p>The council published the figures on Monday, and they show, for the \
                 first time, how the budget is spent.</p>";
        let html = format!(
            "<body><article>{p}{p}<table><tr><td>Schools</td><td>41%</td></tr></table>\
             <ul><li>First point of the plan</li><li>Second point</li></ul>{p}</article></body>"
        );
        let t = run(&html);
        assert!(t.contains("Schools 41%"), "{t}");
        assert!(t.contains("First point of the plan"), "{t}");
    }
}
