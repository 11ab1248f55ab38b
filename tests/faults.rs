//! Faults a long-running archiver meets, against the built binary and a local site: SIGKILL
//! at random moments of `run`, `poll` and `backfill`; an archive locked by another writer,
//! on a read-only file system, or on a full disk; and the network's failures (resets,
//! half-closed connections, trickling bodies, names that never resolve, TLS spoken to a
//! plain-HTTP port). After each the archive passes SQLite's integrity check, holds no
//! article twice and none half-written, the failure is recorded with a clear message, and
//! the next poll archives what was missed. Nothing here sleeps: the test acts on the
//! server's and the binary's own events, and timeouts bound the slow replies.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::process::{Event, Events, Spawned, newsvault, reap, terminate};
use common::{Reply, ServerEvent, TestServer, config_text, count, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown::Shutdown;

/// Articles the test site publishes.
const ARTICLES: usize = 30;

/// A small deterministic generator (xorshift64*), so a failing run can be replayed from
/// the seed it prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0), near enough for choosing moments.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Article `i`: a title and a body long enough (over 30 words) to be fingerprinted.
fn article_page(i: usize) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>River report {i}</title></head><body><article><h1>River report {i}</h1>\
         <p>The gauge at station number {i} recorded a rise of {i} centimetres overnight, \
         the district office said on Saturday, and boats were moved to higher ground.</p>\
         <p>Officials at station {i} expect the water to fall again within two days if the \
         rain stops, but farmers near the embankment were told to stay watchful and to \
         report any seepage at once.</p></article></body></html>"
    )
}

/// The local site: articles at `/news/N`, a feed of the first `listed` of them.
struct Site {
    server: TestServer,
    // Serves the site's connections; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl Site {
    fn start() -> Site {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime for the test site");
        let server = runtime.block_on(TestServer::start());
        for i in 0..ARTICLES {
            server.route(
                &format!("/news/{i}"),
                Reply::ok("text/html; charset=utf-8", article_page(i)),
            );
        }
        let site = Site {
            server,
            _runtime: runtime,
        };
        site.list(ARTICLES);
        site
    }

    fn article_url(&self, i: usize) -> String {
        self.server.url(&format!("/news/{i}"))
    }

    /// Makes the feed list the first `listed` articles.
    fn list(&self, listed: usize) {
        let items: Vec<(String, String)> = (0..listed)
            .map(|i| (format!("story-{i}"), self.article_url(i)))
            .collect();
        let borrowed: Vec<(Option<&str>, &str)> = items
            .iter()
            .map(|(g, l)| (Some(g.as_str()), l.as_str()))
            .collect();
        self.server.route(
            "/feed.xml",
            Reply::ok("application/rss+xml", rss(&borrowed)),
        );
    }
}

