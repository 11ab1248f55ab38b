//! The daemon loop: asks the store which sources are due, polls them (at most
//! `run.concurrency` at once), revisits the archived articles that are due (one batch at
//! a time, beside the polls) and sleeps until the next due time, a finished poll or
//! batch, or shutdown. The schedule lives in the database, so a restart loses nothing
//! and a source that was due while the daemon was down is polled once on start. No HTTP,
//! no SQL here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::app::source_page_rules;
use crate::config::{Config, SourceConfig};
use crate::extract::PageRules;
use crate::pipeline::{Pipeline, PollError, PollSummary, RevisitSummary};
use crate::service::Notifier;
use crate::shutdown::Shutdown;
use crate::store::{SourceState, StoreError};

/// Longest the loop sleeps without looking at the store again, so an edit made to the
/// database from outside (a source re-enabled by hand) is noticed.
const MAX_IDLE: Duration = Duration::from_secs(300);

/// How long to wait before asking the archive again after it failed.
const STORE_RETRY: Duration = Duration::from_secs(30);

/// Most articles revisited in one batch; the loop starts the next batch when one ends,
/// so a backlog is worked through without one batch holding every due article.
const REVISIT_BATCH: u32 = 100;

/// Totals over the daemon's life, reported when it stops.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunTotals {
    pub polls: usize,
    pub new: usize,
    pub duplicates: usize,
    pub failed_polls: usize,
    pub item_errors: usize,
    /// Polls still running when the shutdown grace ran out.
    pub abandoned: usize,
    /// Articles revisited, and new versions those revisits stored.
    pub revisits: usize,
    pub new_versions: usize,
}

impl RunTotals {
    fn add(&mut self, summary: &PollSummary) {
        self.polls += 1;
        self.new += summary.new;
        self.duplicates += summary.duplicates;
        self.item_errors += summary.errors;
        if summary.failure.is_some() {
            self.failed_polls += 1;
        }
    }
}

fn source_map(config: &Config) -> HashMap<String, Arc<SourceConfig>> {
    config
        .sources
        .iter()
        .map(|s| (s.name.clone(), Arc::new(s.clone())))
        .collect()
}

