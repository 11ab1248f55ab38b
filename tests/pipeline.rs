//! The archive pipeline end to end, against a local HTTP server serving real feeds and
//! pages: what lands in the archive, conditional polling, deduplication across URLs and
//! feeds, and survival of every kind of bad input. HTTP runs on real time (reqwest does
//! not work under paused time), but nothing here sleeps.

mod common;

use std::io::Write;
use std::path::Path;

use common::{Reply, TestServer, config_text, count, fixture, open_db, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::pipeline::PollSummary;
use newsvault::shutdown::Shutdown;

const PAGES: &[&str] = &[
    "bss-seed-lavrov-kim.html",
    "bss-en-homestead-gardening-rajshahi.html",
    "ukbdnews-mp-brother-killed-kushtia.html",
    "dakshinbanga-science-fair.html",
    "meghnaprotidin-book-fair.html",
    "nabadiganta-mango-market.html",
];

async fn open_app(dir: &Path, sources: &[(&str, String)]) -> App {
    let config = Config::parse(&config_text(dir, sources), Path::new("test.toml"))
        .expect("test config is valid");
    App::open(config, Clock::System).await.expect("open app")
}

async fn poll(app: &App) -> Vec<PollSummary> {
    app.poll(&[], &Shutdown::never()).await.expect("poll")
}

fn serve_pages(server: &TestServer) {
    for page in PAGES {
        server.route(
            &format!("/pages/{page}"),
            Reply::ok("text/html", fixture(&format!("pages/{page}"))),
        );
    }
}

fn page_feed(server: &TestServer) -> Vec<u8> {
    let items: Vec<(Option<String>, String)> = PAGES
        .iter()
        .enumerate()
        .map(|(i, page)| {
            (
                Some(format!("guid-{i}")),
                server.url(&format!("/pages/{page}?utm_source=rss")),
            )
        })
        .collect();
    let borrowed: Vec<(Option<&str>, &str)> = items
        .iter()
        .map(|(g, l)| (g.as_deref(), l.as_str()))
        .collect();
    rss(&borrowed)
}

#[tokio::test]
async fn archives_real_pages_with_raw_html_text_and_timestamps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_pages(&server);
    server.route(
        "/feed.xml",
        Reply::Conditional {
            etag: "\"v1\"".into(),
            last_modified: "Sat, 12 Jul 2025 12:00:00 GMT".into(),
            content_type: "application/rss+xml".into(),
            body: page_feed(&server),
        },
    );
    let app = open_app(dir.path(), &[("bd", server.url("/feed.xml"))]).await;

    let summaries = poll(&app).await;
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].failure, None);
    assert_eq!(
        (summaries[0].items, summaries[0].new, summaries[0].errors),
        (6, 6, 0)
    );

    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 6);
    // Every capture is the page byte for byte, and its hash says so.
    let mut stmt = db
        .prepare("SELECT url, body_zstd, body_size, body_sha256, charset FROM captures")
        .expect("query captures");
    let rows: Vec<(String, Vec<u8>, i64, String, String)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("captures")
        .collect::<Result<_, _>>()
        .expect("captures");
    assert_eq!(rows.len(), 6);
    for (url, compressed, size, sha, charset) in rows {
        let page = url
            .rsplit('/')
            .next()
            .and_then(|p| p.split('?').next())
            .expect("page name");
        let original = fixture(&format!("pages/{page}"));
        let body = zstd::decode_all(compressed.as_slice()).expect("capture decompresses");
        assert!(
            body == original,
            "capture of {page} differs from the served bytes"
        );
        assert_eq!(size as usize, original.len());
        assert_eq!(sha, newsvault::canon::body_hash(&original));
        assert_eq!(charset, "UTF-8", "{page}");
    }
    // Timestamps are RFC 3339 UTC text that SQLite's date functions read.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles WHERE first_seen_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*Z' AND date(first_seen_at) IS NOT NULL"
        ),
        6
    );
    // The page's own canonical URL identifies the article; the feed's link is kept too.
    let (text, canonical): (String, String) = db
        .query_row(
            "SELECT a.text, a.canonical_url FROM articles a JOIN article_urls u ON u.article_id = a.id
             WHERE u.url = ?1",
            [server.url("/pages/bss-seed-lavrov-kim.html")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("seed article reachable by its feed URL");
    assert_eq!(
        canonical,
        "https://www.bssnews.net/bangla/international/491317"
    );
    assert!(text.contains("লাভরভ"), "seed text: {text}");
    // Bengali words are searchable whole.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'লাভরভ*'"
        ),
        1
    );
    // Every request is in the log: robots.txt (a 404 here, which is no failure), the
    // feed and six pages.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fetches WHERE purpose != 'robots'"
        ),
        7
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM fetches WHERE purpose = 'robots'"),
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM fetches WHERE error IS NOT NULL"),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fetches WHERE status = 200 AND bytes > 0 AND purpose != 'robots'"
        ),
        7
    );
}

