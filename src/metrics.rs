//! The daemon's live figures for Prometheus, and the one place they are counted: requests
//! and bytes by purpose and outcome, articles, duplicates and errors by source, polls in
//! flight (the queue depth), and poll latency. Counting is lock-free and always on (a few
//! atomic adds per request); serving them over HTTP is [`serve`], started only when
//! `[metrics] listen` is set. `/healthz` answers 200 while the scheduler loop keeps
//! turning and the archive answers, 503 otherwise, so a supervisor or load balancer can
//! tell a hung or broken daemon from a quiet one.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::shutdown::Shutdown;

/// The scheduler loop wakes at least every five minutes; a loop silent for longer than
/// this is hung, and `/healthz` says so.
const LOOP_STALL: Duration = Duration::from_secs(15 * 60);

/// Poll latency buckets, seconds: a feed alone takes well under a second, a sitemap with
/// a hundred new articles behind a polite per-host delay several minutes.
const POLL_SECONDS_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// feed, page, sitemap, robots.
    purpose: String,
    /// The status class ("2xx", "304", "4xx", "5xx") or "error" when no response came.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisitLabels {
    /// unchanged, new_version, removed, failed, postponed.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PurposeLabels {
    purpose: String,
}

/// Every figure the daemon exports.
struct Figures {
    requests: Family<RequestLabels, Counter>,
    response_bytes: Family<PurposeLabels, Counter>,
    articles: Family<SourceLabels, Counter>,
    duplicates: Family<SourceLabels, Counter>,
    item_errors: Family<SourceLabels, Counter>,
    poll_failures: Family<SourceLabels, Counter>,
    polls: Family<SourceLabels, Counter>,
    poll_seconds: Family<SourceLabels, Histogram>,
    revisits: Family<RevisitLabels, Counter>,
    polls_in_flight: Gauge,
    sources_enabled: Gauge,
    last_loop_unix: Gauge,
}

struct Inner {
    registry: Registry,
    figures: Figures,
    /// Seconds since the epoch of the scheduler loop's last turn; 0 until the first.
    last_loop: AtomicI64,
    /// Whether the archive failed on the loop's last attempt to read the schedule.
    store_failing: AtomicBool,
    /// The archive's last error, for `/healthz`.
    store_error: Mutex<Option<String>>,
}

/// Shared handle to the daemon's figures; cloning is cheap.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn poll_histogram() -> Histogram {
    Histogram::new(POLL_SECONDS_BUCKETS)
}

