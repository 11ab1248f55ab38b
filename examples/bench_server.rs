//! A static page server for the benchmarks (`scripts/bench.sh`, `scripts/cluster_bench.sh`):
//! reads page paths from stdin, holds their bytes in memory, and serves page N at `/p/N`.
//! Pages are served as `text/html` without a charset, so the client detects it as it must
//! on the real web.
//!
//! By default it listens on 127.0.0.1 (port 0 unless `--port` is given) and prints
//! `http://127.0.0.1:PORT` on stdout once listening. With `--hosts H` it plays H sites on
//! the loopback addresses 127.0.0.1 … 127.0.0.H (each on a port of its own) and prints one
//! base URL per site: page N belongs to site N mod H, and with `--sitemaps S` each site
//! also serves S sitemaps, `/sitemap-0.xml` … `/sitemap-{S-1}.xml`, which share its pages
//! between them (a site's k-th page is listed in sitemap k mod S), so a crawler can be
//! given H × S sources that together list every page once. It serves until killed.
//!
//! One thread: serving from memory costs far less than fetching and extracting, and the
//! benchmark wants the machine's cores for the client being measured.

use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

/// The pages, and how they are spread over sites and sitemaps.
struct Site {
    pages: Vec<Bytes>,
    hosts: usize,
    sitemaps: usize,
}

fn flag(args: &[String], name: &str) -> Option<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = flag(&args, "--port")
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(0);
    let hosts = flag(&args, "--hosts").unwrap_or(1).clamp(1, 254);
    let sitemaps = flag(&args, "--sitemaps").unwrap_or(1).max(1);
    let mut pages = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let path = line.split('\t').next().unwrap_or("").trim();
        if path.is_empty() {
            continue;
        }
        pages.push(Bytes::from(std::fs::read(path)?));
    }
    let site = Arc::new(Site {
        pages,
        hosts,
        sitemaps,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(site, port))
}

async fn serve(site: Arc<Site>, port: u16) -> std::io::Result<()> {
    let mut listeners = Vec::new();
    for host in 0..site.hosts {
        // Only the first site takes the port asked for; the others take free ones.
        let port = if host == 0 { port } else { 0 };
        let ip = Ipv4Addr::new(127, 0, 0, u8::try_from(host + 1).unwrap_or(1));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((ip, port))).await?;
        println!("http://{}", listener.local_addr()?);
        listeners.push((host, listener));
    }
    let mut accepting = tokio::task::JoinSet::new();
    for (host, listener) in listeners {
        let site = Arc::clone(&site);
        accepting.spawn(accept(site, host, listener));
    }
    while let Some(done) = accepting.join_next().await {
        done.map_err(std::io::Error::other)??;
    }
    Ok(())
}

async fn accept(
    site: Arc<Site>,
    host: usize,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    let base = format!("http://{}", listener.local_addr()?);
    let base = Arc::new(base);
    loop {
        let (stream, _) = listener.accept().await?;
        let site = Arc::clone(&site);
        let base = Arc::clone(&base);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<_>| {
                let response = respond(&site, host, &base, request.uri().path());
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

fn respond(site: &Site, host: usize, base: &str, path: &str) -> Response<Full<Bytes>> {
    if let Some(sitemap) = path
        .strip_prefix("/sitemap-")
        .and_then(|rest| rest.strip_suffix(".xml"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n < site.sitemaps)
    {
        return with_type(
            Response::new(Full::new(Bytes::from(sitemap_xml(
                site, host, sitemap, base,
            )))),
            "application/xml",
        );
    }
    let found = path
        .strip_prefix("/p/")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| site.pages.get(n));
    let response = match found {
        Some(body) => Response::new(Full::new(body.clone())),
        None => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    };
    with_type(response, "text/html")
}

/// The sitemap `sitemap` of site `host`: the site's pages whose rank on the site is
/// `sitemap` modulo the number of sitemaps, undated (so a crawler takes them all).
fn sitemap_xml(site: &Site, host: usize, sitemap: usize, base: &str) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    let on_this_site = (host..site.pages.len()).step_by(site.hosts);
    for page in on_this_site.skip(sitemap).step_by(site.sitemaps) {
        xml.push_str(&format!("<url><loc>{base}/p/{page}</loc></url>\n"));
    }
    xml.push_str("</urlset>\n");
    xml
}

fn with_type(
    mut response: Response<Full<Bytes>>,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
