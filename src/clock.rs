//! The only code that reads the time or sleeps. Everything else asks a [`Clock`] for "now"
//! and passes that time into pure code and the store (never SQL `now()`), so tests can run
//! schedules on tokio's paused time. (One exception: the per-host turns that several nodes
//! share through PostgreSQL are timed by the database's clock, so that the nodes' clocks
//! need not agree; each node still waits on tokio's clock for as long as it is told.)

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Wall-clock time for timestamps, and sleeping until a wall-clock time.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The system clock.
    System,
    /// Wall time that starts at `start` and advances with tokio's clock, so that
    /// `tokio::time::pause()` and `advance()` move it too.
    Virtual {
        start: DateTime<Utc>,
        origin: tokio::time::Instant,
    },
}

/// Longest single sleep: the system clock can jump (NTP, suspend), so long waits are taken
/// in steps and the remaining time recomputed after each.
const MAX_SLEEP_STEP: Duration = Duration::from_secs(60);

impl Clock {
    /// A virtual clock whose "now" is `start` at the moment of this call.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock::Virtual {
            start,
            origin: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Virtual { start, origin } => {
                let elapsed = tokio::time::Instant::now().saturating_duration_since(*origin);
                *start + chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::MAX)
            }
        }
    }

    /// Sleeps until `deadline` by this clock (returns at once if it has passed).
    pub async fn sleep_until(&self, deadline: DateTime<Utc>) {
        loop {
            let remaining = (deadline - self.now()).to_std().unwrap_or(Duration::ZERO);
            if remaining.is_zero() {
                return;
            }
            tokio::time::sleep(remaining.min(MAX_SLEEP_STEP)).await;
        }
    }

    /// A monotonic instant for measuring durations (tokio's, so paused time applies).
    pub fn instant(&self) -> tokio::time::Instant {
        tokio::time::Instant::now()
    }
}

/// Formats a timestamp the way the archive stores it: RFC 3339 in UTC with milliseconds,
/// which SQLite's `date()` and `strftime()` read directly.
pub fn to_db_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses a timestamp written by [`to_db_time`] (or any RFC 3339 form).
pub fn from_db_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test(start_paused = true)]
    async fn virtual_clock_follows_paused_time() {
        let start = Utc
            .with_ymd_and_hms(2025, 7, 12, 12, 0, 0)
            .single()
            .expect("valid");
        let clock = Clock::starting_at(start);
        clock.sleep_until(start + chrono::Duration::hours(3)).await;
        assert_eq!(clock.now(), start + chrono::Duration::hours(3));
    }

    #[test]
    fn db_time_round_trips() {
        let t = Utc
            .with_ymd_and_hms(2025, 7, 12, 12, 31, 5)
            .single()
            .expect("valid");
        assert_eq!(to_db_time(t), "2025-07-12T12:31:05.000Z");
        assert_eq!(from_db_time(&to_db_time(t)), Some(t));
    }
}
