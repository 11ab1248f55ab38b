//! Polite polling end to end: adaptive intervals (a quiet source is polled less and less
//! often, never beyond its maximum interval, and news brings it back to its schedule), the
//! server's own lifetimes (RSS `<ttl>`, Cache-Control, Expires) as lower bounds, scheduling
//! state that survives a restart, per-source per-host limits, kind detection, and redirects
//! that pass the gate and robots.txt of the host they lead to.
//!
//! HTTP runs on real time against local servers (reqwest does not work under paused time);
//! each poll there gets a fresh `App` whose virtual clock starts at the time the poll is
//! due, which is also how a restart looks. What must run on virtual time without HTTP (the
//! daemon after a restart, the gate's spacing) uses tokio's paused time and closed ports.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use common::{Reply, TestServer, count, fixture, open_db};
use newsvault::app::App;
use newsvault::clock::{Clock, from_db_time};
use newsvault::config::Config;
use newsvault::shutdown::{self, Shutdown};

fn at(h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, 12, h, mi, 0)
        .single()
        .expect("valid test time")
}

fn config(dir: &Path, extra: &str, sources: &str) -> Config {
    let text = format!(
        "[archive]\ndatabase = {:?}\n[http]\ntimeout = \"5s\"\nper_host_delay = \"0s\"\n{extra}\n{sources}",
        dir.join("archive.sqlite3").to_string_lossy()
    );
    Config::parse(&text, Path::new("test.toml")).expect("valid test config")
}

/// An RSS feed with an optional `<ttl>` (minutes) and one item per link.
fn feed(ttl: Option<u64>, links: &[String]) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://example.org/</link><description>d</description>",
    );
    if let Some(ttl) = ttl {
        xml.push_str(&format!("<ttl>{ttl}</ttl>"));
    }
    for (i, link) in links.iter().enumerate() {
        xml.push_str(&format!(
            "<item><title>item {i}</title><link>{link}</link><guid>{link}</guid></item>"
        ));
    }
    xml.push_str("</channel></rss>");
    xml.into_bytes()
}

/// A source's scheduling state as the archive holds it.
#[derive(Debug)]
struct Schedule {
    next_poll_at: DateTime<Utc>,
    poll_interval_s: Option<i64>,
    last_new_at: Option<DateTime<Utc>>,
}

fn schedule_of(dir: &Path, source: &str) -> Schedule {
    open_db(dir)
        .query_row(
            "SELECT next_poll_at, poll_interval_s, last_new_at FROM sources WHERE name = ?1",
            [source],
            |r| {
                Ok(Schedule {
                    next_poll_at: from_db_time(&r.get::<_, String>(0)?).expect("a time"),
                    poll_interval_s: r.get(1)?,
                    last_new_at: r
                        .get::<_, Option<String>>(2)?
                        .as_deref()
                        .and_then(from_db_time),
                })
            },
        )
        .expect("source row")
}

/// Polls every source once, as the daemon would at `now` (a fresh App, as after a restart).
async fn poll_at(config: &Config, now: DateTime<Utc>) -> Vec<newsvault::pipeline::PollSummary> {
    let app = App::open(config.clone(), Clock::starting_at(now))
        .await
        .expect("open app");
    app.poll(&[], &Shutdown::never()).await.expect("poll")
}

fn is_quarter_hour(t: DateTime<Utc>) -> bool {
    t.minute().is_multiple_of(15) && t.second() == 0 && t.nanosecond() == 0
}

