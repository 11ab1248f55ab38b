//! Article links on a listing page (a home page or a section page), for sources without a
//! usable feed. Pure: HTML and its URL in, ranked candidate URLs out. A link is a candidate
//! when it stays on the same site (registrable domain, from the public suffix list), passes
//! the source's include/exclude patterns, and looks like an article: a dated or numbered
//! path, a long slug, a headline-like anchor text. Links inside navigation, headers,
//! footers, sidebars and "most read" boxes count less, since those repeat on every page.

use std::collections::HashMap;

use dom_query::{Document, NodeRef};
use regex::RegexSet;
use url::Url;

use crate::canon;

/// At most this many links of one page are looked at: a page with 50,000 links costs no
/// more than one with 5,000.
const MAX_LINKS: usize = 5_000;
/// How far up from a link to look for a navigation or sidebar container.
const MAX_ANCESTORS: usize = 12;
/// A candidate needs at least this score.
const MIN_SCORE: f32 = 1.0;

/// Regular expressions matched against canonical URLs, compiled once.
#[derive(Debug, Clone)]
pub struct Patterns {
    source: Vec<String>,
    set: RegexSet,
}

impl Patterns {
    pub fn new(patterns: Vec<String>) -> Result<Patterns, regex::Error> {
        Ok(Patterns {
            set: RegexSet::new(&patterns)?,
            source: patterns,
        })
    }

    pub fn is_match(&self, url: &str) -> bool {
        self.set.is_match(url)
    }
}

impl PartialEq for Patterns {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// A source's URL filters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkRules {
    /// When set, a link must match one of these.
    pub include: Option<Patterns>,
    /// A link matching one of these is dropped.
    pub exclude: Option<Patterns>,
}

/// A link that looks like an article.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Canonical form.
    pub url: Url,
    /// The anchor text, tidied (a headline, usually).
    pub text: String,
    pub score: f32,
    /// Found only inside navigation, header, footer, sidebar or "popular" boxes.
    pub in_boilerplate: bool,
}

/// Finds the article links of a listing page, each URL once: body links before links
/// found only in navigation or sidebars, best first within each.
pub fn discover_links(html: &str, page_url: &Url, rules: &LinkRules) -> Vec<Candidate> {
    let Some(site) = registrable_domain(page_url) else {
        return Vec::new();
    };
    let document = Document::from(html);
    let base = base_url(&document, page_url);
    let mut best: HashMap<String, Candidate> = HashMap::new();
    for node in document.select("a[href]").nodes().iter().take(MAX_LINKS) {
        let Some(href) = node.attr("href") else {
            continue;
        };
        let Some(url) = canon::canonical_url_str(&href, Some(&base)) else {
            continue; // javascript:, mailto:, data:, garbage
        };
        if registrable_domain(&url).as_deref() != Some(site.as_str()) || url == *page_url {
            continue;
        }
        let text = tidy(&node.text());
        let key = url.to_string();
        if rules.exclude.as_ref().is_some_and(|set| set.is_match(&key)) {
            continue;
        }
        let included = rules.include.as_ref().map(|set| set.is_match(&key));
        if included == Some(false) {
            continue;
        }
        let in_boilerplate = inside_boilerplate(node);
        let mut score = url_score(&url) + text_score(&text);
        if in_boilerplate {
            score -= 1.5;
        }
        if included == Some(true) {
            // The user said what an article looks like here: trust it.
            score = score.max(MIN_SCORE);
        }
        if score < MIN_SCORE {
            continue;
        }
        let candidate = Candidate {
            url,
            text,
            score,
            in_boilerplate,
        };
        match best.get_mut(&key) {
            // The same link in the body and in a sidebar is a body link.
            Some(seen) => {
                if candidate.score > seen.score {
                    *seen = candidate;
                }
            }
            None => {
                best.insert(key, candidate);
            }
        }
    }
    let mut candidates: Vec<Candidate> = best.into_values().collect();
    // Links of the page's body first, boilerplate links last, each group best first.
    candidates.sort_by(|a, b| {
        a.in_boilerplate
            .cmp(&b.in_boilerplate)
            .then_with(|| b.score.total_cmp(&a.score))
            .then_with(|| a.url.as_str().cmp(b.url.as_str()))
    });
    candidates
}

/// Feeds the page advertises with `<link rel="alternate" type="application/rss+xml">` (or
/// Atom, or JSON Feed), absolute.
pub fn advertised_feeds(html: &str, page_url: &Url) -> Vec<Url> {
    let document = Document::from(html);
    let base = base_url(&document, page_url);
    let mut feeds = Vec::new();
    for node in document.select("link[rel][href]").nodes().iter().take(100) {
        let rel = node.attr("rel").unwrap_or_default().to_ascii_lowercase();
        let kind = node.attr("type").unwrap_or_default().to_ascii_lowercase();
        let is_feed = matches!(
            kind.trim(),
            "application/rss+xml" | "application/atom+xml" | "application/feed+json"
        );
        if !rel.split_whitespace().any(|r| r == "alternate") || !is_feed {
            continue;
        }
        if let Some(url) = node
            .attr("href")
            .and_then(|href| canon::canonical_url_str(&href, Some(&base)))
            && !feeds.contains(&url)
        {
            feeds.push(url);
        }
    }
    feeds
}

