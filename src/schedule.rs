//! Cron schedules as users write them: five crontab fields (minute hour day month weekday),
//! or six with a leading seconds field, or an `@hourly`-style macro. This module owns the
//! translation to the `cron` crate, which wants seconds first and numbers weekdays 1–7 from
//! Sunday where crontab uses 0–7 (0 and 7 both Sunday), and the arithmetic of when a source
//! is polled next: adaptive stretching ([`next_poll`]) and backoff ([`backoff_delay`]).
//! Pure: the caller passes the time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed cron schedule that remembers the line it came from.
#[derive(Clone)]
pub struct CronSchedule {
    line: String,
    inner: cron::Schedule,
}

/// Why a schedule line was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error("expected 5 fields (minute hour day month weekday) or 6 with seconds first, found {0}")]
    FieldCount(usize),
    #[error("weekday {0:?} is not 0-7 or a day name")]
    Weekday(String),
    #[error("{0}")]
    Cron(String),
    #[error("the schedule never fires")]
    NeverFires,
}

impl CronSchedule {
    /// The line as written in the configuration.
    pub fn as_str(&self) -> &str {
        &self.line
    }

    /// The first firing strictly after `after`, evaluated in `timezone` (so "0 6 * * *" is
    /// six in the morning local time, across daylight-saving changes).
    pub fn next_after(&self, after: DateTime<Utc>, timezone: Tz) -> Option<DateTime<Utc>> {
        self.inner
            .after(&after.with_timezone(&timezone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The first firing at or after `at`.
    pub fn first_at_or_after(&self, at: DateTime<Utc>, timezone: Tz) -> Option<DateTime<Utc>> {
        // Firings fall on whole seconds and `next_after` is strict, so ask for the first one
        // after the whole second before `at` (rounded up).
        let whole = at.trunc_subsecs(0);
        let whole = if whole < at {
            whole + chrono::Duration::seconds(1)
        } else {
            whole
        };
        self.next_after(whole - chrono::Duration::seconds(1), timezone)
    }

    /// The last firing at or before `at`.
    pub fn last_at_or_before(&self, at: DateTime<Utc>, timezone: Tz) -> Option<DateTime<Utc>> {
        // Iterating backwards from a time yields the firings strictly before it.
        let after = at.trunc_subsecs(0) + chrono::Duration::seconds(1);
        self.inner
            .after(&after.with_timezone(&timezone))
            .next_back()
            .map(|t| t.with_timezone(&Utc))
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.line)
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.line == other.line
    }
}

impl FromStr for CronSchedule {
    type Err = ScheduleError;

    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let trimmed = line.trim();
        let expression = if trimmed.starts_with('@') {
            trimmed.to_string()
        } else {
            let fields: Vec<&str> = trimmed.split_whitespace().collect();
            let (seconds, rest) = match fields.len() {
                5 => ("0", &fields[..]),
                6 => (fields[0], &fields[1..]),
                n => return Err(ScheduleError::FieldCount(n)),
            };
            let weekday = crontab_weekday_to_cron(rest[4])?;
            format!(
                "{seconds} {} {} {} {} {weekday}",
                rest[0], rest[1], rest[2], rest[3]
            )
        };
        let inner = cron::Schedule::from_str(&expression)
            .map_err(|e| ScheduleError::Cron(e.to_string()))?;
        // "0 0 30 2 *" parses but never fires; catching it here beats a source that is
        // silently never polled.
        if inner
            .after(
                &Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0)
                    .single()
                    .unwrap_or_default(),
            )
            .next()
            .is_none()
        {
            return Err(ScheduleError::NeverFires);
        }
        Ok(CronSchedule {
            line: trimmed.to_string(),
            inner,
        })
    }
}

