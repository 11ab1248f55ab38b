//! The only owner of HTTP: one reqwest client (rustls, gzip/brotli/deflate/zstd, connect
//! and total timeouts, the configured User-Agent), conditional GET, and a body cap enforced
//! while the body streams in, so a 64 MiB page or a gzip bomb is cut off at the cap instead
//! of being buffered. Every request first passes the per-host [`gate`] and, unless turned
//! off, the host's robots.txt (fetched once a day per host and cached). Redirects are
//! followed here, not by reqwest, so that each hop passes the gate and the robots.txt of
//! its own host: a redirect to another site is as polite as a request made to it directly.
//! Each hop is also checked by the address [`guard`]: URLs that sources lead to may reach
//! only public addresses, unless their host is one a source was configured with.
//! It returns what happened, success or not, with timings, for the caller to record; it
//! never touches the store. When several nodes crawl into one archive, the gate and the
//! robots.txt cache also consult the [`cluster`] (see [`Fetcher::with_cluster`]).

pub mod charset;
pub mod cluster;
pub mod gate;
pub mod guard;
mod robots_cache;

use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::clock::Clock;
use crate::config::{Credentials, HttpConfig, SourceConfig};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use crate::robots::Robots;
use gate::{Gate, GateLimits, HostLimits};
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

    /// How long the server says this response stays fresh (RFC 9111 4.2.1): Cache-Control
    /// `max-age` less `Age`, else `Expires` less `now`. `None` when it says nothing, says
    /// `no-cache` / `no-store`, or gives a date that has passed or does not parse.
    pub fn freshness(&self, now: DateTime<Utc>) -> Option<Duration> {
        if let Some(control) = self.header("cache-control") {
            let mut max_age = None;
            for directive in control.split(',').map(str::trim) {
                let directive = directive.to_ascii_lowercase();
                if directive == "no-cache" || directive == "no-store" {
                    return None;
                }
                if let Some(seconds) = directive.strip_prefix("max-age=") {
                    max_age = seconds.trim_matches('"').parse::<u64>().ok();
                }
            }
            if let Some(seconds) = max_age {
                let age = self
                    .header("age")
                    .and_then(|a| a.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                return Some(Duration::from_secs(seconds.saturating_sub(age)));
            }
        }
        let expires = DateTime::parse_from_rfc2822(self.header("expires")?.trim()).ok()?;
        (expires.with_timezone(&Utc) - now).to_std().ok()
    }

    /// Where a redirect points, resolved against the URL that answered: `None` when this is
    /// no redirect (or one without a Location), an error when the target is unusable.
    fn redirect_target(&self) -> Option<Result<Url, FetchError>> {
        if !matches!(self.status, 301 | 302 | 303 | 307 | 308) {
            return None;
        }
        let location = self.header("location")?.trim();
        let bad = |why: String| {
            Some(Err(FetchError::BadRedirect {
                from: self.final_url.to_string(),
                location: location.to_string(),
                why,
            }))
        };
        let mut target = match self.final_url.join(location) {
            Ok(target) => target,
            Err(e) => return bad(e.to_string()),
        };
        if !matches!(target.scheme(), "http" | "https") || target.host_str().is_none() {
            return bad("not an http or https URL".to_string());
        }
        target.set_fragment(None);
        Some(Ok(target))
    }
}

/// URLs of a redirect chain, for messages: "a -> b -> c".
fn chain_text(chain: &[Url]) -> String {
    chain
        .iter()
        .map(Url::as_str)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Why a request produced no complete response.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("timed out")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("too many redirects (limit {limit}): {chain}")]
    TooManyRedirects { limit: usize, chain: String },
    #[error("too many redirects: a redirect loop {0}")]
    RedirectLoop(String),
    #[error("redirect from {from} to {location:?}: {why}")]
    BadRedirect {
        from: String,
        location: String,
        why: String,
    },
    #[error("body larger than the {limit}-byte cap")]
    TooLarge { limit: u64 },
    /// Not sent: the URL leads to a non-public address or an unsupported scheme.
    #[error("not sent: {0}")]
    Refused(String),
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

