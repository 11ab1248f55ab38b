//! Descriptive metadata: title, authors, site name, description, canonical URL and
//! language, chosen from the page signals and Readability's own guesses.
//!
//! The rules prefer what the page states in structured form (JSON-LD, OpenGraph,
//! `<html lang>`), then check it against what readers see: a title keeps only the part
//! a visible headline confirms or drops a trailing site name; authors are people, so
//! desk credits, agency-as-site credits and CMS logins are dropped; a declared language
//! whose script contradicts the text is replaced by detection.

use super::page::PageSignals;
use super::text::{non_empty_line, tidy_line};

// ------------------------------------------------------------------ helpers

/// Comparison key: NFC, casefolded, letters and digits only.
pub(crate) fn key(s: &str) -> String {
    tidy_line(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn ld_str(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => non_empty_line(s),
        serde_json::Value::Object(o) => ld_str(o.get("name")),
        serde_json::Value::Array(a) => a.iter().find_map(|x| ld_str(Some(x))),
        _ => None,
    }
}

/// The JSON-LD objects that describe the page's own article, best first.
fn ld_articles(sig: &PageSignals) -> Vec<&serde_json::Map<String, serde_json::Value>> {
    let mut v: Vec<_> = sig
        .ld_objects()
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| super::dates::ld_rank(o).map(|r| (r, i, o)))
        .collect();
    v.sort_by_key(|x| (x.0, x.1));
    v.into_iter().map(|x| x.2).collect()
}

/// The registrable-ish name of a host: "www.ukbdnews.com" -> "ukbdnews".
fn domain_label(url: &str) -> Option<String> {
    let host = url::Url::parse(url).ok()?.host_str()?.to_ascii_lowercase();
    let parts: Vec<&str> = host.split('.').filter(|p| !p.is_empty()).collect();
    // skip "co.uk"-style second-level suffixes
    let n = parts.len();
    let label = if n >= 3 && parts[n - 2].len() <= 3 && parts[n - 1].len() == 2 {
        parts[n - 3]
    } else if n >= 2 {
        parts[n - 2]
    } else {
        parts.first()?
    };
    Some(label.to_string())
}

/// Separators between a headline and the site or section names in a `<title>`.
const TITLE_SEPARATORS: &[&str] = &[
    " | ", " - ", " – ", " — ", " :: ", " » ", " « ", " · ", " • ", " / ", " ~ ",
];

