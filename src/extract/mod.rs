//! Article extraction: HTML text + page URL -> [`Extracted`] (main text, title, authors,
//! dates, language, site name, canonical URL, description). Pure: no I/O, no clock.
//!
//! The page is parsed once (html5ever through `dom_query`, in a `dom_smoothie`
//! Readability instance whose metadata rules — JSON-LD, meta tags, the byline element —
//! serve as hints; its content scoring is not run). We walk the DOM once to collect the
//! signals metadata and dates need ([`page`]), and once more for the main text
//! ([`body`]: containers the markup names, candidate scoring, boilerplate patterns,
//! link density, and [`justext`]'s context classification to trim the ends). [`meta`]
//! and [`dates`] decide the fields from those signals. Hostile input is bounded first
//! ([`fallback`]): oversized pages are cut, and pathologically nested markup (which
//! makes HTML tree building quadratic) skips the DOM for a linear scanner.

mod body;
mod dates;
mod fallback;
mod fragments;
mod justext;
mod meta;
mod page;
mod rules;
mod text;

pub use dates::parse_date;
pub use rules::{RuleError, SiteRules};

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use dom_smoothie::Readability;

/// Pages larger than this are cut (at a character boundary): no article needs more, and
/// it bounds the time and memory one page can take.
const MAX_HTML_BYTES: usize = 12 * 1024 * 1024;
/// Tags read at most. The DOM costs a few hundred bytes per element, so a 10 MiB page of
/// a million empty elements would take hundreds of megabytes; the largest of 2,300 real
/// article pages in the evaluation sets has under 20,000.
const MAX_TAGS: usize = 100_000;
/// Element nesting beyond this is not a real page; such input skips the DOM.
const MAX_NESTING: usize = 600;

/// What the caller knows about a page besides its HTML.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// The URL the page was fetched from (after redirects), used to resolve relative links.
    pub url: Option<url::Url>,
    /// Time zone assumed for dates that carry no offset.
    pub timezone: Tz,
    /// Dates later than this are rejected as impossible (never a date from the future).
    pub not_after: Option<DateTime<chrono::Utc>>,
    /// The source's own selectors, when its pages defeat the heuristics.
    pub rules: SiteRules,
}

/// How one source's pages are read: the time zone for dates that carry no offset, and
/// the source's own selectors. What [`ExtractOptions`] needs besides the page itself.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRules {
    pub timezone: Tz,
    pub rules: SiteRules,
}

impl PageRules {
    /// Pages read in `timezone` with the heuristics alone.
    pub fn in_timezone(timezone: Tz) -> PageRules {
        PageRules {
            timezone,
            rules: SiteRules::default(),
        }
    }

    /// The options for one page fetched from `url`, rejecting dates after `not_after`.
    pub fn options(
        &self,
        url: Option<url::Url>,
        not_after: Option<DateTime<chrono::Utc>>,
    ) -> ExtractOptions {
        ExtractOptions {
            url,
            timezone: self.timezone,
            not_after,
            rules: self.rules.clone(),
        }
    }
}

/// The fields extracted from one page. Strings are Unicode NFC, trimmed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    pub authors: Vec<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// ISO 639-1 code.
    pub language: Option<String>,
    pub site_name: Option<String>,
    /// Absolute URL from `rel=canonical` or `og:url`, as the page gives it.
    pub canonical_url: Option<String>,
    pub description: Option<String>,
    /// Main text, paragraphs separated by a newline.
    pub text: String,
}

/// What Readability's metadata rules found, used as one signal among others.
#[derive(Default)]
struct ReadabilityGuess {
    title: Option<String>,
    byline: Option<String>,
    site_name: Option<String>,
    excerpt: Option<String>,
}

/// Extract an article from decoded HTML.
pub fn extract(html: &str, options: &ExtractOptions) -> Extracted {
    let html = clamp(html, MAX_HTML_BYTES);
    if html.trim().is_empty() {
        return Extracted::default();
    }
    if fallback::nesting_depth(html, MAX_NESTING) > MAX_NESTING {
        tracing::debug!("markup nested deeper than {MAX_NESTING}: extracting without a DOM");
        return without_dom(html, options);
    }
    // the linear scanner above reads any number of tags; the DOM gets a bounded number
    let html = within_tag_limit(html, MAX_TAGS);
    // dom_smoothie and dom_query are not known to panic, but one page must never take
    // down a crawl: a panic in them degrades to the DOM-free path.
    let dom = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with_dom(html, options)));
    match dom {
        Ok(e) => e,
        Err(_) => {
            tracing::warn!("article extraction panicked; using the DOM-free scanner");
            without_dom(html, options)
        }
    }
}

