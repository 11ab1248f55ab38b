//! The `newsvault` binary: parse the command line, set up logging, build the runtime, and
//! hand over to [`newsvault::cli::dispatch`]. No logic lives here.

use std::process::ExitCode;

use clap::Parser;
use newsvault::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(message) = newsvault::logging::init(&cli.log_level, cli.log_format) {
        eprintln!("newsvault: {message}");
        return ExitCode::from(2);
    }
    // Before the runtime starts its threads, so that they share the capped arenas.
    newsvault::memory::limit_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("newsvault: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(cli::dispatch(cli))
}
