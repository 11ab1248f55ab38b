//! Talking to the service manager, the only owner of sd_notify: "still starting" (with
//! more time and watchdog pings) while the archive opens and migrates, READY once it is
//! open and the schedule loaded, STATUS lines with live counts, WATCHDOG pings from the
//! scheduler loop (so systemd restarts a daemon whose loop has hung), STOPPING on shutdown.
//! Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.

use std::time::Duration;

/// How often a starting daemon tells systemd it is still starting; each message extends
/// the start timeout by three times this.
pub const STARTING_PING: Duration = Duration::from_secs(20);

/// What the daemon tells the service manager.
#[derive(Debug, Clone, Copy)]
pub struct Notifier {
    /// How often the watchdog must hear from us, if systemd asked for it.
    watchdog: Option<Duration>,
}

impl Notifier {
    /// Reads the watchdog settings systemd passed in the environment.
    pub fn from_environment() -> Notifier {
        Notifier {
            watchdog: sd_notify::watchdog_enabled(),
        }
    }

    /// A notifier for tests and one-shot commands: says nothing.
    pub fn silent() -> Notifier {
        Notifier { watchdog: None }
    }

    /// The longest the scheduler may sleep between two watchdog pings: half the
    /// watchdog's timeout, as systemd recommends.
    pub fn max_sleep(&self) -> Option<Duration> {
        self.watchdog.map(|w| w / 2)
    }

    pub fn ready(&self, status: &str) {
        self.send(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status(status),
        ]);
    }

    /// A status line (shown by `systemctl status`) and a watchdog ping.
    pub fn alive(&self, status: &str) {
        if self.watchdog.is_some() {
            self.send(&[
                sd_notify::NotifyState::Watchdog,
                sd_notify::NotifyState::Status(status),
            ]);
        } else {
            self.send(&[sd_notify::NotifyState::Status(status)]);
        }
    }

    /// While the daemon is still starting (opening the archive, which may apply schema
    /// migrations that take minutes on a large archive): a status line, more time before
    /// systemd's start timeout (three [`STARTING_PING`]s), and a watchdog ping.
    pub fn starting(&self, status: &str) {
        let extend = STARTING_PING * 3;
        let usec = u32::try_from(extend.as_micros()).unwrap_or(u32::MAX);
        let mut states = vec![
            sd_notify::NotifyState::Status(status),
            sd_notify::NotifyState::ExtendTimeoutUsec(usec),
        ];
        if self.watchdog.is_some() {
            states.push(sd_notify::NotifyState::Watchdog);
        }
        self.send(&states);
    }

    /// [`Notifier::starting`] every [`STARTING_PING`], the first after one period, until
    /// the task running it is dropped.
    pub async fn keep_starting(self, status: &str) {
        loop {
            tokio::time::sleep(STARTING_PING).await;
            self.starting(status);
        }
    }

    pub fn stopping(&self) {
        self.send(&[sd_notify::NotifyState::Stopping]);
    }

    fn send(&self, states: &[sd_notify::NotifyState<'_>]) {
        if let Err(error) = sd_notify::notify(states) {
            // Losing a status line is harmless; losing watchdog pings gets us restarted,
            // which the log line then explains.
            tracing::warn!(%error, "cannot notify the service manager");
        }
    }
}
