//! The assembled program: owns the validated [`Config`], the [`Clock`], the [`Store`] and
//! the [`Fetcher`] (inside a [`Pipeline`]), and offers the operations the commands need.
//! Built once per command; tests build it with a virtual clock and a temporary archive.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::config::Config;
use crate::fetch::Fetcher;
use crate::pipeline::{Pipeline, PollError, PollSummary};
use crate::scheduler::{self, RunTotals};
use crate::service::Notifier;
use crate::shutdown::Shutdown;
use crate::store::{SourceSpec, SourceState, Store};

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

#[derive(Debug, Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub pipeline: Pipeline,
}

impl App {
    /// Opens the archive named in the configuration and records its sources there.
    pub async fn open(config: Config, clock: Clock) -> Result<App, AppError> {
        let store = Store::open(&config.archive.database).await?;
        let fetcher = Fetcher::new(&config.http, clock.clone())
            .map_err(|e| AppError::Usage(e.to_string()))?;
        let specs = config
            .sources
            .iter()
            .map(|s| SourceSpec {
                name: s.name.clone(),
                url: s.url.to_string(),
                kind: s.kind,
                enabled: s.enabled,
            })
            .collect();
        store.sync_sources(specs, clock.now()).await?;
        Ok(App {
            config: Arc::new(config.clone()),
            pipeline: Pipeline {
                fetcher,
                store,
                clock,
                backoff: (config.run.backoff_base, config.run.backoff_max),
            },
        })
    }

    pub fn store(&self) -> &Store {
        &self.pipeline.store
    }

    /// Polls the named sources (all enabled ones when `names` is empty) once, now,
    /// `run.concurrency` at a time, and returns one summary per source in name order.
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
        let limit = Arc::new(Semaphore::new(self.config.run.concurrency));
        let mut polls = JoinSet::new();
        for state in states {
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
        let mut summaries = Vec::new();
        while let Some(done) = polls.join_next().await {
            match done {
                Ok(result) => summaries.push(result?),
                Err(e) => tracing::error!(error = %e, "a poll task panicked"),
            }
        }
        summaries.sort_by(|a, b| a.source.cmp(&b.source));
        Ok(summaries)
    }

    /// The daemon: every source on its schedule until `shutdown`.
    pub async fn run(&self, shutdown: Shutdown) -> RunTotals {
        tracing::info!(
            sources = self.config.sources.iter().filter(|s| s.enabled).count(),
            database = %self.store().path().display(),
            "newsvault running"
        );
        let totals = scheduler::run(
            &self.config,
            &self.pipeline,
            Notifier::from_environment(),
            shutdown,
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
