//! The storage API on both backends: every test body here runs once against a SQLite file
//! and once against a fresh PostgreSQL database on a server the test starts itself (see
//! tests/common/postgres.rs; without PostgreSQL binaries the PostgreSQL half is skipped
//! with a message, except in CI). The bodies only use [`Store`], so they check that the
//! two backends mean the same thing.

mod common;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Reply, TestServer, fixture, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::compact::{CompactOptions, compact};
use newsvault::config::{Config, SourceKind};
use newsvault::shutdown::Shutdown;
use newsvault::store::{
    Archived, ArticleFilter, ArticleKey, ExtractedFields, FetchRecord, ItemStatus, NewArticle,
    NewCapture, NewVersion, NodeLease, NodeRegistration, PollOutcome, PollRecord, Reextracted,
    RevisitOutcome, Revisited, SearchRequest, SourceSpec, Store, StoreError, StoryFilter,
};
use newsvault::stories;

/// Where a test's archive lives: a SQLite path or a PostgreSQL URL, as `[archive]
/// database` would say.
struct Database(PathBuf);

impl Database {
    /// Opens (another connection to) the archive.
    async fn open(&self) -> Store {
        Store::open(&self.0)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.0.display()))
    }

    /// The PostgreSQL URL, or `None` for a SQLite file.
    fn postgres_url(&self) -> Option<&str> {
        self.0.to_str().filter(|p| p.starts_with("postgres"))
    }

    /// Runs `sql` (statements separated by semicolons) with a plain connection, as a user's
    /// tool would, bypassing the store.
    async fn execute(&self, sql: &str) {
        match self.postgres_url() {
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
                let driver = tokio::spawn(connection);
                client
                    .batch_execute(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                drop(client);
                let _ = driver.await;
            }
            None => rusqlite::Connection::open(&self.0)
                .and_then(|db| db.execute_batch(sql))
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
        }
    }

    /// The rows of `sql`, a query of an integer and an optional text, read with a plain
    /// connection as a user's tool would.
    async fn number_and_text(&self, sql: &str) -> Vec<(i64, Option<String>)> {
        match self.postgres_url() {
            Some(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
                let driver = tokio::spawn(connection);
                let rows = client
                    .query(sql, &[])
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect();
                drop(client);
                let _ = driver.await;
                rows
            }
            None => {
                let db = rusqlite::Connection::open(&self.0).expect("open the SQLite file");
                db.prepare(sql)
                    .and_then(|mut stmt| {
                        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("tempdir");
                super::$name(super::Database(dir.path().join("archive.sqlite3"))).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(server) = super::common::postgres::start() else {
                    return;
                };
                let url = server.create_database().await;
                super::$name(super::Database(url.into())).await;
                drop(server);
            }
        }
    )*};
}

on_both_backends!(
    sources_and_their_schedule_state_round_trip,
    the_request_log_is_counted,
    one_article_reached_by_two_urls_is_one_row_with_both,
    the_same_article_archived_at_once_by_two_connections_is_one_row,
    search_finds_bengali_and_english_words_with_filters,
    near_duplicates_share_a_story,
    near_duplicates_archived_at_once_join_one_story,
    pages_of_articles_and_captures_cover_the_selection,
    re_extraction_rewrites_what_changed_and_search_follows,
    revisits_keep_versions_and_mark_a_removed_page,
    a_version_shares_the_article_text_and_the_view_shows_every_text,
    an_archive_of_the_previous_schema_reads_its_versions_unchanged,
    compaction_trains_dictionaries_and_captures_read_back_unchanged,
    two_claimers_never_get_the_same_source,
    claims_take_the_earliest_due_up_to_the_limit,
    an_expired_lease_is_taken_over_by_another_node,
    the_schedule_and_backoff_survive_in_the_database,
    a_live_node_of_another_version_is_refused_before_anything_is_written,
    a_second_daemon_under_a_running_nodes_name_is_refused,
    a_poll_that_lost_its_lease_leaves_the_new_holder_alone,
    two_nodes_never_revisit_the_same_article,
    a_one_shot_poll_skips_a_source_another_node_is_polling,
    a_node_with_another_source_list_is_refused_while_others_run,
);

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, 12, hour, minute, 0)
        .single()
        .expect("valid time")
}

fn spec(name: &str, url: &str, kind: Option<SourceKind>) -> SourceSpec {
    SourceSpec {
        name: name.into(),
        url: url.into(),
        kind,
        enabled: true,
    }
}

