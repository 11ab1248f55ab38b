//! How a backfill's progress is shown: [`Bar`], an indicatif bar on a terminal (done of
//! total, rate, errors, ETA), or [`LogLines`], a log line every so often when there is no
//! terminal to draw on. Both are [`Progress`] reporters; the backfill itself never draws.

use std::fmt;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use url::Url;

use crate::backfill::{BackfillSummary, Progress};

/// A progress bar on standard error: a spinner while listings are read, then a bar.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
    counting: bool,
}

impl Bar {
    pub fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(style("{spinner} [{elapsed_precise}] {msg}"));
        bar.set_message("reading listings");
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar {
            bar,
            counting: false,
        }
    }
}

impl Default for Bar {
    fn default() -> Self {
        Bar::new()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress for Bar {
    fn listing(&mut self, pages: usize, links: usize) {
        self.bar
            .set_message(format!("reading listings: {pages} pages, {links} links"));
    }

    fn update(&mut self, summary: &BackfillSummary, _current: Option<&Url>) {
        if !self.counting {
            self.counting = true;
            self.bar.set_style(
                style("[{elapsed_precise}] {wide_bar} {pos}/{len} {rate} ETA {eta} {msg}")
                    .with_key("rate", |state: &ProgressState, out: &mut dyn fmt::Write| {
                        let _ = write!(out, "{:.1}/s", state.per_sec());
                    }),
            );
            self.bar.set_length(summary.listed as u64);
            self.bar.reset_eta();
        }
        self.bar.set_position(summary.done() as u64);
        self.bar.set_message(format!(
            "{} archived, {} errors",
            summary.archived, summary.failed
        ));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        // The summary line follows; the bar makes way for it.
        self.bar.finish_and_clear();
    }
}

/// Progress as log lines, at most one per `every` (and always when the list of URLs is
/// final and at the end), for runs whose standard error is a log, not a terminal.
#[derive(Debug)]
pub struct LogLines {
    every: Duration,
    last: Instant,
}

impl LogLines {
    pub fn new(every: Duration) -> LogLines {
        LogLines {
            every,
            last: Instant::now(),
        }
    }

    fn due(&mut self) -> bool {
        if self.last.elapsed() < self.every {
            return false;
        }
        self.last = Instant::now();
        true
    }
}

impl Progress for LogLines {
    fn listing(&mut self, pages: usize, links: usize) {
        if self.due() {
            tracing::info!(pages, links, "backfill reading listings");
        }
    }

    fn update(&mut self, summary: &BackfillSummary, current: Option<&Url>) {
        if current.is_none() || self.due() {
            tracing::info!(
                done = summary.done(),
                total = summary.listed,
                archived = summary.archived,
                failed = summary.failed,
                "backfill progress"
            );
        }
    }
}
