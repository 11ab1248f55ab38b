//! Publication and update dates of a page.
//!
//! This module owns two things: a forgiving parser that reads one date (with its time
//! and offset when given) out of free text in English, Bengali and a few other
//! European languages, and the policy that picks `published_at` / `updated_at` from the
//! page's signals, strongest first: JSON-LD, `<meta>` and microdata, `<time>` elements,
//! labelled dates in the visible text ("Published", "প্রকাশ", "আপডেট", …), date-like
//! elements, and finally a date in the URL path.
//!
//! Dates without an offset take the caller's time zone. Instants given in UTC are
//! re-expressed in that zone (same instant, the offset readers of the site see), and
//! all times are kept to the minute: pages show minutes, and the seconds in machine
//! readable copies often disagree between the copies of one page. Impossible dates
//! (day 32, month 13, year 2099, later than `not_after`) are rejected, never guessed.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{LocalResult, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use unicode_normalization::{UnicodeNormalization, is_nfc};

use super::page::PageSignals;

/// Earliest year accepted: the web news archive barely reaches further back, and old
/// numbers in pages (founding years, copyright lines) are a common source of errors.
const EARLIEST_YEAR: i32 = 1990;
/// Latest year accepted when the caller gives no `not_after` (this module reads no clock).
const LATEST_YEAR: i32 = 2060;
/// Visible-text lines longer than this are prose, not a dateline.
const MAX_LABEL_LINE: usize = 300;

/// What the date parser needs from the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DateContext {
    pub tz: Tz,
    pub not_after: Option<DateTime<Utc>>,
    /// Read ambiguous numeric dates like 07/12/2025 as month/day (US English pages).
    pub month_first: bool,
}

/// One date found in a string.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Found {
    pub at: DateTime<FixedOffset>,
    /// False for a day without a time of day (then `at` is midnight in the zone).
    pub has_time: bool,
    /// Byte offset of the date's first token in the parsed string.
    pub start: usize,
    /// The offset written in the source, if any (seconds east of UTC).
    pub offset_given: Option<i32>,
    /// The wall-clock time as written (before any zone conversion).
    pub wall: NaiveDateTime,
}

// ------------------------------------------------------------------ tokens

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A run of digits (ASCII or Bengali): value (saturating) and digit count.
    Num(u32, u8),
    /// A run of letters, lowercased.
    Word(String),
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
}

fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        // Bengali digits ০–৯
        '\u{09E6}'..='\u{09EF}' => Some(c as u32 - 0x09E6),
        // Devanagari digits, used on some Bengali pages too
        '\u{0966}'..='\u{096F}' => Some(c as u32 - 0x0966),
        _ => None,
    }
}

fn is_word_char(c: char) -> bool {
    // The Bengali block holds vowel signs and the virama, which are not all
    // `Alphabetic`; a month name must stay one word.
    (c.is_alphabetic() || ('\u{0980}'..='\u{09FF}').contains(&c)) && digit_value(c).is_none()
}

fn tokenize(s: &str, limit: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if out.len() >= limit {
            break;
        }
        if let Some(d) = digit_value(c) {
            let mut v = d;
            let mut n: u8 = 1;
            while let Some(&(_, c2)) = chars.peek() {
                let Some(d2) = digit_value(c2) else { break };
                v = v.saturating_mul(10).saturating_add(d2);
                n = n.saturating_add(1);
                chars.next();
            }
            out.push(Token {
                tok: Tok::Num(v, n),
                start: i,
            });
        } else if is_word_char(c) {
            let mut w: String = c.to_lowercase().collect();
            while let Some(&(_, c2)) = chars.peek() {
                // U+200C/U+200D (ZWNJ/ZWJ) occur inside Bengali words.
                if !is_word_char(c2) && c2 != '\u{200C}' && c2 != '\u{200D}' {
                    break;
                }
                if c2 != '\u{200C}' && c2 != '\u{200D}' {
                    w.extend(c2.to_lowercase());
                }
                chars.next();
            }
            out.push(Token {
                tok: Tok::Word(w),
                start: i,
            });
        } else if !c.is_whitespace() {
            out.push(Token {
                tok: Tok::Punct(c),
                start: i,
            });
        }
    }
    out
}

// ------------------------------------------------------------------ vocabulary

fn month_number(w: &str) -> Option<u32> {
    let m = match w {
        // English
        "january" | "jan" => 1,
        "february" | "feb" | "febr" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        // Bengali, with the spellings in common use
        "জানুয়ারি" | "জানুয়ারী" | "জানু" => 1,
        "ফেব্রুয়ারি" | "ফেব্রুয়ারী" | "ফেব্রু" => {
            2
        }
        "মার্চ" => 3,
        "এপ্রিল" => 4,
        "মে" => 5,
        "জুন" => 6,
        "জুলাই" => 7,
        "আগস্ট" | "অগাস্ট" | "আগষ্ট" | "অগস্ট" => 8,
        "সেপ্টেম্বর" | "সেপ্টেঃ" => 9,
        "অক্টোবর" | "অক্টোঃ" => 10,
        "নভেম্বর" => 11,
        "ডিসেম্বর" => 12,
        // German, French, Spanish, Italian, Portuguese, Dutch (full names only, plus
        // abbreviations that are not common words)
        "januar" | "janvier" | "enero" | "gennaio" | "janeiro" | "januari" | "jänner" => 1,
        "februar" | "février" | "fevrier" | "febrero" | "febbraio" | "fevereiro" | "februari" => 2,
        "märz" | "mars" | "marzo" | "março" | "maart" => 3,
        "avril" | "abril" | "aprile" => 4,
        "mai" | "mayo" | "maggio" | "maio" | "mei" => 5,
        "juni" | "juin" | "junio" | "giugno" | "junho" => 6,
        "juli" | "juillet" | "julio" | "luglio" | "julho" => 7,
        "août" | "aout" | "agosto" | "augustus" => 8,
        "septembre" | "septiembre" | "settembre" | "setembro" => 9,
        "oktober" | "octobre" | "octubre" | "ottobre" | "outubro" => 10,
        "novembre" | "noviembre" | "novembro" => 11,
        "dezember" | "décembre" | "decembre" | "diciembre" | "dicembre" | "dezembro" => 12,
        _ => return None,
    };
    Some(m)
}

