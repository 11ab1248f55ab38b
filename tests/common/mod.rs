//! Shared test helpers: a small HTTP/1.1 server on 127.0.0.1:0 that serves canned replies,
//! including the faulty ones real servers send (resets, endless bodies, truncation,
//! half-closed connections, trickling and stalled bodies), and records every request so
//! tests can check the headers newsvault sent (and follow them as they arrive, see
//! [`TestServer::observe`]). [`process`] runs the built binary.
#![allow(dead_code)]

pub mod postgres;
pub mod process;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers on a path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response.
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// 200 with validators; 304 when the request's If-None-Match matches the ETag.
    Conditional {
        etag: String,
        last_modified: String,
        content_type: String,
        body: Vec<u8>,
    },
    /// Reads the request, then resets the connection.
    Reset,
    /// A body of `total` bytes made of `chunk` repeated, written as it goes (never held in
    /// memory), with optional extra headers such as Content-Encoding.
    Endless {
        total: u64,
        chunk: Vec<u8>,
        headers: Vec<(String, String)>,
    },
    /// Declares a Content-Length longer than the body it sends, then closes.
    Truncated { declared: usize, body: Vec<u8> },
    /// Declares `declared` bytes, sends `body` (fewer), then resets the connection.
    ResetMidBody { declared: usize, body: Vec<u8> },
    /// Sends `prefix` (an incomplete head, or nothing), then shuts its write side and
    /// waits for the client to give up: a response that never completes.
    HalfClose { prefix: Vec<u8> },
    /// A complete head, then the body one byte every `every`.
    Trickle {
        every: Duration,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Declares `declared` bytes, sends `body` (fewer), then stays silent with the
    /// connection open until the client gives up.
    Stall {
        declared: usize,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

impl Reply {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
        Reply::Full {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: format!("status {status}").into_bytes(),
        }
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
}

/// What the server tells an observer, in order: each request as it arrives (numbered from
/// 1 over the server's life) and when the reply to it has been written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    Received(usize),
    Replied(usize),
}

/// Makes the reply for a path that has no route.
pub type Fallback = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

#[derive(Clone)]
pub struct TestServer {
    pub addr: std::net::SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    log: Arc<Mutex<Vec<Received>>>,
    observer: Arc<Mutex<Option<std::sync::mpsc::Sender<ServerEvent>>>>,
    fallback: Arc<Mutex<Option<Fallback>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind test server");
        let server = TestServer {
            addr: listener.local_addr().expect("local addr"),
            routes: Arc::default(),
            log: Arc::default(),
            observer: Arc::default(),
            fallback: Arc::default(),
        };
        let shared = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move { shared.serve(stream).await });
            }
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn route(&self, path: &str, reply: Reply) {
        self.routes
            .lock()
            .expect("routes")
            .insert(path.to_string(), reply);
    }

    /// Sends every [`ServerEvent`] to `observer` from now on.
    pub fn observe(&self, observer: std::sync::mpsc::Sender<ServerEvent>) {
        *self.observer.lock().expect("observer") = Some(observer);
    }

    /// Answers paths without a route with `make(path)` instead of a 404. Requests in
    /// absolute form (`GET http://host/path`, as sent to a proxy) get it too, so the
    /// server can stand in for every other web site; CONNECT requests still get a 404.
    pub fn fallback(&self, make: impl Fn(&str) -> Reply + Send + Sync + 'static) {
        *self.fallback.lock().expect("fallback") = Some(Arc::new(make));
    }

    /// Every request received so far, oldest first.
    pub fn all_requests(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// Requests received for `path` (query included), oldest first.
    pub fn requests(&self, path: &str) -> Vec<Received> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    async fn serve(&self, mut stream: TcpStream) {
        let Some(received) = read_request(&mut stream).await else {
            return;
        };
        let reply = {
            let routes = self.routes.lock().expect("routes");
            let bare = received.path.split('?').next().unwrap_or("").to_string();
            routes
                .get(&received.path)
                .or_else(|| routes.get(&bare))
                .cloned()
        };
        let reply = reply.or_else(|| {
            let path = &received.path;
            let fallback = self.fallback.lock().expect("fallback").clone();
            fallback
                .filter(|_| path.starts_with('/') || path.starts_with("http://"))
                .map(|make| make(path))
        });
        let if_none_match = received.headers.get("if-none-match").cloned();
        let index = {
            let mut log = self.log.lock().expect("log");
            log.push(received);
            log.len()
        };
        self.notify(ServerEvent::Received(index));
        let reply = reply.unwrap_or_else(|| Reply::status(404, &[]));
        let _ = write_reply(&mut stream, reply, if_none_match).await;
        self.notify(ServerEvent::Replied(index));
    }

    fn notify(&self, event: ServerEvent) {
        if let Some(observer) = self.observer.lock().expect("observer").as_ref() {
            let _ = observer.send(event);
        }
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buffer).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Received { path, headers })
}