#[tokio::test]
async fn second_poll_is_conditional_and_stores_nothing_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_pages(&server);
    server.route(
        "/feed.xml",
        Reply::Conditional {
            etag: "\"v1\"".into(),
            last_modified: "Sat, 12 Jul 2025 12:00:00 GMT".into(),
            content_type: "application/rss+xml".into(),
            body: page_feed(&server),
        },
    );
    let app = open_app(dir.path(), &[("bd", server.url("/feed.xml"))]).await;
    assert_eq!(poll(&app).await[0].new, 6);

    let second = poll(&app).await;
    assert!(second[0].not_modified, "{:?}", second[0]);
    assert_eq!(second[0].new, 0);
    let feed_requests = server.requests("/feed.xml");
    assert_eq!(feed_requests.len(), 2);
    assert_eq!(feed_requests[0].headers.get("if-none-match"), None);
    assert_eq!(
        feed_requests[1]
            .headers
            .get("if-none-match")
            .map(String::as_str),
        Some("\"v1\"")
    );
    assert_eq!(
        feed_requests[1]
            .headers
            .get("if-modified-since")
            .map(String::as_str),
        Some("Sat, 12 Jul 2025 12:00:00 GMT")
    );
    // A server without validators: the feed is fetched in full, every item is known.
    server.route(
        "/feed.xml",
        Reply::ok("application/rss+xml", page_feed(&server)),
    );
    let third = poll(&app).await;
    assert_eq!(
        (third[0].new, third[0].seen, third[0].not_modified),
        (0, 6, false)
    );
    for page in PAGES {
        assert_eq!(
            server
                .requests(&format!("/pages/{page}?utm_source=rss"))
                .len(),
            1,
            "{page}"
        );
    }
    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 6);
    assert_eq!(count(&db, "SELECT count(*) FROM captures"), 6);
}