fn split_title(t: &str) -> Vec<&str> {
    let mut parts = vec![t];
    for sep in TITLE_SEPARATORS {
        parts = parts.into_iter().flat_map(|p| p.split(sep)).collect();
    }
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

// ------------------------------------------------------------------ site name

pub(crate) fn site_name(
    sig: &PageSignals,
    readability_site: Option<&str>,
    page_url: Option<&str>,
) -> Option<String> {
    let from_ld = ld_articles(sig)
        .into_iter()
        .find_map(|o| ld_str(o.get("publisher")));
    let website = sig.ld_objects().into_iter().find_map(|o| {
        (o.get("@type").and_then(|t| t.as_str()) == Some("WebSite"))
            .then(|| ld_str(o.get("name")))
            .flatten()
    });
    let name = from_ld
        .or_else(|| sig.meta("og:site_name").and_then(non_empty_line))
        .or_else(|| readability_site.and_then(non_empty_line))
        .or_else(|| sig.meta("application-name").and_then(non_empty_line))
        .or_else(|| {
            sig.meta("twitter:site")
                .map(|s| s.trim_start_matches('@'))
                .and_then(non_empty_line)
        })
        .or(website);

    // A title segment that spells the domain ("… | UKBDNEWS" on ukbdnews.com) is the
    // site's name; prefer it when the declared name is a slogan unrelated to the domain.
    let domain = page_url
        .or(sig.canonical.as_deref())
        .or(sig.og_url.as_deref())
        .and_then(domain_label);
    let from_title = domain.as_ref().and_then(|d| {
        let title = sig.title_tag.as_deref()?;
        let parts = split_title(title);
        if parts.len() < 2 {
            return None;
        }
        parts
            .iter()
            .find(|p| key(p) == *d || key(p) == format!("{d}com"))
            .map(|p| tidy_line(p))
    });
    match (name, from_title) {
        (Some(n), Some(t)) => {
            let d = domain.unwrap_or_default();
            let related = key(&n).contains(&d) || d.contains(&key(&n));
            Some(if related { n } else { t })
        }
        (n, t) => n.or(t),
    }
}

// ------------------------------------------------------------------ title

pub(crate) fn title(
    sig: &PageSignals,
    readability_title: Option<&str>,
    site: Option<&str>,
) -> Option<String> {
    let base = readability_title
        .and_then(non_empty_line)
        .or_else(|| sig.meta("og:title").and_then(non_empty_line))
        .or_else(|| sig.title_tag.as_deref().and_then(non_empty_line))
        .or_else(|| sig.headings.first().cloned())?;
    let headings: Vec<String> = sig.headings.iter().take(60).map(|h| key(h)).collect();
    let confirmed = |s: &str| {
        let k = key(s);
        !k.is_empty() && headings.contains(&k)
    };
    if confirmed(&base) {
        return Some(base);
    }
    // Try every source title: the headline is the part a visible heading confirms.
    let sources = [
        Some(base.clone()),
        sig.meta("og:title").map(str::to_string),
        sig.title_tag.clone(),
        sig.meta("twitter:title").map(str::to_string),
    ];
    for src in sources.iter().flatten() {
        let parts = split_title(src);
        if parts.len() < 2 {
            continue;
        }
        for n in (1..parts.len()).rev() {
            // leading parts (headline first) and trailing parts (site first)
            for (candidate, dropped) in [
                (&parts[..n], &parts[n..]),
                (&parts[parts.len() - n..], &parts[..parts.len() - n]),
            ] {
                // A short heading that matches one part is usually the site's logo
                // ("Headline · V8"): the kept part must outweigh what is dropped,
                // unless what is dropped is the site's name.
                let kept_len = candidate.iter().map(|p| p.chars().count()).sum::<usize>();
                let site_key = site.map(key).unwrap_or_default();
                let dropped_ok = dropped.iter().all(|d| {
                    d.chars().count() <= kept_len || (!site_key.is_empty() && key(d) == site_key)
                });
                if !dropped_ok {
                    continue;
                }
                // the original span keeps the headline's own separators ("#282 - 0.17")
                if let (Some(first), Some(last)) = (candidate.first(), candidate.last())
                    && let (Some(a), Some(b)) = (src.find(first), src.rfind(last))
                    && let Some(span) = src.get(a..b + last.len())
                    && confirmed(span)
                {
                    return non_empty_line(span);
                }
                let joined = candidate.join(" | ");
                if confirmed(&joined) {
                    return non_empty_line(&joined);
                }
            }
        }
    }
    // No heading to confirm: drop a trailing (or leading) site name.
    if let Some(site) = site.map(key).filter(|s| !s.is_empty()) {
        let parts = split_title(&base);
        if parts.len() >= 2 {
            if parts.last().is_some_and(|p| key(p) == site)
                && let Some(sep_pos) = base.rfind(parts[parts.len() - 1])
            {
                let head = base[..sep_pos].trim_end();
                let head = TITLE_SEPARATORS
                    .iter()
                    .find_map(|s| head.strip_suffix(s.trim_end()))
                    .unwrap_or(head);
                if let Some(t) = non_empty_line(head) {
                    return Some(t);
                }
            }
            if parts.first().is_some_and(|p| key(p) == site)
                && let Some(pos) = base.find(parts[0])
            {
                let tail = base[pos + parts[0].len()..].trim_start();
                let tail = TITLE_SEPARATORS
                    .iter()
                    .find_map(|s| tail.strip_prefix(s.trim_start()))
                    .unwrap_or(tail);
                if let Some(t) = non_empty_line(tail) {
                    return Some(t);
                }
            }
        }
    }
    Some(base)
}

// ------------------------------------------------------------------ authors

/// Leading labels in bylines, lowercased.
const AUTHOR_PREFIXES: &[&str] = &[
    "written by",
    "posted by",
    "reported by",
    "story by",
    "words by",
    "text by",
    "by:",
    "by",
    "author:",
    "authors:",
    "author",
    "reporter:",
    "von",
    "par",
    "por",
    "di",
    "door",
    "লিখেছেন:",
    "লিখেছেন",
    "লেখক:",
    "লেখক",
    "প্রতিবেদক:",
    "প্রকাশ:",
    "প্রকাশ",
    "রিপোর্ট:",
];

/// Credits that name a desk or a role, not a person.
fn is_desk_credit(name: &str) -> bool {
    let lower = name.to_lowercase();
    const DESK: &[&str] = &[
        "নিজস্ব প্রতিবেদক",
        "নিজস্ব সংবাদদাতা",
        "নিজস্ব বার্তা পরিবেশক",
        "স্টাফ রিপোর্টার",
        "ডেস্ক",
        "প্রতিনিধি",
        "সংবাদদাতা",
        "অনলাইন",
        "staff",
        "desk",
        "correspondent",
        "bureau",
        "newsroom",
        "editorial board",
        "editor",
        "admin",
        "administrator",
        "team",
        "contributor",
        "guest author",
        "unknown",
        "anonymous",
    ];
    DESK.iter().any(|d| {
        if d.is_ascii() {
            lower.split(|c: char| !c.is_alphanumeric()).any(|w| w == *d)
        } else {
            lower.contains(d)
        }
    })
}

fn strip_author_label(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let lower = s.to_lowercase();
        let mut changed = false;
        for p in AUTHOR_PREFIXES {
            if lower.starts_with(p)
                && lower.len() >= p.len()
                // a word prefix must end at a boundary: "Bymark" is a name
                && lower[p.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
                && let Some(rest) = s.get(p.len()..)
            {
                s = rest.trim_start_matches([' ', ':', '-', '–', '—', ',', '\u{a0}']);
                changed = true;
                break;
            }
        }
        if !changed {
            return s.trim();
        }
    }
}

/// Split a byline into names: "A and B", "A, B & C", "ক ও খ".
pub(crate) fn split_byline(byline: &str) -> Vec<String> {
    // "Bradley M. Kuhn (http://ebb.org/bkuhn/)": parenthesised asides are not the name.
    let mut flat = String::with_capacity(byline.len());
    let mut depth = 0usize;
    for c in byline.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => flat.push(c),
            _ => {}
        }
    }
    let mut parts: Vec<String> = vec![flat];
    for sep in [
        "\n",
        ";",
        "|",
        " / ",
        ",",
        " & ",
        " and ",
        " And ",
        " AND ",
        " ও ",
        " এবং ",
        " und ",
        " et ",
        " y ",
        " e ",
    ] {
        parts = parts
            .iter()
            .flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    parts
        .iter()
        .map(|p| cut_at_date(strip_author_label(p)))
        .map(|p| {
            p.trim_matches(|c: char| !c.is_alphanumeric() && !is_bengali_mark(c))
                .to_string()
        })
        .filter_map(|p| non_empty_line(&p))
        .collect()
}

