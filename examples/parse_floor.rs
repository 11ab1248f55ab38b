//! The physical floor of article extraction on this machine: parse each page into a DOM
//! (html5ever, through dom_query, as the extractor does) and walk its text once, nothing
//! else. Reads page paths from stdin; `--threads N` splits them over N threads (default:
//! all cores). Prints pages/s for the whole run; the bytes are read and decoded before the
//! clock starts, so only parsing is timed.

use std::io::BufRead;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let mut pages = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let path = line.split('\t').next().unwrap_or("").trim();
        if !path.is_empty() {
            pages.push(String::from_utf8_lossy(&std::fs::read(path)?).into_owned());
        }
    }
    let started = Instant::now();
    let chunk = pages.len().div_ceil(threads).max(1);
    let text_bytes: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = pages
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || part.iter().map(|html| parse_and_walk(html)).sum::<usize>())
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "parse floor: {} pages in {:.2} s on {threads} threads: {:.1} pages/s ({} text bytes)",
        pages.len(),
        seconds,
        pages.len() as f64 / seconds,
        text_bytes
    );
    Ok(())
}

/// Parses the page and returns the length of its text, so the walk cannot be optimised
/// away.
fn parse_and_walk(html: &str) -> usize {
    let document = dom_query::Document::from(html);
    document.select("body").text().len()
}
