//! Backfill over a local site: URL lists, a 5,000-URL sitemap index within a date range, a
//! source's paginated archive, a feed with its RFC 5005 archive pages; resumable after an
//! interruption, each page fetched once however often it is run, a dry run that fetches
//! nothing but listings, and clear usage errors for bad ranges and templates.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use common::{Reply, TestServer, config_text, count, fixture, open_db};
use newsvault::app::App;
use newsvault::backfill::{
    ArchiveWalk, BackfillRequest, BackfillSummary, PageRange, backfill, parse_url_list,
};
use newsvault::cli::parse_date_arg;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown::{self, Shutdown};
use url::Url;

const PAGES: &[&str] = &[
    "bss-seed-lavrov-kim.html",
    "bss-en-homestead-gardening-rajshahi.html",
    "ukbdnews-mp-brother-killed-kushtia.html",
    "dakshinbanga-science-fair.html",
    "meghnaprotidin-book-fair.html",
];

/// A reporter that ignores progress.
fn quiet() -> impl FnMut(&BackfillSummary, Option<&Url>) + Send {
    |_, _| {}
}

async fn site() -> TestServer {
    let server = TestServer::start().await;
    for page in PAGES {
        server.route(
            &format!("/pages/{page}"),
            Reply::ok("text/html", fixture(&format!("pages/{page}"))),
        );
    }
    let base = server.url("");
    let entry = |page: &str, date: &str| {
        format!("<url><loc>{base}/pages/{page}</loc><lastmod>{date}</lastmod></url>")
    };
    server.route(
        "/sitemap.xml",
        Reply::ok(
            "application/xml",
            format!(
                "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">{}{}{}{}</urlset>",
                entry(PAGES[0], "2025-07-12T18:31:00+06:00"),
                entry(PAGES[1], "2025-07-01"),
                entry(PAGES[2], "2025-06-01"),
                entry(PAGES[3], "2025-07-13T00:30:00Z"),
            ),
        ),
    );
    server
}

async fn app(dir: &Path) -> App {
    app_with(dir, "").await
}

async fn app_with(dir: &Path, extra: &str) -> App {
    let text = format!("{}{extra}", config_text(dir, &[]));
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid");
    App::open(config, Clock::System).await.expect("open")
}

/// A small article page, different for every path (so no two share a text fingerprint).
fn article_page(path: &str) -> Vec<u8> {
    let words = path.replace(['/', '-', '.', '?', '='], " ");
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Report {words}</title></head>\
         <body><article><h1>Report {words}</h1>\
         <p>The district council met this morning to discuss the matter filed as {words}. Members \
         heard from residents, farmers and teachers about roads, schools, water and the coming \
         harvest, and agreed to meet again next week.</p>\
         <p>Officials said the record for {words} would be published in full, with the votes of \
         every member and the budget lines that were changed during the long session.</p>\
         </article></body></html>"
    )
    .into_bytes()
}

/// Serves an article for every path under `/news/`, a 404 for anything else unrouted.
fn serve_articles(server: &TestServer) {
    server.fallback(|path| {
        if path.starts_with("/news/") {
            Reply::ok("text/html; charset=utf-8", article_page(path))
        } else {
            Reply::status(404, &[])
        }
    });
}

fn paths_under(server: &TestServer, prefix: &str) -> Vec<String> {
    server
        .all_requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with(prefix))
        .collect()
}

fn day(text: &str) -> newsvault::cli::DateArg {
    parse_date_arg(text).expect("date")
}

