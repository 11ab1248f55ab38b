//! Measures near-duplicate detection ("same story") on labelled pairs built from the
//! evaluation pages, and times the archive's near-duplicate lookup as it grows.
//!
//!     ../shared/evaldata/unpack.sh target/evaldata
//!     cargo run --release --example stories_eval -- target/evaldata [--gold ../shared/evaldata]
//!         [--no-bench | --bench-only] [--bench-sizes 1000,10000,100000] [--verbose]
//!
//! Pages: every page under DEST (trafilatura, htmldate, readability sets) and the pages in
//! `tests/fixtures/pages` (the Bengali ones among them), extracted with
//! `newsvault::extract`. A page's site is the host of its URL in the sets' gold files
//! (under `--gold`), else of its `rel=canonical`. Pages with the same URL or the same
//! normalised text count once.
//!
//! Positive pairs (same story) take an article of at least `BASE_WORDS` words and make a
//! variant of it: wrapped in another site's boilerplate (its menus, headers, footers,
//! sidebars, share boxes), trimmed by paragraphs, extended by paragraphs, re-headlined,
//! with its digits in the other script (০–৯ ↔ 0–9), lightly edited, updated (a new lede),
//! or several at once; and the pairs of pages reviewed as one story
//! (`REVIEWED_SAME_STORY`). Negative pairs: two articles of the same site; each article
//! and the article closest to it in vocabulary (the same topic and names, another text);
//! an article and another rewritten with the first one's proper names; two articles
//! wrapped in the same site's boilerplate; an article and a follow-up reusing part of it.
//! The labels hold by construction, up to real duplicates among the pages: the "all
//! pairs" section lists every pair of pages the archive would merge (`--verbose` with
//! their texts), which is how the reviewed pairs were found.
//!
//! For each pair both fingerprints are computed as the archive computes them, a pair is
//! "found" only if its fingerprints share a locality-sensitive band (as the archive's
//! lookup requires), and precision and recall are printed at several thresholds, for
//! containment (what newsvault uses), Jaccard, and SimHash, and for other shingle lengths.
//!
//! The benchmark archives synthetic articles (a Zipf vocabulary, with per-site
//! boilerplate so that bands collide as they do on real sites) into a scratch archive and
//! times `Store::near_duplicates` and `Store::archive` at each size.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use newsvault::extract::{ExtractOptions, extract};
use newsvault::fetch::charset::decode_html;
use newsvault::store::{NewArticle, NewCapture, Store};
use newsvault::stories::{self, Fingerprint, StoryRules};

/// Least words for an article to be the base of positive pairs.
const BASE_WORDS: usize = 80;
/// Thresholds reported.
const THRESHOLDS: &[f64] = &[0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9];
/// Same-site negative pairs taken per site at most.
const PAIRS_PER_SITE: usize = 30;

/// Pairs of pages of the sets that are one story, found by this tool and checked by
/// reading both texts: they count as positives ("Real"), never as negatives.
const REVIEWED_SAME_STORY: &[(&str, &str, &str)] = &[
    (
        "24horas.cl-segundo.html",
        "cooperativa.cl-presidente.html",
        "one EFE agency story, edited by each site",
    ),
    (
        "cubadebate.cu-sesiona.html",
        "granma.cu-medidadecuba.htlm.html",
        "Cubadebate's report reprints Granma's article whole",
    ),
    (
        "djz.de-amoklauf.html",
        "jagdverband.de-erschuettert.html",
        "the hunting association's press release, and a news site quoting it whole",
    ),
    (
        "medicalnewstoday.com.318674.html",
        "medicalnewstoday/source.html",
        "one article, captured twice (trafilatura's set and Readability's)",
    ),
];

fn reviewed_same_story(a: &str, b: &str) -> bool {
    REVIEWED_SAME_STORY
        .iter()
        .any(|(x, y, _)| (a.ends_with(x) && b.ends_with(y)) || (a.ends_with(y) && b.ends_with(x)))
}

// ------------------------------------------------------------------ small utilities

/// A deterministic random source (SplitMix64), so every run builds the same pairs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn first_words(text: &str, n: usize) -> String {
    text.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

fn paragraphs(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn is_bengali(text: &str) -> bool {
    let bengali = text
        .chars()
        .filter(|c| ('\u{0980}'..='\u{09FF}').contains(c))
        .count();
    bengali * 4 > text.chars().filter(|c| c.is_alphabetic()).count()
}

fn swap_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x09E6 + (c as u32 - '0' as u32)).unwrap_or(c),
            '\u{09E6}'..='\u{09EF}' => {
                char::from_u32('0' as u32 + (c as u32 - 0x09E6)).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

fn host_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    Some(host.trim_start_matches("www.").to_string())
}