/// Month and weekday names, for callers that trim dates off other text.
pub(crate) fn is_date_word(w: &str) -> bool {
    month_number(w).is_some() || weekday(w)
}

/// Words that may stand between a day number and the month ("12th of July", "১২ই").
fn is_ordinal_or_filler(w: &str) -> bool {
    matches!(
        w,
        "st" | "nd"
            | "rd"
            | "th"
            | "of"
            | "de"
            | "del"
            | "er"
            | "ই"
            | "শে"
            | "লা"
            | "রা"
            | "ঠা"
            | "তারিখ"
    )
}

/// Words allowed between a date and its time ("12 July 2025 at 18:31", "১২ জুলাই ২০২৫, রাত ৯:১৫").
fn is_date_time_filler(w: &str) -> bool {
    matches!(
        w,
        "t" | "at"
            | "um"
            | "à"
            | "a"
            | "às"
            | "alle"
            | "om"
            | "kl"
            | "las"
            | "ore"
            | "uhr"
            | "বেলা"
            | "সময়"
    ) || weekday(w)
        || day_period(w).is_some()
}

fn weekday(w: &str) -> bool {
    matches!(
        w,
        "monday"
            | "tuesday"
            | "wednesday"
            | "thursday"
            | "friday"
            | "saturday"
            | "sunday"
            | "mon"
            | "tue"
            | "tues"
            | "wed"
            | "thu"
            | "thurs"
            | "fri"
            | "sat"
            | "sun"
            | "শনিবার"
            | "রবিবার"
            | "রোববার"
            | "সোমবার"
            | "মঙ্গলবার"
            | "বুধবার"
            | "বৃহস্পতিবার"
            | "শুক্রবার"
    )
}

/// Bengali day-period words and AM/PM markers: how to turn a 12-hour reading into 24 hours.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Period {
    Am,
    Pm,
    /// দুপুর (midday): 12 stays, 1–5 are afternoon hours.
    Noon,
    /// রাত (night): 6–11 are evening hours, 12 is midnight, 1–5 are small hours.
    Night,
    /// ভোর (dawn): as written.
    Morning,
}

fn day_period(w: &str) -> Option<Period> {
    let p = match w {
        "am" | "পূর্বাহ্ণ" | "পূর্বাহ্ন" => Period::Am,
        "pm" | "অপরাহ্ণ" | "অপরাহ্ন" => Period::Pm,
        "সকাল" | "ভোর" => Period::Morning,
        "দুপুর" => Period::Noon,
        "বিকেল" | "বিকাল" | "সন্ধ্যা" => Period::Pm,
        "রাত" => Period::Night,
        _ => return None,
    };
    Some(p)
}

fn apply_period(hour: u32, period: Option<Period>) -> Option<u32> {
    let Some(p) = period else {
        return (hour <= 23).then_some(hour);
    };
    if hour > 12 {
        // "18:31 PM" happens; a 24-hour reading is unambiguous.
        return (hour <= 23).then_some(hour);
    }
    let h = match p {
        Period::Am | Period::Morning => hour % 12,
        Period::Pm => hour % 12 + 12,
        Period::Noon => {
            if hour <= 5 {
                hour + 12
            } else {
                hour
            }
        }
        Period::Night => {
            if hour == 12 {
                0
            } else if hour >= 6 {
                hour + 12
            } else {
                hour
            }
        }
    };
    Some(h)
}

/// Fixed offsets of zone abbreviations that are unambiguous in news pages.
fn zone_abbreviation(w: &str) -> Option<i32> {
    let hours = match w {
        "z" | "utc" | "gmt" | "ut" => 0,
        "est" => -5,
        "edt" => -4,
        "cst" => -6,
        "cdt" => -5,
        "mst" => -7,
        "mdt" => -6,
        "pst" => -8,
        "pdt" => -7,
        "cet" | "mez" => 1,
        "cest" | "mesz" => 2,
        _ => return None,
    };
    Some(hours * 3600)
}

// ------------------------------------------------------------------ parsing

fn num(t: &[Token], i: usize) -> Option<(u32, u8)> {
    match t.get(i).map(|x| &x.tok) {
        Some(Tok::Num(v, n)) => Some((*v, *n)),
        _ => None,
    }
}

fn punct(t: &[Token], i: usize) -> Option<char> {
    match t.get(i).map(|x| &x.tok) {
        Some(Tok::Punct(c)) => Some(*c),
        _ => None,
    }
}

