//! Per-site zstd dictionaries and `newsvault compact`: a site gets a dictionary once it has
//! enough captures, and its new captures use it; every capture reads back byte for byte
//! (raw, WARC export, show, reparse) before and after compaction; compaction is idempotent
//! and carries on where an interrupted run stopped; a damaged or missing dictionary is an
//! error naming the capture; the archive passes `PRAGMA integrity_check` afterwards.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::{TimeZone, Utc};
use common::process::newsvault;
use newsvault::compact::{CompactOptions, compact};
use newsvault::export::{self, ExportOptions, Format};
use newsvault::store::{
    ArticleFilter, Capture, NewArticle, NewCapture, SHARED_DICTIONARY_SITE, Store, StoreError,
    site_of,
};

const SITE: &str = "bssnews.net";
const MIN: usize = 30;

fn database(dir: &Path) -> PathBuf {
    dir.join("archive.sqlite3")
}

/// Page `n` of a site built on a real page's template: the fixture with its paragraphs
/// numbered apart, as a site's articles differ by their text.
fn page(template: &str, n: usize) -> Vec<u8> {
    let mut body = String::with_capacity(template.len() + 64);
    for (i, part) in template.split("<p>").enumerate() {
        if i > 0 {
            body.push_str(&format!("<p>Article {n}, paragraph {i}: {} ", n * 7919 + i));
        }
        body.push_str(part);
    }
    body.into_bytes()
}

fn article(url: &str, body: Vec<u8>, n: usize) -> NewArticle {
    let at = Utc
        .with_ymd_and_hms(2025, 7, 1, 0, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::minutes(n as i64);
    NewArticle {
        source_id: None,
        item_key: None,
        canonical_url: url.to_string(),
        urls: vec![url.to_string()],
        title: Some(format!("Article {n}")),
        authors: Vec::new(),
        published_at: None,
        updated_at: None,
        first_seen_at: at,
        language: Some("en".into()),
        site_name: None,
        description: None,
        text: format!("Article {n} text."),
        text_fingerprint: None,
        story_fingerprint: None,
        extractor: "test".into(),
        capture: NewCapture {
            fetch_id: None,
            url: url.to_string(),
            fetched_at: at,
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            content_type: Some("text/html; charset=utf-8".into()),
            charset: Some("UTF-8".into()),
            charset_source: Some("http-header".into()),
            body_sha256: newsvault::canon::body_hash(&body),
            body,
        },
    }
}

/// Archives pages `from..to` of the test site.
async fn archive_site(store: &Store, from: usize, to: usize) {
    let template = String::from_utf8(common::fixture(
        "pages/bss-en-homestead-gardening-rajshahi.html",
    ))
    .expect("fixture is UTF-8");
    for n in from..to {
        let url = format!("https://www.{SITE}/news/{n}");
        store
            .archive(article(&url, page(&template, n), n))
            .await
            .expect("archive");
    }
}

/// Archives pages `from..to` of a site too small for a dictionary.
async fn archive_small_site(store: &Store, from: usize, to: usize) {
    let template = String::from_utf8(common::fixture("pages/nabadiganta-mango-market.html"))
        .expect("fixture is UTF-8");
    for n in from..to {
        let url = format!("https://small.example/{n}");
        store
            .archive(article(&url, page(&template, n), 10_000 + n))
            .await
            .expect("archive");
    }
}

fn options() -> CompactOptions {
    let mut options = CompactOptions::new(
        Utc.with_ymd_and_hms(2025, 8, 1, 0, 0, 0)
            .single()
            .expect("valid time"),
    );
    options.min_captures = MIN;
    options.batch = 4;
    options
}

async fn all_captures(store: &Store) -> Vec<Capture> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .captures_page(ArticleFilter::default(), after, 16)
            .await
            .expect("read captures");
        let Some(last) = page.last() else { break };
        after = last.info.id;
        all.extend(page);
    }
    all
}