/// "Nathan Willis March 25, 2015" -> "Nathan Willis": bylines often run into the date.
fn cut_at_date(s: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    for w in s.split_whitespace() {
        if w.chars()
            .any(|c| c.is_ascii_digit() || ('\u{09E6}'..='\u{09EF}').contains(&c))
        {
            break;
        }
        words.push(w);
    }
    while let Some(last) = words.last() {
        let bare = last
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if super::dates::is_date_word(&bare)
            || matches!(bare.as_str(), "on" | "at" | "updated" | "published" | "")
        {
            words.pop();
        } else {
            break;
        }
    }
    words.join(" ")
}

fn is_bengali_mark(c: char) -> bool {
    ('\u{0981}'..='\u{0983}').contains(&c) || ('\u{09BC}'..='\u{09D7}').contains(&c)
}

/// Is this plausibly a person's name?
fn is_person(name: &str, site: Option<&str>) -> bool {
    let words = name.split_whitespace().count();
    if words == 0 || words > 6 || name.chars().count() > 60 {
        return false;
    }
    if name.contains(['@', '/', '=', '<', '>', '{', '}', '#'])
        || name.contains("http")
        || name
            .chars()
            .any(|c| c.is_ascii_digit() || ('\u{09E6}'..='\u{09EF}').contains(&c))
    {
        return false;
    }
    if is_desk_credit(name) {
        return false;
    }
    if site.is_some_and(|s| {
        let (a, b) = (key(s), key(name));
        !b.is_empty() && (a == b || a.contains(&b))
    }) {
        return false;
    }
    // A single lowercase ASCII word is a CMS login ("satter", "admin"), not a byline.
    if words == 1
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
    {
        return false;
    }
    true
}