/// Rewrites a crontab weekday field (0–7, Sunday = 0 or 7) into the `cron` crate's
/// numbering (1–7, Sunday = 1). Names, `*` and `?` pass through unchanged.
fn crontab_weekday_to_cron(field: &str) -> Result<String, ScheduleError> {
    let mut parts = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let with_step = |r: String| match step {
            Some(s) => format!("{r}/{s}"),
            None => r,
        };
        if range == "*" || range == "?" || range.chars().all(|c| c.is_ascii_alphabetic()) {
            parts.push(with_step(range.to_string()));
            continue;
        }
        let number = |s: &str| -> Result<u8, ScheduleError> {
            if s.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(ScheduleError::Weekday(field.to_string()));
            }
            match s.parse::<u8>() {
                Ok(n) if n <= 7 => Ok(n),
                _ => Err(ScheduleError::Weekday(field.to_string())),
            }
        };
        match range.split_once('-') {
            None => {
                let n = number(range)?;
                parts.push(with_step((n % 7 + 1).to_string()));
            }
            Some((from, to)) => {
                let (from, to) = (number(from)?, number(to)?);
                if to == 7 && step.is_none() {
                    // "5-7" is Friday to Sunday: Sunday wraps to the start of the week.
                    parts.push(format!("{}-7", from % 7 + 1));
                    parts.push("1".to_string());
                } else {
                    parts.push(with_step(format!("{}-{}", from % 7 + 1, to % 7 + 1)));
                }
            }
        }
    }
    Ok(parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid test date")
    }

    #[test]
    fn five_fields_fire_every_quarter_hour() {
        let s: CronSchedule = "*/15 * * * *".parse().expect("valid");
        let next = s.next_after(at(2025, 7, 12, 10, 7), chrono_tz::UTC);
        assert_eq!(next, Some(at(2025, 7, 12, 10, 15)));
    }

    #[test]
    fn six_fields_take_seconds_first() {
        let s: CronSchedule = "30 0 * * * *".parse().expect("valid");
        let next = s.next_after(at(2025, 7, 12, 10, 0), chrono_tz::UTC);
        assert_eq!(
            next,
            Some(at(2025, 7, 12, 10, 0) + chrono::Duration::seconds(30))
        );
    }

    #[test]
    fn weekdays_follow_crontab_numbering() {
        // 2025-07-12 is a Saturday; "1-5" in crontab is Monday to Friday.
        let s: CronSchedule = "0 9 * * 1-5".parse().expect("valid");
        let next = s.next_after(at(2025, 7, 12, 0, 0), chrono_tz::UTC);
        assert_eq!(next, Some(at(2025, 7, 14, 9, 0)));
        // 0 and 7 are both Sunday.
        for line in ["0 9 * * 0", "0 9 * * 7", "0 9 * * SUN"] {
            let s: CronSchedule = line.parse().expect("valid");
            assert_eq!(
                s.next_after(at(2025, 7, 12, 0, 0), chrono_tz::UTC),
                Some(at(2025, 7, 13, 9, 0)),
                "{line}"
            );
        }
        let s: CronSchedule = "0 9 * * 5-7".parse().expect("valid");
        assert_eq!(
            s.next_after(at(2025, 7, 12, 10, 0), chrono_tz::UTC),
            Some(at(2025, 7, 13, 9, 0))
        );
    }

    #[test]
    fn local_time_zone_is_honoured() {
        let s: CronSchedule = "0 6 * * *".parse().expect("valid");
        // Six in Dhaka (+06:00) is midnight UTC.
        let next = s.next_after(at(2025, 7, 12, 1, 0), chrono_tz::Asia::Dhaka);
        assert_eq!(next, Some(at(2025, 7, 13, 0, 0)));
    }

    #[test]
    fn macros_are_accepted() {
        let s: CronSchedule = "@hourly".parse().expect("valid");
        assert_eq!(
            s.next_after(at(2025, 7, 12, 10, 7), chrono_tz::UTC),
            Some(at(2025, 7, 12, 11, 0))
        );
    }

    #[test]
    fn bad_lines_are_rejected() {
        assert_eq!(
            "* * *".parse::<CronSchedule>().err(),
            Some(ScheduleError::FieldCount(3))
        );
        assert!(matches!(
            "0 9 * * 8".parse::<CronSchedule>(),
            Err(ScheduleError::Weekday(_))
        ));
        assert!(matches!(
            "61 * * * *".parse::<CronSchedule>(),
            Err(ScheduleError::Cron(_))
        ));
        assert_eq!(
            "0 0 30 2 *".parse::<CronSchedule>().err(),
            Some(ScheduleError::NeverFires)
        );
    }
}