/// A configuration file in `dir` for one source, the site's feed, archiving into
/// `archive_dir`.
fn write_config(dir: &Path, archive_dir: &Path, site: &Site, schedule: &str) -> PathBuf {
    let mut text = config_text(archive_dir, &[("site", site.server.url("/feed.xml"))]);
    text.push_str(&format!("schedule = {schedule:?}\n"));
    let path = dir.join("newsvault.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

fn database(archive_dir: &Path) -> PathBuf {
    archive_dir.join("archive.sqlite3")
}

/// What a finished command printed and how it ended.
struct Finished {
    code: Option<i32>,
    stderr: String,
}

/// Runs a command to its end, reading its output while it runs.
fn finish(events: &Events, command: &mut Command) -> Finished {
    let mut child = events.spawn(command);
    events.wait_exited(&child);
    let ended = reap(&mut child);
    Finished {
        code: ended.code,
        stderr: child.stderr(),
    }
}

fn poll_command(config: &Path) -> Command {
    let mut command = newsvault();
    command.arg("--config").arg(config).arg("poll");
    command
}

/// Opens the archive as the next run would (recovering the WAL of a killed writer).
fn open_rw(archive_dir: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(database(archive_dir)).expect("open archive");
    db.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    db
}

fn integrity(db: &rusqlite::Connection) -> String {
    db.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check runs")
}

/// Checks everything a crash must not break and returns how many articles are archived:
/// the file is intact, each page is one article, and each article is whole (text, its
/// capture byte for byte, its URLs, its feed item).
fn check_archive(site: &Site, archive_dir: &Path) -> usize {
    let db = open_rw(archive_dir);
    assert_eq!(integrity(&db), "ok");
    let dangling: Vec<String> = db
        .prepare("PRAGMA foreign_key_check")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect())
        })
        .expect("foreign key check");
    assert!(dangling.is_empty(), "rows point at nothing: {dangling:?}");
    let zero = |what: &str, query: &str| assert_eq!(count(&db, query), 0, "{what}");
    zero(
        "every article has text and a title",
        "SELECT count(*) FROM articles WHERE text IS NULL OR text = '' OR title IS NULL",
    );
    zero(
        "every article has its capture",
        "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM captures c WHERE c.article_id = a.id)",
    );
    zero(
        "every capture belongs to an article",
        "SELECT count(*) FROM captures c WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = c.article_id)",
    );
    zero(
        "every article's canonical URL leads to it",
        "SELECT count(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_urls u WHERE u.url = a.canonical_url AND u.article_id = a.id)",
    );
    zero(
        "every URL leads to an article",
        "SELECT count(*) FROM article_urls u WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = u.article_id)",
    );
    zero(
        "no page is stored as two articles",
        "SELECT count(*) FROM (SELECT url FROM captures GROUP BY url HAVING count(DISTINCT article_id) > 1)",
    );
    zero(
        "one capture per article",
        "SELECT count(*) FROM (SELECT article_id FROM captures GROUP BY article_id HAVING count(*) > 1)",
    );
    zero(
        "no story twice",
        "SELECT count(*) - count(DISTINCT text_fingerprint) FROM articles WHERE text_fingerprint IS NOT NULL",
    );
    // Each capture is the page as served, whole.
    let mut captures = db
        .prepare("SELECT url, body_zstd, body_size, body_sha256 FROM captures")
        .expect("read captures");
    let rows: Vec<(String, Vec<u8>, i64, String)> = captures
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .and_then(|rows| rows.collect())
        .expect("read captures");
    for (url, compressed, size, sha) in &rows {
        let i: usize = url
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("capture of an unknown page {url}"));
        let body = zstd::decode_all(compressed.as_slice()).expect("capture decompresses");
        assert_eq!(body, article_page(i).into_bytes(), "capture of {url}");
        assert_eq!(*size as usize, body.len());
        assert_eq!(*sha, newsvault::canon::body_hash(&body));
        assert!(url.starts_with(&site.server.url("/news/")), "{url}");
    }
    let articles = count(&db, "SELECT count(*) FROM articles") as usize;
    assert_eq!(articles, rows.len());
    assert!(articles <= ARTICLES);
    articles
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Run,
    Poll,
    Backfill,
}

/// Makes the source due now, as if its schedule had come round while the daemon was down.
fn make_due(archive_dir: &Path) {
    if !database(archive_dir).exists() {
        return; // created due
    }
    // A killed daemon's lease on the source is taken as run out, as it will have by the
    // time a successor would look.
    open_rw(archive_dir)
        .execute(
            "UPDATE sources SET next_poll_at = '2000-01-01T00:00:00.000Z',
                 lease_node = NULL, lease_until = NULL",
            [],
        )
        .expect("make the source due");
}

