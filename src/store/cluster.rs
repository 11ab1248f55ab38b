//! The archive's side of politeness across nodes: [`ClusterHosts`], the
//! [`ClusterPoliteness`] the fetcher consults when the archive is a PostgreSQL database that
//! several nodes may share (see the PostgreSQL backend's `hosts` statements). A SQLite
//! archive is one process, and has none.

use std::sync::Arc;
use std::time::Duration;

use super::{Backend, Store, postgres};
use crate::fetch::cluster::{
    BoxFuture, ClusterError, ClusterPoliteness, HostTurn, RobotsTurn, SharedRobots, SlotToken,
    TurnLimits,
};

/// Host limits and robots.txt kept in the archive's database for every node.
pub struct ClusterHosts {
    pub(super) db: Arc<postgres::Db>,
    /// How long a slot stands when its node never gives it back (it died mid-request).
    pub(super) slot_ttl: Duration,
}

impl std::fmt::Debug for ClusterHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHosts")
            .field("database", &self.db.location())
            .field("slot_ttl", &self.slot_ttl)
            .finish()
    }
}

impl Store {
    /// What the fetcher asks so that per-host limits and robots.txt hold for every node
    /// sharing this archive: `Some` for a PostgreSQL archive, `None` for a SQLite file (one
    /// process, whose gate alone suffices). A slot a node never gives back (it died with a
    /// request in flight) frees itself after `slot_ttl`; make it longer than any request
    /// may take (the HTTP timeout).
    pub fn cluster_politeness(&self, slot_ttl: Duration) -> Option<Arc<dyn ClusterPoliteness>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(Arc::new(ClusterHosts {
                db: Arc::clone(db),
                slot_ttl,
            })),
        }
    }
}

fn cluster_error(error: super::StoreError) -> ClusterError {
    ClusterError(error.to_string())
}

impl ClusterPoliteness for ClusterHosts {
    fn take_host_turn<'a>(
        &'a self,
        host: &'a str,
        limits: TurnLimits,
    ) -> BoxFuture<'a, Result<HostTurn, ClusterError>> {
        Box::pin(async move {
            self.db
                .take_host_turn(host, limits, self.slot_ttl)
                .await
                .map_err(cluster_error)
        })
    }

    fn release_host_slot(&self, token: SlotToken) -> BoxFuture<'_, Result<(), ClusterError>> {
        Box::pin(async move {
            self.db
                .release_host_slot(token)
                .await
                .map_err(cluster_error)
        })
    }

    fn defer_host<'a>(
        &'a self,
        host: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        Box::pin(async move { self.db.defer_host(host, wait).await.map_err(cluster_error) })
    }

    fn robots_turn<'a>(
        &'a self,
        origin: &'a str,
        fetch_within: Duration,
    ) -> BoxFuture<'a, Result<RobotsTurn, ClusterError>> {
        Box::pin(async move {
            self.db
                .robots_turn(origin, fetch_within)
                .await
                .map_err(cluster_error)
        })
    }

    fn share_robots<'a>(
        &'a self,
        origin: &'a str,
        robots: &'a SharedRobots,
        fresh_for: Duration,
    ) -> BoxFuture<'a, Result<(), ClusterError>> {
        Box::pin(async move {
            self.db
                .share_robots(origin, robots, fresh_for)
                .await
                .map_err(cluster_error)
        })
    }
}