#[tokio::test]
async fn a_quiet_source_is_polled_less_often_up_to_its_maximum_and_news_resets_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    for page in ["bss-seed-lavrov-kim.html", "dakshinbanga-science-fair.html"] {
        server.route(
            &format!("/pages/{page}"),
            Reply::ok("text/html", fixture(&format!("pages/{page}"))),
        );
    }
    let first = server.url("/pages/bss-seed-lavrov-kim.html");
    let second = server.url("/pages/dakshinbanga-science-fair.html");
    let conditional = |etag: &str, links: &[String]| Reply::Conditional {
        etag: format!("\"{etag}\""),
        last_modified: "Sat, 12 Jul 2025 09:00:00 GMT".into(),
        content_type: "application/rss+xml".into(),
        body: feed(None, links),
    };
    server.route(
        "/feed.xml",
        conditional("one", std::slice::from_ref(&first)),
    );
    let config = config(
        dir.path(),
        "",
        &format!(
            "[[source]]\nname = \"quiet\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"*/15 * * * *\"\nmax_interval = \"2h\"\n",
            server.url("/feed.xml")
        ),
    );

    // The first poll finds an article: on schedule.
    let summaries = poll_at(&config, at(10, 0)).await;
    assert_eq!(summaries[0].new, 1, "{summaries:?}");
    let state = schedule_of(dir.path(), "quiet");
    assert_eq!(state.next_poll_at, at(10, 15));
    assert_eq!(state.poll_interval_s, None);
    let first_news = state.last_new_at.expect("news recorded");

    // Then nothing new: each interval half as long again, on a quarter hour, up to 2 h.
    let mut due = state.next_poll_at;
    let mut gaps = Vec::new();
    for _ in 0..6 {
        let summaries = poll_at(&config, due).await;
        assert!(summaries[0].failure.is_none(), "{summaries:?}");
        assert_eq!(summaries[0].new, 0);
        let state = schedule_of(dir.path(), "quiet");
        let gap = (state.next_poll_at - due).num_minutes();
        assert!(is_quarter_hour(state.next_poll_at), "{state:?}");
        let interval = state.poll_interval_s.expect("stretched");
        assert!(
            (interval - gap * 60).abs() <= 1,
            "{interval} s vs {gap} min"
        );
        assert_eq!(state.last_new_at, Some(first_news), "no news since");
        gaps.push(gap);
        due = state.next_poll_at;
    }
    assert_eq!(gaps, [30, 45, 75, 120, 120, 120]);
    assert!(
        server.requests("/feed.xml").len() == 7,
        "one request per poll"
    );

    // `stats` shows the stretched interval.
    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_newsvault"))
        .arg("--database")
        .arg(dir.path().join("archive.sqlite3"))
        .arg("stats")
        .output()
        .expect("run newsvault stats");
    let text = String::from_utf8_lossy(&stats.stdout);
    assert!(
        text.contains("polled every 2h (stretched"),
        "stats lacks the interval:\n{text}"
    );

    // A new item brings the source back to its schedule at once.
    server.route("/feed.xml", conditional("two", &[second, first]));
    let summaries = poll_at(&config, due).await;
    assert_eq!(summaries[0].new, 1, "{summaries:?}");
    let state = schedule_of(dir.path(), "quiet");
    assert_eq!((state.next_poll_at - due).num_minutes(), 15);
    assert_eq!(state.poll_interval_s, None);
    assert!(state.last_new_at.is_some_and(|t| t >= due));
}

