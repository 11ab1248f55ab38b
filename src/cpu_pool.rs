//! The threads that do the pipeline's heavy page work (charset decoding, extraction,
//! fingerprints): one per core, at a lower scheduling priority than the rest of the
//! process.
//!
//! A SQLite archive has one connection, and every page waits for it a few times (the
//! request log, the lookups, the article's transaction). When extraction ran on tokio's
//! blocking pool, at the priority of everything else, up to as many pages as were in
//! flight were extracted at once, and they preempted the thread holding the connection:
//! the connection was held for 2.2 s of a 4.3 s backfill, and its holder ran for 1.5 s of
//! that, while the other pages queued behind it. With extraction
//! on these threads (nice 10 on Linux) the connection's holder, the HTTP client and the
//! scheduler run first, and extraction takes the rest of the cores; on a machine that
//! is busy with other work, newsvault's page work is also what yields first.
//!
//! Jobs are still awaited through [`tokio::task::spawn_blocking`] (whose thread only
//! waits), because tokio's test clock does not move forward while a blocking task runs,
//! which keeps paused-time tests exact.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// How much lower than the process the page work runs: the `nice` increment. Measured
/// on the 2,000-page backfill (docs/performance-log.md): 10 bought about 6 % of wall time,
/// 5 about half of that.
const NICENESS: i32 = 10;

/// A handle on the threads; cheap to clone. The threads end when the last handle is
/// dropped and the jobs already sent are done.
#[derive(Clone, Debug)]
pub struct CpuPool {
    jobs: Sender<Job>,
}

/// A job that could not be run or panicked.
#[derive(Debug, thiserror::Error)]
pub enum CpuPoolError {
    #[error("the page work panicked: {0}")]
    Panicked(String),
    #[error("the page work threads are gone")]
    Gone,
}

impl CpuPool {
    /// Starts one thread per core the process may use.
    pub fn start() -> std::io::Result<CpuPool> {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("newsvault-page-{i}"))
                .spawn(move || work(&queue))?;
        }
        Ok(CpuPool { jobs })
    }

    /// Runs `job` on one of the threads and returns what it returned.
    pub async fn run<T, F>(&self, job: F) -> Result<T, CpuPoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (outcome, result) = channel();
        let job: Job = Box::new(move || {
            let value = catch_unwind(AssertUnwindSafe(job)).map_err(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_string())
            });
            // The receiver is gone only if the caller's task was cancelled.
            let _ = outcome.send(value);
        });
        self.jobs.send(job).map_err(|_| CpuPoolError::Gone)?;
        tokio::task::spawn_blocking(move || result.recv())
            .await
            .map_err(|_| CpuPoolError::Gone)?
            .map_err(|_| CpuPoolError::Gone)?
            .map_err(CpuPoolError::Panicked)
    }
}

/// One thread: lowers its own priority, then runs jobs until the pool is dropped.
fn work(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only to take a job, never while one runs (jobs run outside
        // it, and `recv` does not panic), so it cannot be poisoned in practice.
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

/// On Linux, `setpriority(PRIO_PROCESS, 0, …)` sets the calling thread's nice value only
/// (each thread is its own scheduling entity). Elsewhere it would lower the whole
/// process, so nothing is done.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority has no memory effects; 0 names the calling thread.
        let current = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        // A failure leaves the thread at the process's priority: page work then competes
        // with the connection's holder, as it did on tokio's blocking pool.
        // SAFETY: as above.
        let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, current + NICENESS) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_and_return_their_values() {
        let pool = CpuPool::start().expect("start");
        // Eight jobs in flight at once, more than there are threads.
        let mut handles = Vec::new();
        for n in 0..8u64 {
            let pool = pool.clone();
            handles.push(tokio::spawn(async move {
                pool.run(move || (0..=n).sum::<u64>()).await
            }));
        }
        let mut sums = Vec::new();
        for handle in handles {
            sums.push(handle.await.expect("task").expect("job"));
        }
        assert_eq!(sums, vec![0, 1, 3, 6, 10, 15, 21, 28]);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_threads_go_on() {
        let pool = CpuPool::start().expect("start");
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        // More panics than threads: a thread that died with its job would leave none.
        for _ in 0..threads + 1 {
            let error = pool
                .run(|| -> u8 { panic!("bad page") })
                .await
                .expect_err("a panic");
            assert!(error.to_string().contains("bad page"), "{error}");
        }
        assert_eq!(pool.run(|| 7).await.expect("after the panics"), 7);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_threads_run_below_the_process_priority() {
        let pool = CpuPool::start().expect("start");
        // SAFETY: reads the calling thread's nice value.
        let ours = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        // SAFETY: as above, on a pool thread.
        let theirs = pool
            .run(|| unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) })
            .await
            .expect("job");
        assert_eq!(theirs, (ours + NICENESS).min(19));
    }
}
