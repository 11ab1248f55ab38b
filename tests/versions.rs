//! Article versions end to end: an article archived from a local site is revisited on
//! the schedule (each revisit made by a fresh App whose virtual clock starts at the due
//! time, as the daemon would after waking), while the test edits, keeps or removes the
//! page between fetches. Then `history` and `diff` read what the archive kept. Nothing
//! here sleeps or times anything.

mod common;

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use common::{Reply, TestServer, count, open_db, rss};
use newsvault::app::App;
use newsvault::clock::{Clock, from_db_time};
use newsvault::config::Config;
use newsvault::pipeline::RevisitSummary;
use newsvault::shutdown::Shutdown;

const PARAGRAPHS: &[&str] = &[
    "DHAKA, July 12 - Finance Minister Rahim Chowdhury on Saturday unveiled a plan to build 14 new river ports along the Padma and Meghna rivers, saying the programme would cut freight costs for farmers by a third within five years.",
    "Speaking at a news conference in Dhaka, Chowdhury said construction of the first four ports would begin in January at Mawa, Chandpur, Bhola and Barishal, with loans from three development banks covering most of the cost.",
    "Traders in the southern districts have long complained that poor landing facilities force them to pay middlemen to move rice, jute and vegetables to the capital, and that cargo boats wait for days to unload during the monsoon.",
    "The minister said the ports would be linked to the national highway network by new feeder roads, and that the government expected private operators to run warehouses and cold storage at each site under long leases.",
];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, 12, 10, 0, 0)
        .single()
        .expect("valid time")
}

/// A news page: the article, and around it a clock and an ad id that change on every
/// fetch (outside the article, so they must never make a version).
fn page(title: &str, paragraphs: &[String], fetch: u32) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} | Daily A</title>\
<meta property=\"article:published_time\" content=\"2025-07-12T15:30:00+06:00\"></head>
<body><header><a href=\"/\">Daily A</a><span class=\"clock\">Updated 10:{fetch:02} Dhaka time</span>\
<nav><a href=\"/national\">National</a> <a href=\"/business\">Business</a></nav></header>
<main><article><h1>{title}</h1>
{body}</article></main>
<aside><div class=\"ad\" data-ad-id=\"ad-{fetch}-7f3a\">Advertisement {fetch}</div></aside>
<footer><p>Copyright Daily A. All rights reserved.</p></footer></body></html>"
    )
}

fn paragraphs() -> Vec<String> {
    PARAGRAPHS.iter().map(|p| p.to_string()).collect()
}

fn serve_page(server: &TestServer, path: &str, html: String) {
    server.route(path, Reply::ok("text/html; charset=utf-8", html));
}

fn serve_feed(server: &TestServer, paths: &[&str]) {
    let links: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let items: Vec<(Option<&str>, &str)> = links.iter().map(|l| (None, l.as_str())).collect();
    server.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
}

/// The test configuration, with `extra` appended (tables or keys of the last source).
fn config(dir: &Path, feed: String, extra: &str) -> Config {
    let text = common::config_text(dir, &[("daily-a", feed)]).replace(
        "max_body = \"1MiB\"",
        "max_body = \"16MiB\"\nobey_robots = false",
    ) + extra;
    Config::parse(&text, Path::new("test.toml")).expect("test config is valid")
}

/// Polls every source once at `now` (virtual), archiving what is new.
async fn poll_at(config: &Config, now: DateTime<Utc>) {
    let app = App::open(config.clone(), Clock::starting_at(now))
        .await
        .expect("open app");
    for summary in app.poll(&[], &Shutdown::never()).await.expect("poll") {
        assert_eq!(summary.failure, None, "{summary}");
        assert_eq!(summary.errors, 0, "{summary}");
    }
}

/// Revisits what is due at `now` (virtual), as the daemon would.
async fn revisit_at(config: &Config, now: DateTime<Utc>) -> RevisitSummary {
    let app = App::open(config.clone(), Clock::starting_at(now))
        .await
        .expect("open app");
    app.revisit(None, 100, &Shutdown::never())
        .await
        .expect("revisit")
}

/// The id of the article a URL led to.
fn article_id(db: &rusqlite::Connection, url: &str) -> i64 {
    db.query_row(
        "SELECT article_id FROM article_urls WHERE url = ?1",
        [url],
        |r| r.get(0),
    )
    .unwrap_or_else(|e| panic!("no article for {url}: {e}"))
}

