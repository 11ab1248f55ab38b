//! Several nodes on one PostgreSQL database: what a node refuses before it claims any
//! work (a database of an older or newer schema, a wrong URL or password), `newsvault
//! upgrade`, and a database restarted under a running daemon, which logs, backs off,
//! reconnects and carries on without losing or duplicating an article. Each test starts
//! its own throwaway server (tests/common/postgres.rs).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::postgres::{PASSWORD_USER, TestPostgres};
use common::process::{Event, Events, newsvault, reap, terminate};
use common::{Reply, TestServer, fixture, rss};
use newsvault::store::{PG_SCHEMA_VERSION, Store, StoreError};

/// Runs `sql` on the database at `url`.
async fn execute(url: &str, sql: &str) {
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

/// The single number `sql` selects on the database at `url`.
async fn number(url: &str, sql: &str) -> i64 {
    try_number(url, sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// [`number`], or why it could not be read (the server down, the table not there yet).
async fn try_number(url: &str, sql: &str) -> Result<i64, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    let value = client
        .query_one(sql, &[])
        .await
        .and_then(|row| row.try_get(0));
    drop(client);
    let _ = driver.await;
    value
}

fn start_server() -> Option<TestPostgres> {
    common::postgres::start()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_schema_is_refused_until_upgraded() {
    let Some(server) = start_server() else {
        return;
    };
    let url = server.create_database().await;
    // A database a first release of the PostgreSQL backend created: schema version 1.
    execute(
        &url,
        &format!(
            "CREATE TABLE schema_migrations (
                 version    bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );
             {}
             INSERT INTO schema_migrations (version) VALUES (1);",
            include_str!("../src/store/postgres/0001_initial.sql")
        ),
    )
    .await;

    let error = Store::open(Path::new(&url))
        .await
        .expect_err("an older schema is refused");
    let message = error.to_string();
    assert!(
        matches!(error, StoreError::Incompatible { .. }),
        "{error:?}"
    );
    assert!(
        message.contains("schema version 1 is older") && message.contains("newsvault upgrade"),
        "{message}"
    );
    assert_eq!(
        number(&url, "SELECT max(version) FROM schema_migrations").await,
        1,
        "nothing written"
    );

    // The daemon refuses it too, before it claims anything, and says what to do.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("newsvault.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\ndatabase = {url:?}\n\
             [[source]]\nname = \"a\"\nurl = \"http://127.0.0.1:9/feed.xml\"\nkind = \"feed\"\n"
        ),
    )
    .expect("write config");
    let output = newsvault()
        .arg("--config")
        .arg(&config)
        .arg("run")
        .output()
        .expect("run newsvault");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("newsvault upgrade"), "{stderr}");
    assert_eq!(number(&url, "SELECT count(*) FROM sources").await, 0);

    let output = newsvault()
        .args(["upgrade", "--database", &url])
        .output()
        .expect("run newsvault upgrade");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(&format!("schema version 1 upgraded to {PG_SCHEMA_VERSION}")),
        "{stdout}"
    );
    assert_eq!(
        number(&url, "SELECT max(version) FROM schema_migrations").await,
        PG_SCHEMA_VERSION
    );
    let store = Store::open(Path::new(&url)).await.expect("open upgraded");
    assert!(store.nodes().await.expect("nodes").is_empty());
    let output = newsvault()
        .args(["upgrade", "--database", &url])
        .output()
        .expect("run newsvault upgrade again");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("up to date"),
        "{output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused() {
    let Some(server) = start_server() else {
        return;
    };
    let url = server.create_database().await;
    Store::open(Path::new(&url)).await.expect("initialise");
    let newer = PG_SCHEMA_VERSION + 1;
    execute(
        &url,
        &format!("INSERT INTO schema_migrations (version) VALUES ({newer})"),
    )
    .await;
    let error = Store::open(Path::new(&url))
        .await
        .expect_err("a newer schema is refused");
    let message = error.to_string();
    assert!(
        message.contains(&format!("schema version {newer} is newer")),
        "{message}"
    );
    assert!(
        matches!(error, StoreError::Incompatible { .. }),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_url_or_password_is_a_clear_error() {
    let Some(server) = start_server() else {
        return;
    };
    let url = server.create_database().await;
    let name = url.rsplit('/').next().expect("database name").to_string();
    server.add_password_user("right-password", &name).await;
    let port = server.port();

    let wrong_password =
        format!("postgres://{PASSWORD_USER}:wrong-password@127.0.0.1:{port}/{name}");
    let message = Store::open(Path::new(&wrong_password))
        .await
        .expect_err("a wrong password")
        .to_string();
    assert!(
        message.contains("password authentication failed"),
        "{message}"
    );
    assert!(
        !message.contains("wrong-password"),
        "the password leaked: {message}"
    );

    let no_database = format!("postgres://postgres@127.0.0.1:{port}/no_such_database");
    let message = Store::open(Path::new(&no_database))
        .await
        .expect_err("a database that does not exist")
        .to_string();
    assert!(
        message.contains("no_such_database") && message.contains("does not exist"),
        "{message}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let nobody = format!("postgres://postgres@127.0.0.1:{closed}/{name}");
    let message = Store::open(Path::new(&nobody))
        .await
        .expect_err("no server there")
        .to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{closed}")) && message.contains("connect"),
        "{message}"
    );

    // The right password works, and the daemon's error names the database, not the
    // password.
    let right = format!("postgres://{PASSWORD_USER}:right-password@127.0.0.1:{port}/{name}");
    execute(
        &url,
        &format!("GRANT ALL ON SCHEMA public TO {PASSWORD_USER}"),
    )
    .await;
    Store::open(Path::new(&right))
        .await
        .expect("the right password");
    let output = newsvault()
        .args(["upgrade", "--database", &wrong_password])
        .output()
        .expect("run newsvault");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("password authentication failed") && !stderr.contains("wrong-password"),
        "{stderr}"
    );
}