#[tokio::test]
async fn one_article_through_many_urls_and_feeds_is_one_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let seed = fixture("pages/bss-seed-lavrov-kim.html");
    server.route(
        "/story",
        Reply::ok("text/html; charset=utf-8", seed.clone()),
    );
    // The same bytes under another address: caught by the text fingerprint.
    server.route("/copy", Reply::ok("text/html; charset=utf-8", seed.clone()));
    // A different rendering (an AMP page) that names the article's canonical URL.
    server.route(
        "/amp",
        Reply::ok(
            "text/html",
            "<html><head><title>AMP</title><link rel=\"canonical\" href=\"https://www.bssnews.net/bangla/international/491317\"></head><body><p>short amp body</p></body></html>",
        ),
    );
    let story = server.url("/story");
    server.route(
        "/a.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&[(Some("a-1"), &format!("{story}?utm_source=a&fbclid=x"))]),
        ),
    );
    server.route(
        "/b.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&[
                (Some("b-1"), &format!("{story}#comments")),
                (Some("b-2"), &server.url("/copy")),
                (None, &server.url("/amp")),
            ]),
        ),
    );
    let app = open_app(
        dir.path(),
        &[("a", server.url("/a.xml")), ("b", server.url("/b.xml"))],
    )
    .await;
    // Poll the feeds one after the other so the outcome per feed is fixed.
    let a = app
        .poll(&["a".into()], &Shutdown::never())
        .await
        .expect("poll a");
    let b = app
        .poll(&["b".into()], &Shutdown::never())
        .await
        .expect("poll b");
    assert_eq!((a[0].new, a[0].duplicates), (1, 0));
    assert_eq!((b[0].new, b[0].duplicates, b[0].errors), (0, 3, 0));
    // The known URL was not fetched again; the other two had to be, to be recognised.
    assert_eq!(server.requests("/story").len(), 0);
    assert_eq!(server.requests("/story?utm_source=a&fbclid=x").len(), 1);

    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM captures"), 1);
    let urls: Vec<String> = db
        .prepare("SELECT url FROM article_urls ORDER BY url")
        .expect("query")
        .query_map([], |r| r.get(0))
        .expect("urls")
        .collect::<Result<_, _>>()
        .expect("urls");
    for expected in [
        story.clone(),
        server.url("/copy"),
        server.url("/amp"),
        "https://www.bssnews.net/bangla/international/491317".to_string(),
    ] {
        assert!(urls.contains(&expected), "{expected} missing from {urls:?}");
    }
    // Each feed item points at the one article, so the next poll fetches nothing.
    assert_eq!(
        count(&db, "SELECT count(DISTINCT article_id) FROM feed_items"),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM feed_items"), 4);
    let again = poll(&app).await;
    assert!(again.iter().all(|s| s.new == 0 && s.duplicates == 0));
    assert_eq!(again.iter().map(|s| s.seen).sum::<usize>(), 4);
}

fn gzip_bomb() -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        encoder.write_all(&zeros).expect("compress");
    }
    encoder.finish().expect("compress")
}

