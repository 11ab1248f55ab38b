//! The configuration file: TOML parsed once into [`RawConfig`] (serde, unknown keys
//! rejected), then validated into [`Config`], the only form the rest of the program sees.
//! Every error names the file, the key and the offending value. No globals: the caller
//! owns the `Config` and passes it on.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use url::Url;

use crate::backfill::ArchiveTemplate;
use crate::discover::{LinkRules, Patterns};
use crate::extract::{PageRules, SiteRules};
use crate::schedule::CronSchedule;
use crate::stories::{self, StoryRules};
use crate::versions::{RevisitRules, RevisitSchedule};

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it was read from, for messages.
    pub path: PathBuf,
    pub archive: ArchiveConfig,
    pub http: HttpConfig,
    pub run: RunConfig,
    pub metrics: MetricsConfig,
    /// This daemon among the nodes sharing an archive (`[cluster]`).
    pub cluster: ClusterConfig,
    /// When articles are the same story (`[stories]`).
    pub stories: StoryRules,
    /// When archived articles are looked at again (`[revisit]`, and sources'
    /// `revisit_schedule`).
    pub revisit: RevisitRules,
    pub sources: Vec<SourceConfig>,
}

/// The optional Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsConfig {
    /// Where `run` serves `/metrics` and `/healthz`; `None` serves nothing.
    pub listen: Option<std::net::SocketAddr>,
}

/// This daemon among the nodes that share one archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// The name it claims sources under and appears as in the `nodes` table; by default
    /// the host name and process id, unique among running daemons.
    pub node: String,
    /// How long a claim on a source holds without a heartbeat (renewed every third of
    /// it): a node that dies leaves its sources to the others after this long.
    pub lease: Duration,
    /// Whether this node's `[[source]]` list is the archive's: it may add, change and
    /// disable sources while other nodes run. Without it, a node whose list differs from
    /// the archive's is refused while another node is running (`false` by default).
    pub owns_sources: bool,
}

/// The least and most a lease may be: the heartbeat must fit a third of it comfortably,
/// and a dead node's sources must not wait for days.
const MIN_LEASE: Duration = Duration::from_secs(3);
const MAX_LEASE: Duration = Duration::from_secs(24 * 3600);

/// This host's name, for the default node name; "localhost" where it cannot be read.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveConfig {
    /// Where the archive lives: a SQLite file path.
    pub database: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub user_agent: String,
    /// Whole request, from connect to the last body byte.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Largest body accepted, counted after decompression.
    pub max_body: u64,
    pub max_redirects: usize,
    /// Requests in flight to one host at a time.
    pub per_host_requests: usize,
    /// Least time between the starts of two requests to one host (a larger robots.txt
    /// Crawl-delay wins).
    pub per_host_delay: Duration,
    /// Requests in flight in all.
    pub max_requests_in_flight: usize,
    /// Obey each host's robots.txt.
    pub obey_robots: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Sources polled at the same time.
    pub concurrency: usize,
    /// How long `run` waits for in-flight work after SIGTERM before abandoning it.
    pub shutdown_grace: Duration,
    /// After a failed poll a source waits at least this long, doubling with each further
    /// failure (with jitter) up to `backoff_max`; zero turns backoff off.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// The longest a source that keeps finding nothing new may go unpolled: its interval
    /// stretches up to this (see [`crate::schedule::next_poll`]).
    pub max_interval: Duration,
}

