//! Querying an archive the real pipeline built from real Bengali and English pages: the
//! views, `search`, `show`, `raw`, `reparse` and `stats`, run as users run them (the built
//! binary), with their output and exit codes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Reply, TestServer, config_text, count, fixture, open_db, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown::Shutdown;
use unicode_normalization::UnicodeNormalization;

pub const PAGES: &[&str] = &[
    "bss-seed-lavrov-kim.html",
    "bss-en-homestead-gardening-rajshahi.html",
    "ukbdnews-mp-brother-killed-kushtia.html",
    "dakshinbanga-science-fair.html",
    "meghnaprotidin-book-fair.html",
    "nabadiganta-mango-market.html",
];

/// An archive of the fixture pages, polled through a local server by the real pipeline
/// (source `bd`, links carrying a tracking parameter). Returns the server, which must
/// outlive nothing: the archive is complete when this returns.
async fn build_archive(dir: &Path) -> TestServer {
    let server = TestServer::start().await;
    for page in PAGES {
        server.route(
            &format!("/pages/{page}"),
            Reply::ok("text/html", fixture(&format!("pages/{page}"))),
        );
    }
    let links: Vec<String> = PAGES
        .iter()
        .map(|p| server.url(&format!("/pages/{p}?utm_source=rss")))
        .collect();
    let guids: Vec<String> = (0..PAGES.len()).map(|i| format!("guid-{i}")).collect();
    let items: Vec<(Option<&str>, &str)> = guids
        .iter()
        .zip(&links)
        .map(|(g, l)| (Some(g.as_str()), l.as_str()))
        .collect();
    server.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
    let text = config_text(dir, &[("bd", server.url("/feed.xml"))]);
    std::fs::write(config_path(dir), &text).expect("write config");
    let config = Config::parse(&text, &config_path(dir)).expect("test config is valid");
    let app = App::open(config, Clock::System).await.expect("open app");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert_eq!(summaries[0].new, PAGES.len(), "{summaries:?}");
    server
}

/// The configuration the archive was built with (source `bd` in Asia/Dhaka).
fn config_path(dir: &Path) -> PathBuf {
    dir.join("newsvault.toml")
}

fn database(dir: &Path) -> PathBuf {
    dir.join("archive.sqlite3")
}

