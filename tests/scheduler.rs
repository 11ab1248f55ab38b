//! The daemon's schedule on tokio's paused time: sources are polled when their cron line
//! says, a restart polls what fell due while it was down, shutdown is prompt, and no more
//! sources are claimed than there are free poll slots. Most sources point at a closed
//! local port, so every poll fails at once without waiting on the network; the request
//! log counts the polls.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use common::{Reply, TestServer, count, open_db};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown;

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/feed.xml")
}

fn config(dir: &Path) -> Config {
    let url = closed_port_url();
    let text = format!(
        "[archive]\ndatabase = {:?}\n[run]\nbackoff_base = \"0s\"\n\
         [[source]]\nname = \"quarter\"\nurl = \"{url}\"\nschedule = \"*/15 * * * *\"\n\
         [[source]]\nname = \"hourly\"\nurl = \"{url}\"\nschedule = \"0 * * * *\"\n\
         [[source]]\nname = \"dhaka-six\"\nurl = \"{url}\"\nschedule = \"0 6 * * *\"\ntimezone = \"Asia/Dhaka\"\n\
         [[source]]\nname = \"off\"\nurl = \"{url}\"\nenabled = false\n",
        dir.join("archive.sqlite3").to_string_lossy()
    );
    Config::parse(&text, Path::new("test.toml")).expect("valid config")
}

fn polls(dir: &Path, source: &str) -> i64 {
    count(
        &open_db(dir),
        &format!(
            "SELECT count(*) FROM fetches f JOIN sources s ON s.id = f.source_id WHERE s.name = '{source}' AND f.purpose = 'feed'"
        ),
    )
}