fn word(t: &[Token], i: usize) -> Option<&str> {
    match t.get(i).map(|x| &x.tok) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

/// A calendar day found at a token position: (year, month, day, index after it).
type Day = (i32, u32, u32, usize);

fn skip_while(t: &[Token], mut i: usize, f: impl Fn(&Tok) -> bool) -> usize {
    while let Some(x) = t.get(i) {
        if !f(&x.tok) {
            break;
        }
        i += 1;
    }
    i
}

fn year4(t: &[Token], i: usize) -> Option<i32> {
    match num(t, i) {
        Some((v, 4)) => i32::try_from(v).ok(),
        _ => None,
    }
}

fn small(t: &[Token], i: usize) -> Option<u32> {
    match num(t, i) {
        Some((v, 1 | 2)) => Some(v),
        _ => None,
    }
}

fn day_at(t: &[Token], i: usize, month_first: bool) -> Option<Day> {
    match &t.get(i)?.tok {
        Tok::Num(_, 4) => {
            // 2025-07-12, 2025/07/12, 2025.07.12
            let y = year4(t, i)?;
            let sep = punct(t, i + 1).filter(|c| matches!(c, '-' | '/' | '.'))?;
            let m = small(t, i + 2)?;
            if punct(t, i + 3) != Some(sep) {
                return None;
            }
            let d = small(t, i + 4)?;
            Some((y, m, d, i + 5))
        }
        Tok::Num(v, 8) if i == 0 && t.len() == 1 => {
            // 20250712, only as a whole value
            let v = *v;
            Some((i32::try_from(v / 10000).ok()?, (v / 100) % 100, v % 100, 1))
        }
        Tok::Num(_, 1 | 2) => {
            let a = small(t, i)?;
            if let Some(sep) = punct(t, i + 1).filter(|c| matches!(c, '-' | '/' | '.')) {
                // 12/07/2025, 12.07.2025, 07/12/2025
                if let Some(b) = small(t, i + 2)
                    && punct(t, i + 3) == Some(sep)
                    && let Some(y) = year4(t, i + 4)
                {
                    let (d, m) = if a > 12 {
                        (a, b)
                    } else if b > 12 || (month_first && sep == '/') {
                        (b, a)
                    } else {
                        (a, b)
                    };
                    return Some((y, m, d, i + 5));
                }
            }
            // 12 July 2025, 12th of July, 2025, ১২ই জুলাই ২০২৫, 12. Juli 2025
            let mut j = i + 1;
            j = skip_while(t, j, |x| match x {
                Tok::Punct(c) => matches!(c, '.' | ',' | '-' | '/'),
                Tok::Word(w) => is_ordinal_or_filler(w),
                Tok::Num(..) => false,
            });
            if j > i + 4 {
                return None;
            }
            let m = month_number(word(t, j)?)?;
            let mut k = skip_while(t, j + 1, |x| match x {
                Tok::Punct(c) => matches!(c, '.' | ',' | '-' | '/' | '\''),
                Tok::Word(w) => matches!(w.as_str(), "de" | "del"),
                Tok::Num(..) => false,
            });
            if k > j + 3 {
                return None;
            }
            let y = year4(t, k)?;
            k += 1;
            Some((y, m, a, k))
        }
        Tok::Word(w) => {
            // July 12, 2025; Jul. 12th 2025; আগস্ট ২৯, ২০২০
            let m = month_number(w)?;
            let j = skip_while(t, i + 1, |x| matches!(x, Tok::Punct('.' | ',')));
            let d = small(t, j)?;
            let k = skip_while(t, j + 1, |x| match x {
                Tok::Punct(c) => matches!(c, '.' | ','),
                Tok::Word(w) => is_ordinal_or_filler(w),
                Tok::Num(..) => false,
            });
            if k > j + 3 {
                return None;
            }
            let y = year4(t, k)?;
            Some((y, m, d, k + 1))
        }
        _ => None,
    }
}

/// A time of day found at a token position.
#[derive(Debug, Clone, Copy)]
struct TimeOfDay {
    hour: u32,
    minute: u32,
    /// Seconds east of UTC, when the text gives an offset.
    offset: Option<i32>,
    end: usize,
}

fn time_at(t: &[Token], i: usize) -> Option<TimeOfDay> {
    // A day-period word may come first: "রাত ৯:১৫", "সকাল ১০:৩০".
    let (before, i) = match word(t, i).and_then(day_period) {
        Some(p) => (Some(p), i + 1),
        None => (None, i),
    };
    let h = small(t, i)?;
    let sep_ok = match &t.get(i + 1)?.tok {
        Tok::Punct(':' | '.') => true,
        Tok::Word(w) => w == "h",
        _ => false,
    };
    if !sep_ok {
        return None;
    }
    let mi = match num(t, i + 2)? {
        (v, 2) => v,
        _ => return None,
    };
    let mut j = i + 3;
    // seconds and fractions
    if punct(t, j) == Some(':') && matches!(num(t, j + 1), Some((_, 2))) {
        j += 2;
        if matches!(punct(t, j), Some('.' | ',')) && num(t, j + 1).is_some() {
            j += 2;
        }
    }
    // a.m. / p.m. / AM / পূর্বাহ্ণ / a day-period word after the time
    let mut period = before;
    if let Some(w) = word(t, j) {
        if let Some(p) = day_period(w) {
            period = Some(p);
            j += 1;
        } else if (w == "a" || w == "p")
            && punct(t, j + 1) == Some('.')
            && word(t, j + 2) == Some("m")
        {
            period = Some(if w == "a" { Period::Am } else { Period::Pm });
            j += 3;
            if punct(t, j) == Some('.') {
                j += 1;
            }
        }
    }
    let hour = apply_period(h, period)?;
    if mi > 59 {
        return None;
    }
    // offset: Z, UTC, GMT+6, +06:00, +0600, -5, EST
    let mut offset = None;
    let mut k = j;
    if let Some(w) = word(t, k)
        && let Some(off) = zone_abbreviation(w)
    {
        offset = Some(off);
        k += 1;
    }
    if let Some(sign @ ('+' | '-' | '−')) = punct(t, k) {
        let sign = if sign == '+' { 1 } else { -1 };
        let parsed = match num(t, k + 1) {
            Some((v, 4)) => Some(((v / 100) as i32, (v % 100) as i32, k + 2)),
            Some((v, 1 | 2)) => {
                if punct(t, k + 2) == Some(':') && matches!(num(t, k + 3), Some((_, 2))) {
                    let m = num(t, k + 3).map_or(0, |x| x.0 as i32);
                    Some((v as i32, m, k + 4))
                } else {
                    Some((v as i32, 0, k + 2))
                }
            }
            _ => None,
        };
        // An offset must be a real one; "10:00 - 12" is a range, not a zone.
        if let Some((oh, om, end)) = parsed
            && oh <= 14
            && om < 60
            && (offset.is_some() || matches!(num(t, k + 1), Some((_, 2 | 4))))
        {
            offset = Some(offset.unwrap_or(0) + sign * (oh * 3600 + om * 60));
            k = end;
        }
    }
    if offset.is_some() {
        j = k;
    }
    Some(TimeOfDay {
        hour,
        minute: mi,
        offset,
        end: j,
    })
}

fn year_ok(y: i32, ctx: &DateContext) -> bool {
    let latest = ctx.not_after.map_or(LATEST_YEAR, |n| n.year());
    (EARLIEST_YEAR..=latest).contains(&y)
}

fn to_local(naive: NaiveDateTime, tz: Tz) -> Option<DateTime<FixedOffset>> {
    let resolved = match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => d,
        LocalResult::Ambiguous(a, _) => a,
        // A clock time skipped by a DST change: read it as just after the change.
        LocalResult::None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()?,
    };
    Some(resolved.fixed_offset())
}