fn time_of(db: &rusqlite::Connection, query: &str, id: i64) -> Option<DateTime<Utc>> {
    db.query_row(query, [id], |r| r.get::<_, Option<String>>(0))
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .as_deref()
        .and_then(from_db_time)
}

fn first_seen(db: &rusqlite::Connection, id: i64) -> DateTime<Utc> {
    time_of(db, "SELECT first_seen_at FROM articles WHERE id = ?1", id).expect("first_seen_at")
}

fn next_revisit(db: &rusqlite::Connection, id: i64) -> Option<DateTime<Utc>> {
    time_of(db, "SELECT next_revisit_at FROM articles WHERE id = ?1", id)
}

fn versions(db: &rusqlite::Connection, id: i64) -> i64 {
    count(
        db,
        &format!("SELECT count(*) FROM article_versions WHERE article_id = {id}"),
    )
}

fn newsvault(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_newsvault"))
        .env_remove("RUST_LOG")
        .env_remove("NEWSVAULT_CONFIG")
        .env_remove("NEWSVAULT_DATABASE")
        .arg("--database")
        .arg(dir.join("archive.sqlite3"))
        .args(args)
        .output()
        .expect("run newsvault");
    assert!(
        output.status.success(),
        "newsvault {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

fn hours(n: i64) -> chrono::Duration {
    chrono::Duration::hours(n)
}

#[tokio::test]
async fn an_edited_article_gets_a_second_version_and_a_diff_shows_the_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_page(
        &server,
        "/news/ports",
        page("Government unveils river port plan", &paragraphs(), 0),
    );
    serve_feed(&server, &["/news/ports"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let id = article_id(&db, &server.url("/news/ports"));
    assert_eq!(versions(&db, id), 1, "archiving stores version 1");
    let story: i64 = db
        .query_row("SELECT story_id FROM articles WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("story");

    // The site corrects a figure, names another port and sharpens its headline.
    let mut edited = paragraphs();
    edited[0] = edited[0].replace("14 new river ports", "16 new river ports");
    edited[1] = edited[1].replace("Bhola and Barishal", "Bhola and Narayanganj");
    serve_page(
        &server,
        "/news/ports",
        page("Government unveils 16-port river plan", &edited, 1),
    );
    let app = App::open(
        config.clone(),
        Clock::starting_at(first_seen(&db, id) + hours(1)),
    )
    .await
    .expect("open app");
    let summary = app
        .revisit(None, 100, &Shutdown::never())
        .await
        .expect("revisit");
    assert_eq!((summary.due, summary.new_versions), (1, 1), "{summary}");
    let metrics = app.pipeline.metrics.render();
    assert!(
        metrics.contains("newsvault_revisits_total{outcome=\"new_version\"} 1"),
        "{metrics}"
    );

    assert_eq!(versions(&db, id), 2);
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM captures WHERE article_id = {id}")
        ),
        2,
        "the new version has its own capture"
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM article_versions v JOIN captures c ON c.id = v.capture_id
                 WHERE v.article_id = {id} AND v.version = 2
                     AND c.id = (SELECT max(id) FROM captures WHERE article_id = {id})"
            )
        ),
        1,
        "version 2 points at the newer capture"
    );
    // The article row and the full-text index show the latest version...
    let (title, text): (String, String) = db
        .query_row(
            "SELECT title, text FROM articles WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("article");
    assert_eq!(title, "Government unveils 16-port river plan");
    assert!(text.contains("16 new river ports"));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'Narayanganj'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'Barishal'"
        ),
        0
    );
    // ...the old one is kept, and the article stays in its story.
    let old: String = db
        .query_row(
            "SELECT text FROM article_versions WHERE article_id = ?1 AND version = 1",
            [id],
            |r| r.get(0),
        )
        .expect("version 1");
    assert!(old.contains("14 new river ports") && old.contains("Barishal"));
    let story_after: i64 = db
        .query_row("SELECT story_id FROM articles WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("story");
    assert_eq!(story_after, story);

    let diff = newsvault(dir.path(), &["diff", &id.to_string()]);
    assert!(diff.contains("[-14-]{+16+}"), "{diff}");
    assert!(diff.contains("[-Barishal,-]{+Narayanganj,+}"), "{diff}");
    assert!(
        diff.contains("title: [-Government unveils river port plan-] -> {+Government unveils 16-port river plan+}"),
        "{diff}"
    );
    assert!(
        !diff.contains("traders in the southern districts"),
        "unchanged paragraphs are left out: {diff}"
    );

    let json: serde_json::Value = serde_json::from_str(&newsvault(
        dir.path(),
        &[
            "diff",
            &server.url("/news/ports"),
            "--from",
            "1",
            "--to",
            "2",
            "--json",
        ],
    ))
    .expect("diff --json");
    // The headline is the text's first line too.
    assert_eq!(json["words_removed"], 3);
    assert_eq!(json["words_added"], 3);
    assert!(
        json.get("published_at").is_none(),
        "the date did not change"
    );

    let history: serde_json::Value = serde_json::from_str(&newsvault(
        dir.path(),
        &["history", &id.to_string(), "--json"],
    ))
    .expect("history --json");
    let listed = history["versions"].as_array().expect("versions");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["changed"], serde_json::json!(["title", "text"]));
    let show = newsvault(dir.path(), &["show", &id.to_string()]);
    assert!(show.contains("versions:    2"), "{show}");
}

