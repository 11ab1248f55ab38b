//! Several crawler nodes on one PostgreSQL archive, as real processes: three
//! `newsvault run` nodes share fifteen sources (two feeds and a sitemap on each of five
//! loopback hosts, 127.0.0.1 … 127.0.0.5, 300 articles in all). The hosts' own logs are
//! the witnesses: no host ever had more requests in flight, or requests faster, than its
//! limit, however many nodes asked. One node is killed with SIGKILL
//! while it holds leases; the others take its sources over, and every article ends up
//! stored exactly once.
//!
//! The waits here are on real events (the archive reaching its count, a node's log line)
//! with generous deadlines; nothing is asserted about how long anything took.

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use common::process::{Events, Spawned, newsvault, reap, terminate};

const HOSTS: u8 = 5;
const ARTICLES_PER_HOST: usize = 60;
const NODES: usize = 3;
/// Each host's limit: one request in flight, request starts at least this far apart.
const HOST_DELAY: Duration = Duration::from_millis(100);
/// The cluster spaces the turns it grants; a host sees each request some time after its
/// turn (the node's scheduling, the loopback hop), and on a busy machine that lag differs
/// from one request to the next by tens of milliseconds, so one gap between two arrivals
/// can be shorter than the delay although the turns were not. The rate is what the host
/// feels and what the check holds to: any WINDOW consecutive arrivals span at least
/// (WINDOW - 1) delays, less the lag of the window's two ends. Nodes that ignored each
/// other (three requests per delay) would fit a window into well under half of that.
const WINDOW: usize = 5;
const ARRIVAL_SLACK: Duration = Duration::from_millis(60);
/// How long a host takes to answer, so that two nodes asking at once would overlap.
const SERVICE_TIME: Duration = Duration::from_millis(15);
/// How long the archive may take to fill before the test calls it stuck.
const DEADLINE: Duration = Duration::from_secs(240);

/// What one host saw.
#[derive(Default)]
struct HostLog {
    in_flight: usize,
    max_in_flight: usize,
    starts: Vec<Instant>,
    /// Requests per path.
    hits: HashMap<String, usize>,
}

/// A news site on one loopback address.
struct Site {
    host: u8,
    addr: SocketAddr,
    log: Arc<Mutex<HostLog>>,
}

impl Site {
    async fn start(host: u8) -> Site {
        let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, host));
        let listener = TcpListener::bind((ip, 0))
            .await
            .unwrap_or_else(|e| panic!("bind {ip}: {e}"));
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(HostLog::default()));
        let shared = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = Arc::clone(&shared);
                tokio::spawn(async move { serve(host, addr, stream, log).await });
            }
        });
        Site { host, addr, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Answers the requests on one connection, one at a time, logging each from its arrival
/// to its last byte written.
async fn serve(host: u8, addr: SocketAddr, mut stream: TcpStream, log: Arc<Mutex<HostLog>>) {
    loop {
        let Some(path) = read_request_path(&mut stream).await else {
            return;
        };
        {
            let mut log = log.lock().expect("host log");
            log.in_flight += 1;
            log.max_in_flight = log.max_in_flight.max(log.in_flight);
            log.starts.push(Instant::now());
            *log.hits.entry(path.clone()).or_default() += 1;
        }
        tokio::time::sleep(SERVICE_TIME).await;
        let (status, content_type, body) = respond(host, addr, &path);
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let written = async {
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
            stream.flush().await
        }
        .await;
        log.lock().expect("host log").in_flight -= 1;
        if written.is_err() {
            return;
        }
    }
}

/// Reads one request head; its path, or None when the connection ended.
async fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let line = head.lines().next()?;
    line.split_whitespace().nth(1).map(str::to_string)
}

fn article_path(index: usize) -> String {
    format!("/news/{index}.html")
}

/// A deterministic text of its own for each article: no two are near-duplicates, so each
/// stays an article (and a story) of its own.
fn article_text(host: u8, index: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "council",
        "river",
        "harbour",
        "market",
        "budget",
        "school",
        "station",
        "bridge",
        "festival",
        "minister",
        "farmers",
        "rainfall",
        "election",
        "hospital",
        "factory",
        "court",
        "museum",
        "railway",
        "village",
        "garden",
        "league",
        "orchestra",
        "police",
        "library",
        "airport",
        "fishermen",
        "teachers",
        "storm",
        "harvest",
        "exports",
        "clinic",
        "stadium",
        "ferry",
        "mayor",
        "students",
        "workers",
        "monsoon",
        "tariff",
        "bakery",
        "tunnel",
        "archive",
        "theatre",
        "cyclone",
        "vaccine",
        "textile",
        "canal",
        "senate",
        "coast",
        "highway",
        "glacier",
        "orchard",
        "satellite",
        "parliament",
        "reservoir",
        "volunteers",
        "auction",
        "lighthouse",
        "quarry",
        "pipeline",
        "refinery",
        "bazaar",
        "ministry",
        "fisheries",
        "delta",
    ];
    let mut state = (u64::from(host) << 32) ^ (index as u64 + 1) ^ 0x9e37_79b9_7f4a_7c15;
    let mut next_word = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        WORDS[(state % WORDS.len() as u64) as usize]
    };
    (0..4)
        .map(|_| {
            let words: Vec<&str> = (0..45).map(|_| next_word()).collect();
            format!("The {}.", words.join(" "))
        })
        .collect()
}