/// Express an instant the way the site's readers see it, to the minute.
fn normalise(at: DateTime<FixedOffset>, tz: Tz) -> DateTime<FixedOffset> {
    let at = if at.offset().local_minus_utc() == 0 {
        at.with_timezone(&tz).fixed_offset()
    } else {
        at
    };
    at.with_second(0)
        .and_then(|a| a.with_nanosecond(0))
        .unwrap_or(at)
}

fn build(day: Day, time: Option<TimeOfDay>, start: usize, ctx: &DateContext) -> Option<Found> {
    let (y, m, d, _) = day;
    if !year_ok(y, ctx) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let (naive, offset) = match time {
        Some(t) => (
            date.and_time(NaiveTime::from_hms_opt(t.hour, t.minute, 0)?),
            t.offset,
        ),
        None => (date.and_time(NaiveTime::MIN), None),
    };
    let at = match offset {
        Some(secs) => FixedOffset::east_opt(secs)?
            .from_local_datetime(&naive)
            .single()?,
        None => to_local(naive, ctx.tz)?,
    };
    let at = normalise(at, ctx.tz);
    if let Some(limit) = ctx.not_after
        && at.with_timezone(&Utc) > limit
    {
        // A day without a time is "after" only if the whole day is.
        if time.is_some() || date > limit.with_timezone(&ctx.tz).date_naive() {
            return None;
        }
    }
    Some(Found {
        at,
        has_time: time.is_some(),
        start,
        offset_given: offset,
        wall: naive,
    })
}

/// Every valid date in `s`, in order. Bounded: only the first few thousand tokens are read.
pub(crate) fn find_all(s: &str, ctx: &DateContext) -> Vec<Found> {
    // Month names are matched in NFC (U+09DF য় and য + nukta must agree); callers that
    // use `Found::start` pass NFC text, so offsets stay valid.
    let normalised;
    let s = if is_nfc(s) {
        s
    } else {
        normalised = s.nfc().collect::<String>();
        normalised.as_str()
    };
    let t = tokenize(s, 4000);
    let mut out = Vec::new();
    let mut i = 0;
    // Where the previous date (with its time) ended, so a time is not reused.
    let mut last_end = 0;
    while i < t.len() {
        let Some(day) = day_at(&t, i, ctx.month_first) else {
            i += 1;
            continue;
        };
        let end = day.3;
        // time after the date, past separators and filler words
        let mut time = None;
        for j in end..end + 5 {
            if let Some(tm) = time_at(&t, j) {
                time = Some(tm);
                break;
            }
            match t.get(j).map(|x| &x.tok) {
                Some(Tok::Punct(',' | '|' | '-' | '–' | '—' | '@' | '/' | '·' | '•' | '(')) =>
                    {}
                Some(Tok::Word(w)) if is_date_time_filler(w) => {}
                _ => break,
            }
        }
        // or a time just before it: "18:31, 12 July 2025"
        if time.is_none() {
            for back in 3..=8 {
                let Some(k) = i.checked_sub(back) else { break };
                if k < last_end {
                    break;
                }
                if let Some(tm) = time_at(&t, k)
                    && tm.end <= i
                    && t[tm.end..i].iter().all(|x| match &x.tok {
                        Tok::Punct(c) => matches!(c, ',' | '|' | '-' | '–' | '—' | '·' | '/'),
                        Tok::Word(w) => is_date_time_filler(w) || w == "on",
                        Tok::Num(..) => false,
                    })
                {
                    time = Some(tm);
                    break;
                }
            }
        }
        let start = t.get(i).map_or(0, |x| x.start);
        let next = time.map_or(end, |tm| tm.end.max(end));
        match build(day, time, start, ctx) {
            Some(f) => {
                out.push(f);
                last_end = next;
                i = next;
            }
            None => i += 1,
        }
    }
    out
}

/// The first valid date in `s`.
pub(crate) fn parse_first(s: &str, ctx: &DateContext) -> Option<Found> {
    find_all(s, ctx).into_iter().next()
}