#[tokio::test]
async fn bad_input_is_survived_recorded_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_pages(&server);
    let seed_url = server.url("/pages/bss-seed-lavrov-kim.html");
    server.route(
        "/good.xml",
        Reply::ok("application/rss+xml", rss(&[(Some("s"), &seed_url)])),
    );
    let bad: Vec<(&str, Reply, &str)> = vec![
        (
            "/not-xml",
            Reply::ok("application/rss+xml", "this is { not a feed"),
            "not a feed",
        ),
        (
            "/truncated",
            Reply::Truncated {
                declared: 4000,
                body: b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item><title>cut"
                    .to_vec(),
            },
            "feed",
        ),
        (
            "/html",
            Reply::ok(
                "text/html",
                "<!DOCTYPE html><html><body>Welcome</body></html>",
            ),
            "HTML page",
        ),
        (
            "/s500",
            Reply::status(500, &[]),
            "HTTP 500 Internal Server Error",
        ),
        ("/reset", Reply::Reset, "feed"),
        (
            "/loop",
            Reply::status(302, &[("Location", "/loop")]),
            "too many redirects",
        ),
        (
            "/huge",
            Reply::Endless {
                total: 64 << 20,
                chunk: vec![b' '; 64 * 1024],
                headers: vec![("Content-Type".into(), "application/rss+xml".into())],
            },
            "larger than",
        ),
        (
            "/bomb",
            Reply::Full {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "application/rss+xml".into()),
                    ("Content-Encoding".into(), "gzip".into()),
                ],
                body: gzip_bomb(),
            },
            "larger than",
        ),
    ];
    // A feed that is fine but whose article is over the body cap.
    server.route(
        "/big-page",
        Reply::Endless {
            total: 64 << 20,
            chunk: b"<p>word </p>".repeat(1000),
            headers: vec![("Content-Type".into(), "text/html".into())],
        },
    );
    server.route(
        "/big.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&[(Some("big"), &server.url("/big-page"))]),
        ),
    );

    // A host that asks us to go away: on its own server, since the wait applies to the
    // whole host.
    let busy = TestServer::start().await;
    busy.route("/s429", Reply::status(429, &[("Retry-After", "3600")]));

    let mut sources = vec![
        ("good", server.url("/good.xml")),
        ("big", server.url("/big.xml")),
        ("s429", busy.url("/s429")),
    ];
    for (path, reply, _) in &bad {
        server.route(path, reply.clone());
        sources.push((&path[1..], server.url(path)));
    }
    let app = open_app(dir.path(), &sources).await;

    let summaries = poll(&app).await;
    let by_name = |name: &str| {
        summaries
            .iter()
            .find(|s| s.source == name)
            .unwrap_or_else(|| panic!("no summary for {name}"))
    };
    assert_eq!(by_name("good").new, 1);
    let big = by_name("big");
    assert_eq!((big.failure.as_deref(), big.new, big.errors), (None, 0, 1));
    for (path, _, expected) in &bad {
        let summary = by_name(&path[1..]);
        let failure = summary
            .failure
            .as_deref()
            .unwrap_or_else(|| panic!("{path} did not fail"));
        assert!(
            failure.contains(expected),
            "{path}: {failure:?} lacks {expected:?}"
        );
        assert!(
            failure.contains(&server.url(path)),
            "{path}: {failure:?} does not name the URL"
        );
    }

    let s429 = by_name("s429").failure.as_deref().expect("429 fails");
    assert!(
        s429.contains("HTTP 429 Too Many Requests (Retry-After: 3600)"),
        "{s429}"
    );

    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 1);
    // Each failure is in the request log and on its source.
    assert_eq!(
        count(&db, "SELECT count(*) FROM fetches WHERE error IS NOT NULL"),
        bad.len() as i64 + 2
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sources WHERE error_count = 1 AND last_error IS NOT NULL"
        ),
        bad.len() as i64 + 1
    );
    // The source is not polled again before the server said it may be.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sources WHERE name = 's429' AND next_poll_at >= strftime('%Y-%m-%dT%H:%M:%fZ', last_polled_at, '+3599 seconds')"
        ),
        1
    );
    // The cut-off bodies were not buffered past the cap (1 MiB in the test config).
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fetches WHERE bytes > 1048576 + 65536"
        ),
        0
    );
    drop(db);

    // Once the article is archived, the bad sources failing again loses nothing.
    let again = poll(&app).await;
    assert_eq!(
        again.iter().filter(|s| s.failure.is_some()).count(),
        bad.len() + 1
    );
    // The rate-limited host is not asked again: the request is refused before it is sent.
    assert_eq!(busy.requests("/s429").len(), 1);
    let refused = again
        .iter()
        .find(|s| s.source == "s429")
        .and_then(|s| s.failure.clone());
    assert!(
        refused.as_deref().is_some_and(|f| f.contains("not sent")),
        "{refused:?}"
    );
    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 1);
    assert_eq!(count(&db, "SELECT count(*) FROM captures"), 1);
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    assert_eq!(
        count(&db, "SELECT max(error_count) FROM sources"),
        2,
        "consecutive failures are counted"
    );
}

#[tokio::test]
async fn legacy_charset_pages_archive_as_correct_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let paragraph = "Городской совет утвердил новый бюджет на следующий год. Депутаты обсуждали расходы на школы, больницы и дороги в течение трёх часов. ";
    let html = format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"><title>Новый бюджет</title></head><body><article><h1>Новый бюджет</h1><p>{}</p><p>{}</p></article></body></html>",
        paragraph.repeat(3),
        paragraph.repeat(2)
    );
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&html);
    // No charset in the header: only the page's own declaration says what it is.
    server.route("/news/1", Reply::ok("text/html", bytes.into_owned()));
    server.route(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&[(Some("1"), &server.url("/news/1"))]),
        ),
    );
    let app = open_app(dir.path(), &[("ru", server.url("/feed.xml"))]).await;
    assert_eq!(poll(&app).await[0].new, 1);

    let db = open_db(dir.path());
    let (title, text, charset, source): (String, String, String, String) = db
        .query_row(
            "SELECT a.title, a.text, c.charset, c.charset_source FROM articles a JOIN captures c ON c.article_id = a.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("article");
    assert_eq!(title, "Новый бюджет");
    assert!(text.contains("Городской совет утвердил"), "{text}");
    assert_eq!(
        (charset.as_str(), source.as_str()),
        ("windows-1251", "meta")
    );
}

