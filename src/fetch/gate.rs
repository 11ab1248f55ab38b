//! The per-host gate every request passes, whichever source or command sends it: at most
//! `host_in_flight` requests to one host at a time, request starts spaced by at least the
//! host's delay (the configured minimum or the site's Crawl-delay, whichever is larger), a
//! host that answered 429/503 with Retry-After left alone until then, and a global cap on
//! requests in flight. A host may have limits of its own ([`Gate::set_host_limits`], from
//! the sources' `per_host_requests` / `per_host_delay`); changing them takes effect at once
//! without ever letting more requests in flight than the new limit. Time is tokio's, so
//! tests run it on paused time.
//!
//! When several nodes crawl into one archive, the gate also asks the cluster
//! ([`ClusterPoliteness`], the database's clock and rows) before each request start, once
//! this node's own limits allow it: the host's limits then hold for all nodes together.
//! The node waits here, on its own clock, for as long as the cluster says (spacing,
//! Retry-After) or polls while every slot of the host is taken elsewhere, and gives its
//! slot back when the request ends ([`GatePermit::release`]). A host that said Retry-After
//! to one node keeps every node away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::cluster::{ClusterPoliteness, HostTurn, SlotToken, TurnLimits};

/// First wait before asking the cluster again while all of a host's slots are taken by
/// other nodes; it doubles up to [`FULL_POLL_MAX`]. Slots are given back as requests end,
/// which nobody announces, so a waiting node asks again: short first, so a released slot is
/// taken soon, then less often, so a long request does not cost many round trips.
const FULL_POLL_FIRST: Duration = Duration::from_millis(25);
const FULL_POLL_MAX: Duration = Duration::from_millis(400);
/// Wait before asking again when the cluster could not be asked at all (database down).
const CLUSTER_ERROR_RETRY: Duration = Duration::from_secs(1);

/// The gate's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateLimits {
    pub host_in_flight: usize,
    pub host_delay: Duration,
    pub global_in_flight: usize,
    /// A request that would have to wait longer than this for its host is refused with
    /// [`Deferred`] instead, so a poll does not sit for hours behind a Retry-After.
    pub max_wait: Duration,
}

impl Default for GateLimits {
    fn default() -> Self {
        GateLimits {
            host_in_flight: 1,
            host_delay: Duration::from_secs(1),
            global_in_flight: 32,
            max_wait: Duration::from_secs(120),
        }
    }
}

/// One host's own limits, replacing the global `host_in_flight` and `host_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    pub in_flight: usize,
    pub delay: Duration,
}

/// The host cannot be asked before `until` (it said so, or its queue is that long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("host busy or rate-limited for another {:.0?}", wait)]
pub struct Deferred {
    pub until: Instant,
    pub wait: Duration,
}

#[derive(Debug)]
struct HostState {
    in_flight: Arc<Semaphore>,
    /// The number of slots `in_flight` stands for (its permits, in use or not, less `owed`).
    slots: usize,
    /// Permits to retire as they come back: the host's limit was lowered while they were
    /// in use. Shared with the permits, which settle the debt when dropped.
    owed: Arc<AtomicUsize>,
    /// Least time between request starts, before Crawl-delay.
    delay: Duration,
    /// Earliest start for the next request.
    next_start: Instant,
    /// Crawl-delay from the host's robots.txt, when larger than the configured delay.
    crawl_delay: Option<Duration>,
}

impl HostState {
    /// Gives the host `target.in_flight` slots and `target.delay`. Fewer slots retire free
    /// permits at once and the rest as they come back, so requests in flight are never more
    /// than the new limit once those have finished, and never more than the old one before.
    fn apply(&mut self, target: HostLimits) {
        let wanted = target.in_flight.max(1);
        if wanted > self.slots {
            let more = wanted - self.slots;
            // A debt still open is cancelled first: those permits simply stay. (The closure
            // may run more than once under contention; it only reads `more`.)
            let mut cancelled = 0;
            let _ = self
                .owed
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |owed| {
                    cancelled = owed.min(more);
                    Some(owed - cancelled)
                });
            self.in_flight.add_permits(more - cancelled);
        } else if wanted < self.slots {
            let fewer = self.slots - wanted;
            let retired = self.in_flight.forget_permits(fewer);
            self.owed.fetch_add(fewer - retired, Ordering::SeqCst);
        }
        self.slots = wanted;
        self.delay = target.delay;
    }
}

