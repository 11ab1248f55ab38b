//! Publication and update dates of a page.
//!
//! This module owns two things: a forgiving parser that reads one date (with its time
//! and offset when given) out of free text in English, Bengali and a few dozen other
//! languages' month names and numeric orders, and the policy that picks `published_at` /
//! `updated_at` from the page's signals.
//!
//! The policy (`choose_published`) trusts machine-readable dates first — JSON-LD of
//! the article, `<meta>` / microdata / RDFa names, `<time>` elements marked published —
//! but checks them against what readers see: `<time>` text, labelled datelines
//! ("Published", "Stand", "প্রকাশ", …), elements whose class says date, and the URL.
//! The strongest machine date the page also shows wins; a page that shows only its update
//! date presents that as its date; generic values ("date", `dateCreated`) give way to the
//! visible dateline when they disagree. Without machine dates it falls back, in order, to
//! a labelled dateline, the URL, date elements (not in links, navigation or comments),
//! the first date in the visible text, and dates in scripts.
//!
//! Dates without an offset take the caller's time zone. Instants given in UTC are
//! re-expressed in that zone (same instant, the offset readers of the site see), or in
//! the site's own offset when the page reveals it, and all times are kept to the minute:
//! pages show minutes, and the seconds in machine readable copies often disagree between
//! the copies of one page. Impossible dates (day 32, month 13, year 2099, later than
//! `not_after`) are rejected, never guessed.

use std::sync::LazyLock;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};
use chrono::{LocalResult, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use unicode_normalization::UnicodeNormalization;

use super::fragments::Fragments;
use super::page::{PageSignals, Place};

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
        // Arabic-Indic and Persian digits
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
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
        // Indonesian, Turkish and Polish names that differ from the above
        "maret" | "mart" | "marca" => 3,
        "agustus" | "ağustos" | "sierpnia" => 8,
        "desember" | "aralık" | "grudnia" => 12,
        "ocak" | "stycznia" => 1,
        "şubat" | "lutego" => 2,
        "nisan" | "kwietnia" => 4,
        "mayıs" | "maja" => 5,
        "haziran" | "czerwca" => 6,
        "temmuz" | "lipca" => 7,
        "eylül" | "września" => 9,
        "ekim" | "października" => 10,
        "kasım" | "listopada" => 11,
        // Russian (nominative and genitive) and Ukrainian (genitive)
        "январь" | "января" | "січня" => 1,
        "февраль" | "февраля" | "лютого" => 2,
        "март" | "марта" | "березня" => 3,
        "апрель" | "апреля" | "квітня" => 4,
        "мая" | "травня" => 5,
        "июнь" | "июня" | "червня" => 6,
        "июль" | "июля" | "липня" => 7,
        "август" | "августа" | "серпня" => 8,
        "сентябрь" | "сентября" | "вересня" => 9,
        "октябрь" | "октября" | "жовтня" => 10,
        "ноябрь" | "ноября" => 11,
        "декабрь" | "декабря" | "грудня" => 12,
        // Arabic: Egyptian/Gulf names and the single-word Levantine ones
        "يناير" => 1,
        "فبراير" | "شباط" => 2,
        "مارس" | "آذار" => 3,
        "أبريل" | "ابريل" | "إبريل" | "نيسان" => 4,
        "مايو" | "أيار" => 5,
        "يونيو" | "حزيران" => 6,
        "يوليو" | "تموز" => 7,
        "أغسطس" | "اغسطس" => 8,
        "سبتمبر" | "أيلول" => 9,
        "أكتوبر" | "اكتوبر" => 10,
        "نوفمبر" => 11,
        "ديسمبر" => 12,
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
            let y = year4(t, i)?;
            // 2020年7月3日 (Chinese, Japanese), 2020년 7월 3일 (Korean)
            if let Some(w) = word(t, i + 1)
                && matches!(w, "年" | "년")
            {
                let m = small(t, i + 2)?;
                if !word(t, i + 3).is_some_and(|w| w.starts_with(['月', '월'])) {
                    return None;
                }
                let d = small(t, i + 4)?;
                if !word(t, i + 5).is_some_and(|w| w.starts_with(['日', '일'])) {
                    return None;
                }
                return Some((y, m, d, i + 6));
            }
            // 2025-07-12, 2025/07/12, 2025.07.12
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
            if let Some(sep) = punct(t, i + 1).filter(|c| matches!(c, '-' | '/' | '.' | '|')) {
                // 12/07/2025, 12.07.2025, 07/12/2025; 12.07.25 (two digits each, not
                // part of a longer dotted run such as a version number)
                let two_digit_year = || {
                    let yy = match num(t, i + 4) {
                        Some((v, 2)) => v,
                        _ => return None,
                    };
                    let padded = |k: usize| matches!(num(t, k), Some((_, 2)));
                    let run_before =
                        i >= 2 && punct(t, i - 1) == Some(sep) && num(t, i - 2).is_some();
                    let run_after = punct(t, i + 5) == Some(sep) && num(t, i + 6).is_some();
                    if matches!(sep, '-' | '|')
                        || !padded(i)
                        || !padded(i + 2)
                        || run_before
                        || run_after
                    {
                        return None;
                    }
                    match yy {
                        0..=39 => Some(2000 + yy as i32),
                        90..=99 => Some(1900 + yy as i32),
                        _ => None,
                    }
                };
                if let Some(b) = small(t, i + 2)
                    && punct(t, i + 3) == Some(sep)
                    && let Some(y) = year4(t, i + 4).or_else(two_digit_year)
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
                // "24 نيسان / أبريل 2020": one month in two calendars' names
                Tok::Word(w) => matches!(w.as_str(), "de" | "del") || month_number(w) == Some(m),
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
    let s = crate::canon::nfc(s);
    let t = tokenize(&s, 4000);
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
    "প্রকাশিত",
    "প্রকাশ",
    "প্রকাশের সময়",
    "প্রকাশের সময়",
    "veröffentlicht",
    "publié",
    "publicado",
    "pubblicato",
    "mis en ligne",
    // German "Stand" (as of) and "Datum" head the only date many official pages show
    "stand",
    "datum",
    "erstellt",
    "fecha",
    "data publicação",
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
        | "CreativeWork" => 0,
        "WebPage" | "ItemPage" | "AboutPage" | "CollectionPage" | "ProfilePage" => 1,
        // things shown on the page, dated on their own
        "VideoObject" | "MediaObject" | "Event" => LD_MEDIA,
        _ => return None,
    };
    Some(r)
}