fn article_page(host: u8, index: usize) -> String {
    let paragraphs: String = article_text(host, index)
        .iter()
        .map(|p| format!("<p>{p}</p>\n"))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Report {host}-{index}</title>\
         <meta property=\"article:published_time\" content=\"2026-11-01T08:00:00Z\"></head>\
         <body><nav><a href=\"/\">Home</a></nav><article><h1>Report {host}-{index}</h1>\n\
         {paragraphs}</article><footer>Site {host}</footer></body></html>"
    )
}

fn feed(addr: SocketAddr, host: u8, range: std::ops::Range<usize>) -> String {
    let items: String = range
        .map(|i| {
            format!(
                "<item><title>Report {host}-{i}</title><link>http://{addr}{}</link>\
                 <guid>http://{addr}{}</guid><pubDate>Sun, 01 Nov 2026 08:00:00 GMT</pubDate></item>\n",
                article_path(i),
                article_path(i)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Site {host}</title>\
         <link>http://{addr}/</link>\n{items}</channel></rss>"
    )
}

fn sitemap(addr: SocketAddr) -> String {
    let urls: String = (0..ARTICLES_PER_HOST)
        .map(|i| {
            format!(
                "<url><loc>http://{addr}{}</loc><lastmod>2026-11-01</lastmod></url>\n",
                article_path(i)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n{urls}</urlset>"
    )
}

fn respond(host: u8, addr: SocketAddr, path: &str) -> (&'static str, &'static str, String) {
    let half = ARTICLES_PER_HOST / 2;
    match path {
        "/robots.txt" => ("200 OK", "text/plain", "User-agent: *\nAllow: /\n".into()),
        "/feed-a.xml" => ("200 OK", "application/rss+xml", feed(addr, host, 0..half)),
        "/feed-b.xml" => (
            "200 OK",
            "application/rss+xml",
            feed(addr, host, half..ARTICLES_PER_HOST),
        ),
        "/sitemap.xml" => ("200 OK", "application/xml", sitemap(addr)),
        _ => match path
            .strip_prefix("/news/")
            .and_then(|rest| rest.strip_suffix(".html"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n < ARTICLES_PER_HOST)
        {
            Some(index) => (
                "200 OK",
                "text/html; charset=utf-8",
                article_page(host, index),
            ),
            None => ("404 Not Found", "text/plain", "not found".into()),
        },
    }
}

fn node_config(database: &str, node: usize, sites: &[Site]) -> String {
    let mut text = format!(
        "[archive]\ndatabase = {database:?}\n\
         [http]\ntimeout = \"10s\"\nper_host_requests = 1\nper_host_delay = \"{}ms\"\nobey_robots = true\n\
         [run]\nconcurrency = 4\nshutdown_grace = \"5s\"\n\
         [cluster]\nnode = \"node-{node}\"\nlease = \"3s\"\n",
        HOST_DELAY.as_millis()
    );
    for site in sites {
        for (name, path, kind) in [
            ("a", "/feed-a.xml", "feed"),
            ("b", "/feed-b.xml", "feed"),
            ("map", "/sitemap.xml", "sitemap"),
        ] {
            text.push_str(&format!(
                "[[source]]\nname = \"site{}-{name}\"\nurl = \"{}\"\nkind = \"{kind}\"\n\
                 schedule = \"*/2 * * * * *\"\nmax_new = 20\n",
                site.host,
                site.url(path)
            ));
        }
    }
    text
}

async fn connect(database: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .expect("connect to the archive");
    tokio::spawn(connection);
    client
}

async fn count(client: &tokio_postgres::Client, query: &str) -> i64 {
    client
        .query_one(query, &[])
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .get(0)
}

/// `count`, or -1 while the query cannot run yet (the nodes are still creating the schema).
async fn count_when_ready(client: &tokio_postgres::Client, query: &str) -> i64 {
    match client.query_one(query, &[]).await {
        Ok(row) => row.get(0),
        Err(_) => -1,
    }
}

/// Waits until `condition` holds, checking every 100 ms; panics with `what` after DEADLINE.
async fn wait_for<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < DEADLINE,
            "gave up waiting for {what} after {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn start_node(events: &Events, dir: &std::path::Path, node: usize, config: &str) -> Spawned {
    let path = dir.join(format!("node-{node}.toml"));
    std::fs::write(&path, config).expect("write node config");
    let mut command = newsvault();
    command
        .args(["--config"])
        .arg(&path)
        .arg("run")
        .env("RUST_LOG", "info");
    events.spawn(&mut command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_five_hosts_politely_and_survive_a_killed_node() {
    let Some(postgres) = common::postgres::start() else {
        return;
    };
    let database = postgres.create_database().await;
    let mut sites = Vec::new();
    for host in 1..=HOSTS {
        sites.push(Site::start(host).await);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let events = Events::new();
    let mut nodes: Vec<Spawned> = (1..=NODES)
        .map(|node| {
            start_node(
                &events,
                dir.path(),
                node,
                &node_config(&database, node, &sites),
            )
        })
        .collect();
    let archive = connect(&database).await;
    let total = i64::from(HOSTS) * ARTICLES_PER_HOST as i64;

    // Kill node 1 once it is working: it holds a lease and the archive is part-filled.
    wait_for("node-1 to hold a lease with articles archived", || async {
        count_when_ready(
            &archive,
            "SELECT count(*) FROM sources WHERE lease_node = 'node-1'",
        )
        .await
            > 0
            && count_when_ready(&archive, "SELECT count(*) FROM articles").await >= 30
    })
    .await;
    let victim = nodes.remove(0);
    let held: Vec<String> = archive
        .query(
            "SELECT name FROM sources WHERE lease_node = 'node-1' ORDER BY name",
            &[],
        )
        .await
        .expect("leases of node-1")
        .iter()
        .map(|row| row.get(0))
        .collect();
    // SAFETY: kill with a valid signal on our own child's pid.
    let killed = unsafe { libc::kill(victim.pid as libc::pid_t, libc::SIGKILL) };
    assert_eq!(killed, 0, "kill -9: {}", std::io::Error::last_os_error());
    let mut victim = victim;
    let ended = reap(&mut victim);
    assert_eq!(ended.signal, Some(libc::SIGKILL), "node-1 ended by SIGKILL");
    let archived_at_kill = count(&archive, "SELECT count(*) FROM articles").await;
    assert!(
        archived_at_kill < total,
        "node-1 was killed mid-run, with {archived_at_kill} of {total} archived"
    );

    wait_for("every article archived", || async {
        count(&archive, "SELECT count(*) FROM articles").await >= total
    })
    .await;
    // The sources node-1 held were polled again by the others once its leases expired.
    wait_for("node-1's leases taken over", || async {
        count(
            &archive,
            "SELECT count(*) FROM sources WHERE lease_node = 'node-1'",
        )
        .await
            == 0
    })
    .await;

    for node in &nodes {
        terminate(node);
    }
    for node in &mut nodes {
        let ended = reap(node);
        assert_eq!(
            ended.code,
            Some(0),
            "a node stopped cleanly: {}",
            node.stderr()
        );
    }

    // Exactly once: 300 articles, each of the 300 URLs on one article.
    assert_eq!(
        count(&archive, "SELECT count(*) FROM articles").await,
        total
    );
    let mut expected: Vec<String> = sites
        .iter()
        .flat_map(|site| (0..ARTICLES_PER_HOST).map(|i| site.url(&article_path(i))))
        .collect();
    expected.sort();
    let rows = archive
        .query(
            "SELECT canonical_url FROM articles ORDER BY canonical_url",
            &[],
        )
        .await
        .expect("archived URLs");
    let archived: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(
        archived, expected,
        "each article archived once, none missing"
    );
    assert_eq!(
        count(
            &archive,
            "SELECT count(*) FROM (SELECT article_id FROM captures GROUP BY article_id HAVING count(*) > 1) AS twice"
        )
        .await,
        0,
        "no article captured twice"
    );

    // Each host, as its own log tells it: never two requests at once, never two starts
    // closer than its delay, whichever nodes sent them.
    for site in &sites {
        let log = site.log.lock().expect("host log");
        assert_eq!(
            log.max_in_flight, 1,
            "host 127.0.0.{} had {} requests in flight at once",
            site.host, log.max_in_flight
        );
        let mut starts = log.starts.clone();
        starts.sort();
        let closest = starts
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .min()
            .expect("a host got more than one request");
        let tightest = starts
            .windows(WINDOW)
            .map(|run| run[WINDOW - 1] - run[0])
            .min()
            .expect("a host got more requests than one window");
        eprintln!(
            "host 127.0.0.{}: {} requests, at most {} in flight, closest starts {closest:?} \
             apart, {WINDOW} consecutive starts at least {tightest:?} apart",
            site.host,
            starts.len(),
            log.max_in_flight
        );
        let floor = HOST_DELAY * (WINDOW as u32 - 1);
        assert!(
            tightest + ARRIVAL_SLACK >= floor,
            "host 127.0.0.{}: {WINDOW} requests within {tightest:?} (limit: one per {HOST_DELAY:?})",
            site.host
        );
        assert!(
            log.hits.get("/robots.txt").copied().unwrap_or(0) <= 1,
            "host 127.0.0.{}: robots.txt fetched {} times by the cluster",
            site.host,
            log.hits["/robots.txt"]
        );
        for index in 0..ARTICLES_PER_HOST {
            assert!(
                log.hits.get(&article_path(index)).copied().unwrap_or(0) >= 1,
                "host 127.0.0.{}: article {index} never fetched",
                site.host
            );
        }
    }
    assert!(
        !held.is_empty(),
        "node-1 held leases when it was killed: {held:?}"
    );
}
