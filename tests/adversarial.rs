//! Hostile and broken input through the daemon's whole poll path, not only the parser: every
//! feed of the feedparser and feed-rs test suites (ill-formed, odd encodings, every element
//! family), gzip and brotli bombs, a gigabyte promised and never sent, a feed of 100,000
//! items, megabyte titles, dates that are not dates, duplicate GUIDs and links in every odd
//! scheme. The built binary runs as the daemon (`newsvault run`) against a local server; each
//! source either archives what it can or has its error recorded, the daemon never crashes,
//! and its peak memory (the kernel's high-water mark of its resident set) stays under
//! [`PEAK_RSS_BOUND_MIB`].
//!
//! Feeds link to pages on many real sites. So that nothing reaches the internet, the daemon
//! runs with `HTTP_PROXY` pointing at the local server (and `NO_PROXY=127.0.0.1`), which
//! answers every other site's pages itself; a pre-flight poll proves the proxy is used
//! before any corpus feed is read.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::{Event, Events, newsvault, peak_rss_kib, reap, terminate};
use common::{Reply, TestServer, count};

/// The most memory (peak resident set) the daemon may use through this suite, with the
/// default 10 MiB body cap and four sources polled at once.
const PEAK_RSS_BOUND_MIB: u64 = 150;

/// A local server standing in for the web: the test's own feeds and pages by route, and
/// an article page for any other URL, as a proxy sees it (`GET http://host/path`).
struct Web {
    server: TestServer,
    // Serves the connections; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl Web {
    fn start() -> Web {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime for the test web");
        let server = runtime.block_on(TestServer::start());
        server.fallback(|path| {
            if path.ends_with("/robots.txt") {
                Reply::status(404, &[])
            } else {
                Reply::ok("text/html; charset=utf-8", page_for(path))
            }
        });
        Web {
            server,
            _runtime: runtime,
        }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// The binary set to go through this server for every host but 127.0.0.1.
    fn newsvault(&self) -> Command {
        let proxy = format!("http://{}", self.server.addr);
        let mut command = newsvault();
        command
            .env("HTTP_PROXY", &proxy)
            .env("HTTPS_PROXY", &proxy)
            .env("ALL_PROXY", &proxy)
            .env("NO_PROXY", "127.0.0.1");
        command
    }
}

/// An article page of its own for each URL (so none is a duplicate of another).
fn page_for(path: &str) -> String {
    let path = path.replace(['<', '&', '"'], "_");
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Page {path}</title>\
         </head><body><article><h1>Page {path}</h1><p>This page stands in for {path} in the \
         hostile input test; it has enough words in its body to be read as an article by the \
         extractor, which wants a paragraph or two of real text before it trusts a page.</p>\
         <p>Second paragraph about {path}, so the text is longer than thirty words.</p>\
         </article></body></html>"
    )
}

