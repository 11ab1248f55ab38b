//! Cron schedules as users write them: five crontab fields (minute hour day month weekday),
//! or six with a leading seconds field, or an `@hourly`-style macro. This module owns the
//! translation to the `cron` crate, which wants seconds first and numbers weekdays 1–7 from
//! Sunday where crontab uses 0–7 (0 and 7 both Sunday). Pure: the caller passes the time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
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