#[derive(Debug, Default)]
struct Hosts {
    states: HashMap<String, HostState>,
    /// Hosts with limits of their own; the others take the global ones.
    limits: HashMap<String, HostLimits>,
}

/// Shared by all requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct Gate {
    limits: GateLimits,
    hosts: Arc<Mutex<Hosts>>,
    global: Arc<Semaphore>,
    /// The other nodes crawling into the same archive, when there may be any.
    cluster: Option<Arc<dyn ClusterPoliteness>>,
}

/// Held while a request is in flight; dropping it frees the host's and the global slot.
/// [`GatePermit::release`] also gives a cluster slot back before returning; a permit merely
/// dropped gives it back in the background.
#[derive(Debug)]
pub struct GatePermit {
    cluster: Option<ClusterSlot>,
    _host: HostSlot,
    _global: OwnedSemaphorePermit,
}

impl GatePermit {
    /// Ends the request's turn: the cluster slot (if any) is given back before the node's
    /// own slots, so that this node's next request to the host finds it free.
    pub async fn release(mut self) {
        if let Some(mut slot) = self.cluster.take()
            && let Some(token) = slot.token.take()
            && let Err(e) = slot.cluster.release_host_slot(token).await
        {
            tracing::warn!(error = %e, "cannot give back a host slot; it frees itself when it expires");
        }
    }
}

/// A slot in a host's cluster-wide limit, held by a request in flight.
#[derive(Debug)]
struct ClusterSlot {
    cluster: Arc<dyn ClusterPoliteness>,
    /// `None` once given back.
    token: Option<SlotToken>,
}

impl Drop for ClusterSlot {
    fn drop(&mut self) {
        // A request cancelled mid-flight: give the slot back without waiting for it. Without
        // a runtime (shutting down) the slot frees itself when it expires.
        if let (Some(token), Ok(runtime)) =
            (self.token.take(), tokio::runtime::Handle::try_current())
        {
            let cluster = Arc::clone(&self.cluster);
            runtime.spawn(async move {
                if let Err(e) = cluster.release_host_slot(token).await {
                    tracing::warn!(error = %e, "cannot give back a host slot; it frees itself when it expires");
                }
            });
        }
    }
}

/// One of a host's slots, from the moment it is taken.
#[derive(Debug)]
struct HostSlot {
    permit: Option<OwnedSemaphorePermit>,
    owed: Arc<AtomicUsize>,
}

impl Drop for HostSlot {
    fn drop(&mut self) {
        // A host whose limit was lowered retires this slot instead of handing it on.
        if let Some(permit) = self.permit.take()
            && self
                .owed
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            permit.forget();
        }
    }
}

impl Gate {
    pub fn new(limits: GateLimits) -> Gate {
        Gate {
            global: Arc::new(Semaphore::new(limits.global_in_flight.max(1))),
            limits,
            hosts: Arc::default(),
            cluster: None,
        }
    }

    /// This gate, also holding every request start to the limits the cluster keeps for
    /// all nodes (see the module docs).
    pub fn with_cluster(mut self, cluster: Arc<dyn ClusterPoliteness>) -> Gate {
        self.cluster = Some(cluster);
        self
    }