/// What a source is. A source whose configuration leaves it out has it detected from the
/// response on its first poll (and again after its URL changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Feed,
    Page,
    Sitemap,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Feed => "feed",
            SourceKind::Page => "page",
            SourceKind::Sitemap => "sitemap",
        }
    }

    /// The kind [`SourceKind::as_str`] names.
    pub fn from_name(name: &str) -> Option<SourceKind> {
        [SourceKind::Feed, SourceKind::Page, SourceKind::Sitemap]
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    pub name: String,
    pub url: Url,
    /// `None`: detected from the response (see [`crate::pipeline`]).
    pub kind: Option<SourceKind>,
    pub schedule: CronSchedule,
    /// Time zone for the schedule and for page dates that carry no offset.
    pub timezone: Tz,
    pub enabled: bool,
    /// Which links of a page source are articles (see [`crate::discover`]).
    pub links: LinkRules,
    /// A page source also polls the feeds its page advertises.
    pub follow_feed: bool,
    /// Most new articles fetched in one poll; the rest wait for the next.
    pub max_new: usize,
    /// Items dated (by their feed or sitemap) longer ago than this are not fetched.
    pub max_age: Option<Duration>,
    /// The site's own archive pages, walked by `backfill --source NAME`.
    pub archive_url: Option<ArchiveTemplate>,
    /// Overrides `run.max_interval` for this source.
    pub max_interval: Option<Duration>,
    /// Override `http.per_host_requests` / `http.per_host_delay` for this source's host
    /// (the strictest value wins when sources on one host disagree).
    pub per_host_requests: Option<usize>,
    pub per_host_delay: Option<Duration>,
    /// Links this source yields (items, page links, sitemap entries, redirects) may reach
    /// loopback and private addresses (see [`crate::fetch::guard`]).
    pub allow_private: bool,
    /// User name and password from the configured URL (`https://user:pass@host/feed`),
    /// taken out of `url`.
    pub credentials: Option<Credentials>,
    /// `content_selector`, `drop_selectors` and `date_selector`: the site's own rules for
    /// its article pages, where the extractor's heuristics fail on it.
    pub extract_rules: SiteRules,
    /// Overrides `[revisit] schedule` for the articles this source finds first.
    pub revisit_schedule: Option<RevisitSchedule>,
}

impl SourceConfig {
    /// How this source's article pages are read.
    pub fn page_rules(&self) -> PageRules {
        PageRules {
            timezone: self.timezone,
            rules: self.extract_rules.clone(),
        }
    }
}

/// HTTP Basic credentials for one origin. Debug output never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Credentials {
    /// Removes the user name and password from `url`, returning them (percent-decoded).
    pub fn take_from(url: &mut Url) -> Option<Credentials> {
        if url.username().is_empty() && url.password().is_none() {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let credentials = Credentials {
            user: decode(url.username()),
            password: url.password().map(decode),
        };
        // Cannot fail for the http(s) URLs with a host that reach this point.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Some(credentials)
    }
}

/// A configuration problem, with enough context to fix it without reading code.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: {key} = {value:?}: {reason}")]
    Invalid {
        path: PathBuf,
        key: String,
        value: String,
        reason: String,
    },
}

pub const DEFAULT_USER_AGENT: &str = concat!(
    "newsvault/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/newsvault/newsvault)"
);

// ------------------------------------------------------------------ raw form

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    archive: RawArchive,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    run: RawRun,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    cluster: RawCluster,
    #[serde(default)]
    stories: RawStories,
    #[serde(default)]
    revisit: RawRevisit,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStories {
    threshold: Option<f64>,
    min_words: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRevisit {
    schedule: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArchive {
    database: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    user_agent: Option<String>,
    timeout: Option<String>,
    connect_timeout: Option<String>,
    max_body: Option<String>,
    max_redirects: Option<usize>,
    per_host_requests: Option<usize>,
    per_host_delay: Option<String>,
    max_requests_in_flight: Option<usize>,
    obey_robots: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    node: Option<String>,
    lease: Option<String>,
    owns_sources: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    concurrency: Option<usize>,
    shutdown_grace: Option<String>,
    backoff_base: Option<String>,
    backoff_max: Option<String>,
    max_interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
    url: String,
    kind: Option<SourceKind>,
    schedule: Option<String>,
    timezone: Option<String>,
    enabled: Option<bool>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    follow_feed: Option<bool>,
    max_new: Option<usize>,
    max_age: Option<String>,
    archive_url: Option<String>,
    max_interval: Option<String>,
    per_host_requests: Option<usize>,
    per_host_delay: Option<String>,
    allow_private: Option<bool>,
    content_selector: Option<String>,
    #[serde(default)]
    drop_selectors: Vec<String>,
    date_selector: Option<String>,
    revisit_schedule: Option<Vec<String>>,
}

// ------------------------------------------------------------------ loading

pub const DEFAULT_DATABASE: &str = "newsvault.sqlite3";
pub const DEFAULT_SCHEDULE: &str = "*/30 * * * *";
/// `run.max_interval` when not set.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(6 * 3600);

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; `path` is used in messages only.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Validator { path }.config(raw)
    }

    /// The source with this name, if configured.
    pub fn source(&self, name: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.name == name)
    }
}