#[tokio::test]
async fn sitemap_backfill_takes_the_date_range_and_resumes_after_an_interruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = site().await;
    let app = app(dir.path()).await;
    let request = BackfillRequest {
        sitemaps: vec![Url::parse(&server.url("/sitemap.xml")).expect("url")],
        since: Some(
            Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0)
                .single()
                .expect("date"),
        ),
        until: Some(
            Utc.with_ymd_and_hms(2025, 7, 13, 0, 0, 0)
                .single()
                .expect("date"),
        ),
        ..Default::default()
    };

    // A dry run reads the sitemap and fetches no page.
    let dry = BackfillRequest {
        dry_run: true,
        ..request.clone()
    };
    let listed = backfill(&app.pipeline, &dry, &Shutdown::never(), &mut quiet())
        .await
        .expect("dry run");
    assert_eq!((listed.listed, listed.archived), (2, 0));
    assert!(
        PAGES
            .iter()
            .all(|p| server.requests(&format!("/pages/{p}")).is_empty())
    );

    // Interrupted after the first article (as Ctrl-C would)...
    let (trigger, stop) = shutdown::channel();
    let mut stop_after_one = |s: &BackfillSummary, _: Option<&Url>| {
        if s.archived == 1 {
            trigger.trigger();
        }
    };
    let first = backfill(&app.pipeline, &request, &stop, &mut stop_after_one)
        .await
        .expect("first run");
    assert!(first.interrupted);
    assert_eq!(first.archived, 1);
    // ...then run again: only what is missing is fetched.
    let second = backfill(&app.pipeline, &request, &Shutdown::never(), &mut quiet())
        .await
        .expect("second run");
    assert_eq!(
        (second.already, second.archived, second.interrupted),
        (1, 1, false)
    );
    let third = backfill(&app.pipeline, &request, &Shutdown::never(), &mut quiet())
        .await
        .expect("third run");
    assert_eq!((third.already, third.archived), (2, 0));
    for page in &PAGES[..2] {
        assert_eq!(
            server.requests(&format!("/pages/{page}")).len(),
            1,
            "{page}"
        );
    }
    // Outside the range: before since, and after the end of the until day.
    assert!(server.requests(&format!("/pages/{}", PAGES[2])).is_empty());
    assert!(server.requests(&format!("/pages/{}", PAGES[3])).is_empty());
    assert_eq!(
        count(&open_db(dir.path()), "SELECT count(*) FROM articles"),
        2
    );
}

#[tokio::test]
async fn url_list_backfill_survives_garbage_and_unreachable_hosts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = site().await;
    let app = app(dir.path()).await;
    let list = format!(
        "# a list\n{}\nnot a url\n{}\nhttp://127.0.0.1:9/unreachable\n{}\n",
        server.url("/pages/meghnaprotidin-book-fair.html"),
        server.url("/pages/dakshinbanga-science-fair.html?utm_source=x"),
        server.url("/pages/meghnaprotidin-book-fair.html#again"),
    );
    let (urls, bad) = parse_url_list(&list);
    assert_eq!(bad.len(), 1);
    let request = BackfillRequest {
        urls,
        ..Default::default()
    };
    let summary = backfill(&app.pipeline, &request, &Shutdown::never(), &mut quiet())
        .await
        .expect("backfill");
    // The same page twice in the list is one URL.
    assert_eq!(
        (summary.listed, summary.archived, summary.failed),
        (3, 2, 1)
    );
    assert_eq!(
        count(&open_db(dir.path()), "SELECT count(*) FROM articles"),
        2
    );
}

/// Backfills `paths` of `server`, one after another.
async fn backfill_paths(app: &App, server: &TestServer, paths: &[&str]) -> BackfillSummary {
    let list: String = paths
        .iter()
        .map(|p| format!("{}\n", server.url(p)))
        .collect();
    let (urls, bad) = parse_url_list(&list);
    assert!(bad.is_empty(), "{bad:?}");
    let request = BackfillRequest {
        urls,
        ..Default::default()
    };
    backfill(&app.pipeline, &request, &Shutdown::never(), &mut quiet())
        .await
        .expect("backfill")
}

