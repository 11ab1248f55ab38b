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
use crate::config::{Config, SourceKind};
use crate::export;
use crate::extract::{self, PageRules, SiteRules};
use crate::fetch::charset::decode_html;
use crate::logging::LogFormat;
use crate::shutdown;
use crate::store::{
    ArticleFilter, ArticleKey, ArticleVersion, SearchRequest, Store, StoreError, StoryDetail,
    StoryFilter, StorySummary,
};

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
    /// Show what the archive holds, with each source's health and the nodes (daemons)
    /// that have run on it.
    Stats(StatsArgs),
    /// Archive known past articles (a URL list, sitemaps within a date range, a feed with
    /// its archive pages, or a source's own archive pages), then exit. Running it again
    /// fetches only what is still missing.
    Backfill(BackfillArgs),
    /// Turn a feed reader's OPML export into [[source]] entries (printed, or appended to a
    /// configuration file with --into).
    ImportOpml(ImportOpmlArgs),
    /// Full-text search of the archive, best matches first, with highlighted snippets. A
    /// query matching more than 5,000 articles ranks the 5,000 most recently archived.
    Search(SearchArgs),
    /// One article's metadata and text, by id or by any URL that led to it.
    Show(ShowArgs),
    /// Stories: articles whose texts are near-duplicates (one wire story on several
    /// sites, a site's re-publication), most recently joined first, with their sources.
    Stories(StoriesArgs),
    /// Look again at archived articles whose revisit is due ([revisit] schedule) and store
    /// a new version of each whose text, title or dates changed; `run` does this by itself.
    Revisit(RevisitArgs),
    /// The versions of an article, by id or URL: when each was read and what changed.
    History(HistoryArgs),
    /// A word-level diff of two versions of an article's text, with title and date
    /// changes (default: the last two versions).
    Diff(DiffArgs),
    /// The archived HTML of an article, byte for byte as served (its latest capture).
    Raw(RawArgs),
    /// Write articles as JSON Lines or CSV, or their raw captures as WARC 1.1.
    Export(ExportArgs),
    /// Re-extract archived articles from their stored HTML with this version's extractor
    /// (no network), updating the fields that change.
    Reparse(ReparseArgs),
    /// Shrink the archive: train a zstd dictionary per site once it has enough captures
    /// and re-compress its older captures with it, in batches (safe to interrupt, and run
    /// again to carry on). Prints the bytes before and after.
    Compact(CompactArgs),
    /// Copy an archive to another backend or file (SQLite to PostgreSQL, PostgreSQL to
    /// SQLite, SQLite to SQLite), keeping ids and captures as stored, in batches: run it
    /// again after an interruption to carry on. Compares every table's row count at the
    /// end and fails on a difference. Stop the daemons writing the source first.
    Migrate(MigrateArgs),
    /// Bring the archive's schema up to this version's (a PostgreSQL database shared by
    /// several nodes is never migrated behind their backs: `run` and the other commands
    /// refuse an older schema and say to run this). Safe while other nodes run: the
    /// migrations are applied under a lock, once.
    Upgrade,
    /// Print a shell completion script (generated from these definitions) to standard
    /// output, e.g. `newsvault completions bash > /etc/bash_completion.d/newsvault`.
    Completions(CompletionsArgs),
    /// Write the man pages generated from these definitions: newsvault(1) to standard
    /// output, or newsvault.1 and one page per command into a directory with --out.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write newsvault.1 and newsvault-COMMAND.1 pages into this directory.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
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
    /// An article id, any URL that led to the article, or the SHA-256 of one of its
    /// captures' bodies (64 hex digits, `sha256:` before them optional).
    #[arg(value_name = "ID|URL|SHA256")]
    pub article: String,
    /// One JSON object: the article's fields, URLs and captures.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RevisitArgs {
    /// Only articles first found by this source.
    #[arg(long, short = 's', value_name = "NAME")]
    pub source: Option<String>,
    /// At most this many articles, earliest due first.
    #[arg(long, short = 'n', default_value_t = 1000)]
    pub limit: u32,
    /// Print the counts as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// An article id, any URL that led to the article, or the SHA-256 of one of its
    /// captures' bodies (64 hex digits, `sha256:` before them optional).
    #[arg(value_name = "ID|URL|SHA256")]
    pub article: String,
    /// One JSON object: the article's revisit state and its versions, texts included.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// An article id, any URL that led to the article, or the SHA-256 of one of its
    /// captures' bodies (64 hex digits, `sha256:` before them optional).
    #[arg(value_name = "ID|URL|SHA256")]
    pub article: String,
    /// The older version (default: the one before --to).
    #[arg(long, value_name = "N")]
    pub from: Option<i64>,
    /// The newer version (default: the latest).
    #[arg(long, value_name = "M")]
    pub to: Option<i64>,
    /// One JSON object with the changed fields and the text as runs of same, removed and
    /// added words.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RawArgs {
    /// An article id, any URL that led to the article, or the SHA-256 of one of its
    /// captures' bodies (64 hex digits, `sha256:` before them optional).
    #[arg(value_name = "ID|URL|SHA256")]
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
pub struct StoriesArgs {
    /// Only stories an article joined on or after this day or time.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub since: Option<DateArg>,
    /// Only stories told by at least this many sources (2 lists syndicated stories).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub min_sources: u32,
    /// At most this many stories.
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: u32,
    /// One JSON object per story per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Only this site (its registrable domain, or any host of it).
    #[arg(long, value_name = "HOST")]
    pub site: Option<String>,
    /// Say which sites would get a dictionary and how many captures would be
    /// re-compressed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Captures a site needs before it gets a dictionary.
    #[arg(long, value_name = "N", default_value_t = crate::compact::DEFAULT_MIN_CAPTURES)]
    pub min_captures: usize,
    /// Then give the freed space back to the file system (VACUUM: rewrites the archive,
    /// needs as much free disk space again, and holds writers off while it runs).
    #[arg(long)]
    pub vacuum: bool,
    /// Stop after re-compressing about this many captures; run again to carry on.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The archive to copy: a SQLite path or a postgres:// URL.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub from: PathBuf,
    /// Where to copy it: a new or empty archive, or an earlier, interrupted copy of the
    /// same one (a SQLite path, created if missing, or a postgres:// URL of an existing
    /// database).
    #[arg(long, value_name = "PATH_OR_URL")]
    pub to: PathBuf,
    /// Rows copied per transaction.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub batch: u32,
    /// Stop after this many batches; run again to carry on.
    #[arg(long, value_name = "N")]
    pub max_batches: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
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
    /// CSS selector for the article's content (as a source's `content_selector`).
    #[arg(long, value_name = "CSS")]
    pub content_selector: Option<String>,
    /// CSS selector for elements to remove first (repeatable; `drop_selectors`).
    #[arg(long = "drop-selector", value_name = "CSS")]
    pub drop_selectors: Vec<String>,
    /// CSS selector for the element holding the publication date (`date_selector`).
    #[arg(long, value_name = "CSS")]
    pub date_selector: Option<String>,
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
    /// A feed to read with all its archive pages (repeatable): RFC 5005 prev-archive /
    /// next-archive links and previous / next paging, each page once, at most 1000 pages.
    #[arg(long = "feed", value_name = "URL")]
    pub feeds: Vec<url::Url>,
    /// Only what is dated on or after this (a UTC day or RFC 3339 time): sitemap entries by
    /// publication date or lastmod, feed items by their date, archive-page links by the
    /// date in their URL (/2025/07/12/); undated entries are kept. A dated archive_url
    /// walks the days from here to --until.
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub since: Option<DateArg>,
    /// Only what is dated before the end of this day or time (same dates as --since).
    #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
    pub until: Option<DateArg>,
    /// Attribute the articles to this configured source (and use its time zone). With
    /// --pages, or alone with a dated archive_url, walk the source's archive_url pages.
    #[arg(long, short = 's', value_name = "NAME")]
    pub source: Option<String>,
    /// Walk these pages of the source's archive_url ({page} templates): FIRST..LAST, both
    /// included, such as 1..200. The walk ends early at a 404 or after 3 pages in a row
    /// without new links, so a generous range costs nothing.
    #[arg(long, value_name = "FIRST..LAST", requires = "source", value_parser = parse_pages_arg)]
    pub pages: Option<crate::backfill::PageRange>,
    /// Print the URLs that would be fetched; fetch nothing but sitemaps, feeds and
    /// archive pages.
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
        Command::Stories(ref args) => stories(&cli, args).await,
        Command::Raw(ref args) => raw(&cli, args).await,
        Command::Revisit(ref args) => revisit(&cli, args).await,
        Command::History(ref args) => history(&cli, args).await,
        Command::Diff(ref args) => diff(&cli, args).await,
        Command::Export(ref args) => export_archive(&cli, args).await,
        Command::Reparse(ref args) => reparse(&cli, args).await,
        Command::Compact(ref args) => compact(&cli, args).await,
        Command::Migrate(ref args) => migrate(args).await,
        Command::Upgrade => upgrade(&cli).await,
        Command::Completions(ref args) => completions(args),
        Command::Man(ref args) => man_pages(args),
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
        let leased = summaries.iter().filter(|s| s.leased_to.is_some()).count();
        let _ = writeln!(
            out,
            "polled {} sources: {} new articles, {} duplicates, {} item errors, {} failed sources{}",
            summaries.len() - leased,
            total(|s| s.new),
            total(|s| s.duplicates),
            total(|s| s.errors),
            failed,
            if leased > 0 {
                format!("; {leased} not polled, leased to another node")
            } else {
                String::new()
            }
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
    let config = load_config(cli)?;
    // Opening may migrate the archive's schema, minutes on a large one (a rebuilt full-text
    // index): systemd hears that the daemon is still starting, so that neither its start
    // timeout nor the watchdog ends it halfway.
    const OPENING: &str = "opening the archive (schema migrations may take minutes)";
    let notifier = crate::service::Notifier::from_environment();
    notifier.starting(OPENING);
    let starting = tokio::spawn(notifier.keep_starting(OPENING));
    let opened = App::open(config, Clock::System).await;
    starting.abort();
    let app = opened?;
    app.register_node().await?;
    let (trigger, shutdown) = shutdown::channel();
    shutdown::trigger_on_signals(trigger);
    let (sender, reloads) = tokio::sync::mpsc::channel(4);
    reload_on_sighup(app.clone(), sender);
    app.serve_metrics(shutdown.clone()).await?;
    tokio::spawn(crate::memory::trim_until(shutdown.clone()));
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
            source.kind.map_or("auto", SourceKind::as_str),
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
    // A PostgreSQL URL names a server; only a SQLite file can be checked beforehand.
    let is_file = database
        .to_str()
        .is_none_or(|d| !crate::store::is_postgres_url(d));
    if is_file && !database.exists() {
        return Err(AppError::Usage(format!(
            "no archive at {}",
            database.display()
        )));
    }
    Ok(database)
}

async fn upgrade(cli: &Cli) -> Result<ExitCode, AppError> {
    let database = archive_path(cli)?;
    let (store, before, after) = Store::upgrade(&database).await?;
    let mut out = io::stdout().lock();
    let _ = if before == after {
        writeln!(
            out,
            "archive {}: schema version {after}, up to date",
            store.location()
        )
    } else {
        writeln!(
            out,
            "archive {}: schema version {before} upgraded to {after}",
            store.location()
        )
    };
    Ok(ExitCode::SUCCESS)
}

async fn stats(cli: &Cli, args: &StatsArgs) -> Result<ExitCode, AppError> {
    let database = archive_path(cli)?;
    let now = Clock::System.now();
    let store = Store::open(&database).await?;
    let stats = store.stats(now).await?;
    let nodes = store.nodes().await?;
    let mut out = io::stdout().lock();
    if args.json {
        let mut value = serde_json::to_value(&stats).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "nodes".into(),
                serde_json::to_value(&nodes).unwrap_or_default(),
            );
        }
        let _ = writeln!(out, "{value}");
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
        "versions        {} articles edited ({} later versions), {} removed",
        stats.articles_edited, stats.later_versions, stats.articles_removed
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
    // The daemons that have run on this archive (a node that died is still "running"
    // here: its last-seen time tells, against its `[cluster] lease`).
    if !nodes.is_empty() {
        let running = nodes.iter().filter(|n| n.stopped_at.is_none()).count();
        let _ = writeln!(
            out,
            "nodes           {} ({running} not stopped)",
            nodes.len()
        );
        for n in &nodes {
            let _ = writeln!(
                out,
                "  {:<24} newsvault {}, started {}, last seen {}{}",
                n.name,
                n.version,
                to_db_time(n.started_at),
                to_db_time(n.last_seen_at),
                n.stopped_at
                    .map(|t| format!(", stopped {}", to_db_time(t)))
                    .unwrap_or_default()
            );
        }
    }
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
        // The adaptive interval: stretched while polls find nothing new.
        let _ = writeln!(
            out,
            "    {}{}, polled {}, last new item {}",
            s.kind,
            if s.kind_detected { " (detected)" } else { "" },
            match s.poll_interval_s.and_then(|secs| u64::try_from(secs).ok()) {
                Some(secs) => format!(
                    "every {} (stretched: nothing new lately)",
                    humantime::format_duration(std::time::Duration::from_secs(secs))
                ),
                None => "on schedule".to_string(),
            },
            s.last_new_at.as_deref().unwrap_or("never")
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
            store.location()
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

/// Finds the article an `ID|URL|SHA256` argument names.
async fn resolve_article(store: &Store, key: &str) -> Result<i64, AppError> {
    let key = key.trim();
    let (lookup, what) = if let Ok(id) = key.parse::<i64>() {
        (ArticleKey::Id(id), format!("with id {id}"))
    } else if let Some(sha256) = capture_hash(key) {
        let what = format!("with a capture of SHA-256 {sha256}");
        (ArticleKey::CaptureBody(sha256), what)
    } else {
        let Some(canonical) = canonical_url_str(key, None) else {
            return Err(AppError::Usage(format!(
                "{key:?} is neither an article id, an http(s) URL nor a SHA-256"
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
            store.location()
        ))
    })
}

/// The SHA-256 a `sha256:HEX` or bare 64-hex-digit argument gives, in lower case as
/// `captures.body_sha256` holds it.
fn capture_hash(key: &str) -> Option<String> {
    let hex = key
        .strip_prefix("sha256:")
        .or_else(|| key.strip_prefix("SHA256:"))
        .unwrap_or(key);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// `show --json`: the article as exported, with its captures.
#[derive(Debug, serde::Serialize)]
struct ShowRecord<'a> {
    #[serde(flatten)]
    article: export::ArticleRow<'a>,
    captures: Vec<CaptureRecord<'a>>,
    story: Option<StoryRecord<'a>>,
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
    let story = store.story_of(id, SHOWN_STORY_ARTICLES).await?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = if args.json {
        let record = ShowRecord {
            story: story.as_ref().map(StoryRecord::with_articles),
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
        write_article(&mut out, &article, &captures, story.as_ref())
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
    story: Option<&StoryDetail>,
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
    writeln!(
        out,
        "versions:    {}{}",
        a.versions,
        if a.versions > 1 {
            format!(" (newsvault history {})", a.id)
        } else {
            String::new()
        }
    )?;
    writeln!(out, "revisits:    {}", revisit_state(a))?;
    write_story_of(out, a.id, story)?;
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

/// Articles of its story `show` lists.
const SHOWN_STORY_ARTICLES: u32 = 50;

/// A story as `stories --json` and `show --json` print it.
#[derive(Debug, serde::Serialize)]
struct StoryRecord<'a> {
    id: i64,
    title: Option<&'a str>,
    first_article_id: i64,
    articles: i64,
    first_seen_at: String,
    last_seen_at: String,
    sources: Vec<StorySourceRecord<'a>>,
    /// `show` only: the story's articles, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<Vec<StoryMemberRecord<'a>>>,
}

#[derive(Debug, serde::Serialize)]
struct StorySourceRecord<'a> {
    source: Option<&'a str>,
    articles: i64,
}

#[derive(Debug, serde::Serialize)]
struct StoryMemberRecord<'a> {
    id: i64,
    source: Option<&'a str>,
    title: Option<&'a str>,
    canonical_url: &'a str,
    first_seen_at: String,
}

impl<'a> StoryRecord<'a> {
    fn new(story: &'a StorySummary) -> StoryRecord<'a> {
        StoryRecord {
            id: story.id,
            title: story.title.as_deref(),
            first_article_id: story.first_article_id,
            articles: story.articles,
            first_seen_at: to_db_time(story.first_seen_at),
            last_seen_at: to_db_time(story.last_seen_at),
            sources: story
                .sources
                .iter()
                .map(|s| StorySourceRecord {
                    source: s.name.as_deref(),
                    articles: s.articles,
                })
                .collect(),
            members: None,
        }
    }

    fn with_articles(detail: &'a StoryDetail) -> StoryRecord<'a> {
        StoryRecord {
            members: Some(
                detail
                    .members
                    .iter()
                    .map(|m| StoryMemberRecord {
                        id: m.article_id,
                        source: m.source.as_deref(),
                        title: m.title.as_deref(),
                        canonical_url: &m.canonical_url,
                        first_seen_at: to_db_time(m.first_seen_at),
                    })
                    .collect(),
            ),
            ..StoryRecord::new(&detail.story)
        }
    }
}

fn articles_count(n: i64) -> String {
    if n == 1 {
        "1 article".into()
    } else {
        format!("{n} articles")
    }
}

/// "bss (2), prothomalo (1)": a story's sources with their article counts.
fn story_sources_line(story: &StorySummary) -> String {
    story
        .sources
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                s.name.as_deref().unwrap_or("no source"),
                s.articles
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `story:` lines of `show`: the story and the article's siblings in it.
fn write_story_of(
    out: &mut impl Write,
    article: i64,
    story: Option<&StoryDetail>,
) -> io::Result<()> {
    let Some(detail) = story else {
        return writeln!(
            out,
            "story:       - (archived before stories; `newsvault reparse` assigns one)"
        );
    };
    let story = &detail.story;
    writeln!(
        out,
        "story:       {} \"{}\": {} from {}",
        story.id,
        story.title.as_deref().unwrap_or("(no title)"),
        articles_count(story.articles),
        story_sources_line(story)
    )?;
    let siblings: Vec<_> = detail
        .members
        .iter()
        .filter(|m| m.article_id != article)
        .collect();
    if siblings.is_empty() {
        return writeln!(out, "siblings:    none (no other article tells this story)");
    }
    for (i, m) in siblings.iter().enumerate() {
        writeln!(
            out,
            "{}{:>6}  {} · {} · {}",
            if i == 0 {
                "siblings:    "
            } else {
                "             "
            },
            m.article_id,
            m.source.as_deref().unwrap_or("no source"),
            m.title.as_deref().unwrap_or("(no title)"),
            m.canonical_url
        )?;
    }
    if story.articles > detail.members.len() as i64 {
        writeln!(
            out,
            "             … and {} more (newsvault stories)",
            story.articles - detail.members.len() as i64
        )?;
    }
    Ok(())
}

async fn stories(cli: &Cli, args: &StoriesArgs) -> Result<ExitCode, AppError> {
    let store = open_archive(cli).await?;
    let filter = StoryFilter {
        since: args.since.map(|d| d.start),
        min_sources: args.min_sources,
        limit: args.limit,
    };
    let stories = store.stories(filter).await?;
    if stories.is_empty() && !args.json {
        eprintln!("newsvault: no stories match");
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    for story in &stories {
        let written = if args.json {
            serde_json::to_string(&StoryRecord::new(story))
                .map_err(io::Error::other)
                .and_then(|line| writeln!(out, "{line}"))
        } else {
            writeln!(
                out,
                "{:>6}  {}\n        {} · first {} · last {}\n        {}\n",
                story.id,
                story.title.as_deref().unwrap_or("(no title)"),
                articles_count(story.articles),
                story.first_seen_at.format("%Y-%m-%d %H:%M UTC"),
                story.last_seen_at.format("%Y-%m-%d %H:%M UTC"),
                story_sources_line(story)
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

async fn reparse(cli: &Cli, args: &ReparseArgs) -> Result<ExitCode, AppError> {
    // With a configuration, each source's time zone applies to dates without an offset,
    // and its selectors to its pages.
    let page_rules = match &cli.config {
        Some(_) => load_config(cli)?
            .sources
            .iter()
            .map(|s| (s.name.clone(), s.page_rules()))
            .collect(),
        None => {
            tracing::warn!(
                "no --config: dates that carry no offset are read as UTC, not in each source's time zone"
            );
            Default::default()
        }
    };
    let store = open_archive(cli).await?;
    // Stories are decided by the configuration's [stories] rules, or the defaults.
    let store = match &cli.config {
        Some(_) => store.with_story_rules(load_config(cli)?.stories),
        None => store,
    };
    let options = crate::reparse::ReparseOptions {
        filter: article_filter(&store, &args.select, None).await?,
        page_rules,
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
        if summary.stories_assigned > 0 {
            let _ = writeln!(
                out,
                "{} articles archived before stories existed were given their story",
                summary.stories_assigned
            );
        }
    }
    Ok(
        if summary.failed > 0 && summary.changed + summary.unchanged == 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

async fn compact(cli: &Cli, args: &CompactArgs) -> Result<ExitCode, AppError> {
    let store = open_archive(cli).await?;
    let mut options = crate::compact::CompactOptions::new(Clock::System.now());
    options.site = args.site.clone();
    options.dry_run = args.dry_run;
    options.min_captures = args.min_captures.max(1);
    options.vacuum = args.vacuum;
    options.limit = args.limit;
    let summary = crate::compact::compact(&store, &options).await?;
    let mut out = io::stdout().lock();
    if args.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&summary).unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mb = |b: i64| b as f64 / 1_048_576.0;
    for site in &summary.sites {
        let _ = writeln!(
            out,
            "{:<32} {:>7} captures  {}{}",
            site.site,
            site.captures,
            match (&site.trained, summary.dry_run) {
                (Some(d), _) => format!(
                    "dictionary {} trained ({} bytes, {} samples), ",
                    d.id, d.size, d.samples
                ),
                (None, true) if site.would_train => "would train a dictionary, ".to_string(),
                _ => String::new(),
            },
            if summary.dry_run {
                format!("{} to re-compress", site.recompressed)
            } else {
                format!(
                    "{} re-compressed ({:.1} → {:.1} MiB){}",
                    site.recompressed,
                    mb(site.bytes_before as i64),
                    mb(site.bytes_after as i64),
                    if site.kept > 0 {
                        format!(", {} kept (no smaller with it)", site.kept)
                    } else {
                        String::new()
                    }
                )
            }
        );
    }
    let _ = writeln!(
        out,
        "{} sites with fewer than {} captures share the dictionary of site {}",
        summary.small_sites,
        options.min_captures,
        crate::store::SHARED_DICTIONARY_SITE
    );
    let (b, a) = (&summary.before, &summary.after);
    if summary.dry_run {
        let _ = writeln!(
            out,
            "dry run: {} captures would be re-compressed; archive {:.1} MiB, captures {:.1} MiB stored for {:.1} MiB raw",
            summary.recompressed,
            mb(b.file_bytes),
            mb(b.capture_bytes_stored),
            mb(b.capture_bytes_raw)
        );
    } else {
        let _ = writeln!(
            out,
            "captures stored: {:.1} MiB before, {:.1} MiB after ({:.1} MiB raw; dictionaries {:.1} MiB)",
            mb(b.capture_bytes_stored),
            mb(a.capture_bytes_stored),
            mb(a.capture_bytes_raw),
            mb(a.dictionary_bytes)
        );
        let _ = writeln!(
            out,
            "archive file: {:.1} MiB before, {:.1} MiB after, {:.1} MiB of it free for reuse{}",
            mb(b.file_bytes),
            mb(a.file_bytes),
            mb(a.free_bytes),
            if summary.vacuumed {
                ""
            } else {
                " (--vacuum gives it back)"
            }
        );
        if !summary.complete {
            let _ = writeln!(out, "stopped at --limit: run it again to carry on");
        }
        if summary.failures > 0 {
            let _ = writeln!(
                out,
                "{} captures or sites could not be compacted (see the log)",
                summary.failures
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn migrate(args: &MigrateArgs) -> Result<ExitCode, AppError> {
    let is_file = |p: &Path| p.to_str().is_none_or(|p| !crate::store::is_postgres_url(p));
    if is_file(&args.from) && !args.from.exists() {
        return Err(AppError::Usage(format!(
            "{}: no such archive",
            args.from.display()
        )));
    }
    let from = Store::open(&args.from).await?;
    let to = Store::open(&args.to).await?;
    let options = crate::store::TransferOptions {
        batch_rows: args.batch.max(1),
        max_batches: args.max_batches,
    };
    let mut last_table = String::new();
    let report = crate::store::transfer(&from, &to, &options, |table, rows| {
        if table != last_table {
            tracing::info!(table, rows, "copying");
            last_table = table.to_string();
        }
    })
    .await?;
    let mut out = io::stdout().lock();
    if args.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(&report).unwrap_or_default()
        );
    } else {
        let _ = writeln!(
            out,
            "{} rows copied in {} batches from {} to {}",
            report.rows,
            report.batches,
            from.location(),
            to.location()
        );
        let _ = writeln!(out, "{:<22} {:>12} {:>12}", "table", "source", "target");
        for count in &report.counts {
            let _ = writeln!(
                out,
                "{:<22} {:>12} {:>12}{}",
                count.table,
                count.source,
                count.target,
                if count.source == count.target {
                    ""
                } else {
                    "  MISMATCH"
                }
            );
        }
        if !report.complete {
            let _ = writeln!(out, "stopped at --max-batches: run it again to carry on");
        }
    }
    if report.complete && report.counts_match() {
        Ok(ExitCode::SUCCESS)
    } else {
        if report.complete {
            eprintln!("newsvault: the row counts of the copy differ from the source's");
        }
        Ok(ExitCode::FAILURE)
    }
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
    let rules = SiteRules::new(
        args.content_selector.as_deref(),
        &args.drop_selectors,
        args.date_selector.as_deref(),
    )
    .map_err(|e| AppError::Usage(e.to_string()))?;
    let options = PageRules {
        timezone: args.timezone,
        rules,
    }
    .options(args.url.clone(), Some(now));
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

/// How often backfill progress is logged when standard error is not a terminal.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Parses `--pages`: FIRST..LAST, both included.
fn parse_pages_arg(value: &str) -> Result<crate::backfill::PageRange, String> {
    value.parse()
}

async fn backfill(cli: &Cli, args: &BackfillArgs) -> Result<ExitCode, AppError> {
    let mut request = crate::backfill::BackfillRequest {
        sitemaps: args.sitemaps.clone(),
        feeds: args.feeds.clone(),
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
    let config = config_or_defaults(cli)?;
    request.concurrency = config.run.concurrency;
    let source = match &args.source {
        Some(name) => Some(config.source(name).cloned().ok_or_else(|| {
            AppError::Usage(format!(
                "no source named {name:?} in {}",
                config.path.display()
            ))
        })?),
        None => None,
    };
    let other_input =
        !(request.urls.is_empty() && request.sitemaps.is_empty() && request.feeds.is_empty());
    // The source's archive is walked when asked with --pages, or when the source alone is
    // given and has an archive to walk (a dated one needs no --pages).
    if let Some(source) = &source
        && (args.pages.is_some() || (!other_input && source.archive_url.is_some()))
    {
        let walk = crate::backfill::ArchiveWalk::plan(
            source,
            args.pages,
            request.since,
            request.until,
            Clock::System.now(),
        )
        .map_err(AppError::Usage)?;
        request.archive = Some(walk);
    }
    if !other_input && request.archive.is_none() {
        return Err(AppError::Usage(
            "nothing to backfill: give --urls FILE, --sitemap URL, --feed URL, or --source NAME (with --pages FIRST..LAST) for a source with an archive_url".into(),
        ));
    }
    let app = App::open(config, Clock::System).await?;
    if let Some(source) = &source {
        let states = app.store().sources().await?;
        request.source_id = states.iter().find(|s| s.name == source.name).map(|s| s.id);
        request.page_rules = Some(source.page_rules());
    }
    let (trigger, shutdown) = shutdown::channel();
    shutdown::trigger_on_signals(trigger);
    // A dry run prints URLs on stdout, which a bar on the same terminal would garble.
    let mut progress: Box<dyn crate::backfill::Progress> =
        if io::stderr().is_terminal() && !args.dry_run {
            Box::new(crate::progress::Bar::new())
        } else {
            Box::new(crate::progress::LogLines::new(PROGRESS_EVERY))
        };
    let allow_private = source.as_ref().is_some_and(|s| s.allow_private);
    let summary = crate::fetch::guard::with_private_allowed(
        allow_private,
        crate::backfill::backfill(&app.pipeline, &request, &shutdown, progress.as_mut()),
    )
    .await?;
    drop(progress);
    if args.json {
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else {
        let pages = if summary.pages_read + summary.page_errors > 0 {
            format!(
                ", {} archive or feed pages read ({} unreadable)",
                summary.pages_read, summary.page_errors
            )
        } else {
            String::new()
        };
        eprintln!(
            "backfill: {} URLs, {} already archived, {} archived, {} duplicates, {} failed, {} unreadable sitemaps{pages}{}",
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

fn completions(args: &CompletionsArgs) -> Result<ExitCode, AppError> {
    let mut command = <Cli as clap::CommandFactory>::command();
    // Generated into memory first: the generator cannot report a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "newsvault", &mut script);
    let mut out = io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => output_error(e),
    }
}

fn man_pages(args: &ManArgs) -> Result<ExitCode, AppError> {
    // As the per-command pages are written: no page for the `help` command, so the
    // main page does not list it.
    let command = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    let Some(dir) = &args.out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .map_err(|e| AppError::Usage(format!("cannot render the man page: {e}")))?;
        let mut out = io::stdout().lock();
        return match out.write_all(&page).and_then(|()| out.flush()) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => output_error(e),
        };
    };
    std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(command, dir))
        .map_err(|e| {
            AppError::Usage(format!("cannot write man pages to {}: {e}", dir.display()))
        })?;
    eprintln!("newsvault: man pages written to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

// ------------------------------------------------------------------ versions

async fn revisit(cli: &Cli, args: &RevisitArgs) -> Result<ExitCode, AppError> {
    let app = App::open(load_config(cli)?, Clock::System).await?;
    let (trigger, shutdown) = shutdown::channel();
    shutdown::trigger_on_signals(trigger);
    let summary = app
        .revisit(args.source.clone(), args.limit, &shutdown)
        .await?;
    let mut out = io::stdout().lock();
    let written = if args.json {
        serde_json::to_string(&summary)
            .map_err(io::Error::other)
            .and_then(|line| writeln!(out, "{line}"))
    } else {
        writeln!(out, "{summary}")
    };
    if let Err(e) = written {
        return output_error(e);
    }
    Ok(ExitCode::SUCCESS)
}

/// Which of the compared fields differ between two versions.
fn changed_fields(old: &ArticleVersion, new: &ArticleVersion) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if old.title != new.title {
        changed.push("title");
    }
    if old.text != new.text {
        changed.push("text");
    }
    if old.published_at != new.published_at {
        changed.push("published_at");
    }
    if old.updated_at != new.updated_at {
        changed.push("updated_at");
    }
    changed
}

/// `history --json`.
#[derive(Debug, serde::Serialize)]
struct HistoryRecord<'a> {
    article_id: i64,
    canonical_url: &'a str,
    first_seen_at: String,
    last_checked_at: Option<String>,
    next_revisit_at: Option<String>,
    removed_at: Option<String>,
    removed_status: Option<u16>,
    versions: Vec<VersionRecord<'a>>,
}

#[derive(Debug, serde::Serialize)]
struct VersionRecord<'a> {
    version: i64,
    seen_at: String,
    capture_id: Option<i64>,
    title: Option<&'a str>,
    published_at: Option<String>,
    updated_at: Option<String>,
    words: usize,
    /// Fields that differ from the version before.
    changed: Vec<&'static str>,
    content_sha256: Option<&'a str>,
    text: &'a str,
}

/// The article an argument names, with its versions.
async fn article_versions(
    store: &Store,
    key: &str,
) -> Result<(crate::store::ArticleRecord, Vec<ArticleVersion>), AppError> {
    let id = resolve_article(store, key).await?;
    let article = store
        .article(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("article {id} was deleted while being read")))?;
    let versions = store.versions_of(id).await?;
    Ok((article, versions))
}

async fn history(cli: &Cli, args: &HistoryArgs) -> Result<ExitCode, AppError> {
    let store = open_archive(cli).await?;
    let (article, versions) = article_versions(&store, &args.article).await?;
    let changes: Vec<Vec<&'static str>> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| match i.checked_sub(1).map(|p| &versions[p]) {
            Some(previous) => changed_fields(previous, v),
            None => Vec::new(),
        })
        .collect();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = if args.json {
        let record = HistoryRecord {
            article_id: article.id,
            canonical_url: &article.canonical_url,
            first_seen_at: to_db_time(article.first_seen_at),
            last_checked_at: article.last_checked_at.map(to_db_time),
            next_revisit_at: article.next_revisit_at.map(to_db_time),
            removed_at: article.removed_at.map(to_db_time),
            removed_status: article.removed_status,
            versions: versions
                .iter()
                .zip(&changes)
                .map(|(v, changed)| VersionRecord {
                    version: v.version,
                    seen_at: to_db_time(v.seen_at),
                    capture_id: v.capture_id,
                    title: v.title.as_deref(),
                    published_at: v.published_at.map(to_db_time),
                    updated_at: v.updated_at.map(to_db_time),
                    words: v.text.split_whitespace().count(),
                    changed: changed.clone(),
                    content_sha256: v.content_sha256.as_deref(),
                    text: &v.text,
                })
                .collect(),
        };
        serde_json::to_string(&record)
            .map_err(io::Error::other)
            .and_then(|line| writeln!(out, "{line}"))
    } else {
        write_history(&mut out, &article, &versions, &changes)
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => output_error(e),
    }
}

/// The revisit state of an article in words: removed, checked, next revisit.
fn revisit_state(a: &crate::store::ArticleRecord) -> String {
    let when = |t: Option<DateTime<Utc>>| t.map(to_db_time);
    let mut parts = Vec::new();
    if let Some(removed) = when(a.removed_at) {
        parts.push(match a.removed_status {
            Some(status) => format!("removed {removed} (HTTP {status})"),
            None => format!("removed {removed}"),
        });
    }
    parts.push(match when(a.last_checked_at) {
        Some(t) => format!("last checked {t}"),
        None => "never revisited".into(),
    });
    parts.push(match when(a.next_revisit_at) {
        Some(t) => format!("next revisit {t}"),
        None => "no further revisits".into(),
    });
    parts.join("; ")
}

fn write_history(
    out: &mut impl Write,
    a: &crate::store::ArticleRecord,
    versions: &[ArticleVersion],
    changes: &[Vec<&'static str>],
) -> io::Result<()> {
    writeln!(
        out,
        "article {}: {}",
        a.id,
        a.title.as_deref().unwrap_or("(no title)")
    )?;
    writeln!(out, "url:     {}", a.canonical_url)?;
    writeln!(out, "state:   {}", revisit_state(a))?;
    writeln!(out)?;
    for (v, changed) in versions.iter().zip(changes) {
        let what = if v.version == 1 {
            "first archived".to_string()
        } else if changed.is_empty() {
            "no field changed".to_string()
        } else {
            format!("changed: {}", changed.join(", "))
        };
        writeln!(
            out,
            "{:>4}  {}  {:>6} words  {}\n      {}",
            format!("v{}", v.version),
            to_db_time(v.seen_at),
            v.text.split_whitespace().count(),
            what,
            v.title.as_deref().unwrap_or("(no title)")
        )?;
    }
    if versions.len() > 1 {
        writeln!(out, "\n(newsvault diff {} shows the last change)", a.id)?;
    }
    Ok(())
}

/// `diff --json`.
#[derive(Debug, serde::Serialize)]
struct DiffRecord<'a> {
    article_id: i64,
    from: i64,
    to: i64,
    from_seen_at: String,
    to_seen_at: String,
    /// Present when the field changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<FieldChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<FieldChange>,
    words_removed: usize,
    words_added: usize,
    text: &'a [crate::versions::DiffPart],
}

#[derive(Debug, serde::Serialize)]
struct FieldChange {
    from: Option<String>,
    to: Option<String>,
}

fn field_change(from: Option<String>, to: Option<String>) -> Option<FieldChange> {
    (from != to).then_some(FieldChange { from, to })
}

async fn diff(cli: &Cli, args: &DiffArgs) -> Result<ExitCode, AppError> {
    let store = open_archive(cli).await?;
    let (article, versions) = article_versions(&store, &args.article).await?;
    let latest = versions.last().map_or(0, |v| v.version);
    let to = args.to.unwrap_or(latest);
    let from = args.from.unwrap_or(to - 1);
    if args.from.is_none() && args.to.is_none() && versions.len() < 2 {
        eprintln!(
            "newsvault: article {} has one version: no revisit has found a change",
            article.id
        );
        return Ok(ExitCode::SUCCESS);
    }
    let find = |n: i64| {
        versions.iter().find(|v| v.version == n).ok_or_else(|| {
            AppError::Usage(format!(
                "article {} has no version {n} (it has versions 1 to {latest})",
                article.id
            ))
        })
    };
    let (old, new) = (find(from)?, find(to)?);
    let (old_text, new_text) = (old.text.clone(), new.text.clone());
    // A word diff of long texts is CPU work: off the async threads.
    let parts =
        tokio::task::spawn_blocking(move || crate::versions::word_diff(&old_text, &new_text))
            .await
            .map_err(|e| AppError::Store(StoreError::Other(format!("diff task failed: {e}"))))?;
    let (removed, added) = crate::versions::diff_counts(&parts);
    let time = |t: Option<DateTime<Utc>>| t.map(to_db_time);
    let title = field_change(old.title.clone(), new.title.clone());
    let published = field_change(time(old.published_at), time(new.published_at));
    let updated = field_change(time(old.updated_at), time(new.updated_at));
    let mut out = io::BufWriter::new(io::stdout().lock());
    let written = if args.json {
        let record = DiffRecord {
            article_id: article.id,
            from,
            to,
            from_seen_at: to_db_time(old.seen_at),
            to_seen_at: to_db_time(new.seen_at),
            title,
            published_at: published,
            updated_at: updated,
            words_removed: removed,
            words_added: added,
            text: &parts,
        };
        serde_json::to_string(&record)
            .map_err(io::Error::other)
            .and_then(|line| writeln!(out, "{line}"))
    } else {
        let style = if io::stdout().is_terminal() {
            crate::versions::DiffStyle::terminal()
        } else {
            crate::versions::DiffStyle::plain()
        };
        write_diff(
            &mut out,
            article.id,
            (old, new),
            [
                ("title", title),
                ("published", published),
                ("updated", updated),
            ],
            (&parts, removed, added),
            &style,
        )
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => output_error(e),
    }
}

fn write_diff(
    out: &mut impl Write,
    article: i64,
    (old, new): (&ArticleVersion, &ArticleVersion),
    fields: [(&str, Option<FieldChange>); 3],
    (parts, removed, added): (&[crate::versions::DiffPart], usize, usize),
    style: &crate::versions::DiffStyle,
) -> io::Result<()> {
    writeln!(
        out,
        "article {article}: version {} ({}) -> version {} ({})",
        old.version,
        to_db_time(old.seen_at),
        new.version,
        to_db_time(new.seen_at)
    )?;
    for (name, change) in fields {
        if let Some(change) = change {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            writeln!(
                out,
                "{name}: {}{}{} -> {}{}{}",
                style.removed.0,
                show(&change.from),
                style.removed.1,
                style.added.0,
                show(&change.to),
                style.added.1
            )?;
        }
    }
    if removed + added == 0 {
        return writeln!(out, "text: unchanged");
    }
    writeln!(out, "text: {removed} words removed, {added} added\n")?;
    for paragraph in crate::versions::changed_paragraphs(parts, style) {
        writeln!(out, "{paragraph}\n")?;
    }
    Ok(())
}
