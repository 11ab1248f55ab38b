//! Measures `newsvault::feed::parse_feed` against a feed evaluation folder laid out like
//! `../shared/evaldata/feeds` (`INDEX.tsv`, `real/`, `feedparser/`, `feed-rs/fixture/`).
//!
//! `cargo run --release --example feed_check -- ../shared/evaldata/feeds [-v]`
//!
//! Prints, per corpus, how many files parse and (where the expected count is known) how
//! many give exactly the expected number of items, all with a link. `-v` lists the misses.

use std::path::{Path, PathBuf};
use std::time::Instant;

use newsvault::feed::{ParsedFeed, parse_feed};
use url::Url;

fn parse_file(path: &Path) -> Result<ParsedFeed, String> {
    let body = std::fs::read(path).map_err(|e| format!("read: {e}"))?;
    let base = Url::parse("https://feeds.example/feed").map_err(|e| e.to_string())?;
    parse_feed(&body, &base).map_err(|e| e.to_string())
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The `Expect:` line of a feedparser test file, for the listing of misses.
fn expect_line(path: &Path) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    text.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Expect:")
                .map(|e| e.trim().to_string())
        })
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verbose = args.iter().any(|a| a == "-v");
    // `--dump`: every item of every real feed, one line each, for diffing two versions.
    let dump = args.iter().any(|a| a == "--dump");
    let root = PathBuf::from(
        args.iter()
            .find(|a| !a.starts_with('-'))
            .map_or("../shared/evaldata/feeds", String::as_str),
    );
    let started = Instant::now();

    // real/: INDEX.tsv gives the expected item count.
    let index = std::fs::read_to_string(root.join("INDEX.tsv")).unwrap_or_default();
    let (mut total, mut parsed, mut exact, mut linked) = (0, 0, 0, 0);
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (Some(path), Some(expected)) = (cols.first(), cols.get(3)) else {
            continue;
        };
        let expected: usize = expected.parse().unwrap_or(usize::MAX);
        total += 1;
        match parse_file(&root.join(path)) {
            Ok(feed) => {
                parsed += 1;
                if dump {
                    for item in &feed.items {
                        println!(
                            "{path}\t{:?}\t{:?}\t{:?}\t{:?}",
                            item.guid,
                            item.link.as_ref().map(Url::as_str),
                            item.title,
                            item.published
                        );
                    }
                }
                let n = feed.items.len();
                let all_linked = feed.items.iter().all(|i| i.link.is_some());
                if n == expected {
                    exact += 1;
                }
                if n == expected && all_linked {
                    linked += 1;
                }
                if verbose && (n != expected || !all_linked) {
                    println!(
                        "  real MISS {path}: {n} items (expected {expected}), all linked: {all_linked}"
                    );
                    if let Some(item) = feed.items.iter().find(|i| i.link.is_none()) {
                        println!("    first item without a link: {item:?}");
                    }
                }
            }
            Err(e) => {
                if verbose {
                    println!("  real FAIL {path}: {e}");
                }
            }
        }
    }
    println!(
        "real: {total} feeds, {parsed} parse, {exact} with the expected item count, {linked} of those with every item linked"
    );

    // feedparser/illformed and feedparser/encoding: feedparser still returns a result for
    // all of them (bozo or not); count how many we parse.
    for sub in ["illformed", "encoding", "wellformed", "json"] {
        let mut files = Vec::new();
        files_under(&root.join("feedparser").join(sub), &mut files);
        files.sort();
        let (mut n, mut ok, mut with_items) = (0, 0, 0);
        for path in &files {
            n += 1;
            match parse_file(path) {
                Ok(feed) => {
                    ok += 1;
                    if !feed.items.is_empty() {
                        with_items += 1;
                    }
                }
                Err(e) => {
                    if verbose {
                        println!(
                            "  feedparser FAIL {}: {e} [Expect: {}]",
                            path.strip_prefix(&root).unwrap_or(path).display(),
                            expect_line(path)
                        );
                    }
                }
            }
        }
        println!("feedparser/{sub}: {n} files, {ok} parse ({with_items} with items)");
    }

    // feed-rs fixtures: every input next to a `.serde.json` must give that many entries;
    // inputs without one are expected to fail (the truncated Reuters feed) or are XML-reader
    // tests.
    let mut files = Vec::new();
    files_under(&root.join("feed-rs/fixture"), &mut files);
    files.sort();
    let (mut n, mut ok, mut same) = (0, 0, 0);
    for path in files
        .iter()
        .filter(|p| !p.to_string_lossy().ends_with(".serde.json"))
    {
        n += 1;
        let serde = path.with_extension("serde.json");
        let expected = std::fs::read(&serde)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v.get("entries").and_then(|e| e.as_array()).map(Vec::len));
        match parse_file(path) {
            Ok(feed) => {
                ok += 1;
                if Some(feed.items.len()) == expected {
                    same += 1;
                } else if verbose {
                    println!(
                        "  feed-rs MISS {}: {} items, feed-rs expects {expected:?}",
                        path.display(),
                        feed.items.len()
                    );
                }
            }
            Err(e) => {
                if verbose {
                    println!("  feed-rs FAIL {}: {e}", path.display());
                }
            }
        }
    }
    println!("feed-rs fixtures: {n} inputs, {ok} parse, {same} with feed-rs's own entry count");
    eprintln!("took {:?}", started.elapsed());
}
