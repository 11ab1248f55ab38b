//! Article extraction: HTML text + page URL -> [`Extracted`] (main text, title, authors,
//! dates, language, site name, canonical URL, description). Pure: no I/O, no clock.
//!
//! The page is parsed once, by `dom_smoothie` (a Readability port). Before Readability
//! rewrites the document we walk it once to collect the signals metadata and dates need
//! ([`page`]), and once more to pick the main text ourselves ([`body`]: boilerplate
//! patterns, candidate scoring, link density, line filters). Readability's own text is
//! the fallback when ours is empty or far shorter. [`meta`] and [`dates`] decide the
//! fields from those signals. Hostile input is bounded first ([`fallback`]): oversized
//! pages are cut, and pathologically nested markup (which makes HTML tree building
//! quadratic) skips the DOM for a linear scanner.

mod body;
mod dates;
mod fallback;
mod meta;
mod page;
mod text;

pub use dates::parse_date;

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use dom_smoothie::{Config, Readability, ReadabilityError, TextMode};

/// Pages larger than this are cut (at a character boundary): no article needs more, and
/// it bounds the time and memory one page can take.
const MAX_HTML_BYTES: usize = 12 * 1024 * 1024;
/// Element nesting beyond this is not a real page; such input skips the DOM.
const MAX_NESTING: usize = 600;
/// Readability's scoring is superlinear in the element count; beyond this many elements
/// the visible text is used instead.
const MAX_ELEMENTS: usize = 250_000;

/// What the caller knows about a page besides its HTML.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// The URL the page was fetched from (after redirects), used to resolve relative links.
    pub url: Option<url::Url>,
    /// Time zone assumed for dates that carry no offset.
    pub timezone: Tz,
    /// Dates later than this are rejected as impossible (never a date from the future).
    pub not_after: Option<DateTime<chrono::Utc>>,
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

/// What Readability itself found, used as one signal among others.
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
    let cfg = Config {
        text_mode: TextMode::Formatted,
        max_elements_to_parse: MAX_ELEMENTS,
        ..Config::default()
    };
    let mut readability = match Readability::new(html, None, Some(cfg)) {
        Ok(r) => r,
        Err(_) => return without_dom(html, options),
    };
    // Read the signals before `parse()`: it strips scripts (JSON-LD), removes the
    // byline node and replaces the document with the article.
    let sig = page::collect(&readability.doc);
    page::pre_clean(&readability.doc);
    let own = text::tidy_text(&body::extract_body(&readability.doc));
    let (guess, body) = match readability.parse() {
        Ok(a) => (
            ReadabilityGuess {
                title: Some(a.title),
                byline: a.byline,
                site_name: a.site_name,
                excerpt: a.excerpt,
            },
            text::tidy_text(&a.text_content),
        ),
        Err(ReadabilityError::TooManyElements(..)) => (
            ReadabilityGuess::default(),
            text::tidy_text(&sig.visible_text),
        ),
        Err(e) => {
            tracing::debug!("no article found: {e}");
            (ReadabilityGuess::default(), String::new())
        }
    };
    let body = choose_text(own, body);
    assemble(&sig, &guess, body, options)
}

/// Our own extraction unless it found (next to) nothing and Readability found more.
fn choose_text(own: String, readability: String) -> String {
    // Readability wins when we found next to nothing, or far less than it did
    // (an article split over sibling containers, an unusual layout).
    let (o, r) = (own.chars().count(), readability.chars().count());
    if (o < 150 && r > o) || r > 4 * o {
        filter_lines(&readability)
    } else {
        own
    }
}

/// Readability keeps lines that are page furniture by their wording; drop them.
fn filter_lines(text: &str) -> String {
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !body::is_boilerplate_line(l.trim()))
        .collect();
    kept.join("\n")
}

fn without_dom(html: &str, options: &ExtractOptions) -> Extracted {
    let sig = fallback::scan(html);
    let body = text::tidy_text(&sig.visible_text);
    assemble(&sig, &ReadabilityGuess::default(), body, options)
}

fn assemble(
    sig: &page::PageSignals,
    guess: &ReadabilityGuess,
    body: String,
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
    let (published_at, updated_at) = dates::resolve(sig, page_url, &ctx);
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