/// Waits until `check` holds, asking again every 100 ms, for at most two minutes.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check().await {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits for a log line of the child containing `needle`; `None` if it exits first.
fn wait_line(events: &Events, pid: u32, needle: &str) -> Option<String> {
    loop {
        match events.next() {
            Event::Line(from, line) if from == pid && line.contains(needle) => return Some(line),
            Event::Exited(from) if from == pid => return None,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_is_ridden_out_without_loss_or_duplicates() {
    let Some(server) = start_server() else {
        return;
    };
    let url = server.create_database().await;
    let web = TestServer::start().await;
    let pages = [
        "bss-seed-lavrov-kim.html",
        "nabadiganta-mango-market.html",
        "dakshinbanga-science-fair.html",
        "meghnaprotidin-book-fair.html",
        "ukbdnews-mp-brother-killed-kushtia.html",
        "bss-en-homestead-gardening-rajshahi.html",
    ];
    for page in pages {
        web.route(
            &format!("/pages/{page}"),
            Reply::ok("text/html", fixture(&format!("pages/{page}"))),
        );
    }
    let links: Vec<String> = pages
        .iter()
        .map(|p| web.url(&format!("/pages/{p}")))
        .collect();
    let feed = |count: usize| {
        let items: Vec<(Option<&str>, &str)> =
            links[..count].iter().map(|l| (None, l.as_str())).collect();
        Reply::ok("application/rss+xml", rss(&items))
    };
    web.route("/feed.xml", feed(3));

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("newsvault.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\ndatabase = {url:?}\n\
             [http]\ntimeout = \"5s\"\nper_host_delay = \"0s\"\nobey_robots = false\n\
             [run]\nbackoff_base = \"1s\"\nbackoff_max = \"2s\"\nshutdown_grace = \"5s\"\n\
             [cluster]\nnode = \"restart-test\"\nlease = \"3s\"\n\
             [[source]]\nname = \"site\"\nurl = \"{}\"\nkind = \"feed\"\n\
             schedule = \"*/2 * * * * *\"\nmax_age = \"36500d\"\nallow_private = true\n",
            web.url("/feed.xml")
        ),
    )
    .expect("write config");

    let events = Events::new();
    let mut command = newsvault();
    command.arg("--config").arg(&config).arg("run");
    let mut child = events.spawn(&mut command);
    let articles = || number(&url, "SELECT count(*) FROM articles");
    eventually("the first three articles", || async {
        try_number(&url, "SELECT count(*) FROM articles").await.ok() == Some(3)
    })
    .await;

    // The database goes away under the running daemon.
    server.stop();
    let first = wait_line(&events, child.pid, "cannot claim due sources")
        .unwrap_or_else(|| panic!("the node logs the outage: {}", child.stderr()));
    assert!(first.contains(r#""retry":"1s""#), "{first}");
    // It backs off, waiting longer before each attempt, and keeps running.
    let second = wait_line(&events, child.pid, "cannot claim due sources")
        .unwrap_or_else(|| panic!("the node retries: {}", child.stderr()));
    assert!(second.contains(r#""retry":"2s""#), "{second}");
    assert!(
        child.process.try_wait().expect("try_wait").is_none(),
        "the daemon keeps running: {}",
        child.stderr()
    );
    // The feed grows while the database is down.
    web.route("/feed.xml", feed(6));

    server.start();
    eventually("all six articles after the restart", || async {
        try_number(&url, "SELECT count(*) FROM articles").await.ok() == Some(6)
    })
    .await;
    // Let it poll a few more times: nothing is archived twice.
    let polls_before = web.requests("/feed.xml").len();
    eventually("two more polls", || {
        let polls = web.requests("/feed.xml").len();
        async move { polls >= polls_before + 2 }
    })
    .await;
    terminate(&child);
    let ended = reap(&mut child);
    let stderr = child.stderr();
    assert_eq!(ended.code, Some(0), "{stderr}");

    assert_eq!(articles().await, 6, "{stderr}");
    assert_eq!(
        number(&url, "SELECT count(DISTINCT canonical_url) FROM articles").await,
        6
    );
    assert_eq!(number(&url, "SELECT count(*) FROM captures").await, 6);
    assert_eq!(number(&url, "SELECT count(*) FROM feed_items").await, 6);
    assert_eq!(
        number(
            &url,
            "SELECT count(*) FROM sources WHERE lease_node IS NOT NULL"
        )
        .await,
        0,
        "a clean stop gives the leases up"
    );
    assert_eq!(
        number(
            &url,
            "SELECT count(*) FROM nodes WHERE name = 'restart-test' AND stopped_at IS NOT NULL"
        )
        .await,
        1
    );
}
