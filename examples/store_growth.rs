//! Growth of the archive: how insert (with dedup, story matching and the full-text index)
//! and search cost change as the archive grows. Generates synthetic articles and archives
//! them one by one through the public API (`Store::archive` with a `NewArticle` built as
//! the pipeline builds it), into a fresh archive file.
//!
//!   cargo run --release --example store_growth -- --db target/growth.sqlite3 \
//!       --checkpoints 10000,100000 [--raw-bytes 6000] [--window 2000] [--queries 200]
//!
//!   cargo run --release --example store_growth -- --db target/growth.sqlite3 --search-only \
//!       [--slowest 10] [--query-seed 7]
//!
//! times the searches alone on the archive a previous run left (the same queries), to
//! compare search plans without archiving again, and lists the slowest of them;
//! `--print-queries` prints the queries with their kind and exits.
//!
//! At each checkpoint N it prints the mean (and p50/p99) time per `archive` call over the
//! `--window` articles just before N, then times `Store::search` for `--queries` queries
//! (single common, mid-frequency and rare words, Bengali words, two-word AND and prefix
//! queries; 20 hits each, with snippets, as `newsvault search` asks) and prints p50/p95/max.
//!
//! The articles: text of 3 to 6 KB drawn (Zipf-like) from a vocabulary of ~40,000 words,
//! a tenth of them Bengali; a distinct URL each; one in 25 a light edit of an earlier
//! article (a near-duplicate that joins its story) and one in 100 an earlier article's
//! exact text under a new URL (a duplicate the archive recognises). The raw HTML wraps
//! the text in repetitive page furniture up to `--raw-bytes` (compressible, like real
//! pages; real pages are 50-100 KB, which the default keeps smaller so that a million
//! articles fit on an ordinary disk).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use newsvault::store::{
    Archived, ArticleFilter, NewArticle, NewCapture, SearchRequest, Store, StoreError,
};

/// A small deterministic generator (xorshift64*), so every run archives the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// A Zipf-like rank in `0..n`: rank r is drawn with probability about 1/(r+1).
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let r = ((n as f64 + 1.0).powf(u) - 1.0) as usize;
        r.min(n - 1)
    }
}

const LATIN_SYLLABLES: &[&str] = &[
    "ba", "ren", "co", "la", "mi", "ster", "pol", "tan", "ver", "di", "nor", "ka", "sel", "tro",
    "man", "gu", "fi", "lo", "ar", "pen", "dus", "vo", "ri", "shen", "cal", "om", "tu", "bri",
    "ex", "quo", "ni", "des",
];
const BENGALI_SYLLABLES: &[&str] = &[
    "বা",
    "ং",
    "লা",
    "দে",
    "শ",
    "সর",
    "কা",
    "রে",
    "র",
    "নি",
    "র্বা",
    "চন",
    "মন্ত্রী",
    "প",
    "রি",
    "ষদ",
    "ঢা",
    "কা",
    "জা",
    "তী",
    "য়",
    "স",
    "ভা",
    "খু",
    "লনা",
    "রা",
    "জ",
    "নী",
    "তি",
    "বি",
    "দ্যু",
    "ৎ",
];
const REAL_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "said",
    "government",
    "minister",
    "election",
    "police",
    "court",
    "market",
    "prices",
    "flood",
    "rain",
    "cricket",
    "match",
    "president",
    "parliament",
    "বাংলাদেশ",
    "সরকার",
    "নির্বাচন",
    "মন্ত্রী",
    "পুলিশ",
    "আদালত",
    "বাজার",
    "বন্যা",
    "ক্রিকেট",
    "ঢাকা",
    "প্রধানমন্ত্রী",
    "রাষ্ট্রপতি",
    "সংসদ",
    "অর্থনীতি",
    "শিক্ষা",
];

struct Vocabulary {
    words: Vec<String>,
}

