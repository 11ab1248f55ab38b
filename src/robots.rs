//! robots.txt: which URLs of a host our crawler may fetch, how long it should wait between
//! requests there, and which sitemaps the host announces. Pure: the caller fetches the file,
//! chooses [`Robots::parse`], [`Robots::allow_all`] (4xx) or [`Robots::disallow_all`] (5xx,
//! unreachable) from the outcome, and caches the result per host.
//!
//! Matching follows RFC 9309: the groups naming our product token (else the `*` groups) give
//! the rules, the longest matching pattern wins, Allow wins ties, `*` matches any run of
//! octets and a final `$` anchors the end, and both patterns and URLs are percent-encoding
//! normalised before comparison. Where the RFC is silent we do what Google's reference parser
//! does (missing colons, common misspellings of `Disallow`, user-agent values cut at the first
//! non-token character, `/index.html` allowing its directory, lines cut at 16,663 bytes), since
//! webmasters test their files against it. The parser works on bytes, so a file in Latin-1 or
//! with stray binary never fails; only the first 500 KiB are read (the RFC's minimum), which
//! bounds the work a hostile file can cause.

use std::collections::HashSet;
use std::time::Duration;

use url::Url;

/// RFC 9309 2.5: crawlers must parse at least 500 KiB. We stop there, so a 10 MB body costs
/// no more than a large real one.
pub const MAX_PARSE_BYTES: usize = 500 * 1024;

/// Google's parser keeps at most this many bytes of a line (its buffer is 8 × 2083 bytes with
/// a terminating NUL); the rest of an over-long line is dropped, not read as a new line.
const MAX_LINE_BYTES: usize = 8 * 2083 - 1;

/// Rules for one crawler on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Robots {
    policy: Policy,
    crawl_delay: Option<Duration>,
    sitemaps: Vec<Url>,
}

#[derive(Debug, Clone, PartialEq)]
enum Policy {
    AllowAll,
    DisallowAll,
    Rules(Vec<Rule>),
}

/// One Allow or Disallow line, normalised (see [`normalise`]).
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    allow: bool,
    /// Normalised pattern; a raw `*` byte is the wildcard, since literal asterisks are kept
    /// percent-encoded on both sides.
    pattern: Box<[u8]>,
    /// The pattern ended in `$`: the path must end where the pattern does.
    anchored: bool,
    /// Length used for "longest match wins": the normalised pattern, `$` included.
    specificity: usize,
}

impl Robots {
    /// Parses a robots.txt body for our crawler. `user_agent` is our full User-Agent string;
    /// its product token (`newsvault` in `newsvault/0.3 (+https://…)`) is matched against
    /// User-agent lines case-insensitively, falling back to the `*` group.
    pub fn parse(body: &[u8], user_agent: &str) -> Robots {
        let token = product_token(user_agent.as_bytes());
        let text = decode(body);
        let mut state = ParseState::default();
        for line in Lines::new(&text) {
            state.line(line, token);
        }
        state.finish()
    }

    /// Everything may be fetched: the answer for a robots.txt that is missing (4xx).
    pub fn allow_all() -> Robots {
        Robots {
            policy: Policy::AllowAll,
            crawl_delay: None,
            sitemaps: Vec::new(),
        }
    }

    /// Nothing may be fetched: the answer while robots.txt is unreachable or answers 5xx
    /// (RFC 9309 2.3.1.4), since the site may be trying to shed load.
    pub fn disallow_all() -> Robots {
        Robots {
            policy: Policy::DisallowAll,
            crawl_delay: None,
            sitemaps: Vec::new(),
        }
    }

    /// Whether our crawler may fetch `url`. Only its path and query are looked at; the caller
    /// makes sure the rules belong to the URL's scheme, host and port.
    pub fn is_allowed(&self, url: &Url) -> bool {
        let rules = match &self.policy {
            Policy::AllowAll => return true,
            Policy::DisallowAll => return false,
            Policy::Rules(rules) => rules,
        };
        let mut target = String::with_capacity(url.path().len() + 1);
        target.push_str(url.path());
        if target.is_empty() {
            target.push('/');
        }
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        // RFC 9309 2.2.2: the robots.txt file itself is implicitly allowed.
        if target == "/robots.txt" {
            return true;
        }
        let (path, _) = normalise(target.as_bytes(), Side::Path);
        let mut best_allow: Option<usize> = None;
        let mut best_disallow: Option<usize> = None;
        for rule in rules {
            let best = if rule.allow {
                &mut best_allow
            } else {
                &mut best_disallow
            };
            if best.is_some_and(|b| b >= rule.specificity) {
                continue; // cannot change the outcome; skip the match
            }
            if matches(&rule.pattern, rule.anchored, &path) {
                *best = Some(rule.specificity);
            }
        }
        match (best_allow, best_disallow) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(allow), Some(disallow)) => allow >= disallow,
        }
    }

    /// The Crawl-delay of the group that applies to us, when it gives one. Not part of RFC
    /// 9309, but many news sites set it and expect it honoured.
    pub fn crawl_delay(&self) -> Option<Duration> {
        self.crawl_delay
    }

    /// Absolute http(s) URLs from `Sitemap:` lines, wherever they stood in the file, in file
    /// order without repeats.
    pub fn sitemaps(&self) -> &[Url] {
        &self.sitemaps
    }
}