// ------------------------------------------------------------------ the corpus

struct Article {
    file: String,
    site: String,
    title: String,
    text: String,
    /// Paragraphs of this page's boilerplate (navigation, footers, sidebars).
    boilerplate: Vec<String>,
}

/// File name → URL, from the sets' gold files.
fn gold_urls(gold: &Path) -> HashMap<String, String> {
    let mut urls = HashMap::new();
    for file in [
        "trafilatura/evaldata.json",
        "htmldate/eval_default.json",
        "htmldate/eval_mediacloud_2020.json",
        "bengali/expected.json",
    ] {
        let Ok(text) = std::fs::read_to_string(gold.join(file)) else {
            eprintln!(
                "note: no {} (sites come from rel=canonical only)",
                gold.join(file).display()
            );
            continue;
        };
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) else {
            continue;
        };
        for (key, value) in map {
            // trafilatura and htmldate: URL → {file}; bengali: pages/FILE → {url}.
            if let Some(name) = value.get("file").and_then(|f| f.as_str()) {
                urls.insert(name.to_string(), key.clone());
            } else if let Some(url) = value.get("url").and_then(|u| u.as_str()) {
                let name = key.rsplit('/').next().unwrap_or(&key).to_string();
                urls.insert(name, url.to_string());
            }
        }
    }
    urls
}

fn page_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            page_files(&path, out);
        } else if path
            .file_name()
            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        {
            out.push(path);
        }
    }
}

/// The text of a page's navigation, header, footer and sidebar blocks, one paragraph per
/// block: what another site wraps a syndicated story in.
fn boilerplate_of(html: &str) -> Vec<String> {
    let document = dom_query::Document::from(html);
    let mut seen = HashSet::new();
    let mut blocks = Vec::new();
    for node in document
        .select(
            "nav, header, footer, aside, [class*=menu], [class*=footer], [class*=sidebar], \
             [class*=share], [class*=related], [id*=footer], [id*=sidebar], [id*=menu]",
        )
        .nodes()
    {
        let text = node.text().split_whitespace().collect::<Vec<_>>().join(" ");
        let words = word_count(&text);
        if (3..=80).contains(&words) && seen.insert(text.clone()) {
            blocks.push(text);
        }
    }
    blocks
}

fn load_corpus(dest: &Path, gold: &Path) -> Vec<Article> {
    let urls = gold_urls(gold);
    let mut files = Vec::new();
    for set in ["trafilatura", "htmldate", "readability"] {
        page_files(&dest.join(set), &mut files);
    }
    // Readability's folders also hold the expected output beside each source page.
    files.retain(|path| {
        !path.to_string_lossy().contains("readability/")
            || path.file_name().is_some_and(|n| n == "source.html")
    });
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pages");
    page_files(&fixtures, &mut files);
    let options = ExtractOptions {
        url: None,
        timezone: chrono_tz::UTC,
        not_after: None,
        rules: Default::default(),
    };
    let mut seen_urls = HashSet::new();
    let mut seen_texts = HashSet::new();
    let mut corpus = Vec::new();
    let started = Instant::now();
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let decoded = decode_html(&bytes, None, None);
        let extracted = extract(&decoded.text, &options);
        let url = urls.get(&name).cloned();
        if let Some(url) = &url {
            let key = url
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .trim_start_matches("www.")
                .trim_end_matches('/')
                .to_string();
            if !seen_urls.insert(key) {
                continue;
            }
        }
        let normalised = stories::normalised_words(&extracted.text).join(" ");
        // Readability's synthetic test pages are one "lorem ipsum" text in many forms.
        if normalised.is_empty()
            || normalised.contains("lorem ipsum")
            || !seen_texts.insert(normalised)
        {
            continue;
        }
        let site = url
            .as_deref()
            .and_then(host_of)
            .or_else(|| extracted.canonical_url.as_deref().and_then(host_of))
            .unwrap_or_else(|| format!("file:{name}"));
        corpus.push(Article {
            file: path.display().to_string(),
            site,
            title: extracted.title.unwrap_or_default(),
            text: extracted.text,
            boilerplate: boilerplate_of(&decoded.text),
        });
    }
    eprintln!(
        "{} pages read, {} distinct articles extracted in {:.1}s",
        files.len(),
        corpus.len(),
        started.elapsed().as_secs_f64()
    );
    corpus
}

// ------------------------------------------------------------------ pairs

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Wrapped,
    Trimmed,
    Extended,
    Headline,
    Digits,
    Edited,
    Updated,
    Combined,
    Real,
    SameSite,
    SameTopic,
    SameNames,
    SharedBoilerplate,
    Background,
}