fn with_dom(html: &str, options: &ExtractOptions) -> Extracted {
    let readability = match Readability::new(html, None, None) {
        Ok(r) => r,
        Err(_) => return without_dom(html, options),
    };
    let rules = &options.rules;
    // the date element is read before the drops, which may well remove it from the text
    let rule_date = rules.date_text(&readability.doc);
    rules.drop_elements(&readability.doc);
    let sig = page::collect(&readability.doc);
    // Readability's metadata (JSON-LD, meta tags) without its content scoring, which
    // would cost a second pass over the page for a text ours now beats. The byline
    // element is looked for before `pre_clean` removes bylines from the body.
    let metadata = readability.get_article_metadata(readability.parse_json_ld());
    let byline = metadata
        .byline
        .clone()
        .or_else(|| byline_element(&readability.doc));
    page::pre_clean(&readability.doc);
    let roots = rules.content_roots(&readability.doc);
    let body = if roots.is_empty() {
        body::extract_body(&readability.doc)
    } else {
        body::text_within(&roots)
    };
    let body = text::tidy_text(&body);
    let guess = ReadabilityGuess {
        title: Some(metadata.title),
        byline,
        site_name: metadata.site_name,
        // Readability's fallback excerpt: the article's first paragraph
        excerpt: metadata
            .excerpt
            .or_else(|| body.lines().next().map(str::to_string)),
    };
    assemble(&sig, &guess, body, rule_date.as_deref(), options)
}

/// Readability's byline rule: the first element marked as the author (`rel=author`,
/// `itemprop=author`, or a class/id naming a byline) with a short text.
fn byline_element(doc: &dom_query::Document) -> Option<String> {
    const NAMES: &[&str] = &["byline", "author", "dateline", "writtenby", "p-author"];
    let body = doc.body()?;
    let mut stack = vec![body];
    // One buffer for the lower-cased class and id of every element.
    let mut lower = String::new();
    let mut named = |value: Option<&str>| {
        value.is_some_and(|v| {
            lower.clear();
            page::push_lowercase(&mut lower, v);
            NAMES.iter().any(|n| lower.contains(n))
        })
    };
    while let Some(node) = stack.pop() {
        let Some(element) = node.element_ref() else {
            continue;
        };
        let attr = |name: &str| page::attr(&element, name);
        let marked = attr("rel") == Some("author")
            || attr("itemprop").is_some_and(|p| p.contains("author"))
            || named(attr("class"))
            || named(attr("id"));
        if marked {
            let text = node.text();
            let len = text.trim().chars().count();
            if len > 0 && len < 100 {
                let name = node
                    .descendants_it()
                    .find(|d| d.attr("itemprop").is_some_and(|p| p.as_ref() == "name"))
                    .map_or_else(|| text.to_string(), |n| n.text().to_string());
                return Some(name.split_whitespace().collect::<Vec<_>>().join(" "));
            }
        }
        stack.extend(node.children_it(true));
    }
    None
}

fn without_dom(html: &str, options: &ExtractOptions) -> Extracted {
    let sig = fallback::scan(html);
    let body = text::tidy_text(&sig.visible_text);
    assemble(&sig, &ReadabilityGuess::default(), body, None, options)
}

fn assemble(
    sig: &page::PageSignals,
    guess: &ReadabilityGuess,
    body: String,
    rule_date: Option<&str>,
    options: &ExtractOptions,
) -> Extracted {
    let page_url = options.url.as_ref().map(url::Url::as_str);
    let site_name = meta::site_name(sig, guess.site_name.as_deref(), page_url);
    let title = meta::title(sig, guess.title.as_deref(), site_name.as_deref());
    let authors = meta::authors(sig, guess.byline.as_deref(), &body, site_name.as_deref());
    let language = if body.is_empty() {
        meta::language(sig, &text::tidy_text(&sig.visible_text))
    } else {
        meta::language(sig, &body)
    };
    let ctx = dates::DateContext {
        tz: options.timezone,
        not_after: options.not_after,
        month_first: month_first(sig, language.as_deref()),
    };
    let (mut published_at, updated_at) = dates::resolve(sig, page_url, &ctx);
    // the site's own date selector, when it reads, outranks every heuristic
    if let Some(at) = rule_date.and_then(|t| dates::parse_first(t, &ctx)) {
        published_at = Some(at.at);
    }
    Extracted {
        title,
        authors,
        published_at,
        updated_at,
        language,
        site_name,
        canonical_url: meta::canonical_url(sig, options.url.as_ref()),
        description: meta::description(sig, guess.excerpt.as_deref()),
        text: body,
    }
}

/// US English pages write 07/12/2025 for July 12; everyone else for 7 December.
fn month_first(sig: &page::PageSignals, language: Option<&str>) -> bool {
    let declared = sig.html_lang.as_deref().unwrap_or("").to_ascii_lowercase();
    declared.starts_with("en-us") || (language == Some("en") && !declared.contains('-'))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
/// `html` up to its `max`-th tag (`<`); the HTML parser closes what the cut leaves open.
fn within_tag_limit(html: &str, max: usize) -> &str {
    match html.match_indices('<').nth(max) {
        Some((at, _)) => &html[..at],
        None => html,
    }
}

fn clamp(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests;
