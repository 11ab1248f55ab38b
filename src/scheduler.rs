//! The daemon loop: claims due sources from the store, as many as it has free poll slots
//! (`run.concurrency` minus the polls running), polls them, revisits the archived
//! articles that are due (one batch at a time, beside the polls) and sleeps until the
//! next due time, a finished poll or batch, the next heartbeat, or shutdown. The schedule
//! lives in the database, so a restart loses nothing and a source that was due while the
//! daemon was down is polled once on start.
//!
//! Several daemons (nodes) may share one archive: a claim is a lease in the database
//! (this node's name and an expiry, `[cluster]`), so no source is polled by two nodes at
//! once. The heartbeat (every third of the lease) extends the leases of the polls still
//! running; a node that dies stops renewing, and its sources are taken over once their
//! leases run out. A source's next due time moves only when its poll finishes, and only
//! while the poll's node still holds the lease (a poll that outlived its lease and was
//! taken over writes nothing to the schedule). Revisits are claimed the same way, each
//! batch holding its articles for `pipeline::REVISIT_HOLD`. When the
//! archive cannot be reached the loop logs it, waits (doubling the wait up to
//! [`STORE_RETRY`]) and tries again; it never exits for it. No HTTP, no SQL here.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use crate::app::source_page_rules;
use crate::config::{Config, SourceConfig};
use crate::extract::PageRules;
use crate::pipeline::{Pipeline, PollError, PollSummary, RevisitSummary};
use crate::service::Notifier;
use crate::shutdown::Shutdown;
use crate::store::{NodeLease, SourceId, SourceState, StoreError};

/// Longest the loop sleeps without looking at the store again, so an edit made to the
/// database from outside (a source re-enabled by hand) is noticed.
const MAX_IDLE: Duration = Duration::from_secs(300);

/// How long to wait before asking the archive again after it failed: the first retry
/// comes after [`STORE_RETRY_FIRST`], each further one waits twice as long, up to this.
const STORE_RETRY: Duration = Duration::from_secs(30);
const STORE_RETRY_FIRST: Duration = Duration::from_secs(1);

/// After `failures` failed turns in a row, how long to wait before the next.
fn store_retry(failures: u32) -> Duration {
    STORE_RETRY_FIRST
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(STORE_RETRY)
}