/// The product token of a User-Agent string: its leading run of token characters, so
/// `newsvault/0.3 (+https://example.org)` gives `newsvault`. RFC 9309 allows only letters,
/// `-` and `_`; digits and non-ASCII letters are accepted too because real crawlers use them.
pub fn product_token(user_agent: &[u8]) -> &[u8] {
    let trimmed = trim(user_agent);
    let end = trimmed
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80))
        .unwrap_or(trimmed.len());
    &trimmed[..end]
}

/// The parser's view of the current group, as in Google's parser: a group is a run of
/// User-agent lines followed by rules, and the next User-agent line after a rule starts a new
/// group. Only the rules that concern us are kept.
#[derive(Default)]
struct ParseState {
    /// The current group names `*`.
    in_global: bool,
    /// The current group names our product token.
    in_specific: bool,
    /// A rule has been seen since the last User-agent line.
    seen_rule: bool,
    /// Some group named our product token; then the `*` groups do not apply, even when ours
    /// has no rules.
    ever_specific: bool,
    global: Vec<Rule>,
    specific: Vec<Rule>,
    global_delay: Option<Duration>,
    specific_delay: Option<Duration>,
    sitemaps: Vec<Url>,
    seen_sitemaps: HashSet<Url>,
}

enum Key {
    UserAgent,
    Allow,
    Disallow,
    CrawlDelay,
    Sitemap,
    Other,
}

impl ParseState {
    fn line(&mut self, line: &[u8], token: &[u8]) {
        let Some((key, value)) = split_line(line) else {
            return;
        };
        match classify(key) {
            Key::UserAgent => {
                if self.seen_rule {
                    self.in_global = false;
                    self.in_specific = false;
                    self.seen_rule = false;
                }
                if value.first() == Some(&b'*')
                    && value.get(1).is_none_or(|b| b.is_ascii_whitespace())
                {
                    self.in_global = true;
                } else {
                    let theirs = product_token(value);
                    if !theirs.is_empty() && theirs.eq_ignore_ascii_case(token) {
                        self.in_specific = true;
                        self.ever_specific = true;
                    }
                }
            }
            Key::Allow | Key::Disallow => {
                // Rules before any User-agent line belong to no group (RFC 9309 2.1).
                if !self.in_global && !self.in_specific {
                    return;
                }
                self.seen_rule = true;
                // An empty Disallow allows everything, which no rule at all also does.
                if value.is_empty() {
                    return;
                }
                let allow = matches!(classify(key), Key::Allow);
                let mut rules = vec![Rule::new(allow, value)];
                // Google's reference parser: allowing /dir/index.html allows /dir/ too.
                if allow
                    && let Some(slash) = value.iter().rposition(|&b| b == b'/')
                    && value[slash..].starts_with(b"/index.htm")
                {
                    let mut dir = value[..=slash].to_vec();
                    dir.push(b'$');
                    rules.push(Rule::new(true, &dir));
                }
                for rule in rules {
                    if self.in_specific {
                        self.specific.push(rule.clone());
                    }
                    if self.in_global {
                        self.global.push(rule);
                    }
                }
            }
            Key::CrawlDelay => {
                let Some(delay) = parse_delay(value) else {
                    return;
                };
                if self.in_specific {
                    self.specific_delay.get_or_insert(delay);
                }
                if self.in_global {
                    self.global_delay.get_or_insert(delay);
                }
            }
            Key::Sitemap => {
                let text = String::from_utf8_lossy(value);
                if let Ok(url) = Url::parse(text.trim())
                    && matches!(url.scheme(), "http" | "https")
                    && self.seen_sitemaps.insert(url.clone())
                {
                    self.sitemaps.push(url);
                }
            }
            Key::Other => {}
        }
    }

    fn finish(self) -> Robots {
        let (rules, crawl_delay) = if self.ever_specific {
            (self.specific, self.specific_delay)
        } else {
            (self.global, self.global_delay)
        };
        Robots {
            policy: Policy::Rules(rules),
            crawl_delay,
            sitemaps: self.sitemaps,
        }
    }
}

impl Rule {
    fn new(allow: bool, value: &[u8]) -> Rule {
        let (pattern, anchored) = normalise(value, Side::Pattern);
        Rule {
            allow,
            specificity: pattern.len() + usize::from(anchored),
            pattern: pattern.into_boxed_slice(),
            anchored,
        }
    }
}

