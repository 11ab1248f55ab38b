//! Storage benchmark (`scripts/storage_bench.sh`): archives real pages through the store
//! API (decoded and extracted as the pipeline does, no HTTP), then measures the archive
//! against the raw HTML it holds before and after `compact`, and after VACUUM, with the
//! space each table and index takes (SQLite's dbstat).
//!
//!     storage_bench --db PATH [--min-captures N] [--dict-size BYTES] [--level L]
//!                   [--sites K --pages-per-site M] < pages.list
//!
//!     storage_bench --sweep --sites K --pages-per-site M < pages.list
//!
//! `--sweep` archives nothing: for each synthetic site it trains dictionaries on the
//! site's first N pages (N = 10 … 200) at several sizes and compresses the site's last
//! 200 pages (pages the dictionary never saw, as a site's future pages) with each, at
//! level 9, printing the stored size against the raw HTML: what chose the defaults.
//!
//! `pages.list` has one page per line: its file, then optionally a tab and the URL it was
//! served from (a page without one gets a host of its own, `page-N.invalid`).
//!
//! With `--sites K --pages-per-site M`, the archive is a site-heavy synthetic instead:
//! K sites, each made of one real page of the list (its template: head, scripts, menus,
//! footer, byte for byte) repeated M times, every copy with its `<title>` and paragraphs
//! replaced by those of other real pages and a third of its link texts replaced by other
//! pages' titles, as a site's article pages differ by their article and their lists of
//! links. It overstates what a real site's pages share (no changing scripts, ad slots,
//! timestamps), so it is an upper bound next to the real pages' lower one.

use std::io::BufRead;
use std::path::PathBuf;

use chrono::Utc;
use newsvault::canon;
use newsvault::compact::{self, CompactOptions};
use newsvault::extract::{self, ExtractOptions};
use newsvault::fetch::charset::decode_html;
use newsvault::store::{NewArticle, NewCapture, StorageUsage, Store};

