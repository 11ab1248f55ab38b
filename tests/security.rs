//! What a hostile feed cannot make newsvault do: reach loopback, private or link-local
//! addresses through the links it serves (items or redirects) — unless the link stays on
//! the source's own configured host, or the source opts in with `allow_private` — and
//! what a new archive looks like on disk (owner-only permissions).

mod common;

use std::path::Path;

use common::{Reply, TestServer, config_text, fixture, open_db, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown::Shutdown;

const PAGE: &str = "bss-seed-lavrov-kim.html";

/// A feed on 127.0.0.1 whose items point at the same host (fine), at other loopback and
/// private addresses (not fine), and at a redirect that leads to loopback under another
/// name (not fine).
async fn hostile_site() -> (TestServer, Vec<String>) {
    let server = TestServer::start().await;
    let port = server.addr.port();
    server.route(
        "/same-host.html",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture(&format!("pages/{PAGE}")),
        ),
    );
    server.route(
        "/other-name.html",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("pages/bss-en-homestead-gardening-rajshahi.html"),
        ),
    );
    server.route(
        "/redirect-inward",
        Reply::status(
            302,
            &[(
                "Location",
                &format!("http://localhost:{port}/other-name.html"),
            )],
        ),
    );
    let links = vec![
        server.url("/same-host.html"),
        format!("http://localhost:{port}/other-name.html"),
        format!("http://127.0.0.2:{port}/other-name.html"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/admin".to_string(),
        format!("http://[::1]:{port}/other-name.html"),
        // 127.0.0.2 in its decimal spelling.
        format!("http://2130706434:{port}/decimal.html"),
        server.url("/redirect-inward"),
    ];
    (server, links)
}

async fn poll(dir: &Path, server: &TestServer, links: &[String], extra: &str) {
    let items: Vec<(Option<&str>, &str)> = links.iter().map(|l| (None, l.as_str())).collect();
    server.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
    let text = config_text(dir, &[("hostile", server.url("/feed.xml"))]) + extra;
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let app = App::open(config, Clock::System).await.expect("open app");
    app.poll(&[], &Shutdown::never()).await.expect("poll");
}

/// The request log's errors for `url` (as the URL parser spells it).
fn errors_for(db: &rusqlite::Connection, url: &str) -> Vec<String> {
    let url = url::Url::parse(url).expect("url").to_string();
    let mut statement = db
        .prepare("SELECT coalesce(error, '') FROM fetches WHERE url = ?1")
        .expect("prepare");
    statement
        .query_map([&url], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test(flavor = "multi_thread")]
async fn links_from_a_feed_cannot_reach_private_addresses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, links) = hostile_site().await;
    poll(dir.path(), &server, &links, "").await;
    let db = open_db(dir.path());

    assert_eq!(
        common::count(&db, "SELECT count(*) FROM articles"),
        1,
        "only the page on the source's own host is archived"
    );
    let archived: Vec<String> = db
        .prepare("SELECT url FROM article_urls")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert!(archived.contains(&links[0]), "{archived:?}");
    assert!(
        links[1..].iter().all(|l| !archived.contains(l)),
        "{archived:?}"
    );
    for refused in &links[1..7] {
        let errors = errors_for(&db, refused);
        assert_eq!(errors.len(), 1, "{refused} logged once: {errors:?}");
        assert!(
            errors[0].contains("refused"),
            "{refused} is refused with a reason: {}",
            errors[0]
        );
    }
    // The redirect itself was on the trusted host and was sent; where it led was not.
    let errors = errors_for(&db, &links[7]);
    assert!(
        errors.len() == 1 && errors[0].contains("refused") && errors[0].contains("localhost"),
        "{errors:?}"
    );
    assert_eq!(server.requests("/redirect-inward").len(), 1);
    // Nothing reached the server under another name: the only page requests are for the
    // same-host page and the redirect.
    assert!(server.requests("/other-name.html").is_empty());
    assert!(server.requests("/decimal.html").is_empty());
    assert_eq!(server.requests("/same-host.html").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_private_lets_a_source_reach_its_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, links) = hostile_site().await;
    // Only the links that can answer here: the same host, and loopback by another name.
    let reachable = vec![links[0].clone(), links[1].clone()];
    poll(dir.path(), &server, &reachable, "allow_private = true\n").await;
    let db = open_db(dir.path());
    assert_eq!(
        common::count(&db, "SELECT count(*) FROM articles"),
        2,
        "both pages archived when the source allows private addresses"
    );
    assert_eq!(server.requests("/other-name.html").len(), 1);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_new_archive_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = dir.path().join("state").join("newsvault");
    let database = nested.join("archive.sqlite3");
    let text = format!(
        "[archive]\ndatabase = {:?}\n[[source]]\nname = \"s\"\nurl = \"http://127.0.0.1:9/feed.xml\"\n",
        database.to_string_lossy()
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let app = App::open(config, Clock::System).await.expect("open app");
    drop(app);
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&database), 0o600, "archive file");
    assert_eq!(mode(&nested), 0o700, "archive directory created for it");
    let wal = nested.join("archive.sqlite3-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "WAL file");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_a_source_url_are_sent_to_its_origin_only_and_never_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = TestServer::start().await;
    let elsewhere = TestServer::start().await;
    site.route(
        "/page.html",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture(&format!("pages/{PAGE}")),
        ),
    );
    elsewhere.route(
        "/other.html",
        Reply::ok(
            "text/html; charset=utf-8",
            fixture("pages/bss-en-homestead-gardening-rajshahi.html"),
        ),
    );
    let links = [site.url("/page.html"), elsewhere.url("/other.html")];
    let items: Vec<(Option<&str>, &str)> = links.iter().map(|l| (None, l.as_str())).collect();
    site.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
    let feed = format!("http://reader:p%40ss%20w@{}/feed.xml", site.addr);
    let text = config_text(dir.path(), &[("members", feed)]);
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let logged = format!("{:?}", config.sources[0]);
    assert!(
        !logged.contains("p%40ss") && !logged.contains("p@ss"),
        "{logged}"
    );
    let app = App::open(config, Clock::System).await.expect("open app");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert_eq!(summaries[0].new, 2, "{summaries:?}");

    // base64("reader:p@ss w"): the password percent-decoded, as HTTP Basic wants it.
    let expected = "Basic cmVhZGVyOnBAc3Mgdw==";
    for path in ["/feed.xml", "/page.html"] {
        let requests = site.requests(path);
        assert_eq!(requests.len(), 1, "{path}");
        assert_eq!(
            requests[0].headers.get("authorization").map(String::as_str),
            Some(expected),
            "{path} on the source's origin gets the credentials"
        );
    }
    let other = elsewhere.requests("/other.html");
    assert_eq!(other.len(), 1);
    assert!(
        !other[0].headers.contains_key("authorization"),
        "another origin never sees them"
    );

    let db = open_db(dir.path());
    let leaks = common::count(
        &db,
        "SELECT (SELECT count(*) FROM fetches WHERE url LIKE '%reader%' OR final_url LIKE '%reader%')
              + (SELECT count(*) FROM sources WHERE url LIKE '%reader%')",
    );
    assert_eq!(leaks, 0, "no URL in the archive carries the credentials");
}