impl Metrics {
    pub fn new() -> Metrics {
        let figures = Figures {
            requests: Family::default(),
            response_bytes: Family::default(),
            articles: Family::default(),
            duplicates: Family::default(),
            item_errors: Family::default(),
            poll_failures: Family::default(),
            polls: Family::default(),
            poll_seconds: Family::new_with_constructor(poll_histogram),
            revisits: Family::default(),
            polls_in_flight: Gauge::default(),
            sources_enabled: Gauge::default(),
            last_loop_unix: Gauge::default(),
        };
        let mut registry = Registry::with_prefix("newsvault");
        registry.register(
            "http_requests",
            "HTTP requests made, by purpose and outcome",
            figures.requests.clone(),
        );
        registry.register(
            "http_response_bytes",
            "Response body bytes received (after decompression), by purpose",
            figures.response_bytes.clone(),
        );
        registry.register(
            "articles_archived",
            "New articles archived, by the source that found them",
            figures.articles.clone(),
        );
        registry.register(
            "duplicates",
            "Fetched pages that were an article already archived, by source",
            figures.duplicates.clone(),
        );
        registry.register(
            "item_errors",
            "Items of a poll that could not be archived, by source",
            figures.item_errors.clone(),
        );
        registry.register(
            "poll_failures",
            "Polls that failed as a whole (feed unreadable, host refusing), by source",
            figures.poll_failures.clone(),
        );
        registry.register("polls", "Polls finished, by source", figures.polls.clone());
        registry.register(
            "poll_duration_seconds",
            "How long a poll took, listing and articles included, by source",
            figures.poll_seconds.clone(),
        );
        registry.register(
            "revisits",
            "Revisits of archived articles, by outcome (unchanged, new_version, removed, failed, postponed)",
            figures.revisits.clone(),
        );
        registry.register(
            "polls_in_flight",
            "Polls running now",
            figures.polls_in_flight.clone(),
        );
        registry.register(
            "sources_enabled",
            "Enabled sources in the configuration in force",
            figures.sources_enabled.clone(),
        );
        registry.register(
            "scheduler_last_loop_timestamp_seconds",
            "When the scheduler loop last turned (Unix time)",
            figures.last_loop_unix.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                figures,
                last_loop: AtomicI64::new(0),
                store_failing: AtomicBool::new(false),
                store_error: Mutex::new(None),
            }),
        }
    }

    /// One HTTP request: its purpose, its status if a response came, and the body bytes.
    pub fn request(&self, purpose: &str, status: Option<u16>, bytes: u64) {
        let outcome = match status {
            None => "error",
            Some(304) => "304",
            Some(200..=299) => "2xx",
            Some(300..=399) => "3xx",
            Some(400..=499) => "4xx",
            Some(_) => "5xx",
        };
        let figures = &self.inner.figures;
        figures
            .requests
            .get_or_create(&RequestLabels {
                purpose: purpose.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        figures
            .response_bytes
            .get_or_create(&PurposeLabels {
                purpose: purpose.to_string(),
            })
            .inc_by(bytes);
    }

    /// One finished poll of `source`.
    pub fn poll(&self, source: &str, outcome: &PollFigures, took: Duration) {
        let labels = SourceLabels {
            source: source.to_string(),
        };
        let figures = &self.inner.figures;
        figures.polls.get_or_create(&labels).inc();
        figures
            .articles
            .get_or_create(&labels)
            .inc_by(outcome.new as u64);
        figures
            .duplicates
            .get_or_create(&labels)
            .inc_by(outcome.duplicates as u64);
        figures
            .item_errors
            .get_or_create(&labels)
            .inc_by(outcome.errors as u64);
        if outcome.failed {
            figures.poll_failures.get_or_create(&labels).inc();
        }
        figures
            .poll_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// One revisit of an archived article and what it found.
    pub fn revisit(&self, outcome: &str) {
        self.inner
            .figures
            .revisits
            .get_or_create(&RevisitLabels {
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// A turn of the scheduler loop: the time (Unix seconds), polls running, and whether
    /// the archive answered. Feeds `/healthz`.
    pub fn scheduler_turn(
        &self,
        unix_seconds: i64,
        polls_in_flight: usize,
        store: Result<(), String>,
    ) {
        let figures = &self.inner.figures;
        figures.polls_in_flight.set(polls_in_flight as i64);
        figures.last_loop_unix.set(unix_seconds);
        self.inner.last_loop.store(unix_seconds, Ordering::Relaxed);
        self.inner
            .store_failing
            .store(store.is_err(), Ordering::Relaxed);
        if let Err(error) = store
            && let Ok(mut slot) = self.inner.store_error.lock()
        {
            *slot = Some(error);
        }
    }

    pub fn set_sources_enabled(&self, count: usize) {
        self.inner.figures.sources_enabled.set(count as i64);
    }

    /// The figures in Prometheus' text exposition format (OpenMetrics).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }

    /// Whether the daemon is healthy at `now_unix`, and a one-line JSON body saying why.
    pub fn health(&self, now_unix: i64) -> (bool, String) {
        let last = self.inner.last_loop.load(Ordering::Relaxed);
        let store_failing = self.inner.store_failing.load(Ordering::Relaxed);
        let loop_age = (last > 0).then(|| now_unix.saturating_sub(last));
        let stalled = match loop_age {
            // Not yet turned: the daemon is starting.
            None => true,
            Some(age) => age > LOOP_STALL.as_secs() as i64,
        };
        let healthy = !stalled && !store_failing;
        let store_error = if store_failing {
            self.inner
                .store_error
                .lock()
                .ok()
                .and_then(|slot| slot.clone())
        } else {
            None
        };
        let body = serde_json::json!({
            "status": if healthy { "ok" } else { "unhealthy" },
            "scheduler_last_turn_seconds_ago": loop_age,
            "polls_in_flight": self.inner.figures.polls_in_flight.get(),
            "archive_error": store_error,
        });
        (healthy, body.to_string())
    }
}

/// What a poll did, as far as the figures care.
#[derive(Debug, Clone, Copy, Default)]
pub struct PollFigures {
    pub new: usize,
    pub duplicates: usize,
    pub errors: usize,
    pub failed: bool,
}

/// Serves `/metrics` and `/healthz` on `listener` until `shutdown`. Each connection is
/// handled on its own task; a client that misbehaves affects only its connection.
pub async fn serve(listener: TcpListener, metrics: Metrics, mut shutdown: Shutdown) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "serving /metrics and /healthz");
    }
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let metrics = metrics.clone();
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let service = hyper::service::service_fn(move |request| {
                            let response = respond(&metrics, &request);
                            async move { Ok::<_, std::convert::Infallible>(response) }
                        });
                        if let Err(error) = hyper::server::conn::http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(Duration::from_secs(10))
                            .serve_connection(io, service)
                            .await
                        {
                            tracing::debug!(%peer, %error, "metrics connection ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "metrics listener cannot accept connections");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Binds the metrics address, with an error that names it.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen for metrics on {address}: {e}"))
}

type Body = http_body_util::Full<bytes::Bytes>;

fn respond<B>(metrics: &Metrics, request: &hyper::Request<B>) -> hyper::Response<Body> {
    use hyper::{Method, StatusCode};
    let reply = |status: StatusCode, content_type: &str, body: String| {
        let mut response = hyper::Response::new(Body::new(bytes::Bytes::from(body)));
        *response.status_mut() = status;
        if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_TYPE, value);
        }
        response
    };
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match request.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        "/healthz" => {
            let now = chrono::Utc::now().timestamp();
            let (healthy, body) = metrics.health(now);
            let status = if healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            reply(status, "application/json", body + "\n")
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found: try /metrics or /healthz\n".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_purpose_and_status_class() {
        let metrics = Metrics::new();
        metrics.request("page", Some(200), 1000);
        metrics.request("page", Some(404), 10);
        metrics.request("feed", Some(304), 0);
        metrics.request("feed", None, 0);
        let text = metrics.render();
        assert!(
            text.contains(r#"newsvault_http_requests_total{purpose="page",outcome="2xx"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"newsvault_http_requests_total{purpose="page",outcome="4xx"} 1"#));
        assert!(text.contains(r#"newsvault_http_requests_total{purpose="feed",outcome="304"} 1"#));
        assert!(
            text.contains(r#"newsvault_http_requests_total{purpose="feed",outcome="error"} 1"#)
        );
        assert!(text.contains(r#"newsvault_http_response_bytes_total{purpose="page"} 1010"#));
    }

    #[test]
    fn polls_count_articles_and_failures_by_source() {
        let metrics = Metrics::new();
        let done = PollFigures {
            new: 3,
            duplicates: 1,
            errors: 2,
            failed: false,
        };
        metrics.poll("bss", &done, Duration::from_millis(700));
        let failed = PollFigures {
            failed: true,
            ..PollFigures::default()
        };
        metrics.poll("bss", &failed, Duration::from_secs(2));
        let text = metrics.render();
        assert!(text.contains(r#"newsvault_articles_archived_total{source="bss"} 3"#));
        assert!(text.contains(r#"newsvault_duplicates_total{source="bss"} 1"#));
        assert!(text.contains(r#"newsvault_item_errors_total{source="bss"} 2"#));
        assert!(text.contains(r#"newsvault_poll_failures_total{source="bss"} 1"#));
        assert!(text.contains(r#"newsvault_poll_duration_seconds_count{source="bss"} 2"#));
        assert!(
            text.contains(r#"newsvault_poll_duration_seconds_bucket{le="1.0",source="bss"} 1"#)
                || text
                    .contains(r#"newsvault_poll_duration_seconds_bucket{source="bss",le="1.0"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn health_needs_a_recent_loop_and_a_working_archive() {
        let metrics = Metrics::new();
        let (healthy, body) = metrics.health(1_000_000);
        assert!(!healthy, "not healthy before the first turn: {body}");
        metrics.scheduler_turn(1_000_000, 2, Ok(()));
        let (healthy, body) = metrics.health(1_000_010);
        assert!(healthy, "{body}");
        assert!(body.contains(r#""polls_in_flight":2"#), "{body}");
        let (healthy, _) = metrics.health(1_000_000 + LOOP_STALL.as_secs() as i64 + 1);
        assert!(!healthy, "a loop silent for too long is unhealthy");
        metrics.scheduler_turn(1_000_020, 0, Err("disk I/O error".into()));
        let (healthy, body) = metrics.health(1_000_021);
        assert!(!healthy);
        assert!(body.contains("disk I/O error"), "{body}");
        metrics.scheduler_turn(1_000_030, 0, Ok(()));
        assert!(
            metrics.health(1_000_031).0,
            "recovers once the archive answers"
        );
    }
}