/// Takes the leases killed processes left on the source as run out, as they will have by
/// the time a later `newsvault poll` would look (a live lease makes it skip the source).
fn leases_run_out(archive_dir: &Path) {
    if !database(archive_dir).exists() {
        return;
    }
    open_rw(archive_dir)
        .execute(
            "UPDATE sources SET lease_node = NULL, lease_until = NULL",
            [],
        )
        .expect("give up the leases");
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_leaves_nothing_half_written() {
    const ROUNDS: usize = 5;
    const KILLS_PER_ROUND: usize = 4;
    let seed = std::env::var("NEWSVAULT_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6e65_7773_7661_756c_u64);
    println!("kill -9 at random moments: seed {seed} (set NEWSVAULT_FAULT_SEED to replay)");
    let mut rng = Rng(seed.max(1));
    let site = Site::start();
    let events = Events::new();
    events.watch(&site.server);
    let mut kills = 0;
    let mut mid_work = 0;
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write_config(dir.path(), dir.path(), &site, "*/30 * * * *");
        let list = dir.path().join("urls.txt");
        let urls: Vec<String> = (0..ARTICLES).map(|i| site.article_url(i)).collect();
        std::fs::write(&list, urls.join("\n")).expect("write URL list");
        let mut archived = 0;
        for _ in 0..KILLS_PER_ROUND {
            let mode = [Mode::Run, Mode::Poll, Mode::Backfill][rng.below(3)];
            // The moments to kill at: each request (robots.txt, the feed, every page not
            // yet archived) as it arrives and as its reply completes.
            let moments = 2 * (2 + ARTICLES - archived);
            let k = 1 + rng.below(moments);
            let mut command = newsvault();
            command.arg("--config").arg(&config);
            match mode {
                Mode::Run => {
                    make_due(dir.path());
                    command.arg("run");
                }
                Mode::Poll => {
                    leases_run_out(dir.path());
                    command.arg("poll");
                }
                Mode::Backfill => {
                    command
                        .args(["backfill", "-s", "site", "--urls"])
                        .arg(&list);
                }
            }
            let base = site.server.all_requests().len();
            let mut child = events.spawn(&mut command);
            let mut seen = 0;
            let moment = loop {
                match events.next() {
                    Event::Server(ServerEvent::Received(n) | ServerEvent::Replied(n))
                        if n > base =>
                    {
                        seen += 1;
                        if seen == k {
                            break format!("at moment {k} of {moments}");
                        }
                    }
                    Event::Line(pid, line)
                        if pid == child.pid
                            && mode == Mode::Run
                            && line.contains("\"message\":\"polled\"") =>
                    {
                        break "idle, after its poll".to_string();
                    }
                    Event::Exited(pid) if pid == child.pid => break "after it ended".to_string(),
                    _ => {}
                }
            };
            let _ = child.process.kill(); // SIGKILL
            let ended = reap(&mut child);
            if !moment.starts_with("after") {
                events.wait_exited(&child);
            }
            if ended.signal == Some(libc::SIGKILL) && moment.starts_with("at") {
                mid_work += 1;
            }
            kills += 1;
            let now = check_archive(&site, dir.path());
            println!(
                "round {round}: {mode:?} killed {moment}: {archived} -> {now} articles{}",
                if ended.signal.is_some() {
                    ""
                } else {
                    " (had already exited)"
                }
            );
            assert!(
                ended.signal.is_some() || ended.code == Some(0),
                "{mode:?} failed before the kill: {}",
                child.stderr()
            );
            assert!(now >= archived, "articles were lost: {archived} -> {now}");
            archived = now;
        }
        // A poll after the crashes (and their leases) archives everything that was due.
        leases_run_out(dir.path());
        let last = finish(&events, &mut poll_command(&config));
        assert_eq!(last.code, Some(0), "{}", last.stderr);
        assert_eq!(check_archive(&site, dir.path()), ARTICLES, "round {round}");
        let db = open_rw(dir.path());
        assert_eq!(
            count(
                &db,
                "SELECT count(*) FROM feed_items WHERE article_id IS NOT NULL"
            ),
            ARTICLES as i64,
            "every feed item leads to its article"
        );
    }
    assert_eq!(kills, ROUNDS * KILLS_PER_ROUND);
    // Most kills must land while work was going on, or the test proves little.
    assert!(
        mid_work * 2 >= kills,
        "only {mid_work} of {kills} kills landed mid-work"
    );
}

#[test]
fn a_locked_archive_is_waited_for_reported_and_recovered() {
    let site = Site::start();
    let events = Events::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), dir.path(), &site, "*/30 * * * *");
    site.list(10);
    let first = finish(&events, &mut poll_command(&config));
    assert_eq!(first.code, Some(0), "{}", first.stderr);

    // A reader in a long transaction does not hold the writer up (WAL), and keeps its
    // own consistent view while the archive changes under it.
    let reader = open_rw(dir.path());
    reader.execute_batch("BEGIN").expect("begin read");
    assert_eq!(count(&reader, "SELECT count(*) FROM articles"), 10);
    site.list(20);
    let second = finish(&events, &mut poll_command(&config));
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    assert_eq!(count(&reader, "SELECT count(*) FROM articles"), 10);
    reader.execute_batch("COMMIT").expect("end read");
    assert_eq!(count(&reader, "SELECT count(*) FROM articles"), 20);

    // A writer holding the lock past the busy timeout: the poll waits, then says which
    // archive is locked, and loses nothing.
    let writer = open_rw(dir.path());
    writer
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    site.list(ARTICLES);
    let blocked = finish(&events, &mut poll_command(&config));
    println!("locked: {}", blocked.stderr.trim_end());
    assert_eq!(blocked.code, Some(1), "{}", blocked.stderr);
    let path = database(dir.path()).display().to_string();
    assert!(
        blocked.stderr.contains(&path)
            && blocked.stderr.contains("database is locked")
            && blocked.stderr.contains("busy timeout"),
        "the error names the archive and the cause, after waiting: {}",
        blocked.stderr
    );
    writer.execute_batch("COMMIT").expect("release the lock");
    drop(writer);
    drop(reader);

    let after = finish(&events, &mut poll_command(&config));
    assert_eq!(after.code, Some(0), "{}", after.stderr);
    assert_eq!(check_archive(&site, dir.path()), ARTICLES);
}