fn new_article(url: &str, title: &str, text: &str, language: &str) -> NewArticle {
    let seen = at(12, 0);
    let body = format!("<html><title>{title}</title><p>{text}</p></html>").into_bytes();
    NewArticle {
        source_id: None,
        item_key: None,
        canonical_url: url.to_string(),
        urls: vec![url.to_string()],
        title: Some(title.to_string()),
        authors: vec!["A. Reporter".into()],
        published_at: None,
        updated_at: None,
        first_seen_at: seen,
        language: Some(language.into()),
        site_name: None,
        description: None,
        story_fingerprint: stories::fingerprint(text),
        text: text.to_string(),
        text_fingerprint: Some(newsvault::canon::body_hash(text.as_bytes())),
        extractor: "test".into(),
        capture: NewCapture {
            fetch_id: None,
            url: url.to_string(),
            fetched_at: seen,
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

async fn sources_and_their_schedule_state_round_trip(db: Database) {
    let store = db.open().await;
    let now = at(12, 0);
    let synced = store
        .sync_sources(
            vec![
                spec(
                    "alpha",
                    "https://alpha.example/feed",
                    Some(SourceKind::Feed),
                ),
                spec("beta", "https://beta.example/", None),
            ],
            now,
        )
        .await
        .expect("sync");
    assert_eq!(
        synced.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["alpha", "beta"]
    );
    assert!(
        synced
            .iter()
            .all(|s| s.enabled && s.next_poll_at == Some(now))
    );
    let alpha = synced[0].id;
    let beta = synced[1].id;
    assert_eq!(store.due_sources(now).await.expect("due").len(), 2);
    assert!(
        store
            .due_sources(now - Duration::seconds(1))
            .await
            .expect("due")
            .is_empty()
    );

    let next = at(13, 0);
    store
        .finish_poll(PollRecord {
            source_id: alpha,
            lease_node: None,
            polled_at: now,
            next_poll_at: Some(next),
            outcome: PollOutcome::Success {
                etag: Some("\"v1\"".into()),
                last_modified: Some("Sat, 12 Jul 2025 12:00:00 GMT".into()),
                body_sha256: Some("abc".into()),
            },
            poll_interval: Some(std::time::Duration::from_secs(7200)),
            found_new: true,
        })
        .await
        .expect("finish poll");
    store
        .finish_poll(PollRecord {
            source_id: beta,
            lease_node: None,
            polled_at: now,
            next_poll_at: Some(at(12, 30)),
            outcome: PollOutcome::Failure {
                error: "connection refused".into(),
            },
            poll_interval: None,
            found_new: false,
        })
        .await
        .expect("finish failed poll");
    store
        .record_detected_kind(beta, SourceKind::Page, now)
        .await
        .expect("detected kind");
    assert_eq!(
        store.next_poll_at().await.expect("next poll"),
        Some(at(12, 30))
    );

    let sources = store.sources().await.expect("sources");
    let (a, b) = (&sources[0], &sources[1]);
    assert_eq!(a.etag.as_deref(), Some("\"v1\""));
    assert_eq!(a.last_body_sha256.as_deref(), Some("abc"));
    assert_eq!(a.last_success_at, Some(now));
    assert_eq!(a.last_new_at, Some(now));
    assert_eq!(a.next_poll_at, Some(next));
    assert_eq!(a.poll_interval, Some(std::time::Duration::from_secs(7200)));
    assert_eq!(a.error_count, 0);
    assert_eq!(b.error_count, 1);
    assert_eq!(b.last_error.as_deref(), Some("connection refused"));
    assert_eq!(b.kind, "page");
    assert_eq!(b.kind_detected_at, Some(now));
    assert_eq!(b.last_success_at, None);

    store
        .set_next_poll(beta, Some(at(14, 0)))
        .await
        .expect("set next poll");
    // beta leaves the configuration, alpha moves: its validators are forgotten.
    let later = at(12, 5);
    let synced = store
        .sync_sources(
            vec![spec("alpha", "https://alpha.example/new-feed", None)],
            later,
        )
        .await
        .expect("sync again");
    let (a, b) = (&synced[0], &synced[1]);
    assert_eq!(a.url, "https://alpha.example/new-feed");
    assert_eq!(a.etag, None);
    assert_eq!(a.poll_interval, None);
    assert_eq!(a.next_poll_at, Some(later));
    assert!(!b.enabled);
    assert_eq!(b.next_poll_at, Some(at(14, 0)));
    assert_eq!(
        store.next_poll_at().await.expect("next poll"),
        Some(later),
        "a disabled source is not scheduled"
    );

    let stats = store.stats(now).await.expect("stats");
    assert_eq!((stats.sources, stats.sources_enabled), (2, 1));
    assert_eq!(stats.per_source[1].kind, "page");
    assert!(stats.per_source[1].kind_detected);
    assert_eq!(stats.per_source[0].poll_interval_s, None);
}

async fn the_request_log_is_counted(db: Database) {
    let store = db.open().await;
    let source = store
        .sync_sources(
            vec![spec("alpha", "https://alpha.example/feed", None)],
            at(12, 0),
        )
        .await
        .expect("sync")[0]
        .id;
    let record = |status: Option<u16>, error: Option<&str>| FetchRecord {
        source_id: Some(source),
        purpose: "feed".into(),
        url: "https://alpha.example/feed".into(),
        final_url: Some("https://alpha.example/feed.xml".into()),
        started_at: at(12, 0),
        duration_ms: 120,
        status,
        bytes: 5_000_000_000,
        error: error.map(str::to_string),
    };
    let first = store
        .record_fetch(record(Some(200), None))
        .await
        .expect("log");
    let second = store
        .record_fetch(record(None, Some("timed out")))
        .await
        .expect("log");
    assert!(second > first);
    let stats = store.stats(at(12, 0)).await.expect("stats");
    assert_eq!((stats.fetches, stats.fetch_errors), (2, 1));
    assert!(stats.database_bytes > 0);
}

async fn one_article_reached_by_two_urls_is_one_row_with_both(db: Database) {
    let store = db.open().await;
    let source = store
        .sync_sources(
            vec![spec("alpha", "https://alpha.example/feed", None)],
            at(12, 0),
        )
        .await
        .expect("sync")[0]
        .id;
    let text = "The river rose overnight and the ferry service stopped until noon.";
    let mut first = new_article("https://news.example/a", "Ferry stops", text, "en");
    first.source_id = Some(source);
    first.item_key = Some("guid-1".into());
    let Archived::New(id) = store.archive(first.clone()).await.expect("archive") else {
        panic!("the first archive is new");
    };

    // The same article through a tracking URL whose page names the same canonical URL.
    let mut again = first.clone();
    again.urls = vec!["https://news.example/a?from=rss".into()];
    again.item_key = Some("guid-2".into());
    assert_eq!(
        store.archive(again).await.expect("archive again"),
        Archived::Duplicate(id)
    );
    // Another canonical URL but the same text: the fingerprint recognises it.
    let mirror = new_article("https://mirror.example/a", "Ferry stops", text, "en");
    assert_eq!(
        store.archive(mirror).await.expect("archive mirror"),
        Archived::Duplicate(id)
    );

    let article = store.article(id).await.expect("read").expect("present");
    let mut urls = article.urls.clone();
    urls.sort();
    assert_eq!(
        urls,
        [
            "https://mirror.example/a",
            "https://news.example/a",
            "https://news.example/a?from=rss"
        ]
    );
    assert_eq!(article.source.as_deref(), Some("alpha"));
    assert_eq!(article.authors, ["A. Reporter"]);
    assert_eq!(article.text, text);
    assert_eq!(
        store
            .find_article(ArticleKey::Urls(vec![
                "https://news.example/a?from=rss".into()
            ]))
            .await
            .expect("find"),
        Some(id)
    );
    assert_eq!(
        store
            .find_article(ArticleKey::Id(id + 100))
            .await
            .expect("find"),
        None
    );

    // Feed item bookkeeping.
    let status = |key: &str, urls: &[&str]| {
        let store = store.clone();
        let key = key.to_string();
        let urls: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
        async move { store.item_status(source, key, urls).await.expect("status") }
    };
    assert_eq!(status("guid-1", &[]).await, ItemStatus::Seen);
    assert_eq!(
        status("guid-3", &["https://news.example/a"]).await,
        ItemStatus::KnownArticle(id)
    );
    assert_eq!(
        status("guid-4", &["https://other.example/"]).await,
        ItemStatus::New
    );
    store
        .link_to_article(
            Some(source),
            Some("guid-3".into()),
            vec!["https://news.example/a#top".into()],
            id,
            at(12, 1),
        )
        .await
        .expect("link");
    assert_eq!(status("guid-3", &[]).await, ItemStatus::Seen);
    for attempt in 1..=newsvault::store::MAX_ITEM_ATTEMPTS {
        let failures = store
            .record_item_failure(source, "guid-4".into(), "HTTP 500".into(), at(12, 2))
            .await
            .expect("record failure");
        assert_eq!(failures, attempt);
    }
    assert_eq!(status("guid-4", &[]).await, ItemStatus::GivenUp);

    let captures = store.captures_of(id).await.expect("captures");
    assert_eq!(captures.len(), 1, "a duplicate adds no capture");
    assert_eq!(
        captures[0].headers,
        [("content-type".into(), "text/html".into())]
    );
    let latest = store
        .latest_capture(id)
        .await
        .expect("capture")
        .expect("present");
    assert_eq!(latest.body, first.capture.body);
    assert_eq!(latest.info.body_size, first.capture.body.len() as u64);

    let stats = store.stats(at(12, 0)).await.expect("stats");
    assert_eq!(
        (stats.articles, stats.article_urls, stats.captures),
        (1, 4, 1)
    );
    assert_eq!(stats.per_source[0].articles, 1);
    assert_eq!(
        stats.per_source[0].recent_days.last().map(|d| d.articles),
        Some(1)
    );

    // Named by the exact bytes of its capture; other bytes name no article.
    let by_body = |bytes: &[u8]| {
        let store = store.clone();
        let key = ArticleKey::CaptureBody(newsvault::canon::body_hash(bytes));
        async move { store.find_article(key).await.expect("find by body") }
    };
    assert_eq!(by_body(&first.capture.body).await, Some(id));
    assert_eq!(by_body(b"<html>another page</html>").await, None);
    // A page linked without a source or feed item records its URL alone.
    store
        .link_to_article(
            None,
            None,
            vec!["https://copy.example/a".into()],
            id,
            at(12, 3),
        )
        .await
        .expect("link a page");
    assert_eq!(
        store
            .find_article(ArticleKey::Urls(vec!["https://copy.example/a".into()]))
            .await
            .expect("find"),
        Some(id)
    );
    let stats = store.stats(at(12, 0)).await.expect("stats");
    assert_eq!((stats.article_urls, stats.captures), (5, 1));
}

async fn the_same_article_archived_at_once_by_two_connections_is_one_row(db: Database) {
    let (one, two) = (db.open().await, db.open().await);
    for round in 0..5 {
        let text = format!("Round {round}: the council approved the budget after a long debate.");
        let url = format!("https://news.example/budget-{round}");
        let mut from_one = new_article(&url, "Budget", &text, "en");
        from_one.urls = vec![format!("{url}?via=one"), url.clone()];
        let mut from_two = new_article(&url, "Budget", &text, "en");
        from_two.urls = vec![format!("{url}?via=two"), url.clone()];
        let (a, b) = tokio::join!(
            tokio::spawn({
                let one = one.clone();
                async move { one.archive(from_one).await }
            }),
            tokio::spawn({
                let two = two.clone();
                async move { two.archive(from_two).await }
            }),
        );
        let outcomes = [
            a.expect("task").expect("archive"),
            b.expect("task").expect("archive"),
        ];
        let ids: Vec<i64> = outcomes
            .iter()
            .map(|o| match o {
                Archived::New(id) | Archived::Duplicate(id) => *id,
            })
            .collect();
        assert_eq!(ids[0], ids[1], "round {round}: {outcomes:?}");
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, Archived::New(_)))
                .count(),
            1,
            "round {round}: {outcomes:?}"
        );
        let urls = one
            .article(ids[0])
            .await
            .expect("read")
            .expect("present")
            .urls;
        assert!(urls.contains(&format!("{url}?via=one")), "{urls:?}");
        assert!(urls.contains(&format!("{url}?via=two")), "{urls:?}");
    }
    let stats = one.stats(at(12, 0)).await.expect("stats");
    assert_eq!((stats.articles, stats.captures), (5, 5));
}

async fn search_finds_bengali_and_english_words_with_filters(db: Database) {
    let store = db.open().await;
    store
        .sync_sources(
            vec![
                spec("bangla", "https://bn.example/feed", None),
                spec("english", "https://en.example/feed", None),
            ],
            at(12, 0),
        )
        .await
        .expect("sync");
    let sources = store.sources().await.expect("sources");
    let mut bengali = new_article(
        "https://bn.example/mango",
        "রাজশাহীতে আমের বাজার জমজমাট",
        "রাজশাহীর বাজারে এবার আমের দাম কম। চাষিরা বলছেন ফলন ভালো হয়েছে।",
        "bn",
    );
    bengali.source_id = Some(sources[0].id);
    let mut english = new_article(
        "https://en.example/mango",
        "Mango market busy in Rajshahi",
        "Mango prices in Rajshahi fell this season as growers reported a good harvest.",
        "en",
    );
    english.source_id = Some(sources[1].id);
    let mut other = new_article(
        "https://en.example/ferry",
        "Ferry service resumes",
        "The ferry service resumed at noon after the river fell; no mango was harmed.",
        "en",
    );
    other.source_id = Some(sources[1].id);
    for article in [bengali, english, other] {
        store.archive(article).await.expect("archive");
    }
    let search = |expression: &str, filter: ArticleFilter| {
        let store = store.clone();
        let request = SearchRequest {
            expression: expression.into(),
            filter,
            limit: 10,
            highlight: ("[".into(), "]".into()),
        };
        async move { store.search(request).await.expect("search") }
    };

    // A Bengali word with a vowel sign is matched whole, and only where it occurs.
    let hits = search("আমের", ArticleFilter::default()).await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].canonical_url, "https://bn.example/mango");
    assert!(hits[0].snippet.contains("[আমের]"), "{:?}", hits[0].snippet);
    assert_eq!(hits[0].source.as_deref(), Some("bangla"));

    // A title match ranks above a match in the text only.
    let hits = search("mango", ArticleFilter::default()).await;
    let urls: Vec<&str> = hits.iter().map(|h| h.canonical_url.as_str()).collect();
    assert_eq!(
        urls,
        ["https://en.example/mango", "https://en.example/ferry"]
    );
    assert!(hits[0].score <= hits[1].score, "lower is better: {hits:?}");

    let only_bengali = ArticleFilter {
        language: Some("bn".into()),
        ..ArticleFilter::default()
    };
    assert!(search("mango", only_bengali).await.is_empty());
    let by_source = ArticleFilter {
        source: Some("english".into()),
        ..ArticleFilter::default()
    };
    assert_eq!(search("Rajshahi", by_source).await.len(), 1);
    assert!(
        search("harvest ferry", ArticleFilter::default())
            .await
            .is_empty()
    );
}