async fn warc(store: &Store) -> Vec<u8> {
    let options = ExportOptions {
        format: Format::Warc,
        filter: ArticleFilter::default(),
        gzip: false,
        now: Utc
            .with_ymd_and_hms(2025, 9, 1, 0, 0, 0)
            .single()
            .expect("valid time"),
        filename: None,
    };
    let mut out = Vec::new();
    export::export(store, &options, &mut out)
        .await
        .expect("export");
    out
}

/// (capture id, dictionary id) of every capture, read as a user's sqlite3 would.
fn dictionary_use(dir: &Path) -> Vec<(i64, Option<i64>)> {
    let db = common::open_db(dir);
    let mut stmt = db
        .prepare("SELECT id, dictionary_id FROM captures ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    newsvault()
        .arg("--database")
        .arg(database(dir))
        .args(args)
        .output()
        .expect("run newsvault")
}

fn integrity(dir: &Path) {
    let db = common::open_db(dir);
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let broken_references = db
        .prepare("PRAGMA foreign_key_check")
        .expect("prepare")
        .query_map([], |_| Ok(()))
        .expect("query")
        .count();
    assert_eq!(broken_references, 0);
}

#[tokio::test]
async fn a_site_gets_a_dictionary_once_it_has_enough_captures_and_new_captures_use_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&database(dir.path())).await.expect("open");
    archive_site(&store, 0, MIN - 1).await;
    archive_small_site(&store, 0, 5).await;

    // Neither site has enough captures of its own, but together they have: they share a
    // dictionary.
    let summary = compact(&store, &options()).await.expect("compact");
    assert_eq!(summary.small_sites, 2);
    assert_eq!(summary.sites.len(), 1, "{summary:?}");
    assert_eq!(summary.sites[0].site, SHARED_DICTIONARY_SITE);
    let shared = summary.sites[0].trained.clone().expect("shared dictionary");
    assert_eq!(shared.samples, (MIN - 1 + 5) as u64);
    assert_eq!(summary.recompressed, (MIN - 1 + 5) as u64);
    // A new capture of a site without its own dictionary uses the shared one.
    archive_site(&store, MIN - 1, MIN).await;
    let used = dictionary_use(dir.path());
    assert_eq!(used.last().map(|u| u.1), Some(Some(shared.id)));

    // Now the site has enough for its own; the other stays with the shared one.
    let summary = compact(&store, &options()).await.expect("compact");
    assert_eq!(summary.sites.len(), 1, "{summary:?}");
    assert_eq!(summary.sites[0].site, SITE);
    let trained = summary.sites[0].trained.clone().expect("trained");
    assert_eq!(trained.samples, MIN as u64);
    // Each capture takes the site's dictionary unless that would make it larger than it
    // is with the shared one (here, trained mostly on the same site's pages).
    assert_eq!(
        summary.sites[0].recompressed + summary.sites[0].kept,
        MIN as u64
    );
    assert!(
        summary.after.capture_bytes_stored <= summary.before.capture_bytes_stored,
        "{summary:?}"
    );
    let dictionaries = store.dictionaries().await.expect("list");
    assert_eq!(dictionaries.len(), 2, "{dictionaries:?}");
    assert_eq!(dictionaries[0].site, SHARED_DICTIONARY_SITE);
    assert_eq!(dictionaries[0].captures, 5 + summary.sites[0].kept as i64);
    assert_eq!(dictionaries[1].site, SITE);
    assert_eq!(
        dictionaries[1].captures,
        summary.sites[0].recompressed as i64
    );
    let kept = summary.sites[0].kept as usize;

    // New captures of the site are compressed with its dictionary, the other's with the
    // shared one.
    archive_site(&store, MIN, MIN + 3).await;
    archive_small_site(&store, 5, 8).await;
    let used = dictionary_use(dir.path());
    assert_eq!(
        used.iter().filter(|(_, d)| *d == Some(trained.id)).count(),
        MIN + 3 - kept
    );
    assert_eq!(
        used.iter().filter(|(_, d)| *d == Some(shared.id)).count(),
        8 + kept
    );
    assert!(used.iter().all(|(_, d)| d.is_some()));
    assert_eq!(site_of("https://www.bssnews.net/bangla/1"), SITE);
    integrity(dir.path());
}