/// Where a candidate date came from. The order is the default strength, strongest
/// first; `choose_published` refines it with what readers see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// JSON-LD `datePublished` / `dateModified` of the page's article.
    LdArticle,
    /// `<meta>` and itemprop names that mean publication or modification.
    Meta,
    /// `<time pubdate>` or a `<time>` whose class says published (or updated).
    TimeMarked,
    /// JSON-LD `dateCreated`, dates of WebPage objects, the less common meta names.
    LdOther,
    /// Generic meta names ("date", "dc.date"): often the time the page was generated.
    MetaWeak,
    /// A labelled dateline in the visible text ("Published …", "প্রকাশ …").
    Label,
    /// A date in the URL path.
    Url,
    /// A plain `<time>` element.
    Time,
    /// An element whose class or id says date.
    DateNode,
    /// Dates of media objects (an embedded video's upload date) and image paths.
    Media,
    /// The first date in the visible text.
    Text,
    /// A date in script text.
    Script,
}

/// A date with where it came from.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    found: Found,
    kind: Kind,
    /// Rank within its kind (e.g. the position of a meta name in its list).
    rank: u8,
    /// Where the element sits, for `<time>` and date elements.
    place: Option<Place>,
}

impl Candidate {
    fn new(found: Found, kind: Kind, rank: u8) -> Self {
        Self {
            found,
            kind,
            rank,
            place: None,
        }
    }
}

/// The kinds whose values are written for machines: strongest evidence of the page's
/// own date, yet the ones CMSs fill with stale or shifted values.
fn is_structured(k: Kind) -> bool {
    matches!(
        k,
        Kind::LdArticle | Kind::Meta | Kind::TimeMarked | Kind::LdOther | Kind::MetaWeak
    )
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
            let Some(s) = o.get(key).and_then(|v| v.as_str()) else {
                continue;
            };
            let Some(found) = parse_first(s, ctx) else {
                continue;
            };
            let kind = match (rank, key) {
                (LD_MEDIA, _) => Kind::Media,
                (0, "datePublished" | "dateModified") => Kind::LdArticle,
                _ => Kind::LdOther,
            };
            let out = if key == "dateModified" {
                &mut updated
            } else {
                &mut published
            };
            out.push(Candidate::new(found, kind, rank));
        }
    }
    // Types outside the list (HowTo, Product, Movie…) still date the page when nothing
    // else in the JSON-LD does.
    if published.is_empty() {
        for o in sig.ld_objects() {
            for key in ["datePublished", "dateModified"] {
                if let Some(found) = o
                    .get(key)
                    .and_then(|v| v.as_str())
                    .and_then(|s| parse_first(s, ctx))
                {
                    let out = if key == "dateModified" {
                        &mut updated
                    } else {
                        &mut published
                    };
                    out.push(Candidate::new(found, Kind::LdOther, LD_MEDIA + 1));
                }
            }
        }
    }
    (published, updated)
}

/// JSON-LD rank of objects that are not the page itself but something shown on it.
const LD_MEDIA: u8 = 2;

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

fn meta_dates(sig: &PageSignals, keys: &[&str], ctx: &DateContext, out: &mut Vec<Candidate>) {
    for (rank, key) in keys.iter().enumerate() {
        for (k, v) in &sig.metas {
            if k == key
                && let Some(found) = parse_first(v, ctx)
            {
                let kind = if rank < STRONG_META_NAMES {
                    Kind::Meta
                } else if key.contains("pub") || key.contains("issued") {
                    Kind::LdOther
                } else {
                    Kind::MetaWeak
                };
                out.push(Candidate::new(
                    found,
                    kind,
                    u8::try_from(rank).unwrap_or(u8::MAX),
                ));
            }
        }
    }
}