impl Kind {
    fn positive(self) -> bool {
        !matches!(
            self,
            Kind::SameSite
                | Kind::SameTopic
                | Kind::SameNames
                | Kind::SharedBoilerplate
                | Kind::Background
        )
    }
}

struct Pair {
    kind: Kind,
    a: String,
    b: String,
    /// For pairs of two corpus articles: their files, to tell them apart in reports.
    files: Option<(String, String)>,
}

/// Boilerplate paragraphs of some page of another site, about `share` of `words` words.
fn donor_boilerplate(
    corpus: &[Article],
    donors: &[usize],
    site: &str,
    words: usize,
    share: f64,
    rng: &mut Rng,
) -> Vec<String> {
    for _ in 0..20 {
        let donor = &corpus[donors[rng.below(donors.len())]];
        if donor.site == site {
            continue;
        }
        let wanted = (words as f64 * share) as usize;
        let mut taken = Vec::new();
        let mut total = 0;
        let mut order: Vec<usize> = (0..donor.boilerplate.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for i in order {
            if total >= wanted {
                break;
            }
            // The last block is cut so that the share is what was asked for.
            let block: Vec<&str> = donor.boilerplate[i]
                .split_whitespace()
                .take(wanted - total)
                .collect();
            total += block.len();
            taken.push(block.join(" "));
        }
        if total > 0 {
            return taken;
        }
    }
    Vec::new()
}

fn wrap(text: &str, boilerplate: &[String], rng: &mut Rng) -> String {
    let split = rng.below(boilerplate.len() + 1);
    let mut parts: Vec<&str> = boilerplate[..split].iter().map(String::as_str).collect();
    parts.push(text);
    parts.extend(boilerplate[split..].iter().map(String::as_str));
    parts.join("\n")
}

/// The text less 10–35% of its words: whole paragraphs from the end (or, one time in
/// three, the start) while they fit in that share, else words from the end.
fn trim(text: &str, rng: &mut Rng) -> String {
    let mut paras = paragraphs(text);
    let total = word_count(text);
    let target = (total as f64 * rng.between(0.1, 0.35)) as usize;
    let from_start = rng.below(3) == 0;
    let mut removed = 0;
    while paras.len() > 1 {
        let next = if from_start {
            &paras[0]
        } else {
            &paras[paras.len() - 1]
        };
        let size = word_count(next);
        if removed + size > target {
            break;
        }
        removed += size;
        if from_start {
            paras.remove(0);
        } else {
            paras.pop();
        }
    }
    if removed == 0 {
        let words: Vec<&str> = text.split_whitespace().collect();
        return words[..words.len() - target.min(words.len() / 2)].join(" ");
    }
    paras.join("\n")
}

fn edit(text: &str, corpus_words: &[String], rng: &mut Rng) -> String {
    let mut words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    let edits = (words.len() / 50).max(3);
    for _ in 0..edits {
        let at = rng.below(words.len());
        words[at] = corpus_words[rng.below(corpus_words.len())].clone();
    }
    words.join(" ")
}

/// The article's text with its proper names (capitalised words not starting a sentence)
/// replaced by `names`, in turn.
fn with_names(text: &str, names: &[String]) -> String {
    let mut next = 0;
    let mut out = Vec::new();
    let mut sentence_start = true;
    for word in text.split_whitespace() {
        let capitalised = word.chars().next().is_some_and(char::is_uppercase);
        if capitalised && !sentence_start && !names.is_empty() {
            out.push(names[next % names.len()].clone());
            next += 1;
        } else {
            out.push(word.to_string());
        }
        sentence_start = word.ends_with(['.', '!', '?', '।']);
    }
    out.join(" ")
}

fn names_of(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut sentence_start = true;
    for word in text.split_whitespace() {
        if word.chars().next().is_some_and(char::is_uppercase) && !sentence_start {
            names.push(word.to_string());
        }
        sentence_start = word.ends_with(['.', '!', '?', '।']);
    }
    names
}

/// For each article, the other article sharing the largest share of its vocabulary
/// (words found in under 2% of articles): the same topic and names, another text.
fn nearest_by_vocabulary(corpus: &[Article]) -> Vec<(usize, usize)> {
    let sets: Vec<HashSet<String>> = corpus
        .iter()
        .map(|a| stories::normalised_words(&a.text).into_iter().collect())
        .collect();
    let mut postings: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, set) in sets.iter().enumerate() {
        for word in set {
            postings.entry(word).or_default().push(i);
        }
    }
    let common = corpus.len() / 50 + 2;
    let mut pairs = HashSet::new();
    for (i, set) in sets.iter().enumerate() {
        let mut overlap: HashMap<usize, usize> = HashMap::new();
        for word in set {
            let Some(list) = postings.get(word.as_str()) else {
                continue;
            };
            if list.len() > common {
                continue;
            }
            for &j in list {
                if j != i {
                    *overlap.entry(j).or_default() += 1;
                }
            }
        }
        let best = overlap
            .into_iter()
            .map(|(j, shared)| {
                (
                    shared as f64 / (sets[i].len() + sets[j].len() - shared) as f64,
                    j,
                )
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        if let Some((_, j)) = best {
            pairs.insert((i.min(j), i.max(j)));
        }
    }
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_unstable();
    pairs
}

/// The label of a pair of corpus articles: `negative`, unless reviewed as one story.
fn corpus_pair_kind(a: &Article, b: &Article, negative: Kind) -> Kind {
    if reviewed_same_story(&a.file, &b.file) {
        Kind::Real
    } else {
        negative
    }
}

fn build_pairs(corpus: &[Article]) -> Vec<Pair> {
    let mut rng = Rng(0x5eed);
    let donors: Vec<usize> = (0..corpus.len())
        .filter(|&i| corpus[i].boilerplate.len() >= 2)
        .collect();
    let corpus_words: Vec<String> = corpus
        .iter()
        .step_by(7)
        .flat_map(|a| a.text.split_whitespace().take(50).map(str::to_string))
        .collect();
    let mut pairs = Vec::new();
    for (i, article) in corpus.iter().enumerate() {
        let words = word_count(&article.text);
        if words < BASE_WORDS {
            continue;
        }
        let text = article.text.as_str();
        let mut push = |kind, b: String| {
            pairs.push(Pair {
                kind,
                a: text.to_string(),
                b,
                files: None,
            })
        };
        let share = rng.between(0.1, 0.6);
        let bp = donor_boilerplate(corpus, &donors, &article.site, words, share, &mut rng);
        push(Kind::Wrapped, wrap(text, &bp, &mut rng));
        push(Kind::Trimmed, trim(text, &mut rng));
        let other = &corpus[(i + 1 + rng.below(corpus.len() - 1)) % corpus.len()];
        // 10–35% more words: paragraphs of another article, the last one cut to fit.
        let wanted = (words as f64 * rng.between(0.1, 0.35)) as usize;
        let mut extra = Vec::new();
        let mut total = 0;
        for p in paragraphs(&other.text) {
            if total >= wanted {
                break;
            }
            let cut: Vec<&str> = p.split_whitespace().take(wanted - total).collect();
            total += cut.len();
            extra.push(cut.join(" "));
        }
        let extended = if rng.below(2) == 0 {
            format!("{text}\n{}", extra.join("\n"))
        } else {
            format!("{}\n{text}", extra.join("\n"))
        };
        push(Kind::Extended, extended);
        let mut paras = paragraphs(text);
        if paras.first().is_some_and(|p| *p == article.title) {
            paras.remove(0);
        }
        let headline = if other.title.is_empty() {
            "Breaking news".to_string()
        } else {
            other.title.clone()
        };
        push(Kind::Headline, format!("{headline}\n{}", paras.join("\n")));
        if text
            .chars()
            .any(|c| c.is_ascii_digit() || ('\u{09E6}'..='\u{09EF}').contains(&c))
        {
            push(Kind::Digits, swap_digits(text));
        }
        push(Kind::Edited, edit(text, &corpus_words, &mut rng));
        // An update: a new lede in place of the first 10–30% of the words, and up to 20%
        // more at the end.
        let all: Vec<&str> = text.split_whitespace().collect();
        let replaced = (words as f64 * rng.between(0.1, 0.3)) as usize;
        let added = (words as f64 * rng.between(0.0, 0.2)) as usize;
        let third = &corpus[rng.below(corpus.len())];
        push(
            Kind::Updated,
            format!(
                "{}\n{}\n{}",
                first_words(&other.text, replaced),
                all[replaced..].join(" "),
                first_words(&third.text, added)
            ),
        );
        let bp = donor_boilerplate(
            corpus,
            &donors,
            &article.site,
            words,
            rng.between(0.1, 0.3),
            &mut rng,
        );
        let combined = swap_digits(&format!(
            "{headline}\n{}",
            trim(&wrap(text, &bp, &mut rng), &mut Rng(i as u64))
        ));
        push(Kind::Combined, combined);
        // Negatives built from this article. A follow-up: another text that reuses 15–45%
        // of this one (its last paragraphs, the background) and is as long.
        let reused = (words as f64 * rng.between(0.15, 0.45)) as usize;
        if word_count(&other.text) >= words - reused {
            pairs.push(Pair {
                kind: Kind::Background,
                a: text.to_string(),
                b: format!(
                    "{}\n{}",
                    first_words(&other.text, words - reused),
                    all[words - reused..].join(" ")
                ),
                files: None,
            });
        }
        if !is_bengali(text) {
            let names = names_of(text);
            if names.len() >= 3 && word_count(&other.text) >= BASE_WORDS {
                pairs.push(Pair {
                    kind: Kind::SameNames,
                    a: text.to_string(),
                    b: with_names(&other.text, &names),
                    files: None,
                });
            }
        }
        if word_count(&other.text) >= BASE_WORDS && other.site != article.site {
            // Boilerplate of 10–60% of the shorter text's words around both.
            let shorter = words.min(word_count(&other.text));
            let bp = donor_boilerplate(
                corpus,
                &donors,
                "",
                shorter,
                rng.between(0.1, 0.6),
                &mut rng,
            );
            pairs.push(Pair {
                kind: Kind::SharedBoilerplate,
                a: wrap(text, &bp, &mut Rng(7)),
                b: wrap(&other.text, &bp, &mut Rng(7)),
                files: None,
            });
        }
    }
    // Same site: different articles.
    let mut by_site: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, a) in corpus.iter().enumerate() {
        by_site.entry(a.site.as_str()).or_default().push(i);
    }
    let mut sites: Vec<_> = by_site.into_iter().filter(|(_, v)| v.len() >= 2).collect();
    sites.sort();
    // Each pair of corpus articles is drawn once, whatever draws it.
    let mut drawn: HashSet<(usize, usize)> = HashSet::new();
    for (_, members) in sites {
        let mut taken = 0;
        'site: for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if taken == PAIRS_PER_SITE {
                    break 'site;
                }
                drawn.insert((i.min(j), i.max(j)));
                pairs.push(Pair {
                    kind: corpus_pair_kind(&corpus[i], &corpus[j], Kind::SameSite),
                    a: corpus[i].text.clone(),
                    b: corpus[j].text.clone(),
                    files: Some((corpus[i].file.clone(), corpus[j].file.clone())),
                });
                taken += 1;
            }
        }
    }
    for (i, j) in nearest_by_vocabulary(corpus) {
        if !drawn.insert((i, j)) {
            continue;
        }
        pairs.push(Pair {
            kind: corpus_pair_kind(&corpus[i], &corpus[j], Kind::SameTopic),
            a: corpus[i].text.clone(),
            b: corpus[j].text.clone(),
            files: Some((corpus[i].file.clone(), corpus[j].file.clone())),
        });
    }
    // The reviewed pairs the draws above missed.
    for (i, a) in corpus.iter().enumerate() {
        for (j, b) in corpus.iter().enumerate().skip(i + 1) {
            if reviewed_same_story(&a.file, &b.file) && drawn.insert((i, j)) {
                pairs.push(Pair {
                    kind: Kind::Real,
                    a: a.text.clone(),
                    b: b.text.clone(),
                    files: Some((a.file.clone(), b.file.clone())),
                });
            }
        }
    }
    pairs
}