/// Parse one date from a string, e.g. "প্রকাশ: ১২ জুলাই ২০২৫, ১৮:৩১" or
/// "2025-07-12T18:31:00+06:00". Convenience wrapper used by tests and callers that
/// hold a single value.
pub fn parse_date(
    s: &str,
    tz: Tz,
    not_after: Option<DateTime<Utc>>,
) -> Option<DateTime<FixedOffset>> {
    let ctx = DateContext {
        tz,
        not_after,
        month_first: false,
    };
    parse_first(s, &ctx).map(|f| f.at)
}

// ------------------------------------------------------------------ policy

/// Labels that announce the publication date in visible text.
const PUBLISHED_LABELS: &[&str] = &[
    "published",
    "publish date",
    "posted",
    "first published",
    "released",
    "প্রকাশিত",
    "প্রকাশ",
    "প্রকাশের সময়",
    "প্রকাশের সময়",
    "veröffentlicht",
    "publié",
    "publicado",
    "pubblicato",
];

/// Labels that announce an update; checked before the published labels because
/// "সর্বশেষ আপডেট" must not read as a publication date.
const UPDATED_LABELS: &[&str] = &[
    "last updated",
    "last modified",
    "updated",
    "modified",
    "সর্বশেষ আপডেট",
    "শেষ আপডেট",
    "আপডেট",
    "হালনাগাদ",
    "সর্বশেষ সংশোধন",
    "aktualisiert",
    "mis à jour",
    "actualizado",
    "aggiornato",
];

/// Meta names (name/property/itemprop, lowercased) that carry the publication date,
/// strongest first.
const META_PUBLISHED: &[&str] = &[
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "citation_publication_date",
    "citation_date",
    "publish-date",
    "publish_date",
    "publishdate",
    "published-date",
    "published_date",
    "published_time",
    "publication_date",
    "pubdate",
    "article.published",
    "article_date_original",
    "cxenseparse:recs:publishtime",
    "originalpublicationdate",
    "rnews:datepublished",
    "og:published_time",
    "og:pubdate",
    "bt:pubdate",
    "date.published",
    "dcterms.date",
    "dc.date",
    "dcterms.available",
    "date",
    "datecreated",
    "displaydate",
    "pdate",
    "sort_date",
    "release_date",
    "weibo:article:create_at",
];

/// Meta names that carry the last modification.
const META_UPDATED: &[&str] = &[
    "article:modified_time",
    "og:article:modified_time",
    "article:modified",
    "article:updated_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "modified_time",
    "updated_time",
    "sailthru.lastmodified",
    "parsely-updated-date",
    "lastmod",
    "last-modified",
];

/// JSON-LD types whose dates are the page's own.
fn ld_type_rank(ty: &str) -> Option<u8> {
    let ty = ty.rsplit('/').next().unwrap_or(ty);
    let r = match ty {
        "NewsArticle"
        | "Article"
        | "BlogPosting"
        | "ReportageNewsArticle"
        | "AnalysisNewsArticle"
        | "OpinionNewsArticle"
        | "BackgroundNewsArticle"
        | "ReviewNewsArticle"
        | "Report"
        | "LiveBlogPosting"
        | "SocialMediaPosting"
        | "ScholarlyArticle"
        | "TechArticle"
        | "SatiricalArticle"
        | "Review"
        | "Recipe"
        | "AdvertiserContentArticle"
        | "AskPublicNewsArticle"
        | "DiscussionForumPosting"
        | "Blog"
        | "CreativeWork"
        | "VideoObject"
        | "Event" => 0,
        "WebPage" | "ItemPage" | "AboutPage" | "CollectionPage" | "ProfilePage" | "MediaObject" => {
            1
        }
        _ => return None,
    };
    Some(r)
}

/// A date with where it came from; lower `tier` is stronger.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    found: Found,
    tier: u8,
}

fn ld_dates(sig: &PageSignals, ctx: &DateContext) -> (Vec<Candidate>, Vec<Candidate>) {
    let mut ranked: Vec<(u8, usize, &serde_json::Map<String, serde_json::Value>)> = Vec::new();
    for (i, o) in sig.ld_objects().into_iter().enumerate() {
        if let Some(r) = ld_rank(o) {
            ranked.push((r, i, o));
        }
    }
    ranked.sort_by_key(|b| (b.0, b.1));
    let mut published = Vec::new();
    let mut updated = Vec::new();
    for (rank, _, o) in ranked {
        for key in ["datePublished", "dateCreated", "uploadDate", "dateModified"] {
            if let Some(s) = o.get(key).and_then(|v| v.as_str())
                && let Some(found) = parse_first(s, ctx)
            {
                let tier = if key == "datePublished" || key == "dateModified" {
                    rank
                } else {
                    rank + 1
                };
                let out = if key == "dateModified" {
                    &mut updated
                } else {
                    &mut published
                };
                out.push(Candidate { found, tier });
            }
        }
    }
    (published, updated)
}

/// The rank of a JSON-LD object by its `@type` (lower is the page's own article).
pub(crate) fn ld_rank(o: &serde_json::Map<String, serde_json::Value>) -> Option<u8> {
    match o.get("@type") {
        Some(serde_json::Value::String(s)) => ld_type_rank(s),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().and_then(ld_type_rank))
            .min(),
        _ => None,
    }
}

fn meta_dates(
    sig: &PageSignals,
    keys: &[&str],
    tier: u8,
    ctx: &DateContext,
    out: &mut Vec<Candidate>,
) {
    for (rank, key) in keys.iter().enumerate() {
        for (k, v) in &sig.metas {
            if k == key
                && let Some(found) = parse_first(v, ctx)
            {
                // keys earlier in the list are stronger: spread them over two tiers
                let t = if rank < 12 { tier } else { tier + 1 };
                out.push(Candidate { found, tier: t });
            }
        }
    }
}