#[tokio::test]
async fn a_failing_page_is_retried_without_validators_then_given_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    server.route("/gone", Reply::status(404, &[]));
    server.route(
        "/feed.xml",
        Reply::Conditional {
            etag: "\"v1\"".into(),
            last_modified: "Sat, 12 Jul 2025 12:00:00 GMT".into(),
            content_type: "application/rss+xml".into(),
            body: rss(&[(Some("gone"), &server.url("/gone"))]),
        },
    );
    let app = open_app(dir.path(), &[("s", server.url("/feed.xml"))]).await;
    let max = newsvault::store::MAX_ITEM_ATTEMPTS as usize;
    for attempt in 1..max {
        let summary = &poll(&app).await[0];
        assert_eq!(
            (summary.errors, summary.skipped),
            (1, 0),
            "attempt {attempt}"
        );
    }
    // While an item is failing, the feed is fetched in full: a 304 would hide the item.
    assert!(
        server
            .requests("/feed.xml")
            .iter()
            .all(|r| !r.headers.contains_key("if-none-match"))
    );
    let last = &poll(&app).await[0];
    assert_eq!((last.errors, last.skipped), (0, 1));
    assert_eq!(server.requests("/gone").len(), max);
    // Given up: the page is not requested again, and the feed is polled conditionally.
    let after = &poll(&app).await[0];
    assert!(after.not_modified, "{after:?}");
    assert_eq!(server.requests("/gone").len(), max);
    let db = open_db(dir.path());
    let error: String = db
        .query_row(
            "SELECT last_error FROM feed_items WHERE item_key = 'gone'",
            [],
            |r| r.get(0),
        )
        .expect("item failure recorded");
    assert_eq!(error, "HTTP 404 Not Found");
}

#[tokio::test]
async fn robots_txt_is_obeyed_cached_and_its_outage_respected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    // Our own group overrides the `*` group: /secret is closed to us, /private is not.
    server.route(
        "/robots.txt",
        Reply::ok(
            "text/plain",
            "User-agent: *\nDisallow: /private\n\nUser-agent: newsvault\nDisallow: /secret\n",
        ),
    );
    let seed = fixture("pages/bss-seed-lavrov-kim.html");
    server.route("/private/a", Reply::ok("text/html", seed.clone()));
    server.route("/secret/b", Reply::ok("text/html", seed));
    server.route(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            rss(&[
                (Some("a"), &server.url("/private/a")),
                (Some("b"), &server.url("/secret/b")),
            ]),
        ),
    );
    // A host whose robots.txt is down: nothing else there may be fetched.
    let down = TestServer::start().await;
    down.route("/robots.txt", Reply::status(503, &[]));
    down.route("/feed.xml", Reply::ok("application/rss+xml", rss(&[])));
    let app = open_app(
        dir.path(),
        &[
            ("open", server.url("/feed.xml")),
            ("down", down.url("/feed.xml")),
        ],
    )
    .await;

    let first = poll(&app).await;
    let open = first
        .iter()
        .find(|s| s.source == "open")
        .expect("open polled");
    assert_eq!((open.new, open.errors), (1, 1));
    let down_failure = first
        .iter()
        .find(|s| s.source == "down")
        .and_then(|s| s.failure.clone())
        .expect("down fails");
    assert!(
        down_failure.contains("robots.txt is unavailable"),
        "{down_failure}"
    );
    assert!(down.requests("/feed.xml").is_empty());
    assert!(
        server.requests("/secret/b").is_empty(),
        "a disallowed page was requested"
    );

    poll(&app).await;
    assert!(server.requests("/secret/b").is_empty());
    assert_eq!(
        server.requests("/robots.txt").len(),
        1,
        "robots.txt is cached"
    );
    let db = open_db(dir.path());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fetches WHERE url LIKE '%/secret/b' AND error LIKE '%disallowed by%robots.txt'"
        ),
        2
    );
}

