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

/// The Rust heap is jemalloc, not glibc's malloc: a backfill allocates and frees a page's
/// document tree, texts and buffers on whichever thread runs it, and glibc's arenas, capped
/// at two ([`newsvault::memory::limit_arenas`]), make those threads wait for each other.
/// jemalloc does the same backfill in less CPU and less time (figures in
/// docs/performance-log.md). SQLite and zstd keep glibc's malloc.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static HEAP: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read when it starts (`_RJEM_MALLOC_CONF` in the environment
/// overrides them): two arenas, as for glibc, so that memory freed on one thread is
/// reused by the next; and a background thread that returns pages unused for a second to
/// the system, so that the daemon shrinks back between rounds without any allocation
/// activity to trigger it.
#[cfg(not(target_env = "msvc"))]
#[used]
#[unsafe(export_name = "_rjem_malloc_conf")]
static HEAP_SETTINGS: &[u8; 70] =
    b"narenas:2,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