fn people(byline: &str, site: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in split_byline(byline) {
        if is_person(&n, site) && !out.iter().any(|o| key(o) == key(&n)) {
            out.push(n);
        }
    }
    out
}

fn ld_author_names(v: &serde_json::Value, out: &mut Vec<String>, depth: usize) {
    if depth > 3 {
        return;
    }
    match v {
        serde_json::Value::String(s) if !s.starts_with("http") => out.push(s.clone()),
        serde_json::Value::Object(o) => {
            // Authors are people: an Organization credit is the publisher again.
            let org = o
                .get("@type")
                .and_then(|t| t.as_str())
                .is_some_and(|t| t.contains("Organization"));
            if !org && let Some(n) = o.get("name") {
                ld_author_names(n, out, depth + 1);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a.iter().take(20) {
                ld_author_names(x, out, depth + 1);
            }
        }
        _ => {}
    }
}

pub(crate) fn authors(
    sig: &PageSignals,
    readability_byline: Option<&str>,
    text: &str,
    site: Option<&str>,
) -> Vec<String> {
    // JSON-LD first: it lists people one by one.
    let mut ld = Vec::new();
    let objects = sig.ld_objects();
    for o in ld_articles(sig).into_iter().take(1) {
        for k in ["author", "creator"] {
            if let Some(a) = o.get(k) {
                ld_author_names(a, &mut ld, 0);
                // {"@id": …} references a Person elsewhere in the @graph
                let ids: Vec<&str> = match a {
                    serde_json::Value::Object(x) => {
                        x.get("@id").and_then(|i| i.as_str()).into_iter().collect()
                    }
                    serde_json::Value::Array(xs) => xs
                        .iter()
                        .filter_map(|x| x.get("@id").and_then(|i| i.as_str()))
                        .collect(),
                    _ => Vec::new(),
                };
                for id in ids {
                    if let Some(p) = objects.iter().find(|p| {
                        p.get("@id").and_then(|i| i.as_str()) == Some(id) && p.contains_key("name")
                    }) && let Some(n) = p.get("name")
                    {
                        ld_author_names(n, &mut ld, 0);
                    }
                }
            }
        }
    }
    let mut sources: Vec<String> = vec![ld.join("\n")];
    // Readability's byline: its metas (Dublin Core first), else the DOM byline it removed.
    if let Some(b) = readability_byline {
        sources.push(b.to_string());
    }
    for k in [
        "dc:creator",
        "dcterms:creator",
        "dc.creator",
        "dcterms.creator",
        "author",
        "article:author",
        "parsely-author",
        "sailthru.author",
        "byl",
        "citation_author",
    ] {
        if let Some(v) = sig.meta(k)
            && !v.starts_with("http")
        {
            sources.push(v.to_string());
        }
    }
    sources.extend(sig.author_nodes.iter().take(5).cloned());
    // "By Md Aynal Haque" as the first lines of the article text
    for line in text.lines().take(4) {
        let lower = line.to_lowercase();
        if (lower.starts_with("by ") || lower.starts_with("লিখেছেন"))
            && line.split_whitespace().count() <= 7
        {
            sources.push(line.to_string());
        }
    }
    for s in sources {
        let p = people(&s, site);
        if !p.is_empty() {
            return p;
        }
        // A desk credit ("নিজস্ব সংবাদদাতা") is the byline: there is no person to find.
        if split_byline(&s).iter().any(|n| is_desk_credit(n)) {
            return Vec::new();
        }
    }
    Vec::new()
}

// ------------------------------------------------------------------ description, URL

pub(crate) fn description(sig: &PageSignals, excerpt: Option<&str>) -> Option<String> {
    [
        "og:description",
        "description",
        "twitter:description",
        "dc.description",
    ]
    .iter()
    .find_map(|k| sig.meta(k).and_then(non_empty_line))
    .or_else(|| {
        ld_articles(sig)
            .into_iter()
            .find_map(|o| ld_str(o.get("description")))
    })
    .or_else(|| excerpt.and_then(non_empty_line))
}

/// The page's canonical URL, resolved against the fetch URL when relative.
pub(crate) fn canonical_url(sig: &PageSignals, base: Option<&url::Url>) -> Option<String> {
    for raw in [sig.canonical.as_deref(), sig.og_url.as_deref()]
        .into_iter()
        .flatten()
    {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        if let Ok(u) = url::Url::parse(raw)
            && matches!(u.scheme(), "http" | "https")
        {
            return Some(u.to_string());
        }
        if let Some(b) = base
            && let Ok(u) = b.join(raw)
            && matches!(u.scheme(), "http" | "https")
        {
            return Some(u.to_string());
        }
    }
    None
}

// ------------------------------------------------------------------ language

/// ISO 639-1 code of a language tag or name: "bn-IN" -> "bn", "eng" -> "en", "en_US" -> "en".
pub(crate) fn normalise_lang(tag: &str) -> Option<String> {
    let primary = tag
        .trim()
        .split([',', ';'])
        .next()?
        .split(['-', '_'])
        .next()?
        .trim()
        .to_ascii_lowercase();
    let code = match primary.as_str() {
        "iw" => "he",
        "in" => "id",
        "ji" => "yi",
        "ben" | "bengali" | "bangla" => "bn",
        "eng" | "english" => "en",
        "ger" | "deu" | "german" => "de",
        "fre" | "fra" | "french" => "fr",
        "spa" | "spanish" => "es",
        "hin" | "hindi" => "hi",
        "ara" | "arabic" => "ar",
        "rus" | "russian" => "ru",
        "ita" | "italian" => "it",
        "por" | "portuguese" => "pt",
        "zho" | "chi" | "chinese" => "zh",
        "jpn" | "japanese" => "ja",
        "urd" | "urdu" => "ur",
        s if s.len() == 2 && s.chars().all(|c| c.is_ascii_lowercase()) => s,
        _ => return None,
    };
    Some(code.to_string())
}

/// ISO 639-3 (whatlang) to ISO 639-1.
fn whatlang_to_iso1(lang: whatlang::Lang) -> Option<&'static str> {
    use whatlang::Lang::*;
    let c = match lang {
        Eng => "en",
        Rus => "ru",
        Cmn => "zh",
        Spa => "es",
        Por => "pt",
        Ita => "it",
        Ben => "bn",
        Fra => "fr",
        Deu => "de",
        Ukr => "uk",
        Kat => "ka",
        Ara => "ar",
        Hin => "hi",
        Jpn => "ja",
        Heb => "he",
        Yid => "yi",
        Pol => "pl",
        Amh => "am",
        Jav => "jv",
        Kor => "ko",
        Nob => "nb",
        Dan => "da",
        Swe => "sv",
        Fin => "fi",
        Tur => "tr",
        Nld => "nl",
        Hun => "hu",
        Ces => "cs",
        Ell => "el",
        Bul => "bg",
        Bel => "be",
        Mar => "mr",
        Kan => "kn",
        Ron => "ro",
        Slv => "sl",
        Hrv => "hr",
        Srp => "sr",
        Mkd => "mk",
        Lit => "lt",
        Lav => "lv",
        Est => "et",
        Tam => "ta",
        Vie => "vi",
        Urd => "ur",
        Tha => "th",
        Guj => "gu",
        Uzb => "uz",
        Pan => "pa",
        Aze => "az",
        Ind => "id",
        Tel => "te",
        Pes => "fa",
        Mal => "ml",
        Ori => "or",
        Mya => "my",
        Nep => "ne",
        Sin => "si",
        Khm => "km",
        Tuk => "tk",
        Aka => "ak",
        Zul => "zu",
        Sna => "sn",
        Afr => "af",
        Lat => "la",
        Slk => "sk",
        Cat => "ca",
        Tgl => "tl",
        Hye => "hy",
        Epo => "eo",
    };
    Some(c)
}