/// A small tmpfs mounted for one test, unmounted when dropped (also when the test fails).
struct Mount {
    path: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `size` at `path`, or says why it cannot: only root may mount.
    /// Outside CI that skips the test; in CI (which runs as root) it fails it.
    fn tmpfs(path: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(path).expect("mount point");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let mounted = root
            && Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
                .arg("tmpfs")
                .arg(path)
                .status()
                .is_ok_and(|s| s.success());
        if mounted {
            return Some(Mount {
                path: path.to_path_buf(),
            });
        }
        let why = if root {
            "mount -t tmpfs failed (no CAP_SYS_ADMIN?)"
        } else {
            "not root, so no tmpfs can be mounted"
        };
        assert!(std::env::var_os("CI").is_none(), "{why}; CI must run this");
        println!("SKIPPED: {why}");
        None
    }

    fn remount(&self, mode: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.path)
            .status()
            .expect("run mount");
        assert!(status.success(), "remount {mode}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

#[test]
fn a_read_only_archive_is_reported_and_recovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(mount) = Mount::tmpfs(&dir.path().join("ro"), "16m") else {
        return;
    };
    let site = Site::start();
    let events = Events::new();
    let config = write_config(dir.path(), &mount.path, &site, "*/30 * * * *");
    site.list(10);
    let first = finish(&events, &mut poll_command(&config));
    assert_eq!(first.code, Some(0), "{}", first.stderr);

    mount.remount("ro");
    site.list(ARTICLES);
    let refused = finish(&events, &mut poll_command(&config));
    println!("read-only: {}", refused.stderr.trim_end());
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    let path = database(&mount.path).display().to_string();
    assert!(
        refused.stderr.contains(&path) && refused.stderr.contains("read-only"),
        "the error names the archive and the cause: {}",
        refused.stderr
    );

    mount.remount("rw");
    let after = finish(&events, &mut poll_command(&config));
    assert_eq!(after.code, Some(0), "{}", after.stderr);
    assert_eq!(check_archive(&site, &mount.path), ARTICLES);
}

/// Fills the file system at `dir` to the last byte with a file named `filler`.
fn fill(dir: &Path) {
    use std::io::Write;
    let mut filler = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("filler"))
        .expect("open filler");
    let block = vec![0u8; 4096];
    loop {
        match filler.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    let _ = filler.flush();
}

#[test]
fn a_full_disk_is_reported_survived_and_recovered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(mount) = Mount::tmpfs(&dir.path().join("full"), "8m") else {
        return;
    };
    let site = Site::start();
    let events = Events::new();
    // Every second, so the daemon meets the full disk at once.
    let config = write_config(dir.path(), &mount.path, &site, "* * * * * *");
    let path = database(&mount.path).display().to_string();
    site.list(5);
    let mut daemon = events.spawn(newsvault().arg("--config").arg(&config).arg("run"));
    assert!(
        events.wait_line(&daemon, "\"message\":\"polled\""),
        "{}",
        daemon.stderr()
    );