/// Runs the binary on the archive in `dir`.
fn newsvault(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsvault"))
        .env_remove("RUST_LOG")
        .env_remove("NEWSVAULT_CONFIG")
        .env_remove("NEWSVAULT_DATABASE")
        .arg("--database")
        .arg(database(dir))
        .args(args)
        .output()
        .expect("run newsvault")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn article_id_of(dir: &Path, page: &str) -> i64 {
    open_db(dir)
        .query_row(
            "SELECT article_id FROM captures WHERE url LIKE '%/' || ?1 || '%'",
            [page],
            |r| r.get(0),
        )
        .expect("article of page")
}

#[tokio::test(flavor = "multi_thread")]
async fn views_answer_common_questions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    let db = open_db(dir.path());
    assert_eq!(
        count(&db, "PRAGMA user_version"),
        newsvault::store::SCHEMA_VERSION
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM latest_articles WHERE source = 'bd'"
        ),
        6
    );
    let (newest, text): (String, String) = db
        .query_row(
            "SELECT first_seen_at, text FROM latest_articles LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("latest article");
    assert_eq!(
        newest,
        db.query_row("SELECT max(first_seen_at) FROM articles", [], |r| r
            .get::<_, String>(0))
            .expect("max")
    );
    assert!(!text.is_empty());
    assert_eq!(count(&db, "SELECT sum(articles) FROM daily_counts"), 6);
    assert_eq!(count(&db, "SELECT sum(articles) FROM daily_archived"), 6);
    // Every article is reachable through its tracking-free feed URL.
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT article_id) FROM article_pages WHERE url LIKE '%/pages/%' AND url NOT LIKE '%utm_%'"
        ),
        6
    );
    assert_eq!(
        count(
            &db,
            "SELECT articles FROM source_health WHERE name = 'bd' AND error_count = 0 AND requests >= 7"
        ),
        6
    );
    assert_eq!(count(&db, "SELECT count(*) FROM capture_index"), 6);
    assert_eq!(count(&db, "SELECT count(*) FROM fetch_errors"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_ranks_highlights_and_matches_bengali_in_any_normal_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    let seed = article_id_of(dir.path(), "bss-seed-lavrov-kim.html");

    // "রিসোর্ট" typed with the vowel sign ো decomposed (ে + া), as some keyboards send it,
    // and "ওয়োনসানে" typed with the precomposed য় (U+09DF), which NFC decomposes.
    let nfd: String = "রিসোর্ট".nfd().collect();
    assert!(nfd.contains('\u{09C7}') && nfd != "রিসোর্ট".nfc().collect::<String>());
    let precomposed = "ও\u{09DF}োনসানে";
    for query in [nfd.as_str(), precomposed, "লাভরভ*"] {
        let output = newsvault(dir.path(), &["search", "--json", query]);
        assert!(output.status.success(), "{query}: {}", stderr(&output));
        let hits = json_lines(&output);
        assert!(
            hits.iter().any(|h| h["id"] == seed),
            "{query:?} should find the Lavrov article: {hits:?}"
        );
        assert!(hits[0]["snippet"].as_str().is_some_and(|s| s.contains('[')));
    }
    // The NFD form does not match the index as typed: normalising is what makes it work.
    let db = open_db(dir.path());
    let raw: i64 = db
        .query_row(
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?1",
            [&nfd],
            |r| r.get(0),
        )
        .expect("raw match");
    assert_eq!(raw, 0);

    // Human output names the article and marks the match.
    let output = newsvault(dir.path(), &["search", "লাভরভ*", "--limit", "1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("লাভরভ") && text.contains('['), "{text}");

    // Filters: language, source, dates.
    let english = json_lines(&newsvault(
        dir.path(),
        &["search", "--json", "--lang", "en", "gardening"],
    ));
    assert!(!english.is_empty());
    assert!(english.iter().all(|h| h["language"] == "en"));
    let none = json_lines(&newsvault(
        dir.path(),
        &["search", "--json", "--lang", "bn", "gardening"],
    ));
    assert!(none.is_empty());
    let future = json_lines(&newsvault(
        dir.path(),
        &["search", "--json", "--since", "2999-01-01", "লাভরভ*"],
    ));
    assert!(future.is_empty());
    let until = json_lines(&newsvault(
        dir.path(),
        &["search", "--json", "--until", "2999-01-01", "লাভরভ*"],
    ));
    assert!(!until.is_empty());
    let unknown = newsvault(dir.path(), &["search", "--source", "nope", "x"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("nope"));
    let bad_date = newsvault(dir.path(), &["search", "--since", "yesterday", "x"]);
    assert_eq!(bad_date.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_search_queries_are_usage_errors_not_crashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    for query in [
        "\"unbalanced",
        "লাভরভ AND",
        "OR",
        "NEAR(a b",
        "(লাভরভ",
        "nosuchcolumn:word",
        "*",
        "a:b:c",
        "'; DROP TABLE articles; --",
        "\" OR 1=1 --",
        "^",
        "-",
    ] {
        let output = newsvault(dir.path(), &["search", query]);
        let code = output.status.code();
        assert!(
            code == Some(0) || code == Some(2),
            "{query:?} exited {code:?}: {}",
            stderr(&output)
        );
        if code == Some(2) {
            assert!(
                stderr(&output).contains("invalid search query")
                    || stderr(&output).contains("nothing to search"),
                "{query:?}: {}",
                stderr(&output)
            );
        }
        // --literal searches for the words as typed and never fails to parse.
        let literal = newsvault(dir.path(), &["search", "--literal", query]);
        let code = literal.status.code();
        assert!(
            code == Some(0) || (code == Some(2) && stderr(&literal).contains("nothing to search")),
            "--literal {query:?} exited {code:?}: {}",
            stderr(&literal)
        );
    }
    let output = newsvault(dir.path(), &["search", "\"unbalanced"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--literal"), "{}", stderr(&output));
    // Nothing was harmed.
    assert_eq!(
        count(&open_db(dir.path()), "SELECT count(*) FROM articles"),
        6
    );
    // Literal quoting still finds words, prefixes included.
    let hits = json_lines(&newsvault(
        dir.path(),
        &["search", "--json", "--literal", "লাভরভ*", "\"কিম"],
    ));
    assert!(!hits.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn show_and_raw_find_articles_by_id_and_any_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = build_archive(dir.path()).await;
    let page = "ukbdnews-mp-brother-killed-kushtia.html";
    let id = article_id_of(dir.path(), page);

    // By a non-canonical form of the feed link: tracking parameter, fragment.
    let url = server.url(&format!("/pages/{page}?utm_medium=x#top"));
    for key in [id.to_string(), url.clone()] {
        let output = newsvault(dir.path(), &["show", "--json", &key]);
        assert!(output.status.success(), "{key}: {}", stderr(&output));
        let record = &json_lines(&output)[0];
        assert_eq!(record["id"], id);
        assert_eq!(record["source"], "bd");
        assert!(record["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(record["urls"].as_array().is_some_and(|u| !u.is_empty()));
        assert_eq!(record["captures"][0]["status"], 200);
        assert!(
            record["first_seen_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
    }
    // By the SHA-256 of a capture's body (what `show --json` lists, or `sha256sum` of a page),
    // with or without its prefix, in either case.
    let shown = json_lines(&newsvault(dir.path(), &["show", "--json", &id.to_string()]));
    let sha256 = shown[0]["captures"][0]["body_sha256"]
        .as_str()
        .expect("a capture's hash")
        .to_string();
    for key in [
        format!("sha256:{sha256}"),
        sha256.to_ascii_uppercase(),
        sha256.clone(),
    ] {
        let output = newsvault(dir.path(), &["show", "--json", &key]);
        assert!(output.status.success(), "{key}: {}", stderr(&output));
        assert_eq!(json_lines(&output)[0]["id"], id, "{key}");
    }
    let unknown = format!("sha256:{}", "0".repeat(64));
    let missing = newsvault(dir.path(), &["raw", &unknown]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains(&"0".repeat(64)),
        "{}",
        stderr(&missing)
    );
    let human = newsvault(dir.path(), &["show", &id.to_string()]);
    assert!(human.status.success());
    assert!(stdout(&human).contains("title:") && stdout(&human).contains("captures:"));

    // raw: the fixture's bytes exactly, to stdout and to a file.
    let raw = newsvault(dir.path(), &["raw", &url]);
    assert!(raw.status.success(), "{}", stderr(&raw));
    assert!(
        raw.stdout == fixture(&format!("pages/{page}")),
        "raw differs"
    );
    let out = dir.path().join("page.html");
    let raw = newsvault(
        dir.path(),
        &["raw", &id.to_string(), "--out", &out.to_string_lossy()],
    );
    assert!(raw.status.success(), "{}", stderr(&raw));
    assert!(std::fs::read(&out).expect("raw file") == fixture(&format!("pages/{page}")));

    // Unknown articles: exit 1 naming what was asked for; junk: exit 2.
    let missing = newsvault(dir.path(), &["show", "999999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("999999"));
    let missing = newsvault(dir.path(), &["raw", "https://example.org/never"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("https://example.org/never"));
    let junk = newsvault(dir.path(), &["show", "not a url"]);
    assert_eq!(junk.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn reparse_updates_what_changed_and_then_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    let seed = article_id_of(dir.path(), "bss-seed-lavrov-kim.html");
    let summary = |output: &Output| -> serde_json::Value {
        assert!(output.status.success(), "{}", stderr(output));
        json_lines(output).remove(0)
    };

    let config = config_path(dir.path()).to_string_lossy().into_owned();
    // A fresh archive re-extracts to the same fields, given the sources' time zones.
    let first = summary(&newsvault(
        dir.path(),
        &["--config", &config, "reparse", "--json"],
    ));
    assert_eq!(first["examined"], 6);
    assert_eq!(first["failed"], 0);
    assert_eq!(first["changed"], 0, "{first}");

    // Simulate an older extractor: a wrong title and extractor on one article, and its
    // fingerprint held by a copy of it from another source (so restoring it would break
    // the fingerprint's uniqueness).
    {
        let db = rusqlite::Connection::open(database(dir.path())).expect("open rw");
        let fingerprint: String = db
            .query_row(
                "SELECT text_fingerprint FROM articles WHERE id = ?1",
                [seed],
                |r| r.get(0),
            )
            .expect("fingerprint");
        db.execute(
            "UPDATE articles SET title = 'tampered', text_fingerprint = NULL,
                 extractor = 'newsvault 0.0.1' WHERE id = ?1",
            [seed],
        )
        .expect("tamper");
        db.execute_batch(
            "INSERT INTO sources (name, url, kind, created_at)
                 VALUES ('mirror', 'https://mirror.example/feed', 'feed', '2025-07-12T00:00:00.000Z');",
        )
        .expect("add source");
        db.execute(
            "INSERT INTO articles (source_id, canonical_url, title, first_seen_at, text,
                 text_fingerprint, extractor)
             VALUES ((SELECT id FROM sources WHERE name = 'mirror'), 'https://mirror.example/copy',
                 'copy', '2025-07-12T00:00:00.000Z', 'copy', ?1, 'newsvault 0.0.1')",
            [fingerprint],
        )
        .expect("add copy");
    }
    let before = json_lines(&newsvault(dir.path(), &["search", "--json", "tampered"]));
    assert_eq!(before.len(), 1);

    let second = summary(&newsvault(
        dir.path(),
        &[
            "--config",
            &config,
            "reparse",
            "--json",
            "--source",
            "bd",
            "--since",
            "2000-01-01",
        ],
    ));
    assert_eq!(second["changed"], 1, "{second}");
    assert_eq!(second["fingerprint_clashes"], 1, "{second}");
    assert_eq!(second["unchanged"], 5);
    let db = open_db(dir.path());
    let (title, extractor, fingerprint): (String, String, Option<String>) = db
        .query_row(
            "SELECT title, extractor, text_fingerprint FROM articles WHERE id = ?1",
            [seed],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("article");
    assert!(title.contains("লাভরভ"), "{title}");
    assert_eq!(extractor, newsvault::pipeline::EXTRACTOR);
    assert_eq!(fingerprint, None);
    // The index followed.
    assert!(json_lines(&newsvault(dir.path(), &["search", "--json", "tampered"])).is_empty());

    // Once more: nothing left to change.
    let third = summary(&newsvault(
        dir.path(),
        &["--config", &config, "reparse", "--json", "--source", "bd"],
    ));
    assert_eq!(
        (third["changed"].clone(), third["unchanged"].clone()),
        (0.into(), 6.into()),
        "{third}"
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM articles WHERE extractor = '{}'",
                newsvault::pipeline::EXTRACTOR
            )
        ),
        6
    );
    // The copy has no capture: it fails, keeps its fields, and the others go on.
    let human = newsvault(dir.path(), &["--config", &config, "reparse"]);
    assert!(human.status.success(), "{}", stderr(&human));
    assert!(
        stdout(&human).contains("examined 7, changed 0, unchanged 6, failed 1"),
        "{}",
        stdout(&human)
    );
    // Without a configuration, dates without an offset are read as UTC, and say so.
    let utc = newsvault(dir.path(), &["reparse", "--json", "--source", "bd"]);
    assert!(stderr(&utc).contains("UTC"), "{}", stderr(&utc));
    assert!(summary(&utc)["changed"].as_u64().is_some_and(|n| n > 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_shows_per_source_health() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    // A daemon registered on the archive, as `newsvault run` does.
    let text = std::fs::read_to_string(config_path(dir.path())).expect("read config")
        + "\n[cluster]\nnode = \"crawler-7\"\n";
    let config = Config::parse(&text, &config_path(dir.path())).expect("config");
    App::open(config, Clock::System)
        .await
        .expect("open app")
        .register_node()
        .await
        .expect("register node");
    let output = newsvault(dir.path(), &["stats", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stats = &json_lines(&output)[0];
    let bd = &stats["per_source"][0];
    assert_eq!(bd["name"], "bd");
    let days = bd["recent_days"].as_array().expect("recent_days");
    assert_eq!(days.len(), 7);
    // Archived just now: all six fall in the last seven days, which end today (UTC).
    let total: i64 = days.iter().filter_map(|d| d["articles"].as_i64()).sum();
    assert_eq!(total, 6);
    let today = chrono::Utc::now().date_naive();
    let last = days[6]["day"].as_str().expect("day");
    assert!(
        last == today.to_string() || last == today.pred_opt().expect("yesterday").to_string(),
        "{last}"
    );
    assert!(bd["next_poll_at"].is_string());
    let nodes = stats["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0]["name"], "crawler-7");
    assert!(nodes[0]["stopped_at"].is_null());
    let human = stdout(&newsvault(dir.path(), &["stats"]));
    assert!(human.contains("last 7 days: "), "{human}");
    assert!(human.contains("next due"), "{human}");
    assert!(
        human.contains("nodes           1 (1 not stopped)"),
        "{human}"
    );
    assert!(human.contains("crawler-7"), "{human}");
}

#[test]
fn datasette_metadata_enables_search_on_articles() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/datasette-metadata.json");
    let text = std::fs::read_to_string(path).expect("read metadata");
    let metadata: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let articles = &metadata["databases"]["newsvault"]["tables"]["articles"];
    assert_eq!(articles["fts_table"], "articles_fts");
    assert_eq!(articles["fts_pk"], "id");
}