/// The script a language is written in, for the common non-Latin ones.
fn script_of(code: &str) -> whatlang::Script {
    use whatlang::Script;
    match code {
        "bn" | "as" => Script::Bengali,
        "hi" | "mr" | "ne" | "sa" => Script::Devanagari,
        "ru" | "uk" | "bg" | "be" | "sr" | "mk" | "kk" | "ky" | "tg" | "mn" => Script::Cyrillic,
        "ar" | "fa" | "ur" | "ps" | "ckb" => Script::Arabic,
        "he" | "yi" => Script::Hebrew,
        "el" => Script::Greek,
        "zh" => Script::Mandarin,
        "ja" => Script::Katakana,
        "ko" => Script::Hangul,
        "th" => Script::Thai,
        "ka" => Script::Georgian,
        "hy" => Script::Armenian,
        "ta" => Script::Tamil,
        "te" => Script::Telugu,
        "kn" => Script::Kannada,
        "ml" => Script::Malayalam,
        "gu" => Script::Gujarati,
        "pa" => Script::Gurmukhi,
        "or" => Script::Oriya,
        "si" => Script::Sinhala,
        "km" => Script::Khmer,
        "my" => Script::Myanmar,
        "am" => Script::Ethiopic,
        _ => Script::Latin,
    }
}