/// About 120 words of a wire story; a copy with a line added is its near-duplicate.
fn wire_text(topic: &str) -> String {
    (0..120)
        .map(|i| format!("{topic}{}", i * 7 % 113))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn near_duplicates_share_a_story(db: Database) {
    let store = db.open().await;
    let sources = store
        .sync_sources(
            vec![
                spec("a", "https://a.example/feed", None),
                spec("b", "https://b.example/feed", None),
            ],
            at(12, 0),
        )
        .await
        .expect("sync");
    let wire = wire_text("storm");
    let mut first = new_article("https://a.example/storm", "Storm", &wire, "en");
    first.source_id = Some(sources[0].id);
    let mut copy = new_article(
        "https://b.example/storm-copy",
        "Storm (copy)",
        &format!("{wire} follow us for more"),
        "en",
    );
    copy.source_id = Some(sources[1].id);
    copy.first_seen_at = at(12, 30);
    let unrelated = new_article(
        "https://a.example/other",
        "Other",
        &wire_text("budget"),
        "en",
    );
    let ids: Vec<i64> = {
        let mut ids = Vec::new();
        for article in [first, copy.clone(), unrelated] {
            match store.archive(article).await.expect("archive") {
                Archived::New(id) => ids.push(id),
                other => panic!("expected new articles, got {other:?}"),
            }
        }
        ids
    };
    let story = store
        .story_of(ids[1], 10)
        .await
        .expect("story")
        .expect("has a story");
    let members: Vec<i64> = story.members.iter().map(|m| m.article_id).collect();
    assert_eq!(members, [ids[0], ids[1]]);
    assert_eq!(story.story.articles, 2);
    assert_eq!(story.story.first_seen_at, at(12, 0));
    assert_eq!(story.story.last_seen_at, at(12, 30));
    assert_eq!(story.story.sources.len(), 2);
    let own = store
        .story_of(ids[2], 10)
        .await
        .expect("story")
        .expect("has one");
    assert_eq!(own.story.articles, 1);

    let fingerprint = copy.story_fingerprint.expect("long enough to fingerprint");
    let near = store
        .near_duplicates(fingerprint, 5)
        .await
        .expect("near duplicates");
    let near_ids: Vec<i64> = near.iter().map(|n| n.article_id).collect();
    assert!(near_ids.contains(&ids[1]), "itself: {near:?}");
    assert!(near_ids.contains(&ids[0]), "{near:?}");
    assert!(!near_ids.contains(&ids[2]), "{near:?}");

    let listed = store
        .stories(StoryFilter {
            since: None,
            min_sources: 2,
            limit: 10,
        })
        .await
        .expect("stories");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, story.story.id);
}

/// Three copies of one wire story archived at the same moment through three connections
/// (on PostgreSQL, three sessions as three nodes would have): each round ends with one
/// story holding all three, and its source count is the two sources it has, never one
/// per copy. Unrelated stories archived alongside stay on their own.
async fn near_duplicates_archived_at_once_join_one_story(db: Database) {
    let stores = [db.open().await, db.open().await, db.open().await];
    let sources = stores[0]
        .sync_sources(
            vec![
                spec("a", "https://a.example/feed", None),
                spec("b", "https://b.example/feed", None),
            ],
            at(12, 0),
        )
        .await
        .expect("sync");
    for round in 0..8 {
        let wire = wire_text(&format!("flood{round}x"));
        let copies = [
            (sources[0].id, format!("{wire} read more")),
            (sources[0].id, format!("{wire} share this")),
            (sources[1].id, format!("{wire} more news")),
        ];
        let mut tasks = Vec::new();
        for (n, (source, text)) in copies.into_iter().enumerate() {
            let mut article = new_article(
                &format!("https://news.example/{round}/copy-{n}"),
                "Flood",
                &text,
                "en",
            );
            article.source_id = Some(source);
            let store = stores[n].clone();
            tasks.push(tokio::spawn(async move { store.archive(article).await }));
        }
        let unrelated = new_article(
            &format!("https://news.example/{round}/other"),
            "Other",
            &wire_text(&format!("budget{round}y")),
            "en",
        );
        let other_store = stores[0].clone();
        let other = tokio::spawn(async move { other_store.archive(unrelated).await });
        let mut ids = Vec::new();
        for task in tasks {
            match task.await.expect("task").expect("archive") {
                Archived::New(id) => ids.push(id),
                duplicate => panic!("round {round}: three distinct copies, got {duplicate:?}"),
            }
        }
        let other = match other.await.expect("task").expect("archive") {
            Archived::New(id) => id,
            duplicate => panic!("round {round}: {duplicate:?}"),
        };
        ids.sort_unstable();
        let story = stores[0]
            .story_of(ids[0], 10)
            .await
            .expect("story")
            .expect("has a story");
        let mut members: Vec<i64> = story.members.iter().map(|m| m.article_id).collect();
        members.sort_unstable();
        assert_eq!(members, ids, "round {round}");
        assert_eq!(story.story.articles, 3, "round {round}");
        let own = stores[0]
            .story_of(other, 10)
            .await
            .expect("story")
            .expect("has one");
        assert_eq!(own.story.articles, 1, "round {round}");
    }
    let stories_of = |min_sources| StoryFilter {
        since: None,
        min_sources,
        limit: 100,
    };
    let two_sources = stores[0].stories(stories_of(2)).await.expect("stories");
    assert_eq!(two_sources.len(), 8, "{two_sources:?}");
    let three_sources = stores[0].stories(stories_of(3)).await.expect("stories");
    assert!(three_sources.is_empty(), "{three_sources:?}");
}

async fn pages_of_articles_and_captures_cover_the_selection(db: Database) {
    let store = db.open().await;
    let mut ids = Vec::new();
    for n in 0..7 {
        let mut article = new_article(
            &format!("https://news.example/{n}"),
            &format!("Item {n}"),
            &format!("Item number {n} of the page test."),
            if n % 2 == 0 { "en" } else { "bn" },
        );
        article.published_at = Some(
            at(10, n).with_timezone(&chrono::FixedOffset::east_opt(6 * 3600).expect("offset")),
        );
        if let Archived::New(id) = store.archive(article).await.expect("archive") {
            ids.push(id);
        }
    }
    assert_eq!(ids.len(), 7);
    let filter = ArticleFilter {
        language: Some("en".into()),
        since: Some(at(10, 1)),
        ..ArticleFilter::default()
    };
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .articles_page(filter.clone(), after, 2)
            .await
            .expect("page");
        let Some(last) = page.last() else { break };
        after = last.id;
        for article in &page {
            assert_eq!(article.published_offset.as_deref(), Some("+06:00"));
            assert_eq!(article.urls, std::slice::from_ref(&article.canonical_url));
        }
        seen.extend(page.iter().map(|a| a.id));
    }
    assert_eq!(seen, [ids[2], ids[4], ids[6]]);

    let captures = store.captures_page(filter, 0, 10).await.expect("captures");
    let capture_articles: Vec<i64> = captures.iter().map(|c| c.info.article_id).collect();
    assert_eq!(capture_articles, [ids[2], ids[4], ids[6]]);
    assert!(captures[0].body.starts_with(b"<html>"));
}

async fn re_extraction_rewrites_what_changed_and_search_follows(db: Database) {
    let store = db.open().await;
    let text = "The bridge opened to traffic on Monday morning.";
    let article = new_article("https://news.example/bridge", "Bridge opens", text, "en");
    let Archived::New(id) = store.archive(article.clone()).await.expect("archive") else {
        panic!("new");
    };
    let other = new_article(
        "https://news.example/other",
        "Other",
        "A different story about the harbour.",
        "en",
    );
    let Archived::New(other_id) = store.archive(other.clone()).await.expect("archive") else {
        panic!("new");
    };
    let fields = |text: &str, fingerprint: Option<String>| ExtractedFields {
        title: Some("Bridge opens".into()),
        authors: vec!["A. Reporter".into()],
        published_at: None,
        updated_at: None,
        language: Some("en".into()),
        site_name: None,
        description: None,
        text: text.into(),
        text_fingerprint: fingerprint,
        story_fingerprint: stories::fingerprint(text),
        extractor: "test-2".into(),
    };
    assert_eq!(
        store
            .update_extracted(id, fields(text, article.text_fingerprint.clone()))
            .await
            .expect("same fields"),
        Reextracted::Unchanged
    );
    let new_text = "The suspension bridge opened to traffic on Monday morning.";
    let outcome = store
        .update_extracted(
            id,
            fields(
                new_text,
                Some(newsvault::canon::body_hash(new_text.as_bytes())),
            ),
        )
        .await
        .expect("new text");
    // (Too short for a story fingerprint: the story side has nothing to change.)
    assert_eq!(
        outcome,
        Reextracted::Changed(vec!["text", "text_fingerprint"])
    );
    let hits = store
        .search(SearchRequest {
            expression: "suspension".into(),
            filter: ArticleFilter::default(),
            limit: 5,
            highlight: ("[".into(), "]".into()),
        })
        .await
        .expect("search");
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [id]);
    let stored = store.article(id).await.expect("read").expect("present");
    assert_eq!(stored.extractor, "test-2");
    // The other article's fingerprint: the two are one story, this one keeps none.
    let clash = store
        .update_extracted(id, fields(new_text, other.text_fingerprint.clone()))
        .await
        .expect("clash");
    assert!(
        matches!(clash, Reextracted::FingerprintClash { other, .. } if other == other_id),
        "{clash:?}"
    );
    assert_eq!(
        store
            .update_extracted(id + 100, fields(text, None))
            .await
            .expect("missing"),
        Reextracted::Missing
    );
}

// ------------------------------------------------------------------ end to end

