//! Politeness across nodes: several fetchers, each with a gate of its own as a separate
//! node would have, sharing one PostgreSQL archive (a server the test starts, see
//! tests/common/postgres.rs) and one local web server that records when each request
//! arrived and when its reply began. The per-host limits must hold for the nodes together:
//! requests in flight, spacing of starts, Retry-After seen by another node, a slot left
//! behind by a node that died, and robots.txt fetched once for all; and two daemons
//! (`App`s, as `newsvault run` builds them) polling one source. A SQLite archive has no
//! cluster.
//!
//! Real time throughout (reqwest does not run on paused time); the test waits only for the
//! requests it makes, and every assertion is on what the server recorded.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::fetch::gate::{Gate, GateLimits};
use newsvault::fetch::{FetchError, Fetcher, Purpose, Validators};
use newsvault::shutdown::Shutdown;
use newsvault::store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// How much closer together two request starts may arrive than the host's delay. The
/// cluster grants starts by the database's clock; a node then opens its connection and
/// sends, which takes each node a slightly different time (a few ms on loopback, more on a
/// loaded machine), so arrivals at the server may be that much closer than the grants.
/// Without shared spacing, starts from different nodes would arrive together (0 ms apart).
const ARRIVAL_SLACK: Duration = Duration::from_millis(100);

/// One request as the server saw it: its path, when it arrived, and when the reply began
/// (the server counts it as out of flight from then, before the client can have it).
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    arrived: Instant,
}