#[tokio::test]
async fn a_page_whose_bytes_are_archived_already_is_that_article() {
    // A short page without a canonical link: its text is too short for a text
    // fingerprint, so only its bytes can say that two URLs serve the same page.
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let page = "<!doctype html><html><head><title>Notice</title></head>\
                <body><p>নোটিশ: অফিস আগামীকাল বন্ধ থাকবে।</p></body></html>";
    server.route("/notice", Reply::ok("text/html; charset=utf-8", page));
    server.route("/notice-copy", Reply::ok("text/html; charset=utf-8", page));
    server.route(
        "/notice-edited",
        Reply::ok(
            "text/html; charset=utf-8",
            page.replace("<html>", "<html lang=\"bn\">"),
        ),
    );
    let app = app(dir.path()).await;

    let first = backfill_paths(&app, &server, &["/notice"]).await;
    assert_eq!((first.archived, first.duplicates), (1, 0));
    let copy = backfill_paths(&app, &server, &["/notice-copy"]).await;
    assert_eq!((copy.archived, copy.duplicates), (0, 1), "{copy:?}");
    // Other bytes with the same short text are another page.
    let edited = backfill_paths(&app, &server, &["/notice-edited"]).await;
    assert_eq!((edited.archived, edited.duplicates), (1, 0), "{edited:?}");

    let db = open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM captures"), 2);
    let notice = server.url("/notice");
    let copy_url = server.url("/notice-copy");
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(DISTINCT article_id) FROM article_urls WHERE url IN ('{notice}', '{copy_url}')"
            )
        ),
        1,
        "both URLs lead to the first article"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM article_urls"), 3);
    // Every request is in the log, the copy's included.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fetches WHERE url LIKE '%/notice%'"
        ),
        3
    );
}

// ------------------------------------------------------------------ a large sitemap index

const SITEMAP_URLS: usize = 5_000;
const CHILD_SITEMAPS: usize = 5;
/// Entry `i` is dated this many days into June 2025: `i % DAYS`.
const DAYS: usize = 25;

/// A sitemap index of five child sitemaps listing 5,000 articles, dated over 25 days of
/// June 2025 (the URLs carry no date: only the sitemap's lastmod tells it).
fn big_sitemap(server: &TestServer) {
    let base = server.url("");
    let per_child = SITEMAP_URLS / CHILD_SITEMAPS;
    let mut index = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for child in 0..CHILD_SITEMAPS {
        index.push_str(&format!(
            "<sitemap><loc>{base}/sitemaps/part-{child}.xml</loc><lastmod>2025-06-30</lastmod></sitemap>\n"
        ));
        let mut urls = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        for i in child * per_child..(child + 1) * per_child {
            urls.push_str(&format!(
                "<url><loc>{base}/news/story-{i}.html</loc><lastmod>2025-06-{:02}T09:00:00Z</lastmod></url>\n",
                1 + i % DAYS
            ));
        }
        urls.push_str("</urlset>\n");
        server.route(
            &format!("/sitemaps/part-{child}.xml"),
            Reply::ok("application/xml", urls),
        );
    }
    index.push_str("</sitemapindex>\n");
    server.route("/sitemap-index.xml", Reply::ok("application/xml", index));
}

#[tokio::test]
async fn a_5000_url_sitemap_index_backfills_exactly_the_date_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    big_sitemap(&server);
    serve_articles(&server);
    let app = app(dir.path()).await;
    let (since, until) = (day("2025-06-10"), day("2025-06-11"));
    let request = BackfillRequest {
        sitemaps: vec![Url::parse(&server.url("/sitemap-index.xml")).expect("url")],
        since: Some(since.start),
        until: Some(until.end),
        ..Default::default()
    };
    let expected: HashSet<String> = (0..SITEMAP_URLS)
        .filter(|i| matches!(1 + i % DAYS, 10 | 11))
        .map(|i| format!("/news/story-{i}.html"))
        .collect();
    assert_eq!(expected.len(), 2 * SITEMAP_URLS / DAYS);

    let dry = BackfillRequest {
        dry_run: true,
        ..request.clone()
    };
    let listed = backfill(&app.pipeline, &dry, &Shutdown::never(), &mut quiet())
        .await
        .expect("dry run");
    assert_eq!((listed.listed, listed.archived), (expected.len(), 0));
    // Nothing but robots.txt and the sitemaps themselves.
    for path in server.all_requests().into_iter().map(|r| r.path) {
        assert!(
            path == "/robots.txt" || path.starts_with("/sitemap"),
            "a dry run fetched {path}"
        );
    }

    let summary = backfill(&app.pipeline, &request, &Shutdown::never(), &mut quiet())
        .await
        .expect("backfill");
    assert_eq!(
        (summary.listed, summary.archived, summary.failed),
        (expected.len(), expected.len(), 0)
    );
    let fetched = paths_under(&server, "/news/");
    assert_eq!(fetched.len(), expected.len(), "each page fetched once");
    assert_eq!(fetched.into_iter().collect::<HashSet<_>>(), expected);
    assert_eq!(
        count(&open_db(dir.path()), "SELECT count(*) FROM articles") as usize,
        expected.len()
    );
}