    fn global_host_limits(&self) -> HostLimits {
        HostLimits {
            in_flight: self.limits.host_in_flight,
            delay: self.limits.host_delay,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Hosts> {
        // The lock guards plain bookkeeping and is never held across an await, so a
        // poisoned lock can only mean a panic in that bookkeeping: its state is still sound.
        self.hosts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_host<T>(&self, host: &str, f: impl FnOnce(&mut HostState) -> T) -> T {
        let mut hosts = self.lock();
        let Hosts { states, limits } = &mut *hosts;
        let state = states.entry(host.to_string()).or_insert_with(|| {
            let limits = limits
                .get(host)
                .copied()
                .unwrap_or_else(|| self.global_host_limits());
            HostState {
                in_flight: Arc::new(Semaphore::new(limits.in_flight.max(1))),
                slots: limits.in_flight.max(1),
                owed: Arc::default(),
                delay: limits.delay,
                next_start: Instant::now(),
                crawl_delay: None,
            }
        });
        f(state)
    }

    /// Gives these hosts ("host:port" keys) limits of their own; every other host goes back
    /// to the global ones. Requests already waiting or in flight are held to the new limits.
    pub fn set_host_limits(&self, limits: HashMap<String, HostLimits>) {
        let mut hosts = self.lock();
        let global = self.global_host_limits();
        for (host, state) in hosts.states.iter_mut() {
            state.apply(limits.get(host).copied().unwrap_or(global));
        }
        hosts.limits = limits;
    }

    /// Waits for a turn to send one request to `host` (a "host:port" key).
    pub async fn acquire(&self, host: &str) -> Result<GatePermit, Deferred> {
        let (slots, owed) =
            self.with_host(host, |s| (Arc::clone(&s.in_flight), Arc::clone(&s.owed)));
        // Refuse at once when the host is blocked for longer than we may wait.
        let now = Instant::now();
        let blocked = self.with_host(host, |s| s.next_start);
        if blocked > now + self.limits.max_wait {
            return Err(Deferred {
                until: blocked,
                wait: blocked - now,
            });
        }
        // The semaphore is never closed, so acquiring can only wait.
        let host_slot = match slots.acquire_owned().await {
            Ok(permit) => HostSlot {
                permit: Some(permit),
                owed,
            },
            Err(_) => unreachable!("host semaphores are never closed"),
        };
        // Reserve a start time now that this request holds a slot: reservations are made
        // one at a time, so starts are spaced by the delay however many wait.
        let now = Instant::now();
        let (start, turn_limits) = self.with_host(host, |s| {
            let delay = s.crawl_delay.map_or(s.delay, |d| d.max(s.delay));
            let start = s.next_start.max(now);
            if start <= now + self.limits.max_wait {
                s.next_start = start + delay;
            }
            let limits = TurnLimits {
                in_flight: s.slots,
                delay,
            };
            (start, limits)
        });
        if start > now + self.limits.max_wait {
            return Err(Deferred {
                until: start,
                wait: start - now,
            });
        }
        tokio::time::sleep_until(start).await;
        let Some(cluster) = &self.cluster else {
            return Ok(GatePermit {
                cluster: None,
                _host: host_slot,
                _global: self.global_permit().await,
            });
        };
        // This node may start; now the cluster. The global permit is taken first so that
        // nothing lies between the cluster's grant and the request's start (a start granted
        // and then held back here would shorten the spacing the next node sees), and given
        // up while waiting so that other hosts' requests are not held back meanwhile.
        let give_up_at = now + self.limits.max_wait;
        let mut full_poll = FULL_POLL_FIRST;
        loop {
            let global = self.global_permit().await;
            let wait = match cluster.take_host_turn(host, turn_limits).await {
                Ok(HostTurn::Granted(token)) => {
                    return Ok(GatePermit {
                        cluster: Some(ClusterSlot {
                            cluster: Arc::clone(cluster),
                            token: Some(token),
                        }),
                        _host: host_slot,
                        _global: global,
                    });
                }
                Ok(HostTurn::NotBefore(wait)) => wait,
                Ok(HostTurn::Full) => {
                    let wait = full_poll;
                    full_poll = (full_poll * 2).min(FULL_POLL_MAX);
                    wait
                }
                Err(e) => {
                    tracing::warn!(host, error = %e, "cannot ask the cluster for a turn; waiting");
                    CLUSTER_ERROR_RETRY
                }
            };
            drop(global);
            let now = Instant::now();
            let until = now + wait;
            if until > give_up_at {
                // Later requests from this node need not ask the cluster to hear the same.
                self.with_host(host, |s| s.next_start = s.next_start.max(until));
                return Err(Deferred { until, wait });
            }
            tokio::time::sleep_until(until).await;
        }
    }

    async fn global_permit(&self) -> OwnedSemaphorePermit {
        match Arc::clone(&self.global).acquire_owned().await {
            Ok(permit) => permit,
            Err(_) => unreachable!("the global semaphore is never closed"),
        }
    }

    /// Keeps every request to `host` waiting until `until` (Retry-After).
    pub fn defer_host(&self, host: &str, until: Instant) {
        self.with_host(host, |s| s.next_start = s.next_start.max(until));
    }

    /// [`Gate::defer_host`] on this node and, when there is a cluster, on every node: the
    /// host said to stay away for `wait` from now.
    pub async fn defer_host_everywhere(&self, host: &str, wait: Duration) {
        self.defer_host(host, Instant::now() + wait);
        if let Some(cluster) = &self.cluster
            && let Err(e) = cluster.defer_host(host, wait).await
        {
            tracing::warn!(host, error = %e, "cannot tell the other nodes to wait for the host");
        }
    }

    /// Records the host's Crawl-delay; it applies when larger than the configured delay.
    pub fn set_crawl_delay(&self, host: &str, delay: Option<Duration>) {
        self.with_host(host, |s| s.crawl_delay = delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::cluster::{BoxFuture, ClusterError, RobotsTurn, SharedRobots};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn gate(host_in_flight: usize, delay_secs: u64) -> Gate {
        Gate::new(GateLimits {
            host_in_flight,
            host_delay: Duration::from_secs(delay_secs),
            global_in_flight: 100,
            max_wait: Duration::from_secs(600),
        })
    }

    /// Runs `n` requests of `work` each through the gate; returns their start offsets and
    /// the most that were ever in flight at once.
    async fn run(gate: &Gate, host: &str, n: usize, work: Duration) -> (Vec<Duration>, usize) {
        let origin = Instant::now();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..n {
            let (gate, host) = (gate.clone(), host.to_string());
            let (in_flight, peak) = (Arc::clone(&in_flight), Arc::clone(&peak));
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire(&host).await.expect("not deferred");
                let started = Instant::now() - origin;
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(work).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                started
            }));
        }
        let mut starts = Vec::new();
        for task in tasks {
            starts.push(task.await.expect("task"));
        }
        starts.sort();
        (starts, peak.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn one_host_gets_one_request_at_a_time_spaced_by_the_delay() {
        let gate = gate(1, 2);
        let (starts, peak) = run(&gate, "a.example:443", 5, Duration::from_millis(500)).await;
        assert_eq!(peak, 1);
        for pair in starts.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_secs(2), "{starts:?}");
        }
        assert_eq!(starts[4], Duration::from_secs(8));
    }

    #[tokio::test(start_paused = true)]
    async fn slow_requests_hold_the_host_slot() {
        let gate = gate(1, 1);
        let (starts, peak) = run(&gate, "a.example:443", 3, Duration::from_secs(5)).await;
        assert_eq!(peak, 1);
        assert_eq!(
            starts,
            vec![
                Duration::ZERO,
                Duration::from_secs(5),
                Duration::from_secs(10)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn hosts_do_not_wait_for_each_other_and_concurrency_is_capped() {
        let gate = gate(2, 1);
        let (a, b) = tokio::join!(
            run(&gate, "a.example:443", 4, Duration::from_secs(10)),
            run(&gate, "b.example:443", 4, Duration::from_secs(10)),
        );
        assert_eq!((a.1, b.1), (2, 2));
        assert_eq!(a.0[0], Duration::ZERO);
        assert_eq!(b.0[0], Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn crawl_delay_raises_the_spacing_never_lowers_it() {
        let gate = gate(1, 2);
        gate.set_crawl_delay("a.example:443", Some(Duration::from_secs(5)));
        gate.set_crawl_delay("b.example:443", Some(Duration::from_millis(100)));
        let (a, _) = run(&gate, "a.example:443", 3, Duration::ZERO).await;
        let (b, _) = run(&gate, "b.example:443", 3, Duration::ZERO).await;
        assert_eq!(a[2] - a[0], Duration::from_secs(10));
        assert_eq!(b[2] - b[0], Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_with_limits_of_its_own_is_held_to_them() {
        let gate = gate(1, 1);
        let limits = HashMap::from([(
            "a.example:443".to_string(),
            HostLimits {
                in_flight: 2,
                delay: Duration::from_secs(30),
            },
        )]);
        gate.set_host_limits(limits);
        let (a, a_peak) = run(&gate, "a.example:443", 3, Duration::from_secs(100)).await;
        let (b, b_peak) = run(&gate, "b.example:443", 3, Duration::ZERO).await;
        assert_eq!(
            a,
            vec![
                Duration::ZERO,
                Duration::from_secs(30),
                Duration::from_secs(100)
            ]
        );
        assert_eq!((a_peak, b_peak), (2, 1));
        assert_eq!(
            b[2] - b[0],
            Duration::from_secs(2),
            "others keep the global delay"
        );
        // A Crawl-delay larger than the host's own delay still wins.
        gate.set_crawl_delay("a.example:443", Some(Duration::from_secs(45)));
        let (a, _) = run(&gate, "a.example:443", 2, Duration::ZERO).await;
        assert_eq!(a[1] - a[0], Duration::from_secs(45));
    }

    #[tokio::test(start_paused = true)]
    async fn lowering_a_limit_holds_requests_already_in_flight_to_it() {
        let gate = gate(1, 0);
        let host = "a.example:443";
        let four = |n| {
            HashMap::from([(
                host.to_string(),
                HostLimits {
                    in_flight: n,
                    delay: Duration::ZERO,
                },
            )])
        };
        gate.set_host_limits(four(4));
        let held: Vec<GatePermit> = vec![
            gate.acquire(host).await.expect("slot 1"),
            gate.acquire(host).await.expect("slot 2"),
            gate.acquire(host).await.expect("slot 3"),
        ];
        // Down to one slot with three in use: nothing more starts until two have ended...
        gate.set_host_limits(four(1));
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.acquire(host).await.map(|_| Instant::now()) }
        });
        let mut held = held.into_iter();
        drop(held.next());
        drop(held.next());
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(!waiting.is_finished(), "started while over the new limit");
        // ...and the last one.
        let released = Instant::now();
        drop(held.next());
        let started = waiting.await.expect("task").expect("not deferred");
        assert_eq!(started, released);
        // Back to the global limit (one), then up again: the debt is not paid twice.
        gate.set_host_limits(HashMap::new());
        gate.set_host_limits(four(2));
        let (_, peak) = run(&gate, host, 4, Duration::from_secs(1)).await;
        assert_eq!(peak, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_the_host_and_long_waits_are_refused() {
        let gate = gate(1, 1);
        let origin = Instant::now();
        gate.defer_host("a.example:443", origin + Duration::from_secs(120));
        let permit = gate
            .acquire("a.example:443")
            .await
            .expect("within max_wait");
        assert_eq!(Instant::now() - origin, Duration::from_secs(120));
        drop(permit);
        gate.defer_host("a.example:443", Instant::now() + Duration::from_secs(3600));
        let refused = gate
            .acquire("a.example:443")
            .await
            .expect_err("too long to wait");
        assert_eq!(refused.wait, Duration::from_secs(3600));
        // Other hosts are unaffected.
        let before = Instant::now();
        let _b = gate.acquire("b.example:443").await.expect("free host");
        assert_eq!(Instant::now(), before);
    }

    /// A cluster that answers from a script and records what the gate told it.
    #[derive(Debug, Default)]
    struct ScriptedCluster {
        answers: Mutex<std::collections::VecDeque<HostTurn>>,
        asked: Mutex<Vec<TurnLimits>>,
        released: Mutex<Vec<SlotToken>>,
        deferred: Mutex<Vec<(String, Duration)>>,
    }

    impl ClusterPoliteness for ScriptedCluster {
        fn take_host_turn<'a>(
            &'a self,
            _host: &'a str,
            limits: TurnLimits,
        ) -> BoxFuture<'a, Result<HostTurn, ClusterError>> {
            self.asked.lock().expect("asked").push(limits);
            let answer = self.answers.lock().expect("answers").pop_front();
            Box::pin(async move { answer.ok_or_else(|| ClusterError("no answer left".into())) })
        }

        fn release_host_slot(&self, token: SlotToken) -> BoxFuture<'_, Result<(), ClusterError>> {
            self.released.lock().expect("released").push(token);
            Box::pin(async { Ok(()) })
        }

        fn defer_host<'a>(
            &'a self,
            host: &'a str,
            wait: Duration,
        ) -> BoxFuture<'a, Result<(), ClusterError>> {
            self.deferred
                .lock()
                .expect("deferred")
                .push((host.to_string(), wait));
            Box::pin(async { Ok(()) })
        }

        fn robots_turn<'a>(
            &'a self,
            _origin: &'a str,
            _fetch_within: Duration,
        ) -> BoxFuture<'a, Result<RobotsTurn, ClusterError>> {
            Box::pin(async { Ok(RobotsTurn::YoursToFetch) })
        }

        fn share_robots<'a>(
            &'a self,
            _origin: &'a str,
            _robots: &'a SharedRobots,
            _fresh_for: Duration,
        ) -> BoxFuture<'a, Result<(), ClusterError>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn clustered(answers: &[HostTurn]) -> (Gate, Arc<ScriptedCluster>) {
        let cluster = Arc::new(ScriptedCluster::default());
        cluster
            .answers
            .lock()
            .expect("answers")
            .extend(answers.iter().copied());
        let gate = gate(2, 3).with_cluster(Arc::clone(&cluster) as Arc<dyn ClusterPoliteness>);
        (gate, cluster)
    }

