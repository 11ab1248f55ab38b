//! Article versions, the pure part: when an archived article is looked at again (its
//! revisit schedule), what counts as a new version (the content hash of its extracted
//! title, text and dates), and how two versions differ (a word-level diff). Fetching and
//! storing revisits is [`crate::pipeline`]'s and [`crate::store`]'s.
//!
//! Only the extracted article is compared, never the raw page: a clock, a rotating ad or
//! a "most read" box around the article changes the bytes on every fetch but not the
//! extracted fields, so it never makes a version.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// The default schedule: offsets from the time an article was first archived.
pub const DEFAULT_SCHEDULE: &[Duration] = &[
    Duration::from_secs(3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(3 * 24 * 3600),
    Duration::from_secs(7 * 24 * 3600),
];

/// Most steps a schedule may have.
pub const MAX_STEPS: usize = 32;

/// When an article is revisited: offsets from its `first_seen_at`, strictly increasing.
/// After the last, never again. Empty: never revisited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisitSchedule {
    steps: Vec<Duration>,
}

impl Default for RevisitSchedule {
    fn default() -> RevisitSchedule {
        RevisitSchedule {
            steps: DEFAULT_SCHEDULE.to_vec(),
        }
    }
}

impl RevisitSchedule {
    /// A schedule of `steps`; the error says what is wrong with them.
    pub fn new(steps: Vec<Duration>) -> Result<RevisitSchedule, String> {
        if steps.len() > MAX_STEPS {
            return Err(format!("at most {MAX_STEPS} steps"));
        }
        if steps.iter().any(Duration::is_zero) {
            return Err("every step must be longer than zero".into());
        }
        if steps.windows(2).any(|w| w[0] >= w[1]) {
            return Err(
                "steps are times after the article was first archived and must increase".into(),
            );
        }
        Ok(RevisitSchedule { steps })
    }

    /// No revisits at all.
    pub fn never() -> RevisitSchedule {
        RevisitSchedule { steps: Vec::new() }
    }

    pub fn steps(&self) -> &[Duration] {
        &self.steps
    }

    /// The first scheduled time strictly after `now` for an article first archived at
    /// `first_seen`; `None` once the schedule is over. Steps missed while the daemon was
    /// down are skipped rather than made up one after another.
    pub fn next_after(
        &self,
        first_seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.steps
            .iter()
            .filter_map(|step| chrono::Duration::from_std(*step).ok())
            .filter_map(|step| first_seen.checked_add_signed(step))
            .find(|at| *at > now)
    }
}

/// The schedules in force: `[revisit] schedule`, and sources' own `revisit_schedule`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevisitRules {
    pub default: RevisitSchedule,
    /// By source name.
    pub sources: HashMap<String, RevisitSchedule>,
}

impl RevisitRules {
    /// The schedule for articles first found by `source` (by name; `None` for articles no
    /// configured source found).
    pub fn schedule_for(&self, source: Option<&str>) -> &RevisitSchedule {
        source
            .and_then(|name| self.sources.get(name))
            .unwrap_or(&self.default)
    }
}

/// What identifies a version: SHA-256 (hex) over the title and text, each NFC with runs
/// of whitespace made one space, and the publication and update times as the archive
/// stores them (RFC 3339 UTC text). Case and punctuation count: a corrected name is an
/// edit; a re-wrapped paragraph is not.
pub fn content_hash(
    title: Option<&str>,
    text: &str,
    published_at: Option<&str>,
    updated_at: Option<&str>,
) -> String {
    let mut data = String::with_capacity(text.len() + 128);
    for (i, part) in [title.unwrap_or(""), text].into_iter().enumerate() {
        if i > 0 {
            data.push('\u{1f}');
        }
        let nfc = crate::canon::nfc(part);
        for (j, word) in nfc.split_whitespace().enumerate() {
            if j > 0 {
                data.push(' ');
            }
            data.push_str(word);
        }
    }
    for date in [published_at, updated_at] {
        data.push('\u{1f}');
        data.push_str(date.unwrap_or(""));
    }
    crate::canon::body_hash(data.as_bytes())
}

/// A run of words in a diff.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "op", content = "text", rename_all = "lowercase")]
pub enum DiffPart {
    Same(String),
    Removed(String),
    Added(String),
}

/// How long a word diff may search for the smallest difference before it settles for a
/// larger one: two 5 MB texts that share little would otherwise take minutes.
const DIFF_TIMEOUT: Duration = Duration::from_secs(5);

/// The word-level difference from `old` to `new`, adjacent runs of one kind merged.
/// Whitespace is kept in the runs, so the parts of each side join back into its text.
pub fn word_diff(old: &str, new: &str) -> Vec<DiffPart> {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(DIFF_TIMEOUT)
        .diff_words(old, new);
    let mut parts: Vec<DiffPart> = Vec::new();
    for change in diff.iter_all_changes() {
        let value = change.value();
        let part = match change.tag() {
            similar::ChangeTag::Equal => DiffPart::Same(value.to_string()),
            similar::ChangeTag::Delete => DiffPart::Removed(value.to_string()),
            similar::ChangeTag::Insert => DiffPart::Added(value.to_string()),
        };
        match (parts.last_mut(), part) {
            (Some(DiffPart::Same(a)), DiffPart::Same(b))
            | (Some(DiffPart::Removed(a)), DiffPart::Removed(b))
            | (Some(DiffPart::Added(a)), DiffPart::Added(b)) => a.push_str(&b),
            (_, part) => parts.push(part),
        }
    }
    parts
}

