//! `newsvault migrate` and the store's transfer: an archive with sources, a request log,
//! feed items, stories, an edited article (two versions) and captures compressed with a
//! site's zstd dictionary is copied SQLite → PostgreSQL → SQLite and reads back the same
//! from each (articles, captures as stored and as served, versions, stories, search); a
//! copy stopped after a few batches and run again carries on without copying any row
//! twice; a target holding another archive is refused. The PostgreSQL tests start a
//! throwaway server (tests/common/postgres.rs) and are skipped without one, except in CI.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::fixture;
use common::process::newsvault;
use newsvault::compact::{CompactOptions, compact};
use newsvault::store::{
    Archived, ArticleFilter, ArticleKey, ArticleRecord, ArticleVersion, CaptureBody,
    DictionaryInfo, ExtractedFields, FetchRecord, NewArticle, NewCapture, NewVersion,
    RevisitOutcome, SearchRequest, SourceSpec, SourceState, Store, StoryFilter, StorySummary,
    TransferOptions, TransferReport, transfer,
};
use newsvault::stories;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, 12, 12, 0, 0)
        .single()
        .expect("valid time")
        + Duration::minutes(minutes)
}

async fn open(location: &Path) -> Store {
    Store::open(location)
        .await
        .unwrap_or_else(|e| panic!("open {}: {e}", location.display()))
}

fn article(url: &str, title: &str, text: &str, body: Vec<u8>, minutes: i64) -> NewArticle {
    NewArticle {
        source_id: None,
        item_key: None,
        canonical_url: url.to_string(),
        urls: vec![url.to_string()],
        title: Some(title.to_string()),
        authors: vec!["A. Reporter".into()],
        published_at: None,
        updated_at: None,
        first_seen_at: at(minutes),
        language: Some("en".into()),
        site_name: None,
        description: None,
        story_fingerprint: stories::fingerprint(text),
        text: text.to_string(),
        text_fingerprint: Some(newsvault::canon::body_hash(text.as_bytes())),
        extractor: "test".into(),
        capture: NewCapture {
            fetch_id: None,
            url: url.to_string(),
            fetched_at: at(minutes),
            status: 200,
            headers: vec![("content-type".into(), "text/html".into())],
            content_type: Some("text/html".into()),
            charset: Some("UTF-8".into()),
            charset_source: Some("http-header".into()),
            body_sha256: newsvault::canon::body_hash(&body),
            body,
        },
    }
}

/// Page `n` of one site: a real page's template with its paragraphs numbered apart.
fn site_page(template: &str, n: usize) -> Vec<u8> {
    let mut body = String::with_capacity(template.len() + 64);
    for (i, part) in template.split("<p>").enumerate() {
        if i > 0 {
            body.push_str(&format!("<p>Article {n}, paragraph {i}: {} ", n * 7919 + i));
        }
        body.push_str(part);
    }
    body.into_bytes()
}