#[tokio::test]
async fn an_unchanged_revisit_stores_nothing_but_the_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    // One page changes its clock and ad id on every fetch; the other answers a
    // conditional GET with 304.
    serve_page(
        &server,
        "/news/clock",
        page("A page with a clock", &paragraphs(), 0),
    );
    let mut other = paragraphs();
    other.reverse();
    server.route(
        "/news/etag",
        Reply::Conditional {
            etag: "\"v1\"".into(),
            last_modified: "Sat, 12 Jul 2025 09:00:00 GMT".into(),
            content_type: "text/html; charset=utf-8".into(),
            body: page("A page with an ETag", &other, 0).into_bytes(),
        },
    );
    serve_feed(&server, &["/news/clock", "/news/etag"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let clock_id = article_id(&db, &server.url("/news/clock"));
    let etag_id = article_id(&db, &server.url("/news/etag"));

    serve_page(
        &server,
        "/news/clock",
        page("A page with a clock", &paragraphs(), 37),
    );
    let checked_at = first_seen(&db, clock_id).max(first_seen(&db, etag_id)) + hours(1);
    let summary = revisit_at(&config, checked_at).await;
    assert_eq!((summary.due, summary.unchanged), (2, 2), "{summary}");

    let etag_requests = server.requests("/news/etag");
    assert_eq!(etag_requests.len(), 2);
    assert_eq!(
        etag_requests[1]
            .headers
            .get("if-none-match")
            .map(String::as_str),
        Some("\"v1\""),
        "the revisit is a conditional GET"
    );
    for id in [clock_id, etag_id] {
        assert_eq!(versions(&db, id), 1);
        assert_eq!(
            count(
                &db,
                &format!("SELECT count(*) FROM captures WHERE article_id = {id}")
            ),
            1,
            "nothing is stored for an unchanged page"
        );
        let checked = time_of(
            &db,
            "SELECT last_checked_at FROM articles WHERE id = ?1",
            id,
        )
        .expect("last_checked_at is set");
        assert!(checked >= checked_at && checked < checked_at + chrono::Duration::minutes(1));
        assert_eq!(next_revisit(&db, id), Some(first_seen(&db, id) + hours(6)));
        assert_eq!(
            count(
                &db,
                &format!("SELECT revisit_count FROM articles WHERE id = {id}")
            ),
            1
        );
    }
}

#[tokio::test]
async fn a_revisit_that_fetches_the_archived_bytes_does_not_read_them_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    // The same bytes at every fetch, and no validators for a conditional GET.
    serve_page(
        &server,
        "/news/static",
        page("Static page", &paragraphs(), 0),
    );
    serve_feed(&server, &["/news/static"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let id = article_id(&db, &server.url("/news/static"));
    let seen = first_seen(&db, id);
    // As if the page had been read differently when it was archived (other site rules):
    // extracting it again would now give another content hash.
    rusqlite::Connection::open(dir.path().join("archive.sqlite3"))
        .expect("open for writing")
        .execute(
            "UPDATE article_version_rows SET content_sha256 = 'read-with-other-rules'
             WHERE article_id = ?1",
            [id],
        )
        .expect("change the stored reading");

    let summary = revisit_at(&config, seen + hours(1)).await;
    assert_eq!((summary.due, summary.unchanged), (1, 1), "{summary}");
    assert_eq!(versions(&db, id), 1, "the bytes did not change: no version");
    assert_eq!(server.requests("/news/static").len(), 2);

    // Other bytes (a new clock around the same article) are extracted and compared as
    // before: with the stored reading changed above, that comparison finds a difference.
    serve_page(
        &server,
        "/news/static",
        page("Static page", &paragraphs(), 5),
    );
    let summary = revisit_at(&config, seen + hours(6)).await;
    assert_eq!(summary.new_versions, 1, "{summary}");
    assert_eq!(versions(&db, id), 2);
}

#[tokio::test]
async fn a_new_extractor_reading_an_unchanged_page_differently_makes_no_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_page(&server, "/news/same", page("Same page", &paragraphs(), 0));
    serve_feed(&server, &["/news/same"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let id = article_id(&db, &server.url("/news/same"));
    let seen = first_seen(&db, id);
    // As if an older newsvault had archived it and read the page a little differently.
    rusqlite::Connection::open(dir.path().join("archive.sqlite3"))
        .expect("open for writing")
        .execute_batch(&format!(
            "UPDATE articles SET extractor = 'newsvault 0.0.1' WHERE id = {id};
             UPDATE article_version_rows SET content_sha256 = 'read-by-an-older-extractor'
             WHERE article_id = {id};"
        ))
        .expect("age the article");

    serve_page(&server, "/news/same", page("Same page", &paragraphs(), 1));
    let summary = revisit_at(&config, seen + hours(1)).await;
    assert_eq!(summary.unchanged, 1, "{summary}");
    assert_eq!(versions(&db, id), 1);

    // A real edit still counts.
    let mut edited = paragraphs();
    edited[2] = edited[2].replace("rice, jute", "rice, wheat, jute");
    serve_page(&server, "/news/same", page("Same page", &edited, 2));
    let summary = revisit_at(&config, seen + hours(6)).await;
    assert_eq!(summary.new_versions, 1, "{summary}");
    assert_eq!(versions(&db, id), 2);
}

#[tokio::test]
async fn a_gone_page_is_marked_removed_and_keeps_its_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_page(&server, "/news/gone", page("Soon gone", &paragraphs(), 0));
    serve_feed(&server, &["/news/gone"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let id = article_id(&db, &server.url("/news/gone"));
    let seen = first_seen(&db, id);

    let mut edited = paragraphs();
    edited.pop();
    serve_page(&server, "/news/gone", page("Soon gone", &edited, 1));
    assert_eq!(revisit_at(&config, seen + hours(1)).await.new_versions, 1);

    server.route("/news/gone", Reply::status(410, &[]));
    let summary = revisit_at(&config, seen + hours(6)).await;
    assert_eq!(summary.removed, 1, "{summary}");
    let (removed_at, status): (Option<String>, Option<i64>) = db
        .query_row(
            "SELECT removed_at, removed_status FROM articles WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("article");
    let removed_at = removed_at
        .as_deref()
        .and_then(from_db_time)
        .expect("removed_at");
    assert!(removed_at >= seen + hours(6));
    assert_eq!(status, Some(410));
    assert_eq!(versions(&db, id), 2, "versions are kept");
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 1);
    assert_eq!(next_revisit(&db, id), None);

    // Never looked at again.
    let requests = server.requests("/news/gone").len();
    let later = revisit_at(&config, seen + hours(24 * 8)).await;
    assert_eq!(later.due, 0);
    assert_eq!(server.requests("/news/gone").len(), requests);
    let history = newsvault(dir.path(), &["history", &id.to_string()]);
    assert!(history.contains("(HTTP 410)"), "{history}");
    let stats: serde_json::Value =
        serde_json::from_str(&newsvault(dir.path(), &["stats", "--json"])).expect("stats");
    assert_eq!(
        (
            &stats["articles_edited"],
            &stats["later_versions"],
            &stats["articles_removed"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
}

#[tokio::test]
async fn a_site_that_asks_to_wait_gets_its_revisits_later_not_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let mut other = paragraphs();
    other.reverse();
    serve_page(&server, "/news/one", page("One", &paragraphs(), 0));
    serve_page(&server, "/news/two", page("Two", &other, 0));
    serve_feed(&server, &["/news/one", "/news/two"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let ids = [
        article_id(&db, &server.url("/news/one")),
        article_id(&db, &server.url("/news/two")),
    ];

    // The site rate-limits: the first revisit is answered 429 with an hour's Retry-After,
    // so the second is not sent; it is owed when the hour is over, not at the next step.
    for path in ["/news/one", "/news/two"] {
        server.route(path, Reply::status(429, &[("Retry-After", "3600")]));
    }
    let now = ids
        .iter()
        .map(|id| first_seen(&db, *id))
        .max()
        .expect("two")
        + hours(1);
    let summary = revisit_at(&config, now).await;
    assert_eq!((summary.failed, summary.postponed), (1, 1), "{summary}");
    let requests = server.requests("/news/one").len() + server.requests("/news/two").len();
    assert_eq!(requests, 3, "two archived, one revisit sent");
    let mut states: Vec<(i64, DateTime<Utc>)> = ids
        .iter()
        .map(|id| {
            (
                count(
                    &db,
                    &format!("SELECT revisit_count FROM articles WHERE id = {id}"),
                ),
                next_revisit(&db, *id).expect("still scheduled"),
            )
        })
        .collect();
    states.sort();
    let (postponed, answered) = (states[0], states[1]);
    assert_eq!(postponed.0, 0, "a revisit not sent is not counted");
    assert!(
        postponed.1 > now + chrono::Duration::minutes(55)
            && postponed.1 <= now + hours(1) + chrono::Duration::minutes(1),
        "{postponed:?}"
    );
    assert_eq!(answered.0, 1);
    assert!(
        answered.1 >= now + hours(4),
        "the failed one moves to its next step: {answered:?}"
    );
}

#[tokio::test]
async fn revisits_follow_the_schedule_and_stop_after_the_last() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_page(&server, "/news/steady", page("Steady", &paragraphs(), 0));
    serve_feed(&server, &["/news/steady"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let id = article_id(&db, &server.url("/news/steady"));
    let seen = first_seen(&db, id);

    // Not yet due: nothing is fetched.
    assert_eq!(
        revisit_at(&config, seen + chrono::Duration::minutes(59))
            .await
            .due,
        0
    );
    let mut offsets = Vec::new();
    let mut fetch = 0;
    while let Some(due) = next_revisit(&db, id) {
        offsets.push((due - seen).num_hours());
        fetch += 1;
        serve_page(
            &server,
            "/news/steady",
            page("Steady", &paragraphs(), fetch),
        );
        let summary = revisit_at(&config, due).await;
        assert_eq!((summary.due, summary.unchanged), (1, 1), "{summary}");
        assert!(offsets.len() < 10, "the schedule never ends: {offsets:?}");
    }
    assert_eq!(offsets, [1, 6, 24, 72, 168]);
    assert_eq!(server.requests("/news/steady").len(), 6);
    assert_eq!(
        versions(&db, id),
        1,
        "the clock on the page never made a version"
    );
    assert_eq!(revisit_at(&config, seen + hours(24 * 30)).await.due, 0);
}

#[tokio::test]
async fn the_daemon_revisits_due_articles_beside_its_polls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_page(&server, "/news/daemon", page("Daemon", &paragraphs(), 0));
    serve_feed(&server, &["/news/daemon"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let id = article_id(&db, &server.url("/news/daemon"));
    let seen = first_seen(&db, id);

    // Seven virtual hours of the daemon, from just before the first revisit is due.
    tokio::time::pause();
    let clock = Clock::starting_at(seen + chrono::Duration::minutes(59));
    let app = App::open(config.clone(), clock.clone())
        .await
        .expect("open app");
    let (trigger, stop) = newsvault::shutdown::channel();
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run(stop).await }
    });
    clock.sleep_until(seen + hours(7)).await;
    trigger.trigger();
    let totals = daemon.await.expect("daemon task");

    assert_eq!(totals.revisits, 2, "{totals:?}");
    let fetched: Vec<DateTime<Utc>> = db
        .prepare("SELECT started_at FROM fetches WHERE url = ?1 AND purpose = 'page' ORDER BY id")
        .expect("query")
        .query_map([server.url("/news/daemon")], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|t| from_db_time(&t.expect("row")).expect("time"))
        .collect();
    assert_eq!(
        fetched.len(),
        3,
        "archived, then revisited twice: {fetched:?}"
    );
    // Each revisit starts when it is due (the loop may wake a little late, never early).
    for (at, due) in fetched[1..].iter().zip([hours(1), hours(6)]) {
        let late = *at - (seen + due);
        assert!(
            late >= chrono::Duration::zero() && late <= chrono::Duration::minutes(31),
            "revisit at {at}, due {}",
            seen + due
        );
    }
    assert_eq!(next_revisit(&db, id), Some(seen + hours(24)));
    assert_eq!(
        count(
            &db,
            &format!("SELECT revisit_count FROM articles WHERE id = {id}")
        ),
        2
    );
}

/// A revisit batch stopped by shutdown before it started its revisits gives its articles
/// back, due at once, instead of holding them for `REVISIT_HOLD`: the next node (or the
/// restarted one) revisits them straight away.
#[tokio::test]
async fn revisits_a_shutdown_stopped_are_due_again_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let paths = ["/news/one", "/news/two", "/news/three"];
    for (n, path) in paths.iter().enumerate() {
        let mut text = paragraphs();
        text.rotate_left(n);
        serve_page(&server, path, page(&format!("Story {n}"), &text, 0));
    }
    serve_feed(&server, &paths);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let ids: Vec<i64> = paths
        .iter()
        .map(|p| article_id(&db, &server.url(p)))
        .collect();
    let due = first_seen(&db, ids[0]) + hours(2);
    let pages_fetched = || count(&db, "SELECT count(*) FROM fetches WHERE purpose = 'page'");
    let fetched_before = pages_fetched();

    let app = App::open(config.clone(), Clock::starting_at(due))
        .await
        .expect("open app");
    let (trigger, stopped) = newsvault::shutdown::channel();
    trigger.trigger();
    let summary = app.revisit(None, 100, &stopped).await.expect("revisit");
    assert_eq!(summary.due, 3, "{summary:?}");
    assert!(summary.interrupted, "{summary:?}");
    assert_eq!(pages_fetched(), fetched_before, "no revisit was sent");
    // Due from the moment the batch claimed them (the clock runs on from `due`), not
    // after the 30-minute hold.
    for id in &ids {
        let next = next_revisit(&db, *id).expect("still scheduled");
        assert!(
            next >= due && next < due + chrono::Duration::minutes(1),
            "article {id}: next revisit {next}, due {due}"
        );
    }

    let summary = revisit_at(&config, due + chrono::Duration::minutes(1)).await;
    assert_eq!((summary.due, summary.unchanged), (3, 3), "{summary:?}");
    assert!(!summary.interrupted, "{summary:?}");
    assert_eq!(pages_fetched(), fetched_before + 3);
}

#[tokio::test]
async fn an_empty_schedule_turns_revisits_off_and_a_source_may_set_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_page(&server, "/news/a", page("Source A", &paragraphs(), 0));
    serve_page(&server, "/b/news", page("Source B", &paragraphs()[..3], 0));
    serve_feed(&server, &["/news/a"]);
    server.route(
        "/b.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&[(None, &server.url("/b/news"))]),
        ),
    );
    let text = common::config_text(
        dir.path(),
        &[("a", server.url("/feed.xml")), ("b", server.url("/b.xml"))],
    ) + "revisit_schedule = [\"2h\", \"2d\"]\n[revisit]\nschedule = []\n";
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let a = article_id(&db, &server.url("/news/a"));
    let b = article_id(&db, &server.url("/b/news"));
    assert_eq!(next_revisit(&db, a), None);
    assert_eq!(next_revisit(&db, b), Some(first_seen(&db, b) + hours(2)));
}

#[tokio::test]
async fn huge_and_one_word_texts_do_not_break_revisits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    // About 5 MB of article text in 20,000 paragraphs.
    let huge: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                "Paragraph {i} of the long report: the committee heard evidence from farmers, traders, boatmen and engineers about river ports, freight costs, monsoon delays and the cold storage they need for rice, jute and vegetables in every district."
            )
        })
        .collect();
    serve_page(&server, "/news/huge", page("A very long report", &huge, 0));
    serve_page(
        &server,
        "/news/word",
        page("Breaking", &["Developing.".to_string()], 0),
    );
    serve_feed(&server, &["/news/huge", "/news/word"]);
    let config = config(dir.path(), server.url("/feed.xml"), "");
    poll_at(&config, t0()).await;
    let db = open_db(dir.path());
    let huge_id = article_id(&db, &server.url("/news/huge"));
    let word_id = article_id(&db, &server.url("/news/word"));
    let text_len: i64 = count(
        &db,
        &format!("SELECT length(text) FROM articles WHERE id = {huge_id}"),
    );
    assert!(text_len > 4_500_000, "{text_len}");
    let stories = count(&db, "SELECT count(*) FROM stories");

    // Same texts, new clocks: nothing to store. Then one word changes in each.
    serve_page(&server, "/news/huge", page("A very long report", &huge, 1));
    serve_page(
        &server,
        "/news/word",
        page("Breaking", &["Developing.".to_string()], 1),
    );
    let due = first_seen(&db, huge_id).max(first_seen(&db, word_id)) + hours(1);
    let summary = revisit_at(&config, due).await;
    assert_eq!((summary.due, summary.unchanged), (2, 2), "{summary}");

    let mut edited = huge.clone();
    edited[19_990] = edited[19_990].replace("engineers", "surveyors");
    serve_page(
        &server,
        "/news/huge",
        page("A very long report", &edited, 2),
    );
    // A one-word page yields no article text; its headline still counts.
    serve_page(
        &server,
        "/news/word",
        page("Breaking: confirmed", &["Confirmed.".to_string()], 2),
    );
    let summary = revisit_at(&config, due + hours(5)).await;
    assert_eq!((summary.due, summary.new_versions), (2, 2), "{summary}");
    assert_eq!(versions(&db, huge_id), 2);
    assert_eq!(versions(&db, word_id), 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM stories"),
        stories,
        "revisits start no stories"
    );

    let diff = newsvault(dir.path(), &["diff", &word_id.to_string()]);
    assert!(
        diff.contains("title: [-Breaking-] -> {+Breaking: confirmed+}"),
        "{diff}"
    );
    let diff = newsvault(dir.path(), &["diff", &huge_id.to_string()]);
    assert!(diff.contains("[-engineers-]{+surveyors+}"), "{diff}");
    assert_eq!(
        diff.lines().filter(|l| l.contains("{+")).count(),
        1,
        "one paragraph changed"
    );
}