#[tokio::test]
async fn page_sources_archive_the_article_links_of_a_listing_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_pages(&server);
    server.route(
        "/site/",
        Reply::ok("text/html; charset=utf-8", fixture("site/index.html")),
    );
    let feed = String::from_utf8(fixture("site/bangla.rss.xml"))
        .expect("UTF-8")
        .replace("http://127.0.0.1:8736", &server.url(""));
    server.route(
        "/site/bangla.rss.xml",
        Reply::ok("application/rss+xml", feed),
    );
    let text = format!(
        "{}\n[[source]]\nname = \"listing\"\nurl = \"{}\"\nkind = \"page\"\n\
         [[source]]\nname = \"listing-and-feed\"\nurl = \"{}\"\nkind = \"page\"\nfollow_feed = true\n\
         exclude = ['nabadiganta']\nmax_new = 2\n",
        common::config_text(dir.path(), &[]),
        server.url("/site/"),
        server.url("/site/")
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let app = App::open(config, newsvault::clock::Clock::System)
        .await
        .expect("open");

    let listing = app
        .poll(&["listing".into()], &Shutdown::never())
        .await
        .expect("poll");
    // The three article links of the page's body; not the menu, the tag page, the footer,
    // or the "most read" box.
    assert_eq!(
        (listing[0].items, listing[0].new, listing[0].errors),
        (3, 3, 0)
    );
    assert!(server.requests("/site/tag/rajshahi/").is_empty());
    assert!(
        server
            .requests("/pages/meghnaprotidin-book-fair.html")
            .is_empty()
    );

    // The second source drops the link its exclude pattern names, also reads the feed the
    // page advertises (two page links and three feed items are already archived), and stops
    // at max_new, leaving the rest for the next poll.
    let both = app
        .poll(&["listing-and-feed".into()], &Shutdown::never())
        .await
        .expect("poll");
    let s = &both[0];
    assert_eq!(
        (s.items, s.new, s.duplicates, s.postponed),
        (7, 2, 3, 2),
        "{s:?}"
    );
    let again = app
        .poll(&["listing-and-feed".into()], &Shutdown::never())
        .await
        .expect("poll");
    let s = &again[0];
    assert_eq!(
        (s.new, s.duplicates, s.seen, s.postponed),
        (1, 1, 5, 0),
        "{s:?}"
    );

    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 6);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = 'listing'"
        ),
        3
    );
}

#[tokio::test]
async fn sitemap_sources_follow_robots_indexes_and_take_only_what_is_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_pages(&server);
    let base = server.url("");
    server.route(
        "/robots.txt",
        Reply::ok(
            "text/plain",
            format!("User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap_index.xml\n"),
        ),
    );
    server.route(
        "/sitemap_index.xml",
        Reply::ok(
            "application/xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/news-sitemap.xml</loc><lastmod>2025-07-12T18:40:00+06:00</lastmod></sitemap>
  <sitemap><loc>{base}/older.xml.gz</loc><lastmod>2025-07-01</lastmod></sitemap>
  <sitemap><loc>{base}/sitemap_index.xml</loc></sitemap>
</sitemapindex>"#
            ),
        ),
    );
    server.route(
        "/news-sitemap.xml",
        Reply::ok(
            "application/xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>{base}/pages/bss-seed-lavrov-kim.html</loc>
    <news:news><news:publication><news:name>BSS</news:name><news:language>bn</news:language></news:publication>
    <news:publication_date>2025-07-12T18:31:00+06:00</news:publication_date><news:title>লাভরভের সাক্ষাৎ</news:title></news:news></url>
  <url><loc>{base}/pages/ukbdnews-mp-brother-killed-kushtia.html</loc>
    <news:news><news:publication><news:name>UKBD</news:name><news:language>bn</news:language></news:publication>
    <news:publication_date>2025-07-12</news:publication_date><news:title>খুন</news:title></news:news></url>
</urlset>"#
            ),
        ),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        format!(
            r#"<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{base}/pages/bss-en-homestead-gardening-rajshahi.html</loc><lastmod>2025-07-01</lastmod></url><url><loc>javascript:alert(1)</loc></url></urlset>"#
        )
        .as_bytes(),
    )
    .expect("gzip");
    server.route(
        "/older.xml.gz",
        Reply::ok("application/octet-stream", gz.finish().expect("gzip")),
    );

    let text = format!(
        "{}\n[[source]]\nname = \"site\"\nurl = \"{base}/\"\nkind = \"sitemap\"\n",
        common::config_text(dir.path(), &[])
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let app = App::open(config, newsvault::clock::Clock::System)
        .await
        .expect("open");

    let first = &poll(&app).await[0];
    assert_eq!(
        (first.failure.as_deref(), first.items, first.new),
        (None, 3, 3),
        "{first:?}"
    );
    assert_eq!(
        server.requests("/sitemap_index.xml").len(),
        1,
        "a self-listing index is read once"
    );

    // Everything the sitemaps list is dated before the last poll: nothing new is fetched,
    // and the dated child sitemaps are not even read again.
    let second = &poll(&app).await[0];
    assert_eq!((second.items, second.new), (0, 0), "{second:?}");
    assert_eq!(server.requests("/news-sitemap.xml").len(), 1);
    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 3);
}

