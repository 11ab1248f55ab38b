//! Command-line definitions (clap) and dispatch. Each command turns its arguments into
//! calls on [`App`] or the pure modules and prints results on stdout; logs go to stderr.
//! The exit code is decided here: 0 success, 1 when nothing could be done, 2 for a usage
//! or configuration error.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand};

use crate::app::{App, AppError};
use crate::clock::Clock;
use crate::config::Config;
use crate::extract::{self, ExtractOptions};
use crate::fetch::charset::decode_html;
use crate::logging::LogFormat;
use crate::shutdown;
use crate::store::Store;

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
    /// Show what the archive holds.
    Stats(StatsArgs),
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
        Command::Poll(ref args) => poll(&cli, args).await,
        Command::Run => run(&cli).await,
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
    app.run(shutdown).await;
    Ok(ExitCode::SUCCESS)
}

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

async fn stats(cli: &Cli, args: &StatsArgs) -> Result<ExitCode, AppError> {
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
    let stats = Store::open(&database).await?.stats().await?;
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
    }
    Ok(ExitCode::SUCCESS)
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
    let tld = args.url.as_ref().and_then(|u| {
        u.host_str()
            .and_then(|h| h.rsplit('.').next())
            .map(str::to_string)
    });
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
                let decoded = decode_html(&bytes, None, tld.as_deref());
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
