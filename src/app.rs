//! The assembled program: owns the validated [`Config`], the [`Clock`], the [`Store`] and
//! the [`Fetcher`] (inside a [`Pipeline`]), and offers the operations the commands need.
//! Built once per command; tests build it with a virtual clock and a temporary archive.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::config::Config;
use crate::cpu_pool::CpuPool;
use crate::extract::PageRules;
use crate::fetch::Fetcher;
use crate::metrics::{self, Metrics};
use crate::pipeline::{Pipeline, PollError, PollSummary, RevisitSummary};
use crate::scheduler::{self, RunTotals};
use crate::service::Notifier;
use crate::shutdown::Shutdown;
use crate::store::{
    NodeInfo, NodeLease, NodeRegistration, SourceId, SourceSpec, SourceState, Store,
};

/// How much longer than the HTTP timeout a node's slot in a host's cluster-wide limit
/// stands when the node never gives it back: the request has surely ended by then.
const SLOT_TTL_MARGIN: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Poll(#[from] PollError),
    #[error("{0}")]
    Usage(String),
    /// What the command was asked for is not in the archive (exit 1, not a usage error).
    #[error("{0}")]
    NotFound(String),
}

/// The sources of a configuration, as the store records them.
fn source_specs(config: &Config) -> Vec<SourceSpec> {
    config
        .sources
        .iter()
        .map(|s| SourceSpec {
            name: s.name.clone(),
            url: s.url.to_string(),
            kind: s.kind,
            enabled: s.enabled,
        })
        .collect()
}

/// Who holds a source that a one-shot poll skipped, for its report: the node, when its
/// lease ends, and whether the node registry says the node still runs. A node that died
/// (or stopped on a full disk, unable to write) leaves its leases to run out, and a poll
/// before then skips its sources.
fn describe_holder(
    node: Option<&str>,
    until: Option<DateTime<Utc>>,
    nodes: &[NodeInfo],
    now: DateTime<Utc>,
    lease: std::time::Duration,
) -> String {
    let name = node.unwrap_or("?");
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let until = until.map_or_else(|| "?".to_string(), time);
    let held = format!("node {name:?} until {until}");
    match nodes.iter().find(|n| n.name == name) {
        Some(NodeInfo {
            stopped_at: Some(stopped),
            ..
        }) => format!(
            "{held}; that node stopped at {} without giving it back (the lease runs out by itself)",
            time(*stopped)
        ),
        Some(info) if !info.is_live(now, lease) => format!(
            "{held}; that node was last heard from at {} and may have stopped (the lease runs out by itself)",
            time(info.last_seen_at)
        ),
        _ => held,
    }
}

/// What making the archive's sources agree with `specs` would change, one entry each;
/// empty when the lists agree.
fn source_list_changes(specs: &[SourceSpec], archived: &[SourceState]) -> Vec<String> {
    let mut changes = Vec::new();
    for spec in specs {
        let Some(row) = archived.iter().find(|s| s.name == spec.name) else {
            changes.push(format!("adds {:?} ({})", spec.name, spec.url));
            continue;
        };
        if row.url != spec.url {
            changes.push(format!(
                "moves {:?} from {} to {}",
                spec.name, row.url, spec.url
            ));
        }
        if row.enabled != spec.enabled {
            let verb = if spec.enabled { "enables" } else { "disables" };
            changes.push(format!("{verb} {:?}", spec.name));
        }
        if let Some(kind) = spec.kind
            && kind.as_str() != row.kind
        {
            changes.push(format!(
                "makes {:?} a {} source (the archive has {})",
                spec.name,
                kind.as_str(),
                row.kind
            ));
        }
    }
    for row in archived.iter().filter(|s| s.enabled) {
        if !specs.iter().any(|spec| spec.name == row.name) {
            changes.push(format!("disables {:?}, which it does not list", row.name));
        }
    }
    changes
}

/// Several nodes share one list of sources, the archive's: a node whose `[[source]]` list
/// differs from it would disable or rewrite the sources the other nodes poll. So such a
/// node is refused while another node runs (one heard from within `[cluster] lease`),
/// unless `[cluster] owns_sources` says its list is the one the archive follows. Alone,
/// a node's list is the archive's, as ever.
async fn check_source_list(
    store: &Store,
    config: &Config,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), AppError> {
    if config.cluster.owns_sources {
        return Ok(());
    }
    let changes = source_list_changes(&source_specs(config), &store.sources().await?);
    if changes.is_empty() {
        return Ok(());
    }
    let others: Vec<String> = store
        .nodes()
        .await?
        .into_iter()
        .filter(|n| n.name != config.cluster.node && n.is_live(now, config.cluster.lease))
        .map(|n| format!("{:?}", n.name))
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 10;
    let mut listed = changes
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if changes.len() > SHOWN {
        listed.push_str(&format!("; and {} more", changes.len() - SHOWN));
    }
    Err(AppError::Usage(format!(
        "the [[source]] list in {} differs from the one in the archive {}, which other \
         nodes are running on ({}): it {listed}. Give every node the same [[source]] list, \
         or set [cluster] owns_sources = true on the one node whose list the archive follows",
        config.path.display(),
        store.location(),
        others.join(", "),
    )))
}