/// `newsvault poll` with `[archive] database = "postgres://..."`: the pages a local feed
/// lists are archived into PostgreSQL, and a second poll stores nothing new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_archives_into_postgresql() {
    let Some(server) = common::postgres::start() else {
        return;
    };
    let url = server.create_database().await;
    let web = TestServer::start().await;
    let pages = ["bss-seed-lavrov-kim.html", "nabadiganta-mango-market.html"];
    for page in pages {
        web.route(
            &format!("/pages/{page}"),
            Reply::ok("text/html", fixture(&format!("pages/{page}"))),
        );
    }
    let links: Vec<String> = pages
        .iter()
        .map(|p| web.url(&format!("/pages/{p}?utm_source=rss")))
        .collect();
    let items: Vec<(Option<&str>, &str)> = vec![
        (Some("guid-1"), links[0].as_str()),
        (Some("guid-2"), links[1].as_str()),
    ];
    web.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
    let config = format!(
        "[archive]\ndatabase = {url:?}\n[http]\ntimeout = \"5s\"\nper_host_delay = \"0s\"\n\
         [[source]]\nname = \"bd\"\nurl = \"{}\"\nkind = \"feed\"\ntimezone = \"Asia/Dhaka\"\n",
        web.url("/feed.xml")
    );
    let config = Config::parse(&config, Path::new("test.toml")).expect("config");
    let app = App::open(config, Clock::System).await.expect("open app");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert_eq!(summaries[0].new, 2, "{summaries:?}");
    let again = app.poll(&[], &Shutdown::never()).await.expect("poll again");
    assert_eq!(again[0].new, 0, "{again:?}");

    // A second process reading the same database sees what the first archived.
    let store = Store::open(Path::new(&url)).await.expect("open");
    let stats = store.stats(Utc::now()).await.expect("stats");
    assert_eq!((stats.articles, stats.captures), (2, 2));
    // Each archived article is found by the first word of its title, Bengali included.
    let articles = store
        .articles_page(ArticleFilter::default(), 0, 10)
        .await
        .expect("articles");
    assert!(articles.iter().any(|a| a.language.as_deref() == Some("bn")));
    for article in &articles {
        let title = article.title.clone().unwrap_or_default();
        let word: String = title
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_alphanumeric() || !c.is_ascii())
            .collect();
        let hits = store
            .search(SearchRequest {
                expression: word.clone(),
                filter: ArticleFilter::default(),
                limit: 5,
                highlight: ("[".into(), "]".into()),
            })
            .await
            .expect("search");
        assert!(
            hits.iter().any(|h| h.id == article.id),
            "{word:?} from {title:?}: {hits:?}"
        );
    }
    drop(app);
    drop(server);
}

/// The fields of a revisited page, with the content hash the pipeline would give them.
fn revisited(url: &str, title: &str, text: &str, fetched_at: DateTime<Utc>) -> NewVersion {
    let body = format!("<html><title>{title}</title><p>{text}</p></html>").into_bytes();
    NewVersion {
        content_sha256: newsvault::versions::content_hash(Some(title), text, None, None),
        fields: ExtractedFields {
            title: Some(title.into()),
            authors: vec!["A. Reporter".into()],
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
            url: url.into(),
            fetched_at,
            status: 200,
            headers: vec![("etag".into(), "\"v2\"".into())],
            content_type: Some("text/html".into()),
            charset: Some("UTF-8".into()),
            charset_source: Some("http-header".into()),
            body_sha256: newsvault::canon::body_hash(&body),
            body,
        },
    }
}

async fn revisits_keep_versions_and_mark_a_removed_page(db: Database) {
    let store = db.open().await;
    let url = "https://news.example/budget";
    let text = "The budget was presented to parliament on Thursday afternoon.";
    let Archived::New(id) = store
        .archive(new_article(url, "Budget presented", text, "en"))
        .await
        .expect("archive")
    else {
        panic!("new");
    };
    // The default schedule's first step: an hour after the article was first archived.
    assert_eq!(
        store.next_revisit_at().await.expect("next revisit"),
        Some(at(13, 0))
    );
    assert!(
        store
            .claim_due_revisits(at(12, 59), at(13, 30), None, 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = store
        .claim_due_revisits(at(13, 0), at(13, 30), None, 10)
        .await
        .expect("due");
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].article_id, id);
    assert_eq!(due[0].url, url);
    assert!(due[0].has_text);
    assert_eq!(
        due[0].content_sha256.as_deref(),
        Some(
            newsvault::versions::content_hash(Some("Budget presented"), text, None, None).as_str()
        )
    );

    // The same page again: nothing but the time and the schedule.
    let same = revisited(url, "Budget presented", text, at(13, 0));
    assert_eq!(
        store
            .record_revisit(id, at(13, 0), RevisitOutcome::Fetched(Box::new(same)))
            .await
            .expect("revisit"),
        Revisited::Unchanged
    );
    assert_eq!(store.versions_of(id).await.expect("versions").len(), 1);
    assert_eq!(
        store.next_revisit_at().await.expect("next revisit"),
        Some(at(18, 0))
    );

    // An edit: version 2, with its own capture; the article row and search follow.
    let edited_text = "The budget was presented to parliament on Thursday, with a new fuel levy.";
    let edited = revisited(
        url,
        "Budget presented with fuel levy",
        edited_text,
        at(18, 0),
    );
    assert_eq!(
        store
            .record_revisit(id, at(18, 0), RevisitOutcome::Fetched(Box::new(edited)))
            .await
            .expect("revisit"),
        Revisited::NewVersion(2)
    );
    let versions = store.versions_of(id).await.expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].text, text);
    assert_eq!(versions[0].seen_at, at(12, 0));
    assert_eq!(versions[1].text, edited_text);
    assert_eq!(versions[1].seen_at, at(18, 0));
    assert_ne!(versions[0].capture_id, versions[1].capture_id);
    let article = store.article(id).await.expect("read").expect("exists");
    assert_eq!(article.versions, 2);
    assert_eq!(article.text, edited_text);
    assert_eq!(article.last_checked_at, Some(at(18, 0)));
    assert_eq!(store.captures_of(id).await.expect("captures").len(), 2);
    let hits = store
        .search(SearchRequest {
            expression: "levy".into(),
            filter: ArticleFilter::default(),
            limit: 10,
            highlight: ("[".into(), "]".into()),
        })
        .await
        .expect("search");
    assert_eq!(hits.len(), 1, "{hits:?}");
    let due = store
        .claim_due_revisits(
            at(12, 0) + Duration::days(1),
            at(12, 30) + Duration::days(1),
            None,
            10,
        )
        .await
        .expect("due");
    assert_eq!(due[0].validators.etag.as_deref(), Some("\"v2\""));

    // A postponed revisit moves the schedule only; a gone page ends it.
    let later = at(20, 0) + Duration::days(1);
    assert_eq!(
        store
            .record_revisit(
                id,
                at(12, 0) + Duration::days(1),
                RevisitOutcome::Postponed { until: later }
            )
            .await
            .expect("postpone"),
        Revisited::Postponed
    );
    assert_eq!(store.next_revisit_at().await.expect("next"), Some(later));
    assert_eq!(
        store
            .record_revisit(id, later, RevisitOutcome::Removed { status: 410 })
            .await
            .expect("removed"),
        Revisited::Removed
    );
    let article = store.article(id).await.expect("read").expect("exists");
    assert_eq!(article.removed_at, Some(later));
    assert_eq!(article.removed_status, Some(410));
    assert_eq!(article.next_revisit_at, None);
    assert_eq!(store.next_revisit_at().await.expect("next"), None);
    let stats = store.stats(later).await.expect("stats");
    assert_eq!(
        (
            stats.articles_edited,
            stats.later_versions,
            stats.articles_removed
        ),
        (1, 1, 1)
    );
    assert_eq!(
        store
            .record_revisit(id + 1000, later, RevisitOutcome::NotModified)
            .await
            .expect("missing"),
        Revisited::Missing
    );
}

/// Each version of article `id` with its text, as the public view `article_versions`
/// shows it.
async fn viewed_texts(db: &Database, id: i64) -> Vec<(i64, Option<String>)> {
    db.number_and_text(&format!(
        "SELECT version, text FROM article_versions WHERE article_id = {id} ORDER BY version"
    ))
    .await
}

/// Each version of article `id` with its text as stored (NULL: the article row's text).
async fn stored_texts(db: &Database, id: i64) -> Vec<(i64, Option<String>)> {
    db.number_and_text(&format!(
        "SELECT version, text FROM article_version_rows WHERE article_id = {id}
         ORDER BY version"
    ))
    .await
}

/// The article row's text, read with plain SQL.
async fn article_text(db: &Database, id: i64) -> Option<String> {
    db.number_and_text(&format!("SELECT id, text FROM articles WHERE id = {id}"))
        .await
        .pop()
        .and_then(|(_, text)| text)
}

fn versioned(pairs: &[(i64, Option<&str>)]) -> Vec<(i64, Option<String>)> {
    pairs
        .iter()
        .map(|(version, text)| (*version, text.map(str::to_string)))
        .collect()
}