/// How many names at the head of `META_PUBLISHED` / `META_UPDATED` count as strong.
const STRONG_META_NAMES: usize = 12;

/// Every published and updated label, for a quick test that a line holds none.
static ANY_LABEL: LazyLock<Fragments> = LazyLock::new(|| {
    let labels: Vec<&str> = PUBLISHED_LABELS
        .iter()
        .chain(UPDATED_LABELS)
        .copied()
        .collect();
    Fragments::new(&labels)
});

/// Where `label` occurs in `hay` as a whole word: "stand" in "Stand: 09.10.2017", not
/// in "understand"; "প্রকাশ" in "প্রকাশঃ", not in "প্রকাশিত" (which has its own entry).
fn find_label<'a>(hay: &'a str, label: &'a str) -> impl Iterator<Item = usize> + 'a {
    hay.match_indices(label).map(|(p, _)| p).filter(move |&p| {
        let before = hay[..p].chars().next_back();
        let after = hay[p + label.len()..].chars().next();
        let joins =
            |c: char| (is_word_char(c) && c != '\u{0983}') || matches!(c, '\u{200C}' | '\u{200D}');
        !before.is_some_and(joins) && !after.is_some_and(joins)
    })
}

/// Which label, if any, governs the text at byte `pos` of `line`: the nearest one before it.
fn label_before(line_lower: &str, pos: usize) -> Option<bool> {
    let head = line_lower.get(..pos)?;
    let mut best: Option<(usize, usize, bool)> = None;
    for (labels, is_update) in [(UPDATED_LABELS, true), (PUBLISHED_LABELS, false)] {
        for l in labels {
            if let Some(p) = find_label(head, l).last() {
                let end = p + l.len();
                // the longest/latest label wins; "সর্বশেষ আপডেট" over "আপডেট" (same end)
                if best.is_none_or(|(_, e, _)| end > e) {
                    best = Some((p, end, is_update));
                }
            }
        }
    }
    // The label must be near the date: "Published 3 photos … 12 July" is not a dateline.
    let (start, end, is_update) = best?;
    // "Aktuelles Datum", "current date": the clock of the page, not its date
    let mut from = start.saturating_sub(16);
    while !head.is_char_boundary(from) {
        from -= 1;
    }
    let before = &head[from..start];
    if ["aktuell", "current", "today", "heute"]
        .iter()
        .any(|w| before.contains(w))
    {
        return None;
    }
    (pos.saturating_sub(end) <= 40).then_some(is_update)
}

fn label_dates(sig: &PageSignals, ctx: &DateContext) -> (Vec<Candidate>, Vec<Candidate>) {
    let mut published = Vec::new();
    let mut updated = Vec::new();
    let lines: Vec<&str> = sig.visible_text.lines().map(str::trim).collect();
    for (n, &line) in lines.iter().enumerate() {
        if line.is_empty() || line.len() > MAX_LABEL_LINE {
            continue;
        }
        // Cheap test first (most lines hold no date): a dateline has digits, or its date
        // is on the next line.
        if !has_digit(line) && !lines.get(n + 1).is_some_and(|next| has_digit(next)) {
            continue;
        }
        let lower: String = line.to_lowercase().nfc().collect();
        // one pass for "any label at all" before the whole-word test of each
        if !ANY_LABEL.found_in(&lower)
            || !PUBLISHED_LABELS
                .iter()
                .chain(UPDATED_LABELS)
                .any(|l| find_label(&lower, l).next().is_some())
        {
            continue;
        }
        // "প্রকাশ:" on its own line, date on the next
        let mut text = lower;
        if let Some(next) = lines.get(n + 1)
            && next.len() < 120
        {
            text.push(' ');
            text.extend(next.to_lowercase().nfc());
        }
        for f in find_all(&text, ctx) {
            match label_before(&text, f.start) {
                Some(true) => updated.push(Candidate::new(f, Kind::Label, 0)),
                Some(false) => published.push(Candidate::new(f, Kind::Label, 0)),
                None => {}
            }
        }
    }
    (published, updated)
}

/// True if `s` holds a digit the date parser reads.
fn has_digit(s: &str) -> bool {
    if s.is_ascii() {
        s.bytes().any(|b| b.is_ascii_digit())
    } else {
        s.chars().any(|c| digit_value(c).is_some())
    }
}

