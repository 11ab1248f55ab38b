//! What the per-host [`gate`](super::gate) and the robots.txt cache ask of the other nodes
//! when several processes crawl into one archive: the [`ClusterPoliteness`] trait. The
//! gate stays the only owner of politeness; it asks this before every request start
//! ([`ClusterPoliteness::take_host_turn`]) and tells it when the request ended and when a
//! host said Retry-After, so that one host's limits (requests in flight, spacing,
//! Retry-After) hold for the whole cluster and not per node. The robots.txt cache asks it
//! for a robots.txt another node already fetched, so that the cluster fetches each once
//! per expiry. The store implements it for PostgreSQL; a SQLite archive is one process and
//! runs without it. Waiting is always the caller's: these calls answer at once.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A future the trait's methods return (they are called through `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A slot taken in a host's cluster-wide in-flight limit; given back with
/// [`ClusterPoliteness::release_host_slot`], or freed by itself after it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotToken(pub i64);

/// The limits a request start is held to, as this node knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnLimits {
    /// Requests in flight to the host across the cluster.
    pub in_flight: usize,
    /// Least time between request starts to the host across the cluster (Crawl-delay
    /// included).
    pub delay: Duration,
}

/// The answer to "may this node start a request to the host now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostTurn {
    /// Yes; the request holds this slot until released.
    Granted(SlotToken),
    /// Not before this much time has passed (spacing or Retry-After, by the cluster's clock).
    NotBefore(Duration),
    /// Every slot of the host is taken by requests in flight; ask again shortly.
    Full,
}

/// What a robots.txt fetch found, as shared between nodes (each node parses the rules for
/// its own User-Agent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedRobots {
    /// A 2xx body: these rules.
    Rules(Vec<u8>),
    /// No rules apply (a 4xx, or a redirect chain that reaches no file).
    AllowAll,
    /// The file could not be read; everything is disallowed until it expires.
    Unavailable(String),
}

/// The cluster's answer for one origin's robots.txt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotsTurn {
    /// Fetched by some node and still fresh for this long.
    Fresh {
        robots: SharedRobots,
        fresh_for: Duration,
    },
    /// Absent or stale, and now this node's to fetch (others wait for it).
    YoursToFetch,
    /// Another node is fetching it right now; ask again shortly.
    BeingFetched,
}

/// Why the cluster could not be asked: the message names the database and the cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(pub String);

/// Host limits and robots.txt shared by every node of one archive.
pub trait ClusterPoliteness: Send + Sync + Debug {
    /// Takes a slot of `host`'s (a "host:port" key) in-flight limit if one is free and the
    /// host's next allowed start has come; the next allowed start then moves `delay` on.
    /// One round trip.
    fn take_host_turn<'a>(
        &'a self,
        host: &'a str,
        limits: TurnLimits,
    ) -> BoxFuture<'a, Result<HostTurn, ClusterError>>;

    /// Gives back a slot: its request has ended.
    fn release_host_slot(&self, token: SlotToken) -> BoxFuture<'_, Result<(), ClusterError>>;

    /// Keeps every node away from `host` for `wait` from now (Retry-After).
    fn defer_host<'a>(
        &'a self,
        host: &'a str,
        wait: Duration,
    ) -> BoxFuture<'a, Result<(), ClusterError>>;

    /// The robots.txt of `origin` ("scheme://host:port") if some node has it fresh, else
    /// whether this node is to fetch it (for at most `fetch_within`, after which another
    /// node may take over).
    fn robots_turn<'a>(
        &'a self,
        origin: &'a str,
        fetch_within: Duration,
    ) -> BoxFuture<'a, Result<RobotsTurn, ClusterError>>;

    /// Shares the robots.txt this node fetched for `origin`, fresh for `fresh_for`.
    fn share_robots<'a>(
        &'a self,
        origin: &'a str,
        robots: &'a SharedRobots,
        fresh_for: Duration,
    ) -> BoxFuture<'a, Result<(), ClusterError>>;
}
