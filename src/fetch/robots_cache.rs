//! robots.txt per origin (scheme, host, port), fetched through the gate when first needed
//! and again once a day, and consulted before every request and every redirect hop. What a
//! fetch outcome means follows RFC 9309: a 2xx body is parsed (after following redirects,
//! each hop through the gate), a 4xx or a broken redirect chain means no rules, and a 5xx
//! or a network failure means "disallow everything" until a retry a few minutes later
//! succeeds.
//!
//! With a [`ClusterPoliteness`] (several nodes on one archive) the outcome of a fetch is
//! shared: a node missing an origin's file takes it from the cluster when another node
//! fetched it and it is still fresh there, else claims the fetch (others wait for it) and
//! shares what it found, so the cluster fetches each robots.txt once per expiry, with the
//! same meaning and expiry as above. A node that cannot reach the cluster fetches the file
//! itself, as a lone node would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::cluster::{ClusterPoliteness, RobotsTurn, SharedRobots};
use super::{FetchError, Fetched, Fetcher, Purpose, Validators, host_key};
use crate::robots::Robots;

/// How long a readable robots.txt (or a 4xx) is trusted.
const FRESH_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long an unreadable robots.txt (5xx, timeout) blocks the host before a retry.
const RETRY_UNAVAILABLE_AFTER: Duration = Duration::from_secs(5 * 60);
/// How long a node's claim to fetch an origin's robots.txt for the cluster stands: long
/// enough for the request and its redirects to pass the gate (which may wait minutes for
/// a busy host), after which another node takes over from a node that died meanwhile.
const CLUSTER_FETCH_WITHIN: Duration = Duration::from_secs(5 * 60);
/// First wait before asking again while another node fetches the file; doubles up to
/// [`CLUSTER_POLL_MAX`].
const CLUSTER_POLL_FIRST: Duration = Duration::from_millis(50);
const CLUSTER_POLL_MAX: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) robots: Arc<Robots>,
    /// Why the file could not be read, while `robots` is a stand-in disallow.
    pub(super) unavailable: Option<String>,
    expires: Instant,
}

/// One origin's entry, behind an async lock held while its robots.txt is being fetched.
type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// The cache. One async lock per origin, so concurrent requests to a new host wait for
/// one robots.txt fetch instead of sending several.
#[derive(Debug, Clone, Default)]
pub(super) struct RobotsCache {
    origins: Arc<Mutex<HashMap<String, Slot>>>,
    /// The other nodes, sharing what they fetched.
    pub(super) cluster: Option<Arc<dyn ClusterPoliteness>>,
}

fn origin(url: &Url) -> String {
    format!("{}://{}", url.scheme(), host_key(url))
}

impl RobotsCache {
    /// The rules for `url`'s origin, loaded (through the gate) if absent or stale, and the
    /// robots.txt request made for that, if any.
    pub(super) async fn robots(&self, fetcher: &Fetcher, url: &Url) -> (Entry, Option<Fetched>) {
        let slot = {
            let mut origins = self.origins.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(origins.entry(origin(url)).or_default())
        };
        let mut entry = slot.lock().await;
        let mut fetched = None;
        let current = match entry.as_ref() {
            Some(e) if e.expires > Instant::now() => e.clone(),
            _ => {
                let (fresh, request) = self.refresh(fetcher, url).await;
                fetcher
                    .gate
                    .set_crawl_delay(&host_key(url), fresh.robots.crawl_delay());
                *entry = Some(fresh.clone());
                fetched = request;
                fresh
            }
        };
        (current, fetched)
    }

    /// Whether `url` may be fetched, and the robots.txt request made to decide it, if any.
    pub(super) async fn check(
        &self,
        fetcher: &Fetcher,
        url: &Url,
    ) -> (Result<(), FetchError>, Option<Fetched>) {
        let (entry, fetched) = self.robots(fetcher, url).await;
        let file = format!("{}/robots.txt", origin(url));
        let verdict = match entry.unavailable {
            Some(why) => Err(FetchError::RobotsUnavailable(file, why)),
            None if !entry.robots.is_allowed(url) => Err(FetchError::DisallowedByRobots(file)),
            None => Ok(()),
        };
        (verdict, fetched)
    }

