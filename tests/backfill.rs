//! Backfill over a local site: URL lists and sitemaps within a date range, resumable after
//! an interruption, each page fetched once however often it is run, and a dry run that
//! fetches nothing but sitemaps.

mod common;

use std::path::Path;

use chrono::{TimeZone, Utc};
use common::{Reply, TestServer, config_text, count, fixture, open_db};
use newsvault::app::App;
use newsvault::backfill::{BackfillRequest, BackfillSummary, backfill, parse_url_list};
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown::{self, Shutdown};

const PAGES: &[&str] = &[
    "bss-seed-lavrov-kim.html",
    "bss-en-homestead-gardening-rajshahi.html",
    "ukbdnews-mp-brother-killed-kushtia.html",
    "dakshinbanga-science-fair.html",
    "meghnaprotidin-book-fair.html",
];

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
    let config = Config::parse(&config_text(dir, &[]), Path::new("test.toml")).expect("valid");
    App::open(config, Clock::System).await.expect("open")
}

#[tokio::test]
async fn sitemap_backfill_takes_the_date_range_and_resumes_after_an_interruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = site().await;
    let app = app(dir.path()).await;
    let request = BackfillRequest {
        sitemaps: vec![url::Url::parse(&server.url("/sitemap.xml")).expect("url")],
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
    let listed = backfill(&app.pipeline, &dry, &Shutdown::never(), &mut |_, _| {})
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
    let mut stop_after_one = |s: &BackfillSummary, _: Option<&url::Url>| {
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
    let second = backfill(&app.pipeline, &request, &Shutdown::never(), &mut |_, _| {})
        .await
        .expect("second run");
    assert_eq!(
        (second.already, second.archived, second.interrupted),
        (1, 1, false)
    );
    let third = backfill(&app.pipeline, &request, &Shutdown::never(), &mut |_, _| {})
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
    let summary = backfill(&app.pipeline, &request, &Shutdown::never(), &mut |_, _| {})
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