#[tokio::test]
async fn items_older_than_max_age_are_listed_but_not_fetched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_pages(&server);
    let recent = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc2822();
    let feed = format!(
        r#"<rss version="2.0"><channel><title>t</title>
        <item><title>old</title><link>{}</link><pubDate>Sat, 12 Jul 2020 12:31:00 GMT</pubDate></item>
        <item><title>recent</title><link>{}</link><pubDate>{recent}</pubDate></item>
        <item><title>undated</title><link>{}</link></item>
        </channel></rss>"#,
        server.url("/pages/bss-seed-lavrov-kim.html"),
        server.url("/pages/nabadiganta-mango-market.html"),
        server.url("/pages/meghnaprotidin-book-fair.html"),
    );
    server.route("/feed.xml", Reply::ok("application/rss+xml", feed));
    let text = format!(
        "{}\n[[source]]\nname = \"recent\"\nurl = \"{}\"\nmax_age = \"30d\"\n",
        common::config_text(dir.path(), &[]),
        server.url("/feed.xml")
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let app = App::open(config, newsvault::clock::Clock::System)
        .await
        .expect("open");
    let summary = &poll(&app).await[0];
    assert_eq!((summary.new, summary.skipped), (2, 1), "{summary:?}");
    assert!(
        server
            .requests("/pages/bss-seed-lavrov-kim.html")
            .is_empty()
    );
}

/// A source's own selectors reach the extractor through the poll path: its content rule
/// picks the box the heuristics would pass over, its drop rule removes a share bar inside
/// it, and its date rule reads a date in the source's time zone.
#[tokio::test]
async fn a_sources_selectors_decide_what_is_archived() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let page = r#"<html><head><title>Ruled page</title></head><body>
        <article><p>Subscribe to our newsletter for the best deals of the season, delivered
        every morning with offers from all our partners across the country and beyond.</p></article>
        <div class="box"><div class="share">Share on Facebook</div>
        <span class="when">প্রকাশ: ১২ জুলাই ২০২৫, ১৮:৩১</span>
        <p>The river rose through the night.</p><p>Boats were sent to the villages.</p></div>
        </body></html>"#;
    server.route("/pages/ruled.html", Reply::ok("text/html", page));
    let feed = rss(&[(Some("g1"), server.url("/pages/ruled.html").as_str())]);
    server.route("/feed.xml", Reply::ok("application/rss+xml", feed));
    let text = format!(
        "{}\n[[source]]\nname = \"ruled\"\nurl = \"{}\"\ntimezone = \"Asia/Dhaka\"\n\
         content_selector = \"div.box\"\ndrop_selectors = [\".share\", \".when\"]\n\
         date_selector = \"span.when\"\n",
        config_text(dir.path(), &[]),
        server.url("/feed.xml")
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let app = App::open(config, Clock::System).await.expect("open");
    let summary = &poll(&app).await[0];
    assert_eq!(summary.new, 1, "{summary:?}");
    let db = open_db(dir.path());
    let (text, published): (String, String) = db
        .query_row("SELECT text, published_at FROM articles", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("one article");
    assert_eq!(
        text,
        "The river rose through the night.\nBoats were sent to the villages."
    );
    // 18:31 in Dhaka, stored in UTC
    assert_eq!(published, "2025-07-12T12:31:00.000Z");
}