fn head(status: u16, headers: &[(String, String)], length: Option<usize>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    if let Some(length) = length {
        out.push_str(&format!("Content-Length: {length}\r\n"));
    }
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

async fn write_reply(
    stream: &mut TcpStream,
    reply: Reply,
    if_none_match: Option<String>,
) -> std::io::Result<()> {
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            stream
                .write_all(&head(status, &headers, Some(body.len())))
                .await?;
            stream.write_all(&body).await?;
        }
        Reply::Conditional {
            etag,
            last_modified,
            content_type,
            body,
        } => {
            let headers = vec![
                ("ETag".to_string(), etag.clone()),
                ("Last-Modified".to_string(), last_modified),
                ("Content-Type".to_string(), content_type),
            ];
            if if_none_match.as_deref() == Some(etag.as_str()) {
                stream.write_all(&head(304, &headers, None)).await?;
            } else {
                stream
                    .write_all(&head(200, &headers, Some(body.len())))
                    .await?;
                stream.write_all(&body).await?;
            }
        }
        Reply::Reset => {
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            return Ok(());
        }
        Reply::Endless {
            total,
            chunk,
            headers,
        } => {
            stream.write_all(&head(200, &headers, None)).await?;
            let mut sent = 0u64;
            while sent < total {
                stream.write_all(&chunk).await?;
                sent += chunk.len() as u64;
            }
        }
        Reply::Truncated { declared, body } => {
            let headers = vec![(
                "Content-Type".to_string(),
                "application/rss+xml".to_string(),
            )];
            stream
                .write_all(&head(200, &headers, Some(declared)))
                .await?;
            stream.write_all(&body).await?;
        }
        Reply::ResetMidBody { declared, body } => {
            let headers = vec![("Content-Type".to_string(), "text/html".to_string())];
            stream
                .write_all(&head(200, &headers, Some(declared)))
                .await?;
            stream.write_all(&body).await?;
            stream.flush().await?;
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            return Ok(());
        }
        Reply::HalfClose { prefix } => {
            stream.write_all(&prefix).await?;
            stream.shutdown().await?;
            return wait_for_close(stream).await;
        }
        Reply::Trickle {
            every,
            headers,
            body,
        } => {
            stream
                .write_all(&head(200, &headers, Some(body.len())))
                .await?;
            for byte in body {
                stream.write_all(&[byte]).await?;
                stream.flush().await?;
                tokio::time::sleep(every).await;
            }
        }
        Reply::Stall {
            declared,
            headers,
            body,
        } => {
            stream
                .write_all(&head(200, &headers, Some(declared)))
                .await?;
            stream.write_all(&body).await?;
            stream.flush().await?;
            return wait_for_close(stream).await;
        }
    }
    stream.flush().await?;
    stream.shutdown().await
}

/// Reads (and drops) whatever the client sends until it closes the connection.
async fn wait_for_close(stream: &mut TcpStream) -> std::io::Result<()> {
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

/// The repository's fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(relative: &str) -> Vec<u8> {
    let path = fixtures().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()))
}

/// An RSS 2.0 feed listing `(guid, link)` items.
pub fn rss(items: &[(Option<&str>, &str)]) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>test</title><link>http://example.org/</link><description>d</description>\n",
    );
    for (index, (guid, link)) in items.iter().enumerate() {
        xml.push_str(&format!(
            "<item><title>item {index}</title><link>{}</link>",
            escape(link)
        ));
        if let Some(guid) = guid {
            xml.push_str(&format!(
                "<guid isPermaLink=\"false\">{}</guid>",
                escape(guid)
            ));
        }
        xml.push_str("</item>\n");
    }
    xml.push_str("</channel></rss>\n");
    xml.into_bytes()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

/// A configuration with the given `[[source]]` blocks, archiving into `dir`.
pub fn config_text(dir: &Path, sources: &[(&str, String)]) -> String {
    let mut text = format!(
        "[archive]\ndatabase = {:?}\n[http]\ntimeout = \"5s\"\nmax_body = \"1MiB\"\nmax_redirects = 5\nper_host_delay = \"0s\"\n",
        dir.join("archive.sqlite3").to_string_lossy()
    );
    // The kind is named: these feeds are the tests' subject, bad ones included, and a
    // source without a kind would be detected as something else (an HTML "feed" as a page).
    for (name, url) in sources {
        text.push_str(&format!(
            "[[source]]\nname = \"{name}\"\nurl = \"{url}\"\nkind = \"feed\"\ntimezone = \"Asia/Dhaka\"\n"
        ));
    }
    text
}

/// Opens the archive read-only, as a user's sqlite3 would.
pub fn open_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        dir.join("archive.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open archive")
}

pub fn count(db: &rusqlite::Connection, query: &str) -> i64 {
    db.query_row(query, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}
