//! Main-text extraction on the parsed DOM, combining trafilatura's, Readability's and
//! jusText's ideas in one linear pass over a compact copy of the page.
//!
//! The `<body>` is copied once into an arena ([`Tree`]), dropping what is never text
//! (scripts, styles, form controls, hidden elements). Per-element sums (characters,
//! characters and count of links, commas) are computed bottom-up in one pass. Then:
//!
//! 1. boilerplate is marked by tag (navigation, asides, footers, small forms, captions)
//!    and by class/id vocabulary (sharing, related stories, comments, newsletter and
//!    cookie boxes, sidebars...), judged once per distinct class list;
//! 2. the article is the first container the markup names, most specific names first
//!    (`articleBody`/`entry-content`, then `<article>`, then story and content areas,
//!    then the page's main area), when it yields enough text once its boilerplate is
//!    pruned — with the lead box written before it ("intro", "chapo", "standfirst")
//!    and the blocks that continue it in the same markup. When no container does, or
//!    its text is short and Readability's candidate scoring (paragraphs vote for their
//!    ancestors, by commas, length and link density) finds far more, the scored
//!    candidate and its siblings are the article;
//! 3. the text is written out block by block, skipping link farms and lines that are
//!    furniture by their wording ("Read more", "আরও পড়ুন", "Foto: …", "© AFP", bare
//!    timestamps), then the furniture left at both ends is trimmed by context
//!    ([`justext`]) and headings of dropped boxes go;
//! 4. when next to nothing survives, the page is read again without boilerplate marks
//!    (class names that misled, an article inside an `<aside>`).
//!
//! Everything is linear in the page size.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use dom_query::{Document, NodeData, NodeRef};

use super::fragments::{Fragments, Tokens};
use super::justext;

/// No more nodes than this are copied; the rest of a giant page is ignored.
const MAX_NODES: usize = 400_000;
/// A named container is taken when it yields two lines and this many characters.
const MIN_CONTAINER_TEXT: usize = 200;
/// A container text shorter than this is checked against candidate scoring...
const SHORT_CONTAINER: usize = 1000;
/// ...which wins when it finds this many times more.
const SCORED_OVER_SHORT: usize = 3;
/// Under this many characters the page is read again without boilerplate marks.
const RETRY_BELOW: usize = 150;

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
    /// Lowercased class attribute alone, and id alone.
    class: String,
    id: String,
    /// Text nodes: their text.
    text: String,
    parent: u32,
    children: Vec<u32>,
    /// Characters of text below (whitespace excluded).
    chars: u32,
    /// Of which inside `<a>`.
    link_chars: u32,
    /// `<a>` elements below (itself included).
    links: u32,
    /// Commas (any script) below.
    commas: u32,
    /// The element's own class/id/tag says boilerplate.
    discard: bool,
    /// It or an ancestor is boilerplate.
    under_discard: bool,
    /// It or an ancestor is navigation, an aside, a footer or a dialog by its tag.
    in_page_chrome: bool,
    score: f32,
    scored: bool,
}

struct Tree {
    nodes: Vec<Node>,
    /// Whether navigation, asides and footers may be written out (the last resort,
    /// for pages that put their article in an `<aside>`).
    keep_chrome: bool,
}

/// Extract the main text; empty when the page has none.
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
    let text = tree.choose();
    let found = text.chars().count();
    if found < RETRY_BELOW && tree.nodes[0].chars as usize > 2 * RETRY_BELOW {
        // Next to nothing survived: the page's class names misled the boilerplate
        // patterns (a "print" wrapper around the whole article, the article in an
        // `<aside>`). Read it again without them.
        tree.forget_boilerplate();
        let retry = tree.choose();
        if retry.chars().count() > 2 * found {
            return retry;
        }
    }
    text
}