impl Vocabulary {
    fn new(size: usize, rng: &mut Rng) -> Vocabulary {
        let mut words: Vec<String> = REAL_WORDS.iter().map(|w| w.to_string()).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < size {
            let syllables = if rng.below(10) == 0 {
                BENGALI_SYLLABLES
            } else {
                LATIN_SYLLABLES
            };
            let parts = 2 + rng.below(3);
            let word: String = (0..parts)
                .map(|_| syllables[rng.below(syllables.len())])
                .collect();
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        Vocabulary { words }
    }

    fn text(&self, rng: &mut Rng, bytes: usize) -> String {
        let mut text = String::with_capacity(bytes + 64);
        let mut in_sentence = 0;
        while text.len() < bytes {
            text.push_str(&self.words[rng.zipf(self.words.len())]);
            in_sentence += 1;
            if in_sentence > 8 + rng.below(12) {
                text.push_str(if rng.below(6) == 0 { ".\n\n" } else { ". " });
                in_sentence = 0;
            } else {
                text.push(' ');
            }
        }
        text
    }
}

/// A light edit of `text`: a few words swapped for others, as a rewrite of a wire story.
fn edited(text: &str, vocabulary: &Vocabulary, rng: &mut Rng) -> String {
    let mut words: Vec<&str> = text.split(' ').collect();
    for _ in 0..words.len() / 30 + 1 {
        let at = rng.below(words.len());
        words[at] = &vocabulary.words[rng.below(vocabulary.words.len())];
    }
    words.join(" ")
}

/// The raw page around `text`: page furniture repeated up to `size` bytes.
fn page_html(title: &str, text: &str, serial: usize, size: usize) -> Vec<u8> {
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"/static/site.{serial}.css\"></head><body>\
         <header><nav><a href=\"/\">Home</a> <a href=\"/politics\">Politics</a> \
         <a href=\"/sport\">Sport</a> <a href=\"/business\">Business</a></nav></header>\
         <article><h1>{title}</h1>"
    );
    for paragraph in text.split("\n\n") {
        html.push_str("<p>");
        html.push_str(paragraph);
        html.push_str("</p>");
    }
    html.push_str("</article><aside>");
    let mut n = 0;
    while html.len() + 200 < size {
        html.push_str(&format!(
            "<div class=\"related\"><a href=\"/news/{}\">Related story {n}</a>\
             <span class=\"time\">12:{:02}</span></div>\n",
            serial.wrapping_mul(31).wrapping_add(n),
            n % 60
        ));
        n += 1;
    }
    html.push_str("</aside><footer>&copy; Example News</footer></body></html>");
    html.into_bytes()
}

struct Args {
    db: PathBuf,
    checkpoints: Vec<usize>,
    raw_bytes: usize,
    window: usize,
    queries: usize,
    search_only: bool,
    print_queries: bool,
    slowest: usize,
    query_seed: Option<u64>,
}

