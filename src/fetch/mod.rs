//! The only owner of HTTP: one reqwest client (rustls, gzip/brotli/deflate/zstd, connect
//! and total timeouts, a redirect limit, the configured User-Agent), conditional GET, and a
//! body cap enforced while the body streams in, so a 64 MiB page or a gzip bomb is cut off
//! at the cap instead of being buffered. Every request first passes the per-host [`gate`]
//! and, unless turned off, the host's robots.txt (fetched once a day per host and cached).
//! It returns what happened, success or not, with timings, for the caller to record; it
//! never touches the store.

pub mod charset;
pub mod gate;
mod robots_cache;

use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::clock::Clock;
use crate::config::HttpConfig;
use std::sync::Arc;

use crate::robots::Robots;
use gate::{Gate, GateLimits};
use robots_cache::RobotsCache;

/// What a request is for; it decides the Accept header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Feed,
    Page,
    Robots,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Feed => "feed",
            Purpose::Page => "page",
            Purpose::Robots => "robots",
        }
    }

    fn accept(self) -> &'static str {
        match self {
            Purpose::Feed => {
                "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
            }
            Purpose::Page => "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
            Purpose::Robots => "text/plain, */*;q=0.5",
        }
    }
}

/// Validators from an earlier response, sent as If-None-Match / If-Modified-Since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A response that arrived in full (any status).
#[derive(Debug, Clone)]
pub struct Response {
    /// Where the request ended after redirects.
    pub final_url: Url,
    pub status: u16,
    /// Response headers in arrival order; values that are not text are kept lossily.
    pub headers: Vec<(String, String)>,
    /// The body as served, after content-encoding (gzip, …) is undone.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn is_not_modified(&self) -> bool {
        self.status == 304
    }

    /// The status as an error message: "HTTP 429 Too Many Requests (Retry-After: 120)".
    pub fn status_error(&self) -> String {
        let reason = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let mut message = format!("HTTP {} {reason}", self.status)
            .trim_end()
            .to_string();
        if let Some(retry) = self.header("retry-after") {
            message.push_str(&format!(" (Retry-After: {retry})"));
        }
        message
    }

    /// How long the server asked us to stay away: Retry-After (seconds or an HTTP date)
    /// on a 429 or 503, or a default for a 429 without one.
    pub fn retry_after(&self, now: DateTime<Utc>) -> Option<Duration> {
        if !matches!(self.status, 429 | 503) {
            return None;
        }
        let wait = match self.header("retry-after").map(str::trim) {
            Some(value) => parse_retry_after(value, now)?,
            None if self.status == 429 => DEFAULT_RATE_LIMIT_WAIT,
            None => return None,
        };
        Some(wait.min(MAX_RETRY_AFTER))
    }

    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.header("etag").map(str::to_string),
            last_modified: self.header("last-modified").map(str::to_string),
        }
    }
}

/// Why a request produced no complete response.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("timed out")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("too many redirects (limit {0})")]
    TooManyRedirects(usize),
    #[error("body larger than the {limit}-byte cap")]
    TooLarge { limit: u64 },
    /// Not sent: the host asked us to wait (Retry-After) or its queue is too long.
    #[error("not sent: {0}")]
    Deferred(gate::Deferred),
    /// Not sent: the host's robots.txt disallows it for us.
    #[error("not sent: disallowed by {0}")]
    DisallowedByRobots(String),
    /// Not sent: the host's robots.txt could not be read (5xx or unreachable), which
    /// RFC 9309 says to treat as a full disallow until it can.
    #[error("not sent: {0} is unavailable ({1}); retrying later")]
    RobotsUnavailable(String, String),
    #[error("{0}")]
    Other(String),
}

/// One request's outcome and the facts the request log keeps about it.
#[derive(Debug)]
pub struct Fetched {
    pub url: Url,
    pub purpose: Purpose,
    pub started_at: DateTime<Utc>,
    pub duration: Duration,
    pub result: Result<Response, FetchError>,
    /// Status line received before a failure, if any (a body cut off at the cap).
    pub status: Option<u16>,
    /// Body bytes received, complete or not.
    pub bytes: u64,
    /// Requests made on the way, such as the host's robots.txt, for the request log.
    pub preceding: Vec<Fetched>,
}

/// The HTTP client, shared by all sources.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
    max_redirects: usize,
    clock: Clock,
    gate: Gate,
    /// None when robots.txt is not obeyed (`http.obey_robots = false`).
    robots: Option<RobotsCache>,
    user_agent: String,
}

/// How long a 429 without Retry-After keeps a host waiting.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// The longest Retry-After honoured: a server asking for more is waited out in steps.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

