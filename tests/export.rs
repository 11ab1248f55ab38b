//! `newsvault export` round trips on an archive the real pipeline built: JSON Lines and
//! CSV hold every article, WARC records read back (by a Rust-side reader here, and by
//! Python's warcio when it is installed) with bodies equal to `newsvault raw`, and a reader
//! that stops early (`| head`) ends the export cleanly.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Reply, TestServer, config_text, count, fixture, open_db, rss};
use newsvault::app::App;
use newsvault::clock::Clock;
use newsvault::config::Config;
use newsvault::shutdown::Shutdown;
use sha1::Digest;

const PAGES: &[&str] = &[
    "bss-seed-lavrov-kim.html",
    "bss-en-homestead-gardening-rajshahi.html",
    "ukbdnews-mp-brother-killed-kushtia.html",
    "dakshinbanga-science-fair.html",
    "meghnaprotidin-book-fair.html",
    "nabadiganta-mango-market.html",
];

/// Builds the archive; the feed serves pages gzip-declared headers aside, as plain 200s.
async fn build_archive(dir: &Path) -> TestServer {
    let server = TestServer::start().await;
    for page in PAGES {
        server.route(
            &format!("/pages/{page}"),
            Reply::Full {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "text/html; charset=utf-8".into()),
                    ("X-Served-By".into(), "test".into()),
                ],
                body: fixture(&format!("pages/{page}")),
            },
        );
    }
    let links: Vec<String> = PAGES
        .iter()
        .map(|p| server.url(&format!("/pages/{p}")))
        .collect();
    let items: Vec<(Option<&str>, &str)> = links.iter().map(|l| (None, l.as_str())).collect();
    server.route("/feed.xml", Reply::ok("application/rss+xml", rss(&items)));
    let config = Config::parse(
        &config_text(dir, &[("bd", server.url("/feed.xml"))]),
        Path::new("test.toml"),
    )
    .expect("test config is valid");
    let app = App::open(config, Clock::System).await.expect("open app");
    let summaries = app.poll(&[], &Shutdown::never()).await.expect("poll");
    assert_eq!(summaries[0].new, PAGES.len(), "{summaries:?}");
    server
}

fn database(dir: &Path) -> PathBuf {
    dir.join("archive.sqlite3")
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newsvault"));
    command
        .env_remove("RUST_LOG")
        .env_remove("NEWSVAULT_CONFIG")
        .env_remove("NEWSVAULT_DATABASE")
        .arg("--database")
        .arg(database(dir))
        .args(args);
    command
}

fn newsvault(dir: &Path, args: &[&str]) -> Output {
    let output = command(dir, args).output().expect("run newsvault");
    assert!(
        output.status.success(),
        "newsvault {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn jsonl_and_csv_hold_every_article() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    let articles = count(&open_db(dir.path()), "SELECT count(*) FROM articles");

    let output = newsvault(dir.path(), &["export", "--format", "jsonl"]);
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(rows.len() as i64, articles);
    for row in &rows {
        assert_eq!(row["source"], "bd");
        assert!(row["text"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(row["urls"].as_array().is_some_and(|u| !u.is_empty()));
        assert!(row["authors"].is_array());
    }
    assert!(text.contains("লাভরভ"));

    // CSV: a header and one record per article, through a real CSV parser, texts with
    // newlines and quotes intact.
    let out = dir.path().join("articles.csv");
    newsvault(
        dir.path(),
        &["export", "--format", "csv", "--out", &out.to_string_lossy()],
    );
    assert!(!dir.path().join("articles.csv.partial").exists());
    let mut reader = csv::Reader::from_path(&out).expect("open CSV");
    let headers = reader.headers().expect("header row").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        newsvault::export::CSV_COLUMNS
    );
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("CSV parses");
    assert_eq!(records.len() as i64, articles);
    let text_column = headers
        .iter()
        .position(|h| h == "text")
        .expect("text column");
    for (record, row) in records.iter().zip(&rows) {
        assert_eq!(
            Some(record[text_column].to_string()),
            row["text"].as_str().map(String::from)
        );
        let authors: Vec<String> = serde_json::from_str(&record[5]).expect("authors is JSON");
        assert_eq!(serde_json::json!(authors), row["authors"]);
    }
    // Python's csv module agrees, when Python is here.
    if let Some(python) = python_with(None) {
        let script = "import csv,sys\nrows=list(csv.DictReader(open(sys.argv[1],newline='',encoding='utf-8')))\nprint(len(rows), sum(1 for r in rows if r['text']))";
        let output = Command::new(python)
            .args(["-c", script])
            .arg(&out)
            .output()
            .expect("run python");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            format!("{articles} {articles}")
        );
    }

    // Filters: a day in the far future selects nothing; an unknown source is an error.
    let none = newsvault(dir.path(), &["export", "--since", "2999-01-01"]);
    assert!(none.stdout.is_empty());
    let csv_none = newsvault(
        dir.path(),
        &[
            "export",
            "-f",
            "csv",
            "--source",
            "bd",
            "--until",
            "1999-12-31",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&csv_none.stdout).lines().count(), 1);
    let unknown = command(dir.path(), &["export", "--source", "nope"])
        .output()
        .expect("run");
    assert_eq!(unknown.status.code(), Some(2));
}

/// One WARC record as read back.
#[derive(Debug)]
struct Record {
    headers: HashMap<String, String>,
    block: Vec<u8>,
}

/// A strict reader of uncompressed WARC: version line, fields, Content-Length bytes of
/// block, then exactly CRLF CRLF.
fn read_warc(mut data: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    while !data.is_empty() {
        let end = data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("record header ends");
        let head = std::str::from_utf8(&data[..end]).expect("header is UTF-8");
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next(), Some("WARC/1.1"));
        let headers: HashMap<String, String> = lines
            .map(|l| {
                let (k, v) = l.split_once(": ").expect("field has a colon");
                (k.to_string(), v.to_string())
            })
            .collect();
        let length: usize = headers["Content-Length"].parse().expect("length");
        let block = data[end + 4..end + 4 + length].to_vec();
        assert_eq!(&data[end + 4 + length..end + 8 + length], b"\r\n\r\n");
        data = &data[end + 8 + length..];
        records.push(Record { headers, block });
    }
    records
}