/// Which label, if any, governs the text at byte `pos` of `line`: the nearest one before it.
fn label_before(line_lower: &str, pos: usize) -> Option<bool> {
    let head = line_lower.get(..pos)?;
    let mut best: Option<(usize, bool)> = None;
    for (labels, is_update) in [(UPDATED_LABELS, true), (PUBLISHED_LABELS, false)] {
        for l in labels {
            if let Some(p) = head.rfind(l) {
                let end = p + l.len();
                // the longest/latest label wins; "সর্বশেষ আপডেট" over "আপডেট" (same end)
                if best.is_none_or(|(e, _)| end > e) {
                    best = Some((end, is_update));
                }
            }
        }
    }
    // The label must be near the date: "Published 3 photos … 12 July" is not a dateline.
    let (end, is_update) = best?;
    (pos.saturating_sub(end) <= 40).then_some(is_update)
}

fn label_dates(sig: &PageSignals, ctx: &DateContext) -> (Vec<Candidate>, Vec<Candidate>) {
    let mut published = Vec::new();
    let mut updated = Vec::new();
    let lines: Vec<&str> = sig.visible_text.lines().collect();
    for (n, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.len() > MAX_LABEL_LINE {
            continue;
        }
        let lower: String = line.to_lowercase().nfc().collect();
        if !PUBLISHED_LABELS
            .iter()
            .chain(UPDATED_LABELS)
            .any(|l| lower.contains(l))
        {
            continue;
        }
        // "প্রকাশ:" on its own line, date on the next
        let mut text = lower.clone();
        if let Some(next) = lines.get(n + 1)
            && next.len() < 120
        {
            text.push(' ');
            text.extend(next.trim().to_lowercase().nfc());
        }
        for f in find_all(&text, ctx) {
            match label_before(&text, f.start) {
                Some(true) => updated.push(Candidate { found: f, tier: 0 }),
                Some(false) => published.push(Candidate { found: f, tier: 0 }),
                None => {}
            }
        }
    }
    (published, updated)
}

/// A date in the URL path: /2025/07/12/, /2025-07-12-, /20250712/.
pub(crate) fn url_date(url: &str, ctx: &DateContext) -> Option<Found> {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = path.split(['?', '#']).next().unwrap_or("");
    let t = tokenize(path, 400);
    for i in 0..t.len() {
        let Some(y) = year4(&t, i) else { continue };
        if !matches!(punct(&t, i + 1), Some('/' | '-' | '_')) {
            continue;
        }
        let Some(m) = small(&t, i + 2) else { continue };
        if !matches!(punct(&t, i + 3), Some('/' | '-' | '_')) {
            continue;
        }
        let Some(d) = small(&t, i + 4) else { continue };
        if let Some(f) = build((y, m, d, i + 5), None, 0, ctx) {
            return Some(f);
        }
    }
    // compact 20250712 between separators
    for (i, x) in t.iter().enumerate() {
        if let Tok::Num(v, 8) = x.tok
            && (i == 0 || matches!(punct(&t, i - 1), Some('/' | '-' | '_')))
        {
            let y = i32::try_from(v / 10000).ok()?;
            if let Some(f) = build((y, (v / 100) % 100, v % 100, 0), None, 0, ctx) {
                return Some(f);
            }
        }
    }
    None
}

fn pick(mut cands: Vec<Candidate>) -> Option<Found> {
    // stable: among equal tiers, document order (the page's own date comes first)
    cands.sort_by_key(|c| c.tier);
    let first = *cands.first()?;
    if first.found.has_time {
        return Some(first.found);
    }
    // A bare day: take the time from a weaker source that names the same day.
    let day = first.found.at.date_naive();
    let timed = cands
        .iter()
        .find(|c| c.found.has_time && c.found.at.date_naive() == day);
    Some(timed.map_or(first.found, |c| c.found))
}

/// The page's own UTC offset, if its dates reveal one.
fn site_offset<'a>(found: impl Iterator<Item = &'a Found> + Clone) -> Option<FixedOffset> {
    let timed = found.filter(|f| f.has_time);
    if let Some(off) = timed
        .clone()
        .find_map(|f| f.offset_given.filter(|&o| o != 0))
    {
        return FixedOffset::east_opt(off);
    }
    let utc: Vec<&Found> = timed
        .clone()
        .filter(|f| f.offset_given == Some(0))
        .collect();
    for bare in timed.filter(|f| f.offset_given.is_none()) {
        for u in &utc {
            let diff = (bare.wall - u.wall).num_seconds();
            // a real offset: non-zero, within ±14 h, a multiple of 15 minutes
            if diff != 0 && diff.abs() <= 14 * 3600 && diff % 900 == 0 {
                return FixedOffset::east_opt(i32::try_from(diff).ok()?);
            }
        }
    }
    None
}

