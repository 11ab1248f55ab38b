//! Article extraction: any page (bytes read as lossy UTF-8, as the pipeline does after
//! charset decoding) gives an `Extracted`, never a panic, and no date later than the
//! `not_after` it was given. Inputs are capped at 512 KiB so one run stays fast; the
//! extractor's own cut for oversized pages is tested elsewhere.

#![no_main]

use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Dhaka;
use libfuzzer_sys::fuzz_target;
use newsvault::extract::{ExtractOptions, extract};
use url::Url;

const MAX_INPUT: usize = 512 * 1024;

static NOT_AFTER: LazyLock<DateTime<Utc>> = LazyLock::new(|| {
    Utc.with_ymd_and_hms(2025, 7, 12, 12, 0, 0)
        .single()
        .expect("valid instant")
});

static OPTIONS: LazyLock<ExtractOptions> = LazyLock::new(|| ExtractOptions {
    url: Some(Url::parse("https://news.example.com/national/2025/07/12/story").expect("valid")),
    timezone: Dhaka,
    not_after: Some(*NOT_AFTER),
    rules: Default::default(),
});

fuzz_target!(|data: &[u8]| {
    let data = &data[..data.len().min(MAX_INPUT)];
    let html = String::from_utf8_lossy(data);
    let extracted = extract(&html, &OPTIONS);
    for at in [extracted.published_at, extracted.updated_at]
        .into_iter()
        .flatten()
    {
        // A date without a time of day may fall on the day of `not_after` (see dates.rs).
        let same_or_earlier_day =
            at.with_timezone(&Dhaka).date_naive() <= NOT_AFTER.with_timezone(&Dhaka).date_naive();
        assert!(
            at.with_timezone(&Utc) <= *NOT_AFTER || same_or_earlier_day,
            "date {at} is after not_after {}",
            *NOT_AFTER
        );
    }
});
