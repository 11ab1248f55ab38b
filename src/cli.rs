//! Command-line definitions (clap) and dispatch. Each command turns its arguments into
//! calls on [`App`] or the pure modules and prints results on stdout; logs go to stderr.
//! The exit code is decided here: 0 success, 1 when nothing could be done, 2 for a usage
//! or configuration error.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand};

use crate::app::{App, AppError};
use crate::canon::canonical_url_str;
use crate::clock::Clock;
use crate::clock::to_db_time;
use crate::config::Config;
use crate::export;
use crate::extract::{self, ExtractOptions};
use crate::fetch::charset::decode_html;
use crate::logging::LogFormat;
use crate::shutdown;
use crate::store::{ArticleFilter, ArticleKey, SearchRequest, Store, StoreError};

/// A news feed crawler and archiver: polls RSS, Atom and JSON feeds on cron schedules,
/// deduplicates stories, and archives raw HTML plus extracted text into SQLite.
#[derive(Debug, Parser)]
#[command(name = "newsvault", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(
        long,
        short = 'c',
        env = "NEWSVAULT_CONFIG",
        global = true,
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,

    /// Archive database, overriding `[archive] database` in the configuration.
    #[arg(long, env = "NEWSVAULT_DATABASE", global = true, value_name = "PATH")]
    pub database: Option<PathBuf>,

    /// Log filter when RUST_LOG is not set: error, warn, info, debug, trace, or directives
    /// such as "newsvault=debug,warn".
    #[arg(long, default_value = "info", global = true, value_name = "FILTER")]
    pub log_level: String,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run as a daemon: poll every source on its schedule until SIGTERM or SIGINT.
    Run,
    /// Poll sources once, now, archive what is new, and print a summary.
    Poll(PollArgs),
    /// Extract articles from saved HTML files, offline.
    Extract(ExtractArgs),
    /// Validate the configuration and list the sources with their next due times.
    CheckConfig,
    /// Show what the archive holds, with each source's health.
    Stats(StatsArgs),
    /// Archive known past articles (a URL list, or sitemaps within a date range), then
    /// exit. Running it again fetches only what is still missing.
    Backfill(BackfillArgs),
    /// Turn a feed reader's OPML export into [[source]] entries (printed, or appended to a
    /// configuration file with --into).
    ImportOpml(ImportOpmlArgs),
    /// Full-text search of the archive, best matches first, with highlighted snippets.
    Search(SearchArgs),
    /// One article's metadata and text, by id or by any URL that led to it.
    Show(ShowArgs),
    /// The archived HTML of an article, byte for byte as served (its latest capture).
    Raw(RawArgs),
    /// Write articles as JSON Lines or CSV, or their raw captures as WARC 1.1.
    Export(ExportArgs),
    /// Re-extract archived articles from their stored HTML with this version's extractor
    /// (no network), updating the fields that change.
    Reparse(ReparseArgs),
}

/// Which articles a command covers. Dates are UTC days (`2025-07-12`) or RFC 3339 times,
/// compared with the article's publication time, or its archiving time when the page gave
/// none; `--until` includes the whole day it names.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only articles first found by this source.
    #[arg(long, short = 's', value_name = "NAME")]
    pub source: Option<String>,
    /// Only articles dated on or after this day or time.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub since: Option<DateArg>,
    /// Only articles dated on or before this day or time.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub until: Option<DateArg>,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to find, in FTS5 query syntax: words (all must match), "a phrase",
    /// prefix*, a OR b, a NOT b, NEAR(a b, 5), title:word. Several arguments are joined
    /// with spaces.
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only articles in this language (ISO 639-1, e.g. bn).
    #[arg(long, value_name = "CODE")]
    pub lang: Option<String>,
    /// At most this many results.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: u32,
    /// Search for the words as typed: no operators, quotes or column filters (a trailing
    /// * still means a prefix).
    #[arg(long)]
    pub literal: bool,
    /// One JSON object per result per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// An article id, or any URL that led to the article.
    #[arg(value_name = "ID|URL")]
    pub article: String,
    /// One JSON object: the article's fields, URLs and captures.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RawArgs {
    /// An article id, or any URL that led to the article.
    #[arg(value_name = "ID|URL")]
    pub article: String,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = export::Format::Jsonl)]
    pub format: export::Format,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Only articles in this language (ISO 639-1, e.g. bn).
    #[arg(long, value_name = "CODE")]
    pub lang: Option<String>,
    /// Write to this file (replaced only when the export is complete) instead of
    /// standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// WARC only: gzip each record (implied by an --out name ending in .gz).
    #[arg(long)]
    pub gzip: bool,
}