    // The disk fills while the daemon runs: it says so, and keeps running.
    fill(&mount.path);
    site.list(ARTICLES);
    assert!(
        events.wait_line(&daemon, "database or disk is full"),
        "{}",
        daemon.stderr()
    );
    let complaint = daemon
        .stderr()
        .lines()
        .find(|l| l.contains("database or disk is full"))
        .map(str::to_string)
        .unwrap_or_default();
    println!("disk full, daemon: {complaint}");
    assert!(
        complaint.contains(&path),
        "the error names the archive: {complaint}"
    );
    stop(&events, &mut daemon);

    // A poll on the full disk fails clearly and breaks nothing.
    fill(&mount.path);
    let refused = finish(&events, &mut poll_command(&config));
    println!("disk full, poll: {}", refused.stderr.trim_end());
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&path) && refused.stderr.contains("full"),
        "the error names the archive and the cause: {}",
        refused.stderr
    );
    assert_eq!(integrity(&open_rw(&mount.path)), "ok");

    // Space again: the next poll archives what was missed. A daemon stopped while the
    // disk was full may not have been able to give up its lease on the source (it logs
    // that the lease runs out by itself); the test takes it as run out.
    std::fs::remove_file(mount.path.join("filler")).expect("free the disk");
    leases_run_out(&mount.path);
    let after = finish(&events, &mut poll_command(&config));
    assert_eq!(after.code, Some(0), "{}", after.stderr);
    assert_eq!(check_archive(&site, &mount.path), ARTICLES);
}

/// SIGTERM, and the daemon must stop by itself, cleanly.
fn stop(events: &Events, daemon: &mut Spawned) {
    terminate(daemon);
    events.wait_exited(daemon);
    let ended = reap(daemon);
    assert_eq!(ended.code, Some(0), "{}", daemon.stderr());
}

// ------------------------------------------------------------------ network faults