/// A configuration: `[http]` settings, then `[[source]]` blocks of (name, url, extra lines).
fn write_config(dir: &Path, http: &str, sources: &[(String, String, String)]) -> PathBuf {
    let mut text = format!(
        "[archive]\ndatabase = {:?}\n[http]\nper_host_delay = \"0s\"\n{http}\n",
        dir.join("archive.sqlite3").to_string_lossy()
    );
    for (name, url, extra) in sources {
        text.push_str(&format!(
            "[[source]]\nname = {name:?}\nurl = {url:?}\ntimezone = \"Asia/Dhaka\"\n{extra}\n"
        ));
    }
    let path = dir.join("newsvault.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// Runs the daemon until each of `sources` has been polled once, reads its peak memory
/// (KiB), stops it with SIGTERM, checks it stopped cleanly, and returns the peak and its log.
fn run_daemon(web: &Web, config: &Path, sources: usize) -> (u64, String) {
    let events = Events::new();
    let mut daemon = events.spawn(web.newsvault().arg("--config").arg(config).arg("run"));
    let mut finished = 0;
    while finished < sources {
        match events.next() {
            Event::Line(pid, line) if pid == daemon.pid => {
                let ends_a_poll = [
                    "\"message\":\"polled\"",
                    "\"message\":\"poll failed\"",
                    "\"message\":\"poll stopped by an archive error\"",
                    "\"message\":\"a poll task panicked\"",
                ];
                if ends_a_poll.iter().any(|m| line.contains(m)) {
                    finished += 1;
                }
            }
            Event::Exited(pid) if pid == daemon.pid => {
                panic!(
                    "the daemon died after {finished} of {sources} polls: {:?}\n{}",
                    reap(&mut daemon),
                    tail(&daemon.stderr())
                );
            }
            _ => {}
        }
    }
    let peak = peak_rss_kib(&daemon);
    terminate(&daemon);
    events.wait_exited(&daemon);
    let ended = reap(&mut daemon);
    let log = daemon.stderr();
    assert_eq!(ended.code, Some(0), "{ended:?}\n{}", tail(&log));
    assert!(!log.contains("panicked"), "{}", tail(&log));
    (peak, log)
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn open_db(dir: &Path) -> rusqlite::Connection {
    common::open_db(dir)
}

/// What holds for any archive, whatever it was fed: intact, and each article whole.
fn check_archive(db: &rusqlite::Connection) {
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    let zero = |what: &str, query: &str| assert_eq!(count(db, query), 0, "{what}");
    zero(
        "every article has its capture",
        "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.article_id = a.id)",
    );
    zero(
        "every article's canonical URL leads to it",
        "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_urls u WHERE u.url = a.canonical_url)",
    );
    zero(
        "stored dates are dates SQLite reads",
        "SELECT count(*) FROM articles WHERE (published_at IS NOT NULL AND datetime(published_at) IS NULL)
             OR (updated_at IS NOT NULL AND datetime(updated_at) IS NULL)",
    );
    zero(
        "only http(s) URLs are stored",
        "SELECT count(*) FROM article_urls WHERE url NOT LIKE 'http://%' AND url NOT LIKE 'https://%'",
    );
    zero(
        "only http(s) URLs are requested",
        "SELECT count(*) FROM fetches WHERE url NOT LIKE 'http://%' AND url NOT LIKE 'https://%'",
    );
    zero(
        "every source was polled and either read or its error recorded",
        "SELECT count(*) FROM sources WHERE last_polled_at IS NULL
             OR (last_success_at IS NULL AND (last_error IS NULL OR last_error = ''))",
    );
    zero(
        "every item tried is archived or has its error",
        "SELECT count(*) FROM feed_items WHERE article_id IS NULL AND (last_error IS NULL OR last_error = '')",
    );
}

fn report_memory(what: &str, peak_kib: u64) {
    let mib = peak_kib as f64 / 1024.0;
    println!("peak RSS of the daemon, {what}: {mib:.1} MiB (bound {PEAK_RSS_BOUND_MIB} MiB)");
    assert!(
        peak_kib < PEAK_RSS_BOUND_MIB * 1024,
        "{what}: peak RSS {mib:.1} MiB over the {PEAK_RSS_BOUND_MIB} MiB bound"
    );
}

// ------------------------------------------------------------------ the test suites' feeds

/// The feed test suites beside the repository (`../shared/evaldata/feeds`).
fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/evaldata/feeds");
    if dir.join("feedparser").is_dir() && dir.join("feed-rs").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing; CI must provide ../shared beside the clone",
        dir.display()
    );
    println!("SKIPPED: {} is missing", dir.display());
    None
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The HTTP headers a feedparser test asks its server to send (`Header: Name: value`
/// lines in its leading comment), so the encoding cases meet the charset they were
/// written for; else a Content-Type from the file's extension.
fn headers_for(path: &Path, body: &[u8]) -> Vec<(String, String)> {
    let head: String = body.iter().take(2048).map(|&b| b as char).collect();
    let mut headers: Vec<(String, String)> = head
        .lines()
        .filter_map(|line| line.split_once("Header:").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .filter(|(name, value)| {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && value.chars().all(|c| (' '..='~').contains(&c))
        })
        .collect();
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => "application/json",
            _ => "application/xml",
        };
        headers.push(("Content-Type".into(), kind.into()));
    }
    headers
}

/// Proves the daemon's requests for other sites go to the local server, before any feed
/// whose links lead to real sites is read.
fn assert_proxy_is_used(web: &Web, dir: &Path) {
    let probe = "http://newsvault-proxy-probe.invalid/page";
    web.server.route(
        "/probe.xml",
        Reply::ok("application/rss+xml", common::rss(&[(None, probe)])),
    );
    let config = write_config(
        dir,
        "timeout = \"5s\"",
        &[("probe".into(), web.url("/probe.xml"), String::new())],
    );
    let events = Events::new();
    let mut poll = events.spawn(web.newsvault().arg("--config").arg(&config).arg("poll"));
    events.wait_exited(&poll);
    let ended = reap(&mut poll);
    assert!(
        web.server.requests(probe).len() == 1,
        "the binary did not use HTTP_PROXY ({ended:?}); refusing to poll feeds whose links \
         lead to real sites\n{}",
        poll.stderr()
    );
    std::fs::remove_file(dir.join("newsvault.toml")).expect("remove probe config");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("archive.sqlite3{suffix}")));
    }
}

