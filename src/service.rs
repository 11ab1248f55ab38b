//! Talking to the service manager, the only owner of sd_notify: READY once the archive is
//! open and the schedule loaded, STATUS lines with live counts, WATCHDOG pings from the
//! scheduler loop (so systemd restarts a daemon whose loop has hung), STOPPING on shutdown.
//! Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.

use std::time::Duration;

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