/// A port that speaks plain HTTP at once to whoever connects, TLS client or not.
async fn plain_http_port() -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_faults_are_bounded_recorded_and_the_poll_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start().await;
    let tls = plain_http_port().await;
    let page = |i: usize| Reply::ok("text/html; charset=utf-8", article_page(i));
    server.route("/news/0", page(0));
    server.route("/news/1", page(1));
    let html = vec![("Content-Type".to_string(), "text/html".to_string())];
    let faults: Vec<(&str, Reply)> = vec![
        (
            "reset-mid-body",
            Reply::ResetMidBody {
                declared: 4000,
                body: article_page(2).into_bytes()[..200].to_vec(),
            },
        ),
        (
            "half-closed-head",
            Reply::HalfClose {
                prefix: b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n".to_vec(),
            },
        ),
        (
            "half-closed-silent",
            Reply::HalfClose { prefix: Vec::new() },
        ),
        (
            "trickle",
            Reply::Trickle {
                every: Duration::from_millis(50),
                headers: html.clone(),
                body: article_page(3).into_bytes(),
            },
        ),
        (
            "stalled",
            Reply::Stall {
                declared: 5000,
                headers: html.clone(),
                body: article_page(4).into_bytes()[..100].to_vec(),
            },
        ),
    ];
    for (name, reply) in &faults {
        server.route(&format!("/page/{name}"), reply.clone());
        server.route(&format!("/feed/{name}"), reply.clone());
    }
    let unresolvable = "http://newsvault-fault-test.invalid";
    let tls_url = format!("https://{tls}");
    // One feed lists good pages between the faulty ones: the good ones must be archived.
    let mut links = vec![server.url("/news/0")];
    links.extend(
        faults
            .iter()
            .map(|(name, _)| server.url(&format!("/page/{name}"))),
    );
    links.push(format!("{unresolvable}/page"));
    links.push(format!("{tls_url}/page"));
    links.push(server.url("/news/1"));
    let items: Vec<(Option<&str>, &str)> = links.iter().map(|l| (None, l.as_str())).collect();
    server.route("/mixed.xml", Reply::ok("application/rss+xml", rss(&items)));

    let mut sources = vec![("mixed", server.url("/mixed.xml"))];
    for (name, _) in &faults {
        sources.push((name, server.url(&format!("/feed/{name}"))));
    }
    sources.push(("unresolvable", format!("{unresolvable}/feed.xml")));
    sources.push(("tls", format!("{tls_url}/feed.xml")));
    let text = config_text(dir.path(), &sources).replace("timeout = \"5s\"", "timeout = \"1s\"");
    let config = Config::parse(&text, Path::new("faults.toml")).expect("test config is valid");
    let app = App::open(config, Clock::System).await.expect("open app");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");

    let by_name = |name: &str| {
        summaries
            .iter()
            .find(|s| s.source == name)
            .unwrap_or_else(|| panic!("no summary for {name}"))
    };
    let mixed = by_name("mixed");
    assert_eq!(mixed.failure, None);
    assert_eq!(
        (mixed.items, mixed.new, mixed.errors),
        (links.len(), 2, links.len() - 2),
        "{mixed:?}"
    );
    // Each failure names its URL and says what went wrong.
    let expected_cause: &[(&str, &[&str])] = &[
        ("reset-mid-body", &["reset", "decoding response body"]),
        ("half-closed-head", &["closed", "incomplete"]),
        ("half-closed-silent", &["closed", "incomplete"]),
        ("trickle", &["timed out"]),
        ("stalled", &["timed out"]),
        ("unresolvable", &["dns", "resolve", "lookup"]),
        ("tls", &["TLS handshake failed"]),
    ];
    for (name, causes) in expected_cause {
        let failure = by_name(name)
            .failure
            .clone()
            .unwrap_or_else(|| panic!("{name} did not fail"));
        println!("{name}: {failure}");
        let url = sources
            .iter()
            .find(|(source, _)| source == name)
            .map(|(_, url)| url.as_str())
            .unwrap_or_default();
        assert!(
            failure.contains(url) && causes.iter().any(|c| failure.contains(c)),
            "{name}: {failure:?} does not name {url} and say why ({causes:?})"
        );
    }

    let db = common::open_db(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM articles"), 2);
    assert_eq!(integrity(&db), "ok");
    // Every faulty URL is in the request log with its error, and no request outlived the
    // timeout by much: the trickle alone would take 50 ms x its length (over 20 s).
    for (name, causes) in expected_cause {
        let url_like = match *name {
            "unresolvable" => format!("{unresolvable}%"),
            "tls" => format!("{tls_url}%"),
            _ => format!("%/{name}"),
        };
        let errors: Vec<(String, String, i64)> = db
            .prepare(
                "SELECT url, error, duration_ms FROM fetches WHERE url LIKE ?1 AND error IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_map([&url_like], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .and_then(|rows| rows.collect())
            })
            .expect("read fetches");
        assert!(!errors.is_empty(), "{name}: no failed request logged");
        assert!(
            errors
                .iter()
                .any(|(_, error, _)| causes.iter().any(|c| error.contains(c))),
            "{name}: {errors:?}"
        );
        for (url, _, duration) in &errors {
            assert!(*duration < 10_000, "{url} took {duration} ms");
        }
    }
    // The pages that failed are remembered with their error, to be retried.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM feed_items WHERE article_id IS NULL AND last_error IS NOT NULL"
        ),
        (links.len() - 2) as i64
    );
}
