//! The date parser: any string, in any of a few time zones and with or without a
//! `not_after`, gives a date or none, never a panic, never a date before the parser's
//! earliest year (1990) and never one after `not_after` (a date without a time of day may
//! fall on that day). The first input byte picks the zone and limit; the rest is the text.
//! The sitemap W3C datetime parser runs on the same text for panics.

#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use libfuzzer_sys::fuzz_target;
use newsvault::extract::parse_date;
use newsvault::sitemap::parse_datetime;

const ZONES: [Tz; 8] = [
    Tz::Asia__Dhaka,
    Tz::UTC,
    Tz::America__New_York,
    Tz::Europe__Berlin,
    Tz::Asia__Kolkata,
    Tz::Pacific__Kiritimati,
    Tz::Pacific__Pago_Pago,
    Tz::Australia__Lord_Howe,
];

fn not_after(choice: u8) -> Option<DateTime<Utc>> {
    let (y, mo, d, h, mi) = match choice % 4 {
        0 => return None,
        1 => (2025, 7, 12, 12, 0),
        2 => (2024, 3, 10, 7, 30),
        _ => (1999, 12, 31, 23, 59),
    };
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let tz = ZONES[usize::from(selector & 7)];
    let limit = not_after(selector >> 3);
    let _ = parse_datetime(text);
    let Some(at) = parse_date(text, tz, limit) else {
        return;
    };
    let floor = Utc
        .with_ymd_and_hms(1990, 1, 1, 0, 0, 0)
        .single()
        .expect("valid instant");
    // 1990-01-01 in the zone furthest ahead of UTC (+14:00) is the earliest instant.
    assert!(
        at.with_timezone(&Utc) >= floor - chrono::Duration::hours(14),
        "date {at} is before 1990"
    );
    if let Some(limit) = limit {
        let same_or_earlier_day =
            at.with_timezone(&tz).date_naive() <= limit.with_timezone(&tz).date_naive();
        assert!(
            at.with_timezone(&Utc) <= limit || same_or_earlier_day,
            "date {at} is after not_after {limit} (zone {tz})"
        );
    }
});
