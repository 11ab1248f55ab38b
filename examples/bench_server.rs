//! A static page server for the end-to-end benchmark (`scripts/bench.sh`): reads page
//! paths from stdin, holds their bytes in memory, and serves page N at `/p/N` on
//! 127.0.0.1 (port 0 unless `--port` is given). It prints `http://127.0.0.1:PORT` on
//! stdout once listening, then serves until killed. Pages are served as `text/html`
//! without a charset, so the client detects it as it must on the real web.
//!
//! One thread: serving from memory costs far less than fetching and extracting, and the
//! benchmark wants the machine's cores for the client being measured.

use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let mut pages = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let path = line.split('\t').next().unwrap_or("").trim();
        if path.is_empty() {
            continue;
        }
        pages.push(Bytes::from(std::fs::read(path)?));
    }
    let pages = Arc::new(pages);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(pages, port))
}

async fn serve(pages: Arc<Vec<Bytes>>, port: u16) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let pages = Arc::clone(&pages);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<_>| {
                let response = page(&pages, request.uri().path());
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn page(pages: &[Bytes], path: &str) -> Response<Full<Bytes>> {
    let found = path
        .strip_prefix("/p/")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| pages.get(n));
    let mut response = match found {
        Some(body) => Response::new(Full::new(body.clone())),
        None => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/html"),
    );
    response
}