/// Key (case-insensitive prefix, as Google's parser compares it) to directive.
fn classify(key: &[u8]) -> Key {
    let starts = |prefix: &[u8]| {
        key.len() >= prefix.len() && key[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if starts(b"user-agent") || starts(b"useragent") {
        Key::UserAgent
    } else if starts(b"allow") {
        Key::Allow
    } else if [
        "disallow",
        "dissallow",
        "dissalow",
        "disalow",
        "diasllow",
        "disallaw",
    ]
    .iter()
    .any(|typo| starts(typo.as_bytes()))
    {
        Key::Disallow
    } else if starts(b"crawl-delay") || starts(b"crawldelay") {
        Key::CrawlDelay
    } else if starts(b"sitemap") || starts(b"site-map") {
        Key::Sitemap
    } else {
        Key::Other
    }
}

/// Splits `key: value`, dropping comments and surrounding whitespace. A line with no colon
/// is accepted when it is exactly two words (`Disallow /private`), as Google's parser does.
fn split_line(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let line = match line.iter().position(|&b| b == b'#') {
        Some(hash) => &line[..hash],
        None => line,
    };
    let line = trim(line);
    if line.is_empty() {
        return None;
    }
    if let Some(colon) = line.iter().position(|&b| b == b':') {
        let key = trim(&line[..colon]);
        return (!key.is_empty()).then(|| (key, trim(&line[colon + 1..])));
    }
    let space = line.iter().position(|&b| b == b' ' || b == b'\t')?;
    let value = trim(&line[space..]);
    if value.iter().any(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    Some((&line[..space], value))
}

/// Crawl-delay in seconds, fractions allowed. Junk after the number (`10 seconds`) is
/// ignored; negative, non-finite and absurd values are dropped.
fn parse_delay(value: &[u8]) -> Option<Duration> {
    let end = value
        .iter()
        .position(|&b| !(b.is_ascii_digit() || b == b'.'))
        .unwrap_or(value.len());
    let number = std::str::from_utf8(&value[..end]).ok()?;
    let secs: f64 = number.parse().ok()?;
    Duration::try_from_secs_f64(secs).ok()
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// The bytes to parse: at most [`MAX_PARSE_BYTES`] of the body, cut at the last line break
/// so that no rule is read half-way (a cut `Disallow: /private` would block all of `/p`),
/// transcoded when the file is UTF-16 (which some Windows servers send), without a BOM.
fn decode(body: &[u8]) -> Vec<u8> {
    let utf16 = match body {
        [0xFF, 0xFE, ..] => Some(encoding_rs::UTF_16LE),
        [0xFE, 0xFF, ..] => Some(encoding_rs::UTF_16BE),
        // No BOM, but ASCII text in UTF-16 has a NUL in every other byte.
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => Some(encoding_rs::UTF_16LE),
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => Some(encoding_rs::UTF_16BE),
        _ => None,
    };
    // UTF-16 takes two bytes a character, so read twice as many to get as much text.
    let limit = if utf16.is_some() {
        2 * MAX_PARSE_BYTES
    } else {
        MAX_PARSE_BYTES
    };
    let mut body = body;
    if body.len() > limit {
        let cut = body[..limit]
            .iter()
            .rposition(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(limit);
        body = &body[..cut];
    }
    let bytes = match utf16 {
        Some(encoding) => encoding
            .decode_with_bom_removal(body)
            .0
            .into_owned()
            .into_bytes(),
        None => body.to_vec(),
    };
    match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    }
}

/// Lines ended by LF, CRLF or a lone CR (old Mac files still served by some news sites),
/// each cut at [`MAX_LINE_BYTES`].
struct Lines<'a> {
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Lines { rest: text }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(self.rest.len());
        let line = &self.rest[..end.min(MAX_LINE_BYTES)];
        let mut next = end;
        if self.rest.get(next) == Some(&b'\r') {
            next += 1;
            if self.rest.get(next) == Some(&b'\n') {
                next += 1;
            }
        } else if next < self.rest.len() {
            next += 1;
        }
        self.rest = &self.rest[next..];
        Some(line)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Pattern,
    Path,
}

/// Brings a pattern or a URL path to one canonical form so that equal paths compare equal
/// (RFC 9309 2.2.2): `%XX` of unreserved characters is decoded, other `%xx` get upper-case
/// hex, and bytes that may not appear raw in a URL (non-ASCII, space, `<`, `"`, …) are
/// percent-encoded. Literal `*` and `$` are kept as `%2A` and `%24`, which is how a pattern
/// spells them; in a pattern a raw `*` stays as the wildcard and a final `$` is returned as
/// the anchor flag.
fn normalise(raw: &[u8], side: Side) -> (Vec<u8>, bool) {
    let (raw, anchored) = match raw.strip_suffix(b"$") {
        Some(rest) if side == Side::Pattern => (rest, true),
        _ => (raw, false),
    };
    let mut out = Vec::with_capacity(raw.len() + 8);
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%'
            && let (Some(hi), Some(lo)) = (
                raw.get(i + 1).and_then(|&h| hex_value(h)),
                raw.get(i + 2).and_then(|&l| hex_value(l)),
            )
        {
            let decoded = (hi << 4) | lo;
            if is_unreserved(decoded) {
                out.push(decoded);
            } else {
                push_encoded(&mut out, decoded);
            }
            i += 3;
            continue;
        }
        match b {
            b'*' if side == Side::Pattern => out.push(b'*'),
            b'*' | b'$' => push_encoded(&mut out, b),
            _ if is_unreserved(b) || b"%:/?#[]@!&'()+,;=".contains(&b) => out.push(b),
            _ => push_encoded(&mut out, b),
        }
        i += 1;
    }
    (out, anchored)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

fn push_encoded(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
}

/// Whether `pattern` (with `*` wildcards) matches a prefix of `path`, or all of it when
/// `anchored`. Greedy matching that backtracks only to the last `*`, which is exact for
/// patterns whose only metacharacter is `*`; no recursion, no allocation.
fn matches(pattern: &[u8], anchored: bool, path: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    loop {
        if p == pattern.len() {
            if !anchored || s == path.len() {
                return true;
            }
        } else if pattern[p] == b'*' {
            last_star = Some((p, s));
            p += 1;
            continue;
        } else if path.get(s) == Some(&pattern[p]) {
            p += 1;
            s += 1;
            continue;
        }
        // Mismatch: let the last `*` swallow one more byte, if there is one to swallow.
        match last_star {
            Some((star, swallowed)) if swallowed < path.len() => {
                last_star = Some((star, swallowed + 1));
                p = star + 1;
                s = swallowed + 1;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str) -> Url {
        Url::parse(&format!("https://example.org{path}")).expect("valid")
    }

    #[test]
    fn product_token_is_cut_from_the_user_agent() {
        assert_eq!(
            product_token(b"newsvault/0.3 (+https://example.org)"),
            b"newsvault"
        );
        assert_eq!(product_token(b"  Foo-Bot_2 x"), b"Foo-Bot_2");
        assert_eq!(product_token(b""), b"");
    }

    #[test]
    fn longest_match_wins_and_allow_wins_ties() {
        let robots = Robots::parse(
            b"User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /a/b/c\nAllow: /x\nDisallow: /x\n",
            "newsvault/1",
        );
        assert!(!robots.is_allowed(&url("/a/z")));
        assert!(robots.is_allowed(&url("/a/b/z")));
        assert!(!robots.is_allowed(&url("/a/b/c")));
        assert!(robots.is_allowed(&url("/x")));
        assert!(robots.is_allowed(&url("/robots.txt")));
    }

    #[test]
    fn wildcards_and_anchors() {
        assert!(matches(b"/*.php", false, b"/index.php?x=1"));
        assert!(matches(b"/*.php", true, b"/a/b.php"));
        assert!(!matches(b"/*.php", true, b"/a/b.php5"));
        assert!(matches(b"/a*b*c", true, b"/axxbyyc"));
        assert!(!matches(b"/a*b*c", true, b"/axxbyyc/d"));
        assert!(matches(b"*", false, b""));
        assert!(!matches(b"/fish", false, b"/Fish"));
    }

    #[test]
    fn percent_encoding_is_normalised() {
        assert_eq!(
            normalise("/b\u{fc}cher/%62%2f%7e".as_bytes(), Side::Pattern).0,
            b"/b%C3%BCcher/b%2F~"
        );
        assert_eq!(normalise(b"/x*$", Side::Pattern), (b"/x*".to_vec(), true));
        assert_eq!(normalise(b"/x*$", Side::Path).0, b"/x%2A%24");
    }

    #[test]
    fn lines_split_on_every_kind_of_line_end() {
        let lines: Vec<&[u8]> = Lines::new(b"a\r\nb\rc\nd").collect();
        assert_eq!(lines, [&b"a"[..], b"b", b"c", b"d"]);
    }

    #[test]
    fn crawl_delay_and_sitemaps() {
        let robots = Robots::parse(
            b"Sitemap: https://example.org/s1.xml\nUser-agent: newsvault\nCrawl-delay: 2.5 # s\n\
              Disallow: /x\nSitemap: /relative.xml\nSitemap: https://example.org/s1.xml\n",
            "NewsVault/2",
        );
        assert_eq!(robots.crawl_delay(), Some(Duration::from_millis(2500)));
        assert_eq!(robots.sitemaps().len(), 1);
        assert!(!robots.is_allowed(&url("/x")));
    }
}