/// Runs every enabled source on its schedule until `shutdown` trips, then stops taking
/// work, waits up to `run.shutdown_grace` for polls in flight, abandons the rest, and
/// returns the totals. A configuration arriving on `reloads` (already validated, and
/// already recorded in the store) replaces the sources from the next poll on; polls in
/// flight finish with the settings they started with.
pub async fn run(
    config: &Config,
    pipeline: &Pipeline,
    notifier: Notifier,
    mut shutdown: Shutdown,
    mut reloads: tokio::sync::mpsc::Receiver<Arc<Config>>,
) -> RunTotals {
    let mut sources = source_map(config);
    let limit = Arc::new(Semaphore::new(config.run.concurrency));
    let mut polls: JoinSet<Result<PollSummary, PollError>> = JoinSet::new();
    let mut revisits: JoinSet<Result<RevisitSummary, StoreError>> = JoinSet::new();
    let mut page_rules = Arc::new(source_page_rules(config));
    // After a batch failed on the archive, no new batch starts before this time.
    let mut revisits_paused_until: Option<DateTime<Utc>> = None;
    let mut totals = RunTotals::default();

    let mut sources_enabled = config.sources.iter().filter(|s| s.enabled).count();
    pipeline.metrics.set_sources_enabled(sources_enabled);
    notifier.ready(&format!("{sources_enabled} sources, starting"));
    while !shutdown.is_triggered() {
        let now = pipeline.clock.now();
        notifier.alive(&format!(
            "{sources_enabled} sources, {} polling; {} polls, {} new articles, {} failed polls since start",
            polls.len(),
            totals.polls,
            totals.new,
            totals.failed_polls
        ));
        let wake_at = match start_due(&sources, pipeline, now, &mut polls, &limit, &shutdown).await
        {
            Ok(next_poll) => {
                pipeline
                    .metrics
                    .scheduler_turn(now.timestamp(), polls.len(), Ok(()));
                next_wake(next_poll, now)
            }
            Err(error) => {
                // The archive may be busy or the disk full for a while: keep the daemon up
                // and try again shortly.
                tracing::error!(%error, "cannot read the schedule; retrying");
                pipeline.metrics.scheduler_turn(
                    now.timestamp(),
                    polls.len(),
                    Err(error.to_string()),
                );
                now + chrono::Duration::from_std(STORE_RETRY).unwrap_or_default()
            }
        };
        // One batch of revisits at a time; while it runs, its end wakes the loop.
        let paused = revisits_paused_until.filter(|until| *until > now);
        let wake_at = if let Some(until) = paused {
            wake_at.min(until)
        } else if revisits.is_empty() {
            match start_revisits(pipeline, now, &mut revisits, config, &page_rules, &shutdown).await
            {
                Ok(Some(next)) => wake_at.min(next),
                Ok(None) => wake_at,
                Err(error) => {
                    tracing::error!(%error, "cannot read the revisit schedule; retrying");
                    wake_at.min(now + chrono::Duration::from_std(STORE_RETRY).unwrap_or_default())
                }
            }
        } else {
            wake_at
        };
        // Wake in time for the watchdog even when nothing is due.
        let wake_at = match notifier.max_sleep() {
            Some(step) => wake_at.min(now + chrono::Duration::from_std(step).unwrap_or_default()),
            None => wake_at,
        };
        tokio::select! {
            _ = pipeline.clock.sleep_until(wake_at) => {}
            Some(done) = polls.join_next(), if !polls.is_empty() => {
                settle(done, &mut totals);
                // Settle every other poll that has finished too: each turn of the loop
                // reads the schedule from the archive, and with thousands of sources
                // finished polls arrive faster than one turn each could take them.
                while let Some(done) = polls.try_join_next() {
                    settle(done, &mut totals);
                }
            }
            Some(done) = revisits.join_next(), if !revisits.is_empty() => {
                if !settle_revisits(done, &mut totals) {
                    revisits_paused_until = Some(
                        pipeline.clock.now()
                            + chrono::Duration::from_std(STORE_RETRY).unwrap_or_default(),
                    );
                }
            }
            _ = shutdown.wait() => {}
            Some(new) = reloads.recv() => {
                sources = source_map(&new);
                page_rules = Arc::new(source_page_rules(&new));
                sources_enabled = new.sources.iter().filter(|s| s.enabled).count();
                pipeline.metrics.set_sources_enabled(sources_enabled);
                tracing::info!(sources = sources_enabled, "configuration reloaded");
                notifier.ready(&format!("{sources_enabled} sources, reloaded"));
            }
        }
    }

    notifier.stopping();
    // Revisits stop at once: each one is written in a single transaction, and an article
    // not revisited stays due.
    revisits.shutdown().await;
    let in_flight = polls.len();
    if in_flight > 0 {
        tracing::info!(in_flight, grace = ?config.run.shutdown_grace, "waiting for polls in flight");
    }
    let grace = tokio::time::sleep(config.run.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            done = polls.join_next() => match done {
                Some(done) => settle(done, &mut totals),
                None => break,
            },
            _ = &mut grace => {
                totals.abandoned = polls.len();
                tracing::warn!(abandoned = totals.abandoned, "shutdown grace over; abandoning polls in flight");
                polls.shutdown().await;
                break;
            }
        }
    }
    totals
}