// ------------------------------------------------------------------ scoring

/// What the archive would decide for one pair, computed once.
struct Scored {
    kind: Kind,
    files: Option<(String, String)>,
    /// The pair was made from a Bengali article.
    bengali: bool,
    /// Both texts long enough to compare (under the default `min_words`).
    comparable: bool,
    /// The two share a band: the lookup would find one from the other.
    candidate: bool,
    containment: f64,
    jaccard: f64,
    simhash_distance: u32,
}

fn simhash(text: &str) -> Option<u64> {
    let words = stories::normalised_words(text);
    if words.len() < stories::SHINGLE_WORDS {
        return None;
    }
    let mut counts = [0i64; 64];
    for window in words.windows(stories::SHINGLE_WORDS) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        window.hash(&mut hasher);
        let h = hasher.finish();
        for (bit, count) in counts.iter_mut().enumerate() {
            *count += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    }
    Some(counts.iter().enumerate().fold(
        0u64,
        |acc, (bit, &c)| if c > 0 { acc | 1 << bit } else { acc },
    ))
}

fn shares_band(a: &Fingerprint, b: &Fingerprint) -> bool {
    a.bands().iter().zip(b.bands().iter()).any(|(x, y)| x == y)
}

fn score_pairs(pairs: &[Pair], shingle_words: usize) -> Vec<Scored> {
    let rules = StoryRules::default();
    pairs
        .iter()
        .map(|pair| {
            let a = stories::fingerprint_with(&pair.a, shingle_words);
            let b = stories::fingerprint_with(&pair.b, shingle_words);
            let (comparable, candidate, similarity) = match (&a, &b) {
                (Some(a), Some(b)) => (
                    rules.comparable(a) && rules.comparable(b),
                    shares_band(a, b),
                    a.similarity(b),
                ),
                _ => (false, false, None),
            };
            let simhash_distance = match (simhash(&pair.a), simhash(&pair.b)) {
                (Some(x), Some(y)) => (x ^ y).count_ones(),
                _ => 64,
            };
            Scored {
                kind: pair.kind,
                files: pair.files.clone(),
                bengali: is_bengali(&pair.a),
                comparable,
                candidate,
                containment: similarity.map_or(0.0, |s| s.containment),
                jaccard: similarity.map_or(0.0, |s| s.jaccard),
                simhash_distance,
            }
        })
        .collect()
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
    tn: usize,
}