/// The registrable domain ("bssnews.net" for "www.bssnews.net"), or the host itself for
/// IP addresses and names the public suffix list does not know.
pub fn registrable_domain(url: &Url) -> Option<String> {
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    if url
        .host()
        .is_some_and(|h| !matches!(h, url::Host::Domain(_)))
    {
        return Some(host);
    }
    Some(psl::domain_str(&host).map(str::to_string).unwrap_or(host))
}

fn base_url(document: &Document, page_url: &Url) -> Url {
    document
        .select("base[href]")
        .nodes()
        .first()
        .and_then(|n| n.attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone())
}

fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words in class names and ids of containers whose links repeat on every page.
const BOILERPLATE_MARKERS: &[&str] = &[
    "nav",
    "menu",
    "footer",
    "header",
    "breadcrumb",
    "sidebar",
    "widget",
    "social",
    "share",
    "popular",
    "most-read",
    "mostread",
    "most_read",
    "trending",
    "related",
    "tags",
    "topbar",
    "masthead",
    "cookie",
    "subscribe",
    "newsletter",
    "login",
];

fn inside_boilerplate(node: &NodeRef) -> bool {
    node.ancestors_it(Some(MAX_ANCESTORS)).any(|ancestor| {
        let name = ancestor
            .node_name()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(name.as_str(), "nav" | "header" | "footer" | "aside") {
            return true;
        }
        let marks = format!(
            "{} {} {}",
            ancestor.attr("class").unwrap_or_default(),
            ancestor.attr("id").unwrap_or_default(),
            ancestor.attr("role").unwrap_or_default()
        )
        .to_ascii_lowercase();
        marks.contains("navigation")
            || marks
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
                .any(|word| BOILERPLATE_MARKERS.contains(&word))
    })
}

/// Path segments of pages that list or describe rather than report.
const NON_ARTICLE_SEGMENTS: &[&str] = &[
    "tag",
    "tags",
    "category",
    "categories",
    "section",
    "sections",
    "topic",
    "topics",
    "author",
    "authors",
    "page",
    "search",
    "login",
    "signin",
    "signup",
    "register",
    "subscribe",
    "account",
    "about",
    "about-us",
    "contact",
    "contact-us",
    "privacy",
    "privacy-policy",
    "terms",
    "advertise",
    "feed",
    "rss",
    "archive",
    "archives",
    "sitemap",
    "cdn-cgi",
    "wp-admin",
    "wp-login.php",
    "shop",
    "jobs",
    "careers",
    "faq",
    "help",
];

const NON_ARTICLE_EXTENSIONS: &[&str] = &[
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".pdf", ".css", ".js", ".xml", ".zip",
    ".mp3", ".mp4", ".ico", ".json",
];

/// How article-like a URL is, from its path alone.
fn url_score(url: &Url) -> f32 {
    let path = url.path().to_ascii_lowercase();
    if NON_ARTICLE_EXTENSIONS.iter().any(|ext| path.ends_with(ext)) {
        return -10.0;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return -10.0;
    }
    let mut score = 0.0;
    if segments.iter().any(|s| NON_ARTICLE_SEGMENTS.contains(s)) {
        score -= 2.0;
    }
    // A pagination link ("?page=2") of a section is not an article.
    if url
        .query_pairs()
        .any(|(k, _)| matches!(k.as_ref(), "page" | "p" | "paged" | "offset"))
    {
        score -= 1.0;
    }
    if has_date(&segments) {
        score += 1.5;
    }
    let last = segments.last().copied().unwrap_or("");
    let digits = last.chars().filter(char::is_ascii_digit).count();
    // A numeric id: "491317", "story-123456", "23646".
    if segments
        .iter()
        .any(|s| s.chars().filter(char::is_ascii_digit).count() >= 4)
    {
        score += 1.0;
    }
    // A slug of several words, in any script ("students-solar-irrigation-pump").
    let words = last.split(['-', '_']).filter(|w| !w.is_empty()).count();
    if words >= 4 {
        score += 1.0;
    } else if words == 3 {
        score += 0.5;
    }
    if segments.len() >= 2 {
        score += 0.3;
    }
    if segments.len() == 1 && words < 3 && digits < 4 {
        // "/sports", "/national": a section.
        score -= 1.0;
    }
    if last.ends_with(".html") || last.ends_with(".htm") || last.ends_with(".php") {
        score += 0.2;
    }
    score
}

/// A date in the path: /2025/07/12/, /2025-07-12/, /20250712/.
fn has_date(segments: &[&str]) -> bool {
    let year = |s: &str| s.len() == 4 && s.starts_with("19") || s.len() == 4 && s.starts_with("20");
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    segments
        .windows(2)
        .any(|w| all_digits(w[0]) && year(w[0]) && all_digits(w[1]) && w[1].len() <= 2)
        || segments.iter().any(|s| {
            let compact: String = s.chars().filter(|c| *c != '-').collect();
            (compact.len() == 8 && all_digits(&compact) && year(&compact[..4]))
                || (s.len() >= 10
                    && all_digits(&s[..4])
                    && year(&s[..4])
                    && s.as_bytes().get(4) == Some(&b'-'))
        })
}