impl Fetcher {
    pub fn new(config: &HttpConfig, clock: Clock) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::limited(config.max_redirects))
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .zstd(true)
            .build()
            .map_err(|e| FetchError::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Fetcher {
            client,
            max_body: config.max_body,
            max_redirects: config.max_redirects,
            clock,
            gate: Gate::new(GateLimits {
                host_in_flight: config.per_host_requests,
                host_delay: config.per_host_delay,
                global_in_flight: config.max_requests_in_flight,
                ..GateLimits::default()
            }),
            robots: config.obey_robots.then(RobotsCache::default),
            user_agent: config.user_agent.clone(),
        })
    }

    /// The robots.txt rules of `url`'s site, from the cache that every request consults
    /// (loaded through the gate when absent or stale), with the request made for them, if
    /// any. `None` when the file could not be read. With `http.obey_robots` off there is no
    /// cache, and the file is fetched for the caller.
    pub async fn robots_for(&self, url: &Url) -> (Option<Arc<Robots>>, Option<Fetched>) {
        if let Some(cache) = &self.robots {
            let (entry, fetched) = cache.robots(self, url).await;
            let robots = entry.unavailable.is_none().then_some(entry.robots);
            return (robots, fetched);
        }
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let fetched = self
            .get_through_gate(&robots_url, Purpose::Robots, &Validators::default())
            .await;
        let robots = match &fetched.result {
            Ok(response) if response.is_success() => {
                Some(Arc::new(Robots::parse(&response.body, &self.user_agent)))
            }
            _ => None,
        };
        (robots, Some(fetched))
    }

    /// GETs `url`, conditionally when validators are given. Never panics and never returns
    /// early without the timings: every outcome is a [`Fetched`] for the request log.
    pub async fn get(&self, url: &Url, purpose: Purpose, validators: &Validators) -> Fetched {
        let mut preceding = Vec::new();
        let refused = match &self.robots {
            Some(cache) if purpose != Purpose::Robots => {
                let (verdict, fetched) = cache.check(self, url).await;
                preceding.extend(fetched);
                verdict.err()
            }
            _ => None,
        };
        let mut fetched = match refused {
            Some(error) => Fetched {
                url: url.clone(),
                purpose,
                started_at: self.clock.now(),
                duration: Duration::ZERO,
                result: Err(error),
                status: None,
                bytes: 0,
                preceding: Vec::new(),
            },
            None => self.get_through_gate(url, purpose, validators).await,
        };
        fetched.preceding = preceding;
        fetched
    }

    /// One request through the per-host gate, without robots.txt.
    async fn get_through_gate(
        &self,
        url: &Url,
        purpose: Purpose,
        validators: &Validators,
    ) -> Fetched {
        let started_at = self.clock.now();
        let timer = self.clock.instant();
        let mut status = None;
        let mut bytes = 0u64;
        let host = host_key(url);
        let result = match self.gate.acquire(&host).await {
            Err(deferred) => Err(FetchError::Deferred(deferred)),
            Ok(_permit) => {
                let result = self
                    .get_inner(url, purpose, validators, &mut status, &mut bytes)
                    .await;
                if let Ok(response) = &result
                    && let Some(wait) = response.retry_after(self.clock.now())
                {
                    tracing::info!(host, ?wait, "host asked us to wait");
                    self.gate
                        .defer_host(&host, tokio::time::Instant::now() + wait);
                }
                result
            }
        };
        Fetched {
            url: url.clone(),
            purpose,
            started_at,
            duration: timer.elapsed(),
            result,
            status,
            bytes,
            preceding: Vec::new(),
        }
    }

    async fn get_inner(
        &self,
        url: &Url,
        purpose: Purpose,
        validators: &Validators,
        status: &mut Option<u16>,
        bytes: &mut u64,
    ) -> Result<Response, FetchError> {
        let mut request = self
            .client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, purpose.accept());
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let mut response = request.send().await.map_err(|e| self.classify(e))?;
        *status = Some(response.status().as_u16());
        // A declared length over the cap is refused before reading a byte. (With
        // content-encoding the length is of the compressed body, which says nothing.)
        if response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .is_none()
            && response.content_length().is_some_and(|n| n > self.max_body)
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let final_url = response.url().clone();
        let status_code = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            *bytes += chunk.len() as u64;
            if *bytes > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            final_url,
            status: status_code,
            headers,
            body,
        })
    }

    fn classify(&self, error: reqwest::Error) -> FetchError {
        if error.is_timeout() {
            FetchError::Timeout
        } else if error.is_redirect() {
            FetchError::TooManyRedirects(self.max_redirects)
        } else if error.is_connect() {
            FetchError::Connect(error_chain(&error))
        } else {
            FetchError::Other(error_chain(&error))
        }
    }
}

/// The gate's key for a URL: host and port, so two services on one machine are two hosts.
pub fn host_key(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// Retry-After is either delay-seconds or an HTTP date (RFC 9110 10.2.3).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// The error and its causes on one line: reqwest's top-level message alone ("error sending
/// request") hides the useful part ("connection reset by peer").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = Utc
            .with_ymd_and_hms(2025, 7, 12, 12, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sat, 12 Jul 2025 12:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_retry_after("Sat, 12 Jul 2025 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn host_keys_include_the_port() {
        let key = |u: &str| host_key(&Url::parse(u).expect("valid"));
        assert_eq!(key("https://Example.org/a"), "example.org:443");
        assert_eq!(key("http://example.org/a"), "example.org:80");
        assert_eq!(key("http://127.0.0.1:8080/a"), "127.0.0.1:8080");
    }
}