/// Words removed and added in a diff.
pub fn diff_counts(parts: &[DiffPart]) -> (usize, usize) {
    let words = |s: &str| s.split_whitespace().count();
    parts
        .iter()
        .fold((0, 0), |(removed, added), part| match part {
            DiffPart::Same(_) => (removed, added),
            DiffPart::Removed(s) => (removed + words(s), added),
            DiffPart::Added(s) => (removed, added + words(s)),
        })
}

/// The paragraphs of a diff that changed, each as one line with removed words between
/// `[-` and `-]` and added ones between `{+` and `+}` (git's `--word-diff=plain` marks),
/// or between the given terminal styles. Unchanged paragraphs are left out.
pub fn changed_paragraphs(parts: &[DiffPart], style: &DiffStyle) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut changed = false;
    let mut finish = |line: &mut String, changed: &mut bool| {
        if *changed {
            lines.push(std::mem::take(line));
        } else {
            line.clear();
        }
        *changed = false;
    };
    for part in parts {
        let (text, open, close) = match part {
            DiffPart::Same(s) => (s, "", ""),
            DiffPart::Removed(s) => (s, style.removed.0.as_str(), style.removed.1.as_str()),
            DiffPart::Added(s) => (s, style.added.0.as_str(), style.added.1.as_str()),
        };
        let marked = !matches!(part, DiffPart::Same(_));
        for (i, piece) in text.split('\n').enumerate() {
            if i > 0 {
                if marked {
                    // A paragraph break inside a change shows where it was.
                    line.push_str(open);
                    line.push('¶');
                    line.push_str(close);
                    line.push(' ');
                } else {
                    finish(&mut line, &mut changed);
                }
            }
            if piece.is_empty() {
                continue;
            }
            if marked {
                changed = true;
                line.push_str(open);
                line.push_str(piece);
                line.push_str(close);
            } else {
                line.push_str(piece);
            }
        }
    }
    finish(&mut line, &mut changed);
    lines
}

/// Marks around removed and added words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffStyle {
    pub removed: (String, String),
    pub added: (String, String),
}

impl DiffStyle {
    /// `[-removed-]{+added+}`, for files and pipes.
    pub fn plain() -> DiffStyle {
        DiffStyle {
            removed: ("[-".into(), "-]".into()),
            added: ("{+".into(), "+}".into()),
        }
    }

    /// Red struck-through and green underlined, for a terminal.
    pub fn terminal() -> DiffStyle {
        DiffStyle {
            removed: ("\x1b[31;9m".into(), "\x1b[0m".into()),
            added: ("\x1b[32;4m".into(), "\x1b[0m".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hours: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 7, 12, 0, 0, 0).unwrap() + chrono::Duration::hours(hours)
    }

    #[test]
    fn the_schedule_decays_and_ends() {
        let schedule = RevisitSchedule::default();
        let first = at(0);
        let mut now = first;
        let mut times = Vec::new();
        while let Some(next) = schedule.next_after(first, now) {
            times.push((next - first).num_hours());
            now = next;
        }
        assert_eq!(times, [1, 6, 24, 72, 168]);
        // A daemon that was down skips the steps it missed.
        assert_eq!(schedule.next_after(first, at(30)), Some(at(72)));
        assert_eq!(RevisitSchedule::never().next_after(first, first), None);
    }

    #[test]
    fn schedules_must_increase() {
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert!(RevisitSchedule::new(vec![h(1), h(6)]).is_ok());
        assert!(RevisitSchedule::new(vec![h(6), h(1)]).is_err());
        assert!(RevisitSchedule::new(vec![h(0)]).is_err());
    }

    #[test]
    fn whitespace_is_not_an_edit_but_words_are() {
        let a = content_hash(
            Some("Title"),
            "One  two\nthree",
            Some("2025-07-12T00:00:00.000Z"),
            None,
        );
        let b = content_hash(
            Some("Title "),
            "One two three",
            Some("2025-07-12T00:00:00.000Z"),
            None,
        );
        let c = content_hash(
            Some("Title"),
            "One two four",
            Some("2025-07-12T00:00:00.000Z"),
            None,
        );
        let d = content_hash(Some("Title"), "One two three", None, None);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        // The title and text do not run into each other.
        assert_ne!(
            content_hash(Some("a b"), "c", None, None),
            content_hash(Some("a"), "b c", None, None)
        );
    }

    #[test]
    fn a_word_diff_shows_only_changed_paragraphs() {
        let old = "The minister said 14 ports.\nUnchanged paragraph here.";
        let new = "The minister said 16 ports.\nUnchanged paragraph here.";
        let parts = word_diff(old, new);
        assert_eq!(diff_counts(&parts), (1, 1));
        let lines = changed_paragraphs(&parts, &DiffStyle::plain());
        assert_eq!(lines, ["The minister said [-14-]{+16+} ports."]);
        // Each side joins back into its text.
        let old_side: String = parts
            .iter()
            .filter_map(|p| match p {
                DiffPart::Same(s) | DiffPart::Removed(s) => Some(s.as_str()),
                DiffPart::Added(_) => None,
            })
            .collect();
        assert_eq!(old_side, old);
    }
}