/// The text of elements a site rule names as the article, in document order: each one's
/// text with the boilerplate boxes inside it pruned (unless that would leave next to
/// nothing, as for a container whose own class looks like boilerplate).
pub(crate) fn text_within(roots: &[NodeRef]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for root in roots {
        let mut tree = build(*root);
        if tree.nodes.is_empty() {
            continue;
        }
        tree.sums();
        tree.mark_boilerplate();
        let (text, _) = tree.container_text(0);
        if !text.trim().is_empty() {
            parts.push(text);
        }
    }
    parts.join("\n")
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
            // read in place: `NodeRef::text` would copy it first
            let text = n
                .query(|t| match &t.data {
                    NodeData::Text { contents } => contents.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default();
            if text.trim().is_empty() && !text.is_empty() {
                // keep one space so inline words stay apart
                push(
                    &mut nodes,
                    parent,
                    Kind::Text,
                    String::new(),
                    Default::default(),
                    " ".into(),
                );
            } else if !text.is_empty() {
                push(
                    &mut nodes,
                    parent,
                    Kind::Text,
                    String::new(),
                    Default::default(),
                    text,
                );
            }
            continue;
        }
        // one borrow of the element for its name and every attribute
        let Some(element) = n.element_ref() else {
            continue;
        };
        let tag = (*element.name.local).to_ascii_lowercase();
        if is_never_text(&tag) {
            continue;
        }
        let (mut class, mut id, mut extra) = (String::new(), String::new(), String::new());
        let mut hidden = false;
        for a in &element.attrs {
            match &*a.name.local {
                "class" => class = a.value.to_ascii_lowercase(),
                "id" => id = a.value.to_ascii_lowercase(),
                "itemprop" | "role" => {
                    extra.push(' ');
                    extra.push_str(&a.value.to_ascii_lowercase());
                }
                "hidden" => hidden = true,
                "style" => hidden |= style_hides(&a.value),
                _ => {}
            }
        }
        drop(element);
        if hidden {
            continue;
        }
        let mut hint = String::with_capacity(class.len() + id.len() + extra.len() + 1);
        hint.push_str(&class);
        if !id.is_empty() {
            hint.push(' ');
            hint.push_str(&id);
        }
        hint.push_str(&extra);
        // trimmed at the start in place (an empty class leaves a separator there)
        let leading = hint.len() - hint.trim_start().len();
        hint.drain(..leading);
        push(
            &mut nodes,
            parent,
            Kind::Element,
            tag,
            [hint, class, id],
            String::new(),
        );
        stack.extend(n.children_it(true).map(|k| (k, idx)));
    }
    Tree {
        nodes,
        keep_chrome: false,
    }
}

fn push(
    nodes: &mut Vec<Node>,
    parent: u32,
    kind: Kind,
    tag: String,
    attrs: [String; 3],
    text: String,
) {
    let [hint, class, id] = attrs;
    let idx = nodes.len() as u32;
    if parent != u32::MAX {
        nodes[parent as usize].children.push(idx);
    }
    nodes.push(Node {
        kind,
        tag,
        hint,
        class,
        id,
        text,
        parent,
        children: Vec::new(),
        chars: 0,
        link_chars: 0,
        links: 0,
        commas: 0,
        discard: false,
        under_discard: false,
        in_page_chrome: false,
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
            | "label"
            | "video"
            | "audio"
            | "map"
            | "link"
            | "meta"
            | "fieldset"
            | "legend"
            | "rt"
            | "rp"
            | "datalist"
            | "output"
            | "progress"
            | "marquee"
            | "applet"
            | "frameset"
            | "noindex"
    )
}

/// Does an inline style hide the element?
fn style_hides(style: &str) -> bool {
    let s: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    s.contains("display:none") || s.contains("visibility:hidden")
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
    // "teaser",
    "recommend",
    "outbrain",
    "taboola",
    "popular",
    "trending",
    "most-read",
    "mostread",
    "more-news",
    "morenews",
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
    "disclosure",
    "disclaimer",
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
static NEGATIVE: LazyLock<Fragments> = LazyLock::new(|| {
    Fragments::new(&[
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
    ])
});
static POSITIVE: LazyLock<Fragments> = LazyLock::new(|| {
    Fragments::new(&[
        "article", "body", "content", "entry", "hentry", "h-entry", "main", "page", "post", "text",
        "blog", "story",
    ])
});

/// The class-name vocabularies compiled once into matchers (one automaton each
/// instead of a substring search per word).
struct HintPatterns {
    boilerplate_part: Fragments,
    boilerplate_token: Tokens,
    hide_token: Tokens,
    responsive_token: Tokens,
    content_part: Fragments,
}

fn hint_patterns() -> &'static HintPatterns {
    static PATTERNS: OnceLock<HintPatterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let (hide, tokens): (Vec<&str>, Vec<&str>) = BOILERPLATE_TOKENS
            .iter()
            .partition(|t| matches!(**t, "hidden" | "hide"));
        HintPatterns {
            boilerplate_part: Fragments::new(BOILERPLATE_HINTS),
            boilerplate_token: Tokens::new(&tokens),
            hide_token: Tokens::new(&hide),
            responsive_token: Tokens::new(&[
                "xs", "sm", "md", "lg", "xl", "mobile", "desktop", "tablet", "phone", "small",
                "medium", "large",
            ]),
            content_part: Fragments::new(CONTENT_HINTS),
        }
    })
}