#[tokio::test]
async fn ttl_cache_control_and_expires_postpone_the_next_poll_within_the_maximum() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    // Every feed lists an item (whose page is missing): news, so only the server's own
    // lifetimes can move the next poll past the schedule.
    let item = |name: &str| vec![server.url(&format!("/missing/{name}"))];
    server.route(
        "/plain.xml",
        Reply::ok("application/rss+xml", feed(None, &item("plain"))),
    );
    server.route(
        "/ttl.xml",
        Reply::ok("application/rss+xml", feed(Some(100), &item("ttl"))),
    );
    server.route(
        "/year.xml",
        Reply::ok("application/rss+xml", feed(Some(525_600), &item("year"))),
    );
    let with_headers = |headers: Vec<(String, String)>, name: &str| Reply::Full {
        status: 200,
        headers: [(
            "Content-Type".to_string(),
            "application/rss+xml".to_string(),
        )]
        .into_iter()
        .chain(headers)
        .collect(),
        body: feed(None, &item(name)),
    };
    server.route(
        "/max-age.xml",
        with_headers(
            vec![("Cache-Control".into(), "public, max-age=5000".into())],
            "max-age",
        ),
    );
    let expires = (at(10, 0) + chrono::Duration::minutes(50))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    server.route(
        "/expires.xml",
        with_headers(vec![("Expires".into(), expires)], "expires"),
    );
    let sources: String = ["plain", "ttl", "year", "max-age", "expires"]
        .iter()
        .map(|name| {
            format!(
                "[[source]]\nname = \"{name}\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"*/15 * * * *\"\n",
                server.url(&format!("/{name}.xml"))
            )
        })
        .collect();
    let config = config(dir.path(), "[run]\nmax_interval = \"6h\"\n", &sources);

    let summaries = poll_at(&config, at(10, 0)).await;
    assert!(
        summaries
            .iter()
            .all(|s| s.failure.is_none() && s.errors == 1),
        "{summaries:?}"
    );
    let next = |name: &str| schedule_of(dir.path(), name).next_poll_at;
    assert_eq!(next("plain"), at(10, 15));
    // <ttl>100</ttl>: not before 11:40, so the 11:45 firing.
    assert_eq!(next("ttl"), at(11, 45));
    // max-age=5000 is 83 minutes and a bit; Expires is 50 minutes ahead.
    assert_eq!(next("max-age"), at(11, 30));
    assert_eq!(next("expires"), at(11, 0));
    // A ttl of a year is capped at max_interval.
    assert_eq!(next("year"), at(16, 0));
    // News keeps them on schedule otherwise: nothing was stretched.
    for name in ["plain", "ttl", "year", "max-age", "expires"] {
        assert_eq!(
            schedule_of(dir.path(), name).poll_interval_s,
            None,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_restart_keeps_a_stretched_interval_and_polls_nothing_early() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    server.route(
        "/feed.xml",
        Reply::ok(
            "application/rss+xml",
            feed(None, &[server.url("/missing/page")]),
        ),
    );
    let config = config(
        dir.path(),
        "",
        &format!(
            "[[source]]\nname = \"quiet\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"*/15 * * * *\"\n",
            server.url("/feed.xml")
        ),
    );
    // The missing page counts as news until it is given up (five attempts); from then on
    // the polls are quiet and the interval stretches.
    let mut due = at(10, 0);
    for _ in 0..7 {
        poll_at(&config, due).await;
        due = schedule_of(dir.path(), "quiet").next_poll_at;
    }
    let before = schedule_of(dir.path(), "quiet");
    let interval = before.poll_interval_s.expect("stretched by now");
    assert!(interval >= 45 * 60, "{before:?}");
    let requests = server.requests("/feed.xml").len();

    // Restart a minute after the last poll, on virtual time: the daemon waits for the
    // stretched due time instead of polling at once or on the next quarter hour.
    tokio::time::pause();
    let restart = due - chrono::Duration::seconds(interval) + chrono::Duration::minutes(1);
    let clock = Clock::starting_at(restart);
    let app = App::open(config.clone(), clock.clone())
        .await
        .expect("reopen");
    let (trigger, stop) = shutdown::channel();
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run(stop).await }
    });
    clock
        .sleep_until(before.next_poll_at - chrono::Duration::minutes(1))
        .await;
    trigger.trigger();
    let totals = daemon.await.expect("daemon task");
    assert_eq!(totals.polls, 0);
    assert_eq!(server.requests("/feed.xml").len(), requests);
    let after = schedule_of(dir.path(), "quiet");
    assert_eq!(after.next_poll_at, before.next_poll_at);
    assert_eq!(after.poll_interval_s, before.poll_interval_s);
}

fn closed_port_url(path: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}{path}")
}