    /// A fresh entry for `url`'s origin: from the cluster when another node has it, else
    /// fetched here (and shared). The request, when this node made one.
    async fn refresh(&self, fetcher: &Fetcher, url: &Url) -> (Entry, Option<Fetched>) {
        let Some(cluster) = &self.cluster else {
            let (found, fresh_for, fetched) = self.load(fetcher, url).await;
            return (entry(found, fresh_for, &fetcher.user_agent), Some(fetched));
        };
        let origin = origin(url);
        let mut poll = CLUSTER_POLL_FIRST;
        loop {
            match cluster.robots_turn(&origin, CLUSTER_FETCH_WITHIN).await {
                Ok(RobotsTurn::Fresh { robots, fresh_for }) => {
                    return (entry(robots, fresh_for, &fetcher.user_agent), None);
                }
                Ok(RobotsTurn::YoursToFetch) => break,
                // Ends: the claim expires after CLUSTER_FETCH_WITHIN, and then it is ours.
                Ok(RobotsTurn::BeingFetched) => {
                    tokio::time::sleep(poll).await;
                    poll = (poll * 2).min(CLUSTER_POLL_MAX);
                }
                Err(e) => {
                    tracing::warn!(origin, error = %e, "cannot ask the cluster for robots.txt; fetching it here");
                    let (found, fresh_for, fetched) = self.load(fetcher, url).await;
                    return (entry(found, fresh_for, &fetcher.user_agent), Some(fetched));
                }
            }
        }
        let (found, fresh_for, fetched) = self.load(fetcher, url).await;
        if let Err(e) = cluster.share_robots(&origin, &found, fresh_for).await {
            tracing::warn!(origin, error = %e, "cannot share robots.txt with the cluster");
        }
        (entry(found, fresh_for, &fetcher.user_agent), Some(fetched))
    }

    /// Fetches the robots.txt of `url`'s origin: what it says and for how long that holds.
    async fn load(&self, fetcher: &Fetcher, url: &Url) -> (SharedRobots, Duration, Fetched) {
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        // Boxed: a redirect hop of this request may itself need another host's robots.txt.
        let fetched = Box::pin(fetcher.get_following(
            &robots_url,
            Purpose::Robots,
            &Validators::default(),
            false,
        ))
        .await;
        let (found, fresh_for) = match &fetched.result {
            Ok(response) if response.is_success() => {
                (SharedRobots::Rules(response.body.clone()), FRESH_FOR)
            }
            Ok(response) if (400..500).contains(&response.status) => {
                (SharedRobots::AllowAll, FRESH_FOR)
            }
            Ok(response) => (
                SharedRobots::Unavailable(response.status_error()),
                RETRY_UNAVAILABLE_AFTER,
            ),
            // Too many redirects: RFC 9309 2.3.1.2 allows treating it as unavailable
            // (4xx-like); we do, as browsers would reach no file there. A loop or a
            // redirect to something that is no web URL reaches no file either.
            Err(
                FetchError::TooManyRedirects { .. }
                | FetchError::RedirectLoop(_)
                | FetchError::BadRedirect { .. },
            ) => (SharedRobots::AllowAll, FRESH_FOR),
            Err(error) => (
                SharedRobots::Unavailable(error.to_string()),
                RETRY_UNAVAILABLE_AFTER,
            ),
        };
        (found, fresh_for, fetched)
    }
}

/// The cache entry for what a fetch found, read for `user_agent`, expiring in `fresh_for`.
fn entry(found: SharedRobots, fresh_for: Duration, user_agent: &str) -> Entry {
    let expires = Instant::now() + fresh_for;
    match found {
        SharedRobots::Rules(body) => Entry {
            robots: Arc::new(Robots::parse(&body, user_agent)),
            unavailable: None,
            expires,
        },
        SharedRobots::AllowAll => Entry {
            robots: Arc::new(Robots::allow_all()),
            unavailable: None,
            expires,
        },
        SharedRobots::Unavailable(why) => Entry {
            robots: Arc::new(Robots::disallow_all()),
            unavailable: Some(why),
            expires,
        },
    }
}