struct Validator<'a> {
    path: &'a Path,
}

impl Validator<'_> {
    fn invalid(&self, key: &str, value: &str, reason: impl fmt::Display) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            key: key.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }

    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let database = raw
            .archive
            .database
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        if database.trim().is_empty() {
            return Err(self.invalid("archive.database", &database, "must not be empty"));
        }
        let http = self.http(raw.http)?;
        let run = self.run(raw.run)?;
        let metrics = self.metrics(raw.metrics)?;
        let cluster = self.cluster(raw.cluster)?;
        let stories = self.stories(raw.stories)?;
        let default_revisits = match raw.revisit.schedule {
            Some(steps) => self.revisit_schedule("revisit.schedule", steps)?,
            None => RevisitSchedule::default(),
        };
        let mut names = HashSet::new();
        let mut sources = Vec::with_capacity(raw.sources.len());
        for (index, source) in raw.sources.into_iter().enumerate() {
            let source = self.source(index, source)?;
            if !names.insert(source.name.clone()) {
                return Err(self.invalid(
                    &format!("source[{index}].name"),
                    &source.name,
                    "duplicate source name (names must be unique)",
                ));
            }
            sources.push(source);
        }
        let revisit = RevisitRules {
            default: default_revisits,
            sources: sources
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.revisit_schedule.clone()?)))
                .collect(),
        };
        Ok(Config {
            path: self.path.to_path_buf(),
            archive: ArchiveConfig {
                database: PathBuf::from(database),
            },
            http,
            run,
            metrics,
            cluster,
            stories,
            revisit,
            sources,
        })
    }

    /// A list of durations after first archiving, such as `["1h", "6h", "24h"]`.
    fn revisit_schedule(
        &self,
        key: &str,
        steps: Vec<String>,
    ) -> Result<RevisitSchedule, ConfigError> {
        let shown = format!("{steps:?}");
        let durations = steps
            .into_iter()
            .map(|step| self.duration(key, Some(step), Duration::ZERO))
            .collect::<Result<Vec<_>, _>>()?;
        RevisitSchedule::new(durations).map_err(|reason| self.invalid(key, &shown, reason))
    }

    fn stories(&self, raw: RawStories) -> Result<StoryRules, ConfigError> {
        let defaults = StoryRules::default();
        let threshold = raw.threshold.unwrap_or(defaults.threshold);
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(self.invalid(
                "stories.threshold",
                &threshold.to_string(),
                "must be above 0 and at most 1",
            ));
        }
        let min_words = raw.min_words.unwrap_or(defaults.min_words);
        if !(stories::SHINGLE_WORDS..=stories::MAX_WORDS).contains(&min_words) {
            return Err(self.invalid(
                "stories.min_words",
                &min_words.to_string(),
                format!(
                    "must be between {} and {}",
                    stories::SHINGLE_WORDS,
                    stories::MAX_WORDS
                ),
            ));
        }
        Ok(StoryRules {
            threshold,
            min_words,
        })
    }

    fn duration(
        &self,
        key: &str,
        value: Option<String>,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        self.duration_or_zero(key, value, default, false)
    }

    fn duration_or_zero(
        &self,
        key: &str,
        value: Option<String>,
        default: Duration,
        zero_ok: bool,
    ) -> Result<Duration, ConfigError> {
        let Some(value) = value else {
            return Ok(default);
        };
        match humantime::parse_duration(value.trim()) {
            Ok(d) if d.is_zero() && !zero_ok => {
                Err(self.invalid(key, &value, "must be longer than zero"))
            }
            Ok(d) => Ok(d),
            Err(e) => Err(self.invalid(
                key,
                &value,
                format!("not a duration like \"30s\" or \"2m\": {e}"),
            )),
        }
    }

    fn http(&self, raw: RawHttp) -> Result<HttpConfig, ConfigError> {
        let user_agent = raw
            .user_agent
            .unwrap_or_else(|| DEFAULT_USER_AGENT.to_string());
        if user_agent.trim().is_empty() || !is_header_safe(&user_agent) {
            return Err(self.invalid(
                "http.user_agent",
                &user_agent,
                "must be non-empty printable text without line breaks",
            ));
        }
        let max_body = match raw.max_body {
            None => 10 * 1024 * 1024,
            Some(text) => match text.trim().parse::<bytesize::ByteSize>() {
                Ok(size) if size.as_u64() >= 1024 => size.as_u64(),
                Ok(_) => return Err(self.invalid("http.max_body", &text, "must be at least 1KiB")),
                Err(e) => {
                    return Err(self.invalid(
                        "http.max_body",
                        &text,
                        format!("not a size like \"10MiB\": {e}"),
                    ));
                }
            },
        };
        let max_redirects = raw.max_redirects.unwrap_or(10);
        if max_redirects > 50 {
            return Err(self.invalid(
                "http.max_redirects",
                &max_redirects.to_string(),
                "at most 50",
            ));
        }
        Ok(HttpConfig {
            user_agent,
            timeout: self.duration("http.timeout", raw.timeout, Duration::from_secs(30))?,
            connect_timeout: self.duration(
                "http.connect_timeout",
                raw.connect_timeout,
                Duration::from_secs(10),
            )?,
            max_body,
            max_redirects,
            per_host_requests: self.count(
                "http.per_host_requests",
                raw.per_host_requests,
                1,
                64,
            )?,
            per_host_delay: self.duration_or_zero(
                "http.per_host_delay",
                raw.per_host_delay,
                Duration::from_secs(1),
                true,
            )?,
            max_requests_in_flight: self.count(
                "http.max_requests_in_flight",
                raw.max_requests_in_flight,
                32,
                4096,
            )?,
            obey_robots: raw.obey_robots.unwrap_or(true),
        })
    }

    fn count(
        &self,
        key: &str,
        value: Option<usize>,
        default: usize,
        max: usize,
    ) -> Result<usize, ConfigError> {
        let value = value.unwrap_or(default);
        if (1..=max).contains(&value) {
            Ok(value)
        } else {
            Err(self.invalid(
                key,
                &value.to_string(),
                format!("must be between 1 and {max}"),
            ))
        }
    }

    fn metrics(&self, raw: RawMetrics) -> Result<MetricsConfig, ConfigError> {
        let Some(text) = raw.listen else {
            return Ok(MetricsConfig::default());
        };
        let listen = text.trim().parse::<std::net::SocketAddr>().map_err(|e| {
            self.invalid(
                "metrics.listen",
                &text,
                format!("not an address and port like \"127.0.0.1:9184\": {e}"),
            )
        })?;
        Ok(MetricsConfig {
            listen: Some(listen),
        })
    }

    fn cluster(&self, raw: RawCluster) -> Result<ClusterConfig, ConfigError> {
        let node = match raw.node {
            Some(name) => {
                let trimmed = name.trim();
                if trimmed.is_empty()
                    || trimmed.len() > 200
                    || trimmed.chars().any(char::is_control)
                {
                    return Err(self.invalid(
                        "cluster.node",
                        &name,
                        "must be 1-200 characters without control characters",
                    ));
                }
                trimmed.to_string()
            }
            None => format!("{}-{}", host_name(), std::process::id()),
        };
        let lease = self.duration("cluster.lease", raw.lease.clone(), Duration::from_secs(60))?;
        if !(MIN_LEASE..=MAX_LEASE).contains(&lease) {
            return Err(self.invalid(
                "cluster.lease",
                raw.lease.as_deref().unwrap_or_default(),
                "must be between 3s and 24h",
            ));
        }
        Ok(ClusterConfig {
            node,
            lease,
            owns_sources: raw.owns_sources.unwrap_or(false),
        })
    }

    fn run(&self, raw: RawRun) -> Result<RunConfig, ConfigError> {
        let concurrency = raw.concurrency.unwrap_or(4);
        if !(1..=1024).contains(&concurrency) {
            return Err(self.invalid(
                "run.concurrency",
                &concurrency.to_string(),
                "must be between 1 and 1024",
            ));
        }
        Ok(RunConfig {
            concurrency,
            shutdown_grace: self.duration(
                "run.shutdown_grace",
                raw.shutdown_grace,
                Duration::from_secs(10),
            )?,
            backoff_base: self.duration_or_zero(
                "run.backoff_base",
                raw.backoff_base,
                Duration::from_secs(300),
                true,
            )?,
            backoff_max: self.duration(
                "run.backoff_max",
                raw.backoff_max,
                Duration::from_secs(6 * 3600),
            )?,
            max_interval: self.duration(
                "run.max_interval",
                raw.max_interval,
                DEFAULT_MAX_INTERVAL,
            )?,
        })
    }

    fn source(&self, index: usize, raw: RawSource) -> Result<SourceConfig, ConfigError> {
        let key = |field: &str| format!("source[{index}].{field}");
        let name = raw.name.trim().to_string();
        if name.is_empty()
            || name.len() > 100
            || name.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(self.invalid(
                &key("name"),
                &raw.name,
                "must be 1-100 characters without spaces or control characters",
            ));
        }
        let key = |field: &str| format!("source[{index}] ({name}).{field}");
        let mut url = Url::parse(raw.url.trim())
            .map_err(|e| self.invalid(&key("url"), &raw.url, format!("not a valid URL: {e}")))?;
        // Credentials leave the URL here, so no log line, request log row or message ever
        // shows them; the fetcher sends them (HTTP Basic) to this URL's origin only.
        let credentials = Credentials::take_from(&mut url);
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(self.invalid(
                &key("url"),
                &raw.url,
                "must be an http or https URL with a host",
            ));
        }
        let schedule_line = raw.schedule.unwrap_or_else(|| DEFAULT_SCHEDULE.to_string());
        let schedule = schedule_line
            .parse::<CronSchedule>()
            .map_err(|e| self.invalid(&key("schedule"), &schedule_line, e))?;
        let timezone_name = raw.timezone.unwrap_or_else(|| "UTC".to_string());
        let timezone = timezone_name.trim().parse::<Tz>().map_err(|_| {
            self.invalid(
                &key("timezone"),
                &timezone_name,
                "not an IANA time zone name such as \"Asia/Dhaka\" or \"UTC\"",
            )
        })?;
        let patterns = |field: &str, list: Vec<String>| -> Result<Option<Patterns>, ConfigError> {
            if list.is_empty() {
                return Ok(None);
            }
            for pattern in &list {
                if let Err(e) = regex::Regex::new(pattern) {
                    return Err(self.invalid(
                        &key(field),
                        pattern,
                        format!("not a regular expression: {e}"),
                    ));
                }
            }
            Patterns::new(list)
                .map(Some)
                .map_err(|e| self.invalid(&key(field), "", e))
        };
        let links = LinkRules {
            include: patterns("include", raw.include)?,
            exclude: patterns("exclude", raw.exclude)?,
        };
        let max_new = self.count(&key("max_new"), raw.max_new, 100, 100_000)?;
        let max_age = match raw.max_age {
            Some(text) => Some(self.duration(&key("max_age"), Some(text), Duration::ZERO)?),
            None => None,
        };
        let archive_url = match raw.archive_url {
            Some(text) => Some(
                ArchiveTemplate::parse(&text)
                    .map_err(|reason| self.invalid(&key("archive_url"), &text, reason))?,
            ),
            None => None,
        };
        let max_interval = match raw.max_interval {
            Some(text) => Some(self.duration(&key("max_interval"), Some(text), Duration::ZERO)?),
            None => None,
        };
        let per_host_requests = match raw.per_host_requests {
            Some(n) => Some(self.count(&key("per_host_requests"), Some(n), 1, 64)?),
            None => None,
        };
        let per_host_delay = match raw.per_host_delay {
            Some(text) => Some(self.duration_or_zero(
                &key("per_host_delay"),
                Some(text),
                Duration::ZERO,
                true,
            )?),
            None => None,
        };
        let extract_rules = SiteRules::new(
            raw.content_selector.as_deref(),
            &raw.drop_selectors,
            raw.date_selector.as_deref(),
        )
        .map_err(|e| self.invalid(&key(e.key), &e.selector, "not a valid CSS selector"))?;
        let revisit_schedule = match raw.revisit_schedule {
            Some(steps) => Some(self.revisit_schedule(&key("revisit_schedule"), steps)?),
            None => None,
        };
        Ok(SourceConfig {
            name,
            url,
            kind: raw.kind,
            schedule,
            timezone,
            enabled: raw.enabled.unwrap_or(true),
            links,
            follow_feed: raw.follow_feed.unwrap_or(false),
            max_new,
            max_age,
            archive_url,
            max_interval,
            per_host_requests,
            per_host_delay,
            allow_private: raw.allow_private.unwrap_or(false),
            credentials,
            extract_rules,
            revisit_schedule,
        })
    }
}

