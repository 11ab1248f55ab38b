//! Sitemaps to URLs: sitemap indexes, urlsets with the Google News extension, plain-text URL
//! lists, and RSS/Atom feeds offered as sitemaps (sitemaps.org allows all four). Pure: the
//! caller fetches the body and follows index entries itself.
//!
//! Real sitemaps are often gzipped whatever their name says, carry wrong or no namespaces,
//! and arrive cut short, so the body is sniffed (gzip magic, `<`, root element) rather than
//! trusted, elements are matched by local name, and broken XML is read up to where it stops
//! making sense instead of being rejected. Cost is bounded by the input: decompression stops
//! at [`SitemapLimits::max_decompressed`] (a gzip bomb ends there), at most
//! [`SitemapLimits::max_urls`] entries are kept, each captured value has a size cap, and the
//! reader is a flat loop over XML events with a depth counter, never a recursion or a stack
//! of open elements.

use std::io::Read;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use quick_xml::events::{BytesRef, Event};
use url::Url;

use crate::feed::{FeedError, parse_feed};

/// Caps on what one sitemap may cost. The defaults are the protocol's own limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitemapLimits {
    /// Entries kept; the rest are dropped and the result is marked truncated.
    pub max_urls: usize,
    /// Bytes of (decompressed) body read; the rest is never inflated.
    pub max_decompressed: u64,
}