/// One request of a redirect chain.
struct Hop {
    started_at: DateTime<Utc>,
    sent: tokio::time::Instant,
    result: Result<Response, FetchError>,
    status: Option<u16>,
    bytes: u64,
}

/// The HTTP client, shared by all sources.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// For requests that may reach any address.
    client: reqwest::Client,
    /// For requests that may reach public addresses only: its resolver drops the others.
    public_client: reqwest::Client,
    /// Hosts (names or addresses, without port) that configured sources and command-line
    /// URLs name: trusted as written, wherever they resolve.
    trusted_hosts: Arc<RwLock<HashSet<String>>>,
    /// HTTP Basic credentials by origin (`scheme://host:port`), from the sources' URLs.
    credentials: Arc<RwLock<HashMap<String, Credentials>>>,
    max_body: u64,
    max_redirects: usize,
    clock: Clock,
    gate: Gate,
    /// The `[http]` limits every host has unless a source sets its own.
    global_limits: GateLimits,
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
        let builder = || {
            reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .timeout(config.timeout)
                .connect_timeout(config.connect_timeout)
                // Followed by hand (see `get`), so every hop passes the gate and robots.txt.
                .redirect(reqwest::redirect::Policy::none())
                .gzip(true)
                .brotli(true)
                .deflate(true)
                .zstd(true)
        };
        let build_error =
            |e: reqwest::Error| FetchError::Other(format!("cannot build the HTTP client: {e}"));
        let client = builder().build().map_err(build_error)?;
        let public_client = builder()
            .dns_resolver(Arc::new(guard::PublicResolver))
            .build()
            .map_err(build_error)?;
        let global_limits = GateLimits {
            host_in_flight: config.per_host_requests,
            host_delay: config.per_host_delay,
            global_in_flight: config.max_requests_in_flight,
            ..GateLimits::default()
        };
        Ok(Fetcher {
            client,
            public_client,
            trusted_hosts: Arc::default(),
            credentials: Arc::default(),
            max_body: config.max_body,
            max_redirects: config.max_redirects,
            clock,
            gate: Gate::new(global_limits.clone()),
            global_limits,
            robots: config.obey_robots.then(RobotsCache::default),
            user_agent: config.user_agent.clone(),
        })
    }

    /// This fetcher, holding every request to the per-host limits and sharing robots.txt
    /// with the other nodes of `cluster` (several processes crawling into one archive).
    pub fn with_cluster(mut self, cluster: Arc<dyn cluster::ClusterPoliteness>) -> Fetcher {
        self.gate = self.gate.with_cluster(Arc::clone(&cluster));
        if let Some(robots) = &mut self.robots {
            robots.cluster = Some(cluster);
        }
        self
    }

    /// Gives the hosts of sources that set `per_host_requests` or `per_host_delay` those
    /// limits in the gate, in place of `[http]`'s. Where sources on one host set different
    /// values, the strictest wins (fewest requests, longest delay); a value no source on the
    /// host sets stays global, and hosts no source overrides (any more) take the global
    /// limits. Call again when the sources change.
    pub fn apply_source_limits(&self, sources: &[SourceConfig]) {
        let mut per_host: HashMap<String, (Option<usize>, Option<Duration>)> = HashMap::new();
        for source in sources.iter().filter(|s| s.enabled) {
            if source.per_host_requests.is_none() && source.per_host_delay.is_none() {
                continue;
            }
            let (in_flight, delay) = per_host.entry(host_key(&source.url)).or_default();
            if let Some(n) = source.per_host_requests {
                *in_flight = Some(in_flight.map_or(n, |m| m.min(n)));
            }
            if let Some(d) = source.per_host_delay {
                *delay = Some(delay.map_or(d, |e| e.max(d)));
            }
        }
        let overrides: HashMap<String, HostLimits> = per_host
            .into_iter()
            .map(|(host, (in_flight, delay))| {
                let limits = HostLimits {
                    in_flight: in_flight.unwrap_or(self.global_limits.host_in_flight),
                    delay: delay.unwrap_or(self.global_limits.host_delay),
                };
                tracing::info!(host, in_flight = limits.in_flight, delay = ?limits.delay, "per-host limits set by the sources");
                (host, limits)
            })
            .collect();
        self.gate.set_host_limits(overrides);
    }

    /// Takes the access the configured sources grant, replacing what earlier ones did:
    /// their hosts are trusted as written (see [`guard`]), and credentials given in their
    /// URLs are sent to those URLs' origins (and nowhere else, redirects included).
    pub fn apply_source_access(&self, sources: &[SourceConfig]) {
        let hosts: HashSet<String> = sources.iter().filter_map(|s| trust_key(&s.url)).collect();
        if let Ok(mut trusted) = self.trusted_hosts.write() {
            *trusted = hosts;
        }
        let credentials: HashMap<String, Credentials> = sources
            .iter()
            .filter_map(|s| {
                let credentials = s.credentials.clone()?;
                Some((s.url.origin().ascii_serialization(), credentials))
            })
            .collect();
        if let Ok(mut slot) = self.credentials.write() {
            *slot = credentials;
        }
    }

    /// Also trusts the host of a URL the user gave on the command line.
    pub fn trust_host_of(&self, url: &Url) {
        if let (Some(host), Ok(mut trusted)) = (trust_key(url), self.trusted_hosts.write()) {
            trusted.insert(host);
        }
    }

    /// How far a request for `url` may reach: anywhere for trusted hosts and for
    /// requests made on behalf of a source with `allow_private`, else public addresses.
    fn reach_for(&self, url: &Url) -> guard::Reach {
        let trusted = trust_key(url).is_some_and(|host| {
            self.trusted_hosts
                .read()
                .is_ok_and(|trusted| trusted.contains(&host))
        });
        if trusted || guard::private_allowed() {
            guard::Reach::Any
        } else {
            guard::Reach::Public
        }
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
            .get_following(&robots_url, Purpose::Robots, &Validators::default(), false)
            .await;
        let robots = match &fetched.result {
            Ok(response) if response.is_success() => {
                Some(Arc::new(Robots::parse(&response.body, &self.user_agent)))
            }
            _ => None,
        };
        (robots, Some(fetched))
    }

    /// GETs `url`, conditionally when validators are given, following redirects (each hop
    /// through the gate and, unless turned off, the robots.txt of its host). Never panics
    /// and never returns early without the timings: every outcome is a [`Fetched`] for the
    /// request log.
    pub async fn get(&self, url: &Url, purpose: Purpose, validators: &Validators) -> Fetched {
        let check_robots = self.robots.is_some() && purpose != Purpose::Robots;
        self.get_following(url, purpose, validators, check_robots)
            .await
    }

    /// [`Fetcher::get`], with or without robots.txt (a robots.txt request cannot wait for
    /// itself). The chain of hops is one [`Fetched`]: the first URL asked for, the last
    /// response (its `final_url` is where the chain ended), the time from the first request
    /// sent to the last byte received; robots.txt requests made on the way are `preceding`.
    async fn get_following(
        &self,
        url: &Url,
        purpose: Purpose,
        validators: &Validators,
        check_robots: bool,
    ) -> Fetched {
        let mut preceding = Vec::new();
        let mut chain = vec![url.clone()];
        let mut first_sent: Option<(DateTime<Utc>, tokio::time::Instant)> = None;
        // Credentials found in a URL are never used or logged: only those configured for
        // an origin are sent (see `apply_source_access`).
        let mut current = without_userinfo(url);
        let (result, status, bytes) = loop {
            let reach = self.reach_for(&current);
            if let Err(refused) = guard::check_url(&current, reach) {
                tracing::debug!(url = %current, %refused, "request refused by the address guard");
                break (Err(FetchError::Refused(refused)), None, 0);
            }
            if check_robots && let Some(cache) = &self.robots {
                let (verdict, fetched) = cache.check(self, &current).await;
                preceding.extend(fetched);
                if let Err(refused) = verdict {
                    break (Err(refused), None, 0);
                }
            }
            let hop = self
                .get_through_gate(&current, purpose, validators, reach)
                .await;
            first_sent.get_or_insert((hop.started_at, hop.sent));
            let target = match &hop.result {
                Ok(response) => response.redirect_target(),
                Err(_) => None,
            };
            let next = match target {
                None => break (hop.result, hop.status, hop.bytes),
                Some(Err(bad)) => break (Err(bad), hop.status, hop.bytes),
                Some(Ok(next)) => next,
            };
            if chain.contains(&next) {
                chain.push(next);
                break (
                    Err(FetchError::RedirectLoop(chain_text(&chain))),
                    hop.status,
                    hop.bytes,
                );
            }
            chain.push(next.clone());
            if chain.len() > self.max_redirects + 1 {
                break (
                    Err(FetchError::TooManyRedirects {
                        limit: self.max_redirects,
                        chain: chain_text(&chain),
                    }),
                    hop.status,
                    hop.bytes,
                );
            }
            tracing::debug!(from = %current, to = %next, "following a redirect");
            current = next;
        };
        let (started_at, sent) =
            first_sent.unwrap_or_else(|| (self.clock.now(), self.clock.instant()));
        Fetched {
            url: without_userinfo(url),
            purpose,
            started_at,
            duration: sent.elapsed(),
            result,
            status,
            bytes,
            preceding,
        }
    }

    /// One request through the per-host gate, without robots.txt or redirects. Its start
    /// time is when it was sent, after any wait at the gate.
    async fn get_through_gate(
        &self,
        url: &Url,
        purpose: Purpose,
        validators: &Validators,
        reach: guard::Reach,
    ) -> Hop {
        let mut status = None;
        let mut bytes = 0u64;
        let host = host_key(url);
        let permit = self.gate.acquire(&host).await;
        let started_at = self.clock.now();
        let sent = self.clock.instant();
        let result = match permit {
            Err(deferred) => Err(FetchError::Deferred(deferred)),
            Ok(permit) => {
                let result = self
                    .get_inner(url, purpose, validators, reach, &mut status, &mut bytes)
                    .await;
                // Deferred before the slot is given back, so no node starts in between.
                if let Ok(response) = &result
                    && let Some(wait) = response.retry_after(self.clock.now())
                {
                    tracing::info!(host, ?wait, "host asked us to wait");
                    self.gate.defer_host_everywhere(&host, wait).await;
                }
                permit.release().await;
                result
            }
        };
        Hop {
            started_at,
            sent,
            result,
            status,
            bytes,
        }
    }

    async fn get_inner(
        &self,
        url: &Url,
        purpose: Purpose,
        validators: &Validators,
        reach: guard::Reach,
        status: &mut Option<u16>,
        bytes: &mut u64,
    ) -> Result<Response, FetchError> {
        let client = match reach {
            guard::Reach::Any => &self.client,
            guard::Reach::Public => &self.public_client,
        };
        let mut request = client
            .get(url.clone())
            .header(reqwest::header::ACCEPT, purpose.accept());
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let origin = url.origin().ascii_serialization();
        if let Some(credentials) = self
            .credentials
            .read()
            .ok()
            .and_then(|all| all.get(&origin).cloned())
        {
            request = request.basic_auth(credentials.user, credentials.password);
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
        } else if error.is_connect() {
            let chain = error_chain(&error);
            // rustls' messages ("received corrupt message of type InvalidContentType") do
            // not say TLS; the reader of the request log should not have to know that.
            if is_tls_failure(&chain) {
                FetchError::Connect(format!("TLS handshake failed: {chain}"))
            } else {
                FetchError::Connect(chain)
            }
        } else {
            FetchError::Other(error_chain(&error))
        }
    }
}

/// Whether a connection error's text comes from the TLS layer.
fn is_tls_failure(chain: &str) -> bool {
    let lower = chain.to_ascii_lowercase();
    [
        "tls",
        "certificate",
        "corrupt message",
        "handshake",
        "peer sent",
        "alert",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// `url` without user name and password.
fn without_userinfo(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    url
}

/// The key of a trusted host: the host alone, lower-cased, without port ("the same host as
/// the source's own URL" includes its other ports).
fn trust_key(url: &Url) -> Option<String> {
    url.host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
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