/// Does a class/id/role list name a boilerplate box? Each name is judged on its own;
/// WordPress's taxonomy classes on posts ("tag-social", "category-related") are not.
fn is_boilerplate_hint(hint: &str) -> bool {
    let patterns = hint_patterns();
    hint.split_ascii_whitespace().any(|name| {
        const TAXONOMY: &[&str] = &[
            "tag-",
            "category-",
            "format-",
            "type-",
            "status-",
            "postid-",
            "has-",
            "no-",
            "with-",
        ];
        if TAXONOMY.iter().any(|p| name.starts_with(p))
            || name
                .strip_prefix("post-")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        {
            return false;
        }
        patterns.boilerplate_part.found_in(name)
            || patterns.boilerplate_token.found_in(name)
            // responsive helpers ("hidden-xs") hide a box on some screens only
            || (patterns.hide_token.found_in(name) && !patterns.responsive_token.found_in(name))
    })
}

/// Class/id names of an article's lead paragraph.
fn is_lead_hint(hint: &str) -> bool {
    hint.split_ascii_whitespace().any(|name| {
        name.split(['-', '_']).any(|t| {
            matches!(
                t,
                "lead"
                    | "intro"
                    | "introtext"
                    | "excerpt"
                    | "chapo"
                    | "summary"
                    | "abstract"
                    | "standfirst"
                    | "subtitle"
                    | "subheadline"
                    | "subline"
                    | "deck"
                    | "dek"
                    | "bajada"
                    | "sapo"
                    | "entradilla"
                    | "lede"
                    | "leadtext"
            )
        }) || name.contains("teaser-text")
            || name.contains("article-teaser")
    })
}

fn is_content_hint(hint: &str) -> bool {
    hint_patterns().content_part.found_in(hint)
}

/// Class/id names of article bodies (the most specific markup).
fn is_article_body_name(w: &str) -> bool {
    static EXACT_PARTS: LazyLock<Fragments> = LazyLock::new(|| {
        Fragments::new(&[
            "entry-content",
            "article-content",
            "art-content",
            "article__content",
            "article-body",
            "article__body",
            "article_body",
            "articlebody",
            "body-text",
            "post-text",
            "post_text",
            "post-body",
            "postbody",
            "post-entry",
            "postentry",
            "post-content",
            "post_content",
            "postcontent",
            "post_inner_wrapper",
            "article-text",
            "articletext",
            "page-content",
            "text-content",
            "articlecontent",
            "article__container",
        ])
    });
    EXACT_PARTS.found_in(w)
}

/// Class/id names of story containers.
fn is_story_name(w: &str) -> bool {
    static PARTS: LazyLock<Fragments> = LazyLock::new(|| {
        Fragments::new(&[
            "story-body",
            "fulltext",
            "post-bodycopy",
            "story-content",
            "storycontent",
            "theme-content",
            "blog-content",
            "section-content",
            "single-content",
            "single-post",
            "main-column",
            "wpb_text_column",
            "field-body",
        ])
    });
    PARTS.found_in(w)
}