// ------------------------------------------------------------------ a paginated archive

const ARCHIVE_PAGES: usize = 5;
const LINKS_PER_PAGE: usize = 10;

/// The article paths listed on archive page `page` (1 is the newest): ten per page, five
/// per day, page 1 holding 23 and 22 July 2025, page 5 holding 15 and 14 July.
fn archive_articles(page: usize) -> Vec<String> {
    (0..LINKS_PER_PAGE)
        .map(|k| {
            let day = 25 - 2 * page - k / 5;
            format!("/news/2025/07/{day:02}/council-meets-on-report-{page}-{k}")
        })
        .collect()
}

/// `/archive?page=1..5`, each with ten article links, navigation (next/previous pages,
/// home, about) and a sponsored link the source excludes; page 6 answers 404.
fn paginated_archive(server: &TestServer) {
    for page in 1..=ARCHIVE_PAGES {
        let mut html = String::from(
            "<!doctype html><html><head><title>Archive</title></head><body>\
             <header><nav class=\"menu\"><a href=\"/\">Home</a> <a href=\"/about\">About us</a></nav></header>\
             <main><ul>",
        );
        for (k, path) in archive_articles(page).iter().enumerate() {
            html.push_str(&format!(
                "<li><a href=\"{path}\">Council meets to decide on report {page} {k} after long debate</a></li>"
            ));
        }
        html.push_str(&format!(
            "<li><a href=\"/sponsored/2025/07/20/buy-the-best-water-pumps-now-{page}\">The best water pumps you can buy this season</a></li>\
             </ul></main><nav class=\"pagination\"><a href=\"/archive?page={}\">Previous</a> <a href=\"/archive?page={}\">Next page</a></nav>\
             <footer><a href=\"/contact\">Contact</a></footer></body></html>",
            page.saturating_sub(1).max(1),
            page + 1
        ));
        server.route(
            &format!("/archive?page={page}"),
            Reply::ok("text/html; charset=utf-8", html),
        );
    }
}

fn archive_source(server: &TestServer) -> String {
    format!(
        "[[source]]\nname = \"site\"\nurl = \"{}\"\nkind = \"page\"\ntimezone = \"Asia/Dhaka\"\narchive_url = \"{}\"\nexclude = ['/sponsored/']\n",
        server.url("/archive?page=1"),
        server.url("/archive?page={page}"),
    )
}