fn feed_fetch_times(dir: &Path, source: &str) -> Vec<DateTime<Utc>> {
    open_db(dir)
        .prepare(
            "SELECT f.started_at FROM fetches f JOIN sources s ON s.id = f.source_id
             WHERE s.name = ?1 AND f.purpose = 'feed' ORDER BY f.id",
        )
        .expect("query")
        .query_map([source], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|t| from_db_time(&t.expect("row")).expect("time"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_restart_keeps_a_backoff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(
        dir.path(),
        "[run]\nbackoff_base = \"1h\"\nbackoff_max = \"6h\"\n",
        &format!(
            "[[source]]\nname = \"down\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"* * * * *\"\n",
            closed_port_url("/feed.xml")
        ),
    );
    let run_until = |start: DateTime<Utc>, until: DateTime<Utc>| {
        let config = config.clone();
        async move {
            let clock = Clock::starting_at(start);
            let app = App::open(config, clock.clone()).await.expect("open");
            let (trigger, stop) = shutdown::channel();
            let daemon = tokio::spawn({
                let app = app.clone();
                async move { app.run(stop).await }
            });
            clock.sleep_until(until).await;
            trigger.trigger();
            daemon.await.expect("daemon task")
        }
    };
    run_until(at(10, 0), at(10, 1)).await;
    assert_eq!(feed_fetch_times(dir.path(), "down").len(), 1);
    let backed_off = schedule_of(dir.path(), "down").next_poll_at;
    assert!(
        backed_off >= at(10, 30),
        "{backed_off}: a minute's schedule, an hour's backoff"
    );

    // Restarted two minutes later, the source is left alone until its backoff is over...
    run_until(at(10, 2), backed_off - chrono::Duration::minutes(1)).await;
    assert_eq!(feed_fetch_times(dir.path(), "down").len(), 1);
    assert_eq!(schedule_of(dir.path(), "down").next_poll_at, backed_off);
    assert_eq!(
        count(&open_db(dir.path()), "SELECT error_count FROM sources"),
        1
    );
    // ...and then polled.
    run_until(
        backed_off - chrono::Duration::seconds(30),
        backed_off + chrono::Duration::seconds(30),
    )
    .await;
    let times = feed_fetch_times(dir.path(), "down");
    assert_eq!(times.len(), 2);
    assert!(times[1] >= backed_off);
}

#[tokio::test(start_paused = true)]
async fn per_source_per_host_delay_spaces_requests_to_that_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two hosts (closed ports, so every request fails at once): two sources on each. On A
    // they ask for 30 s and 10 s between requests (the stricter wins); B keeps the global 0.
    let (a, b) = (closed_port_url(""), closed_port_url(""));
    let config = config(
        dir.path(),
        "connect_timeout = \"1s\"\nobey_robots = false\n[run]\nconcurrency = 4\n",
        &format!(
            "[[source]]\nname = \"a1\"\nurl = \"{a}/1.xml\"\nkind = \"feed\"\nper_host_delay = \"30s\"\n\
             [[source]]\nname = \"a2\"\nurl = \"{a}/2.xml\"\nkind = \"feed\"\nper_host_delay = \"10s\"\n\
             [[source]]\nname = \"b1\"\nurl = \"{b}/1.xml\"\nkind = \"feed\"\n\
             [[source]]\nname = \"b2\"\nurl = \"{b}/2.xml\"\nkind = \"feed\"\n"
        ),
    );
    let app = App::open(config, Clock::starting_at(at(10, 0)))
        .await
        .expect("open");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert!(
        summaries.iter().all(|s| s.failure.is_some()),
        "{summaries:?}"
    );
    let started = |name: &str| feed_fetch_times(dir.path(), name)[0];
    let a_gap = (started("a1") - started("a2")).abs();
    let b_gap = (started("b1") - started("b2")).abs();
    assert!(a_gap >= chrono::Duration::seconds(30), "A: {a_gap}");
    assert!(b_gap < chrono::Duration::seconds(10), "B: {b_gap}");
}

#[tokio::test]
async fn the_kind_is_detected_from_the_response_and_again_when_the_url_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let article = server.url("/pages/a.html");
    server.route(
        "/pages/a.html",
        Reply::ok("text/html", fixture("pages/bss-seed-lavrov-kim.html")),
    );
    // Content-Types that say nothing: the body decides.
    server.route("/feed", Reply::ok("text/xml", feed(None, &[])));
    server.route(
        "/news-sitemap",
        Reply::ok(
            "application/xml",
            format!(
                "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
                 <url><loc>{article}</loc></url></urlset>"
            ),
        ),
    );
    server.route(
        "/",
        Reply::ok(
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><head><title>Home</title></head><body><p>No news yet.</p></body></html>",
        ),
    );
    // The root's robots.txt names the sitemap; the root stays a page unless told.
    server.route(
        "/robots.txt",
        Reply::ok(
            "text/plain",
            format!(
                "User-agent: *\nAllow: /\nSitemap: {}\n",
                server.url("/news-sitemap")
            ),
        ),
    );
    let sources = |auto_feed_path: &str| {
        format!(
            "[[source]]\nname = \"auto-feed\"\nurl = \"{}\"\n\
             [[source]]\nname = \"auto-sitemap\"\nurl = \"{}\"\n\
             [[source]]\nname = \"auto-page\"\nurl = \"{}\"\n\
             [[source]]\nname = \"told\"\nurl = \"{}\"\nkind = \"sitemap\"\n",
            server.url(auto_feed_path),
            server.url("/news-sitemap"),
            server.url("/"),
            server.url("/")
        )
    };
    let kinds = || -> Vec<(String, String, bool)> {
        open_db(dir.path())
            .prepare("SELECT name, kind, kind_detected_at IS NOT NULL FROM sources ORDER BY name")
            .expect("query")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let owned = |rows: &[(&str, &str, bool)]| -> Vec<(String, String, bool)> {
        rows.iter()
            .map(|(n, k, d)| (n.to_string(), k.to_string(), *d))
            .collect()
    };

    let first = config(dir.path(), "", &sources("/feed"));
    let app = App::open(first.clone(), Clock::System).await.expect("open");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert!(
        summaries.iter().all(|s| s.failure.is_none()),
        "{summaries:?}"
    );
    assert_eq!(
        kinds(),
        owned(&[
            ("auto-feed", "feed", true),
            ("auto-page", "page", true),
            ("auto-sitemap", "sitemap", true),
            ("told", "sitemap", false),
        ])
    );
    // The detected feed was read from the response that told what it is: one request.
    assert_eq!(server.requests("/feed").len(), 1);
    // The sitemap's article was archived (once, though two sources list it).
    assert_eq!(
        count(&open_db(dir.path()), "SELECT count(*) FROM articles"),
        1
    );
    let detected_at = |name: &str| -> String {
        open_db(dir.path())
            .query_row(
                "SELECT kind_detected_at FROM sources WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .expect("detected")
    };
    let page_detected = detected_at("auto-page");

    // Detected once: the next poll asks no more than a poll of a configured kind.
    app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert_eq!(detected_at("auto-page"), page_detected);
    assert_eq!(server.requests("/feed").len(), 2);

    // The URL changes: detected again.
    let second = config(dir.path(), "", &sources("/news-sitemap"));
    let app = App::open(second, Clock::System).await.expect("reopen");
    assert_eq!(
        kinds()[0],
        ("auto-feed".to_string(), "feed".to_string(), false)
    );
    let summaries = app
        .poll(&["auto-feed".to_string()], &Shutdown::never())
        .await
        .expect("poll");
    assert!(summaries[0].failure.is_none(), "{summaries:?}");
    assert_eq!(
        kinds()[0],
        ("auto-feed".to_string(), "sitemap".to_string(), true)
    );

    // A body that is none of the three is a clear error naming the source's URL.
    server.route(
        "/blob",
        Reply::ok("application/octet-stream", vec![0u8, 159, 146, 150]),
    );
    let third = config(
        dir.path(),
        "",
        &format!(
            "[[source]]\nname = \"blob\"\nurl = \"{}\"\n",
            server.url("/blob")
        ),
    );
    let app = App::open(third, Clock::System).await.expect("reopen");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    let failure = summaries[0].failure.as_deref().expect("undetectable");
    assert!(
        failure.contains(&server.url("/blob")) && failure.contains("neither a feed"),
        "{failure}"
    );
}

#[tokio::test]
async fn redirects_pass_the_gate_and_robots_txt_of_the_host_they_lead_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two hosts (two ports): A redirects, B's robots.txt closes /private/.
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    b.route(
        "/robots.txt",
        Reply::ok("text/plain", "User-agent: *\nDisallow: /private/\n"),
    );
    b.route(
        "/private/feed.xml",
        Reply::ok("application/rss+xml", feed(None, &[])),
    );
    b.route(
        "/feed.xml",
        Reply::ok("application/rss+xml", feed(None, &[])),
    );
    let redirect = |status: u16, to: String| Reply::Full {
        status,
        headers: vec![("Location".into(), to)],
        body: Vec::new(),
    };
    a.route("/to-private", redirect(302, b.url("/private/feed.xml")));
    a.route("/to-open", redirect(301, b.url("/feed.xml")));
    // A loop across the two hosts, and a redirect to something that is no web URL.
    a.route("/loop", redirect(302, b.url("/loop")));
    b.route("/loop", redirect(307, a.url("/loop")));
    a.route(
        "/to-mail",
        redirect(302, "mailto:editor@example.org".into()),
    );
    let sources: String = ["to-private", "to-open", "loop", "to-mail"]
        .iter()
        .map(|name| {
            format!(
                "[[source]]\nname = \"{name}\"\nurl = \"{}\"\nkind = \"feed\"\n",
                a.url(&format!("/{name}"))
            )
        })
        .collect();
    let app = App::open(config(dir.path(), "", &sources), Clock::System)
        .await
        .expect("open");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    let failure = |name: &str| {
        summaries
            .iter()
            .find(|s| s.source == name)
            .unwrap_or_else(|| panic!("no summary for {name}"))
            .failure
            .clone()
    };

    // The disallowed target is never asked for; B's robots.txt was read (once).
    let private = failure("to-private").expect("refused");
    assert!(
        private.contains("disallowed by") && private.contains(&b.url("/robots.txt")),
        "{private}"
    );
    assert!(b.requests("/private/feed.xml").is_empty());
    assert_eq!(b.requests("/robots.txt").len(), 1);
    assert_eq!(a.requests("/to-private").len(), 1);

    // An allowed redirect is followed; the request log has where it ended.
    assert_eq!(failure("to-open"), None);
    assert_eq!(b.requests("/feed.xml").len(), 1);
    let final_url: String = open_db(dir.path())
        .query_row(
            "SELECT final_url FROM fetches WHERE url = ?1",
            [a.url("/to-open")],
            |r| r.get(0),
        )
        .expect("logged");
    assert_eq!(final_url, b.url("/feed.xml"));

    // The loop is named with its chain and stopped at the first repeat.
    let looped = failure("loop").expect("loop fails");
    assert!(
        looped.contains("redirect loop")
            && looped.contains(&format!(
                "{} -> {} -> {}",
                a.url("/loop"),
                b.url("/loop"),
                a.url("/loop")
            )),
        "{looped}"
    );
    assert_eq!(
        (a.requests("/loop").len(), b.requests("/loop").len()),
        (1, 1)
    );

    let mail = failure("to-mail").expect("bad redirect fails");
    assert!(
        mail.contains("mailto:") && mail.contains("not an http"),
        "{mail}"
    );
}

#[test]
fn per_source_politeness_and_interval_keys_are_validated() {
    let bad = |line: &str| {
        let text = format!("[[source]]\nname = \"s\"\nurl = \"https://example.org/\"\n{line}\n");
        match Config::parse(&text, Path::new("t.toml")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{line} accepted"),
        }
    };
    assert!(bad("per_host_requests = 0").contains("source[0] (s).per_host_requests"));
    assert!(bad("per_host_delay = \"soon\"").contains("source[0] (s).per_host_delay"));
    assert!(bad("max_interval = \"0s\"").contains("source[0] (s).max_interval"));
    let config = Config::parse(
        "[run]\nmax_interval = \"90m\"\n[[source]]\nname = \"s\"\nurl = \"https://example.org/\"\nper_host_delay = \"0s\"\n",
        Path::new("t.toml"),
    )
    .expect("valid");
    assert_eq!(config.run.max_interval, Duration::from_secs(90 * 60));
    assert_eq!(config.sources[0].per_host_delay, Some(Duration::ZERO));
    assert_eq!(config.sources[0].kind, None);
}