#[test]
fn every_feedparser_and_feed_rs_case_is_archived_or_recorded_by_the_daemon() {
    let Some(corpus) = corpus_dir() else {
        return;
    };
    let mut files = Vec::new();
    files_under(&corpus.join("feedparser"), &mut files);
    files_under(&corpus.join("feed-rs"), &mut files);
    assert!(files.len() > 500, "only {} corpus files", files.len());

    let web = Web::start();
    let dir = tempfile::tempdir().expect("tempdir");
    assert_proxy_is_used(&web, dir.path());

    let mut sources = Vec::new();
    for (index, file) in files.iter().enumerate() {
        let body = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let route = format!("/corpus/{index}");
        web.server.route(
            &route,
            Reply::Full {
                status: 200,
                headers: headers_for(file, &body),
                body,
            },
        );
        sources.push((
            format!("c{index:03}"),
            web.url(&route),
            "kind = \"feed\"".to_string(),
        ));
    }
    let config = write_config(dir.path(), "timeout = \"10s\"", &sources);
    let (ended, _) = run_daemon(&web, &config, sources.len());

    let db = open_db(dir.path());
    check_archive(&db);
    let read = count(&db, "SELECT count(*) FROM sources WHERE error_count = 0");
    let failed = count(&db, "SELECT count(*) FROM sources WHERE error_count > 0");
    println!(
        "{} corpus feeds: {read} read, {failed} recorded as errors; {} items, {} articles",
        files.len(),
        count(&db, "SELECT count(*) FROM feed_items"),
        count(&db, "SELECT count(*) FROM articles")
    );
    assert_eq!((read + failed) as usize, files.len());
    // Every feed that feed-rs itself parses (it ships the expected result beside it) and
    // every well-formed feedparser case is read, except Microsoft's CDF, which is no feed
    // format newsvault (or feed-rs) reads.
    let mut unread = Vec::new();
    let mut statement = db
        .prepare("SELECT last_error FROM sources WHERE name = ?1 AND error_count > 0")
        .expect("prepare");
    for (index, file) in files.iter().enumerate() {
        let name = file.to_string_lossy();
        let expected_json = file.with_extension("serde.json");
        let must_read = (name.contains("/feed-rs/") && expected_json.is_file())
            || (name.contains("/feedparser/wellformed/") && !name.contains("cdf"));
        if !must_read {
            continue;
        }
        let error: Option<String> = statement
            .query_row([format!("c{index:03}")], |r| r.get(0))
            .ok();
        if let Some(error) = error {
            unread.push(format!("{}: {error}", file.display()));
        }
    }
    assert!(
        unread.is_empty(),
        "{} well-formed feeds not read:\n{}",
        unread.len(),
        unread.join("\n")
    );
    report_memory("feed test suites", ended);
}

// ------------------------------------------------------------------ built to hurt

/// `size` zero bytes, gzip-compressed (a few hundred KiB for 128 MiB).
fn gzip_bomb(size: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        encoder.write_all(&zeros).expect("compress");
    }
    encoder.finish().expect("compress")
}

/// `size` zero bytes, brotli-compressed.
fn brotli_bomb(size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 1 << 16, 5, 22);
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..size >> 20 {
            encoder.write_all(&zeros).expect("compress");
        }
    }
    out
}

fn rss_of(items: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel>\
         <title>t</title><link>http://example.org/</link><description>d</description>\
         {items}</channel></rss>"
    )
    .into_bytes()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