/// How each configured source's pages are read (time zone, selectors), by name:
/// revisits read the pages of its articles so.
pub fn source_page_rules(config: &Config) -> std::collections::HashMap<String, PageRules> {
    config
        .sources
        .iter()
        .map(|s| (s.name.clone(), s.page_rules()))
        .collect()
}

/// This process as the node registry records it.
fn node_registration(config: &Config, clock: &Clock) -> NodeRegistration {
    NodeRegistration {
        name: config.cluster.node.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: clock.now(),
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub pipeline: Pipeline,
}

impl App {
    /// Opens the archive named in the configuration and records its sources there.
    pub async fn open(config: Config, clock: Clock) -> Result<App, AppError> {
        let store = Store::open(&config.archive.database)
            .await?
            .with_story_rules(config.stories)
            .with_revisit_rules(config.revisit.clone());
        let mut fetcher = Fetcher::new(&config.http, clock.clone())
            .map_err(|e| AppError::Usage(e.to_string()))?;
        // Other nodes may crawl into a PostgreSQL archive: hosts' limits and robots.txt are
        // then kept in it for all of them.
        if let Some(cluster) = store.cluster_politeness(config.http.timeout + SLOT_TTL_MARGIN) {
            fetcher = fetcher.with_cluster(cluster);
        }
        fetcher.apply_source_limits(&config.sources);
        fetcher.apply_source_access(&config.sources);
        // Before anything is written: a node of another version must not share the archive.
        store
            .check_node_versions(&node_registration(&config, &clock), config.cluster.lease)
            .await?;
        check_source_list(&store, &config, clock.now()).await?;
        store
            .sync_sources(source_specs(&config), clock.now())
            .await?;
        let backoff = (config.run.backoff_base, config.run.backoff_max);
        let max_interval = config.run.max_interval;
        let cpu = CpuPool::start()
            .map_err(|e| AppError::Usage(format!("cannot start the page work threads: {e}")))?;
        Ok(App {
            config: Arc::new(config),
            pipeline: Pipeline {
                fetcher,
                store,
                clock,
                backoff,
                max_interval,
                metrics: Metrics::new(),
                cpu,
            },
        })
    }

    /// Enters this daemon in the archive's node registry, after checking again that no
    /// live node runs another newsvault version (nothing is written when one does).
    pub async fn register_node(&self) -> Result<(), AppError> {
        self.store()
            .register_node(
                &node_registration(&self.config, &self.pipeline.clock),
                self.config.cluster.lease,
            )
            .await?;
        Ok(())
    }

    pub fn store(&self) -> &Store {
        &self.pipeline.store
    }

    /// Polls the named sources (all enabled ones when `names` is empty) once, now,
    /// `run.concurrency` at a time, and returns one summary per source in name order.
    /// Each source is claimed with a lease first, as a daemon claims it (renewed while the
    /// polls run), so that no node sharing the archive polls it meanwhile; a source
    /// another node is polling (its lease has not run out) is not polled, and its summary
    /// says which node holds it.
    pub async fn poll(
        &self,
        names: &[String],
        shutdown: &Shutdown,
    ) -> Result<Vec<PollSummary>, AppError> {
        for name in names {
            if self.config.source(name).is_none() {
                return Err(AppError::Usage(format!(
                    "no source named {name:?} in {}",
                    self.config.path.display()
                )));
            }
        }
        let states: Vec<SourceState> = self
            .store()
            .sources()
            .await?
            .into_iter()
            .filter(|s| {
                if names.is_empty() {
                    s.enabled
                } else {
                    names.contains(&s.name)
                }
            })
            .collect();
        // A name of its own, so that the daemon named like this node, if one runs here,
        // neither renews nor gives up these leases.
        let holder = format!(
            "{} (newsvault poll, pid {})",
            self.config.cluster.node,
            std::process::id()
        );
        let now = self.pipeline.clock.now();
        let lease = NodeLease {
            node: holder.clone(),
            until: now + chrono::Duration::from_std(self.config.cluster.lease).unwrap_or_default(),
        };
        let wanted: Vec<SourceId> = states.iter().map(|s| s.id).collect();
        let claimed = self
            .store()
            .claim_sources(wanted.clone(), &lease, now)
            .await?;
        let mut summaries = Vec::new();
        // Read only when some source is held elsewhere, to say whether its holder still
        // runs; if they cannot be read, the report names the holder and its lease alone.
        let nodes = if claimed.len() < states.len() {
            self.store().nodes().await.unwrap_or_default()
        } else {
            Vec::new()
        };
        for state in &states {
            if claimed.iter().any(|c| c.id == state.id) {
                continue;
            }
            let held_by = describe_holder(
                state.lease_node.as_deref(),
                state.lease_until,
                &nodes,
                now,
                self.config.cluster.lease,
            );
            tracing::warn!(source = %state.name, holder = %held_by, "not polled: leased to another node");
            summaries.push(PollSummary {
                source: state.name.clone(),
                leased_to: Some(held_by),
                ..PollSummary::default()
            });
        }
        let renewals = self.renew_while_polling(lease, wanted.clone());
        let limit = Arc::new(Semaphore::new(self.config.run.concurrency));
        let mut polls = JoinSet::new();
        for state in claimed {
            let Some(source) = self.config.source(&state.name).cloned() else {
                continue;
            };
            let pipeline = self.pipeline.clone();
            let limit = Arc::clone(&limit);
            let shutdown = shutdown.clone();
            polls.spawn(async move {
                let _permit = limit.acquire_owned().await;
                pipeline.poll_source(&source, &state, &shutdown).await
            });
        }
        let mut first_error = None;
        while let Some(done) = polls.join_next().await {
            match done {
                Ok(Ok(summary)) => summaries.push(summary),
                Ok(Err(error)) => {
                    first_error.get_or_insert(error);
                }
                Err(e) => tracing::error!(error = %e, "a poll task panicked"),
            }
        }
        renewals.abort();
        // A finished poll gave up its lease; one stopped by an error or a panic did not.
        for id in wanted {
            if let Err(error) = self.store().release_lease(&holder, id).await {
                tracing::warn!(%error, "cannot give up the lease of a poll; it runs out by itself");
            }
        }
        if let Some(error) = first_error {
            return Err(error.into());
        }
        summaries.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(summaries)
    }

    /// Renews `lease` on `sources` every third of `[cluster] lease`, as a daemon's
    /// heartbeat does, until the returned task is aborted.
    fn renew_while_polling(
        &self,
        lease: NodeLease,
        sources: Vec<SourceId>,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.store().clone();
        let clock = self.pipeline.clock.clone();
        let length = self.config.cluster.lease;
        let every = chrono::Duration::from_std(length / 3).unwrap_or_default();
        tokio::spawn(async move {
            let mut next = clock.now() + every;
            loop {
                clock.sleep_until(next).await;
                let now = clock.now();
                let renewed = NodeLease {
                    node: lease.node.clone(),
                    until: now + chrono::Duration::from_std(length).unwrap_or_default(),
                };
                if let Err(error) = store.renew_leases(&renewed, sources.clone(), now).await {
                    tracing::warn!(%error, node = %lease.node, "cannot renew the leases of this poll");
                }
                next = now + every;
            }
        })
    }

    /// Revisits the archived articles that are due now (those first found by `source`
    /// only, when given), at most `limit`, `run.concurrency` at a time.
    pub async fn revisit(
        &self,
        source: Option<String>,
        limit: u32,
        shutdown: &Shutdown,
    ) -> Result<RevisitSummary, AppError> {
        if let Some(name) = &source
            && !self
                .store()
                .sources()
                .await?
                .iter()
                .any(|s| &s.name == name)
        {
            return Err(AppError::Usage(format!(
                "no source named {name:?} in the archive {}",
                self.store().path().display()
            )));
        }
        Ok(self
            .pipeline
            .revisit_due(
                self.pipeline.clock.now(),
                source,
                limit,
                self.config.run.concurrency,
                &source_page_rules(&self.config),
                shutdown,
            )
            .await?)
    }

    /// Reads the configuration file again for a running daemon. A file that does not
    /// validate is refused and the configuration in force stays. The archive cannot move
    /// while running, and HTTP and run settings take effect on the next start; sources are
    /// recorded in the store at once (new ones due now, removed ones disabled), and a source
    /// whose schedule changed is rescheduled by its new line.
    /// `current` is the configuration in force (the last one applied).
    pub async fn reload(
        &self,
        current: &Config,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Arc<Config>, AppError> {
        let mut new = Config::load(&current.path).map_err(|e| AppError::Usage(e.to_string()))?;
        if new.archive.database != current.archive.database {
            tracing::warn!(
                "archive.database changed; the daemon keeps {} until it is restarted",
                current.archive.database.display()
            );
        }
        if new.http != current.http || new.run != current.run || new.metrics != current.metrics {
            tracing::warn!(
                "[http], [run] and [metrics] changes take effect when newsvault is restarted"
            );
        }
        if new.cluster != current.cluster {
            tracing::warn!("[cluster] changes take effect when newsvault is restarted");
        }
        if new.revisit != current.revisit {
            tracing::warn!(
                "[revisit] and revisit_schedule changes take effect when newsvault is restarted"
            );
        }
        new.revisit = current.revisit.clone();
        new.archive = current.archive.clone();
        new.http = current.http.clone();
        new.run = current.run.clone();
        new.metrics = current.metrics.clone();
        new.cluster = current.cluster.clone();
        check_source_list(self.store(), &new, now).await?;
        let states = self.store().sync_sources(source_specs(&new), now).await?;
        // Per-source politeness applies at once, unlike [http].
        self.pipeline.fetcher.apply_source_limits(&new.sources);
        self.pipeline.fetcher.apply_source_access(&new.sources);
        for source in &new.sources {
            let old = current.source(&source.name);
            let rescheduled = old.is_some_and(|old| {
                old.schedule != source.schedule || old.timezone != source.timezone
            });
            if let (true, Some(state)) =
                (rescheduled, states.iter().find(|s| s.name == source.name))
            {
                self.store()
                    .set_next_poll(state.id, source.schedule.next_after(now, source.timezone))
                    .await?;
            }
        }
        Ok(Arc::new(new))
    }

    /// Starts serving `/metrics` and `/healthz` when `[metrics] listen` is set, until
    /// `shutdown`. Fails at once when the address cannot be bound, so a misconfigured
    /// daemon does not run blind. Returns the address bound (port 0 picks a free one).
    pub async fn serve_metrics(
        &self,
        shutdown: Shutdown,
    ) -> Result<Option<std::net::SocketAddr>, AppError> {
        let Some(address) = self.config.metrics.listen else {
            return Ok(None);
        };
        let listener = metrics::bind(address).await.map_err(AppError::Usage)?;
        let bound = listener.local_addr().unwrap_or(address);
        tokio::spawn(metrics::serve(
            listener,
            self.pipeline.metrics.clone(),
            shutdown,
        ));
        Ok(Some(bound))
    }

    /// The daemon: every source on its schedule until `shutdown`.
    pub async fn run(&self, shutdown: Shutdown) -> RunTotals {
        // No reloads: the sender is dropped at once, so the scheduler never hears of one.
        let (_, reloads) = tokio::sync::mpsc::channel(1);
        self.run_with_reloads(shutdown, reloads).await
    }

    /// The daemon, taking new configurations from `reloads` (see [`App::reload`]).
    pub async fn run_with_reloads(
        &self,
        shutdown: Shutdown,
        reloads: tokio::sync::mpsc::Receiver<Arc<Config>>,
    ) -> RunTotals {
        tracing::info!(
            sources = self.config.sources.iter().filter(|s| s.enabled).count(),
            database = %self.store().location(),
            "newsvault running"
        );
        let totals = scheduler::run(
            &self.config,
            &self.pipeline,
            Notifier::from_environment(),
            shutdown,
            reloads,
        )
        .await;
        tracing::info!(
            polls = totals.polls,
            new = totals.new,
            duplicates = totals.duplicates,
            failed_polls = totals.failed_polls,
            abandoned = totals.abandoned,
            "newsvault stopped"
        );
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skipped_source_names_its_holder_and_whether_that_node_still_runs() {
        let at = |minute: u32| {
            DateTime::parse_from_rfc3339(&format!("2026-11-28T10:{minute:02}:00Z"))
                .expect("a time")
                .with_timezone(&Utc)
        };
        let lease = std::time::Duration::from_secs(300);
        let node = |last_seen: u32, stopped: Option<u32>| NodeInfo {
            name: "crawler-2".into(),
            version: "1".into(),
            schema_version: 10,
            started_at: at(0),
            last_seen_at: at(last_seen),
            stopped_at: stopped.map(at),
        };
        let describe = |nodes: &[NodeInfo]| {
            describe_holder(Some("crawler-2"), Some(at(40)), nodes, at(30), lease)
        };
        let held = "node \"crawler-2\" until 2026-11-28T10:40:00Z";
        // Heard from within a lease, or not registered (a one-shot poll's lease): the
        // holder and the lease's end.
        assert_eq!(describe(&[node(28, None)]), held);
        assert_eq!(describe(&[]), held);
        // Silent for longer than a lease: it may be gone.
        assert_eq!(
            describe(&[node(20, None)]),
            format!(
                "{held}; that node was last heard from at 2026-11-28T10:20:00Z and may have \
                 stopped (the lease runs out by itself)"
            )
        );
        assert_eq!(
            describe(&[node(20, Some(21))]),
            format!(
                "{held}; that node stopped at 2026-11-28T10:21:00Z without giving it back (the \
                 lease runs out by itself)"
            )
        );
        assert_eq!(
            describe_holder(None, None, &[], at(30), lease),
            "node \"?\" until ?"
        );
    }
}