struct Page {
    url: String,
    body: Vec<u8>,
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Replaces the contents of every `<tag …>…</tag>` in `html` with what `next` gives
/// (or keeps them where it gives `None`). Plain text search: good enough for templates.
fn replace_elements(html: &str, tag: &str, mut next: impl FnMut() -> Option<String>) -> String {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut at = 0;
    while let Some(start) = lower[at..].find(&open).map(|i| at + i) {
        let after_name = lower.as_bytes().get(start + open.len()).copied();
        if !matches!(after_name, Some(b'>' | b' ' | b'\n' | b'\t' | b'\r')) {
            out.push_str(&html[at..start + open.len()]);
            at = start + open.len();
            continue;
        }
        let Some(content_start) = lower[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let Some(end) = lower[content_start..]
            .find(&close)
            .map(|i| content_start + i)
        else {
            break;
        };
        out.push_str(&html[at..content_start]);
        match next() {
            Some(text) => out.push_str(&escape(&text)),
            None => out.push_str(&html[content_start..end]),
        }
        at = end;
    }
    out.push_str(&html[at..]);
    out
}

fn extracted(body: &[u8], url: &str) -> extract::Extracted {
    let url = url::Url::parse(url).ok();
    let decoded = decode_html(body, Some("text/html"), url.as_ref());
    extract::extract(
        &decoded.text,
        &ExtractOptions {
            url,
            timezone: chrono_tz::UTC,
            not_after: Some(Utc::now()),
            rules: Default::default(),
        },
    )
}

/// The synthetic site-heavy archive's pages (see the module's documentation).
fn synthetic(pages: &[Page], sites: usize, per_site: usize) -> Vec<Page> {
    eprintln!("extracting donor texts from {} pages", pages.len());
    let donors: Vec<(String, Vec<String>)> = pages
        .iter()
        .map(|p| {
            let e = extracted(&p.body, &p.url);
            let paragraphs: Vec<String> = e
                .text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            (e.title.unwrap_or_default(), paragraphs)
        })
        .filter(|(title, paragraphs)| !title.is_empty() && paragraphs.len() >= 3)
        .collect();
    // Templates: UTF-8 pages of 30-300 KB with at least 5 paragraphs, one per host.
    let mut templates: Vec<(usize, String)> = Vec::new();
    let mut hosts = std::collections::HashSet::new();
    for (i, p) in pages.iter().enumerate() {
        let Ok(html) = std::str::from_utf8(&p.body) else {
            continue;
        };
        let host = newsvault::store::site_of(&p.url);
        if (30_000..300_000).contains(&p.body.len())
            && html.to_ascii_lowercase().matches("<p").count() >= 5
            && hosts.insert(host)
        {
            templates.push((i, html.to_string()));
        }
        if templates.len() == sites {
            break;
        }
    }
    let mut out = Vec::new();
    let mut donor = 0usize;
    let mut link = 0usize;
    for (k, (index, template)) in templates.iter().enumerate() {
        eprintln!(
            "site {k}: template {} ({} bytes)",
            pages[*index].url,
            template.len()
        );
        for n in 0..per_site {
            let (title, paragraphs) = &donors[donor % donors.len()];
            donor += 1;
            let mut paragraph = paragraphs.iter().cycle();
            let html = replace_elements(template, "title", || Some(title.clone()));
            let html = replace_elements(&html, "p", || paragraph.next().cloned());
            let html = replace_elements(&html, "a", || {
                link += 1;
                link.is_multiple_of(3)
                    .then(|| donors[(link * 7919) % donors.len()].0.clone())
            });
            out.push(Page {
                url: format!("https://www.site{k}.example/news/{n}"),
                body: html.into_bytes(),
            });
        }
    }
    out
}

async fn archive(store: &Store, page: Page) -> Result<(), Box<dyn std::error::Error>> {
    let Page { url, body } = page;
    let parsed = url::Url::parse(&url)?;
    let e = extracted(&body, &url);
    let decoded = decode_html(&body, Some("text/html"), Some(&parsed));
    let canonical = canon::canonical_url(&parsed)
        .map(String::from)
        .unwrap_or_else(|| url.clone());
    let now = Utc::now();
    let article = NewArticle {
        source_id: None,
        item_key: None,
        canonical_url: canonical.clone(),
        urls: vec![canonical],
        title: e.title.clone(),
        authors: e.authors.clone(),
        published_at: e.published_at,
        updated_at: e.updated_at,
        first_seen_at: now,
        language: e.language.clone(),
        site_name: e.site_name.clone(),
        description: e.description.clone(),
        text_fingerprint: canon::text_fingerprint(e.title.as_deref(), &e.text),
        story_fingerprint: newsvault::stories::fingerprint(&e.text),
        text: e.text,
        extractor: newsvault::pipeline::EXTRACTOR.to_string(),
        capture: NewCapture {
            fetch_id: None,
            url,
            fetched_at: now,
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            content_type: Some("text/html".into()),
            charset: Some(decoded.encoding.name().to_string()),
            charset_source: Some(decoded.source.as_str().to_string()),
            body_sha256: canon::body_hash(&body),
            body,
        },
    };
    store.archive(article).await?;
    Ok(())
}

fn report(stage: &str, u: &StorageUsage) {
    let used = u.file_bytes - u.free_bytes;
    println!(
        "\n## {stage}\n\narchive file {} bytes ({} free), in use {} bytes = {:.1} % of {} bytes raw HTML in {} captures; captures stored {} bytes ({:.1} %), dictionaries {} bytes\n",
        u.file_bytes,
        u.free_bytes,
        used,
        100.0 * used as f64 / u.capture_bytes_raw.max(1) as f64,
        u.capture_bytes_raw,
        u.captures,
        u.capture_bytes_stored,
        100.0 * u.capture_bytes_stored as f64 / u.capture_bytes_raw.max(1) as f64,
        u.dictionary_bytes
    );
    println!("| table or index | bytes | % of raw HTML |\n|---|---|---|");
    for o in u.objects.iter().filter(|o| o.bytes > 0) {
        println!(
            "| {} | {} | {:.2} |",
            o.name,
            o.bytes,
            100.0 * o.bytes as f64 / u.capture_bytes_raw.max(1) as f64
        );
    }
}

/// Dictionary size and sample count against the compressed size of unseen pages.
fn sweep(pages: &[Page], per_site: usize) -> Result<(), Box<dyn std::error::Error>> {
    const HELD_OUT: usize = 200;
    let trained_on = [10, 25, 50, 100, 200];
    let sizes = [32 * 1024, 64 * 1024, 110 * 1024];
    println!("| site | samples | dictionary size | stored / raw (level 9) |\n|---|---|---|---|");
    for (k, site) in pages.chunks(per_site).enumerate() {
        if site.len() < HELD_OUT + 10 {
            continue;
        }
        let (train_pool, test) = site.split_at(site.len() - HELD_OUT);
        let raw: usize = test.iter().map(|p| p.body.len()).sum();
        let plain: usize = test
            .iter()
            .map(|p| zstd::bulk::compress(&p.body, 9).map(|c| c.len()))
            .sum::<Result<_, _>>()?;
        let plain19: usize = test
            .iter()
            .map(|p| zstd::bulk::compress(&p.body, 19).map(|c| c.len()))
            .sum::<Result<_, _>>()?;
        println!(
            "| {k} | plain | | {:.1} % (level 19: {:.1} %) |",
            100.0 * plain as f64 / raw as f64,
            100.0 * plain19 as f64 / raw as f64
        );
        for n in trained_on.iter().filter(|n| **n <= train_pool.len()) {
            let samples: Vec<&[u8]> = train_pool[..*n].iter().map(|p| p.body.as_slice()).collect();
            let sample_bytes: usize = samples.iter().map(|s| s.len()).sum();
            for size in sizes {
                let size = size.min(sample_bytes / 8);
                let dictionary = match zstd::dict::from_samples(&samples, size) {
                    Ok(d) => d,
                    Err(e) => {
                        println!("| {k} | {n} | {size} | training failed: {e} |");
                        continue;
                    }
                };
                let mut compressor = zstd::bulk::Compressor::with_dictionary(9, &dictionary)?;
                let mut stored = 0;
                for p in test {
                    stored += compressor.compress(&p.body)?.len();
                }
                println!(
                    "| {k} | {n} | {} | {:.1} % (+ dictionary: break-even after {:.0} pages) |",
                    dictionary.len(),
                    100.0 * stored as f64 / raw as f64,
                    dictionary.len() as f64
                        / ((plain - stored.min(plain)) as f64 / HELD_OUT as f64).max(1.0)
                );
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let db: PathBuf = arg(&args, "--db").ok_or("give --db PATH")?;
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let mut pages = Vec::new();
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        let mut fields = line.split('\t');
        let path = fields.next().unwrap_or("").trim();
        if path.is_empty() {
            continue;
        }
        let url = fields
            .next()
            .map(str::trim)
            .filter(|u| u.starts_with("http"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("https://page-{i}.invalid/"));
        pages.push(Page {
            url,
            body: std::fs::read(path)?,
        });
    }
    if let (Some(sites), Some(per_site)) = (
        arg::<usize>(&args, "--sites"),
        arg::<usize>(&args, "--pages-per-site"),
    ) {
        pages = synthetic(&pages, sites, per_site);
    }
    if args.iter().any(|a| a == "--sweep") {
        let per_site: usize = arg(&args, "--pages-per-site").ok_or("give --pages-per-site")?;
        sweep(&pages, per_site)?;
        return Ok(());
    }
    let store = Store::open(&db).await?;
    let total = pages.len();
    let started = std::time::Instant::now();
    for (i, page) in pages.into_iter().enumerate() {
        let url = page.url.clone();
        if let Err(e) = archive(&store, page).await {
            eprintln!("{url}: {e}");
        }
        if (i + 1).is_multiple_of(500) {
            eprintln!("archived {}/{total}", i + 1);
        }
    }
    eprintln!("archived {total} pages in {:.1?}", started.elapsed());
    report("as archived", &store.storage_usage(true).await?);

    let mut options = CompactOptions::new(Utc::now());
    if let Some(n) = arg(&args, "--min-captures") {
        options.min_captures = n;
    }
    if let Some(size) = arg(&args, "--dict-size") {
        options.dictionary_size = size;
    }
    if let Some(level) = arg(&args, "--level") {
        options.level = level;
    }
    let started = std::time::Instant::now();
    let summary = compact::compact(&store, &options).await?;
    eprintln!(
        "compact: {} sites with a dictionary, {} small sites, {} captures re-compressed in {:.1?}",
        summary.sites.len(),
        summary.small_sites,
        summary.recompressed,
        started.elapsed()
    );
    report("after compact", &store.storage_usage(true).await?);
    store.reclaim_space().await?;
    report(
        "after compact and VACUUM",
        &store.storage_usage(true).await?,
    );
    Ok(())
}
