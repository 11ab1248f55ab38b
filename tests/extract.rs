//! A quality floor for `newsvault::extract` on a committed subset of the reference sets
//! (`tests/fixtures/extract/`, see its SOURCES.md): text snippets from trafilatura's set,
//! publication days from htmldate's. Scored exactly as `../shared/eval/score.py` does:
//!
//! - text: each "with" snippet found in the whitespace-normalised text is a true
//!   positive, missed a false negative; each "without" snippet found a false positive;
//! - dates: the day of `published_at` (as printed in RFC 3339, so in the page's own
//!   offset) equal to the gold day is a hit; anything else is a miss.
//!
//! The floors are the figures reached (text P 0.973 R 0.900 F1 0.935 on these 26 pages;
//! dates 20 of 21), minus a small margin:
//! a change that makes extraction worse on these pages fails here. To see the figures,
//! run `cargo test --test extract -- --nocapture`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use newsvault::extract::{ExtractOptions, extract};

const TEXT_F1_FLOOR: f64 = 0.925;
const TEXT_PRECISION_FLOOR: f64 = 0.96;
const DATE_ACCURACY_FLOOR: f64 = 0.90;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract")
}

#[derive(serde::Deserialize)]
struct Snippets {
    with: Vec<String>,
    without: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Gold {
    text: BTreeMap<String, Snippets>,
    dates: BTreeMap<String, String>,
}

fn gold() -> Gold {
    let raw = std::fs::read_to_string(dir().join("gold.json")).expect("gold.json");
    serde_json::from_str(&raw).expect("gold.json parses")
}

/// Decode as the reference runs did: BOM, else the first `charset=` in 4 KB, else UTF-8.
fn decode(bytes: &[u8]) -> String {
    newsvault::fetch::charset::decode_html(bytes, None, None).text
}

fn run(name: &str) -> newsvault::extract::Extracted {
    let bytes = std::fs::read(dir().join("pages").join(name)).expect("fixture page");
    let options = ExtractOptions {
        url: None,
        timezone: chrono_tz::UTC,
        not_after: None,
        rules: Default::default(),
    };
    extract(&decode(&bytes), &options)
}

/// score.py's `norm_ws`: whitespace runs become one space, trimmed.
fn norm_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn text_quality_floor() {
    let gold = gold();
    assert!(gold.text.len() >= 20, "the text subset shrank");
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (name, s) in &gold.text {
        let text = norm_ws(&run(name).text);
        let found = s.with.iter().filter(|w| text.contains(&norm_ws(w))).count();
        let leaked = s
            .without
            .iter()
            .filter(|w| text.contains(&norm_ws(w)))
            .count();
        if found < s.with.len() || leaked > 0 {
            println!(
                "{name}: missed {}/{}, kept boilerplate {leaked}/{}",
                s.with.len() - found,
                s.with.len(),
                s.without.len()
            );
        }
        tp += found;
        fn_ += s.with.len() - found;
        fp += leaked;
    }
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let r = tp as f64 / (tp + fn_).max(1) as f64;
    let f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    println!(
        "text subset ({} pages): P {p:.4} R {r:.4} F1 {f1:.4} (tp {tp} fp {fp} fn {fn_})",
        gold.text.len()
    );
    assert!(f1 >= TEXT_F1_FLOOR, "text F1 {f1:.4} below {TEXT_F1_FLOOR}");
    assert!(
        p >= TEXT_PRECISION_FLOOR,
        "text precision {p:.4} below {TEXT_PRECISION_FLOOR}"
    );
}

#[test]
fn date_accuracy_floor() {
    let gold = gold();
    assert!(gold.dates.len() >= 21, "the dates subset shrank");
    let mut right = 0usize;
    for (name, want) in &gold.dates {
        let got = run(name).published_at.map(|d| d.to_rfc3339());
        let day = got.as_deref().map(|d| &d[..10.min(d.len())]);
        if day == Some(want.as_str()) {
            right += 1;
        } else {
            println!("{name}: got {got:?}, want {want}");
        }
    }
    let acc = right as f64 / gold.dates.len() as f64;
    println!(
        "dates subset ({} pages): {right} right, accuracy {acc:.4}",
        gold.dates.len()
    );
    assert!(
        acc >= DATE_ACCURACY_FLOOR,
        "date accuracy {acc:.4} below {DATE_ACCURACY_FLOOR}"
    );
}
