//! Gives the heap memory the daemon freed back to the operating system. A round of polls
//! allocates and frees a lot (a task, a response and a parse per source); glibc's malloc
//! keeps freed memory for reuse and returns only what lies at the top of the heap, so a
//! daemon following 10,000 sources kept ~150 MB resident between rounds that it no
//! longer used (measured with `scripts/idle.sh` before claims were bounded by the free poll
//! slots: 226 MB resident, 72 MB after `malloc_trim`; docs/performance-log.md). With
//! bounded claims a round frees far less, and the trim stays as the guard against a
//! burst's leftovers. `newsvault run` asks for it back periodically.
//! The binary also caps malloc's arenas at start ([`limit_arenas`]). Elsewhere than glibc
//! this does nothing.
//!
//! The binary's Rust heap is jemalloc (`src/main.rs`), which returns unused pages on its
//! own (a background thread, one second after they were freed); what this module trims is
//! glibc's heap, which the C libraries (SQLite, zstd) still allocate from.

use std::time::Duration;

use crate::shutdown::Shutdown;

/// How often the daemon returns freed memory. A trim walks the free lists once, which
/// takes a millisecond or two on a heap of a few hundred MB; once a minute costs nothing
/// measurable and keeps the resident size near what is in use between rounds.
pub const TRIM_INTERVAL: Duration = Duration::from_secs(60);

/// Most malloc arenas the process uses. glibc gives a thread that finds the arenas busy
/// one of its own, up to eight per core, and each keeps its own freed memory; the async
/// workers and the blocking pool share two without contention that shows in the
/// benchmarks, and the idle daemon following 10,000 sources holds 58.9 MB instead of
/// 64.9 MB (`MALLOC_ARENA_MAX=2 scripts/idle.sh`, docs/performance-log.md).
const MAX_ARENAS: i32 = 2;

/// Caps malloc's arenas at [`MAX_ARENAS`], unless `MALLOC_ARENA_MAX` in the environment
/// says otherwise (glibc reads it itself). Call before any other thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: mallopt only sets one of the allocator's parameters, under its own lock.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MAX_ARENAS);
    }
}

/// Not glibc: nothing to do.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

/// Returns the free memory of every malloc arena to the operating system; true when some
/// was returned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_free_memory() -> bool {
    // SAFETY: malloc_trim only walks the allocator's own free lists under its locks and
    // has no preconditions; 0 keeps no extra padding at the top of the heap.
    unsafe { libc::malloc_trim(0) == 1 }
}

/// Not glibc: nothing to do (other allocators return memory on their own terms).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() -> bool {
    false
}

/// Returns freed memory every [`TRIM_INTERVAL`] until shutdown, off the async threads.
pub async fn trim_until(mut shutdown: Shutdown) {
    let mut ticks = tokio::time::interval(TRIM_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate: nothing to return yet
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = ticks.tick() => {
                let _ = tokio::task::spawn_blocking(release_free_memory).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn freed_memory_is_returned() {
        // Many small blocks freed apart from the last one: the heap cannot shrink from the
        // top, so only a trim gives the pages back.
        let mut blocks: Vec<Vec<u8>> = (0..20_000).map(|i| vec![i as u8; 1024]).collect();
        let keep = blocks.pop();
        drop(blocks);
        assert!(release_free_memory(), "nothing was returned");
        drop(keep);
    }
}