/// A date in the URL path: /2025/07/12/, /2025-07-12-, /20250712/.
pub(crate) fn url_date(url: &str, ctx: &DateContext) -> Option<Found> {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = path.split(['?', '#']).next().unwrap_or("");
    let t = tokenize(path, 400);
    // One separator throughout, and the date ends there: "/2023/10/3-fragen" is a
    // month folder and a title starting with a number, not 3 October.
    let sep_at = |i: usize| punct(&t, i).filter(|c| matches!(c, '/' | '-' | '_'));
    let ends = |i: usize, sep: char| match t.get(i).map(|x| &x.tok) {
        None => true,
        Some(Tok::Punct(c)) => *c == sep || matches!(c, '/' | '.'),
        _ => false,
    };
    for i in 0..t.len() {
        let Some(sep) = sep_at(i + 1) else { continue };
        if sep_at(i + 3) != Some(sep) || !ends(i + 5, sep) {
            continue;
        }
        // /2025/07/12/ and, less often, /12-07-2025
        let day = match (small(&t, i), small(&t, i + 2), small(&t, i + 4)) {
            (_, Some(m), Some(d)) if let Some(y) = year4(&t, i) => (y, m, d, i + 5),
            (Some(d), Some(m), _)
                if sep != '/'
                    && let Some(y) = year4(&t, i + 4) =>
            {
                (y, m, d, i + 5)
            }
            _ => continue,
        };
        if let Some(f) = build(day, None, 0, ctx) {
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

/// True when `shown`, a date readers see, names the day of `c`. A UTC instant matches
/// the days it falls on anywhere from UTC−12 to UTC+14: the page shows local time.
fn shows_day(c: &Found, shown: &Found) -> bool {
    let day = shown.wall.date();
    if c.wall.date() == day {
        return true;
    }
    if c.has_time && c.offset_given == Some(0) {
        let utc = c.at.naive_utc();
        return (utc - Duration::hours(12)).date() <= day
            && day <= (utc + Duration::hours(14)).date();
    }
    false
}

/// True for an element in a link, navigation, an aside or the comments: its date is
/// another page's or a reader's.
fn elsewhere(place: Option<Place>) -> bool {
    place.is_some_and(|p| p.linked || p.aside)
}

/// The date readers see as the page's own: a labelled dateline, else the first date
/// element or `<time>` that is not another story's or a comment's.
fn visible_choice(cands: &[Candidate]) -> Option<&Candidate> {
    cands.iter().find(|c| c.kind == Kind::Label).or_else(|| {
        cands
            .iter()
            .filter(|c| matches!(c.kind, Kind::Time | Kind::DateNode) && !elsewhere(c.place))
            // document order (stable: an element's own text before its attributes)
            .min_by_key(|c| c.place.map_or(usize::MAX, |p| p.pos))
    })
}

/// The publication date. Machine-readable dates come first, checked against the dates
/// readers see: the strongest one shown on the page wins. When the page shows none of
/// them, it may show its update date as its date (the original is hidden, often a
/// stale CMS value): then that shown date is the one the page presents, and is taken.
/// Weak machine values ("date", `dateCreated`) that the page contradicts give way to
/// the visible dateline. Pages without machine-readable dates fall back to the
/// labelled dateline, the URL, date elements, and last the text and scripts.
fn choose_published(
    published: &[Candidate],
    updated: &[Candidate],
    seen: &[Found],
) -> Option<Found> {
    let shown = |c: &&Candidate| seen.iter().any(|s| shows_day(&c.found, s));
    let sorted = |cands: &[Candidate]| {
        let mut v: Vec<Candidate> = cands
            .iter()
            .filter(|c| is_structured(c.kind))
            .copied()
            .collect();
        // stable: within a kind and rank, document order
        v.sort_by_key(|c| (c.kind, c.rank));
        v
    };
    let structured = sorted(published);
    if let Some(first) = structured.first() {
        if first.kind != Kind::MetaWeak {
            if let Some(c) = structured.iter().find(shown) {
                return Some(with_time(c.found, published));
            }
            // the first date the page shows (its `<time>`s first, then labelled datelines,
            // then date elements) is its update: that is its dateline
            if let Some(s) = seen.first()
                && let Some(u) = sorted(updated).iter().find(|u| shows_day(&u.found, s))
            {
                return Some(with_time(u.found, updated));
            }
            return Some(with_time(first.found, published));
        }
        // Only weak machine values: the visible dateline decides.
        if let Some(v) = visible_choice(published).or_else(|| visible_choice(updated)) {
            let agrees = structured.iter().find(|c| shows_day(&c.found, &v.found));
            return Some(with_time(agrees.map_or(v.found, |c| c.found), published));
        }
        return Some(with_time(first.found, published));
    }
    let chosen = visible_choice(published)
        .filter(|c| c.kind == Kind::Label)
        .or_else(|| published.iter().find(|c| c.kind == Kind::Url))
        .or_else(|| visible_choice(published))
        .or_else(|| {
            published
                .iter()
                .find(|c| matches!(c.kind, Kind::Time | Kind::DateNode))
        })
        // a page that shows only when it was last updated
        .or_else(|| visible_choice(updated))
        .or_else(|| {
            [Kind::Media, Kind::Text, Kind::Script]
                .into_iter()
                .find_map(|k| published.iter().find(|c| c.kind == k))
        })?;
    Some(with_time(chosen.found, published))
}

/// The days of `seen`, most frequent first (ties in document order).
fn days_by_frequency(seen: &[Found]) -> Vec<NaiveDate> {
    let mut counts: Vec<(NaiveDate, usize)> = Vec::new();
    for s in seen {
        let day = s.wall.date();
        match counts.iter_mut().find(|(d, _)| *d == day) {
            Some((_, n)) => *n += 1,
            None => counts.push((day, 1)),
        }
    }
    // stable: equal counts keep their order
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.into_iter().map(|(d, _)| d).collect()
}

/// A UTC instant whose day the page shows nowhere (not in its URL, not to readers),
/// while it shows a neighbouring one: the page is in another time zone. Re-express the
/// instant in the nearest whole-hour offset that puts it on the shown day (the URL's day
/// first, else the day shown most often); the instant stays exact.
fn reconcile_day(f: Found, evidence: &[NaiveDate]) -> Found {
    if f.offset_given != Some(0) || !f.has_time {
        return f;
    }
    let own = f.at.date_naive();
    // the page shows the instant's own day somewhere: nothing to reconcile
    if evidence.contains(&own) {
        return f;
    }
    let Some(&day) = evidence.first() else {
        return f;
    };
    let utc = f.at.naive_utc();
    let secs = i64::from(utc.time().num_seconds_from_midnight());
    let hours = if day == utc.date() + Duration::days(1) {
        // smallest whole hour that reaches midnight
        (86_400 - secs + 3599) / 3600
    } else if day == utc.date() - Duration::days(1) {
        -(secs / 3600 + 1)
    } else if day == utc.date() {
        0
    } else {
        return f;
    };
    if !(-12..=14).contains(&hours) {
        return f;
    }
    let Some(off) = i32::try_from(hours * 3600)
        .ok()
        .and_then(FixedOffset::east_opt)
    else {
        return f;
    };
    Found {
        at: f.at.with_timezone(&off),
        ..f
    }
}

/// A bare day takes its time of day from another candidate naming the same day.
fn with_time(chosen: Found, cands: &[Candidate]) -> Found {
    if chosen.has_time {
        return chosen;
    }
    let day = chosen.at.date_naive();
    let mut timed: Vec<&Candidate> = cands
        .iter()
        .filter(|c| c.found.has_time && c.found.at.date_naive() == day)
        .collect();
    timed.sort_by_key(|c| (c.kind, c.rank));
    timed.first().map_or(chosen, |c| c.found)
}

/// Choose the page's publication and update dates.
pub(crate) fn resolve(
    sig: &PageSignals,
    url: Option<&str>,
    ctx: &DateContext,
) -> (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>) {
    // Machine-written values with slashes follow the US/JavaScript order (11/01/2023 is
    // 1 November) whatever the page's language.
    let machine = DateContext {
        month_first: true,
        ..*ctx
    };
    let (mut published, mut updated) = ld_dates(sig, &machine);
    meta_dates(sig, META_PUBLISHED, &machine, &mut published);
    meta_dates(sig, META_UPDATED, &machine, &mut updated);
    // Dates readers see on the page, to confirm machine-readable ones.
    let mut seen: Vec<Found> = Vec::new();

    for (n, tnode) in sig.times.iter().enumerate() {
        let place = sig.time_places.get(n).copied();
        let shown = parse_first(&tnode.text, ctx);
        let Some(found) = tnode
            .datetime
            .as_deref()
            .and_then(|d| parse_first(d, ctx))
            .or(shown)
        else {
            continue;
        };
        let hint = tnode.hint.to_ascii_lowercase();
        let is_update = hint.contains("updated") || hint.contains("modified");
        if let Some(s) = shown
            && !elsewhere(place)
            && !is_update
        {
            seen.push(s);
        }
        let is_pub = tnode.pubdate
            || hint.contains("publish")
            || hint.contains("posted")
            || hint.contains("created")
            || hint.contains("entry-date")
            || hint.contains("post-date");
        let kind = if (is_pub || is_update) && !elsewhere(place) {
            Kind::TimeMarked
        } else {
            Kind::Time
        };
        let c = Candidate {
            place,
            ..Candidate::new(found, kind, 0)
        };
        if is_update && !is_pub {
            updated.push(c);
        } else {
            published.push(c);
        }
    }

    // Several "published" times naming different days are a list of posts, not the
    // article's own dateline.
    let marked_days: Vec<NaiveDate> = published
        .iter()
        .filter(|c| c.kind == Kind::TimeMarked)
        .map(|c| c.found.wall.date())
        .collect();
    if marked_days.windows(2).any(|w| w[0] != w[1]) {
        for c in published.iter_mut().filter(|c| c.kind == Kind::TimeMarked) {
            c.kind = Kind::Time;
        }
    }

    let (lab_pub, lab_upd) = label_dates(sig, ctx);
    seen.extend(lab_pub.iter().map(|c| c.found));
    published.extend(lab_pub);
    updated.extend(lab_upd);

    for (n, node) in sig.date_nodes.iter().enumerate() {
        if let Some(found) = parse_first(node, ctx) {
            let place = sig.date_node_places.get(n).copied();
            let c = Candidate {
                place,
                ..Candidate::new(found, Kind::DateNode, 0)
            };
            // "Last updated: …" in the element, or a class saying so
            let lower: String = node.to_lowercase().nfc().collect();
            let labelled = find_all(&lower, ctx)
                .first()
                .and_then(|f| label_before(&lower, f.start));
            if labelled == Some(true) || (labelled.is_none() && place.is_some_and(|p| p.update)) {
                updated.push(c);
                continue;
            }
            if !elsewhere(place) {
                seen.push(found);
            }
            published.push(c);
        }
    }

    let urls = url
        .into_iter()
        .chain(sig.canonical.as_deref())
        .chain(sig.og_url.as_deref());
    for u in urls {
        if let Some(found) = url_date(u, ctx) {
            // the URL confirms a machine-readable date as much as a visible one does
            seen.push(found);
            published.push(Candidate::new(found, Kind::Url, 0));
            break;
        }
    }
    for key in ["og:image", "twitter:image"] {
        if let Some(found) = sig.meta(key).and_then(|u| url_date(u, ctx)) {
            published.push(Candidate::new(found, Kind::Media, 1));
            break;
        }
    }

    // Last resorts, as htmldate's extensive search: the first full date in the visible
    // text, skipping copyright lines and long prose (dates mentioned in the story), then
    // dates in scripts.
    if published.is_empty() {
        let mut budget = 400usize;
        for line in sig.visible_text.lines() {
            let mut line = line.trim();
            if line.len() > MAX_LABEL_LINE {
                // prose, but a dateline may open it: "27.1.2022 - Bei der Erinnerung …"
                let mut end = 24;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                line = &line[..end];
            }
            if line.is_empty() || line.contains('©') {
                continue;
            }
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            if let Some(found) = parse_first(line, ctx) {
                published.push(Candidate::new(found, Kind::Text, 0));
                break;
            }
        }
    }
    if published.is_empty() {
        // A key naming publication before the value ("published_at": "…") first; values
        // of the page's clock (server time, cache and expiry stamps) never: that is the
        // time of the request, not of the article.
        let key_rank = |before: &str| {
            let key = before.to_ascii_lowercase();
            let clock = [
                "now", "current", "server", "cache", "generat", "expire", "render",
            ];
            if clock.iter().any(|w| key.contains(w)) {
                None
            } else if key.contains("publish") || key.contains("pubdate") {
                Some(0)
            } else if key.contains("creat") || key.contains("upload") || key.contains("posted") {
                Some(1)
            } else {
                Some(2)
            }
        };
        let best = sig
            .script_dates
            .iter()
            .filter_map(|snippet| {
                // the window starts up to 40 bytes before the date
                match parse_first(snippet, &machine) {
                    Some(found) => {
                        Some((key_rank(snippet.get(..found.start).unwrap_or(""))?, found))
                    }
                    // "…/20200428/story" in a URL
                    None => url_date(snippet, &machine).map(|found| (2, found)),
                }
            })
            .min_by_key(|(rank, _)| *rank);
        if let Some((rank, found)) = best {
            published.push(Candidate::new(found, Kind::Script, rank));
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
    // The URL's day is the page's own; failing that, the days readers see.
    let url_day: Vec<NaiveDate> = published
        .iter()
        .filter(|c| c.kind == Kind::Url)
        .map(|c| c.found.wall.date())
        .collect();
    let evidence = if url_day.is_empty() {
        days_by_frequency(&seen)
    } else {
        url_day
    };
    let published_at = choose_published(&published, &updated, &seen)
        .map(localise)
        .map(|f| match site_offset {
            Some(_) => f,
            None => reconcile_day(f, &evidence),
        });
    updated.sort_by_key(|c| (c.kind, c.rank));
    let mut updated_at = updated
        .first()
        .map(|c| with_time(c.found, &updated))
        .map(localise)
        .map(|f| f.at);
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
    use crate::extract::page::TimeNode;

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

    fn utc_ctx() -> DateContext {
        DateContext {
            tz: chrono_tz::UTC,
            not_after: None,
            month_first: false,
        }
    }

    fn day(s: &str) -> Option<String> {
        parse_first(s, &utc_ctx()).map(|f| f.at.date_naive().to_string())
    }

    fn rfc(d: Option<DateTime<FixedOffset>>) -> Option<String> {
        d.map(|d| d.to_rfc3339())
    }

    #[test]
    fn bengali_numeric_and_thirteenth_month_rejected() {
        assert_eq!(
            p("প্রকাশিত: ১২/০৭/২০২৫").as_deref(),
            Some("2025-07-12T00:00:00+06:00")
        );
        assert_eq!(p("২০২৫-১৩-০১"), None);
        assert_eq!(p("১৩/১৩/২০২৫"), None);
        assert_eq!(p("০০ জুলাই ২০২৫"), None);
        assert_eq!(p("৩১ জুন ২০২৫"), None);
        assert_eq!(p("১২ জুলাই ২১০০"), None);
    }

    #[test]
    fn english_wrong_dates_rejected() {
        assert_eq!(p("32 July 2025"), None);
        assert_eq!(p("13/13/2025"), None);
        assert_eq!(p("June 31, 2025"), None);
        assert_eq!(p("Published 2099-07-12"), None);
        assert_eq!(p("12 July 2025, 24:30").map(|s| s.len()), Some(25));
    }

    #[test]
    fn more_scripts_and_calendars() {
        assert_eq!(day("2020年07月03日 17:16").as_deref(), Some("2020-07-03"));
        assert_eq!(day("2020년 7월 3일").as_deref(), Some("2020-07-03"));
        assert_eq!(day("15 августа 2016, 13:43").as_deref(), Some("2016-08-15"));
        assert_eq!(day("7 жовтня 2021").as_deref(), Some("2021-10-07"));
        assert_eq!(
            day("تم نشره الجمعة 24 نيسان / أبريل 2020").as_deref(),
            Some("2020-04-24")
        );
        assert_eq!(
            day("الأربعاء، 07 أكتوبر 2020").as_deref(),
            Some("2020-10-07")
        );
        assert_eq!(day("٢٤-٠٤-٢٠٢٠").as_deref(), Some("2020-04-24"));
        assert_eq!(day("12 Ocak 2021").as_deref(), Some("2021-01-12"));
        assert_eq!(day("26 | 01 | 2022").as_deref(), Some("2022-01-26"));
        // a month word must be followed by a month, not by text
        assert_eq!(day("2020年 の 7月"), None);
    }

    #[test]
    fn two_digit_years_only_in_padded_dotted_dates() {
        assert_eq!(day("28.01.22").as_deref(), Some("2022-01-28"));
        assert_eq!(day("Party, 30.10.23").as_deref(), Some("2023-10-30"));
        assert_eq!(day("02/12/99").as_deref(), Some("1999-12-02"));
        // version numbers and ranges are not dates
        assert_eq!(day("version 1.2.19"), None);
        assert_eq!(day("release 10.12.19.4"), None);
        assert_eq!(day("10-12-19"), None);
        assert_eq!(day("01.02.55"), None);
    }

    #[test]
    fn url_dates_need_one_separator_and_a_whole_day() {
        let ctx = utc_ctx();
        let d = |u: &str| url_date(u, &ctx).map(|f| f.at.date_naive().to_string());
        assert_eq!(d("https://x.de/2023/10/3-fragen-an-tina/"), None);
        assert_eq!(
            d("https://x.de/home/2017/7/12/unter-uns").as_deref(),
            Some("2017-07-12")
        );
        assert_eq!(
            d("https://x.de/meldungen/29-10-2021").as_deref(),
            Some("2021-10-29")
        );
        assert_eq!(d("https://x.de/a/12/10/2021/b"), None);
        assert_eq!(
            d("https://www.thelocal.se/20200428/meet-the-swede").as_deref(),
            Some("2020-04-28")
        );
    }

    #[test]
    fn labels_are_whole_words_and_not_the_clock() {
        let ctx = utc_ctx();
        let labelled = |line: &str| {
            let lower = line.to_lowercase();
            let f = find_all(&lower, &ctx).into_iter().next()?;
            label_before(&lower, f.start)
        };
        assert_eq!(labelled("Stand: 09.10.2017, 01:40 Uhr"), Some(false));
        assert_eq!(labelled("Datum 25.01.2022"), Some(false));
        assert_eq!(labelled("প্রকাশঃ ১২ জুলাই ২০২৫"), Some(false));
        assert_eq!(labelled("Last updated: 12 July 2025"), Some(true));
        assert_eq!(labelled("I understand 12 July 2025 was late"), None);
        assert_eq!(labelled("Anmeldedatum 26.10.13"), None);
        assert_eq!(
            labelled("Aktuelles Datum und Uhrzeit: 11/02/2020, 07:22 pm"),
            None
        );
    }

    fn time_node(text: &str, datetime: Option<&str>, hint: &str) -> TimeNode {
        TimeNode {
            datetime: datetime.map(str::to_string),
            text: text.to_string(),
            hint: hint.to_string(),
            pubdate: false,
        }
    }

    #[test]
    fn the_machine_date_readers_see_wins() {
        // JSON-LD says 3 Nov (a stale CMS value), the meta and the visible <time> 6 Nov
        let sig = PageSignals {
            json_ld: vec![serde_json::json!({
                "@type": "NewsArticle", "datePublished": "2023-11-03T11:25:00+01:00"})],
            metas: vec![(
                "article:published_time".into(),
                "2023-11-06T09:00:00+01:00".into(),
            )],
            times: vec![time_node("06.11.2023, 09:00", None, "")],
            ..PageSignals::default()
        };
        let (p, _) = resolve(&sig, None, &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2023-11-06T09:00:00+01:00"));
        // nothing visible: the article's JSON-LD stands
        let sig = PageSignals {
            times: Vec::new(),
            ..sig
        };
        let (p, _) = resolve(&sig, None, &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2023-11-03T11:25:00+01:00"));
    }

    #[test]
    fn a_page_that_shows_only_its_update_presents_it_as_its_date() {
        let sig = PageSignals {
            json_ld: vec![serde_json::json!({"@type": "Article",
                "datePublished": "2017-08-21T13:09:00Z", "dateModified": "2019-04-03T08:04:00Z"})],
            date_nodes: vec!["03.04.2019".into()],
            ..PageSignals::default()
        };
        let (p, u) = resolve(&sig, None, &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2019-04-03T08:04:00+00:00"));
        assert_eq!(u, None);
        // labelled as an update on the page: the original publication stays
        let sig = PageSignals {
            date_nodes: vec!["Last updated: 03.04.2019".into()],
            ..sig
        };
        let (p, u) = resolve(&sig, None, &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2017-08-21T13:09:00+00:00"));
        assert_eq!(rfc(u).as_deref(), Some("2019-04-03T08:04:00+00:00"));
    }

    #[test]
    fn a_generic_date_meta_gives_way_to_the_dateline() {
        let sig = PageSignals {
            metas: vec![("date".into(), "2020-04-29T11:52:00".into())],
            visible_text: "Stand: 28.04.2020 18:00 Uhr\n".into(),
            ..PageSignals::default()
        };
        let (p, _) = resolve(&sig, None, &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2020-04-28T18:00:00+00:00"));
    }

    #[test]
    fn an_embedded_video_does_not_date_the_article() {
        let sig = PageSignals {
            json_ld: vec![
                serde_json::json!({"@type": "VideoObject", "uploadDate": "2020-09-29T22:40:00-07:00"}),
                serde_json::json!({"@type": "Organization", "name": "Star"}),
            ],
            metas: vec![("parsely-pub-date".into(), "2020-09-30T02:00:07-0700".into())],
            ..PageSignals::default()
        };
        let (p, _) = resolve(&sig, None, &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2020-09-30T02:00:00-07:00"));
    }

    #[test]
    fn dates_of_links_comments_and_post_lists_are_not_the_dateline() {
        let place = |pos, linked, aside| Place {
            pos,
            linked,
            aside,
            update: false,
        };
        let sig = PageSignals {
            date_nodes: vec![
                "21.01.2009".into(),
                "14.10.2020".into(),
                "22.10.2019".into(),
            ],
            date_node_places: vec![
                place(10, true, false),
                place(20, false, true),
                place(30, false, false),
            ],
            ..PageSignals::default()
        };
        let (p, _) = resolve(&sig, None, &utc_ctx());
        assert_eq!(
            p.map(|d| d.date_naive().to_string()).as_deref(),
            Some("2019-10-22")
        );

        // three "published" <time>s of three days are a list of posts: the URL decides
        let sig = PageSignals {
            times: ["2009-04-11", "2013-09-27", "2012-01-01"]
                .iter()
                .map(|d| time_node("", Some(d), "entry-date published"))
                .collect(),
            ..PageSignals::default()
        };
        let (p, _) = resolve(&sig, Some("https://x.de/2019/10/22/entloeten/"), &utc_ctx());
        assert_eq!(
            p.map(|d| d.date_naive().to_string()).as_deref(),
            Some("2019-10-22")
        );
    }

    #[test]
    fn a_utc_instant_takes_the_day_the_page_shows() {
        let sig = PageSignals {
            metas: vec![(
                "article:published_time".into(),
                "2018-12-31T23:11:00Z".into(),
            )],
            ..PageSignals::default()
        };
        let url = Some("https://blog.example/2019/01/01/ins-neue-jahr/");
        let (p, _) = resolve(&sig, url, &utc_ctx());
        let p = p.expect("a date");
        assert_eq!(p.to_rfc3339(), "2019-01-01T00:11:00+01:00");
        assert_eq!(p.timestamp(), 1_546_297_860, "the instant is unchanged");
        // a page that shows the UTC day itself keeps it
        let (p, _) = resolve(&sig, Some("https://blog.example/2018/12/31/x/"), &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2018-12-31T23:11:00+00:00"));
    }

    #[test]
    fn scripts_are_the_last_resort() {
        let sig = PageSignals {
            script_dates: vec![
                r#"","updated_at":"2020-11-01T00:00:00+01:00","x"#.into(),
                r#"","published_at":"2019-03-02T06:22:28+01:00","created"#.into(),
            ],
            ..PageSignals::default()
        };
        let (p, _) = resolve(&sig, None, &utc_ctx());
        assert_eq!(rfc(p).as_deref(), Some("2019-03-02T06:22:00+01:00"));
    }

    #[test]
    fn never_a_future_date() {
        let limit = "2024-01-01T00:00:00Z".parse::<DateTime<Utc>>().ok();
        let ctx = DateContext {
            not_after: limit,
            ..utc_ctx()
        };
        let sig = PageSignals {
            json_ld: vec![
                serde_json::json!({"@type": "NewsArticle", "datePublished": "2030-05-01T10:00:00Z"}),
            ],
            visible_text: "Posted on 12 March 2023\n".into(),
            ..PageSignals::default()
        };
        let (p, u) = resolve(&sig, None, &ctx);
        assert_eq!(
            p.map(|d| d.date_naive().to_string()).as_deref(),
            Some("2023-03-12")
        );
        assert_eq!(u, None);
        let sig = PageSignals {
            visible_text: String::new(),
            ..sig
        };
        assert_eq!(resolve(&sig, None, &ctx), (None, None));
    }
}