#[tokio::test(start_paused = true)]
async fn sources_are_polled_on_their_schedules() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 10:07 UTC is 16:07 in Dhaka.
    let start = Utc
        .with_ymd_and_hms(2025, 7, 12, 10, 7, 0)
        .single()
        .expect("valid");
    let clock = Clock::starting_at(start);
    let app = App::open(config(dir.path()), clock.clone())
        .await
        .expect("open");

    let (trigger, stop) = shutdown::channel();
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run(stop).await }
    });
    // Run two virtual hours, then stop: 10:07 -> 12:07.
    clock.sleep_until(start + chrono::Duration::hours(2)).await;
    trigger.trigger();
    let totals = tokio::time::timeout(Duration::from_secs(30), daemon)
        .await
        .expect("daemon stops promptly")
        .expect("daemon task");

    // New sources are polled at once, then on schedule:
    // quarter: 10:07, then 10:15 ... 12:00 (8 more); hourly: 10:07, 11:00, 12:00;
    // dhaka-six: 10:07 only (next is 06:00 Dhaka = 00:00 UTC tomorrow); off: never.
    assert_eq!(polls(dir.path(), "quarter"), 9);
    assert_eq!(polls(dir.path(), "hourly"), 3);
    assert_eq!(polls(dir.path(), "dhaka-six"), 1);
    assert_eq!(polls(dir.path(), "off"), 0);
    assert_eq!(totals.polls, 13);
    assert_eq!(totals.failed_polls, 13);

    let db = open_db(dir.path());
    let next: String = db
        .query_row(
            "SELECT next_poll_at FROM sources WHERE name = 'dhaka-six'",
            [],
            |r| r.get(0),
        )
        .expect("next poll");
    assert_eq!(next, "2025-07-13T00:00:00.000Z");
    assert_eq!(
        count(
            &db,
            "SELECT error_count FROM sources WHERE name = 'quarter'"
        ),
        9,
        "every failed poll is counted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_polls_what_fell_due_while_down_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Utc
        .with_ymd_and_hms(2025, 7, 12, 10, 7, 0)
        .single()
        .expect("valid");
    let clock = Clock::starting_at(start);
    let app = App::open(config(dir.path()), clock.clone())
        .await
        .expect("open");
    let (trigger, stop) = shutdown::channel();
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run(stop).await }
    });
    clock
        .sleep_until(start + chrono::Duration::minutes(1))
        .await;
    trigger.trigger();
    daemon.await.expect("daemon task");
    assert_eq!(polls(dir.path(), "hourly"), 1);

    // Down for five hours; on restart each source is polled once, not once per missed slot.
    let later = start + chrono::Duration::hours(5);
    let clock = Clock::starting_at(later);
    let app = App::open(config(dir.path()), clock.clone())
        .await
        .expect("reopen");
    let (trigger, stop) = shutdown::channel();
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run(stop).await }
    });
    clock
        .sleep_until(later + chrono::Duration::minutes(1))
        .await;
    trigger.trigger();
    daemon.await.expect("daemon task");
    assert_eq!(polls(dir.path(), "hourly"), 2);
    assert_eq!(polls(dir.path(), "quarter"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failing_source_backs_off_exponentially_up_to_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "[archive]\ndatabase = {:?}\n[run]\nbackoff_base = \"1m\"\nbackoff_max = \"30m\"\n\
         [[source]]\nname = \"flaky\"\nurl = \"{}\"\nschedule = \"* * * * *\"\n",
        dir.path().join("archive.sqlite3").to_string_lossy(),
        closed_port_url()
    );
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let start = Utc
        .with_ymd_and_hms(2025, 7, 12, 10, 0, 30)
        .single()
        .expect("valid");
    let clock = Clock::starting_at(start);
    let app = App::open(config, clock.clone()).await.expect("open");
    let (trigger, stop) = shutdown::channel();
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run(stop).await }
    });
    clock.sleep_until(start + chrono::Duration::hours(4)).await;
    trigger.trigger();
    daemon.await.expect("daemon task");

    let db = open_db(dir.path());
    let times: Vec<chrono::DateTime<Utc>> = db
        .prepare("SELECT started_at FROM fetches WHERE purpose = 'feed' ORDER BY id")
        .expect("query")
        .query_map([], |r| r.get::<_, String>(0))
        .expect("rows")
        .map(|t| newsvault::clock::from_db_time(&t.expect("row")).expect("time"))
        .collect();
    // Every minute without backoff would be 240 polls.
    assert!(times.len() > 6 && times.len() < 20, "{} polls", times.len());
    for (n, pair) in times.windows(2).enumerate() {
        let failures = n as i32 + 1;
        let full = (60 * 2i64.pow(failures.min(10) as u32 - 1)).min(1800);
        let gap = (pair[1] - pair[0]).num_seconds();
        assert!(
            gap >= full / 2 && gap <= full + 60,
            "gap {n}: {gap}s for a backoff of at most {full}s"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn no_more_sources_are_claimed_than_there_are_free_poll_slots() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Every feed request stalls until the 30 s request timeout: each poll takes that long.
    let server = TestServer::start().await;
    server.fallback(|_| Reply::Stall {
        declared: 1000,
        headers: vec![("Content-Type".into(), "application/rss+xml".into())],
        body: b"<rss>".to_vec(),
    });
    let mut text = format!(
        "[archive]\ndatabase = {:?}\n[http]\ntimeout = \"30s\"\nper_host_requests = 20\n\
         per_host_delay = \"0s\"\nobey_robots = false\n[run]\nconcurrency = 3\nbackoff_base = \"0s\"\n",
        dir.path().join("archive.sqlite3").to_string_lossy()
    );
    for i in 0..10 {
        text.push_str(&format!(
            "[[source]]\nname = \"s{i}\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"0 0 * * *\"\nallow_private = true\n",
            server.url(&format!("/feed{i}.xml"))
        ));
    }
    let config = Config::parse(&text, Path::new("test.toml")).expect("valid config");
    let start = Utc
        .with_ymd_and_hms(2025, 7, 12, 10, 7, 0)
        .single()
        .expect("valid");
    let clock = Clock::starting_at(start);
    let app = App::open(config, clock.clone()).await.expect("open");
    let (trigger, stop) = shutdown::channel();
    let daemon = tokio::spawn({
        let app = app.clone();
        async move { app.run(stop).await }
    });

    let leased = |dir: &Path| {
        count(
            &open_db(dir),
            "SELECT count(*) FROM sources WHERE lease_node IS NOT NULL",
        )
    };
    clock
        .sleep_until(start + chrono::Duration::seconds(10))
        .await;
    assert_eq!(leased(dir.path()), 3, "one claim per free slot");
    assert_eq!(
        count(
            &open_db(dir.path()),
            "SELECT count(*) FROM sources WHERE lease_node IS NULL AND last_polled_at IS NULL"
        ),
        7,
        "the other sources wait unclaimed in the database, not in memory"
    );
    // Look every five seconds while the ten polls run three at a time.
    for step in 3..30 {
        clock
            .sleep_until(start + chrono::Duration::seconds(5 * step))
            .await;
        assert!(leased(dir.path()) <= 3, "at {}s", 5 * step);
    }
    trigger.trigger();
    let totals = daemon.await.expect("daemon task");
    assert_eq!(totals.polls, 10);
    assert_eq!(totals.failed_polls, 10);
    assert_eq!(leased(dir.path()), 0, "finished polls give their leases up");
    let mut paths: Vec<String> = server.all_requests().into_iter().map(|r| r.path).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 10, "each source polled once: {paths:?}");
}