#[tokio::test]
async fn an_interrupted_archive_walk_resumes_and_archives_each_article_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    paginated_archive(&server);
    serve_articles(&server);
    let app = app_with(dir.path(), &archive_source(&server)).await;
    let source = app.config.source("site").expect("source").clone();
    let source_id = app
        .store()
        .sources()
        .await
        .expect("sources")
        .iter()
        .find(|s| s.name == "site")
        .map(|s| s.id);
    let pages = Some(PageRange {
        first: 1,
        last: 200,
    });
    let plan = |since: Option<&str>, until: Option<&str>| {
        let since = since.map(|d| day(d).start);
        let until = until.map(|d| day(d).end);
        BackfillRequest {
            archive: Some(
                ArchiveWalk::plan(&source, pages, since, until, Utc::now()).expect("plan"),
            ),
            since,
            until,
            source_id,
            page_rules: Some(source.page_rules()),
            ..Default::default()
        }
    };
    let all: HashSet<String> = (1..=ARCHIVE_PAGES).flat_map(archive_articles).collect();

    // Dry runs read the archive pages only; the date range keeps the links whose URL is
    // dated 20 or 21 July (page 2), and the walk stops three pages past the last of them.
    let dry = BackfillRequest {
        dry_run: true,
        ..plan(Some("2025-07-20"), Some("2025-07-21"))
    };
    let listed = backfill(&app.pipeline, &dry, &Shutdown::never(), &mut quiet())
        .await
        .expect("dated dry run");
    assert_eq!((listed.listed, listed.pages_read), (LINKS_PER_PAGE, 5));
    let dry = BackfillRequest {
        dry_run: true,
        ..plan(None, None)
    };
    let listed = backfill(&app.pipeline, &dry, &Shutdown::never(), &mut quiet())
        .await
        .expect("dry run");
    assert_eq!(
        (listed.listed, listed.pages_read),
        (all.len(), ARCHIVE_PAGES)
    );
    assert!(paths_under(&server, "/news/").is_empty());
    assert!(paths_under(&server, "/sponsored/").is_empty());

    // Interrupted after 20 articles...
    let request = plan(None, None);
    let (trigger, stop) = shutdown::channel();
    let mut stop_after_twenty = |s: &BackfillSummary, _: Option<&Url>| {
        if s.archived == 20 {
            trigger.trigger();
        }
    };
    let first = backfill(&app.pipeline, &request, &stop, &mut stop_after_twenty)
        .await
        .expect("first run");
    assert!(first.interrupted);
    assert_eq!(first.archived, 20);
    assert_eq!(paths_under(&server, "/news/").len(), 20);
    // ...and run again: the other 30 are fetched, none of the first 20 again.
    let second = backfill(&app.pipeline, &request, &Shutdown::never(), &mut quiet())
        .await
        .expect("second run");
    assert_eq!(
        (second.already, second.archived, second.interrupted),
        (20, 30, false)
    );
    let fetched = paths_under(&server, "/news/");
    assert_eq!(fetched.len(), all.len(), "each article fetched once");
    assert_eq!(fetched.into_iter().collect::<HashSet<_>>(), all);
    let db = open_db(dir.path());
    assert_eq!(
        count(&db, "SELECT count(*) FROM articles") as usize,
        all.len()
    );
    assert_eq!(
        count(&db, "SELECT count(DISTINCT canonical_url) FROM articles") as usize,
        all.len()
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles JOIN sources ON sources.id = articles.source_id WHERE sources.name = 'site'"
        ) as usize,
        all.len()
    );
}

// ------------------------------------------------------------------ the command line

fn newsvault() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newsvault"));
    command
        .env_remove("RUST_LOG")
        .env_remove("NEWSVAULT_CONFIG")
        .env_remove("NEWSVAULT_DATABASE");
    command
}

fn write_config(dir: &Path, sources: &str) -> PathBuf {
    let path = dir.join("newsvault.toml");
    std::fs::write(&path, format!("{}{sources}", config_text(dir, &[]))).expect("write config");
    path
}