/// A local site that holds every request for `hold` before answering, and records them.
#[derive(Clone)]
struct Site {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Site {
    async fn start(hold: Duration) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let site = Site {
            addr: listener.local_addr().expect("address"),
            seen: Arc::default(),
            in_flight: Arc::default(),
            peak: Arc::default(),
        };
        let shared = site.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(shared.clone().serve(stream, hold));
            }
        });
        site
    }

    async fn serve(self, mut stream: tokio::net::TcpStream, hold: Duration) {
        let mut head = Vec::new();
        let mut buffer = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let arrived = Instant::now();
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let text = String::from_utf8_lossy(&head);
        let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
        self.seen.lock().expect("seen").push(Seen {
            path: path.clone(),
            arrived,
        });
        tokio::time::sleep(hold).await;
        let (status, extra, content_type, body) = match path.as_str() {
            "/robots.txt" => (
                "200 OK",
                "",
                "text/plain",
                "User-agent: *\nDisallow: /private\n".to_string(),
            ),
            "/limited" => (
                "429 Too Many Requests",
                "Retry-After: 1\r\n",
                "text/plain",
                "slow down".to_string(),
            ),
            "/feed.xml" | "/other-feed.xml" => ("200 OK", "", "application/rss+xml", self.feed()),
            _ => ("200 OK", "", "text/html", article(&path)),
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let reply = format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    /// An RSS feed of two articles on this site.
    fn feed(&self) -> String {
        let items: String = (1..=2)
            .map(|i| {
                let link = format!("http://{}/article-{i}", self.addr);
                format!(
                    "<item><title>Article {i}</title><link>{link}</link><guid>{link}</guid></item>"
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><link>http://{}/</link><description>d</description>{items}</channel></rss>",
            self.addr
        )
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("valid URL")
    }

    fn host(&self) -> String {
        self.addr.to_string()
    }

    fn seen(&self) -> Vec<Seen> {
        let mut seen = self.seen.lock().expect("seen").clone();
        seen.sort_by_key(|s| s.arrived);
        seen
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// An article page whose text names its path.
fn article(path: &str) -> String {
    let paragraph = format!(
        "<p>This is the article at {path}, with enough words in it to be read as the text of a news article by the extractor, and then some more words.</p>"
    );
    format!(
        "<html><head><title>{path}</title></head><body><article><h1>{path}</h1>{}</article></body></html>",
        paragraph.repeat(4)
    )
}

/// One node: its own archive connection pool, fetcher and gate, sharing the database.
async fn node(database: &str, http: &str, site: &Site) -> Fetcher {
    let text = format!("[archive]\ndatabase = {database:?}\n[http]\ntimeout = \"10s\"\n{http}\n");
    let config = Config::parse(&text, std::path::Path::new("test.toml")).expect("valid config");
    let store = Store::open(&config.archive.database)
        .await
        .expect("open the archive");
    let cluster = store
        .cluster_politeness(Duration::from_secs(40))
        .expect("a PostgreSQL archive has cluster politeness");
    let fetcher = Fetcher::new(&config.http, Clock::System)
        .expect("fetcher")
        .with_cluster(cluster);
    fetcher.trust_host_of(&site.url("/"));
    fetcher
}

/// Sends `count` requests for `path` from each node, all at once, and checks each was
/// answered.
async fn crawl(nodes: &[Fetcher], site: &Site, count: usize) {
    let mut requests = tokio::task::JoinSet::new();
    for (n, fetcher) in nodes.iter().enumerate() {
        for i in 0..count {
            let (fetcher, url) = (fetcher.clone(), site.url(&format!("/page-{n}-{i}")));
            requests.spawn(async move {
                let fetched = fetcher
                    .get(&url, Purpose::Page, &Validators::default())
                    .await;
                (url, fetched.result.map(|r| r.status))
            });
        }
    }
    while let Some(done) = requests.join_next().await {
        let (url, result) = done.expect("request task");
        assert_eq!(result, Ok(200), "{url}");
    }
}

/// A fresh database on a throwaway server, or `None` when the test is skipped.
async fn database() -> Option<(common::postgres::TestPostgres, String)> {
    let server = common::postgres::start()?;
    let url = server.create_database().await;
    Some((server, url))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_send_one_request_at_a_time_spaced_by_the_delay() {
    let Some((_server, database)) = database().await else {
        return;
    };
    let site = Site::start(Duration::from_millis(100)).await;
    let http = "per_host_requests = 1\nper_host_delay = \"400ms\"\nobey_robots = false";
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node(&database, http, &site).await);
    }
    crawl(&nodes, &site, 2).await;
    let seen = site.seen();
    assert_eq!(seen.len(), 6);
    assert_eq!(site.peak(), 1, "more than one request in flight: {seen:?}");
    for pair in seen.windows(2) {
        let gap = pair[1].arrived - pair[0].arrived;
        assert!(
            gap + ARRIVAL_SLACK >= Duration::from_millis(400),
            "{} arrived {gap:?} after {}",
            pair[1].path,
            pair[0].path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_slots_per_host_are_two_for_the_whole_cluster() {
    let Some((_server, database)) = database().await else {
        return;
    };
    let site = Site::start(Duration::from_millis(200)).await;
    let http = "per_host_requests = 2\nper_host_delay = \"0s\"\nobey_robots = false";
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(node(&database, http, &site).await);
    }
    crawl(&nodes, &site, 3).await;
    assert_eq!(site.seen().len(), 9);
    // Each node may have two in flight on its own: only the cluster keeps the sum at two.
    assert!(
        site.peak() <= 2,
        "{} requests in flight at once",
        site.peak()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_after_told_to_one_node_keeps_the_other_away() {
    let Some((_server, database)) = database().await else {
        return;
    };
    let site = Site::start(Duration::ZERO).await;
    let http = "per_host_requests = 1\nper_host_delay = \"0s\"\nobey_robots = false";
    let a = node(&database, http, &site).await;
    let b = node(&database, http, &site).await;
    let limited = a
        .get(&site.url("/limited"), Purpose::Page, &Validators::default())
        .await;
    assert_eq!(limited.result.map(|r| r.status), Ok(429));
    let page = b
        .get(&site.url("/page"), Purpose::Page, &Validators::default())
        .await;
    assert_eq!(page.result.map(|r| r.status), Ok(200));
    let seen = site.seen();
    assert_eq!(seen.len(), 2);
    // The 429 arrived before node A was told to wait, so a full second lies between.
    let gap = seen[1].arrived - seen[0].arrived;
    assert!(
        gap >= Duration::from_secs(1),
        "node B came back after {gap:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slot_left_by_a_dead_node_frees_itself_when_it_expires() {
    let Some((_server, database)) = database().await else {
        return;
    };
    let site = Site::start(Duration::ZERO).await;
    // The node that dies: its gate takes the host's only slot, which expires after 1 s,
    // and never gives it back.
    let store = Store::open(std::path::Path::new(&database))
        .await
        .expect("open the archive");
    let dying = Gate::new(GateLimits {
        host_in_flight: 1,
        host_delay: Duration::ZERO,
        ..GateLimits::default()
    })
    .with_cluster(
        store
            .cluster_politeness(Duration::from_secs(1))
            .expect("cluster politeness"),
    );
    let asked = Instant::now();
    std::mem::forget(dying.acquire(&site.host()).await.expect("the free slot"));
    let survivor = node(
        &database,
        "per_host_requests = 1\nper_host_delay = \"0s\"\nobey_robots = false",
        &site,
    )
    .await;
    let page = survivor
        .get(&site.url("/page"), Purpose::Page, &Validators::default())
        .await;
    assert_eq!(page.result.map(|r| r.status), Ok(200));
    let seen = site.seen();
    assert_eq!(seen.len(), 1);
    let waited = seen[0].arrived - asked;
    assert!(
        waited >= Duration::from_secs(1),
        "sent {waited:?} after the slot was taken, before it expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_fetch_robots_txt_once_and_both_obey_it() {
    let Some((_server, database)) = database().await else {
        return;
    };
    let site = Site::start(Duration::from_millis(50)).await;
    let http = "per_host_requests = 1\nper_host_delay = \"0s\"";
    let a = node(&database, http, &site).await;
    let b = node(&database, http, &site).await;
    let (url_a, url_b, none) = (
        site.url("/page-a"),
        site.url("/page-b"),
        Validators::default(),
    );
    let (page_a, page_b) = tokio::join!(
        a.get(&url_a, Purpose::Page, &none),
        b.get(&url_b, Purpose::Page, &none),
    );
    assert_eq!(page_a.result.map(|r| r.status), Ok(200));
    assert_eq!(page_b.result.map(|r| r.status), Ok(200));
    // Both obey the rules, the node that fetched them and the node that read them from
    // the database.
    for node in [&a, &b] {
        let private = node
            .get(
                &site.url("/private/x"),
                Purpose::Page,
                &Validators::default(),
            )
            .await;
        assert!(
            matches!(private.result, Err(FetchError::DisallowedByRobots(_))),
            "{:?}",
            private.result
        );
    }
    let robots = site
        .seen()
        .iter()
        .filter(|s| s.path == "/robots.txt")
        .count();
    assert_eq!(robots, 1, "{:?}", site.seen());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_polling_one_site_share_the_host_limits() {
    let Some((_server, database)) = database().await else {
        return;
    };
    let site = Site::start(Duration::from_millis(50)).await;
    let text = format!(
        "[archive]\ndatabase = {database:?}\n[http]\ntimeout = \"10s\"\nper_host_requests = 1\nper_host_delay = \"300ms\"\nobey_robots = false\n[[source]]\nname = \"site\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"*/15 * * * *\"\n[[source]]\nname = \"other\"\nurl = \"{}\"\nkind = \"feed\"\nschedule = \"*/15 * * * *\"\n",
        site.url("/feed.xml"),
        site.url("/other-feed.xml")
    );
    let config = Config::parse(&text, std::path::Path::new("test.toml")).expect("valid config");
    // Opened one after the other: nodes starting together take turns at the migrations.
    let a = App::open(config.clone(), Clock::System)
        .await
        .expect("node A");
    let b = App::open(config, Clock::System).await.expect("node B");
    let never = Shutdown::never();
    // Each polls one of the site's two feeds (a source is polled by one node at a time).
    let (first, second) = (["site".to_string()], ["other".to_string()]);
    let (polled_a, polled_b) = tokio::join!(a.poll(&first, &never), b.poll(&second, &never));
    polled_a.expect("node A polls");
    polled_b.expect("node B polls");
    let seen = site.seen();
    let feeds = seen.iter().filter(|s| s.path.ends_with("feed.xml")).count();
    assert_eq!(feeds, 2, "{seen:?}");
    assert_eq!(site.peak(), 1, "more than one request in flight: {seen:?}");
    for pair in seen.windows(2) {
        let gap = pair[1].arrived - pair[0].arrived;
        assert!(
            gap + ARRIVAL_SLACK >= Duration::from_millis(300),
            "{} arrived {gap:?} after {}",
            pair[1].path,
            pair[0].path
        );
    }
}

#[tokio::test]
async fn a_sqlite_archive_is_one_process_and_has_no_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("archive.sqlite3"))
        .await
        .expect("open the archive");
    assert!(store.cluster_politeness(Duration::from_secs(40)).is_none());
}