/// Class/id names of a page's main content area.
fn is_main_content_name(w: &str) -> bool {
    static PARTS: LazyLock<Fragments> = LazyLock::new(|| {
        Fragments::new(&[
            "content-main",
            "content_main",
            "content-body",
            "content__body",
            "contentbody",
            "main-content",
            "page-content",
        ])
    });
    PARTS.found_in(w)
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
                n.links += 1;
            }
            let (p, lc, ln) = (n.parent, n.link_chars, n.links);
            if p != u32::MAX {
                let pn = &mut self.nodes[p as usize];
                pn.chars += chars;
                pn.commas += commas;
                pn.link_chars += lc;
                pn.links += ln;
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
        // Pages repeat their class lists hundreds of times: judge each list once.
        let mut judged: HashMap<&str, (bool, bool)> = HashMap::new();
        let mut hint_says: Vec<(bool, bool)> = vec![(false, false); self.nodes.len()];
        for (n, says) in self.nodes.iter().zip(hint_says.iter_mut()) {
            if n.kind == Kind::Element && !n.hint.is_empty() {
                *says = *judged
                    .entry(n.hint.as_str())
                    .or_insert_with(|| (is_content_hint(&n.hint), is_boilerplate_hint(&n.hint)));
            }
        }
        for (i, &(content, boilerplate)) in hint_says.iter().enumerate() {
            let n = &self.nodes[i];
            if n.kind != Kind::Element {
                continue;
            }
            let discard = match n.tag.as_str() {
                // search, login, comment and newsletter forms; a form wrapping the whole
                // page (ASP.NET) is layout
                "form" => (n.chars as f32) < 0.5 * total as f32,
                // with scripting off (as here) noscript holds markup: usually tracking
                // pixels, sometimes the whole page behind an unclosed tag
                "noscript" => (n.chars as f32) < 0.5 * total as f32,
                // captions: credits and picture descriptions
                "figcaption" => true,
                // page headers are navigation; article headers hold the title and lead
                "header" => self.link_density(i) >= 0.3 || boilerplate,
                // navigation, sidebars, page footers, dialogs
                "nav" | "menu" | "aside" | "footer" | "dialog" => true,
                "body" | "html" => false,
                _ if n.hint.is_empty() || content => false,
                _ => {
                    let hit =
                        boilerplate || (n.hint.contains("teaser") && self.link_density(i) >= 0.1);
                    // A wrapper holding most of the page is layout ("has-sidebar"), not a box.
                    let big = n.chars as f32 > 0.4 * total as f32
                        && n.chars > 1000
                        && self.link_density(i) < 0.3
                        && !n.hint.contains("comment");
                    hit && !big
                }
            };
            self.nodes[i].discard = discard;
        }
        // propagate: a node below a discarded one is discarded
        self.nodes[0].under_discard = self.nodes[0].discard;
        for i in 1..self.nodes.len() {
            let p = self.nodes[i].parent as usize;
            self.nodes[i].under_discard = self.nodes[i].discard || self.nodes[p].under_discard;
            let chrome = matches!(
                self.nodes[i].tag.as_str(),
                "nav" | "menu" | "aside" | "footer" | "dialog"
            );
            self.nodes[i].in_page_chrome = chrome || self.nodes[p].in_page_chrome;
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
            if NEGATIVE.found_in(h) {
                s -= 25.0;
            }
            if POSITIVE.found_in(h) {
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
            if self.nodes[i].kind != Kind::Element || self.nodes[i].under_discard {
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
                if self.nodes[a].under_discard {
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
            if n.kind != Kind::Element || n.under_discard {
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

    /// How surely an element is the article body by its markup: 1 (named so by the
    /// content-management system) to 5 (the page's main area), `None` when it says nothing.
    fn container_level(&self, i: usize) -> Option<u8> {
        let n = &self.nodes[i];
        if !matches!(n.tag.as_str(), "article" | "div" | "main" | "section") {
            return None;
        }
        let (class, id) = (n.class.as_str(), n.id.as_str());
        let names = || class.split_ascii_whitespace().chain(std::iter::once(id));
        if class == "post"
            || class == "entry"
            || n.hint.split_ascii_whitespace().any(|w| w == "articlebody")
            || names().any(is_article_body_name)
        {
            return Some(1);
        }
        if n.tag == "article" {
            return Some(2);
        }
        if n.hint.split_ascii_whitespace().any(|w| w == "article")
            || matches!(id, "article" | "story")
            || matches!(
                class,
                "postarea" | "art-postcontent" | "text" | "cell" | "story"
            )
            || id.starts_with("primary")
            || class.starts_with("article ")
            || names().any(is_story_name)
        {
            return Some(3);
        }
        if id == "content" || class == "content" || names().any(is_main_content_name) {
            return Some(4);
        }
        if n.tag == "main"
            || class.starts_with("main")
            || id.starts_with("main")
            || n.hint.split_ascii_whitespace().any(|w| w == "main")
        {
            return Some(5);
        }
        None
    }

    /// The article: from a container the markup names; from candidate scoring when no
    /// container holds enough text, or when the container's text is short and the
    /// scored candidate holds several times more (an article the markup splits).
    fn choose(&mut self) -> String {
        let container = self.article_from_containers();
        if let Some(text) = &container
            && text.chars().count() >= SHORT_CONTAINER
        {
            return text.clone();
        }
        let scored = self.pick_candidate().map(|top| {
            let mut out = Emitter::default();
            for id in self.with_siblings(top) {
                self.emit(id, true, &mut out);
            }
            out.finish()
        });
        match (container, scored) {
            (Some(c), Some(s)) => {
                if s.chars().count() > SCORED_OVER_SHORT * c.chars().count() {
                    s
                } else {
                    c
                }
            }
            (c, s) => c.or(s).unwrap_or_default(),
        }
    }

    /// Drop every boilerplate mark and candidate score, for a second attempt.
    fn forget_boilerplate(&mut self) {
        self.keep_chrome = true;
        for n in &mut self.nodes {
            n.discard = false;
            n.under_discard = false;
            n.in_page_chrome = false;
            n.score = 0.0;
            n.scored = false;
        }
    }

    /// The article from the first container whose markup names it, most specific names
    /// first, when it holds enough text once its boilerplate is pruned; with the lead
    /// boxes before it and the blocks that continue it in the same markup.
    fn article_from_containers(&self) -> Option<String> {
        let mut firsts: [Option<usize>; 5] = [None; 5];
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if n.kind != Kind::Element || n.chars < 50 || n.in_page_chrome {
                continue;
            }
            if let Some(level) = self.container_level(i) {
                firsts[level as usize - 1].get_or_insert(i);
            }
        }
        for c in firsts.into_iter().flatten() {
            let (text, prune) = self.container_text(c);
            if text.lines().count() < 2 || text.chars().count() < MIN_CONTAINER_TEXT {
                continue;
            }
            let mut roots = self.leads_before(c);
            roots.push(c);
            roots.extend(self.same_kind_blocks(c));
            if roots.len() == 1 {
                return Some(text);
            }
            roots.sort_unstable();
            roots.dedup();
            // a lead inside a text block found twice is written once
            let all = roots.clone();
            roots.retain(|&r| !all.iter().any(|&a| a != r && self.is_ancestor(a, r)));
            let mut out = Emitter::default();
            for r in roots {
                self.emit(r, r != c || prune, &mut out);
            }
            return Some(out.finish());
        }
        None
    }

    /// The article's lead ("intro", "chapo", "standfirst"...) when the page puts it in
    /// its own box before the body container.
    fn leads_before(&self, c: usize) -> Vec<usize> {
        let mut found = Vec::new();
        let mut cur = c;
        for _ in 0..4 {
            let p = self.nodes[cur].parent;
            if p == u32::MAX || self.nodes[p as usize].tag == "body" {
                break;
            }
            for &s in &self.nodes[p as usize].children {
                let s = s as usize;
                if s == cur {
                    break;
                }
                // the box itself or the first lead-named element inside it
                let mut stack = vec![s];
                while let Some(i) = stack.pop() {
                    let n = &self.nodes[i];
                    if n.kind != Kind::Element || n.chars < 30 {
                        continue;
                    }
                    if is_lead_hint(&n.hint) {
                        if self.link_density(i) < 0.3 && n.chars < 1500 {
                            found.push(i);
                        }
                        continue;
                    }
                    stack.extend(n.children.iter().map(|&k| k as usize));
                }
            }
            cur = p as usize;
            if self.nodes[cur].tag == "article" {
                break;
            }
        }
        found
    }

    /// Blocks that continue the article body in the same markup as the chosen container
    /// (sites that write each paragraph group in its own "text module").
    fn same_kind_blocks(&self, c: usize) -> Vec<usize> {
        let n = &self.nodes[c];
        if n.class.is_empty() {
            return Vec::new();
        }
        // the region they must share with the container
        let mut scope = c;
        for _ in 0..3 {
            let p = self.nodes[scope].parent;
            if p == u32::MAX || self.nodes[p as usize].tag == "body" {
                break;
            }
            scope = p as usize;
        }
        if scope == c {
            return Vec::new();
        }
        let end = self.subtree_end(scope);
        let mut out = Vec::new();
        let mut i = scope + 1;
        while i < end {
            let m = &self.nodes[i];
            if i == c {
                i = self.subtree_end(c);
                continue;
            }
            if m.kind == Kind::Element
                && m.tag == n.tag
                && m.class == n.class
                && !self.is_ancestor(i, c)
            {
                if m.chars >= 30 && !m.under_discard {
                    out.push(i);
                }
                i = self.subtree_end(i);
                continue;
            }
            i += 1;
        }
        out
    }

    /// One past the last index of the subtree rooted at `i` (indices are in document
    /// order, a subtree is contiguous).
    fn subtree_end(&self, i: usize) -> usize {
        let mut cur = i;
        loop {
            match self.nodes[cur].children.last() {
                Some(&k) => cur = k as usize,
                None => return cur + 1,
            }
        }
    }

    /// A container's text with its boilerplate boxes pruned, unless pruning leaves almost
    /// nothing (then the boxes were the layout, not boilerplate).
    /// A container's text with its boilerplate boxes pruned, unless pruning leaves under
    /// a seventh of its text: then the "boxes" were the layout. Also says which it was.
    fn container_text(&self, c: usize) -> (String, bool) {
        let mut out = Emitter::default();
        self.emit(c, true, &mut out);
        let pruned = out.finish();
        let kept = pruned.chars().filter(|c| !c.is_whitespace()).count();
        if kept * 7 > self.nodes[c].chars as usize {
            return (pruned, true);
        }
        let mut out = Emitter::default();
        self.emit(c, false, &mut out);
        (out.finish(), false)
    }

    /// Write out the text below `root`. With `prune`, boilerplate boxes below it are
    /// skipped; link-heavy blocks are skipped always.
    fn emit(&self, root: usize, prune: bool, out: &mut Emitter) {
        // iterative walk: (node, entering)
        let mut stack: Vec<(usize, bool)> = vec![(root, true)];
        while let Some((i, entering)) = stack.pop() {
            let n = &self.nodes[i];
            if n.kind == Kind::Text {
                out.text(&n.text);
                continue;
            }
            let block = is_block(&n.tag);
            if !entering {
                if n.tag == "a" {
                    out.in_link = out.in_link.saturating_sub(1);
                }
                if heading_level(&n.tag) > 0 {
                    out.flush();
                    out.heading = 0;
                }
                if block {
                    out.flush();
                } else if matches!(n.tag.as_str(), "td" | "th") {
                    out.text(" ");
                }
                continue;
            }
            let chrome = !self.keep_chrome
                && i != root
                && matches!(
                    n.tag.as_str(),
                    "nav" | "menu" | "aside" | "footer" | "dialog"
                );
            if chrome || (prune && n.discard && i != root) || self.skip_block(i) {
                continue;
            }
            if n.tag == "br" || n.tag == "hr" {
                out.flush();
                continue;
            }
            if block {
                out.flush();
            }
            let level = heading_level(&n.tag);
            if level > 0 {
                out.flush();
                out.heading = level;
            }
            if n.tag == "a" {
                out.in_link += 1;
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
            // link farms: short all-link lists, or many links and nothing else (a list
            // of sources or recommended reading inside the article stays)
            "ul" | "ol" | "dl" => (n.chars < 100 && ld > 0.8) || (n.links > 4 && ld > 0.9),
            "div" | "section" | "table" | "tr" | "td" => ld > 0.65 && n.chars < 1000,
            "p" | "li" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => ld > 0.8 && n.chars < 200,
            _ => false,
        }
    }
}

fn heading_level(tag: &str) -> u8 {
    match tag {
        "h1" => 1,
        "h2" => 2,
        "h3" => 3,
        "h4" => 4,
        "h5" => 5,
        "h6" => 6,
        _ => 0,
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

/// One line of output: its text, the heading level (1–6) when it is a heading, and
/// how much of it sits inside links.
struct Line {
    text: String,
    heading: u8,
    chars: usize,
    link_chars: usize,
}

/// Collects the text of the chosen elements as lines, one per block.
#[derive(Default)]
struct Emitter {
    lines: Vec<Line>,
    line: String,
    /// Characters (whitespace excluded) of the current line, and of those inside links.
    line_chars: usize,
    line_links: usize,
    /// The level of the heading being written, 0 outside headings.
    heading: u8,
    /// Depth of `<a>` elements around the current text.
    in_link: u32,
}

impl Emitter {
    fn text(&mut self, t: &str) {
        self.line.push_str(t);
        let n = t.chars().filter(|c| !c.is_whitespace()).count();
        self.line_chars += n;
        if self.in_link > 0 {
            self.line_links += n;
        }
    }

    fn flush(&mut self) {
        let (chars, link_chars) = (self.line_chars, self.line_links);
        self.line_chars = 0;
        self.line_links = 0;
        let line = std::mem::take(&mut self.line);
        let trimmed = line.trim();
        if trimmed.is_empty() || is_boilerplate_line(trimmed) {
            return;
        }
        // a "heading" holding a paragraph is styling, not a title
        let heading = if trimmed.chars().count() > 100 {
            0
        } else {
            self.heading
        };
        self.lines.push(Line {
            text: trimmed.to_string(),
            heading,
            chars,
            link_chars,
        });
    }

    /// The text: furniture trimmed from both ends (see [`justext`]), then headings that
    /// head nothing dropped — a heading whose section (up to the next heading of its
    /// level or above) kept no text titled a box that was dropped ("Related").
    fn finish(mut self) -> String {
        self.flush();
        let paras: Vec<justext::Para> = self
            .lines
            .iter()
            .map(|l| justext::Para {
                text: &l.text,
                chars: l.chars,
                link_chars: l.link_chars,
                heading: l.heading > 0,
            })
            .collect();
        let kept = justext::kept_range(&paras);
        drop(paras);
        self.lines.truncate(kept.end);
        self.lines.drain(..kept.start);
        let mut out = String::new();
        for (i, l) in self.lines.iter().enumerate() {
            if l.heading > 0 {
                let heads_text = self.lines[i + 1..]
                    .iter()
                    .take_while(|next| next.heading == 0 || next.heading > l.heading)
                    .any(|next| next.heading == 0);
                if !heads_text {
                    continue;
                }
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&l.text);
        }
        out
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
    "schon gelesen",
    "zum weiterlesen",
    "weitere beiträge",
    "weitere artikel",
    "inhaltsverzeichnis",
    "quellen ausblenden",
    "vous aimerez aussi",
    "à lire également",
    "lire la suite",
    "le puede interesar",
    "te puede interesar",
    "puedes ver",
    "lea también",
    "ver también",
    "leia também",
    "leggi anche",
    "czytaj też",
    "czytaj także",
    "zobacz też",
    "zobacz także",
    "dowiedz się więcej",
    "you may be interested",
    "recommended for you",
];

/// Words that open a picture caption or credit rather than a sentence: on their own
/// ("Abbildung 4 …", "Vergrößern …"), or as a label before a colon ("Foto: …").
const CAPTION_WORDS: &[&str] = &["abbildung", "abb.", "vergrößern", "bild anzeigen"];
const CAPTION_LABELS: &[&str] = &[
    "bild", "foto", "fotos", "photo", "photos", "image", "images",
];

pub(crate) fn is_boilerplate_line(line: &str) -> bool {
    let n = line.chars().count();
    if n > 250 {
        return false;
    }
    // every pattern is a prefix of at most a few dozen characters
    let head: String = line.chars().take(64).flat_map(char::to_lowercase).collect();
    let starts = |p: &str| head.as_bytes().first() == p.as_bytes().first() && head.starts_with(p);
    let caption = CAPTION_WORDS
        .iter()
        .any(|w| starts(w) && !head[w.len()..].starts_with(char::is_alphanumeric))
        || CAPTION_LABELS.iter().any(|w| {
            starts(w)
                && head[w.len()..]
                    .trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ')
                    .starts_with(':')
        });
    // credits: "Marco Odermatt, Ski-Star. © AFP"
    if caption || (n <= 150 && line.contains('©')) {
        return true;
    }
    if n > 120 {
        return false;
    }
    if BOILERPLATE_STARTS.iter().any(|p| starts(p)) {
        return true;
    }
    // bare timestamps and counters: "19:49", "3:59 PM", "23.10.2018"
    if n <= 22 {
        let rest: String = head
            .chars()
            .filter(|c| !c.is_ascii_digit() && !matches!(c, '.' | ':' | '/' | '-' | ',' | ' '))
            .collect();
        let digits = head.chars().filter(|c| c.is_ascii_digit()).count();
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

    const PROSE: &str = "<p>The council published the figures on Monday, and they show, for \
                         the first time, how the money the city raises is spent on its schools, \
                         its roads and its parks.</p>";

    #[test]
    fn a_named_body_wins_inside_a_wrapper_named_like_a_sidebar() {
        // "wsidebar" is a layout modifier; the body inside it is still the article
        let html = format!(
            "<body><div class='pagebody pagebody--wsidebar'><div class=newsticker><ul>\
             <li><a href=/a>Ticker one, a headline of some length</a></li>\
             <li><a href=/b>Ticker two, another headline</a></li></ul></div>\
             <article><div class=entry-content>{PROSE}{PROSE}</div></article></div>\
             <div class=cookie-modal><p>{}</p></div></body>",
            "We use cookies to improve the site, to measure our reach and to show you \
             advertising that fits, and you can change that at any time."
                .repeat(3)
        );
        let t = run(&html);
        assert!(t.starts_with("The council published"), "{t}");
        assert!(!t.contains("Ticker") && !t.contains("cookies"), "{t}");
    }

    #[test]
    fn the_lead_box_and_continued_text_blocks_belong_to_the_article() {
        let html = format!(
            "<body><article><header><h1>Budget</h1><div class=article-intro><p>The city \
             spends more on schools than ever before.</p></div></header>\
             <div class=text-module>{PROSE}</div><figure><img src=x.jpg></figure>\
             <div class=text-module><p>A second block of the article, written in its own \
             module, continues the story with the reactions of the parents.</p></div>\
             </article><div class=related><a href=/x>Other story</a></div></body>"
        );
        let t = run(&html);
        assert!(t.contains("spends more on schools"), "lead missing: {t}");
        assert!(t.contains("The council published"), "{t}");
        assert!(
            t.contains("reactions of the parents"),
            "second module missing: {t}"
        );
        assert!(!t.contains("Other story"), "{t}");
    }

    #[test]
    fn furniture_at_the_ends_and_titles_of_dropped_boxes_go() {
        let html = format!(
            "<body><div class=entry-content><p><a href=/>Home</a> / <a href=/news>News</a></p>\
             {PROSE}<p>Foto: Jane Doe / Agency</p>{PROSE}\
             <p>Marco Odermatt at the finish. © AFP</p>\
             <h3>Mehr zum Thema</h3><ul><li><a href=/1>One linked story</a></li>\
             <li><a href=/2>Another linked story</a></li><li><a href=/3>A third one</a></li>\
             <li><a href=/4>A fourth</a></li><li><a href=/5>And a fifth</a></li></ul>\
             <p>Czytaj też: inny artykuł</p><p><a href=/share>Share</a></p></div></body>"
        );
        let t = run(&html);
        assert!(t.starts_with("The council published"), "{t}");
        assert!(t.ends_with("and its parks."), "{t}");
        for gone in [
            "Home",
            "Foto:",
            "© AFP",
            "Mehr zum Thema",
            "Czytaj",
            "Share",
        ] {
            assert!(!t.contains(gone), "{gone} kept: {t}");
        }
    }

    #[test]
    fn articles_hidden_by_markup_are_still_found() {
        // with scripting off, an unclosed tag inside <noscript> swallows the page
        let html = format!("<body><noscript><div id=nojs></noscript><div>{PROSE}{PROSE}</div>");
        assert!(run(&html).contains("The council published"));
        // the article in an <aside>, the only text of the page
        let html =
            format!("<body><aside class=content-pane><div>{PROSE}{PROSE}{PROSE}</div></aside>");
        assert!(run(&html).contains("The council published"));
        // a "print" wrapper around the whole article
        let html = format!("<body><div class=print-step><div>{PROSE}{PROSE}{PROSE}</div></div>");
        assert!(run(&html).contains("The council published"));
    }

    #[test]
    fn boilerplate_lines_by_their_wording() {
        for line in [
            "Read more: other story",
            "আরও পড়ুন: অন্য খবর",
            "Schon gelesen?",
            "Le puede interesar: otra nota",
            "Abbildung 4: Schwachschicht",
            "Foto: Andina",
            "Bild anzeigen",
            "Rust am Neusiedler See. © Falstaff",
            "23.10.2018",
        ] {
            assert!(is_boilerplate_line(line), "{line}");
        }
        for line in [
            "Bilder sagen mehr als Worte, sagt die Ausstellung.",
            "Photographers gathered at the border on Monday.",
            "2018 war ein gutes Jahr.",
        ] {
            assert!(!is_boilerplate_line(line), "{line}");
        }
    }
}
