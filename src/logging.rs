//! Log set-up, once, at the binary's edge: tracing-subscriber writing to stderr, human
//! text (coloured on a terminal) or JSON lines, or straight to the systemd journal with
//! each field (source, url, error, ...) as a journal field; filtered by `RUST_LOG` when set
//! and by `--log-level` otherwise. Standard output stays free for command results.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
    /// The systemd journal, with fields (`journalctl -u newsvault SOURCE=bss`); falls back
    /// to text when no journal is reachable.
    Journald,
}

/// Installs the global subscriber. `level` is a filter directive such as "info" or
/// "newsvault=debug,warn"; `RUST_LOG` overrides it when set.
pub fn init(level: &str, format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => {
            EnvFilter::try_new(&value).map_err(|e| format!("RUST_LOG={value:?}: {e}"))?
        }
        _ => EnvFilter::try_new(level).map_err(|e| format!("--log-level {level:?}: {e}"))?,
    };
    if format == LogFormat::Journald {
        use tracing_subscriber::prelude::*;
        match tracing_journald::layer() {
            Ok(journal) => {
                return tracing_subscriber::registry()
                    .with(filter)
                    .with(journal.with_syslog_identifier("newsvault".to_string()))
                    .try_init()
                    .map_err(|e| format!("cannot set up logging: {e}"));
            }
            Err(error) => eprintln!("newsvault: no systemd journal ({error}); logging as text"),
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text | LogFormat::Journald => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    result.map_err(|e| format!("cannot set up logging: {e}"))
}