async fn a_version_shares_the_article_text_and_the_view_shows_every_text(db: Database) {
    let store = db.open().await;
    let url = "https://news.example/floods";
    let first = "Flood water rose in three northern districts on Monday.";
    let second = "Flood water rose in four northern districts on Monday.";
    let third = "Flood water rose in four northern districts on Monday; schools closed.";
    let Archived::New(id) = store
        .archive(new_article(url, "Floods rise", first, "en"))
        .await
        .expect("archive")
    else {
        panic!("new");
    };
    assert_eq!(stored_texts(&db, id).await, versioned(&[(1, None)]));
    assert_eq!(viewed_texts(&db, id).await, versioned(&[(1, Some(first))]));

    // Two revisits that changed the text.
    for (n, (text, hour)) in [(second, 13), (third, 18)].into_iter().enumerate() {
        let edit = revisited(url, "Floods rise", text, at(hour, 0));
        assert_eq!(
            store
                .record_revisit(id, at(hour, 0), RevisitOutcome::Fetched(Box::new(edit)))
                .await
                .expect("revisit"),
            Revisited::NewVersion(n as i64 + 2)
        );
    }
    assert_eq!(
        viewed_texts(&db, id).await,
        versioned(&[(1, Some(first)), (2, Some(second)), (3, Some(third))]),
        "the view shows each version's own text"
    );
    assert_eq!(article_text(&db, id).await.as_deref(), Some(third));
    assert_eq!(
        stored_texts(&db, id).await,
        versioned(&[(1, Some(first)), (2, Some(second)), (3, None)]),
        "the latest version's text is stored once, in the article row"
    );
    let texts: Vec<String> = store
        .versions_of(id)
        .await
        .expect("versions")
        .into_iter()
        .map(|v| v.text)
        .collect();
    assert_eq!(texts, [first, second, third]);
    assert_eq!(
        db.number_and_text(&format!(
            "SELECT versions, source FROM article_history WHERE article_id = {id}"
        ))
        .await,
        [(3, None)]
    );

    // A new title over the same text: the new version shares the text as well.
    let retitled = revisited(
        url,
        "Floods rise in the north",
        third,
        at(12, 0) + Duration::days(1),
    );
    assert_eq!(
        store
            .record_revisit(
                id,
                at(12, 0) + Duration::days(1),
                RevisitOutcome::Fetched(Box::new(retitled))
            )
            .await
            .expect("revisit"),
        Revisited::NewVersion(4)
    );
    assert_eq!(
        stored_texts(&db, id).await,
        versioned(&[(1, Some(first)), (2, Some(second)), (3, None), (4, None)])
    );

    // Re-extraction rewrites the article row only: the versions keep what they said.
    let reparsed = "Flood water rose in four northern districts on Monday, and schools closed.";
    let outcome = store
        .update_extracted(
            id,
            ExtractedFields {
                title: Some("Floods rise in the north".into()),
                authors: vec!["A. Reporter".into()],
                published_at: None,
                updated_at: None,
                language: Some("en".into()),
                site_name: None,
                description: None,
                text: reparsed.into(),
                text_fingerprint: Some(newsvault::canon::body_hash(reparsed.as_bytes())),
                story_fingerprint: stories::fingerprint(reparsed),
                extractor: "test-2".into(),
            },
        )
        .await
        .expect("re-extract");
    assert!(matches!(outcome, Reextracted::Changed(_)), "{outcome:?}");
    assert_eq!(article_text(&db, id).await.as_deref(), Some(reparsed));
    let kept = versioned(&[
        (1, Some(first)),
        (2, Some(second)),
        (3, Some(third)),
        (4, Some(third)),
    ]);
    assert_eq!(viewed_texts(&db, id).await, kept);
    assert_eq!(stored_texts(&db, id).await, kept);

    // A later edit shares the article text again, until someone changes the row by hand.
    let fifth = "Flood water receded in two of the four districts on Wednesday.";
    let later = at(12, 0) + Duration::days(3);
    let edit = revisited(url, "Floods rise in the north", fifth, later);
    assert_eq!(
        store
            .record_revisit(id, later, RevisitOutcome::Fetched(Box::new(edit)))
            .await
            .expect("revisit"),
        Revisited::NewVersion(5)
    );
    assert_eq!(stored_texts(&db, id).await.last(), Some(&(5, None)));
    db.execute(&format!(
        "UPDATE articles SET text = 'Corrected by hand.' WHERE id = {id}"
    ))
    .await;
    let mut kept = kept;
    kept.push((5, Some(fifth.to_string())));
    assert_eq!(viewed_texts(&db, id).await, kept);
    assert_eq!(stored_texts(&db, id).await, kept);
}

/// An earlier schema (SQLite 7, PostgreSQL 5) with article versions in one table.
async fn create_previous_schema(db: &Database) {
    match db.postgres_url() {
        Some(_) => {
            db.execute(&format!(
                "CREATE TABLE schema_migrations (
                     version    bigint PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 );
                 {}
                 {}
                 {}
                 {}
                 {}
                 INSERT INTO schema_migrations (version) VALUES (1), (2), (3), (4), (5);",
                include_str!("../src/store/postgres/0001_initial.sql"),
                include_str!("../src/store/postgres/0002_versions_dictionaries_views.sql"),
                include_str!("../src/store/postgres/0003_leases.sql"),
                include_str!("../src/store/postgres/0004_cluster_politeness.sql"),
                include_str!("../src/store/postgres/0005_story_bands_by_article.sql"),
            ))
            .await;
        }
        None => {
            db.execute(&format!(
                "{}\n{}\n{}\n{}\n{}\n{}\n{}\nPRAGMA user_version = 7;",
                include_str!("../src/store/migrations/0001_initial.sql"),
                include_str!("../src/store/migrations/0002_views.sql"),
                include_str!("../src/store/migrations/0003_adaptive_polling.sql"),
                include_str!("../src/store/migrations/0004_stories.sql"),
                include_str!("../src/store/migrations/0005_versions.sql"),
                include_str!("../src/store/migrations/0006_zstd_dictionaries.sql"),
                include_str!("../src/store/migrations/0007_leases.sql"),
            ))
            .await;
        }
    }
}

async fn an_archive_of_the_previous_schema_reads_its_versions_unchanged(db: Database) {
    create_previous_schema(&db).await;
    // Article 1 was edited once; article 2 was re-extracted after its only version, so its
    // row's text differs from that version's.
    db.execute(
        "INSERT INTO articles (id, canonical_url, title, first_seen_at, text, extractor)
         VALUES (1, 'https://news.example/edited', 'Edited', '2025-07-01T00:00:00.000Z',
                 'The second text.', 'x'),
                (2, 'https://news.example/reparsed', 'Reparsed', '2025-07-01T00:00:00.000Z',
                 'The text as read again.', 'x');
         INSERT INTO article_versions (article_id, version, title, text, seen_at,
             content_sha256)
         VALUES (1, 1, 'Edited', 'The first text.', '2025-07-01T00:00:00.000Z', 'a'),
                (1, 2, 'Edited', 'The second text.', '2025-07-01T06:00:00.000Z', 'b'),
                (2, 1, 'Reparsed', 'The text as first read.', '2025-07-01T00:00:00.000Z',
                 'c');",
    )
    .await;
    let before = [viewed_texts(&db, 1).await, viewed_texts(&db, 2).await];

    let (store, from, to) = Store::upgrade(&db.0).await.expect("upgrade");
    assert!(from < to, "{from} -> {to}");
    assert_eq!(
        [viewed_texts(&db, 1).await, viewed_texts(&db, 2).await],
        before
    );
    assert_eq!(
        stored_texts(&db, 1).await,
        versioned(&[(1, Some("The first text.")), (2, None)]),
        "the latest version's copy of the article text is gone"
    );
    assert_eq!(
        stored_texts(&db, 2).await,
        versioned(&[(1, Some("The text as first read."))]),
        "a text the article row no longer holds is kept"
    );
    let versions = store.versions_of(1).await.expect("versions");
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.text.as_str(), v.content_sha256.as_deref()))
            .collect::<Vec<_>>(),
        [
            (1, "The first text.", Some("a")),
            (2, "The second text.", Some("b"))
        ]
    );
    assert_eq!(
        store
            .article(1)
            .await
            .expect("read")
            .expect("article")
            .versions,
        2
    );
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

fn site_article(n: usize, body: Vec<u8>) -> NewArticle {
    let url = format!("https://www.bssnews.net/news/{n}");
    let mut article = new_article(
        &url,
        &format!("Article {n}"),
        &format!("Article {n} text."),
        "en",
    );
    article.first_seen_at = at(12, 0) + Duration::minutes(n as i64);
    article.capture.fetched_at = article.first_seen_at;
    article.capture.body_sha256 = newsvault::canon::body_hash(&body);
    article.capture.body = body;
    article
}

async fn compaction_trains_dictionaries_and_captures_read_back_unchanged(db: Database) {
    let store = db.open().await;
    let template = String::from_utf8(fixture("pages/bss-en-homestead-gardening-rajshahi.html"))
        .expect("fixture is UTF-8");
    let mut bodies = std::collections::HashMap::new();
    for n in 0..24 {
        let body = site_page(&template, n);
        let Archived::New(id) = store
            .archive(site_article(n, body.clone()))
            .await
            .expect("archive")
        else {
            panic!("new");
        };
        bodies.insert(id, body);
    }
    let before = store.storage_usage(false).await.expect("usage");
    assert_eq!(before.captures, 24);
    let mut options = CompactOptions::new(at(23, 0));
    options.min_captures = 20;
    options.batch = 5;
    options.vacuum = true;
    let summary = compact(&store, &options).await.expect("compact");
    assert_eq!(summary.failures, 0, "{summary:?}");
    let dictionaries = store.dictionaries().await.expect("dictionaries");
    assert_eq!(dictionaries.len(), 1, "{dictionaries:?}");
    assert_eq!(dictionaries[0].site, "bssnews.net");
    assert!(dictionaries[0].captures > 0, "{dictionaries:?}");
    let after = store.storage_usage(true).await.expect("usage");
    assert!(
        after.capture_bytes_stored < before.capture_bytes_stored,
        "{before:?} -> {after:?}"
    );
    assert!(
        after.objects.iter().any(|o| o.name == "captures"),
        "{after:?}"
    );

    // A new capture of the site is compressed with its dictionary as it arrives.
    let body = site_page(&template, 99);
    let Archived::New(new_id) = store
        .archive(site_article(99, body.clone()))
        .await
        .expect("archive")
    else {
        panic!("new");
    };
    bodies.insert(new_id, body);
    let sites = store.capture_sites().await.expect("sites");
    let newest = sites.last().expect("captures");
    assert_eq!(newest.1, "bssnews.net");
    assert_eq!(newest.2, Some(dictionaries[0].id));

    // Every body reads back byte for byte, whichever way it is stored.
    let mut read = 0;
    let mut after_id = 0;
    loop {
        let page = store
            .captures_page(ArticleFilter::default(), after_id, 7)
            .await
            .expect("captures");
        let Some(last) = page.last() else { break };
        after_id = last.info.id;
        for capture in page {
            assert_eq!(Some(&capture.body), bodies.get(&capture.info.article_id));
            read += 1;
        }
    }
    assert_eq!(read, 25);
    let latest = store
        .latest_capture(new_id)
        .await
        .expect("latest")
        .expect("one");
    assert_eq!(Some(&latest.body), bodies.get(&new_id));

    // Compacting again changes nothing; an older dictionary no capture uses is dropped.
    let again = compact(&store, &options).await.expect("compact again");
    assert_eq!(again.recompressed, 0, "{again:?}");
    assert_eq!(store.drop_unused_dictionaries().await.expect("drop"), 0);
}