#[tokio::test]
async fn captures_read_back_byte_for_byte_before_and_after_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&database(dir.path())).await.expect("open");
    archive_site(&store, 0, MIN + 10).await;
    archive_small_site(&store, 0, 3).await;
    let before = all_captures(&store).await;
    let raw_before = run(dir.path(), &["raw", "1"]);
    assert!(raw_before.status.success());

    let summary = compact(&store, &options()).await.expect("compact");
    assert_eq!(summary.recompressed, (MIN + 10) as u64);
    assert_eq!(summary.failures, 0);
    // Captures archived after the dictionary exist in its form from the start.
    archive_site(&store, MIN + 10, MIN + 12).await;

    let after = all_captures(&store).await;
    assert_eq!(after[..before.len()], before[..]);
    for capture in &after {
        assert_eq!(
            newsvault::canon::body_hash(&capture.body),
            capture.info.body_sha256
        );
    }
    let template = String::from_utf8(common::fixture(
        "pages/bss-en-homestead-gardening-rajshahi.html",
    ))
    .expect("fixture is UTF-8");
    assert_eq!(after[after.len() - 1].body, page(&template, MIN + 11));

    // A fresh process reads them too (no cached dictionary), and so do the commands.
    drop(store);
    let raw_after = run(dir.path(), &["raw", "1"]);
    assert!(
        raw_after.status.success(),
        "{}",
        String::from_utf8_lossy(&raw_after.stderr)
    );
    assert_eq!(raw_after.stdout, raw_before.stdout);
    let show = run(dir.path(), &["show", "--json", "1"]);
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    let reparse = run(dir.path(), &["reparse", "--json"]);
    assert!(
        reparse.status.success(),
        "{}",
        String::from_utf8_lossy(&reparse.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&reparse.stdout).expect("reparse prints JSON");
    assert_eq!(summary["failed"], 0, "{summary}");
    integrity(dir.path());
}

#[tokio::test]
async fn the_export_is_the_same_before_and_after_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&database(dir.path())).await.expect("open");
    archive_site(&store, 0, MIN + 2).await;
    let before = warc(&store).await;
    compact(&store, &options()).await.expect("compact");
    assert_eq!(warc(&store).await, before);
}

#[tokio::test]
async fn compaction_is_idempotent_and_carries_on_after_an_interruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&database(dir.path())).await.expect("open");
    archive_site(&store, 0, MIN + 10).await;
    let before = all_captures(&store).await;

    // Stopped after two batches, as a run killed between transactions would be.
    let mut interrupted = options();
    interrupted.limit = Some(8);
    let first = compact(&store, &interrupted).await.expect("compact");
    assert!(!first.complete);
    assert_eq!(first.recompressed, 8);
    let used = dictionary_use(dir.path());
    assert_eq!(used.iter().filter(|(_, d)| d.is_some()).count(), 8);
    assert_eq!(all_captures(&store).await, before);

    // The next run uses the dictionary trained then, and finishes.
    let second = compact(&store, &options()).await.expect("compact");
    assert!(second.complete);
    assert!(second.sites[0].trained.is_none(), "{second:?}");
    assert_eq!(second.recompressed, (MIN + 10 - 8) as u64);
    assert_eq!(store.dictionaries().await.expect("list").len(), 1);

    // And a third has nothing to do.
    let third = compact(&store, &options()).await.expect("compact");
    assert_eq!(third.recompressed, 0);
    assert!(third.sites[0].trained.is_none());
    assert_eq!(
        third.after.capture_bytes_stored,
        second.after.capture_bytes_stored
    );
    assert_eq!(all_captures(&store).await, before);

    // Twice the captures it was trained on: trained again, the old one dropped.
    archive_site(&store, MIN + 10, 2 * (MIN + 10)).await;
    let fourth = compact(&store, &options()).await.expect("compact");
    let retrained = fourth.sites[0].trained.clone().expect("trained again");
    assert_eq!(fourth.recompressed, 2 * (MIN + 10) as u64);
    assert_eq!(fourth.dictionaries_dropped, 1);
    let dictionaries = store.dictionaries().await.expect("list");
    assert_eq!(dictionaries.len(), 1);
    assert_eq!(dictionaries[0].id, retrained.id);
    assert_eq!(all_captures(&store).await[..before.len()], before[..]);
    integrity(dir.path());
}

