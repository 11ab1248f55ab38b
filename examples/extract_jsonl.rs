//! Evaluation harness for `newsvault::extract`: reads page paths from stdin (one per
//! line, optionally followed by a tab and an IANA time zone), prints one JSON object per
//! page with the fields `../shared/eval/score.py` reads, plus `file` and `error`.
//!
//! Bytes are decoded as the reference runs did: BOM, else the first `charset` declared
//! in the first 4 KB, else UTF-8 (lossy). No URL is given. The default zone is UTC;
//! `--tz ZONE` changes it. Extraction time (without file reading) goes to stderr.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use newsvault::extract::{ExtractOptions, extract};

fn decode(bytes: &[u8]) -> String {
    newsvault::fetch::charset::decode_html(bytes, None, None).text
}

fn main() {
    let mut default_tz: chrono_tz::Tz = chrono_tz::UTC;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--tz")
        && let Some(tz) = args.get(i + 1).and_then(|t| t.parse().ok())
    {
        default_tz = tz;
    }
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut spent = Duration::ZERO;
    let mut pages = 0usize;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let (path, tz) = match line.split_once('\t') {
            Some((p, z)) => (p, z.trim().parse().unwrap_or(default_tz)),
            None => (line, default_tz),
        };
        let record = match std::fs::read(path) {
            Ok(bytes) => {
                let html = decode(&bytes);
                let options = ExtractOptions {
                    url: None,
                    timezone: tz,
                    not_after: None,
                    rules: Default::default(),
                };
                let t = Instant::now();
                let e = extract(&html, &options);
                spent += t.elapsed();
                pages += 1;
                serde_json::json!({
                    "file": path,
                    "title": e.title,
                    "authors": e.authors,
                    "published_at": e.published_at.map(|d| d.to_rfc3339()),
                    "updated_at": e.updated_at.map(|d| d.to_rfc3339()),
                    "language": e.language,
                    "site_name": e.site_name,
                    "text": e.text,
                    "error": null,
                })
            }
            Err(err) => serde_json::json!({"file": path, "error": err.to_string()}),
        };
        let _ = writeln!(out, "{record}");
    }
    let secs = spent.as_secs_f64();
    eprintln!(
        "{pages} pages, {secs:.2} s extracting, {:.1} pages/s",
        if secs > 0.0 { pages as f64 / secs } else { 0.0 }
    );
}