/// `sslmode` in the URL: the server takes TLS connections only (with a self-signed
/// certificate for 127.0.0.1); `require` encrypts without checking the certificate,
/// `verify-ca` checks it against `sslrootcert`, `verify-full` also checks the host name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_connections_honour_sslmode() {
    let Some((server, ca)) = common::postgres::start_with_tls() else {
        return;
    };
    let url = server.create_database().await;
    let ca = ca.display().to_string();
    let open = |url: String| async move { Store::open(Path::new(&url)).await };

    let plain = open(format!("{url}?sslmode=disable"))
        .await
        .expect_err("the server refuses a connection without TLS");
    assert!(plain.to_string().contains("no encryption"), "{plain}");

    let store = open(format!("{url}?sslmode=verify-full&sslrootcert={ca}"))
        .await
        .expect("verify-full with the server's CA");
    store
        .sync_sources(
            vec![spec("tls", "https://tls.example/feed", None)],
            at(12, 0),
        )
        .await
        .expect("write over TLS");
    assert_eq!(store.sources().await.expect("read over TLS").len(), 1);
    open(format!("{url}?sslmode=require"))
        .await
        .expect("require accepts a certificate it cannot check");
    let unknown = open(format!("{url}?sslmode=verify-full"))
        .await
        .expect_err("the system's CAs did not sign the certificate");
    assert!(unknown.to_string().contains("certificate"), "{unknown}");

    // The certificate is for 127.0.0.1, not for localhost.
    let by_name = url.replace("127.0.0.1", "localhost");
    let wrong_name = open(format!("{by_name}?sslmode=verify-full&sslrootcert={ca}"))
        .await
        .expect_err("verify-full checks the host name");
    assert!(
        wrong_name.to_string().contains("certificate"),
        "{wrong_name}"
    );
    open(format!("{by_name}?sslmode=verify-ca&sslrootcert={ca}"))
        .await
        .expect("verify-ca does not check the host name");
    drop(server);
}

// ------------------------------------------------------------------ leases

fn lease(node: &str, until: DateTime<Utc>) -> NodeLease {
    NodeLease {
        node: node.into(),
        until,
    }
}

/// Adds `count` sources named `s00`, `s01`, …, all due at `now`.
async fn many_sources(store: &Store, count: usize, now: DateTime<Utc>) {
    let specs = (0..count)
        .map(|i| {
            spec(
                &format!("s{i:02}"),
                &format!("https://s{i}.example/feed"),
                Some(SourceKind::Feed),
            )
        })
        .collect();
    store.sync_sources(specs, now).await.expect("sync");
}

async fn two_claimers_never_get_the_same_source(db: Database) {
    let now = at(12, 0);
    let (first, second) = (db.open().await, db.open().await);
    many_sources(&first, 40, now).await;
    let until = now + Duration::seconds(60);
    let mut claimed: Vec<(String, String)> = Vec::new();
    // Both claim at once, round after round, until nothing is left.
    let (lease_a, lease_b) = (lease("node-a", until), lease("node-b", until));
    loop {
        let (a, b) = tokio::join!(
            first.claim_due_sources(now, &lease_a, 3),
            second.claim_due_sources(now, &lease_b, 3),
        );
        let (a, b) = (a.expect("claim a"), b.expect("claim b"));
        assert!(a.len() <= 3 && b.len() <= 3, "{} and {}", a.len(), b.len());
        if a.is_empty() && b.is_empty() {
            break;
        }
        claimed.extend(a.into_iter().map(|s| (s.name, "node-a".to_string())));
        claimed.extend(b.into_iter().map(|s| (s.name, "node-b".to_string())));
    }
    let mut names: Vec<&str> = claimed.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    let total = names.len();
    names.dedup();
    assert_eq!(
        names.len(),
        total,
        "a source was claimed twice: {claimed:?}"
    );
    assert_eq!(total, 40, "every due source is claimed once");
    // Claiming does not move the next due time: that happens when the poll finishes.
    assert!(
        first
            .sources()
            .await
            .expect("sources")
            .iter()
            .all(|s| s.next_poll_at == Some(now))
    );
}

async fn claims_take_the_earliest_due_up_to_the_limit(db: Database) {
    let now = at(12, 0);
    let store = db.open().await;
    many_sources(&store, 10, at(11, 0)).await;
    let sources = store.sources().await.expect("sources");
    // s09 is the most overdue, s08 next; s07 is not due yet.
    store
        .set_next_poll(sources[9].id, Some(at(10, 0)))
        .await
        .expect("reschedule");
    store
        .set_next_poll(sources[8].id, Some(at(10, 30)))
        .await
        .expect("reschedule");
    store
        .set_next_poll(sources[7].id, Some(at(13, 0)))
        .await
        .expect("reschedule");
    let until = now + Duration::seconds(60);
    let claimed = store
        .claim_due_sources(now, &lease("node-a", until), 3)
        .await
        .expect("claim");
    let names: Vec<&str> = claimed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["s09", "s08", "s00"]);
    let rest = store
        .claim_due_sources(now, &lease("node-a", until), 100)
        .await
        .expect("claim the rest");
    assert_eq!(rest.len(), 6, "s07 is not due: {rest:?}");
    assert!(
        store
            .claim_due_sources(now, &lease("node-b", until), 100)
            .await
            .expect("claim again")
            .is_empty()
    );
    // Everything due is leased: the next claimable time is when a lease runs out, unless
    // s07 falls due before.
    assert_eq!(store.next_poll_at().await.expect("next"), Some(until));
}

async fn an_expired_lease_is_taken_over_by_another_node(db: Database) {
    let now = at(12, 0);
    let store = db.open().await;
    many_sources(&store, 1, now).await;
    let until = now + Duration::seconds(60);
    let claimed = store
        .claim_due_sources(now, &lease("dies", until), 5)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let other = db.open().await;
    // While the lease holds, nobody else gets the source.
    let halfway = now + Duration::seconds(30);
    assert!(
        other
            .claim_due_sources(
                halfway,
                &lease("survivor", halfway + Duration::seconds(60)),
                5
            )
            .await
            .expect("claim while leased")
            .is_empty()
    );
    // The heartbeat of a live node extends its lease; "dies" sends none, so it runs out.
    let renewed = other
        .renew_leases(
            &lease("survivor", halfway + Duration::seconds(60)),
            vec![claimed[0].id],
            halfway,
        )
        .await
        .expect("renew");
    assert_eq!(renewed, 0, "a node renews only its own leases");
    let taken = other
        .claim_due_sources(until, &lease("survivor", until + Duration::seconds(60)), 5)
        .await
        .expect("take over");
    assert_eq!(taken.len(), 1, "the expired lease is taken over");
    assert_eq!(taken[0].id, claimed[0].id);
    // The node that took it over renews it; the dead one cannot claim it back.
    let later = until + Duration::seconds(50);
    assert_eq!(
        other
            .renew_leases(
                &lease("survivor", later + Duration::seconds(60)),
                vec![taken[0].id],
                later,
            )
            .await
            .expect("renew"),
        1
    );
    let after_first_lease = until + Duration::seconds(70);
    assert!(
        store
            .claim_due_sources(
                after_first_lease,
                &lease("dies", after_first_lease + Duration::seconds(60)),
                5
            )
            .await
            .expect("claim while renewed")
            .is_empty()
    );
}