#[tokio::test]
async fn the_command_compacts_reports_and_vacuums() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&database(dir.path())).await.expect("open");
    archive_site(&store, 0, MIN).await;
    drop(store);

    let min = MIN.to_string();
    let dry = run(
        dir.path(),
        &["compact", "--dry-run", "--json", "--min-captures", &min],
    );
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("JSON");
    assert_eq!(dry["recompressed"], MIN);
    assert_eq!(dry["sites"][0]["would_train"], true);
    assert!(dictionary_use(dir.path()).iter().all(|(_, d)| d.is_none()));

    let other = run(
        dir.path(),
        &["compact", "--site", "example.org", "--min-captures", &min],
    );
    assert!(other.status.success());
    assert!(dictionary_use(dir.path()).iter().all(|(_, d)| d.is_none()));

    let done = run(
        dir.path(),
        &[
            "compact",
            "--json",
            "--vacuum",
            "--site",
            "www.bssnews.net",
            "--min-captures",
            &min,
        ],
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let done: serde_json::Value = serde_json::from_slice(&done.stdout).expect("JSON");
    assert_eq!(done["recompressed"], MIN);
    assert_eq!(done["vacuumed"], true);
    assert_eq!(done["after"]["free_bytes"], 0);
    assert!(
        done["after"]["file_bytes"].as_i64() < done["before"]["file_bytes"].as_i64(),
        "{done}"
    );
    assert!(dictionary_use(dir.path()).iter().all(|(_, d)| d.is_some()));
    let text = run(dir.path(), &["compact", "--min-captures", &min]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("0 re-compressed"), "{text}");
    integrity(dir.path());
}

#[tokio::test]
async fn a_damaged_or_missing_dictionary_is_an_error_naming_the_capture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&database(dir.path())).await.expect("open");
    archive_site(&store, 0, MIN).await;
    compact(&store, &options()).await.expect("compact");
    drop(store);

    let writable = || rusqlite::Connection::open(database(dir.path())).expect("open");
    writable()
        .execute(
            "UPDATE zstd_dictionaries SET dictionary = zeroblob(2048)",
            [],
        )
        .expect("damage the dictionary");
    let raw = run(dir.path(), &["raw", "3"]);
    assert!(!raw.status.success());
    let stderr = String::from_utf8_lossy(&raw.stderr);
    assert!(stderr.contains("capture 3 of article 3"), "{stderr}");
    assert!(
        stderr.contains("does not decompress with zstd dictionary"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The foreign key keeps a dictionary in use from being deleted, but sqlite3 does not
    // enforce foreign keys unless asked to.
    let db = writable();
    assert!(db.execute("DELETE FROM zstd_dictionaries", []).is_err());
    db.execute_batch("PRAGMA foreign_keys = OFF; DELETE FROM zstd_dictionaries;")
        .expect("delete the dictionary");
    drop(db);
    let raw = run(dir.path(), &["raw", "3"]);
    assert!(!raw.status.success());
    let stderr = String::from_utf8_lossy(&raw.stderr);
    assert!(stderr.contains("capture 3 of article 3"), "{stderr}");
    assert!(stderr.contains("is missing"), "{stderr}");
    let store = Store::open(&database(dir.path())).await.expect("reopen");
    let error = store.latest_capture(5).await.expect_err("no dictionary");
    assert!(
        matches!(error, StoreError::Other(ref m) if m.contains("capture 5 of article 5")),
        "{error}"
    );
}
