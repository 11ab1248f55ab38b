//! Checkpoints of a SQLite archive's write-ahead log, on a thread of their own.
//!
//! In WAL mode every commit appends pages to the `-wal` file, and a checkpoint copies them
//! into the database file and syncs it. SQLite's automatic checkpoint runs inside the
//! commit that crosses 1,000 pages of log: on the thread that holds the archive's one
//! connection, so every page waiting for that connection waits for the copy and two
//! `fsync` calls too. Here the writer's commits only wake this thread, which copies what
//! has been committed (`PASSIVE`: it never blocks the writer) from a second connection.
//!
//! A checkpoint from another connection cannot let the log start again from its
//! beginning while the writer keeps appending (the writer restarts the log at its next
//! transaction only if every page of it has been copied by then). So the writer keeps
//! SQLite's own automatic checkpoint, at [`WRITER_CHECKPOINT_AT`] pages instead of 1,000:
//! by then this thread has copied all but the last pass's pages, so the writer's
//! checkpoint copies little, and run between the writer's own commits it lets the log
//! start again. Nothing here changes what is durable: checkpoints only move committed
//! pages.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// The writer's own automatic checkpoint, in log pages: what bounds the log (see the
/// module's documentation). A `RESTART` checkpoint from this thread did not: it must wait
/// for the writer's transactions to end while holding off new ones, and a writer that
/// commits back to back (one article a millisecond) made it give up after its wait, with
/// the log at 185 MB at 100,000 articles and single inserts held for up to that wait.
///
/// The commit that crosses it pays for the writer's checkpoint: however little is left
/// to copy, the database file is synced (~10 ms on a virtual disk). An article's commit
/// writes 80 to 90 pages of log (half of them its 42 story band entries, each on a
/// leaf of its own), so at 4,096 pages one commit in 50 paid it, and that was the slowest
/// 1 % of inserts: p99 18-38 ms from 10,000 to a million articles. At 16,384 pages (a log
/// of 75-93 MB at its largest) p99 is 8-11 ms over the same range; 32,768 pages halve it
/// again for a log twice as large (docs/performance-log.md).
const WRITER_CHECKPOINT_AT: i64 = 16_384;

/// The shortest time between two passes, each of which syncs the log and the database
/// file.
const PASS_INTERVAL: Duration = Duration::from_millis(50);

/// The checkpoint thread of one archive connection. Dropping it stops the thread and
/// waits for a checkpoint in progress to finish.
pub(super) struct Checkpointer {
    signal: Arc<Signal>,
    thread: Option<JoinHandle<()>>,
}

/// What the writer's commits tell the thread.
#[derive(Default)]
struct Signal {
    state: Mutex<State>,
    /// Wakes the thread: a commit, or the stop.
    wake: Condvar,
    /// Wakes whoever waits for a pass to end ([`Checkpointer::wait_for_passes`]).
    passed: Condvar,
}

#[derive(Default)]
struct State {
    /// A transaction committed since the last checkpoint began.
    committed: bool,
    stop: bool,
    /// Checkpoint passes finished.
    passes: u64,
}

impl Signal {
    /// A panic while the state was held cannot have left it half-changed (two flags and
    /// a count), so a poisoned lock is safe to reuse.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a commit since the last call, and takes it; false once told to stop.
    fn next_commit(&self) -> bool {
        let mut state = self
            .wake
            .wait_while(self.lock(), |s| !s.committed && !s.stop)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.committed = false;
        !state.stop
    }

    /// Waits `pause` whatever commits meanwhile; false once told to stop.
    fn pause(&self, pause: Duration) -> bool {
        let (state, _) = self
            .wake
            .wait_timeout_while(self.lock(), pause, |s| !s.stop)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        !state.stop
    }
}

impl Checkpointer {
    /// Starts checkpointing the archive at `path` for `writer`, its write connection. If
    /// the thread's connection cannot be opened, `writer` keeps SQLite's automatic
    /// checkpoint and the error is returned.
    pub(super) fn start(path: &Path, writer: &Connection) -> Result<Checkpointer, String> {
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        // As the writer: a checkpoint syncs the log before copying it and the database
        // after, whatever this says; it is set so that nothing else differs.
        conn.execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(|e| e.to_string())?;
        let signal = Arc::new(Signal::default());
        let thread = std::thread::Builder::new()
            .name("newsvault-checkpoint".to_string())
            .spawn({
                let signal = Arc::clone(&signal);
                move || run(&conn, &signal)
            })
            .map_err(|e| format!("cannot start its thread: {e}"))?;
        // From here on, dropping the checkpointer stops the thread.
        let checkpointer = Checkpointer {
            signal,
            thread: Some(thread),
        };
        let on_commit = Arc::clone(&checkpointer.signal);
        writer
            .commit_hook(Some(move || {
                on_commit.lock().committed = true;
                on_commit.wake.notify_one();
                false // let the commit go ahead
            }))
            .and_then(|()| writer.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_AT))
            .map_err(|e| e.to_string())?;
        Ok(checkpointer)
    }
}