async fn the_schedule_and_backoff_survive_in_the_database(db: Database) {
    let now = at(12, 0);
    let store = db.open().await;
    many_sources(&store, 2, now).await;
    let claimed = store
        .claim_due_sources(now, &lease("node-a", now + Duration::seconds(60)), 5)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    let backed_off = at(12, 40);
    store
        .finish_poll(PollRecord {
            source_id: claimed[0].id,
            lease_node: claimed[0].lease_node.clone(),
            polled_at: now,
            next_poll_at: Some(backed_off),
            outcome: PollOutcome::Failure {
                error: "connection refused".into(),
            },
            poll_interval: None,
            found_new: false,
        })
        .await
        .expect("finish poll");
    // A clean shutdown gives up the lease of the poll it abandoned.
    store
        .release_leases("node-a", now + Duration::seconds(5))
        .await
        .expect("release");
    drop(store);

    // Another node, another connection: the state is in the database.
    let other = db.open().await;
    let sources = other.sources().await.expect("sources");
    assert_eq!(sources[0].error_count, 1);
    assert_eq!(sources[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(sources[0].next_poll_at, Some(backed_off));
    assert_eq!(sources[1].next_poll_at, Some(now), "still due");
    let soon = now + Duration::seconds(10);
    let retaken = other
        .claim_due_sources(soon, &lease("node-b", at(13, 0)), 5)
        .await
        .expect("claim");
    assert_eq!(
        retaken.iter().map(|s| s.id).collect::<Vec<_>>(),
        [claimed[1].id],
        "the failed source waits for its backoff, the released one is due at once"
    );
    assert_eq!(
        other
            .claim_due_sources(
                backed_off,
                &lease("node-b", backed_off + Duration::seconds(60)),
                5
            )
            .await
            .expect("claim after backoff")
            .iter()
            .map(|s| (s.id, s.error_count))
            .collect::<Vec<_>>(),
        [(claimed[0].id, 1)]
    );
}

async fn a_live_node_of_another_version_is_refused_before_anything_is_written(db: Database) {
    let now = Utc::now();
    let store = db.open().await;
    let lease_for = std::time::Duration::from_secs(60);
    let older = NodeRegistration {
        name: "old-node".into(),
        version: "0.0.1".into(),
        started_at: now - Duration::seconds(30),
    };
    store
        .register_node(&older, lease_for)
        .await
        .expect("register");
    let nodes = store.nodes().await.expect("nodes");
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].version, "0.0.1");
    assert!(nodes[0].is_live(now, lease_for));

    // A node of this version, started while the old one runs: refused, naming it.
    let config = Config::parse(
        &format!(
            "[archive]\ndatabase = {:?}\n[cluster]\nnode = \"new-node\"\nlease = \"60s\"\n\
             [[source]]\nname = \"a\"\nurl = \"https://a.example/feed\"\n",
            db.0.to_string_lossy()
        ),
        Path::new("test.toml"),
    )
    .expect("config");
    let error = App::open(config.clone(), Clock::System)
        .await
        .expect_err("a live node of another version");
    let message = error.to_string();
    assert!(
        message.contains("old-node") && message.contains("0.0.1"),
        "{message}"
    );
    assert!(matches!(
        error,
        newsvault::app::AppError::Store(StoreError::Incompatible { .. })
    ));
    assert!(
        store.sources().await.expect("sources").is_empty(),
        "nothing written"
    );
    let newer = NodeRegistration {
        name: "new-node".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at: now,
    };
    assert!(store.register_node(&newer, lease_for).await.is_err());
    assert_eq!(
        store.nodes().await.expect("nodes").len(),
        1,
        "nothing written"
    );

    // Once the old node has stopped cleanly, the new version starts.
    store
        .release_leases("old-node", now)
        .await
        .expect("stop old node");
    let app = App::open(config, Clock::System).await.expect("open");
    app.register_node().await.expect("register the new node");
    let nodes = app.store().nodes().await.expect("nodes");
    assert_eq!(
        nodes
            .iter()
            .map(|n| (n.name.as_str(), n.stopped_at.is_some()))
            .collect::<Vec<_>>(),
        [("new-node", false), ("old-node", true)]
    );
    assert_eq!(nodes[0].schema_version, app.store().schema_version());
    assert_eq!(app.store().sources().await.expect("sources").len(), 1);
}

/// Two daemons given one `[cluster] node` name would renew, and on stopping give up, each
/// other's leases: the second is refused while the first runs. A clean stop frees the
/// name at once; a node that died frees it once silent for a lease.
async fn a_second_daemon_under_a_running_nodes_name_is_refused(db: Database) {
    // Whole milliseconds, as the registry stores times.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
    let store = db.open().await;
    let lease_for = std::time::Duration::from_secs(60);
    let node = |name: &str, started_at| NodeRegistration {
        name: name.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        started_at,
    };
    let first = node("crawler", now - Duration::seconds(10));
    store.register_node(&first, lease_for).await.expect("first");
    let error = store
        .register_node(&node("crawler", now), lease_for)
        .await
        .expect_err("the name is taken");
    assert!(matches!(error, StoreError::Incompatible { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("\"crawler\" is already running"),
        "{message}"
    );
    let nodes = store.nodes().await.expect("nodes");
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].started_at, first.started_at, "nothing written");

    // Stopped cleanly: the name is free.
    store
        .release_leases("crawler", now)
        .await
        .expect("stop the first");
    store
        .register_node(&node("crawler", now), lease_for)
        .await
        .expect("after a clean stop");

    // Died ten minutes ago (never stopped, silent for more than a lease): free too.
    store
        .register_node(&node("died", now - Duration::minutes(10)), lease_for)
        .await
        .expect("register the one that dies");
    store
        .register_node(&node("died", now), lease_for)
        .await
        .expect("after its lease ran out");
    let live: Vec<String> = store
        .nodes()
        .await
        .expect("nodes")
        .into_iter()
        .filter(|n| n.is_live(now, lease_for))
        .map(|n| n.name)
        .collect();
    assert_eq!(live, ["crawler", "died"]);
}

fn finished(source: &newsvault::store::SourceState, next: DateTime<Utc>) -> PollRecord {
    PollRecord {
        source_id: source.id,
        lease_node: source.lease_node.clone(),
        polled_at: next - Duration::minutes(30),
        next_poll_at: Some(next),
        outcome: PollOutcome::Success {
            etag: None,
            last_modified: None,
            body_sha256: Some(format!("polled for {next}")),
        },
        poll_interval: None,
        found_new: true,
    }
}

async fn a_poll_that_lost_its_lease_leaves_the_new_holder_alone(db: Database) {
    let now = at(12, 0);
    let (node_a, node_b) = (db.open().await, db.open().await);
    many_sources(&node_a, 1, now).await;
    let until = now + Duration::seconds(60);
    let held_by_a = node_a
        .claim_due_sources(now, &lease("node-a", until), 5)
        .await
        .expect("claim");
    assert_eq!(held_by_a[0].lease_node.as_deref(), Some("node-a"));
    // Node A's poll hangs past its lease (its heartbeat cannot reach the archive); node B
    // takes the source over.
    let held_by_b = node_b
        .claim_due_sources(until, &lease("node-b", until + Duration::seconds(60)), 5)
        .await
        .expect("take over");
    assert_eq!(held_by_b.len(), 1);
    // A finishes late: nothing of its poll reaches the schedule, and B keeps its lease.
    assert!(
        !node_a
            .finish_poll(finished(&held_by_a[0], at(14, 0)))
            .await
            .expect("finish late")
    );
    assert_eq!(
        node_a
            .renew_leases(
                &lease("node-a", until + Duration::seconds(90)),
                vec![held_by_a[0].id],
                until + Duration::seconds(30),
            )
            .await
            .expect("renew"),
        0
    );
    node_a
        .release_lease("node-a", held_by_a[0].id)
        .await
        .expect("release one");
    node_a
        .release_leases("node-a", until + Duration::seconds(30))
        .await
        .expect("release all");
    // Nor does a poll without a lease (a one-shot poll of an older version).
    let mut unleased = finished(&held_by_a[0], at(14, 0));
    unleased.lease_node = None;
    assert!(!node_a.finish_poll(unleased).await.expect("finish unleased"));
    let source = &node_b.sources().await.expect("sources")[0];
    assert_eq!(source.lease_node.as_deref(), Some("node-b"));
    assert_eq!(source.lease_until, Some(until + Duration::seconds(60)));
    assert_eq!(
        source.next_poll_at,
        Some(now),
        "the schedule is still B's to set"
    );
    assert_eq!(source.last_polled_at, None);
    // Nobody else may claim it while B's lease holds.
    assert!(
        node_a
            .claim_due_sources(
                until + Duration::seconds(30),
                &lease("node-a", at(13, 0)),
                5
            )
            .await
            .expect("claim while B holds it")
            .is_empty()
    );
    // B's poll is recorded, and A finishing once more afterwards changes nothing.
    assert!(
        node_b
            .finish_poll(finished(&held_by_b[0], at(12, 30)))
            .await
            .expect("finish")
    );
    assert!(
        !node_a
            .finish_poll(finished(&held_by_a[0], at(14, 0)))
            .await
            .expect("finish after the holder")
    );
    let source = &node_a.sources().await.expect("sources")[0];
    assert_eq!(
        (source.next_poll_at, source.lease_node.as_deref()),
        (Some(at(12, 30)), None)
    );
    assert_eq!(
        source.last_body_sha256.as_deref(),
        Some(format!("polled for {}", at(12, 30)).as_str())
    );
}

async fn two_nodes_never_revisit_the_same_article(db: Database) {
    let (node_a, node_b) = (db.open().await, db.open().await);
    for i in 0..30 {
        let archived = node_a
            .archive(new_article(
                &format!("https://news.example/story-{i}"),
                &format!("Story {i}"),
                &format!(
                    "Story number {i} was reported on a quiet afternoon {}.",
                    i * 7919
                ),
                "en",
            ))
            .await
            .expect("archive");
        assert!(matches!(archived, Archived::New(_)), "{archived:?}");
    }
    // All 30 are due at 13:00 (an hour after they were archived); both nodes claim
    // batches at once until nothing is left.
    let due = at(13, 0);
    let hold = at(13, 30);
    let mut claimed = Vec::new();
    // 30 articles in batches of 4: a claim that held nothing would hand the same ones out
    // round after round.
    for round in 0.. {
        assert!(
            round < 30,
            "still claiming after {round} rounds: {claimed:?}"
        );
        let (a, b) = tokio::join!(
            node_a.claim_due_revisits(due, hold, None, 4),
            node_b.claim_due_revisits(due, hold, None, 4),
        );
        let (a, b) = (a.expect("claim a"), b.expect("claim b"));
        assert!(a.len() <= 4 && b.len() <= 4);
        if a.is_empty() && b.is_empty() {
            break;
        }
        claimed.extend(a.iter().chain(&b).map(|t| t.article_id));
    }
    let total = claimed.len();
    claimed.sort_unstable();
    claimed.dedup();
    assert_eq!(claimed.len(), total, "an article was claimed twice");
    assert_eq!(total, 30);
    // The claimed articles wait for the hold; one revisited is scheduled by the rules.
    assert_eq!(node_a.next_revisit_at().await.expect("next"), Some(hold));
    node_b
        .record_revisit(claimed[0], due, RevisitOutcome::NotModified)
        .await
        .expect("revisit");
    let article = node_a
        .article(claimed[0])
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(article.next_revisit_at, Some(at(18, 0)));
    // The node that claimed the rest died: they are due again when the hold runs out.
    assert!(
        node_b
            .claim_due_revisits(hold - Duration::seconds(1), at(14, 0), None, 100)
            .await
            .expect("claim during the hold")
            .is_empty()
    );
    let retaken = node_b
        .claim_due_revisits(hold, at(14, 0), None, 100)
        .await
        .expect("claim after the hold");
    assert_eq!(retaken.len(), 29);
    assert!(retaken.iter().all(|t| t.article_id != claimed[0]));
    // A node stopped before revisiting gives its batch back, due at once; an article it
    // no longer holds (revisited meanwhile) keeps its schedule.
    let given_back: Vec<i64> = retaken.iter().take(5).map(|t| t.article_id).collect();
    node_b
        .release_revisits(
            given_back.iter().copied().chain([claimed[0]]).collect(),
            at(14, 0),
            hold,
        )
        .await
        .expect("release");
    let again = node_a
        .claim_due_revisits(hold, at(15, 0), None, 100)
        .await
        .expect("claim the given back");
    let mut again: Vec<i64> = again.iter().map(|t| t.article_id).collect();
    again.sort_unstable();
    let mut expected = given_back;
    expected.sort_unstable();
    assert_eq!(again, expected);
    let article = node_a
        .article(claimed[0])
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(article.next_revisit_at, Some(at(18, 0)));
}