fn sha1_base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = sha1::Sha1::digest(bytes);
    let mut bits = 0u32;
    let mut value = 0u32;
    let mut out = String::from("sha1:");
    for byte in digest {
        value = (value << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((value >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    out
}

/// A Python interpreter that can import `module` (or any, for `None`): the one named by
/// NEWSVAULT_TEST_PYTHON, else python3.
fn python_with(module: Option<&str>) -> Option<String> {
    let python = std::env::var("NEWSVAULT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let import = format!("import {}", module.unwrap_or("sys"));
    let ok = Command::new(&python)
        .args(["-c", &import])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

#[tokio::test(flavor = "multi_thread")]
async fn warc_records_read_back_with_bodies_equal_to_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    let db = open_db(dir.path());
    let captures: Vec<(i64, String)> = db
        .prepare("SELECT article_id, url FROM captures ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .expect("captures");
    // What `newsvault raw` gives for each URL.
    let raw: HashMap<String, Vec<u8>> = captures
        .iter()
        .map(|(id, url)| {
            (
                url.clone(),
                newsvault(dir.path(), &["raw", &id.to_string()]).stdout,
            )
        })
        .collect();

    let plain = dir.path().join("archive.warc");
    newsvault(
        dir.path(),
        &[
            "export",
            "--format",
            "warc",
            "--out",
            &plain.to_string_lossy(),
        ],
    );
    let data = std::fs::read(&plain).expect("read WARC");
    let records = read_warc(&data);
    assert_eq!(records.len(), captures.len() + 1);
    let info = &records[0];
    assert_eq!(info.headers["WARC-Type"], "warcinfo");
    assert_eq!(info.headers["WARC-Filename"], "archive.warc");
    assert!(String::from_utf8_lossy(&info.block).contains("software: newsvault"));
    let mut ids = std::collections::HashSet::new();
    for record in &records {
        let id = &record.headers["WARC-Record-ID"];
        assert!(id.starts_with("<urn:uuid:") && id.ends_with('>'), "{id}");
        assert!(ids.insert(id.clone()), "duplicate record id {id}");
        assert!(record.headers["WARC-Date"].ends_with('Z'));
    }
    for record in &records[1..] {
        let h = &record.headers;
        assert_eq!(h["WARC-Type"], "response");
        assert_eq!(h["Content-Type"], "application/http;msgtype=response");
        assert_eq!(h["WARC-Warcinfo-ID"], info.headers["WARC-Record-ID"]);
        assert_eq!(h["WARC-Block-Digest"], sha1_base32(&record.block));
        let split = record
            .block
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("HTTP head ends");
        let http_head = std::str::from_utf8(&record.block[..split]).expect("HTTP head");
        let body = &record.block[split + 4..];
        assert!(http_head.starts_with("HTTP/1.1 200 OK\r\n"), "{http_head}");
        // reqwest hands header names over in lower case; they are kept as stored.
        assert!(http_head.contains("x-served-by: test"), "{http_head}");
        assert!(
            http_head.contains("X-Archive-Orig-content-length: "),
            "{http_head}"
        );
        assert!(
            http_head.contains(&format!("\r\nContent-Length: {}", body.len())),
            "{http_head}"
        );
        // The server's own Content-Length is kept, renamed; one Content-Length remains.
        assert_eq!(
            http_head.matches("\r\nContent-Length:").count(),
            1,
            "{http_head}"
        );
        assert_eq!(h["WARC-Payload-Digest"], sha1_base32(body));
        let target = &h["WARC-Target-URI"];
        assert!(
            raw[target] == body,
            "body of {target} differs from `newsvault raw`"
        );
        let page = target.rsplit('/').next().expect("page name");
        assert!(body == fixture(&format!("pages/{page}")).as_slice());
    }

    // Exporting again gives the same response records (ids and dates are derived, not
    // random); only the warcinfo record, dated at export time, differs.
    let again = newsvault(dir.path(), &["export", "--format", "warc"]).stdout;
    let again = read_warc(&again);
    for (a, b) in records[1..].iter().zip(&again[1..]) {
        let strip = |h: &HashMap<String, String>| {
            let mut h = h.clone();
            h.remove("WARC-Warcinfo-ID");
            h
        };
        assert_eq!(strip(&a.headers), strip(&b.headers));
        assert_eq!(a.block, b.block);
    }

    // .warc.gz: one gzip member per record, the same records inside.
    let gz = dir.path().join("archive.warc.gz");
    newsvault(
        dir.path(),
        &["export", "--format", "warc", "--out", &gz.to_string_lossy()],
    );
    let compressed = std::fs::read(&gz).expect("read .warc.gz");
    let members = compressed
        .windows(3)
        .filter(|w| w == &[0x1f, 0x8b, 0x08])
        .count();
    assert!(members >= records.len(), "{members} gzip members");
    let mut unzipped = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed.as_slice())
        .read_to_end(&mut unzipped)
        .expect("gunzip");
    let from_gz = read_warc(&unzipped);
    assert_eq!(from_gz.len(), records.len());
    assert_eq!(from_gz[1].block, records[1].block);

    // warcio, the reference Python reader, when installed (CI installs it).
    let Some(python) = python_with(Some("warcio")) else {
        eprintln!("warcio is not installed: skipped the warcio check");
        return;
    };
    let script = r#"
import hashlib, json, sys
from warcio.archiveiterator import ArchiveIterator
out = []
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        for record in ArchiveIterator(f, check_digests=True):
            body = record.content_stream().read()
            out.append({
                'file': path,
                'type': record.rec_type,
                'uri': record.rec_headers.get_header('WARC-Target-URI'),
                'status': record.http_headers.get_statuscode() if record.http_headers else None,
                'sha256': hashlib.sha256(body).hexdigest(),
                'digest_ok': record.digest_checker.passed,
            })
print(json.dumps(out))
"#;
    let output = Command::new(python)
        .args(["-c", script])
        .arg(&plain)
        .arg(&gz)
        .output()
        .expect("run warcio");
    assert!(
        output.status.success(),
        "warcio failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("warcio script prints JSON");
    assert_eq!(read.len(), 2 * records.len());
    for record in &read {
        if record["type"] == "response" {
            // Both digests were present and verified.
            assert_eq!(record["digest_ok"], true, "{record}");
            assert_eq!(record["status"], "200");
            let uri = record["uri"].as_str().expect("uri");
            assert_eq!(
                record["sha256"].as_str(),
                Some(newsvault::canon::body_hash(&raw[uri]).as_str()),
                "warcio's body of {uri} differs from `newsvault raw`"
            );
        } else {
            assert_eq!(record["type"], "warcinfo");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn export_into_a_closed_pipe_ends_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = build_archive(dir.path()).await;
    // The WARC of six pages is far larger than a pipe's buffer, so the writer meets the
    // closed pipe while it still has records to write: `newsvault export | head -c 100`.
    for format in ["warc", "jsonl"] {
        let mut child = command(dir.path(), &["export", "--format", format])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 100];
        stdout.read_exact(&mut first).expect("first bytes");
        drop(stdout);
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{format}: {:?} {stderr}",
            output.status
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