/// Runs `newsvault --config CONFIG ARGS…` off the async threads (the test server runs on
/// them); returns the exit code, stdout and stderr.
async fn run_cli(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = newsvault();
    command.arg("--config").arg(config).args(args);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run newsvault");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn source_archive_pages_are_walked_until_the_archive_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    paginated_archive(&server);
    serve_articles(&server);
    let config = write_config(dir.path(), &archive_source(&server));
    // A million pages asked for; the archive ends at page 6 with a 404.
    let (code, stdout, stderr) = run_cli(
        &config,
        &[
            "backfill",
            "--source",
            "site",
            "--pages",
            "1..1000000",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON summary");
    let all: HashSet<String> = (1..=ARCHIVE_PAGES).flat_map(archive_articles).collect();
    assert_eq!(summary["archived"], all.len());
    assert_eq!(summary["pages_read"], ARCHIVE_PAGES);
    for page in 1..=ARCHIVE_PAGES + 1 {
        assert_eq!(
            server.requests(&format!("/archive?page={page}")).len(),
            1,
            "archive page {page}"
        );
    }
    assert!(server.requests("/archive?page=7").is_empty());
    // Only articles: no navigation, no excluded links.
    let fetched = paths_under(&server, "/");
    let articles: Vec<&String> = fetched.iter().filter(|p| p.starts_with("/news/")).collect();
    assert_eq!(articles.len(), all.len());
    for path in &fetched {
        assert!(
            path.starts_with("/news/") || path.starts_with("/archive?") || path == "/robots.txt",
            "fetched {path}"
        );
    }
    assert_eq!(
        count(&open_db(dir.path()), "SELECT count(*) FROM articles") as usize,
        all.len()
    );
}

#[tokio::test]
async fn a_dated_archive_is_walked_day_by_day_newest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_articles(&server);
    // 10 and 12 July have a page of three articles (and a link to an older story the
    // date range leaves out); 11 July has no page at all.
    for day in [10, 12] {
        let mut html = String::from("<!doctype html><html><body><main><ul>");
        for k in 0..3 {
            html.push_str(&format!(
                "<li><a href=\"/news/2025/07/{day}/village-school-opens-new-library-{k}\">Village school opens a new library, part {k}</a></li>"
            ));
        }
        html.push_str(
            "<li><a href=\"/news/2025/06/01/older-story-about-the-monsoon-season\">An older story about the monsoon season</a></li></ul></main></body></html>",
        );
        server.route(
            &format!("/2025/07/{day}/"),
            Reply::ok("text/html; charset=utf-8", html),
        );
    }
    let source = format!(
        "[[source]]\nname = \"daily\"\nurl = \"{}\"\nkind = \"page\"\narchive_url = \"{}\"\n",
        server.url("/"),
        server.url("/{yyyy}/{mm}/{dd}/"),
    );
    let config = write_config(dir.path(), &source);
    let (code, stdout, stderr) = run_cli(
        &config,
        &[
            "backfill",
            "--source",
            "daily",
            "--since",
            "2025-07-10",
            "--until",
            "2025-07-12",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON summary");
    assert_eq!(summary["archived"], 6);
    assert_eq!(summary["pages_read"], 2);
    // The day pages, newest first, and nothing outside the range.
    let days: Vec<String> = server
        .all_requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with("/2025/"))
        .collect();
    assert_eq!(days, ["/2025/07/12/", "/2025/07/11/", "/2025/07/10/"]);
    let fetched = paths_under(&server, "/news/");
    assert_eq!(fetched.len(), 6);
    assert!(fetched.iter().all(|p| p.starts_with("/news/2025/07/")));
}

/// An Atom document with `entries` (path, updated day) and feed-level `links` (rel, path).
fn atom(server: &TestServer, entries: &[(&str, &str)], links: &[(&str, &str)]) -> Reply {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:fh=\"http://purl.org/syndication/history/1.0\">\n<title>Site</title><id>urn:site</id><updated>2025-07-12T00:00:00Z</updated>\n<fh:archive/>\n",
    );
    for (rel, path) in links {
        xml.push_str(&format!(
            "<link rel=\"{rel}\" href=\"{}\"/>\n",
            server.url(path)
        ));
    }
    for (path, day) in entries {
        xml.push_str(&format!(
            "<entry><id>urn:{path}</id><title>{path}</title><link href=\"{}\"/><updated>{day}T08:00:00Z</updated></entry>\n",
            server.url(path)
        ));
    }
    xml.push_str("</feed>\n");
    Reply::ok("application/atom+xml", xml)
}

#[tokio::test]
async fn a_feed_and_its_archive_pages_are_archived_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    serve_articles(&server);
    // The feed, then two archive pages back in time; the oldest names itself as its
    // predecessor, and the middle one points forward to the feed again.
    server.route(
        "/feed.atom",
        atom(
            &server,
            &[
                ("/news/july-12-a", "2025-07-12"),
                ("/news/july-11-a", "2025-07-11"),
                ("/news/july-10-a", "2025-07-10"),
            ],
            &[("self", "/feed.atom"), ("prev-archive", "/feed/2.atom")],
        ),
    );
    server.route(
        "/feed/2.atom",
        atom(
            &server,
            &[
                // Also in the feed: archived once.
                ("/news/july-10-a", "2025-07-10"),
                ("/news/july-09-a", "2025-07-09"),
                ("/news/july-08-a", "2025-07-08"),
            ],
            &[
                ("prev-archive", "/feed/1.atom"),
                ("next-archive", "/feed.atom"),
                ("current", "/feed.atom"),
            ],
        ),
    );
    server.route(
        "/feed/1.atom",
        atom(
            &server,
            &[
                ("/news/july-05-a", "2025-07-05"),
                ("/news/july-04-a", "2025-07-04"),
            ],
            &[
                ("prev-archive", "/feed/1.atom"),
                ("next-archive", "/feed/2.atom"),
            ],
        ),
    );
    let config = write_config(dir.path(), "");
    let feed = server.url("/feed.atom");

    // A dry run with a date range lists the items dated in it, fetching only feed pages.
    let (code, stdout, stderr) = run_cli(
        &config,
        &[
            "backfill",
            "--feed",
            &feed,
            "--since",
            "2025-07-08",
            "--until",
            "2025-07-11",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let listed: HashSet<&str> = stdout.lines().collect();
    let expected: HashSet<String> = ["july-11-a", "july-10-a", "july-09-a", "july-08-a"]
        .iter()
        .map(|p| server.url(&format!("/news/{p}")))
        .collect();
    assert_eq!(
        listed,
        expected.iter().map(String::as_str).collect::<HashSet<_>>()
    );
    assert!(paths_under(&server, "/news/").is_empty());

    let (code, stdout, stderr) = run_cli(&config, &["backfill", "--feed", &feed, "--json"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON summary");
    assert_eq!(summary["listed"], 7);
    assert_eq!(summary["archived"], 7);
    assert_eq!(summary["pages_read"], 3);
    // Each feed page once per run, however the pages link to each other.
    for page in ["/feed.atom", "/feed/2.atom", "/feed/1.atom"] {
        assert_eq!(server.requests(page).len(), 2, "{page}");
    }
    let fetched = paths_under(&server, "/news/");
    assert_eq!(fetched.len(), 7);
    assert_eq!(fetched.iter().collect::<HashSet<_>>().len(), 7);
    assert_eq!(
        count(&open_db(dir.path()), "SELECT count(*) FROM articles"),
        7
    );
}

#[tokio::test]
async fn bad_ranges_and_templates_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = "[[source]]\nname = \"plain\"\nurl = \"https://site.example/feed\"\n\
         [[source]]\nname = \"paged\"\nurl = \"https://site.example/\"\narchive_url = \"https://site.example/archive?page={page}\"\n\
         [[source]]\nname = \"dated\"\nurl = \"https://site.example/\"\narchive_url = \"https://site.example/{yyyy}/{mm}/{dd}/\"\n";
    let config = write_config(dir.path(), sources);
    for (args, says) in [
        (
            &["--source", "paged", "--pages", "5..1"][..],
            "ends before it starts",
        ),
        (
            &["--source", "paged", "--pages", "abc"][..],
            "not a page range",
        ),
        (&["--source", "paged", "--pages", "0.."][..], "no last page"),
        (&["--pages", "1..3"][..], "--source"),
        (
            &["--source", "plain", "--pages", "1..3"][..],
            "has no archive_url",
        ),
        (&["--source", "paged"][..], "give --pages"),
        (
            &["--source", "dated", "--pages", "1..3"][..],
            "--pages does not apply",
        ),
        (&["--source", "dated"][..], "give --since"),
        (&[][..], "nothing to backfill"),
    ] {
        let mut full = vec!["backfill"];
        full.extend_from_slice(args);
        let (code, _, stderr) = run_cli(&config, &full).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // The checks come before the archive is even opened.
    assert!(!dir.path().join("archive.sqlite3").exists());

    // A bad template is refused when the configuration is read, naming the source.
    let bad = write_config(
        dir.path(),
        "[[source]]\nname = \"broken\"\nurl = \"https://site.example/\"\narchive_url = \"https://site.example/archive?p={pg}\"\n",
    );
    let (code, _, stderr) = run_cli(&bad, &["check-config"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("source[0] (broken).archive_url") && stderr.contains("{pg}"),
        "{stderr}"
    );
}