async fn a_one_shot_poll_skips_a_source_another_node_is_polling(db: Database) {
    let web = TestServer::start().await;
    web.route("/feed.xml", Reply::ok("application/rss+xml", rss(&[])));
    let config = format!(
        "[archive]\ndatabase = {:?}\n[http]\ntimeout = \"5s\"\nper_host_delay = \"0s\"\n\
         [[source]]\nname = \"busy\"\nurl = \"{}\"\nkind = \"feed\"\n",
        db.0.display().to_string(),
        web.url("/feed.xml")
    );
    let config = Config::parse(&config, Path::new("test.toml")).expect("config");
    let app = App::open(config, Clock::System).await.expect("open app");
    let daemon = db.open().await;
    let now = Utc::now();
    let held = daemon
        .claim_due_sources(now, &lease("node-b", now + Duration::seconds(600)), 5)
        .await
        .expect("claim");
    assert_eq!(held.len(), 1);
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let holder = summaries[0].leased_to.as_deref().unwrap_or_default();
    assert!(holder.contains("node-b"), "{summaries:?}");
    assert!(
        summaries[0].to_string().contains("not polled"),
        "{}",
        summaries[0]
    );
    assert!(web.requests("/feed.xml").is_empty(), "the feed was fetched");
    assert_eq!(
        daemon.sources().await.expect("sources")[0]
            .lease_node
            .as_deref(),
        Some("node-b"),
        "the one-shot poll left the daemon's lease alone"
    );

    // Once the daemon gives the source up, the one-shot poll takes it, polls it and gives
    // its own lease up again.
    daemon
        .release_lease("node-b", held[0].id)
        .await
        .expect("release");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll again");
    assert_eq!(summaries[0].leased_to, None, "{summaries:?}");
    assert_eq!(summaries[0].failure, None, "{summaries:?}");
    assert_eq!(web.requests("/feed.xml").len(), 1);
    let source = &daemon.sources().await.expect("sources")[0];
    assert_eq!(source.lease_node, None);
    assert!(source.last_polled_at.is_some(), "the poll was recorded");
}

fn node_config(db: &Database, node: &str, extra: &str, sources: &[&str]) -> Config {
    let text = node_config_text(db, node, extra, sources);
    Config::parse(&text, Path::new("test.toml")).expect("config")
}

fn node_config_text(db: &Database, node: &str, extra: &str, sources: &[&str]) -> String {
    let mut text = format!(
        "[archive]\ndatabase = {:?}\n[cluster]\nnode = {node:?}\n{extra}\n",
        db.0.display().to_string()
    );
    for name in sources {
        text.push_str(&format!(
            "[[source]]\nname = {name:?}\nurl = \"https://{name}.example/feed\"\nkind = \"feed\"\n"
        ));
    }
    text
}

async fn a_node_with_another_source_list_is_refused_while_others_run(db: Database) {
    // Alone, a node's list is the archive's.
    let first = App::open(
        node_config(&db, "node-a", "", &["alpha", "beta"]),
        Clock::System,
    )
    .await
    .expect("the first node");
    first.register_node().await.expect("register");
    let enabled = |sources: Vec<newsvault::store::SourceState>| {
        sources
            .into_iter()
            .filter(|s| s.enabled)
            .map(|s| s.name)
            .collect::<Vec<_>>()
    };

    // A second node listing only alpha would disable beta under node A: refused, and
    // nothing is written.
    let refused = App::open(node_config(&db, "node-b", "", &["alpha"]), Clock::System)
        .await
        .expect_err("a different list while node-a runs");
    let message = refused.to_string();
    assert!(message.contains("disables \"beta\""), "{message}");
    assert!(message.contains("node-a"), "{message}");
    assert!(message.contains("owns_sources"), "{message}");
    let store = db.open().await;
    assert_eq!(
        enabled(store.sources().await.expect("sources")),
        ["alpha", "beta"]
    );
    // A node with the same list joins.
    App::open(
        node_config(&db, "node-c", "", &["alpha", "beta"]),
        Clock::System,
    )
    .await
    .expect("the same list");
    // The node that owns the list may change it.
    App::open(
        node_config(&db, "node-b", "owns_sources = true", &["alpha", "gamma"]),
        Clock::System,
    )
    .await
    .expect("the owner");
    assert_eq!(
        enabled(store.sources().await.expect("sources")),
        ["alpha", "gamma"]
    );
    // Once node A has stopped, nobody else runs: any list goes.
    store
        .release_leases("node-a", Utc::now())
        .await
        .expect("stop node-a");
    App::open(node_config(&db, "node-d", "", &["delta"]), Clock::System)
        .await
        .expect("alone again");
    assert_eq!(enabled(store.sources().await.expect("sources")), ["delta"]);

    // A reload is held to the same rule: with node-g running, node-e's edited list is
    // refused and the archive keeps its sources.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("newsvault.toml");
    std::fs::write(&file, node_config_text(&db, "node-e", "", &["delta"])).expect("write");
    let config = Config::load(&file).expect("load");
    let node_e = App::open(config.clone(), Clock::System)
        .await
        .expect("node-e");
    node_e.register_node().await.expect("register node-e");
    App::open(node_config(&db, "node-g", "", &["delta"]), Clock::System)
        .await
        .expect("node-g")
        .register_node()
        .await
        .expect("register node-g");
    std::fs::write(&file, node_config_text(&db, "node-e", "", &["epsilon"])).expect("edit");
    let refused = node_e
        .reload(&config, Utc::now())
        .await
        .expect_err("reload while node-g runs");
    assert!(refused.to_string().contains("node-g"), "{refused}");
    assert_eq!(enabled(store.sources().await.expect("sources")), ["delta"]);
}

/// SQLite's schema version 9 makes the full-text index again with an index of
/// 3-character prefixes: the articles of an older archive are found after the upgrade,
/// by words and by prefixes, and articles archived after it too.
#[tokio::test]
async fn the_full_text_index_rebuilt_with_prefixes_finds_older_articles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database(dir.path().join("archive.sqlite3"));
    db.execute(&format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\nPRAGMA user_version = 8;
         INSERT INTO articles (id, canonical_url, title, first_seen_at, text, extractor)
         VALUES (1, 'https://news.example/one', 'Rent', '2025-07-01T00:00:00.000Z',
                 'Rents rose in the capital this year.', 'x'),
                (2, 'https://news.example/two', 'Renaissance', '2025-07-01T00:00:00.000Z',
                 'The renovation of the old theatre began.', 'x'),
                (3, 'https://news.example/three', 'আমের বাজার', '2025-07-01T00:00:00.000Z',
                 'রাজশাহীর আমের বাজারে দাম বেড়েছে।', 'x');",
        include_str!("../src/store/migrations/0001_initial.sql"),
        include_str!("../src/store/migrations/0002_views.sql"),
        include_str!("../src/store/migrations/0003_adaptive_polling.sql"),
        include_str!("../src/store/migrations/0004_stories.sql"),
        include_str!("../src/store/migrations/0005_versions.sql"),
        include_str!("../src/store/migrations/0006_zstd_dictionaries.sql"),
        include_str!("../src/store/migrations/0007_leases.sql"),
        include_str!("../src/store/migrations/0008_version_text_once.sql"),
    ))
    .await;
    let store = db.open().await;
    assert_eq!(store.schema_version(), newsvault::store::SCHEMA_VERSION);
    let index = db
        .number_and_text("SELECT 0, sql FROM sqlite_master WHERE name = 'articles_fts'")
        .await;
    assert!(
        index[0]
            .1
            .as_deref()
            .is_some_and(|sql| sql.contains("prefix = '3'")),
        "{index:?}"
    );
    let found = |expression: &str| {
        let store = store.clone();
        let request = SearchRequest {
            expression: expression.into(),
            filter: ArticleFilter::default(),
            limit: 10,
            highlight: ("[".into(), "]".into()),
        };
        async move {
            let mut ids: Vec<i64> = store
                .search(request)
                .await
                .expect("search")
                .iter()
                .map(|hit| hit.id)
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(found("ren*").await, [1, 2]);
    assert_eq!(found("reno*").await, [2]);
    assert_eq!(found("renovation").await, [2]);
    assert_eq!(found("আমের").await, [3]);
    assert_eq!(found("বাজ*").await, [3]);

    let archived = store
        .archive(new_article(
            "https://news.example/four",
            "Rental market",
            "Rental prices in the port city held steady this spring.",
            "en",
        ))
        .await
        .expect("archive");
    let Archived::New(four) = archived else {
        panic!("{archived:?}");
    };
    assert_eq!(found("ren*").await, [1, 2, four]);
}