#[test]
fn bombs_giants_and_odd_items_are_survived_within_the_memory_bound() {
    const BOMB: usize = 128 << 20;
    let web = Web::start();
    let dir = tempfile::tempdir().expect("tempdir");
    assert_proxy_is_used(&web, dir.path());
    let base = web.url("");
    let mut sources: Vec<(String, String, String)> = Vec::new();
    let mut add = |name: &str, path: &str, reply: Reply, extra: &str| {
        web.server.route(path, reply);
        sources.push((name.to_string(), web.url(path), extra.to_string()));
    };
    let rss = |body: Vec<u8>| Reply::ok("application/rss+xml", body);
    let encoded = |encoding: &str, kind: &str, body: Vec<u8>| Reply::Full {
        status: 200,
        headers: vec![
            ("Content-Type".into(), kind.into()),
            ("Content-Encoding".into(), encoding.into()),
        ],
        body,
    };
    let gzip = gzip_bomb(BOMB);
    let brotli = brotli_bomb(BOMB);
    println!(
        "bombs: {} MiB of zeros as {} KiB gzip and {} KiB brotli",
        BOMB >> 20,
        gzip.len() >> 10,
        brotli.len() >> 10
    );

    // 100,000 items; only max_new of them are fetched per poll.
    let many: String = (0..100_000)
        .map(|i| format!("<item><guid>m{i}</guid><link>{base}/many/{i}</link></item>"))
        .collect();
    add(
        "many-items",
        "/many.xml",
        rss(rss_of(&many)),
        "max_new = 20",
    );
    // Titles of a megabyte each.
    let title = "Breaking ".repeat(1 << 17);
    let long: String = (0..8)
        .map(|i| format!("<item><title>{title}{i}</title><link>{base}/long/{i}</link></item>"))
        .collect();
    add("long-titles", "/long.xml", rss(rss_of(&long)), "");
    add(
        "gzip-bomb",
        "/gzip-bomb.xml",
        encoded("gzip", "application/rss+xml", gzip.clone()),
        "",
    );
    add(
        "brotli-bomb",
        "/brotli-bomb.xml",
        encoded("br", "application/rss+xml", brotli.clone()),
        "",
    );
    web.server
        .route("/bomb/gzip", encoded("gzip", "text/html", gzip.clone()));
    web.server
        .route("/bomb/br", encoded("br", "text/html", brotli.clone()));
    let bomb_items = format!(
        "<item><link>{base}/bomb/gzip</link></item><item><link>{base}/bomb/br</link></item>\
         <item><link>{base}/bomb/none</link></item>"
    );
    add(
        "bomb-pages",
        "/bomb-pages.xml",
        rss(rss_of(&bomb_items)),
        "",
    );
    // A gigabyte promised; a few bytes sent; then silence.
    add(
        "gigabyte-promised",
        "/gigabyte.xml",
        Reply::Stall {
            declared: 1 << 30,
            headers: vec![("Content-Type".into(), "application/rss+xml".into())],
            body: b"<?xml version=\"1.0\"?><rss><channel>".to_vec(),
        },
        "",
    );
    add(
        "gigabyte-promised-gzip",
        "/gigabyte-gzip.xml",
        Reply::Stall {
            declared: 1 << 30,
            headers: vec![
                ("Content-Type".into(), "application/rss+xml".into()),
                ("Content-Encoding".into(), "gzip".into()),
            ],
            body: gzip[..1024].to_vec(),
        },
        "",
    );
    // Dates that are not dates, in the feed and on the pages.
    let bad_dates = [
        "not a date",
        "Mon, 32 Foo 2025 25:61:61 +9999",
        "0000-00-00T00:00:00Z",
        "99999-12-31T23:59:59Z",
        "-1",
        "",
        "2025-02-30T10:00:00Z",
        "Sat, 12 Jul 2025 12:00:00 GMT+99",
        "1e308",
        "১২ জুলাই ২০২৫ ৯৯:৯৯",
    ];
    let mut dated = String::new();
    for (i, date) in bad_dates.iter().enumerate() {
        let path = format!("/dates/{i}");
        let date = xml_escape(date);
        web.server.route(
            &path,
            Reply::ok(
                "text/html",
                page_for(&path).replace(
                    "<title>",
                    &format!(
                        "<meta property=\"article:published_time\" content=\"{date}\">\
                         <meta property=\"article:modified_time\" content=\"{date}\"><title>"
                    ),
                ),
            ),
        );
        dated.push_str(&format!(
            "<item><link>{base}{path}</link><pubDate>{date}</pubDate></item>"
        ));
    }
    add("bad-dates", "/dates.xml", rss(rss_of(&dated)), "");
    // One guid for three links, and one link under two guids.
    let duplicates = format!(
        "<item><guid>same</guid><link>{base}/dup/a</link></item>\
         <item><guid>same</guid><link>{base}/dup/b</link></item>\
         <item><guid>same</guid><link>{base}/dup/c</link></item>\
         <item><guid>other</guid><link>{base}/dup/a</link></item>"
    );
    add(
        "duplicate-guids",
        "/duplicates.xml",
        rss(rss_of(&duplicates)),
        "",
    );
    // Links in every odd scheme and form.
    let port = web.server.addr.port();
    let never_fetched = [
        "javascript:alert(1)",
        "data:text/html,<h1>hi</h1>",
        "mailto:editor@example.org",
        "file:///etc/passwd",
        &format!("ftp://127.0.0.1:{port}/odd/ftp"),
        "about:blank",
        "http://127.0.0.1:99999/odd/bad-port",
    ];
    // On the feed's own host: archived.
    let same_host = [
        "/odd/relative".to_string(),
        format!("//127.0.0.1:{port}/odd/protocol-relative"),
        format!("http://user:secret@127.0.0.1:{port}/odd/userinfo"),
        format!("HTTP://127.0.0.1:{port}/odd/Upper?b=2&a=1&utm_source=x#frag"),
    ];
    // Elsewhere: archived, or refused with the reason recorded (a loopback address named
    // by a feed on another host is refused).
    let elsewhere = [
        "http://bücher.example/odd/idn".to_string(),
        format!("http://[::1]:{port}/odd/ipv6"),
        // URL parsers (the WHATWG standard, browsers) read this as the host `odd`.
        "http:///odd/no-host".to_string(),
    ];
    let odd: String = never_fetched
        .iter()
        .map(|l| l.to_string())
        .chain(same_host.iter().cloned())
        .chain(elsewhere.iter().cloned())
        .map(|link| format!("<item><link>{}</link></item>", xml_escape(&link)))
        .collect();
    add("odd-schemes", "/odd.xml", rss(rss_of(&odd)), "");

    let config = write_config(dir.path(), "timeout = \"5s\"", &sources);
    let (ended, log) = run_daemon(&web, &config, sources.len());
    let db = open_db(dir.path());
    check_archive(&db);
    let source = |name: &str| -> (i64, Option<String>) {
        db.query_row(
            "SELECT error_count, last_error FROM sources WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let articles_of = |name: &str| {
        db.query_row(
            "SELECT count(*) FROM articles a JOIN sources s ON s.id = a.source_id WHERE s.name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .expect("count articles")
    };
    let failure = |name: &str, cause: &str| {
        let (errors, error) = source(name);
        let error = error.unwrap_or_default();
        assert!(
            errors == 1 && error.contains(cause) && error.contains(&web.url("/")),
            "{name}: {error:?} lacks {cause:?} or the URL"
        );
    };

    let item_errors = |name: &str| -> Vec<String> {
        db.prepare(
            "SELECT f.last_error FROM feed_items f JOIN sources s ON s.id = f.source_id
             WHERE s.name = ?1 AND f.last_error IS NOT NULL",
        )
        .and_then(|mut s| s.query_map([name], |r| r.get(0)).and_then(|r| r.collect()))
        .expect("item errors")
    };
    assert_eq!(source("many-items").0, 0);
    assert_eq!(
        articles_of("many-items"),
        20,
        "max_new holds: {:?}",
        item_errors("many-items")
    );
    assert_eq!(source("long-titles").0, 0);
    assert_eq!(
        articles_of("long-titles"),
        8,
        "{:?}",
        item_errors("long-titles")
    );
    failure("gzip-bomb", "larger than");
    failure("brotli-bomb", "larger than");
    failure("gigabyte-promised", "larger than");
    failure("gigabyte-promised-gzip", "timed out");
    assert_eq!(articles_of("bomb-pages"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM feed_items WHERE last_error LIKE '%larger than%'"
        ),
        2
    );
    // Nothing was read past the cap, however much was promised or packed.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fetches WHERE bytes > 10485760 + 65536"
        ),
        0
    );
    assert_eq!(articles_of("bad-dates"), bad_dates.len() as i64);
    // One guid is one item, whatever its later links; a known link under a new guid is
    // linked without a request.
    assert_eq!(articles_of("duplicate-guids"), 1);
    assert_eq!(web.server.requests("/dup/a").len(), 1);
    assert_eq!(web.server.requests("/dup/b").len(), 0);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM feed_items f JOIN sources s ON s.id = f.source_id
             WHERE s.name = 'duplicate-guids' AND f.article_id IS NOT NULL"
        ),
        2
    );
    // The odd links: the http(s) ones archived, the rest never requested.
    let odd_items: Vec<(String, Option<String>)> = db
        .prepare(
            "SELECT coalesce(a.canonical_url, f.item_key), f.last_error
             FROM feed_items f JOIN sources s ON s.id = f.source_id
             LEFT JOIN articles a ON a.id = f.article_id
             WHERE s.name = 'odd-schemes' ORDER BY f.rowid",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
        })
        .expect("odd-scheme items");
    println!("odd links: {odd_items:?}");
    assert_eq!(
        odd_items.len(),
        same_host.len() + elsewhere.len(),
        "only the http(s) links are items to fetch"
    );
    assert!(articles_of("odd-schemes") >= same_host.len() as i64);
    for path in ["relative", "protocol-relative", "userinfo", "Upper"] {
        assert!(
            odd_items
                .iter()
                .any(|(url, error)| url.contains(&format!("{port}/odd/{path}")) && error.is_none()),
            "{path} not archived"
        );
    }
    for link in &never_fetched {
        let requested = web
            .server
            .all_requests()
            .iter()
            .any(|r| r.path.contains("/odd/") && link.contains(&r.path));
        assert!(!requested, "{link} was requested");
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM article_urls WHERE url LIKE '%secret%' OR url LIKE '%#%' OR url LIKE '%utm_%'"
        ),
        0,
        "canonical URLs keep no credentials, fragments or tracking"
    );
    assert_eq!(
        count(
            &db,
            "SELECT (SELECT count(*) FROM fetches WHERE url LIKE '%secret%' OR final_url LIKE '%secret%')
                  + (SELECT count(*) FROM captures WHERE url LIKE '%secret%')"
        ),
        0,
        "a link's credentials are never stored"
    );
    assert!(
        !log.contains("secret"),
        "a link's credentials are never logged"
    );
    report_memory("bombs, giants and odd items", ended);
}