/// The polls running, by task: which source each holds a lease on.
type Running = HashMap<tokio::task::Id, SourceId>;

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
/// work, waits up to `run.shutdown_grace` for polls in flight, abandons the rest, gives
/// up this node's leases and returns the totals. A configuration arriving on `reloads`
/// (already validated, and already recorded in the store) replaces the sources from the
/// next poll on; polls in flight finish with the settings they started with.
pub async fn run(
    config: &Config,
    pipeline: &Pipeline,
    notifier: Notifier,
    mut shutdown: Shutdown,
    mut reloads: tokio::sync::mpsc::Receiver<Arc<Config>>,
) -> RunTotals {
    let mut sources = source_map(config);
    let node = config.cluster.node.clone();
    let lease = config.cluster.lease;
    let heartbeat_every = chrono::Duration::from_std(lease / 3).unwrap_or_default();
    let mut polls: JoinSet<Result<PollSummary, PollError>> = JoinSet::new();
    let mut running = Running::new();
    let mut revisits: JoinSet<Result<RevisitSummary, StoreError>> = JoinSet::new();
    let mut page_rules = Arc::new(source_page_rules(config));
    // After a batch failed on the archive, no new batch starts before this time.
    let mut revisits_paused_until: Option<DateTime<Utc>> = None;
    // Turns in a row on which the archive failed.
    let mut store_failures = 0u32;
    let mut next_heartbeat = pipeline.clock.now();
    let mut totals = RunTotals::default();

    let mut sources_enabled = config.sources.iter().filter(|s| s.enabled).count();
    pipeline.metrics.set_sources_enabled(sources_enabled);
    notifier.ready(&format!("{sources_enabled} sources, starting"));
    tracing::info!(%node, ?lease, "claiming sources as this node");
    while !shutdown.is_triggered() {
        let now = pipeline.clock.now();
        notifier.alive(&format!(
            "{sources_enabled} sources, {} polling; {} polls, {} new articles, {} failed polls since start",
            polls.len(),
            totals.polls,
            totals.new,
            totals.failed_polls
        ));
        if now >= next_heartbeat {
            heartbeat(pipeline, &node, lease, &running, now).await;
            next_heartbeat = now + heartbeat_every;
        }
        let free_slots = config.run.concurrency.saturating_sub(polls.len());
        let claim = NodeLease {
            node: node.clone(),
            until: now + chrono::Duration::from_std(lease).unwrap_or_default(),
        };
        let started = start_due(
            &sources,
            pipeline,
            now,
            &claim,
            free_slots,
            &mut polls,
            &mut running,
            &shutdown,
        )
        .await;
        let wake_at = match started {
            Ok(next_poll) => {
                store_failures = 0;
                pipeline
                    .metrics
                    .scheduler_turn(now.timestamp(), polls.len(), Ok(()));
                next_wake(next_poll, now)
            }
            Err(error) => {
                // The archive may be busy, restarting or the disk full for a while: keep
                // the daemon up and try again, waiting longer each time.
                store_failures = store_failures.saturating_add(1);
                let retry = store_retry(store_failures);
                tracing::error!(%error, ?retry, "cannot claim due sources; retrying");
                pipeline.metrics.scheduler_turn(
                    now.timestamp(),
                    polls.len(),
                    Err(error.to_string()),
                );
                now + chrono::Duration::from_std(retry).unwrap_or_default()
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
        // Wake in time for the heartbeat and the watchdog even when nothing is due.
        let wake_at = wake_at.min(next_heartbeat);
        let wake_at = match notifier.max_sleep() {
            Some(step) => wake_at.min(now + chrono::Duration::from_std(step).unwrap_or_default()),
            None => wake_at,
        };
        tokio::select! {
            _ = pipeline.clock.sleep_until(wake_at) => {}
            Some(done) = polls.join_next_with_id(), if !polls.is_empty() => {
                settle(done, &mut running, &mut totals);
                // Settle every other poll that has finished too: each turn of the loop
                // reads the schedule from the archive, and with thousands of sources
                // finished polls arrive faster than one turn each could take them.
                while let Some(done) = polls.try_join_next_with_id() {
                    settle(done, &mut running, &mut totals);
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
    // Revisit batches start no new revisit once shutdown trips and give back the articles
    // they did not get to; the revisits under way finish within the grace, like polls.
    let in_flight = polls.len();
    if in_flight > 0 || !revisits.is_empty() {
        tracing::info!(in_flight, revisit_batches = revisits.len(), grace = ?config.run.shutdown_grace,
            "waiting for polls and revisits in flight");
    }
    let grace = tokio::time::sleep(config.run.shutdown_grace);
    tokio::pin!(grace);
    while !(polls.is_empty() && revisits.is_empty()) {
        tokio::select! {
            Some(done) = polls.join_next_with_id(), if !polls.is_empty() => {
                settle(done, &mut running, &mut totals);
            }
            Some(done) = revisits.join_next(), if !revisits.is_empty() => {
                settle_revisits(done, &mut totals);
            }
            _ = &mut grace => {
                totals.abandoned = polls.len();
                tracing::warn!(abandoned = totals.abandoned, revisit_batches = revisits.len(),
                    "shutdown grace over; abandoning polls and revisits in flight");
                polls.shutdown().await;
                // An abandoned batch's articles are due again when its hold runs out.
                revisits.shutdown().await;
                break;
            }
        }
    }
    // The sources of abandoned polls are due again at once, for this node's successor
    // or another node, rather than after their leases run out.
    if let Err(error) = pipeline
        .store
        .release_leases(&node, pipeline.clock.now())
        .await
    {
        tracing::warn!(%error, %node, "cannot give up this node's leases; they run out by themselves");
    }
    totals
}

/// Extends this node's leases on the polls it still runs and records it as alive. A
/// failure is logged: the leases hold until they run out, and the next heartbeat tries
/// again.
async fn heartbeat(
    pipeline: &Pipeline,
    node: &str,
    lease: Duration,
    running: &Running,
    now: DateTime<Utc>,
) {
    let claim = NodeLease {
        node: node.to_string(),
        until: now + chrono::Duration::from_std(lease).unwrap_or_default(),
    };
    let held: Vec<SourceId> = running.values().copied().collect();
    match pipeline.store.renew_leases(&claim, held.clone(), now).await {
        Ok(renewed) if renewed < held.len() => tracing::warn!(
            %node,
            running = held.len(),
            renewed,
            "some leases ran out and were taken over by another node; those polls finish anyway"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, %node, "cannot renew this node's leases"),
    }
}

/// Claims at most `free_slots` due sources and starts a poll for each; returns the next
/// time anything may be claimed, or `None` when every slot is taken (a finished poll
/// wakes the loop then).
#[allow(clippy::too_many_arguments)]
async fn start_due(
    sources: &HashMap<String, Arc<SourceConfig>>,
    pipeline: &Pipeline,
    now: DateTime<Utc>,
    claim: &NodeLease,
    free_slots: usize,
    polls: &mut JoinSet<Result<PollSummary, PollError>>,
    running: &mut Running,
    shutdown: &Shutdown,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let claimed = pipeline
        .store
        .claim_due_sources(now, claim, free_slots)
        .await?;
    let slots_full = claimed.len() >= free_slots;
    for state in claimed {
        // A source the configuration in force does not have: a reload recorded it in the
        // archive and its new configuration has not reached this loop yet. It stays due,
        // for the next turn.
        let Some(source) = sources.get(&state.name) else {
            pipeline.store.release_lease(&claim.node, state.id).await?;
            continue;
        };
        let id = state.id;
        // This node's own poll of the source outlived its lease (the heartbeat could not
        // reach the archive) and the source was claimed again: the claim renewed the
        // lease, and the poll running finishes under it. A second poll would fetch the
        // source twice.
        if running.values().any(|held| *held == id) {
            continue;
        }
        let task = spawn_poll(polls, pipeline, Arc::clone(source), state, shutdown);
        running.insert(task, id);
    }
    if slots_full {
        return Ok(None);
    }
    // Every source claimable now was claimed, unless another node claimed it first: the
    // next one is due later, or after a lease another node holds runs out.
    let next = pipeline.store.next_poll_at().await?;
    // One still due now was claimed by another node between the two reads: look again
    // shortly rather than at once.
    Ok(next.map(|t| {
        if t > now {
            t
        } else {
            now + chrono::Duration::seconds(1)
        }
    }))
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
    shutdown: &Shutdown,
) -> tokio::task::Id {
    let pipeline = pipeline.clone();
    let shutdown = shutdown.clone();
    polls
        .spawn(async move { pipeline.poll_source(&source, &state, &shutdown).await })
        .id()
}

/// Counts a finished poll. Nothing here stops the daemon: a poll that hit an archive
/// error or a bug is logged, and its source, whose lease is no longer renewed, is taken
/// again once the lease runs out.
fn settle(
    done: Result<(tokio::task::Id, Result<PollSummary, PollError>), tokio::task::JoinError>,
    running: &mut Running,
    totals: &mut RunTotals,
) {
    let id = match &done {
        Ok((id, _)) => *id,
        Err(e) => e.id(),
    };
    running.remove(&id);
    match done {
        Ok((_, Ok(summary))) => totals.add(&summary),
        Ok((_, Err(PollError { source_name, error }))) => {
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
