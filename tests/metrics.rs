//! `[metrics] listen`: the daemon serves Prometheus figures that follow what it did
//! (requests, bytes, articles by source, poll latency) and a `/healthz` that turns
//! healthy once the scheduler loop runs, over real HTTP on 127.0.0.1.

mod common;

use std::path::Path;

use common::{Reply, TestServer, config_text, fixture, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown::{self, Shutdown};

const PAGES: &[&str] = &[
    "bss-seed-lavrov-kim.html",
    "bss-en-homestead-gardening-rajshahi.html",
];

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("metrics endpoint answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The value of the sample line that starts with `prefix`, e.g. `name{labels}`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_follow_polls_and_healthz_follows_the_scheduler() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    for page in PAGES {
        server.route(
            &format!("/pages/{page}"),
            Reply::ok(
                "text/html; charset=utf-8",
                fixture(&format!("pages/{page}")),
            ),
        );
    }
    let links: Vec<String> = PAGES
        .iter()
        .map(|p| server.url(&format!("/pages/{p}")))
        .collect();
    let mut items: Vec<(Option<&str>, &str)> = links.iter().map(|l| (None, l.as_str())).collect();
    let missing = server.url("/pages/missing.html");
    items.push((None, missing.as_str()));
    server.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
    server.route("/pages/missing.html", Reply::status(404, &[]));
    let text = config_text(dir.path(), &[("bd", server.url("/feed.xml"))])
        + "[metrics]\nlisten = \"127.0.0.1:0\"\n";
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let app = App::open(config, Clock::System).await.expect("open app");
    let (trigger, shutdown) = shutdown::channel();
    let address = app
        .serve_metrics(shutdown.clone())
        .await
        .expect("bind metrics")
        .expect("metrics configured");
    let base = format!("http://{address}");

    let (status, body) = get(&format!("{base}/healthz")).await;
    assert_eq!(status, 503, "not healthy before the scheduler runs: {body}");

    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert_eq!(summaries[0].new, PAGES.len(), "{summaries:?}");

    let (status, metrics) = get(&format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert_eq!(
        sample(
            &metrics,
            r#"newsvault_articles_archived_total{source="bd"}"#
        ),
        Some(PAGES.len() as f64),
        "{metrics}"
    );
    assert_eq!(
        sample(&metrics, r#"newsvault_item_errors_total{source="bd"}"#),
        Some(1.0),
        "the 404 page is an item error: {metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"newsvault_http_requests_total{purpose="page",outcome="2xx"}"#
        ),
        Some(PAGES.len() as f64),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"newsvault_http_requests_total{purpose="page",outcome="4xx"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    let page_bytes: usize = PAGES
        .iter()
        .map(|p| fixture(&format!("pages/{p}")).len())
        .sum();
    let counted = sample(
        &metrics,
        r#"newsvault_http_response_bytes_total{purpose="page"}"#,
    )
    .expect("page bytes counted");
    assert!(
        counted >= page_bytes as f64,
        "{counted} bytes counted for {page_bytes} served"
    );
    assert_eq!(
        sample(
            &metrics,
            r#"newsvault_poll_duration_seconds_count{source="bd"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        metrics.trim_end().ends_with("# EOF"),
        "OpenMetrics ends with # EOF"
    );

    let (status, _) = get(&format!("{base}/nothing-here")).await;
    assert_eq!(status, 404);

    // Run the daemon until its loop has turned (the feed is due at once and gets polled),
    // then /healthz says ok.
    let daemon = {
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move { app.run(shutdown).await })
    };
    let mut attempts = 0;
    let healthy = loop {
        let (status, body) = get(&format!("{base}/healthz")).await;
        if status == 200 {
            break body;
        }
        attempts += 1;
        assert!(
            attempts < 100_000 && !daemon.is_finished(),
            "the daemon never turned healthy: {body}"
        );
        // Yield to the daemon; the loop's first turn happens without any timer.
        tokio::task::yield_now().await;
    };
    assert!(healthy.contains(r#""status":"ok""#), "{healthy}");
    trigger.trigger();
    daemon.await.expect("daemon task");
}

#[test]
fn a_bad_listen_address_is_a_clear_config_error() {
    let error = Config::parse("[metrics]\nlisten = \"localhost\"\n", Path::new("bad.toml"))
        .expect_err("not an address");
    let message = error.to_string();
    assert!(
        message.contains("metrics.listen") && message.contains("localhost"),
        "{message}"
    );
}