/// A User-Agent must be a valid header value: visible ASCII and spaces only.
fn is_header_safe(value: &str) -> bool {
    value.chars().all(|c| c == ' ' || c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    const MINIMAL: &str = r#"
[[source]]
name = "bss"
url = "https://example.org/rss.xml"
"#;

    #[test]
    fn defaults_fill_what_is_left_out() {
        let config = parse(MINIMAL).expect("valid");
        assert_eq!(config.archive.database, PathBuf::from(DEFAULT_DATABASE));
        assert_eq!(config.http.timeout, Duration::from_secs(30));
        assert_eq!(config.http.max_body, 10 * 1024 * 1024);
        let source = &config.sources[0];
        assert_eq!(source.kind, None, "detected from the response");
        assert_eq!(source.schedule.as_str(), DEFAULT_SCHEDULE);
        assert_eq!(source.timezone, chrono_tz::UTC);
        assert!(source.enabled);
    }

    fn invalid_key(text: &str) -> (String, String) {
        match parse(text) {
            Err(ConfigError::Invalid { key, value, .. }) => (key, value),
            other => panic!("expected an invalid-value error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = parse("[http]\nuser_agnet = \"x\"\n").expect_err("unknown key");
        let message = err.to_string();
        assert!(message.starts_with("test.toml:"), "{message}");
        assert!(message.contains("user_agnet"), "{message}");
    }

    #[test]
    fn bad_values_name_the_key_and_value() {
        let (key, value) = invalid_key(&format!("{MINIMAL}schedule = \"*/15 * *\"\n"));
        assert_eq!(
            (key.as_str(), value.as_str()),
            ("source[0] (bss).schedule", "*/15 * *")
        );

        let (key, value) = invalid_key("[[source]]\nname = \"a\"\nurl = \"ftp://x/y\"\n");
        assert_eq!(
            (key.as_str(), value.as_str()),
            ("source[0] (a).url", "ftp://x/y")
        );

        let (key, _) = invalid_key("[[source]]\nname = \"a\"\nurl = \"not a url\"\n");
        assert_eq!(key, "source[0] (a).url");

        let (key, value) = invalid_key(&format!("{MINIMAL}{MINIMAL}"));
        assert_eq!((key.as_str(), value.as_str()), ("source[1].name", "bss"));

        let (key, value) = invalid_key(&format!("{MINIMAL}timezone = \"Asia/Dacca2\"\n"));
        assert_eq!(
            (key.as_str(), value.as_str()),
            ("source[0] (bss).timezone", "Asia/Dacca2")
        );

        let (key, value) = invalid_key("[http]\ntimeout = \"soon\"\n");
        assert_eq!((key.as_str(), value.as_str()), ("http.timeout", "soon"));

        let (key, value) = invalid_key("[http]\nmax_body = \"ten megs\"\n");
        assert_eq!(
            (key.as_str(), value.as_str()),
            ("http.max_body", "ten megs")
        );

        let (key, value) = invalid_key(&format!("{MINIMAL}drop_selectors = [\".ok\", \"div[\"]\n"));
        assert_eq!(
            (key.as_str(), value.as_str()),
            ("source[0] (bss).drop_selectors", "div[")
        );
        let (key, _) = invalid_key(&format!("{MINIMAL}content_selector = \"\"\n"));
        assert_eq!(key, "source[0] (bss).content_selector");
    }

    #[test]
    fn selectors_are_kept_per_source() {
        let config = parse(&format!(
            "{MINIMAL}content_selector = \"div.story\"\ndate_selector = \"span.when\"\n"
        ))
        .expect("valid");
        let expected =
            SiteRules::new(Some("div.story"), &[], Some("span.when")).expect("valid selectors");
        assert_eq!(config.sources[0].extract_rules, expected);
        assert!(
            parse(MINIMAL).expect("valid").sources[0]
                .extract_rules
                .is_empty()
        );
    }

    #[test]
    fn sizes_and_durations_take_units() {
        let config = parse("[http]\ntimeout = \"2m\"\nmax_body = \"512KiB\"\n").expect("valid");
        assert_eq!(config.http.timeout, Duration::from_secs(120));
        assert_eq!(config.http.max_body, 512 * 1024);
    }
}