impl Default for SitemapLimits {
    fn default() -> Self {
        SitemapLimits {
            max_urls: 50_000,
            max_decompressed: 50 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Sitemap {
    /// A sitemap index: more sitemaps to fetch.
    Index(Vec<SitemapRef>),
    /// Pages (from a urlset, a text list or a feed).
    Urls(Vec<SitemapUrl>),
}

impl Sitemap {
    /// Number of entries, whichever kind.
    pub fn len(&self) -> usize {
        match self {
            Sitemap::Index(refs) => refs.len(),
            Sitemap::Urls(urls) => urls.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One `<sitemap>` of an index.
#[derive(Debug, Clone, PartialEq)]
pub struct SitemapRef {
    pub loc: Url,
    pub lastmod: Option<DateTime<FixedOffset>>,
}

/// One page.
#[derive(Debug, Clone, PartialEq)]
pub struct SitemapUrl {
    pub loc: Url,
    pub lastmod: Option<DateTime<FixedOffset>>,
    /// The Google News extension (`<news:news>`), when the entry has one.
    pub news: Option<NewsEntry>,
}

/// What a Google News sitemap says about an article.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewsEntry {
    pub publication_date: Option<DateTime<FixedOffset>>,
    pub title: Option<String>,
    pub language: Option<String>,
    /// `<news:publication><news:name>`.
    pub publication_name: Option<String>,
}

/// A parsed sitemap and what went wrong on the way without making it unusable.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSitemap {
    pub sitemap: Sitemap,
    /// Entries were dropped: more than `max_urls`, or a body over `max_decompressed`.
    pub truncated: bool,
    /// The body was broken (malformed XML, a gzip stream cut short) and was read as far as
    /// it made sense.
    pub recovered: bool,
    /// Entries left out because their `<loc>` was missing, relative, not http(s), or junk.
    pub skipped: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SitemapError {
    #[error("empty response body")]
    Empty,
    #[error("not a sitemap: the server sent an HTML page")]
    Html,
    #[error("not a sitemap: {0}")]
    Invalid(String),
    #[error("gzip body does not decompress: {0}")]
    Gzip(String),
    #[error("feed offered as a sitemap: {0}")]
    Feed(#[from] FeedError),
}

/// Parses a sitemap body (gzipped or not). `base` is the sitemap's own URL; it resolves
/// root-relative `<loc>` values. Truncation is logged; use [`parse_sitemap_detailed`] to see
/// it.
pub fn parse_sitemap(
    body: &[u8],
    base: &Url,
    limits: &SitemapLimits,
) -> Result<Sitemap, SitemapError> {
    let parsed = parse_sitemap_detailed(body, base, limits)?;
    if parsed.truncated {
        tracing::warn!(
            sitemap = %base,
            kept = parsed.sitemap.len(),
            max_urls = limits.max_urls,
            max_decompressed = limits.max_decompressed,
            "sitemap truncated at the limits"
        );
    }
    Ok(parsed.sitemap)
}

/// [`parse_sitemap`], also reporting truncation, recovery and skipped entries.
pub fn parse_sitemap_detailed(
    body: &[u8],
    base: &Url,
    limits: &SitemapLimits,
) -> Result<ParsedSitemap, SitemapError> {
    let mut truncated = false;
    let mut recovered = false;
    let inflated;
    let mut text: &[u8] = body;
    // Gzip is recognised by its magic bytes: servers send `.xml.gz` files plain and `.xml`
    // files gzipped, and Content-Type is no better.
    if body.starts_with(&[0x1F, 0x8B]) {
        let gunzipped = gunzip(body, limits.max_decompressed)?;
        truncated |= gunzipped.over_limit;
        recovered |= gunzipped.cut_short;
        inflated = gunzipped.bytes;
        text = &inflated;
    } else if let Ok(limit) = usize::try_from(limits.max_decompressed)
        && text.len() > limit
    {
        text = &text[..limit];
        truncated = true;
    }
    // UTF-16 (with a BOM) is transcoded; everything else goes to quick-xml as sent, since it
    // honours the declared encoding.
    let transcoded = utf16_to_utf8(text);
    let utf8 = transcoded.as_deref().unwrap_or(text);
    // A BOM, also after stray whitespace, is not content.
    let start = utf8
        .iter()
        .position(|b| !b.is_ascii_whitespace() && !matches!(b, 0xEF | 0xBB | 0xBF));
    let Some(start) = start else {
        return Err(SitemapError::Empty);
    };

    let mut out = if utf8[start] == b'<' {
        match &transcoded {
            // Its declaration still says UTF-16, which the UTF-8 text no longer is.
            Some(_) => parse_xml(without_declaration(&utf8[start..]), base, limits)?,
            None => parse_xml(text, base, limits)?,
        }
    } else {
        parse_text(&utf8[start..], base, limits)?
    };
    out.truncated |= truncated;
    out.recovered |= recovered;
    Ok(out)
}

struct Gunzipped {
    bytes: Vec<u8>,
    over_limit: bool,
    cut_short: bool,
}

/// Inflates at most `limit` bytes. A stream that breaks off keeps what came out before the
/// break, since sitemaps cut in transfer still list usable URLs.
fn gunzip(body: &[u8], limit: u64) -> Result<Gunzipped, SitemapError> {
    let mut decoder = flate2::read::MultiGzDecoder::new(body);
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match decoder.read(&mut chunk) {
            Ok(0) => {
                return Ok(Gunzipped {
                    bytes,
                    over_limit: false,
                    cut_short: false,
                });
            }
            Ok(n) => {
                let room = limit.saturating_sub(bytes.len() as u64);
                if n as u64 > room {
                    // `room < n <= chunk.len()`, so it fits in usize.
                    let room = usize::try_from(room).unwrap_or(0);
                    bytes.extend_from_slice(&chunk[..room]);
                    return Ok(Gunzipped {
                        bytes,
                        over_limit: true,
                        cut_short: false,
                    });
                }
                bytes.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if bytes.is_empty() => return Err(SitemapError::Gzip(e.to_string())),
            Err(_) => {
                return Ok(Gunzipped {
                    bytes,
                    over_limit: false,
                    cut_short: true,
                });
            }
        }
    }
}

/// UTF-16 bodies (with a BOM) as UTF-8; `None` for everything else.
fn utf16_to_utf8(body: &[u8]) -> Option<Vec<u8>> {
    let encoding = match body {
        [0xFF, 0xFE, ..] => encoding_rs::UTF_16LE,
        [0xFE, 0xFF, ..] => encoding_rs::UTF_16BE,
        _ => return None,
    };
    Some(
        encoding
            .decode_with_bom_removal(body)
            .0
            .into_owned()
            .into_bytes(),
    )
}

/// The document after its `<?xml …?>` declaration, if it has one.
fn without_declaration(xml: &[u8]) -> &[u8] {
    if !xml.starts_with(b"<?xml") {
        return xml;
    }
    match xml.windows(2).position(|w| w == b"?>") {
        Some(end) => &xml[end + 2..],
        None => xml,
    }
}

/// A plain-text sitemap: one absolute URL a line.
fn parse_text(
    text: &[u8],
    base: &Url,
    limits: &SitemapLimits,
) -> Result<ParsedSitemap, SitemapError> {
    let mut urls = Vec::new();
    let mut skipped = 0;
    let mut truncated = false;
    for line in text.split(|&b| b == b'\n' || b == b'\r') {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(loc) = resolve_loc(line, base) else {
            skipped += 1;
            continue;
        };
        if urls.len() == limits.max_urls {
            truncated = true;
            break;
        }
        urls.push(SitemapUrl {
            loc,
            lastmod: None,
            news: None,
        });
    }
    if urls.is_empty() {
        return Err(SitemapError::Invalid(
            "neither XML nor a list of URLs".to_string(),
        ));
    }
    Ok(ParsedSitemap {
        sitemap: Sitemap::Urls(urls),
        truncated,
        recovered: false,
        skipped,
    })
}

/// A `<loc>` (or text-list line) to a URL. Absolute http(s) URLs are kept; `/path` and
/// `//host/path` are resolved against the sitemap's URL, as their meaning is unambiguous.
/// Anything else (`page.html`, `None`, `javascript:`) is junk, not a relative URL: resolving
/// it would invent pages.
fn resolve_loc(raw: &str, base: &Url) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() || raw.chars().any(char::is_whitespace) {
        return None;
    }
    let url = if raw.starts_with('/') {
        base.join(raw).ok()?
    } else {
        Url::parse(raw).ok()?
    };
    (matches!(url.scheme(), "http" | "https") && url.has_host()).then_some(url)
}

/// Longest value kept from one element; longer `<loc>`s are junk, longer titles are cut.
const MAX_VALUE_BYTES: usize = 16 * 1024;
/// Parse errors tolerated before the rest of a broken document is given up on.
const MAX_XML_ERRORS: usize = 100;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Index,
    Urls,
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Loc,
    Lastmod,
    NewsDate,
    NewsTitle,
    NewsLanguage,
    NewsName,
}

/// The `<url>` or `<sitemap>` being read.
#[derive(Default)]
struct Entry {
    /// Depth of the entry element itself.
    depth: usize,
    loc: Option<String>,
    /// Text directly inside the entry, for indexes that put the URL there without a `<loc>`.
    bare: Capture,
    lastmod: Option<String>,
    /// Depth of `<news:news>` while inside it.
    news_depth: Option<usize>,
    news: Option<NewsFields>,
}

#[derive(Default)]
struct NewsFields {
    date: Option<String>,
    title: Option<String>,
    language: Option<String>,
    name: Option<String>,
}

/// Text collected for one value, capped at [`MAX_VALUE_BYTES`].
#[derive(Default)]
struct Capture {
    text: String,
    overflow: bool,
}

impl Capture {
    fn push(&mut self, s: &str) {
        if self.text.len() + s.len() > MAX_VALUE_BYTES {
            self.overflow = true;
            let mut end = MAX_VALUE_BYTES.saturating_sub(self.text.len()).min(s.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&s[..end]);
        } else {
            self.text.push_str(s);
        }
    }
}

struct XmlState<'a> {
    base: &'a Url,
    max: usize,
    kind: Option<Kind>,
    depth: usize,
    entry: Option<Entry>,
    /// The field being captured and its text.
    field: Option<(Field, Capture)>,
    refs: Vec<SitemapRef>,
    urls: Vec<SitemapUrl>,
    skipped: usize,
    full: bool,
}

fn parse_xml(
    text: &[u8],
    base: &Url,
    limits: &SitemapLimits,
) -> Result<ParsedSitemap, SitemapError> {
    let mut reader = quick_xml::Reader::from_reader(text);
    let config = reader.config_mut();
    // Broken sitemaps are read, not rejected: mismatched or stray end tags and a bare `&`
    // are let through.
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;

    let mut state = XmlState {
        base,
        max: limits.max_urls,
        kind: None,
        depth: 0,
        entry: None,
        field: None,
        refs: Vec::new(),
        urls: Vec::new(),
        skipped: 0,
        full: false,
    };
    let mut root: Option<String> = None;
    let mut errors = 0;
    let mut recovered = false;
    let mut buf = Vec::new();
    let mut last_error_at = None;
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(_) => {
                recovered = true;
                errors += 1;
                let at = reader.buffer_position();
                // quick-xml moves past what it could not read; if it stops moving, or the
                // document is mostly errors, what is left is not worth reading.
                if errors > MAX_XML_ERRORS || last_error_at == Some(at) {
                    break;
                }
                last_error_at = Some(at);
                continue;
            }
        };
        match event {
            Event::Eof => break,
            Event::DocType(doctype) => {
                if doctype
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("html")
                {
                    return Err(SitemapError::Html);
                }
            }
            Event::Start(ref start) | Event::Empty(ref start) if root.is_none() => {
                let name = start.local_name().as_ref().to_ascii_lowercase();
                match name.as_str() {
                    "urlset" => state.kind = Some(Kind::Urls),
                    "sitemapindex" => state.kind = Some(Kind::Index),
                    "html" => return Err(SitemapError::Html),
                    // sitemaps.org accepts RSS 2.0, RSS 1.0 and Atom feeds as sitemaps.
                    "rss" | "feed" | "rdf" => return parse_feed_sitemap(text, base, limits),
                    // Unknown root: read on, the first <url> or <sitemap> decides.
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    state.depth += 1;
                }
                root = Some(name);
            }
            Event::Start(start) => {
                state.depth += 1;
                state.start(start.local_name().as_ref());
            }
            Event::Empty(start) => {
                // `<loc/>` opens and closes at once.
                state.depth += 1;
                state.start(start.local_name().as_ref());
                state.end(start.local_name().as_ref());
            }
            Event::End(end) => state.end(end.local_name().as_ref()),
            Event::Text(t) => state.text(&t.xml10_content()),
            Event::CData(c) => state.cdata(&c.xml10_content()),
            Event::GeneralRef(r) => state.text(&resolve_ref(&r)),
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
        if state.full {
            break;
        }
    }
    // A document cut short may leave its last entry open with a usable <loc>.
    if !state.full && (state.depth > 0 || state.entry.is_some()) {
        recovered = true;
    }
    state.finish_field();
    state.flush();

    let Some(kind) = state.kind else {
        return Err(SitemapError::Invalid(match root {
            Some(root) => format!("root element <{root}> is neither urlset nor sitemapindex"),
            None => "no XML element".to_string(),
        }));
    };
    let sitemap = match kind {
        Kind::Index => Sitemap::Index(state.refs),
        Kind::Urls => Sitemap::Urls(state.urls),
    };
    Ok(ParsedSitemap {
        sitemap,
        truncated: state.full,
        recovered,
        skipped: state.skipped,
    })
}

impl XmlState<'_> {
    /// After `depth` was raised for the element `name`.
    fn start(&mut self, name: &str) {
        // Values are leaves; a tag inside one (often an unescaped `<`) ends it.
        self.finish_field();
        let entry_name = |kind| match kind {
            Kind::Urls => "url",
            Kind::Index => "sitemap",
        };
        let is_entry = match self.kind {
            Some(kind) => name.eq_ignore_ascii_case(entry_name(kind)),
            None if name.eq_ignore_ascii_case("url") => {
                self.kind = Some(Kind::Urls);
                true
            }
            None if name.eq_ignore_ascii_case("sitemap") => {
                self.kind = Some(Kind::Index);
                true
            }
            None => false,
        };
        if is_entry {
            // An entry opening inside another means the previous one was never closed.
            self.flush();
            self.entry = Some(Entry {
                depth: self.depth,
                ..Entry::default()
            });
            return;
        }
        let Some(entry) = &mut self.entry else {
            return;
        };
        let field = if let Some(news_depth) = entry.news_depth {
            if self.depth <= news_depth {
                None
            } else if name.eq_ignore_ascii_case("publication_date") {
                Some(Field::NewsDate)
            } else if name.eq_ignore_ascii_case("title") {
                Some(Field::NewsTitle)
            } else if name.eq_ignore_ascii_case("language") {
                Some(Field::NewsLanguage)
            } else if name.eq_ignore_ascii_case("name") {
                Some(Field::NewsName)
            } else {
                None
            }
        } else if self.depth == entry.depth + 1 {
            // Only direct children: <image:loc> and <video:player_loc> sit deeper.
            if name.eq_ignore_ascii_case("loc") {
                Some(Field::Loc)
            } else if name.eq_ignore_ascii_case("lastmod") {
                Some(Field::Lastmod)
            } else if name.eq_ignore_ascii_case("news") {
                entry.news_depth = Some(self.depth);
                entry.news.get_or_insert_with(NewsFields::default);
                None
            } else {
                None
            }
        } else {
            None
        };
        self.field = field.map(|f| (f, Capture::default()));
    }

    fn end(&mut self, name: &str) {
        self.finish_field();
        if let Some(entry) = &mut self.entry {
            if entry.news_depth == Some(self.depth) {
                entry.news_depth = None;
            }
            // Closing by name as well as by depth keeps one stray tag from gluing the rest of
            // the document into a single entry.
            let closes = self.depth == entry.depth
                || name.eq_ignore_ascii_case("url")
                || name.eq_ignore_ascii_case("sitemap");
            if closes {
                let depth = entry.depth;
                self.flush();
                self.depth = depth;
            }
        }
        self.depth = self.depth.saturating_sub(1);
    }

    fn text(&mut self, s: &str) {
        if let Some((_, capture)) = &mut self.field {
            capture.push(s);
        } else if let Some(entry) = &mut self.entry
            && self.depth == entry.depth
        {
            entry.bare.push(s);
        }
    }

    /// CDATA is literal, but news sitemaps (Rank Math among them) escape `&` inside it
    /// anyway, and a headline reading "Defender &amp; Wrangler" is never what was meant.
    fn cdata(&mut self, s: &str) {
        let display = matches!(self.field, Some((Field::NewsTitle | Field::NewsName, _)));
        if display && s.contains('&') {
            let unescaped = s
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            self.text(&unescaped);
        } else {
            self.text(s);
        }
    }

    fn finish_field(&mut self) {
        let (Some((field, capture)), Some(entry)) = (self.field.take(), &mut self.entry) else {
            return;
        };
        let value = capture.text.trim();
        if value.is_empty() {
            return;
        }
        if field == Field::Loc && capture.overflow {
            entry.loc = Some(String::new()); // too long to be a URL: skipped at flush
            return;
        }
        let value = Some(value.to_string());
        match field {
            Field::Loc => entry.loc = entry.loc.take().or(value),
            Field::Lastmod => entry.lastmod = entry.lastmod.take().or(value),
            Field::NewsDate | Field::NewsTitle | Field::NewsLanguage | Field::NewsName => {
                let news = entry.news.get_or_insert_with(NewsFields::default);
                let slot = match field {
                    Field::NewsDate => &mut news.date,
                    Field::NewsTitle => &mut news.title,
                    Field::NewsLanguage => &mut news.language,
                    _ => &mut news.name,
                };
                *slot = slot.take().or(value);
            }
        }
    }

    /// Ends the open entry, keeping it when it has a usable location.
    fn flush(&mut self) {
        let Some(entry) = self.entry.take() else {
            return;
        };
        let loc = match &entry.loc {
            Some(loc) => resolve_loc(loc, self.base),
            None if !entry.bare.overflow => resolve_loc(&entry.bare.text, self.base),
            None => None,
        };
        let Some(loc) = loc else {
            self.skipped += 1;
            return;
        };
        if self.refs.len() + self.urls.len() >= self.max {
            self.full = true;
            return;
        }
        let lastmod = entry.lastmod.as_deref().and_then(parse_datetime);
        match self.kind {
            Some(Kind::Index) => self.refs.push(SitemapRef { loc, lastmod }),
            Some(Kind::Urls) | None => self.urls.push(SitemapUrl {
                loc,
                lastmod,
                news: entry.news.map(|news| NewsEntry {
                    publication_date: news.date.as_deref().and_then(parse_datetime),
                    title: news.title,
                    language: news.language,
                    publication_name: news.name,
                }),
            }),
        }
    }
}

/// `&amp;`, `&#233;` and friends. Names XML does not predefine (`&nbsp;` from HTML-minded
/// generators) are kept as written.
fn resolve_ref(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    match &**r {
        "amp" => "&".to_string(),
        "lt" => "<".to_string(),
        "gt" => ">".to_string(),
        "quot" => "\"".to_string(),
        "apos" => "'".to_string(),
        other => format!("&{other};"),
    }
}

/// An RSS or Atom feed used as a sitemap: each item's link is a page, its date the lastmod.
fn parse_feed_sitemap(
    text: &[u8],
    base: &Url,
    limits: &SitemapLimits,
) -> Result<ParsedSitemap, SitemapError> {
    let feed = parse_feed(text, base)?;
    let mut skipped = 0;
    let mut urls = Vec::new();
    let mut truncated = false;
    for item in feed.items {
        let Some(loc) = item.link else {
            skipped += 1;
            continue;
        };
        if urls.len() == limits.max_urls {
            truncated = true;
            break;
        }
        urls.push(SitemapUrl {
            loc,
            lastmod: item.published.map(|d| d.fixed_offset()),
            news: None,
        });
    }
    Ok(ParsedSitemap {
        sitemap: Sitemap::Urls(urls),
        truncated,
        recovered: false,
        skipped,
    })
}

/// W3C datetime as sitemaps use it: `2024-05-01`, `2024-05`, `2024`, `2024-05-01T09:30Z`,
/// `2024-05-01T09:30:15+06:00`, fractions of seconds; also a space instead of `T` and no
/// offset at all (read as UTC), which real generators write. Anything else is `None`: a bad
/// date must not cost the URL.
pub fn parse_datetime(raw: &str) -> Option<DateTime<FixedOffset>> {
    let s = raw.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    let zulu;
    let s = match s.strip_suffix(['Z', 'z']) {
        Some(rest) => {
            zulu = format!("{rest}+00:00");
            zulu.as_str()
        }
        None => s,
    };
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%Y-%m-%dT%H:%M%#z",
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M%#z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(dt);
        }
    }
    let utc = |naive: NaiveDateTime| Utc.from_utc_datetime(&naive).fixed_offset();
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return Some(utc(naive));
        }
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d"))
        .or_else(|_| NaiveDate::parse_from_str(&format!("{s}-01-01"), "%Y-%m-%d"))
        .ok()?;
    Some(utc(date.and_hms_opt(0, 0, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.org/sitemap.xml").expect("valid")
    }

    fn parse(body: &[u8]) -> Result<ParsedSitemap, SitemapError> {
        parse_sitemap_detailed(body, &base(), &SitemapLimits::default())
    }

    #[test]
    fn w3c_datetimes() {
        let iso = |s: &str| parse_datetime(s).map(|d| d.to_rfc3339());
        assert_eq!(iso("2024-05-01"), Some("2024-05-01T00:00:00+00:00".into()));
        assert_eq!(iso("2024-05"), Some("2024-05-01T00:00:00+00:00".into()));
        assert_eq!(iso("2024"), Some("2024-01-01T00:00:00+00:00".into()));
        assert_eq!(
            iso(" 2024-05-01T09:30+06:00 "),
            Some("2024-05-01T09:30:00+06:00".into())
        );
        assert_eq!(
            iso("2024-05-01T09:30Z"),
            Some("2024-05-01T09:30:00+00:00".into())
        );
        assert_eq!(
            iso("2011-06-27T00:00:00.000Z"),
            Some("2011-06-27T00:00:00+00:00".into())
        );
        assert_eq!(
            iso("2024-05-01 09:30:15"),
            Some("2024-05-01T09:30:15+00:00".into())
        );
        assert_eq!(
            iso("2024-05-01T09:30:15+0530"),
            Some("2024-05-01T09:30:15+05:30".into())
        );
        assert_eq!(iso("yesterday"), None);
        assert_eq!(iso("2024-13-01"), None);
    }

    #[test]
    fn locs_are_absolute_or_root_relative() {
        let b = base();
        assert_eq!(
            resolve_loc(" https://example.org/a ", &b).map(String::from),
            Some("https://example.org/a".into())
        );
        assert_eq!(
            resolve_loc("/a?b=1", &b).map(String::from),
            Some("https://example.org/a?b=1".into())
        );
        assert_eq!(
            resolve_loc("//cdn.example.org/a", &b).map(String::from),
            Some("https://cdn.example.org/a".into())
        );
        for junk in [
            "None",
            "page.html",
            "javascript:alert(1)",
            "ftp://x/y",
            "http://a b",
        ] {
            assert_eq!(resolve_loc(junk, &b), None, "{junk}");
        }
    }

    #[test]
    fn news_fields_and_extensions() {
        let xml = br#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
            xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
            xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
          <url><image:image><image:loc>https://example.org/i.jpg</image:loc></image:image>
            <loc> https://example.org/a </loc>
            <news:news><news:publication><news:name>Daily &amp; Co</news:name>
              <news:language>bn</news:language></news:publication>
              <news:publication_date>2024-05-01T09:30:00+06:00</news:publication_date>
              <news:title><![CDATA[Title <b>]]></news:title></news:news>
          </url></urlset>"#;
        let parsed = parse(xml).expect("parses");
        let Sitemap::Urls(urls) = parsed.sitemap else {
            panic!("urlset")
        };
        assert_eq!(urls.len(), 1);
        assert_eq!(urls[0].loc.as_str(), "https://example.org/a");
        let news = urls[0].news.as_ref().expect("news");
        assert_eq!(news.publication_name.as_deref(), Some("Daily & Co"));
        assert_eq!(news.language.as_deref(), Some("bn"));
        assert_eq!(news.title.as_deref(), Some("Title <b>"));
        assert!(news.publication_date.is_some());
    }

    #[test]
    fn limits_truncate() {
        let limits = SitemapLimits {
            max_urls: 2,
            ..SitemapLimits::default()
        };
        let text = b"https://example.org/1\nhttps://example.org/2\nhttps://example.org/3\n";
        let parsed = parse_sitemap_detailed(text, &base(), &limits).expect("parses");
        assert_eq!(parsed.sitemap.len(), 2);
        assert!(parsed.truncated);
    }

    #[test]
    fn empty_and_html_are_errors() {
        assert_eq!(parse(b""), Err(SitemapError::Empty));
        assert_eq!(parse(b" \n\xEF\xBB\xBF"), Err(SitemapError::Empty));
        assert_eq!(
            parse(b"<!DOCTYPE html><html><body>x</body></html>"),
            Err(SitemapError::Html)
        );
        assert!(matches!(parse(b"<foo/>"), Err(SitemapError::Invalid(_))));
    }
}