    #[tokio::test(start_paused = true)]
    async fn the_cluster_is_asked_again_when_it_says_and_the_slot_is_given_back() {
        let (gate, cluster) = clustered(&[
            HostTurn::NotBefore(Duration::from_secs(5)),
            HostTurn::Full,
            HostTurn::Full,
            HostTurn::Granted(SlotToken(7)),
        ]);
        gate.set_crawl_delay("a.example:443", Some(Duration::from_secs(4)));
        let origin = Instant::now();
        let permit = gate.acquire("a.example:443").await.expect("granted");
        // 5 s of spacing, then two polls while every slot is held elsewhere.
        assert_eq!(
            Instant::now() - origin,
            Duration::from_secs(5) + FULL_POLL_FIRST + FULL_POLL_FIRST * 2
        );
        let asked = cluster.asked.lock().expect("asked").clone();
        assert_eq!(asked.len(), 4);
        assert_eq!(
            asked[0],
            TurnLimits {
                in_flight: 2,
                delay: Duration::from_secs(4)
            },
            "this node's limits, Crawl-delay included"
        );
        assert!(cluster.released.lock().expect("released").is_empty());
        permit.release().await;
        assert_eq!(*cluster.released.lock().expect("released"), [SlotToken(7)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_permit_dropped_mid_request_still_gives_its_slot_back() {
        let (gate, cluster) = clustered(&[HostTurn::Granted(SlotToken(3))]);
        drop(gate.acquire("a.example:443").await.expect("granted"));
        tokio::task::yield_now().await;
        assert_eq!(*cluster.released.lock().expect("released"), [SlotToken(3)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_wait_beyond_max_wait_is_refused_and_remembered() {
        let (gate, cluster) = clustered(&[HostTurn::NotBefore(Duration::from_secs(3600))]);
        let refused = gate
            .acquire("a.example:443")
            .await
            .expect_err("too long to wait");
        assert_eq!(refused.wait, Duration::from_secs(3600));
        // The next request on this node is refused without asking again.
        gate.acquire("a.example:443")
            .await
            .expect_err("still too long");
        assert_eq!(cluster.asked.lock().expect("asked").len(), 1);
        // Retry-After reaches the cluster as well as this node.
        gate.defer_host_everywhere("b.example:443", Duration::from_secs(90))
            .await;
        assert_eq!(
            *cluster.deferred.lock().expect("deferred"),
            [("b.example:443".to_string(), Duration::from_secs(90))]
        );
    }
}