fn parse_args() -> Args {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let mut checkpoints: Vec<usize> = value("--checkpoints")
        .unwrap_or_else(|| "10000,100000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    checkpoints.sort_unstable();
    Args {
        db: value("--db")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("target/growth.sqlite3")),
        checkpoints,
        raw_bytes: value("--raw-bytes")
            .and_then(|n| n.parse().ok())
            .unwrap_or(6000),
        window: value("--window")
            .and_then(|n| n.parse().ok())
            .unwrap_or(2000),
        queries: value("--queries")
            .and_then(|n| n.parse().ok())
            .unwrap_or(200),
        search_only: args.iter().any(|a| a == "--search-only"),
        print_queries: args.iter().any(|a| a == "--print-queries"),
        slowest: value("--slowest").and_then(|n| n.parse().ok()).unwrap_or(0),
        query_seed: value("--query-seed").and_then(|n| n.parse().ok()),
    }
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The queries timed at each checkpoint: words across the frequency range, in both
/// scripts, alone, in pairs and as prefixes.
fn queries(vocabulary: &Vocabulary, count: usize, rng: &mut Rng) -> Vec<String> {
    let words = &vocabulary.words;
    let bengali: Vec<&String> = words.iter().filter(|w| !w.is_ascii()).collect();
    (0..count)
        .map(|i| match i % 6 {
            0 => words[rng.below(50)].clone(),
            1 => words[50 + rng.below(2000)].clone(),
            2 => words[2000 + rng.below(words.len() - 2000)].clone(),
            3 => bengali[rng.below(bengali.len())].clone(),
            4 => format!("{} {}", words[rng.below(500)], words[500 + rng.below(5000)]),
            _ => {
                let w = &words[rng.below(3000)];
                let prefix: String = w.chars().take(3).collect();
                format!("{prefix}*")
            }
        })
        .map(|q| {
            // Quoted terms, so no generated word is read as FTS5 syntax.
            q.split(' ')
                .map(|t| match t.strip_suffix('*') {
                    Some(p) => format!("\"{p}\"*"),
                    None => format!("\"{t}\""),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// What each query of [`queries`] is, by its position modulo 6.
const QUERY_KINDS: [&str; 6] = [
    "common word",
    "mid-frequency word",
    "rare word",
    "Bengali word",
    "two words",
    "prefix",
];

/// Times every query; returns the sorted times and, per kind, its sorted times. With
/// `slowest` > 0, prints that many of the slowest queries with their kind and time.
async fn time_search(
    store: &Store,
    queries: &[String],
    slowest: usize,
) -> Result<(Vec<Duration>, Vec<Vec<Duration>>), StoreError> {
    let mut each: Vec<(Duration, usize)> = Vec::with_capacity(queries.len());
    let mut by_kind = vec![Vec::new(); QUERY_KINDS.len()];
    for (i, q) in queries.iter().enumerate() {
        let started = Instant::now();
        let found = store
            .search(SearchRequest {
                expression: q.clone(),
                filter: ArticleFilter::default(),
                limit: 20,
                highlight: ("[".into(), "]".into()),
            })
            .await?;
        let elapsed = started.elapsed();
        std::hint::black_box(found);
        each.push((elapsed, i));
        by_kind[i % QUERY_KINDS.len()].push(elapsed);
    }
    each.sort_unstable_by(|a, b| b.cmp(a));
    for &(elapsed, i) in each.iter().take(slowest) {
        println!(
            "{:8.1} ms  {:<18}  {}",
            ms(elapsed),
            QUERY_KINDS[i % QUERY_KINDS.len()],
            queries[i]
        );
    }
    let mut took: Vec<Duration> = each.iter().map(|&(elapsed, _)| elapsed).collect();
    took.sort_unstable();
    for kind in &mut by_kind {
        kind.sort_unstable();
    }
    Ok((took, by_kind))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args();
    let Some(&last) = args.checkpoints.last() else {
        return Err("no checkpoints".into());
    };
    if !args.search_only {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = args.db.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let vocabulary = Vocabulary::new(40_000, &mut rng);
    // Another seed draws other queries of the same kinds from the same vocabulary: a
    // search-only run after a first one then times queries whose postings that first
    // run did not read (an archive in use, not the same queries twice).
    let queries = match args.query_seed {
        Some(seed) => queries(&vocabulary, args.queries, &mut Rng(seed.max(1))),
        None => queries(&vocabulary, args.queries, &mut rng),
    };
    if args.print_queries {
        for (i, q) in queries.iter().enumerate() {
            println!("{}\t{q}", QUERY_KINDS[i % QUERY_KINDS.len()]);
        }
        return Ok(());
    }
    let store = Store::open(&args.db).await?;
    if args.search_only {
        let (search, by_kind) = time_search(&store, &queries, args.slowest).await?;
        println!(
            "search p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
            ms(quantile(&search, 0.5)),
            ms(quantile(&search, 0.95)),
            ms(quantile(&search, 1.0))
        );
        let kinds: Vec<String> = QUERY_KINDS
            .iter()
            .zip(&by_kind)
            .map(|(kind, took)| format!("{kind} {:.1}", ms(quantile(took, 0.95))))
            .collect();
        println!("search p95 by kind (ms): {}", kinds.join(", "));
        return Ok(());
    }
    let base = Utc
        .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
        .single()
        .ok_or("base time")?;
    // Recent texts, for near-duplicates and duplicates.
    let mut recent: VecDeque<String> = VecDeque::with_capacity(256);
    let mut window: Vec<Duration> = Vec::with_capacity(args.window);
    let (mut new, mut duplicates) = (0usize, 0usize);
    let started = Instant::now();
    println!(
        "| articles | insert mean | insert p50 | insert p99 | search p50 | search p95 | search max | archive size |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut next_checkpoint = 0;
    for serial in 0..last {
        let text = if serial % 100 == 99 && !recent.is_empty() {
            recent[rng.below(recent.len())].clone()
        } else if serial % 25 == 24 && !recent.is_empty() {
            edited(&recent[rng.below(recent.len())], &vocabulary, &mut rng)
        } else {
            let size = 3000 + rng.below(3000);
            vocabulary.text(&mut rng, size)
        };
        if recent.len() == 256 {
            recent.pop_front();
        }
        recent.push_back(text.clone());
        let title: String = text.split(' ').take(8).collect::<Vec<_>>().join(" ");
        let url = format!("https://news{}.example/article/{serial}", serial % 50);
        let at = base + chrono::Duration::seconds(serial as i64 * 30);
        let body = page_html(&title, &text, serial, args.raw_bytes);
        let article = NewArticle {
            source_id: None,
            item_key: None,
            canonical_url: url.clone(),
            urls: vec![url.clone()],
            text_fingerprint: newsvault::canon::text_fingerprint(Some(&title), &text),
            story_fingerprint: newsvault::stories::fingerprint(&text),
            title: Some(title),
            authors: vec!["Staff Reporter".into()],
            published_at: Some(at.fixed_offset()),
            updated_at: None,
            first_seen_at: at,
            language: Some("en".into()),
            site_name: Some(format!("News {}", serial % 50)),
            description: None,
            text,
            extractor: "store_growth".into(),
            capture: NewCapture {
                fetch_id: None,
                url,
                fetched_at: at,
                status: 200,
                headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
                content_type: Some("text/html; charset=utf-8".into()),
                charset: Some("UTF-8".into()),
                charset_source: Some("header".into()),
                body_sha256: newsvault::canon::body_hash(&body),
                body,
            },
        };
        let t = Instant::now();
        match store.archive(article).await? {
            Archived::New(_) => new += 1,
            Archived::Duplicate(_) => duplicates += 1,
        }
        let took = t.elapsed();
        let count = serial + 1;
        if count + args.window > args.checkpoints[next_checkpoint] {
            window.push(took);
        }
        if count == args.checkpoints[next_checkpoint] {
            window.sort_unstable();
            let mean = window.iter().sum::<Duration>() / window.len().max(1) as u32;
            let (search, by_kind) = time_search(&store, &queries, 0).await?;
            let size: u64 = ["", "-wal"]
                .iter()
                .filter_map(|s| {
                    let mut p = args.db.clone().into_os_string();
                    p.push(s);
                    std::fs::metadata(PathBuf::from(p)).ok()
                })
                .map(|m| m.len())
                .sum();
            println!(
                "| {count} | {:.3} ms | {:.3} ms | {:.3} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} MB |",
                ms(mean),
                ms(quantile(&window, 0.5)),
                ms(quantile(&window, 0.99)),
                ms(quantile(&search, 0.5)),
                ms(quantile(&search, 0.95)),
                ms(quantile(&search, 1.0)),
                size as f64 / 1e6
            );
            let kinds: Vec<String> = QUERY_KINDS
                .iter()
                .zip(&by_kind)
                .map(|(kind, took)| format!("{kind} {:.1}", ms(quantile(took, 0.95))))
                .collect();
            println!("|   | search p95 by kind (ms): {} |", kinds.join(", "));
            window.clear();
            next_checkpoint += 1;
        }
    }
    println!(
        "\n{last} archive calls in {:.0} s: {new} new, {duplicates} recognised as duplicates; raw page {} bytes; {} search queries per checkpoint",
        started.elapsed().as_secs_f64(),
        args.raw_bytes,
        queries.len()
    );
    Ok(())
}
