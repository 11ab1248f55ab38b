//! Extraction alone, page by page: reads page paths from stdin (one per line; anything
//! after a tab is ignored), decodes each as the pipeline does
//! (`newsvault::fetch::charset::decode_html`), then times `newsvault::extract::extract`
//! on every page, `--rounds N` times (default 3; the fastest of the rounds counts for
//! each page, which keeps a busy machine's stalls out of the tail). Prints pages/s on one
//! core, the per-page p50, p90, p99 and maximum, and the slowest pages.
//!
//! File reading and charset decoding are outside the clock: they are timed once and
//! reported on their own line.
//!
//!   cargo run --release --example extract_bench < pages.files

use std::io::BufRead;
use std::time::{Duration, Instant};

use newsvault::extract::{ExtractOptions, extract};

struct Page {
    path: String,
    bytes: usize,
    html: String,
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rounds = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(3)
        .max(1);
    let show = args
        .iter()
        .position(|a| a == "--slowest")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(10);

    let mut pages = Vec::new();
    let mut decoding = Duration::ZERO;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let path = line.split('\t').next().unwrap_or("").trim();
        if path.is_empty() {
            continue;
        }
        let bytes = std::fs::read(path)?;
        let started = Instant::now();
        let html = newsvault::fetch::charset::decode_html(&bytes, Some("text/html"), None).text;
        decoding += started.elapsed();
        pages.push(Page {
            path: path.to_string(),
            bytes: bytes.len(),
            html,
        });
    }
    if pages.is_empty() {
        eprintln!("no pages on stdin");
        std::process::exit(2);
    }

    let options = ExtractOptions {
        url: None,
        timezone: chrono_tz::UTC,
        not_after: None,
        rules: Default::default(),
    };
    let mut best = vec![Duration::MAX; pages.len()];
    let mut text_bytes = 0usize;
    let mut total_per_round = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let round_started = Instant::now();
        text_bytes = 0;
        for (page, best) in pages.iter().zip(best.iter_mut()) {
            let started = Instant::now();
            let extracted = extract(&page.html, &options);
            let took = started.elapsed();
            text_bytes += extracted.text.len();
            *best = (*best).min(took);
        }
        total_per_round.push(round_started.elapsed());
    }

    let n = pages.len();
    let sum: Duration = best.iter().sum();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| best[i]);
    let at = |q: f64| best[order[((n as f64 * q).ceil() as usize).clamp(1, n) - 1]];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let fastest_round = total_per_round.iter().min().copied().unwrap_or_default();
    println!(
        "{n} pages ({:.1} MB of HTML), {rounds} rounds, one thread",
        pages.iter().map(|p| p.bytes).sum::<usize>() as f64 / 1e6
    );
    println!(
        "extraction: {:.1} pages/s per core (sum of per-page best times {:.2} s; fastest whole round {:.2} s = {:.1} pages/s)",
        n as f64 / sum.as_secs_f64(),
        sum.as_secs_f64(),
        fastest_round.as_secs_f64(),
        n as f64 / fastest_round.as_secs_f64()
    );
    println!(
        "per page: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(at(1.0))
    );
    let tail_start = n - n.div_ceil(100);
    let tail: Duration = order[tail_start..].iter().map(|&i| best[i]).sum();
    println!(
        "slowest 1 % ({} pages): {:.1} % of all extraction time",
        n - tail_start,
        100.0 * tail.as_secs_f64() / sum.as_secs_f64()
    );
    println!(
        "charset decoding (once, outside the clock): {:.2} s for all pages",
        decoding.as_secs_f64()
    );
    println!("text extracted: {text_bytes} bytes");
    println!("slowest pages:");
    for &i in order.iter().rev().take(show) {
        println!(
            "  {:8.2} ms  {:7} bytes  {}",
            ms(best[i]),
            pages[i].bytes,
            pages[i].path
        );
    }
    Ok(())
}