/// How long a source waits after its `failures`-th failure in a row: `base` doubled per
/// further failure, capped at `max`, then scaled by a jitter between ½ and 1 so that sources
/// failing together (one host down) do not retry together. The jitter is derived from
/// `key` and `failures`, so it is repeatable. A zero `base` turns backoff off.
pub fn backoff_delay(
    key: &str,
    failures: i64,
    base: std::time::Duration,
    max: std::time::Duration,
) -> std::time::Duration {
    use std::hash::{Hash, Hasher};
    if base.is_zero() || failures < 1 {
        return std::time::Duration::ZERO;
    }
    let doublings = (failures - 1).min(32) as u32;
    let full = base.saturating_mul(2u32.saturating_pow(doublings)).min(max);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (key, failures).hash(&mut hasher);
    let fraction = (hasher.finish() % 1000) as f64 / 1000.0;
    full.mul_f64(0.5 + 0.5 * fraction)
}

/// How much the interval grows after each successful poll that found nothing new.
///
/// Why a stretch factor and not an estimate of the publishing rate (a mean gap between new
/// items, say): it needs one number of state, the interval itself, so it survives a restart
/// in one column; it is deterministic and easy to predict from the log; and it reacts at
/// once in the direction that matters (a single poll with news puts the source back on its
/// schedule), where a rate estimate lags behind a quiet site waking up. From a 15-minute
/// schedule, eight quiet polls in a row reach a six-hour cap.
pub const STRETCH_FACTOR: f64 = 1.5;

/// What the adaptive rule needs to know about a poll that succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollFacts {
    /// When the poll started: intervals are counted between poll starts.
    pub started: DateTime<Utc>,
    /// The poll found something new to the source (or left new items for the next poll).
    pub found_new: bool,
    /// The interval in force before this poll; `None` while the source is on its schedule.
    pub interval: Option<std::time::Duration>,
    /// How long the server asked not to be polled again (RSS `<ttl>`, Cache-Control
    /// `max-age`, `Expires`), counted from `started`.
    pub not_before: Option<std::time::Duration>,
    /// The longest the interval may grow, and the cap on `not_before`.
    pub max_interval: std::time::Duration,
}

/// When a source is polled next, and the interval to remember for the poll after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextPoll {
    /// `None` when the schedule never fires again.
    pub at: Option<DateTime<Utc>>,
    /// The stretched interval now in force; `None` means "on schedule".
    pub interval: Option<std::time::Duration>,
}

