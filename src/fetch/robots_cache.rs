//! robots.txt per origin (scheme, host, port), fetched through the gate when first needed
//! and again once a day, and consulted before every request and every redirect hop. What a
//! fetch outcome means follows RFC 9309: a 2xx body is parsed (after following redirects,
//! each hop through the gate), a 4xx or a broken redirect chain means no rules, and a 5xx
//! or a network failure means "disallow everything" until a retry a few minutes later
//! succeeds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::{FetchError, Fetched, Fetcher, Purpose, Validators, host_key};
use crate::robots::Robots;

/// How long a readable robots.txt (or a 4xx) is trusted.
const FRESH_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long an unreadable robots.txt (5xx, timeout) blocks the host before a retry.
const RETRY_UNAVAILABLE_AFTER: Duration = Duration::from_secs(5 * 60);

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
                let (fresh, request) = self.load(fetcher, url).await;
                fetcher
                    .gate
                    .set_crawl_delay(&host_key(url), fresh.robots.crawl_delay());
                *entry = Some(fresh.clone());
                fetched = Some(request);
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

    async fn load(&self, fetcher: &Fetcher, url: &Url) -> (Entry, Fetched) {
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
        let now = Instant::now();
        let entry = match &fetched.result {
            Ok(response) if response.is_success() => Entry {
                robots: Arc::new(Robots::parse(&response.body, &fetcher.user_agent)),
                unavailable: None,
                expires: now + FRESH_FOR,
            },
            Ok(response) if (400..500).contains(&response.status) => Entry {
                robots: Arc::new(Robots::allow_all()),
                unavailable: None,
                expires: now + FRESH_FOR,
            },
            Ok(response) => Entry {
                robots: Arc::new(Robots::disallow_all()),
                unavailable: Some(response.status_error()),
                expires: now + RETRY_UNAVAILABLE_AFTER,
            },
            // Too many redirects: RFC 9309 2.3.1.2 allows treating it as unavailable
            // (4xx-like); we do, as browsers would reach no file there. A loop or a
            // redirect to something that is no web URL reaches no file either.
            Err(
                FetchError::TooManyRedirects { .. }
                | FetchError::RedirectLoop(_)
                | FetchError::BadRedirect { .. },
            ) => Entry {
                robots: Arc::new(Robots::allow_all()),
                unavailable: None,
                expires: now + FRESH_FOR,
            },
            Err(error) => Entry {
                robots: Arc::new(Robots::disallow_all()),
                unavailable: Some(error.to_string()),
                expires: now + RETRY_UNAVAILABLE_AFTER,
            },
        };
        (entry, fetched)
    }
}