#[derive(Debug, Args)]
pub struct ReparseArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print the counts as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A `--since`/`--until` value: the instant it starts at and the instant just after it
/// (the next day for a date, the next millisecond for a time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateArg {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Parses a UTC day (`2025-07-12`) or an RFC 3339 time.
pub fn parse_date_arg(value: &str) -> Result<DateArg, String> {
    let value = value.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
        return Ok(DateArg {
            start,
            end: start + chrono::Duration::days(1),
        });
    }
    match DateTime::parse_from_rfc3339(value) {
        Ok(t) => {
            let start = t.with_timezone(&Utc);
            Ok(DateArg {
                start,
                end: start + chrono::Duration::milliseconds(1),
            })
        }
        Err(_) => Err(format!(
            "{value:?} is not a date: give a UTC day such as 2025-07-12 or an RFC 3339 time such as 2025-07-12T18:31:00+06:00"
        )),
    }
}

#[derive(Debug, Args)]
pub struct PollArgs {
    /// Poll only this source (repeatable). Default: every enabled source.
    #[arg(long = "source", short = 's', value_name = "NAME")]
    pub sources: Vec<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Files to read; "-" reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The URL the page was served from (resolves relative links, helps dates).
    #[arg(long)]
    pub url: Option<url::Url>,
    /// Time zone for dates that carry no offset.
    #[arg(long, default_value = "UTC")]
    pub timezone: Tz,
    /// One JSON object per line and per file.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BackfillArgs {
    /// A file of URLs, one per line ("-" reads standard input); # comments and blank
    /// lines are ignored.
    #[arg(long, value_name = "FILE")]
    pub urls: Option<PathBuf>,
    /// A sitemap, sitemap index or news sitemap to walk (repeatable); a site's root URL
    /// means the sitemaps its robots.txt names.
    #[arg(long = "sitemap", value_name = "URL")]
    pub sitemaps: Vec<url::Url>,
    /// Only sitemap entries published or modified on or after this (a UTC day or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub since: Option<DateArg>,
    /// Only sitemap entries published or modified before the end of this day or time.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub until: Option<DateArg>,
    /// Attribute the articles to this configured source (and use its time zone).
    #[arg(long, short = 's', value_name = "NAME")]
    pub source: Option<String>,
    /// Print the URLs that would be fetched; fetch nothing but sitemaps.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImportOpmlArgs {
    /// The OPML file; "-" reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Append the entries to this configuration file (names are kept unique against it,
    /// and the result must validate, or the file is left as it was).
    #[arg(long, value_name = "CONFIG")]
    pub into: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a parsed command line to completion.
pub async fn dispatch(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Extract(ref args) => extract_files(args),
        Command::CheckConfig => load_config(&cli).map(|config| check_config(&config)),
        Command::Stats(ref args) => stats(&cli, args).await,
        Command::ImportOpml(ref args) => import_opml(args),
        Command::Backfill(ref args) => backfill(&cli, args).await,
        Command::Poll(ref args) => poll(&cli, args).await,
        Command::Run => run(&cli).await,
        Command::Search(ref args) => search(&cli, args).await,
        Command::Show(ref args) => show(&cli, args).await,
        Command::Raw(ref args) => raw(&cli, args).await,
        Command::Export(ref args) => export_archive(&cli, args).await,
        Command::Reparse(ref args) => reparse(&cli, args).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("newsvault: {error}");
            match error {
                AppError::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, AppError> {
    let path = cli.config.as_deref().ok_or_else(|| {
        AppError::Usage("no configuration file: give --config PATH or set NEWSVAULT_CONFIG".into())
    })?;
    let mut config = Config::load(path).map_err(|e| AppError::Usage(e.to_string()))?;
    if let Some(database) = &cli.database {
        config.archive.database = database.clone();
    }
    Ok(config)
}

async fn poll(cli: &Cli, args: &PollArgs) -> Result<ExitCode, AppError> {
    let app = App::open(load_config(cli)?, Clock::System).await?;
    let (trigger, shutdown) = shutdown::channel();
    shutdown::trigger_on_signals(trigger);
    let summaries = app.poll(&args.sources, &shutdown).await?;
    if summaries.is_empty() {
        return Err(AppError::Usage("no enabled sources to poll".into()));
    }
    let failed = summaries.iter().filter(|s| s.failure.is_some()).count();
    let mut out = io::stdout().lock();
    if args.json {
        let json = serde_json::to_string(&summaries).unwrap_or_default();
        let _ = writeln!(out, "{json}");
    } else {
        for summary in &summaries {
            let _ = writeln!(out, "{summary}");
        }
        let total =
            |f: fn(&crate::pipeline::PollSummary) -> usize| summaries.iter().map(f).sum::<usize>();
        let _ = writeln!(
            out,
            "polled {} sources: {} new articles, {} duplicates, {} item errors, {} failed sources",
            summaries.len(),
            total(|s| s.new),
            total(|s| s.duplicates),
            total(|s| s.errors),
            failed
        );
    }
    // Exit non-zero only when nothing could be done at all.
    Ok(if failed == summaries.len() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn run(cli: &Cli) -> Result<ExitCode, AppError> {
    let app = App::open(load_config(cli)?, Clock::System).await?;
    let (trigger, shutdown) = shutdown::channel();
    shutdown::trigger_on_signals(trigger);
    let (sender, reloads) = tokio::sync::mpsc::channel(4);
    reload_on_sighup(app.clone(), sender);
    app.run_with_reloads(shutdown, reloads).await;
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP re-reads the configuration; a file that does not validate is logged and the
/// configuration in force stays.
#[cfg(unix)]
fn reload_on_sighup(app: App, sender: tokio::sync::mpsc::Sender<std::sync::Arc<Config>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP; reload by restarting");
            return;
        }
    };
    tokio::spawn(async move {
        let mut current = std::sync::Arc::clone(&app.config);
        while hangups.recv().await.is_some() {
            tracing::info!(config = %current.path.display(), "SIGHUP: reloading the configuration");
            match app.reload(&current, Clock::System.now()).await {
                Ok(config) => {
                    current = std::sync::Arc::clone(&config);
                    if sender.send(config).await.is_err() {
                        return; // the daemon is stopping
                    }
                }
                Err(error) => {
                    tracing::error!(%error, "configuration reload failed; keeping the configuration in force");
                }
            }
        }
    });
}

#[cfg(not(unix))]
fn reload_on_sighup(_: App, _: tokio::sync::mpsc::Sender<std::sync::Arc<Config>>) {}

fn check_config(config: &Config) -> ExitCode {
    let now = Clock::System.now();
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "{}: ok, {} sources, archive {}",
        config.path.display(),
        config.sources.len(),
        config.archive.database.display()
    );
    for source in &config.sources {
        let next = source
            .schedule
            .next_after(now, source.timezone)
            .map(|t| {
                format!(
                    "{} ({})",
                    t.with_timezone(&source.timezone)
                        .format("%Y-%m-%d %H:%M:%S %Z"),
                    t.format("%H:%M UTC")
                )
            })
            .unwrap_or_else(|| "never".into());
        let _ = writeln!(
            out,
            "{:<24} {:<7} {:<18} next {}{}\n    {}",
            source.name,
            source.kind,
            source.schedule.as_str(),
            next,
            if source.enabled { "" } else { " (disabled)" },
            source.url
        );
    }
    ExitCode::SUCCESS
}

/// The archive a read command works on: `--database`, else the configuration's.
fn archive_path(cli: &Cli) -> Result<PathBuf, AppError> {
    let database = match (&cli.database, &cli.config) {
        (Some(path), _) => path.clone(),
        (None, Some(_)) => load_config(cli)?.archive.database,
        (None, None) => {
            return Err(AppError::Usage(
                "no archive: give --database PATH or --config PATH".into(),
            ));
        }
    };
    if !database.exists() {
        return Err(AppError::Usage(format!(
            "no archive at {}",
            database.display()
        )));
    }
    Ok(database)
}

async fn stats(cli: &Cli, args: &StatsArgs) -> Result<ExitCode, AppError> {
    let database = archive_path(cli)?;
    let now = Clock::System.now();
    let stats = Store::open(&database).await?.stats(now).await?;
    let mut out = io::stdout().lock();
    if args.json {
        let _ = writeln!(out, "{}", serde_json::to_string(&stats).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let mb = |b: i64| b as f64 / 1_048_576.0;
    let _ = writeln!(
        out,
        "archive         {} (schema {})",
        database.display(),
        stats.schema_version
    );
    let _ = writeln!(out, "database size   {:.1} MiB", mb(stats.database_bytes));
    let _ = writeln!(
        out,
        "sources         {} ({} enabled, {} failing)",
        stats.sources, stats.sources_enabled, stats.sources_failing
    );
    let _ = writeln!(
        out,
        "articles        {} ({} URLs)",
        stats.articles, stats.article_urls
    );
    let _ = writeln!(
        out,
        "captures        {} ({:.1} MiB raw, {:.1} MiB stored)",
        stats.captures,
        mb(stats.capture_bytes_raw),
        mb(stats.capture_bytes_stored)
    );
    let _ = writeln!(
        out,
        "requests        {} ({} failed)",
        stats.fetches, stats.fetch_errors
    );
    for s in &stats.per_source {
        let _ = writeln!(
            out,
            "  {:<24} {:>7} articles  last ok {}{}{}",
            s.name,
            s.articles,
            s.last_success_at.as_deref().unwrap_or("never"),
            if s.enabled { "" } else { "  (disabled)" },
            match &s.last_error {
                Some(e) if s.error_count > 0 => format!("  {} errors, last: {e}", s.error_count),
                _ => String::new(),
            }
        );
        let recent: Vec<String> = s
            .recent_days
            .iter()
            .map(|d| d.articles.to_string())
            .collect();
        let _ = writeln!(
            out,
            "    last {} days: {} (oldest first), next due {}",
            recent.len(),
            recent.join(" "),
            if s.enabled {
                s.next_poll_at.as_deref().unwrap_or("not scheduled")
            } else {
                "never (disabled)"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the archive for a read command.
async fn open_archive(cli: &Cli) -> Result<Store, AppError> {
    Ok(Store::open(&archive_path(cli)?).await?)
}

/// Turns the selection arguments into a store filter, checking that a named source exists.
async fn article_filter(
    store: &Store,
    select: &SelectArgs,
    language: Option<&str>,
) -> Result<ArticleFilter, AppError> {
    if let Some(name) = &select.source
        && !store.sources().await?.iter().any(|s| &s.name == name)
    {
        return Err(AppError::Usage(format!(
            "no source named {name:?} in the archive {}",
            store.path().display()
        )));
    }
    Ok(ArticleFilter {
        source: select.source.clone(),
        since: select.since.map(|d| d.start),
        until: select.until.map(|d| d.end),
        language: language.map(str::to_string),
    })
}

/// The FTS5 expression for a user's query: NFC (the stored text is NFC, so a word typed
/// in decomposed form matches), and with `literal` every word quoted so that no operator
/// or syntax character can reach the parser.
pub fn search_expression(query: &str, literal: bool) -> Result<String, AppError> {
    use unicode_normalization::UnicodeNormalization;
    let query: String = query.nfc().collect();
    let expression = if literal {
        query
            .split_whitespace()
            .filter_map(|word| {
                let prefix = word.ends_with('*');
                let word = word.trim_end_matches('*');
                // A "word" of punctuation alone indexes to nothing and would match nothing.
                word.chars().any(char::is_alphanumeric).then(|| {
                    format!(
                        "\"{}\"{}",
                        word.replace('"', "\"\""),
                        if prefix { "*" } else { "" }
                    )
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        query.trim().to_string()
    };
    if expression.is_empty() {
        return Err(AppError::Usage(
            "nothing to search for: give at least one word".into(),
        ));
    }
    Ok(expression)
}

/// Writes to stdout; a closed pipe (`| head`) is the reader having had enough.
fn output_error(e: io::Error) -> Result<ExitCode, AppError> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(AppError::Usage(format!("cannot write output: {e}")))
    }
}

/// One line of `search --json`.
#[derive(Debug, serde::Serialize)]
struct SearchRecord<'a> {
    id: i64,
    score: f64,
    source: Option<&'a str>,
    title: Option<&'a str>,
    canonical_url: &'a str,
    published_at: Option<String>,
    first_seen_at: String,
    language: Option<&'a str>,
    snippet: &'a str,
}

async fn search(cli: &Cli, args: &SearchArgs) -> Result<ExitCode, AppError> {
    use std::io::IsTerminal;
    let expression = search_expression(&args.query.join(" "), args.literal)?;
    let store = open_archive(cli).await?;
    let filter = article_filter(&store, &args.select, args.lang.as_deref()).await?;
    let terminal = !args.json && io::stdout().is_terminal();
    let highlight = if terminal {
        ("\x1b[1m".to_string(), "\x1b[0m".to_string())
    } else {
        ("[".to_string(), "]".to_string())
    };
    let request = SearchRequest {
        expression,
        filter,
        limit: args.limit,
        highlight,
    };
    let hits = match store.search(request).await {
        Ok(hits) => hits,
        Err(e @ StoreError::BadQuery { .. }) => {
            return Err(AppError::Usage(format!(
                "{e}\n  (put words in double quotes to search for them as typed, or use --literal)"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if hits.is_empty() && !args.json {
        eprintln!("newsvault: no matches");
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    for hit in &hits {
        let written = if args.json {
            let record = SearchRecord {
                id: hit.id,
                score: hit.score,
                source: hit.source.as_deref(),
                title: hit.title.as_deref(),
                canonical_url: &hit.canonical_url,
                published_at: hit.published_at.map(to_db_time),
                first_seen_at: to_db_time(hit.first_seen_at),
                language: hit.language.as_deref(),
                snippet: &hit.snippet,
            };
            serde_json::to_string(&record)
                .map_err(io::Error::other)
                .and_then(|line| writeln!(out, "{line}"))
        } else {
            let date = hit.published_at.unwrap_or(hit.first_seen_at);
            writeln!(
                out,
                "{:>6}  {}\n        {} · {} · {}\n        {}\n",
                hit.id,
                hit.title.as_deref().unwrap_or("(no title)"),
                hit.source.as_deref().unwrap_or("-"),
                date.format("%Y-%m-%d %H:%M UTC"),
                hit.canonical_url,
                hit.snippet.replace('\n', " ")
            )
        };
        if let Err(e) = written {
            return output_error(e);
        }
    }
    if let Err(e) = out.flush() {
        return output_error(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// Finds the article an `ID|URL` argument names.
async fn resolve_article(store: &Store, key: &str) -> Result<i64, AppError> {
    let key = key.trim();
    let (lookup, what) = if let Ok(id) = key.parse::<i64>() {
        (ArticleKey::Id(id), format!("with id {id}"))
    } else {
        let Some(canonical) = canonical_url_str(key, None) else {
            return Err(AppError::Usage(format!(
                "{key:?} is neither an article id nor an http(s) URL"
            )));
        };
        let mut urls = vec![canonical.to_string()];
        if key != urls[0] {
            urls.push(key.to_string());
        }
        (ArticleKey::Urls(urls), format!("for {canonical}"))
    };
    store.find_article(lookup).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "no article {what} in the archive {}",
            store.path().display()
        ))
    })
}

/// `show --json`: the article as exported, with its captures.
#[derive(Debug, serde::Serialize)]
struct ShowRecord<'a> {
    #[serde(flatten)]
    article: export::ArticleRow<'a>,
    captures: Vec<CaptureRecord<'a>>,
}

#[derive(Debug, serde::Serialize)]
struct CaptureRecord<'a> {
    id: i64,
    url: &'a str,
    fetched_at: String,
    status: u16,
    content_type: Option<&'a str>,
    charset: Option<&'a str>,
    body_size: u64,
    body_sha256: &'a str,
}

async fn show(cli: &Cli, args: &ShowArgs) -> Result<ExitCode, AppError> {
    let store = open_archive(cli).await?;
    let id = resolve_article(&store, &args.article).await?;
    let article = store
        .article(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("article {id} was deleted while being read")))?;
    let captures = store.captures_of(id).await?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = if args.json {
        let record = ShowRecord {
            article: export::ArticleRow::from(&article),
            captures: captures
                .iter()
                .map(|c| CaptureRecord {
                    id: c.id,
                    url: &c.url,
                    fetched_at: to_db_time(c.fetched_at),
                    status: c.status,
                    content_type: c.content_type.as_deref(),
                    charset: c.charset.as_deref(),
                    body_size: c.body_size,
                    body_sha256: &c.body_sha256,
                })
                .collect(),
        };
        serde_json::to_string(&record)
            .map_err(io::Error::other)
            .and_then(|line| writeln!(out, "{line}"))
    } else {
        write_article(&mut out, &article, &captures)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => output_error(e),
    }
}

fn write_article(
    out: &mut impl Write,
    a: &crate::store::ArticleRecord,
    captures: &[crate::store::CaptureInfo],
) -> io::Result<()> {
    let field = |v: Option<&str>| v.unwrap_or("-").to_string();
    let time = |t: Option<DateTime<Utc>>, offset: Option<&str>| match (t, offset) {
        (Some(t), Some(o)) => format!("{} (page offset {o})", to_db_time(t)),
        (Some(t), None) => to_db_time(t),
        (None, _) => "-".into(),
    };
    writeln!(out, "id:          {}", a.id)?;
    writeln!(out, "title:       {}", field(a.title.as_deref()))?;
    writeln!(out, "source:      {}", field(a.source.as_deref()))?;
    writeln!(out, "url:         {}", a.canonical_url)?;
    writeln!(
        out,
        "published:   {}",
        time(a.published_at, a.published_offset.as_deref())
    )?;
    writeln!(
        out,
        "updated:     {}",
        time(a.updated_at, a.updated_offset.as_deref())
    )?;
    writeln!(out, "archived:    {}", to_db_time(a.first_seen_at))?;
    writeln!(out, "language:    {}", field(a.language.as_deref()))?;
    writeln!(out, "site:        {}", field(a.site_name.as_deref()))?;
    writeln!(out, "authors:     {}", a.authors.join("; "))?;
    writeln!(out, "extractor:   {}", a.extractor)?;
    writeln!(out, "fingerprint: {}", field(a.text_fingerprint.as_deref()))?;
    for (i, url) in a.urls.iter().enumerate() {
        writeln!(
            out,
            "{}{url}",
            if i == 0 {
                "urls:        "
            } else {
                "             "
            }
        )?;
    }
    for (i, c) in captures.iter().enumerate() {
        writeln!(
            out,
            "{}{} HTTP {} {}, {} bytes, {}",
            if i == 0 {
                "captures:    "
            } else {
                "             "
            },
            to_db_time(c.fetched_at),
            c.status,
            c.content_type.as_deref().unwrap_or("(no content type)"),
            c.body_size,
            c.charset.as_deref().unwrap_or("charset unknown")
        )?;
    }
    if let Some(description) = &a.description {
        writeln!(out, "description: {description}")?;
    }
    writeln!(out, "\n{}", a.text)
}

async fn raw(cli: &Cli, args: &RawArgs) -> Result<ExitCode, AppError> {
    let store = open_archive(cli).await?;
    let id = resolve_article(&store, &args.article).await?;
    let capture = store
        .latest_capture(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("article {id} has no archived capture")))?;
    if crate::canon::body_hash(&capture.body) != capture.info.body_sha256 {
        return Err(AppError::Store(StoreError::Other(format!(
            "capture {} of article {id} is damaged: its body does not match its SHA-256",
            capture.info.id
        ))));
    }
    match &args.out {
        Some(path) => std::fs::write(path, &capture.body)
            .map_err(|e| AppError::Usage(format!("cannot write {}: {e}", path.display())))?,
        None => {
            let mut out = io::stdout().lock();
            if let Err(e) = out.write_all(&capture.body).and_then(|()| out.flush()) {
                return output_error(e);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn export_archive(cli: &Cli, args: &ExportArgs) -> Result<ExitCode, AppError> {
    let gz_name = args
        .out
        .as_ref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "gz"));
    let gzip = args.gzip || gz_name;
    if gzip && args.format != export::Format::Warc {
        return Err(AppError::Usage(
            "--gzip (or an --out name ending in .gz) is for --format warc; pipe other formats through gzip".into(),
        ));
    }
    let store = open_archive(cli).await?;
    let options = export::ExportOptions {
        format: args.format,
        filter: article_filter(&store, &args.select, args.lang.as_deref()).await?,
        gzip,
        now: Clock::System.now(),
        filename: args
            .out
            .as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned()),
    };
    let Some(path) = &args.out else {
        let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout());
        return match export::export(&store, &options, &mut out).await {
            Ok(count) => {
                tracing::info!(records = count, "export written");
                Ok(ExitCode::SUCCESS)
            }
            Err(export::ExportError::Write(e)) => output_error(e),
            Err(export::ExportError::Store(e)) => Err(e.into()),
        };
    };
    // Written beside the target and renamed when complete, so a failed export never
    // leaves a truncated file under the name asked for.
    let mut partial = path.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial)
        .map_err(|e| AppError::Usage(format!("cannot create {}: {e}", partial.display())))?;
    let mut out = io::BufWriter::with_capacity(256 * 1024, file);
    let result = export::export(&store, &options, &mut out).await;
    drop(out);
    match result {
        Ok(count) => {
            std::fs::rename(&partial, path).map_err(|e| {
                AppError::Usage(format!("cannot move the export to {}: {e}", path.display()))
            })?;
            eprintln!("newsvault: exported {count} records to {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(match e {
                export::ExportError::Store(e) => e.into(),
                export::ExportError::Write(e) => {
                    AppError::Usage(format!("cannot write {}: {e}", partial.display()))
                }
            })
        }
    }
}

async fn reparse(cli: &Cli, args: &ReparseArgs) -> Result<ExitCode, AppError> {
    // With a configuration, each source's time zone applies to dates without an offset.
    let timezones = match &cli.config {
        Some(_) => load_config(cli)?
            .sources
            .iter()
            .map(|s| (s.name.clone(), s.timezone))
            .collect(),
        None => {
            tracing::warn!(
                "no --config: dates that carry no offset are read as UTC, not in each source's time zone"
            );
            Default::default()
        }
    };
    let store = open_archive(cli).await?;
    let options = crate::reparse::ReparseOptions {
        filter: article_filter(&store, &args.select, None).await?,
        timezones,
    };
    let summary = crate::reparse::reparse(&store, &options).await?;
    let mut out = io::stdout().lock();
    if args.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&summary).unwrap_or_default()
        );
    } else {
        let _ = writeln!(
            out,
            "examined {}, changed {}, unchanged {}, failed {}{}",
            summary.examined,
            summary.changed,
            summary.unchanged,
            summary.failed,
            if summary.fingerprint_clashes > 0 {
                format!(
                    " ({} now share their text with another article)",
                    summary.fingerprint_clashes
                )
            } else {
                String::new()
            }
        );
    }
    Ok(
        if summary.failed > 0 && summary.changed + summary.unchanged == 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// One record of `extract --json`.
#[derive(Debug, serde::Serialize)]
struct ExtractRecord<'a> {
    file: &'a str,
    url: Option<&'a str>,
    title: Option<String>,
    authors: Vec<String>,
    published_at: Option<String>,
    updated_at: Option<String>,
    language: Option<String>,
    site_name: Option<String>,
    canonical_url: Option<String>,
    description: Option<String>,
    text: Option<String>,
    error: Option<String>,
}

fn extract_files(args: &ExtractArgs) -> Result<ExitCode, AppError> {
    let now = Clock::System.now();
    let options = ExtractOptions {
        url: args.url.clone(),
        timezone: args.timezone,
        not_after: Some(now),
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failures = 0;
    for file in &args.files {
        let name = file.to_string_lossy();
        let mut record = ExtractRecord {
            file: &name,
            url: args.url.as_ref().map(url::Url::as_str),
            title: None,
            authors: Vec::new(),
            published_at: None,
            updated_at: None,
            language: None,
            site_name: None,
            canonical_url: None,
            description: None,
            text: None,
            error: None,
        };
        match read_input(file) {
            Err(error) => {
                failures += 1;
                record.error = Some(format!("cannot read {name}: {error}"));
            }
            Ok(bytes) => {
                let decoded = decode_html(&bytes, None, args.url.as_ref());
                let article = extract::extract(&decoded.text, &options);
                record.title = article.title;
                record.authors = article.authors;
                record.published_at = article.published_at.map(|t| t.to_rfc3339());
                record.updated_at = article.updated_at.map(|t| t.to_rfc3339());
                record.language = article.language;
                record.site_name = article.site_name;
                record.canonical_url = article.canonical_url;
                record.description = article.description;
                record.text = Some(article.text);
            }
        }
        let written = if args.json {
            serde_json::to_string(&record)
                .map_err(io::Error::other)
                .and_then(|line| writeln!(out, "{line}"))
        } else {
            write_human(&mut out, &record)
        };
        if let Err(e) = written {
            // A closed pipe (`| head`) ends the run quietly.
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(AppError::Usage(format!("cannot write output: {e}")));
        }
    }
    let _ = out.flush();
    Ok(if failures == args.files.len() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn read_input(path: &Path) -> io::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        io::stdin().lock().read_to_end(&mut bytes)?;
        Ok(bytes)
    } else {
        std::fs::read(path)
    }
}

fn write_human(out: &mut impl Write, r: &ExtractRecord<'_>) -> io::Result<()> {
    writeln!(out, "==> {}", r.file)?;
    if let Some(error) = &r.error {
        return writeln!(out, "error: {error}\n");
    }
    let field = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "title:     {}", field(&r.title))?;
    writeln!(out, "authors:   {}", r.authors.join("; "))?;
    writeln!(out, "published: {}", field(&r.published_at))?;
    writeln!(out, "updated:   {}", field(&r.updated_at))?;
    writeln!(out, "language:  {}", field(&r.language))?;
    writeln!(out, "site:      {}", field(&r.site_name))?;
    writeln!(out, "canonical: {}", field(&r.canonical_url))?;
    writeln!(out, "\n{}\n", r.text.as_deref().unwrap_or(""))
}

fn import_opml(args: &ImportOpmlArgs) -> Result<ExitCode, AppError> {
    let name = args.file.display().to_string();
    let body =
        read_input(&args.file).map_err(|e| AppError::Usage(format!("cannot read {name}: {e}")))?;
    let subscriptions =
        crate::opml::parse_opml(&body).map_err(|e| AppError::Usage(format!("{name}: {e}")))?;
    let Some(target) = &args.into else {
        let entries = crate::opml::to_sources_toml(&subscriptions, &Default::default());
        print!("{entries}");
        eprintln!("{} feeds from {name}", subscriptions.len());
        return Ok(ExitCode::SUCCESS);
    };
    let existing = std::fs::read_to_string(target)
        .map_err(|e| AppError::Usage(format!("cannot read {}: {e}", target.display())))?;
    let current = Config::parse(&existing, target).map_err(|e| AppError::Usage(e.to_string()))?;
    let taken = current.sources.iter().map(|s| s.name.clone()).collect();
    let known: std::collections::HashSet<String> =
        current.sources.iter().map(|s| s.url.to_string()).collect();
    let total = subscriptions.len();
    let fresh: Vec<_> = subscriptions
        .into_iter()
        .filter(|s| !known.contains(s.feed_url.as_str()))
        .collect();
    let mut updated = existing.clone();
    if !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(&format!("\n# Imported from {name}\n"));
    updated.push_str(&crate::opml::to_sources_toml(&fresh, &taken));
    // Check the whole file before writing it, so a bad import never breaks a working one.
    Config::parse(&updated, target).map_err(|e| AppError::Usage(e.to_string()))?;
    std::fs::write(target, updated)
        .map_err(|e| AppError::Usage(format!("cannot write {}: {e}", target.display())))?;
    eprintln!(
        "{} new feeds appended to {} ({} already there)",
        fresh.len(),
        target.display(),
        total - fresh.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The configuration for commands that can run without one: the file when given, else
/// the defaults with `--database`.
fn config_or_defaults(cli: &Cli) -> Result<Config, AppError> {
    if cli.config.is_some() {
        return load_config(cli);
    }
    let Some(database) = &cli.database else {
        return Err(AppError::Usage(
            "no archive: give --config PATH or --database PATH".into(),
        ));
    };
    let mut config =
        Config::parse("", Path::new("(defaults)")).map_err(|e| AppError::Usage(e.to_string()))?;
    config.archive.database = database.clone();
    Ok(config)
}

async fn backfill(cli: &Cli, args: &BackfillArgs) -> Result<ExitCode, AppError> {
    let mut request = crate::backfill::BackfillRequest {
        sitemaps: args.sitemaps.clone(),
        since: args.since.map(|d| d.start),
        until: args.until.map(|d| d.end),
        dry_run: args.dry_run,
        ..Default::default()
    };
    if let Some(file) = &args.urls {
        let name = file.display().to_string();
        let bytes =
            read_input(file).map_err(|e| AppError::Usage(format!("cannot read {name}: {e}")))?;
        let (urls, bad) = crate::backfill::parse_url_list(&String::from_utf8_lossy(&bytes));
        for line in &bad {
            eprintln!(
                "newsvault: {name}:{}: not an http(s) URL, skipped: {}",
                line.line, line.text
            );
        }
        request.urls = urls;
    }
    if request.urls.is_empty() && request.sitemaps.is_empty() {
        return Err(AppError::Usage(
            "nothing to backfill: give --urls FILE or --sitemap URL".into(),
        ));
    }
    let config = config_or_defaults(cli)?;
    let source = match &args.source {
        Some(name) => Some(config.source(name).cloned().ok_or_else(|| {
            AppError::Usage(format!(
                "no source named {name:?} in {}",
                config.path.display()
            ))
        })?),
        None => None,
    };
    let app = App::open(config, Clock::System).await?;
    if let Some(source) = &source {
        let states = app.store().sources().await?;
        request.source_id = states.iter().find(|s| s.name == source.name).map(|s| s.id);
        request.timezone = Some(source.timezone);
    }
    let (trigger, shutdown) = shutdown::channel();
    shutdown::trigger_on_signals(trigger);
    let on_terminal = io::stderr().is_terminal() && !args.dry_run;
    let started = std::time::Instant::now();
    let mut progress = |s: &crate::backfill::BackfillSummary, _: Option<&url::Url>| {
        if on_terminal {
            let done = s.already + s.archived + s.duplicates + s.failed;
            let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
            let eta = if rate > 0.0 {
                (s.listed.saturating_sub(done)) as f64 / rate
            } else {
                0.0
            };
            eprint!(
                "\r{done}/{} done, {} archived, {} failed, {rate:.1}/s, ETA {eta:.0}s   ",
                s.listed, s.archived, s.failed
            );
        }
    };
    let summary =
        crate::backfill::backfill(&app.pipeline, &request, &shutdown, &mut progress).await?;
    if on_terminal {
        eprintln!();
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else {
        eprintln!(
            "backfill: {} URLs, {} already archived, {} archived, {} duplicates, {} failed, {} unreadable sitemaps{}",
            summary.listed,
            summary.already,
            summary.archived,
            summary.duplicates,
            summary.failed,
            summary.sitemap_errors,
            if summary.interrupted {
                " (interrupted; run again to go on)"
            } else {
                ""
            }
        );
    }
    // Non-zero only when there was work and none of it could be done.
    let nothing_done = summary.archived + summary.duplicates + summary.already == 0;
    Ok(
        if nothing_done && (summary.failed > 0 || summary.listed == 0) && !args.dry_run {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}