#[test]
fn the_migration_gives_existing_articles_their_first_version() {
    // An archive made by schema version 4, with one article and its capture.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("archive.sqlite3");
    {
        let db = rusqlite::Connection::open(&path).expect("create");
        for migration in [
            include_str!("../src/store/migrations/0001_initial.sql"),
            include_str!("../src/store/migrations/0002_views.sql"),
            include_str!("../src/store/migrations/0003_adaptive_polling.sql"),
            include_str!("../src/store/migrations/0004_stories.sql"),
        ] {
            db.execute_batch(migration).expect("old migration");
        }
        db.execute_batch(
            "PRAGMA user_version = 4;
             INSERT INTO articles (canonical_url, title, first_seen_at, text, extractor,
                 published_at)
             VALUES ('https://example.org/a', 'Old', '2025-07-01T00:00:00.000Z', 'Old text',
                 'x', '2025-06-30T12:00:00.000Z');
             INSERT INTO captures (article_id, url, fetched_at, status, headers, body_size,
                 body_sha256, body_zstd)
             VALUES (1, 'https://example.org/a', '2025-07-01T00:00:00.000Z', 200, '[]', 0,
                 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', x'');",
        )
        .expect("old rows");
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = newsvault::store::Store::open(&path).await.expect("migrate");
        let versions = store.versions_of(1).await.expect("versions");
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].text, "Old text");
        assert_eq!(versions[0].capture_id, Some(1));
        assert_eq!(
            versions[0].content_sha256.as_deref(),
            Some(
                newsvault::versions::content_hash(
                    Some("Old"),
                    "Old text",
                    Some("2025-06-30T12:00:00.000Z"),
                    None
                )
                .as_str()
            ),
            "the migration hashes the backfilled version as a revisit would"
        );
        let stored: Option<String> = rusqlite::Connection::open(&path)
            .and_then(|db| {
                db.query_row(
                    "SELECT text FROM article_version_rows WHERE article_id = 1",
                    [],
                    |r| r.get(0),
                )
            })
            .expect("stored version");
        assert_eq!(stored, None, "version 1 shares the article row's text");
        let article = store.article(1).await.expect("read").expect("article");
        assert_eq!(article.versions, 1);
        assert_eq!(
            article.next_revisit_at, None,
            "old articles are not revisited"
        );
    });
}