/// Choose the page's publication and update dates.
pub(crate) fn resolve(
    sig: &PageSignals,
    url: Option<&str>,
    ctx: &DateContext,
) -> (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>) {
    let mut published: Vec<Candidate> = Vec::new();
    let mut updated: Vec<Candidate> = Vec::new();

    // Machine-written values with slashes follow the US/JavaScript order (11/01/2023 is
    // 1 November) whatever the page's language.
    let machine = DateContext {
        month_first: true,
        ..*ctx
    };
    let (ld_pub, ld_upd) = ld_dates(sig, &machine);
    published.extend(ld_pub);
    updated.extend(ld_upd);
    meta_dates(sig, META_PUBLISHED, 2, &machine, &mut published);
    meta_dates(sig, META_UPDATED, 2, &machine, &mut updated);

    for tnode in &sig.times {
        let found = tnode
            .datetime
            .as_deref()
            .and_then(|d| parse_first(d, ctx))
            .or_else(|| parse_first(&tnode.text, ctx));
        let Some(found) = found else { continue };
        let hint = tnode.hint.to_ascii_lowercase();
        let is_update = hint.contains("updated") || hint.contains("modified");
        let is_pub = tnode.pubdate
            || hint.contains("publish")
            || hint.contains("posted")
            || hint.contains("created")
            || hint.contains("entry-date")
            || hint.contains("post-date");
        if is_update && !is_pub {
            updated.push(Candidate { found, tier: 4 });
        } else {
            published.push(Candidate {
                found,
                tier: if is_pub { 4 } else { 5 },
            });
        }
    }

    let (lab_pub, lab_upd) = label_dates(sig, ctx);
    published.extend(lab_pub.into_iter().map(|c| Candidate { tier: 4, ..c }));
    updated.extend(lab_upd.into_iter().map(|c| Candidate { tier: 4, ..c }));

    for node in &sig.date_nodes {
        if let Some(found) = parse_first(node, ctx) {
            published.push(Candidate { found, tier: 6 });
        }
    }

    let urls = url
        .into_iter()
        .chain(sig.canonical.as_deref())
        .chain(sig.og_url.as_deref());
    for u in urls {
        if let Some(found) = url_date(u, ctx) {
            published.push(Candidate { found, tier: 7 });
            break;
        }
    }

    // Last resort, as htmldate's extensive search: the first full date in the visible
    // text, skipping copyright lines and long prose (dates mentioned in the story).
    if published.is_empty() {
        let mut budget = 400usize;
        for line in sig.visible_text.lines() {
            let line = line.trim();
            if line.is_empty() || line.len() > MAX_LABEL_LINE || line.contains('©') {
                continue;
            }
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            if let Some(found) = parse_first(line, ctx) {
                published.push(Candidate { found, tier: 8 });
                break;
            }
        }
    }

    // Instants the page gives in UTC are shown in the site's own offset when the page
    // reveals it: a date written with a non-UTC offset, or the same instant written
    // both in UTC and as bare local wall time (their difference is the offset).
    let site_offset = site_offset(published.iter().chain(updated.iter()).map(|c| &c.found));
    let localise = |f: Found| match (f.offset_given, site_offset) {
        (Some(0), Some(off)) if f.has_time => Found {
            at: f.at.with_timezone(&off),
            ..f
        },
        _ => f,
    };
    let published_at = pick(published).map(localise);
    let mut updated_at = pick(updated).map(localise).map(|f| f.at);
    // An "update" at or before publication is no update (CMSs copy the date).
    if let (Some(p), Some(u)) = (published_at, updated_at)
        && u <= p.at
    {
        updated_at = None;
    }
    (published_at.map(|f| f.at), updated_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dhaka() -> Tz {
        chrono_tz::Asia::Dhaka
    }

    fn p(s: &str) -> Option<String> {
        parse_date(s, dhaka(), None).map(|d| d.to_rfc3339())
    }

    #[test]
    fn bengali_dateline_takes_the_zone() {
        assert_eq!(
            p("প্রকাশ: ১২ জুলাই ২০২৫, ১৮:৩১").as_deref(),
            Some("2025-07-12T18:31:00+06:00")
        );
    }

    #[test]
    fn bengali_spaced_colon_and_periods() {
        assert_eq!(
            p("১২ জুলাই ২০২৫, ১০: ৩০").as_deref(),
            Some("2025-07-12T10:30:00+06:00")
        );
        assert_eq!(
            p("শনিবার, আগস্ট ২৯, ২০২০ | ১০:৪৬ পূর্বাহ্ণ").as_deref(),
            Some("2020-08-29T10:46:00+06:00")
        );
        assert_eq!(
            p("১২ জুলাই ২০২৫, রাত ৯:১৫").as_deref(),
            Some("2025-07-12T21:15:00+06:00")
        );
        assert_eq!(
            p("১২ জুলাই ২০২৫ বিকেল ৪:০৫").as_deref(),
            Some("2025-07-12T16:05:00+06:00")
        );
        assert_eq!(
            p("১২ জুলাই ২০২৫ দুপুর ১২:১০").as_deref(),
            Some("2025-07-12T12:10:00+06:00")
        );
        assert_eq!(
            p("০৩ ফেব্রুয়ারী ২০২৪, ০৮:০৫ অপরাহ্ণ").as_deref(),
            Some("2024-02-03T20:05:00+06:00")
        );
        assert_eq!(
            p("২১শে অগাস্ট ২০২৩").as_deref(),
            Some("2023-08-21T00:00:00+06:00")
        );
        assert_eq!(
            p("১ জানুয়ারী ২০২৪").as_deref(),
            Some("2024-01-01T00:00:00+06:00")
        );
    }

    #[test]
    fn bengali_impossible_dates_are_rejected() {
        assert_eq!(p("প্রকাশ: ৩২ জুলাই ২০২৫, ১৮:৩১"), None);
        assert_eq!(p("৩০ ফেব্রুয়ারি ২০২৪"), None);
        assert_eq!(p("১২ জুলাই ২০৯৯"), None);
        assert_eq!(p("১২ জুলাই ২০২৫, ২৫:৩১").map(|s| s.len()), Some(25)); // day kept, bad time dropped
    }

    #[test]
    fn english_forms() {
        assert_eq!(
            p("Published July 12, 2025 at 6:31 p.m.").as_deref(),
            Some("2025-07-12T18:31:00+06:00")
        );
        assert_eq!(
            p("Updated: 12th July 2025, 09:05 AM").as_deref(),
            Some("2025-07-12T09:05:00+06:00")
        );
        assert_eq!(
            p("Sat, 12 Jul 2025 18:31:45 GMT").as_deref(),
            Some("2025-07-13T00:31:00+06:00")
        );
        assert_eq!(
            p("12.07.2025 14:00").as_deref(),
            Some("2025-07-12T14:00:00+06:00")
        );
        assert_eq!(
            p("2025/07/12").as_deref(),
            Some("2025-07-12T00:00:00+06:00")
        );
        assert_eq!(
            p("Jul. 4th, 2021 - 10:00 EDT").as_deref(),
            Some("2021-07-04T10:00:00-04:00")
        );
        assert_eq!(
            p("18:31, 12 July 2025").as_deref(),
            Some("2025-07-12T18:31:00+06:00")
        );
    }

    #[test]
    fn iso_forms_keep_their_offset() {
        assert_eq!(
            p("2025-07-12T18:31:00+06:00").as_deref(),
            Some("2025-07-12T18:31:00+06:00")
        );
        assert_eq!(
            p("2020-08-29T10:46:06-0400").as_deref(),
            Some("2020-08-29T10:46:00-04:00")
        );
        assert_eq!(
            p("2025-07-12T01:45:00.123Z").as_deref(),
            Some("2025-07-12T07:45:00+06:00")
        );
        assert_eq!(
            parse_date("2025-07-12T01:45:00Z", chrono_tz::Asia::Kolkata, None)
                .map(|d| d.to_rfc3339())
                .as_deref(),
            Some("2025-07-12T07:15:00+05:30")
        );
        assert_eq!(p("20250712").as_deref(), Some("2025-07-12T00:00:00+06:00"));
        assert_eq!(
            p("২০২০-০৮-২৯T১০:৪৬:০৬+০১:০০").as_deref(),
            Some("2020-08-29T10:46:00+01:00")
        );
    }

    #[test]
    fn english_impossible_dates_are_rejected() {
        assert_eq!(p("2025-13-01"), None);
        assert_eq!(p("July 32, 2025"), None);
        assert_eq!(p("February 29, 2023"), None);
        assert_eq!(p("2099-01-01T00:00:00Z"), None);
        assert_eq!(p("1850-01-01"), None);
        assert_eq!(p("no date here 12345"), None);
        assert_eq!(p(""), None);
        let limit = "2025-07-12T12:00:00Z".parse::<DateTime<Utc>>().ok();
        assert_eq!(parse_date("2025-07-13", dhaka(), limit), None);
        assert_eq!(parse_date("2025-07-12T13:00:00Z", dhaka(), limit), None);
        assert!(parse_date("2025-07-12", dhaka(), limit).is_some());
    }

    #[test]
    fn ambiguous_numeric_dates() {
        let us = DateContext {
            tz: chrono_tz::UTC,
            not_after: None,
            month_first: true,
        };
        let day =
            |s: &str, c: &DateContext| parse_first(s, c).map(|f| f.at.date_naive().to_string());
        assert_eq!(day("07/12/2025", &us).as_deref(), Some("2025-07-12"));
        assert_eq!(day("13/07/2025", &us).as_deref(), Some("2025-07-13"));
        let other = DateContext {
            month_first: false,
            ..us
        };
        assert_eq!(day("07/12/2025", &other).as_deref(), Some("2025-12-07"));
    }

    #[test]
    fn url_dates() {
        let ctx = DateContext {
            tz: dhaka(),
            not_after: None,
            month_first: false,
        };
        let d = |u: &str| url_date(u, &ctx).map(|f| f.at.date_naive().to_string());
        assert_eq!(
            d("https://x.com/2025/07/12/story").as_deref(),
            Some("2025-07-12")
        );
        assert_eq!(
            d("https://x.com/news/2025-07-12-story").as_deref(),
            Some("2025-07-12")
        );
        assert_eq!(
            d("https://x.com/a/20250712/b").as_deref(),
            Some("2025-07-12")
        );
        assert_eq!(d("https://x.com/2020/08/23646/"), None);
        assert_eq!(d("https://2025.com/07/12"), None);
    }

    #[test]
    fn labels_pick_published_and_updated() {
        let sig = PageSignals {
            visible_text: "প্রকাশ: ১২ জুলাই ২০২৫, ১০: ৩০\nআপডেট: ১২ জুলাই ২০২৫, ১৪: ০৫\n".into(),
            ..PageSignals::default()
        };
        let ctx = DateContext {
            tz: dhaka(),
            not_after: None,
            month_first: false,
        };
        let (p, u) = resolve(&sig, None, &ctx);
        assert_eq!(
            p.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-07-12T10:30:00+06:00")
        );
        assert_eq!(
            u.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-07-12T14:05:00+06:00")
        );

        let sig = PageSignals {
            visible_text: "Published: 12 July 2025 | Last updated: 14 July 2025 08:00".into(),
            ..PageSignals::default()
        };
        let (p, u) = resolve(&sig, None, &ctx);
        assert_eq!(
            p.map(|d| d.date_naive().to_string()).as_deref(),
            Some("2025-07-12")
        );
        assert_eq!(
            u.map(|d| d.to_rfc3339()).as_deref(),
            Some("2025-07-14T08:00:00+06:00")
        );
    }

    #[test]
    fn junk_never_panics() {
        for s in [
            "\u{0}\u{ffff}::::////",
            "99999999999999999999999-99-99",
            "১২ জুলাই",
            "12:",
            "2025-",
            "+99:99",
            "July",
        ] {
            let _ = p(s);
        }
    }
}