fn plus(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The next poll after a successful one, by the adaptive rule:
///
/// - a poll that found something new puts the source back on its schedule (the next firing);
/// - a poll that found nothing new stretches the interval by [`STRETCH_FACTOR`] (from the
///   schedule's own gap the first time), up to `max_interval`;
/// - the server's `not_before` (capped at `max_interval`) is a lower bound either way;
/// - the result is always a firing of the schedule, never before its next one: the first
///   firing at or after the wanted time, or, when that would pass `max_interval`, the last
///   firing within it (`max_interval` is the hard limit, so a `not_before` within one gap
///   of the schedule of it may be cut short). A schedule that fires less often than
///   `max_interval` is never stretched.
pub fn next_poll(schedule: &CronSchedule, timezone: Tz, facts: &PollFacts) -> NextPoll {
    let started = facts.started;
    let Some(scheduled) = schedule.next_after(started, timezone) else {
        return NextPoll {
            at: None,
            interval: None,
        };
    };
    // Intervals run from the firing the poll belongs to, not from the moment it started,
    // so a poll that starts a little late (a busy daemon, a slow archive) neither skips a
    // firing nor drifts. The server's lower bound runs from the poll itself.
    let anchor = schedule
        .last_at_or_before(started, timezone)
        .unwrap_or(started);
    let gap = (scheduled - anchor).to_std().unwrap_or_default();
    let max = facts.max_interval;
    let stretched = if facts.found_new {
        std::time::Duration::ZERO
    } else {
        let previous = facts.interval.unwrap_or(gap).min(max);
        std::time::Duration::try_from_secs_f64(previous.as_secs_f64() * STRETCH_FACTOR)
            .unwrap_or(max)
            .min(max)
    };
    let lower = facts.not_before.unwrap_or_default().min(max);
    let earliest = plus(anchor, stretched).max(plus(started, lower));
    let at = if earliest <= scheduled {
        scheduled
    } else {
        let limit = plus(anchor, max);
        match schedule.first_at_or_after(earliest, timezone) {
            Some(at) if at <= limit => at,
            _ => schedule
                .last_at_or_before(limit, timezone)
                .unwrap_or(scheduled),
        }
        .max(scheduled)
    };
    NextPoll {
        at: Some(at),
        interval: (!facts.found_new && at > scheduled)
            .then(|| (at - anchor).to_std().unwrap_or_default()),
    }
}

#[cfg(test)]
mod adaptive_tests {
    use super::*;
    use std::time::Duration;

    fn at(h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 7, 12, h, mi, 0)
            .single()
            .expect("valid test date")
    }

    fn quarter() -> CronSchedule {
        "*/15 * * * *".parse().expect("valid")
    }

    fn facts(started: DateTime<Utc>, interval: Option<Duration>) -> PollFacts {
        PollFacts {
            started,
            found_new: false,
            interval,
            not_before: None,
            max_interval: Duration::from_secs(6 * 3600),
        }
    }

    #[test]
    fn firings_at_or_around_a_time() {
        let s = quarter();
        let utc = chrono_tz::UTC;
        assert_eq!(s.first_at_or_after(at(10, 15), utc), Some(at(10, 15)));
        assert_eq!(
            s.first_at_or_after(at(10, 15) + chrono::Duration::milliseconds(1), utc),
            Some(at(10, 30))
        );
        assert_eq!(s.last_at_or_before(at(10, 15), utc), Some(at(10, 15)));
        assert_eq!(
            s.last_at_or_before(at(10, 15) + chrono::Duration::milliseconds(999), utc),
            Some(at(10, 15))
        );
        assert_eq!(
            s.last_at_or_before(at(10, 15) - chrono::Duration::milliseconds(1), utc),
            Some(at(10, 0))
        );
    }

    /// Polls a quiet source at each due time until the interval stops growing.
    fn quiet_gaps(start: DateTime<Utc>, max: Duration, slip: chrono::Duration) -> Vec<i64> {
        let s = quarter();
        let mut started = start;
        let mut interval = None;
        let mut gaps = Vec::new();
        for _ in 0..12 {
            let next = next_poll(
                &s,
                chrono_tz::UTC,
                &PollFacts {
                    max_interval: max,
                    ..facts(started + slip, interval)
                },
            );
            let due = next.at.expect("fires");
            assert!(
                s.first_at_or_after(due, chrono_tz::UTC) == Some(due),
                "{due} is not a firing"
            );
            gaps.push((due - started).num_minutes());
            interval = next.interval;
            started = due;
        }
        gaps
    }

    #[test]
    fn quiet_polls_stretch_by_half_on_firings_up_to_the_cap() {
        let six_hours = Duration::from_secs(6 * 3600);
        let exact = quiet_gaps(at(10, 0), six_hours, chrono::Duration::zero());
        assert_eq!(
            exact,
            [30, 45, 75, 120, 180, 270, 360, 360, 360, 360, 360, 360]
        );
        // Polls that start a little late (a busy daemon) keep to the same firings.
        for slip in [1, 1500, 4 * 60 * 1000] {
            let late = quiet_gaps(at(10, 0), six_hours, chrono::Duration::milliseconds(slip));
            assert_eq!(late, exact, "{slip} ms late");
        }
        // A cap that is no multiple of the schedule's gap ends on the last firing within it.
        let odd = quiet_gaps(
            at(10, 0),
            Duration::from_secs(100 * 60),
            chrono::Duration::zero(),
        );
        assert!(odd.iter().all(|g| *g <= 100), "{odd:?}");
        assert_eq!(odd.last(), Some(&90));
    }

    #[test]
    fn news_puts_the_source_back_on_its_schedule() {
        let next = next_poll(
            &quarter(),
            chrono_tz::UTC,
            &PollFacts {
                found_new: true,
                ..facts(at(10, 0), Some(Duration::from_secs(6 * 3600)))
            },
        );
        assert_eq!(
            next,
            NextPoll {
                at: Some(at(10, 15)),
                interval: None
            }
        );
    }

    #[test]
    fn server_lifetimes_are_lower_bounds_capped_by_the_maximum() {
        let with = |found_new, not_before: u64| {
            next_poll(
                &quarter(),
                chrono_tz::UTC,
                &PollFacts {
                    found_new,
                    not_before: Some(Duration::from_secs(not_before)),
                    ..facts(at(10, 0), None)
                },
            )
            .at
        };
        // A ttl of 100 minutes: the first firing after it, news or not.
        assert_eq!(with(true, 100 * 60), Some(at(11, 45)));
        // Counted from the poll itself: a poll a second late is not asked early.
        let late = next_poll(
            &quarter(),
            chrono_tz::UTC,
            &PollFacts {
                found_new: true,
                not_before: Some(Duration::from_secs(90 * 60)),
                ..facts(at(10, 0) + chrono::Duration::seconds(1), None)
            },
        );
        assert_eq!(late.at, Some(at(11, 45)));
        assert_eq!(with(false, 100 * 60), Some(at(11, 45)));
        // Shorter than the stretch: the stretch wins.
        assert_eq!(with(false, 60), Some(at(10, 30)));
        // A year: capped at six hours.
        assert_eq!(with(true, 365 * 24 * 3600), Some(at(16, 0)));
        // Within one gap of the cap: the cap wins, the last firing within it.
        assert_eq!(with(true, 6 * 3600 - 60), Some(at(16, 0)));
        let late = next_poll(
            &quarter(),
            chrono_tz::UTC,
            &PollFacts {
                found_new: true,
                not_before: Some(Duration::from_secs(365 * 24 * 3600)),
                ..facts(at(10, 0) + chrono::Duration::milliseconds(20), None)
            },
        );
        assert_eq!(late.at, Some(at(16, 0)));
    }

    #[test]
    fn sparse_schedules_are_never_stretched() {
        let daily: CronSchedule = "0 6 * * *".parse().expect("valid");
        let next = next_poll(&daily, chrono_tz::UTC, &facts(at(6, 0), None));
        assert_eq!(next.at, Some(at(6, 0) + chrono::Duration::days(1)));
        assert_eq!(next.interval, None);
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::backoff_delay;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(300);
        let max = Duration::from_secs(6 * 3600);
        assert_eq!(backoff_delay("s", 0, base, max), Duration::ZERO);
        for failures in 1..=20 {
            let full = (base * 2u32.pow((failures - 1).min(20) as u32)).min(max);
            let delay = backoff_delay("s", failures, base, max);
            assert!(
                delay >= full / 2 && delay <= full,
                "{failures}: {delay:?} vs {full:?}"
            );
            assert_eq!(delay, backoff_delay("s", failures, base, max), "repeatable");
        }
        assert!(backoff_delay("s", 1000, base, max) <= max);
        assert_eq!(backoff_delay("s", 3, Duration::ZERO, max), Duration::ZERO);
        // Two sources failing together spread out.
        let spread: std::collections::HashSet<_> = (0..10)
            .map(|i| backoff_delay(&format!("source-{i}"), 4, base, max))
            .collect();
        assert!(spread.len() > 5);
    }
}