#[tokio::test(start_paused = true)]
async fn the_sources_of_a_node_that_died_are_taken_over_once_its_lease_runs_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The feed never answers in full: a poll holds its lease until the 30 s timeout.
    let server = TestServer::start().await;
    server.fallback(|_| Reply::Stall {
        declared: 1000,
        headers: vec![("Content-Type".into(), "application/rss+xml".into())],
        body: b"<rss>".to_vec(),
    });
    let config = |node: &str| {
        let text = format!(
            "[archive]\ndatabase = {:?}\n[http]\ntimeout = \"30s\"\nobey_robots = false\n\
             [cluster]\nnode = \"{node}\"\nlease = \"10s\"\n\
             [[source]]\nname = \"only\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"0 0 * * *\"\n",
            dir.path().join("archive.sqlite3").to_string_lossy(),
            server.url("/feed.xml")
        );
        Config::parse(&text, Path::new("test.toml")).expect("valid config")
    };
    let start = Utc
        .with_ymd_and_hms(2025, 7, 12, 10, 7, 0)
        .single()
        .expect("valid");
    let clock = Clock::starting_at(start);
    let feed_requests = || server.requests("/feed.xml").len();

    let first = App::open(config("first"), clock.clone())
        .await
        .expect("open first");
    let (_never, stop_first) = shutdown::channel();
    let dying = tokio::spawn(async move { first.run(stop_first).await });
    clock
        .sleep_until(start + chrono::Duration::seconds(1))
        .await;
    assert_eq!(feed_requests(), 1);
    // The first node dies mid-poll: no clean stop, its lease stays behind.
    dying.abort();
    assert!(dying.await.expect_err("aborted").is_cancelled());

    let second = App::open(config("second"), clock.clone())
        .await
        .expect("open second");
    let (trigger, stop_second) = shutdown::channel();
    let daemon = tokio::spawn({
        let second = second.clone();
        async move { second.run(stop_second).await }
    });
    clock
        .sleep_until(start + chrono::Duration::seconds(9))
        .await;
    assert_eq!(feed_requests(), 1, "the lease still holds");
    clock
        .sleep_until(start + chrono::Duration::seconds(12))
        .await;
    assert_eq!(feed_requests(), 2, "taken over once the lease ran out");
    let lease_node: String = open_db(dir.path())
        .query_row(
            "SELECT lease_node FROM sources WHERE name = 'only'",
            [],
            |r| r.get(0),
        )
        .expect("lease");
    assert_eq!(lease_node, "second");
    trigger.trigger();
    daemon.await.expect("daemon task");
}