#[cfg(test)]
impl Checkpointer {
    /// Waits until the thread has finished `passes` checkpoint passes in all; false if
    /// `timeout` ran out first.
    fn wait_for_passes(&self, passes: u64, timeout: Duration) -> bool {
        let state = self.signal.lock();
        let (state, _) = self
            .signal
            .passed
            .wait_timeout_while(state, timeout, |state| state.passes < passes)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.passes >= passes
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.signal.lock().stop = true;
        self.signal.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic on that thread has nothing to report here: the writer's own
            // checkpoint and the last connection's close still checkpoint the log.
            let _ = thread.join();
        }
    }
}

/// The thread: waits for commits and checkpoints after them until told to stop.
fn run(conn: &Connection, signal: &Signal) {
    while signal.next_commit() {
        // The hook runs just before a commit is written, so this pass may miss that
        // commit's pages; the next pass takes them. A pass that finds another checkpoint
        // running (the writer's, or another process's) is busy and copies nothing.
        if let Err(e) = checkpoint(conn) {
            tracing::debug!(error = %e, "checkpoint failed; tried again after the next commit");
        }
        signal.lock().passes += 1;
        signal.passed.notify_all();
        // Each pass syncs the log and the database file; the commits of the next
        // PASS_INTERVAL are taken together by one pass.
        if !signal.pause(PASS_INTERVAL) {
            return;
        }
    }
}

/// Copies what the log holds into the database file, without waiting for anyone.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAL-mode database in `dir` with one table, and its path.
    fn database(dir: &Path) -> (Connection, std::path::PathBuf) {
        let path = dir.join("archive.sqlite3");
        let conn = Connection::open(&path).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("WAL");
        conn.execute_batch("CREATE TABLE pages (body BLOB)")
            .expect("create table");
        (conn, path)
    }

    fn file_size(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    // A bound on a failure, not a timing: a pass takes milliseconds.
    const PATIENCE: Duration = Duration::from_secs(30);

    #[test]
    fn commits_reach_the_database_file_through_the_thread() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (writer, path) = database(dir.path());
        let checkpointer = Checkpointer::start(&path, &writer).expect("start");
        let before = file_size(&path);

        // 400 KiB: about 100 pages, far below the writer's own automatic checkpoint, so
        // only the thread can have copied them into the database file.
        writer
            .execute("INSERT INTO pages VALUES (zeroblob(400 * 1024))", [])
            .expect("first commit");
        assert!(
            checkpointer.wait_for_passes(1, PATIENCE),
            "no pass after a commit"
        );
        // The hook runs before its commit is written, so the pass it woke may have come
        // too early for it; the pass after the next commit comes after it for certain.
        writer
            .execute("INSERT INTO pages VALUES (x'00')", [])
            .expect("second commit");
        assert!(
            checkpointer.wait_for_passes(2, PATIENCE),
            "no pass after the second commit"
        );

        assert!(
            file_size(&path) >= before + 400 * 1024,
            "database file {} bytes after the passes, {} before",
            file_size(&path),
            before
        );
        let writer_threshold: i64 = writer
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .expect("read threshold");
        assert_eq!(writer_threshold, WRITER_CHECKPOINT_AT);
    }

    /// Commits one after another, each checkpointed before the next begins, so the log
    /// starts again from its beginning at the next commit.
    #[test]
    fn the_log_does_not_grow_with_the_archive() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (writer, path) = database(dir.path());
        let checkpointer = Checkpointer::start(&path, &writer).expect("start");
        let wal = dir.path().join("archive.sqlite3-wal");

        // Commits of 1 MiB (256 pages), half of WRITER_CHECKPOINT_AT pages in all: a log
        // never started again would hold every one of them, and the writer's own
        // checkpoint never runs, so only the thread's passes can have let it start again.
        let commits = WRITER_CHECKPOINT_AT / 256 / 2;
        for i in 0..commits {
            writer
                .execute("INSERT INTO pages VALUES (zeroblob(1024 * 1024))", [])
                .expect("commit");
            assert!(
                checkpointer.wait_for_passes(i as u64 + 1, PATIENCE),
                "no pass after commit {i}"
            );
        }
        let written = commits as u64 * 1024 * 1024;
        let log = file_size(&wal);
        assert!(
            log < written / 2,
            "the log is {log} bytes after {written} bytes of commits"
        );
    }

    #[test]
    fn dropping_it_stops_the_thread_and_the_last_close_removes_the_log() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (writer, path) = database(dir.path());
        let checkpointer = Checkpointer::start(&path, &writer).expect("start");
        writer
            .execute("INSERT INTO pages VALUES (x'01')", [])
            .expect("commit");
        drop(checkpointer);
        drop(writer);
        assert!(!dir.path().join("archive.sqlite3-wal").exists());
        let reader = Connection::open(&path).expect("reopen");
        let rows: i64 = reader
            .query_row("SELECT count(*) FROM pages", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 1);
    }
}