impl Counts {
    fn add(&mut self, positive: bool, said_same: bool) {
        match (positive, said_same) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn counts(scored: &[Scored], decide: impl Fn(&Scored) -> bool) -> Counts {
    let mut c = Counts::default();
    for s in scored.iter().filter(|s| s.comparable) {
        c.add(s.kind.positive(), decide(s));
    }
    c
}

fn report(scored: &[Scored]) {
    let positives = scored
        .iter()
        .filter(|s| s.comparable && s.kind.positive())
        .count();
    let negatives = scored
        .iter()
        .filter(|s| s.comparable && !s.kind.positive())
        .count();
    let skipped = scored.iter().filter(|s| !s.comparable).count();
    println!(
        "\n{positives} positive and {negatives} negative pairs ({skipped} left out: a text under min_words)"
    );
    let mut kinds: HashMap<Kind, usize> = HashMap::new();
    for s in scored.iter().filter(|s| s.comparable) {
        *kinds.entry(s.kind).or_default() += 1;
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    println!(
        "  {}",
        kinds
            .iter()
            .map(|(k, n)| format!("{k:?} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "\nthreshold | containment+LSH P / R / F1 | Jaccard+LSH P / R / F1 | containment, no LSH P / R"
    );
    for &t in THRESHOLDS {
        let c = counts(scored, |s| s.candidate && s.containment >= t);
        let j = counts(scored, |s| s.candidate && s.jaccard >= t);
        let n = counts(scored, |s| s.containment >= t);
        println!(
            "  {t:>5.2}   | {:.3} / {:.3} / {:.3}        | {:.3} / {:.3} / {:.3}    | {:.3} / {:.3}",
            c.precision(),
            c.recall(),
            c.f1(),
            j.precision(),
            j.recall(),
            j.f1(),
            n.precision(),
            n.recall()
        );
    }
    println!("\nSimHash (64 bits, same shingles, no index) by Hamming distance:");
    for d in [3, 6, 9, 12, 15, 18, 21] {
        let c = counts(scored, |s| s.simhash_distance <= d);
        println!(
            "  ≤ {d:>2} bits: P {:.3} R {:.3} F1 {:.3}",
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
}

fn per_kind(scored: &[Scored], threshold: f64) {
    let bengali: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.bengali && s.comparable)
        .collect();
    let mut c = Counts::default();
    for s in &bengali {
        c.add(s.kind.positive(), s.candidate && s.containment >= threshold);
    }
    println!(
        "\npairs made from Bengali articles: {} positive, {} negative; at {threshold}: P {:.3} R {:.3}",
        c.tp + c.fn_,
        c.fp + c.tn,
        c.precision(),
        c.recall()
    );
    println!("\nat threshold {threshold} (containment + LSH), per kind of pair:");
    let mut kinds: Vec<Kind> = scored
        .iter()
        .map(|s| s.kind)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    kinds.sort();
    for kind in kinds {
        let of_kind: Vec<&Scored> = scored
            .iter()
            .filter(|s| s.kind == kind && s.comparable)
            .collect();
        let same = of_kind
            .iter()
            .filter(|s| s.candidate && s.containment >= threshold)
            .count();
        let candidates = of_kind.iter().filter(|s| s.candidate).count();
        println!(
            "  {:<18} {:>5} pairs: {:>5} same story ({:.3}), {:>5} share a band{}",
            format!("{kind:?}"),
            of_kind.len(),
            same,
            same as f64 / of_kind.len().max(1) as f64,
            candidates,
            if kind.positive() { "" } else { "  [negative]" }
        );
        if !kind.positive() {
            for s in of_kind
                .iter()
                .filter(|s| s.candidate && s.containment >= threshold)
            {
                if let Some((a, b)) = &s.files {
                    println!("      {:.2}  {a}\n            {b}", s.containment);
                }
            }
        }
    }
}

/// Every article of the corpus against every other, as the archive would see them: pairs
/// that share a band and pass the threshold are merged. Lists them, since the pages may
/// hold real duplicates (one article under two URLs) and boilerplate-only extractions.
fn all_pairs(corpus: &[Article], rules: StoryRules, verbose: bool) {
    let threshold = rules.threshold;
    let prints: Vec<Option<Fingerprint>> = corpus
        .iter()
        .map(|a| stories::fingerprint(&a.text).filter(|f| rules.comparable(f)))
        .collect();
    let mut index: HashMap<(usize, u32), Vec<usize>> = HashMap::new();
    let mut merged = Vec::new();
    let mut candidates = 0usize;
    for (i, fp) in prints.iter().enumerate() {
        let Some(fp) = fp else { continue };
        let mut seen = HashSet::new();
        for (band, hash) in fp.bands().into_iter().enumerate() {
            let bucket = index.entry((band, hash)).or_default();
            for &j in bucket.iter() {
                if seen.insert(j) {
                    candidates += 1;
                    if let Some(other) = &prints[j]
                        && let Some(score) = rules.score(fp, other)
                        && score >= threshold
                    {
                        merged.push((j, i, score));
                    }
                }
            }
            bucket.push(i);
        }
    }
    let comparable = prints.iter().filter(|p| p.is_some()).count();
    println!(
        "\nall pairs of the {comparable} articles of at least {} words, at threshold {threshold}: {candidates} candidate pairs, {} merged",
        rules.min_words,
        merged.len()
    );
    for (j, i, score) in merged.iter().take(if verbose { usize::MAX } else { 40 }) {
        let show = |a: &Article| {
            let mut line = format!(
                "{} [{}] {:?}",
                a.file.rsplit('/').next().unwrap_or(&a.file),
                a.site,
                a.title.chars().take(50).collect::<String>()
            );
            if verbose {
                let text: String = a.text.chars().take(300).collect();
                line.push_str(&format!("\n          {}", text.replace('\n', " ¶ ")));
            }
            line
        };
        println!(
            "  {score:.2}  {}\n        {}",
            show(&corpus[*j]),
            show(&corpus[*i])
        );
    }
}

// ------------------------------------------------------------------ benchmark

/// Synthetic news: a Zipf vocabulary, and per-site boilerplate that every article of the
/// site carries (so that sites' articles collide in some bands, as real ones do).
struct Synthetic {
    vocabulary: Vec<String>,
    cumulative: Vec<f64>,
    sites: Vec<String>,
    rng: Rng,
}

impl Synthetic {
    fn new() -> Synthetic {
        let mut rng = Rng(42);
        let syllables = [
            "ka", "ro", "mi", "te", "su", "na", "li", "po", "da", "ve", "shi", "gor",
        ];
        let vocabulary: Vec<String> = (0..50_000)
            .map(|_| {
                (0..2 + rng.below(3))
                    .map(|_| syllables[rng.below(syllables.len())])
                    .collect()
            })
            .collect();
        let mut cumulative = Vec::with_capacity(vocabulary.len());
        let mut total = 0.0;
        for rank in 1..=vocabulary.len() {
            total += 1.0 / rank as f64;
            cumulative.push(total);
        }
        let mut synthetic = Synthetic {
            vocabulary,
            cumulative,
            sites: Vec::new(),
            rng,
        };
        synthetic.sites = (0..100).map(|_| synthetic.words(60)).collect();
        synthetic
    }

    fn words(&mut self, n: usize) -> String {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        (0..n)
            .map(|_| {
                let x = self.rng.between(0.0, total);
                let at = self.cumulative.partition_point(|&c| c < x);
                self.vocabulary[at.min(self.vocabulary.len() - 1)].as_str()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn article(&mut self) -> String {
        let site = self.rng.below(self.sites.len());
        let length = 250 + self.rng.below(350);
        format!("{}\n{}", self.words(length), self.sites[site])
    }
}

fn bench_article(i: usize, fingerprint: Fingerprint, base: DateTime<Utc>) -> NewArticle {
    let url = format!("https://bench.example/{i}");
    let at = base + chrono::Duration::seconds(i as i64);
    NewArticle {
        source_id: None,
        item_key: None,
        canonical_url: url.clone(),
        urls: vec![url.clone()],
        title: Some(format!("synthetic {i}")),
        authors: Vec::new(),
        published_at: None,
        updated_at: None,
        first_seen_at: at,
        language: None,
        site_name: None,
        description: None,
        // The lookup reads fingerprints only; a short text keeps the full-text index
        // (not what is measured) from dominating the set-up time.
        text: format!("synthetic article {i}"),
        text_fingerprint: None,
        story_fingerprint: Some(fingerprint),
        extractor: "stories_eval".into(),
        capture: NewCapture {
            fetch_id: None,
            url,
            fetched_at: at,
            status: 200,
            headers: Vec::new(),
            content_type: None,
            charset: None,
            charset_source: None,
            body: Vec::new(),
            body_sha256: String::new(),
        },
    }
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let at = ((times.len() as f64 - 1.0) * p).round() as usize;
    times.get(at).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

async fn bench(sizes: &[usize]) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile_dir()?;
    let store = Store::open(&dir.join("bench.sqlite3")).await?;
    let mut synthetic = Synthetic::new();
    let base = Utc
        .with_ymd_and_hms(2025, 7, 12, 0, 0, 0)
        .single()
        .ok_or("bad base time")?;
    let mut archived_texts: Vec<String> = Vec::new();
    let mut archived = 0usize;
    println!(
        "\nnear-duplicate lookup (Store::near_duplicates), 500 queries per size, one in five a near-duplicate:"
    );
    println!(
        "  fingerprints | lookup median / p95 µs | found | archive one median / p95 µs | fill time"
    );
    for &size in sizes {
        let started = Instant::now();
        while archived < size {
            let text = synthetic.article();
            let Some(fp) = stories::fingerprint(&text) else {
                continue;
            };
            store.archive(bench_article(archived, fp, base)).await?;
            if archived.is_multiple_of(50) {
                archived_texts.push(text);
            }
            archived += 1;
        }
        let fill = started.elapsed();
        let mut lookups = Vec::new();
        let mut found = 0;
        for q in 0..500usize {
            let text = if q.is_multiple_of(5) && !archived_texts.is_empty() {
                let original = &archived_texts[q % archived_texts.len()];
                format!("Share this story\n{original}\nMore news")
            } else {
                synthetic.article()
            };
            let Some(fp) = stories::fingerprint(&text) else {
                continue;
            };
            let started = Instant::now();
            let hits = store.near_duplicates(fp, 10).await?;
            lookups.push(started.elapsed());
            found += usize::from(!hits.is_empty());
        }
        let mut archives = Vec::new();
        for _ in 0..200 {
            let text = synthetic.article();
            let Some(fp) = stories::fingerprint(&text) else {
                continue;
            };
            let article = bench_article(archived, fp, base);
            let started = Instant::now();
            store.archive(article).await?;
            archives.push(started.elapsed());
            archived += 1;
        }
        println!(
            "  {:>12} | {:>8.0} / {:>8.0}         | {:>5} | {:>8.0} / {:>8.0}              | {:.1}s",
            size,
            percentile(&mut lookups, 0.5),
            percentile(&mut lookups, 0.95),
            found,
            percentile(&mut archives, 0.5),
            percentile(&mut archives, 0.95),
            fill.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("newsvault-stories-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

// ------------------------------------------------------------------ main

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let sizes: Vec<usize> = value("--bench-sizes")
        .unwrap_or_else(|| "1000,10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if !flag("--bench-only") {
        let dest = args
            .iter()
            .find(|a| !a.starts_with("--") && Some(*a) != value("--gold").as_ref() && Some(*a) != value("--bench-sizes").as_ref())
            .map(PathBuf::from)
            .ok_or("usage: stories_eval DEST [--gold DIR] [--no-bench | --bench-only] [--bench-sizes N,N]")?;
        let gold = value("--gold")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/evaldata"));
        let corpus = load_corpus(&dest, &gold);
        let pairs = build_pairs(&corpus);
        let rules = StoryRules::default();
        println!(
            "stories: scheme {}, {} hashes, {} bands of {} rows, {}-word shingles; defaults threshold {} min_words {}",
            stories::SCHEME_VERSION,
            stories::HASHES,
            stories::BANDS,
            stories::ROWS_PER_BAND,
            stories::SHINGLE_WORDS,
            rules.threshold,
            rules.min_words
        );
        let scored = score_pairs(&pairs, stories::SHINGLE_WORDS);
        report(&scored);
        per_kind(&scored, rules.threshold);
        for shingle_words in [3, 5] {
            let scored = score_pairs(&pairs, shingle_words);
            let c = counts(&scored, |s| s.candidate && s.containment >= rules.threshold);
            let best = THRESHOLDS
                .iter()
                .map(|&t| (t, counts(&scored, |s| s.candidate && s.containment >= t)))
                .max_by(|a, b| a.1.f1().total_cmp(&b.1.f1()));
            println!(
                "\n{shingle_words}-word shingles: at {} P {:.3} R {:.3}; best F1 {:.3} at {}",
                rules.threshold,
                c.precision(),
                c.recall(),
                best.map_or(0.0, |b| b.1.f1()),
                best.map_or(0.0, |b| b.0)
            );
        }
        all_pairs(&corpus, rules, flag("--verbose"));
        // Shorter texts: what a lower min_words would let through.
        for min_words in [10, 20] {
            all_pairs(
                &corpus,
                StoryRules { min_words, ..rules },
                flag("--verbose"),
            );
        }
    }
    if !flag("--no-bench") {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        runtime.block_on(bench(&sizes))?;
    }
    Ok(())
}