/// Starts a poll for every due source; returns the next time anything is due.
async fn start_due(
    sources: &HashMap<String, Arc<SourceConfig>>,
    pipeline: &Pipeline,
    now: DateTime<Utc>,
    polls: &mut JoinSet<Result<PollSummary, PollError>>,
    limit: &Arc<Semaphore>,
    shutdown: &Shutdown,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    for state in pipeline.store.due_sources(now).await? {
        let Some(source) = sources.get(&state.name) else {
            continue;
        };
        // Claim the source by moving its next poll to its next scheduled time before the
        // poll starts, so the loop does not pick it up again while it runs.
        let next = source.schedule.next_after(now, source.timezone);
        pipeline.store.set_next_poll(state.id, next).await?;
        spawn_poll(polls, pipeline, Arc::clone(source), state, limit, shutdown);
    }
    pipeline.store.next_poll_at().await
}

/// Starts a batch of revisits when any is due; returns when the next one is due
/// otherwise (`None`: none is scheduled, or a batch was started and its end wakes the
/// loop).
async fn start_revisits(
    pipeline: &Pipeline,
    now: DateTime<Utc>,
    revisits: &mut JoinSet<Result<RevisitSummary, StoreError>>,
    config: &Config,
    page_rules: &Arc<HashMap<String, PageRules>>,
    shutdown: &Shutdown,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let Some(next) = pipeline.store.next_revisit_at().await? else {
        return Ok(None);
    };
    if next > now {
        return Ok(Some(next));
    }
    let pipeline = pipeline.clone();
    let page_rules = Arc::clone(page_rules);
    let shutdown = shutdown.clone();
    let concurrency = config.run.concurrency;
    revisits.spawn(async move {
        pipeline
            .revisit_due(
                now,
                None,
                REVISIT_BATCH,
                concurrency,
                &page_rules,
                &shutdown,
            )
            .await
    });
    Ok(None)
}

/// Counts a finished batch of revisits. A failed one is logged, and its articles stay
/// due; returns false then, so that the loop waits before the next batch instead of
/// retrying at once.
fn settle_revisits(
    done: Result<Result<RevisitSummary, StoreError>, tokio::task::JoinError>,
    totals: &mut RunTotals,
) -> bool {
    match done {
        Ok(Ok(summary)) => {
            totals.revisits += summary.due;
            totals.new_versions += summary.new_versions;
            if summary.due > 0 {
                tracing::info!("{summary}");
            }
            true
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "revisits stopped by an archive error");
            false
        }
        Err(e) if e.is_cancelled() => true,
        Err(e) => {
            tracing::error!(error = %e, "a revisit task panicked");
            false
        }
    }
}

fn next_wake(next_poll: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    let idle_limit = now + chrono::Duration::from_std(MAX_IDLE).unwrap_or_default();
    next_poll.map_or(idle_limit, |t| t.min(idle_limit))
}

fn spawn_poll(
    polls: &mut JoinSet<Result<PollSummary, PollError>>,
    pipeline: &Pipeline,
    source: Arc<SourceConfig>,
    state: SourceState,
    limit: &Arc<Semaphore>,
    shutdown: &Shutdown,
) {
    let pipeline = pipeline.clone();
    let limit = Arc::clone(limit);
    let shutdown = shutdown.clone();
    polls.spawn(async move {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = limit.acquire_owned().await;
        pipeline.poll_source(&source, &state, &shutdown).await
    });
}

/// Counts a finished poll. Nothing here stops the daemon: a poll that hit an archive
/// error or a bug is logged and the source is tried again at its next time.
fn settle(
    done: Result<Result<PollSummary, PollError>, tokio::task::JoinError>,
    totals: &mut RunTotals,
) {
    match done {
        Ok(Ok(summary)) => totals.add(&summary),
        Ok(Err(PollError { source_name, error })) => {
            tracing::error!(source = %source_name, %error, "poll stopped by an archive error");
            totals.failed_polls += 1;
        }
        Err(e) if e.is_cancelled() => {}
        Err(e) => {
            tracing::error!(error = %e, "a poll task panicked");
            totals.failed_polls += 1;
        }
    }
}