/// Pages built to exhaust the extractor: nested 100,000 elements deep (a recursive walk
/// would overflow its stack), 100,000 paragraphs wide, and 9 MiB of a million empty
/// elements (a DOM of a few hundred bytes per element would take hundreds of megabytes).
#[test]
fn deep_wide_and_tag_dense_pages_neither_crash_the_daemon_nor_break_the_bound() {
    let web = Web::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let depth = 100_000;
    let deep = format!(
        "<!DOCTYPE html><html><head><title>Deep</title></head><body>{}<p>bottom</p>{}</body></html>",
        "<div>".repeat(depth),
        "</div>".repeat(depth)
    );
    let wide = format!(
        "<!DOCTYPE html><html><head><title>Wide</title></head><body>{}</body></html>",
        "<p>word word word</p>".repeat(depth)
    );
    let dense = format!(
        "<!DOCTYPE html><html><head><title>Dense</title></head><body><p>{}</p>{}</body></html>",
        "The story begins here. ".repeat(20),
        "<b></b>".repeat(9 << 20 >> 3)
    );
    web.server.route("/deep", Reply::ok("text/html", deep));
    web.server.route("/wide", Reply::ok("text/html", wide));
    web.server.route("/dense", Reply::ok("text/html", dense));
    let items: String = ["deep", "wide", "dense"]
        .iter()
        .map(|page| format!("<item><link>{}/{page}</link></item>", web.url("")))
        .collect();
    web.server.route(
        "/nested.xml",
        Reply::ok("application/rss+xml", rss_of(&items)),
    );
    let config = write_config(
        dir.path(),
        "timeout = \"10s\"",
        &[("nested".into(), web.url("/nested.xml"), String::new())],
    );
    let (ended, _) = run_daemon(&web, &config, 1);
    let db = open_db(dir.path());
    check_archive(&db);
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 3);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM articles WHERE title = 'Dense' AND text LIKE 'The story begins here.%'"
        ),
        1
    );
    report_memory("deep, wide and tag-dense pages", ended);
}