pub(crate) fn language(sig: &PageSignals, text: &str) -> Option<String> {
    let declared = sig
        .html_lang
        .as_deref()
        .and_then(normalise_lang)
        .or_else(|| sig.meta("content-language").and_then(normalise_lang))
        .or_else(|| sig.meta("language").and_then(normalise_lang))
        .or_else(|| sig.meta("dc.language").and_then(normalise_lang))
        .or_else(|| sig.meta("og:locale").and_then(normalise_lang))
        .or_else(|| {
            ld_articles(sig)
                .into_iter()
                .find_map(|o| ld_str(o.get("inLanguage")).and_then(|l| normalise_lang(&l)))
        });
    // Detection reads a bounded sample: enough for a verdict, cheap on huge texts.
    let sample: String = text.chars().take(3000).collect();
    let script = whatlang::detect_script(&sample);
    if let Some(d) = declared {
        // Templates often keep lang="en-US" on Bengali pages: the script decides.
        let contradicted = sample.chars().count() >= 80
            && script.is_some_and(|s| {
                s != script_of(&d) && !(s == whatlang::Script::Hiragana && d == "ja")
            });
        if !contradicted {
            return Some(d);
        }
    }
    let info = whatlang::detect(&sample)?;
    if info.is_reliable()
        || (info.script() != whatlang::Script::Latin && sample.chars().count() >= 80)
    {
        whatlang_to_iso1(info.lang()).map(str::to_string)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bylines_split_into_people() {
        assert_eq!(
            people("By Jane Doe and John Roe", None),
            vec!["Jane Doe", "John Roe"]
        );
        assert_eq!(
            people("By: A. Smith, B. Jones", None),
            vec!["A. Smith", "B. Jones"]
        );
        assert_eq!(
            people("লিখেছেন রহিম উদ্দিন ও করিম আলী", None),
            vec!["রহিম উদ্দিন", "করিম আলী"]
        );
        assert!(people("নিজস্ব প্রতিবেদক", None).is_empty());
        assert!(people("নিজস্ব সংবাদদাতা", None).is_empty());
        assert!(people("Staff Reporter", None).is_empty());
        assert!(people("বাসস", Some("বাসস")).is_empty());
        assert!(people("satter", None).is_empty());
        assert_eq!(people("সাবরিনা ইসলাম মৌ", None), vec!["সাবরিনা ইসলাম মৌ"]);
    }

    #[test]
    fn languages_normalise() {
        assert_eq!(normalise_lang("bn-IN").as_deref(), Some("bn"));
        assert_eq!(normalise_lang("en_US").as_deref(), Some("en"));
        assert_eq!(normalise_lang("ben").as_deref(), Some("bn"));
        assert_eq!(normalise_lang("x").as_deref(), None);
    }

    #[test]
    fn domain_labels() {
        assert_eq!(
            domain_label("http://ukbdnews.com/2020/08/1/").as_deref(),
            Some("ukbdnews")
        );
        assert_eq!(
            domain_label("https://www.bbc.co.uk/news").as_deref(),
            Some("bbc")
        );
    }
}