/// Headlines are several words long; "More", "Home" and "2" are not.
fn text_score(text: &str) -> f32 {
    let words = text.split_whitespace().count();
    let chars = text.chars().count();
    if words >= 5 || chars >= 30 {
        1.0
    } else if words >= 3 || chars >= 15 {
        0.4
    } else {
        -0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://www.example-news.com.bd/").expect("valid")
    }

    const LISTING: &str = r#"<html><head><base href="https://www.example-news.com.bd/">
        <link rel="alternate" type="application/rss+xml" href="/rss.xml">
        <link rel="stylesheet" href="/s.css"></head><body>
        <header><nav><a href="/national">জাতীয়</a><a href="/sports">খেলা</a>
          <a href="/about-us">About us</a></nav></header>
        <main>
          <h2><a href="/national/2025/07/12/lavrov-meets-kim-in-wonsan?utm_source=home">লাভরভ ও কিমের বৈঠক, আলোচনায় নিরাপত্তা</a></h2>
          <h2><a href="https://m.example-news.com.bd/district/343604">Homestead gardening makes rural communities self-reliant</a></h2>
          <h2><a href="/national/2025/07/12/lavrov-meets-kim-in-wonsan#comments">মন্তব্য</a></h2>
          <a href="/tag/politics">Politics</a>
          <a href="/national?page=2">2</a>
          <a href="https://other-site.com/2025/07/12/some-story-about-things">Elsewhere story headline here</a>
          <a href="javascript:void(0)">Share</a><a href="mailto:desk@example-news.com.bd">Mail</a>
          <a href="/files/photo-of-the-day-2025.jpg">Photo of the day in full size</a>
        </main>
        <aside class="most-read"><a href="/national/2025/07/01/older-popular-story-everyone-read">Older popular story everyone read</a></aside>
        <footer><a href="/privacy-policy">Privacy policy</a></footer>
        </body></html>"#;

    #[test]
    fn finds_articles_and_skips_navigation_and_other_sites() {
        let found = discover_links(LISTING, &page(), &LinkRules::default());
        let urls: Vec<&str> = found.iter().map(|c| c.url.as_str()).collect();
        assert_eq!(
            urls,
            vec![
                "https://www.example-news.com.bd/national/2025/07/12/lavrov-meets-kim-in-wonsan",
                "https://m.example-news.com.bd/district/343604",
                "https://www.example-news.com.bd/national/2025/07/01/older-popular-story-everyone-read",
            ]
        );
        // The body link wins over the repeated comments link; the sidebar one counts less.
        assert_eq!(found[0].text, "লাভরভ ও কিমের বৈঠক, আলোচনায় নিরাপত্তা");
        assert!(!found[0].in_boilerplate);
        assert!(found[2].in_boilerplate);
    }

    #[test]
    fn include_and_exclude_patterns_decide() {
        let rules = LinkRules {
            include: Some(Patterns::new(vec![r"/district/\d+$".into()]).expect("valid")),
            exclude: None,
        };
        let found = discover_links(LISTING, &page(), &rules);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].url.as_str(),
            "https://m.example-news.com.bd/district/343604"
        );
        let rules = LinkRules {
            include: None,
            exclude: Some(Patterns::new(vec!["/national/".into()]).expect("valid")),
        };
        assert_eq!(discover_links(LISTING, &page(), &rules).len(), 1);
    }

    #[test]
    fn advertised_feeds_are_found() {
        assert_eq!(
            advertised_feeds(LISTING, &page()),
            vec![Url::parse("https://www.example-news.com.bd/rss.xml").expect("valid")]
        );
    }

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        let domain = |u: &str| registrable_domain(&Url::parse(u).expect("valid"));
        assert_eq!(
            domain("https://www.bssnews.net/x").as_deref(),
            Some("bssnews.net")
        );
        assert_eq!(
            domain("https://a.b.example.com.bd/").as_deref(),
            Some("example.com.bd")
        );
        assert_eq!(
            domain("http://127.0.0.1:8080/").as_deref(),
            Some("127.0.0.1")
        );
    }

    #[test]
    fn huge_and_hostile_pages_are_bounded() {
        let mut html = String::from("<html><body>");
        for i in 0..50_000 {
            html.push_str(&format!("<a href=\"/news/2025/07/12/story-number-{i}-of-many\">Story number {i} of very many</a>"));
        }
        html.push_str("</body></html>");
        let found = discover_links(&html, &page(), &LinkRules::default());
        assert_eq!(found.len(), MAX_LINKS);
        assert!(
            discover_links(
                "\u{0}\u{1}binary junk <<<>>>",
                &page(),
                &LinkRules::default()
            )
            .is_empty()
        );
    }
}