fn wire_text(topic: &str) -> String {
    (0..120)
        .map(|i| format!("{topic}{}", i * 7 % 113))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fills an archive with a bit of everything the transfer moves.
async fn fill(store: &Store) {
    let sources = store
        .sync_sources(
            vec![
                SourceSpec {
                    name: "bss".into(),
                    url: "https://www.bssnews.net/feed".into(),
                    kind: None,
                    enabled: true,
                },
                SourceSpec {
                    name: "wire".into(),
                    url: "https://wire.example/feed".into(),
                    kind: None,
                    enabled: true,
                },
            ],
            at(0),
        )
        .await
        .expect("sync");
    let template = String::from_utf8(fixture("pages/bss-en-homestead-gardening-rajshahi.html"))
        .expect("fixture is UTF-8");
    for n in 0..22 {
        let fetch = store
            .record_fetch(FetchRecord {
                source_id: Some(sources[0].id),
                purpose: "page".into(),
                url: format!("https://www.bssnews.net/news/{n}"),
                final_url: None,
                started_at: at(n as i64),
                duration_ms: 12,
                status: Some(200),
                bytes: 1000,
                error: None,
            })
            .await
            .expect("fetch");
        let mut page = article(
            &format!("https://www.bssnews.net/news/{n}"),
            &format!("Homestead gardening {n}"),
            &format!("Gardening story number {n} from Rajshahi."),
            site_page(&template, n),
            n as i64,
        );
        page.source_id = Some(sources[0].id);
        page.item_key = Some(format!("item-{n}"));
        page.capture.fetch_id = Some(fetch);
        store.archive(page).await.expect("archive");
    }
    let wire = wire_text("storm");
    for (n, (url, text)) in [
        ("https://wire.example/storm", wire.clone()),
        ("https://wire.example/storm-copy", format!("{wire} more")),
        ("https://wire.example/budget", wire_text("budget")),
    ]
    .into_iter()
    .enumerate()
    {
        let mut item = article(
            url,
            &format!("Wire {n}"),
            &text,
            text.clone().into_bytes(),
            30,
        );
        item.source_id = Some(sources[1].id);
        store.archive(item).await.expect("archive");
    }
    store
        .record_item_failure(sources[1].id, "broken".into(), "timed out".into(), at(31))
        .await
        .expect("item failure");
    // An edit found by a revisit: a second version with its own capture.
    let edited = store
        .find_article(ArticleKey::Urls(vec!["https://wire.example/budget".into()]))
        .await
        .expect("look up")
        .expect("archived above");
    let text = "The budget now carries a fuel levy, the minister said.";
    let body = format!("<p>{text}</p>").into_bytes();
    let version = NewVersion {
        content_sha256: newsvault::versions::content_hash(Some("Budget"), text, None, None),
        fields: ExtractedFields {
            title: Some("Budget".into()),
            authors: Vec::new(),
            published_at: None,
            updated_at: None,
            language: Some("en".into()),
            site_name: None,
            description: None,
            text: text.into(),
            text_fingerprint: Some(newsvault::canon::body_hash(text.as_bytes())),
            story_fingerprint: stories::fingerprint(text),
            extractor: "test".into(),
        },
        capture: NewCapture {
            fetch_id: None,
            url: "https://wire.example/budget".into(),
            fetched_at: at(120),
            status: 200,
            headers: Vec::new(),
            content_type: Some("text/html".into()),
            charset: None,
            charset_source: None,
            body_sha256: newsvault::canon::body_hash(&body),
            body,
        },
    };
    store
        .record_revisit(edited, at(120), RevisitOutcome::Fetched(Box::new(version)))
        .await
        .expect("revisit");
    let mut options = CompactOptions::new(at(180));
    options.min_captures = 20;
    let summary = compact(&store.clone(), &options).await.expect("compact");
    assert_eq!(summary.failures, 0, "{summary:?}");
}

/// Everything the archive answers, in a form two archives can be compared by.
#[derive(Debug, PartialEq)]
struct Snapshot {
    sources: Vec<SourceState>,
    articles: Vec<ArticleRecord>,
    captures: Vec<(i64, Option<i64>, u64, Vec<u8>)>,
    versions: Vec<Vec<ArticleVersion>>,
    stories: Vec<StorySummary>,
    dictionaries: Vec<DictionaryInfo>,
    /// Article ids found by a few searches (scores differ between backends).
    searches: Vec<Vec<i64>>,
}

async fn snapshot(store: &Store) -> Snapshot {
    let articles = store
        .articles_page(ArticleFilter::default(), 0, 10_000)
        .await
        .expect("articles");
    let mut versions = Vec::new();
    for a in &articles {
        versions.push(store.versions_of(a.id).await.expect("versions"));
    }
    let ids: Vec<i64> = store
        .capture_sites()
        .await
        .expect("captures")
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    let captures = store
        .capture_bodies(ids)
        .await
        .expect("bodies")
        .into_iter()
        .map(|c: CaptureBody| {
            (
                c.id,
                c.dictionary_id,
                c.stored_size,
                c.body.expect("every body decompresses"),
            )
        })
        .collect();
    let mut searches = Vec::new();
    for expression in ["gardening", "levy", "storm0"] {
        let mut hits: Vec<i64> = store
            .search(SearchRequest {
                expression: expression.into(),
                filter: ArticleFilter::default(),
                limit: 100,
                highlight: ("[".into(), "]".into()),
            })
            .await
            .expect("search")
            .into_iter()
            .map(|h| h.id)
            .collect();
        hits.sort_unstable();
        searches.push(hits);
    }
    Snapshot {
        sources: store.sources().await.expect("sources"),
        articles,
        captures,
        versions,
        stories: store
            .stories(StoryFilter {
                since: None,
                min_sources: 0,
                limit: 100,
            })
            .await
            .expect("stories"),
        dictionaries: store.dictionaries().await.expect("dictionaries"),
        searches,
    }
}

fn assert_complete(report: &TransferReport) {
    assert!(report.complete, "{report:?}");
    assert!(report.counts_match(), "{report:?}");
    assert!(
        report.counts.iter().all(|c| c.source > 0),
        "every table has rows to copy: {report:?}"
    );
}

fn options(batch_rows: u32, max_batches: Option<u64>) -> TransferOptions {
    TransferOptions {
        batch_rows,
        max_batches,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_goes_to_postgresql_and_back_unchanged() {
    let Some(server) = common::postgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("first.sqlite3");
    let back = dir.path().join("back.sqlite3");
    let url = PathBuf::from(server.create_database().await);
    let sqlite = open(&first).await;
    fill(&sqlite).await;
    let original = snapshot(&sqlite).await;
    assert!(
        original.captures.iter().any(|c| c.1.is_some()),
        "some captures use a dictionary"
    );
    assert!(
        original.versions.iter().any(|v| v.len() == 2),
        "an edited article"
    );
    assert!(
        original.stories.iter().any(|s| s.articles == 2),
        "a story of two"
    );

    let postgres = open(&url).await;
    let report = transfer(&sqlite, &postgres, &options(7, None), |_, _| {})
        .await
        .expect("to PostgreSQL");
    assert_complete(&report);
    assert_eq!(snapshot(&postgres).await, original);

    let returned = open(&back).await;
    let report = transfer(&postgres, &returned, &options(500, None), |_, _| {})
        .await
        .expect("back to SQLite");
    assert_complete(&report);
    assert_eq!(snapshot(&returned).await, original);
    // The stored versions came along as stored: each article's text once, in its row.
    let shared_texts = |path: &Path| {
        rusqlite::Connection::open(path)
            .and_then(|db| {
                db.query_row(
                    "SELECT count(*) FROM article_version_rows WHERE text IS NULL",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .unwrap_or_else(|e| panic!("count shared texts in {}: {e}", path.display()))
    };
    assert_eq!(shared_texts(&back), original.articles.len() as i64);
    assert_eq!(shared_texts(&back), shared_texts(&first));

    // The copy's identities start after the copied ids: a new article gets a new id.
    let Archived::New(id) = postgres
        .archive(article(
            "https://wire.example/new",
            "New",
            "A new article after the move.",
            b"<p>new</p>".to_vec(),
            300,
        ))
        .await
        .expect("archive after the copy")
    else {
        panic!("new");
    };
    assert!(original.articles.iter().all(|a| a.id < id));
}

/// Copies in runs of `max_batches` until one says it is complete; returns the rows each
/// run copied.
async fn copy_in_runs(from: &Store, to: &Store, max_batches: u64) -> Vec<u64> {
    let mut runs = Vec::new();
    loop {
        let report = transfer(from, to, &options(3, Some(max_batches)), |_, _| {})
            .await
            .expect("copy");
        runs.push(report.rows);
        if report.complete {
            assert_complete(&report);
            return runs;
        }
        assert!(
            !report.counts_match(),
            "an unfinished copy is short: {report:?}"
        );
        assert!(runs.len() < 1000, "the copy does not progress: {report:?}");
    }
}

async fn interrupted_copies_carry_on(to: PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = open(&dir.path().join("from.sqlite3")).await;
    fill(&from).await;
    let target = open(&to).await;
    let runs = copy_in_runs(&from, &target, 4).await;
    assert!(
        runs.len() > 3,
        "stopped and resumed several times: {runs:?}"
    );
    // Every row was copied once: the runs together copied as many rows as the source
    // has (story_bands are computed, not copied).
    let whole = transfer(
        &from,
        &open(&dir.path().join("whole.sqlite3")).await,
        &options(500, None),
        |_, _| {},
    )
    .await
    .expect("copy at once");
    assert_complete(&whole);
    assert_eq!(runs.iter().sum::<u64>(), whole.rows, "{runs:?}");
    assert_eq!(snapshot(&target).await, snapshot(&from).await);
    // A run after the end copies nothing.
    let again = transfer(&from, &target, &options(3, None), |_, _| {})
        .await
        .expect("copy again");
    assert_eq!(again.rows, 0);
    assert_complete(&again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_to_sqlite_carries_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    interrupted_copies_carry_on(dir.path().join("to.sqlite3")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_to_postgresql_carries_on() {
    let Some(server) = common::postgres::start() else {
        return;
    };
    interrupted_copies_carry_on(server.create_database().await.into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holding_another_archive_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let from = open(&dir.path().join("from.sqlite3")).await;
    fill(&from).await;
    let other_path = dir.path().join("other.sqlite3");
    let other = open(&other_path).await;
    other
        .archive(article(
            "https://elsewhere.example/1",
            "Elsewhere",
            "Another archive's article.",
            b"<p>elsewhere</p>".to_vec(),
            0,
        ))
        .await
        .expect("archive");
    let error = transfer(&from, &other, &options(500, None), |_, _| {})
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("different archive"), "{error}");
    assert_eq!(
        other.stats(at(0)).await.expect("stats").articles,
        1,
        "nothing was copied"
    );
    let error = transfer(&from, &from.clone(), &options(500, None), |_, _| {})
        .await
        .expect_err("the same archive");
    assert!(error.to_string().contains("same archive"), "{error}");

    // The command says so and fails; into a new file it copies and prints the counts.
    let from_path = dir.path().join("from.sqlite3");
    let refused = newsvault()
        .args(["migrate", "--from"])
        .arg(&from_path)
        .arg("--to")
        .arg(&other_path)
        .output()
        .expect("run newsvault");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("different archive"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let copied = newsvault()
        .args(["migrate", "--from"])
        .arg(&from_path)
        .arg("--to")
        .arg(dir.path().join("copy.sqlite3"))
        .output()
        .expect("run newsvault");
    let stdout = String::from_utf8_lossy(&copied.stdout);
    assert!(
        copied.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(stdout.contains("captures"), "{stdout}");
    assert!(!stdout.contains("MISMATCH"), "{stdout}");
}
