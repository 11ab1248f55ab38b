//! The command line as users run it: the built binary, its output and exit codes.

mod common;

use std::process::Command;

use common::fixtures;

fn newsvault() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newsvault"));
    command
        .env_remove("RUST_LOG")
        .env_remove("NEWSVAULT_CONFIG")
        .env_remove("NEWSVAULT_DATABASE");
    command
}

#[test]
fn extract_json_gives_one_record_per_file_and_survives_bad_files() {
    let page = fixtures().join("pages/bss-seed-lavrov-kim.html");
    let output = newsvault()
        .args(["extract", "--json", "--timezone", "Asia/Dhaka"])
        .arg(&page)
        .arg("/nonexistent/page.html")
        .output()
        .expect("run newsvault");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(records.len(), 2);
    let seed = &records[0];
    for field in [
        "file",
        "url",
        "title",
        "authors",
        "published_at",
        "updated_at",
        "language",
        "site_name",
        "canonical_url",
        "description",
        "text",
        "error",
    ] {
        assert!(seed.get(field).is_some(), "missing field {field}");
    }
    assert!(seed["error"].is_null());
    assert!(seed["text"].as_str().is_some_and(|t| t.contains("লাভরভ")));
    assert_eq!(seed["language"], "bn");
    // The visible "প্রকাশ: ১২ জুলাই ২০২৫, ১৮:৩১" on a Dhaka page.
    assert_eq!(seed["published_at"], "2025-07-12T18:31:00+06:00");
    let missing = &records[1];
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("/nonexistent/page.html"))
    );
    assert!(missing["text"].is_null());
}

#[test]
fn check_config_lists_sources_and_rejects_bad_files() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/newsvault.toml");
    let output = newsvault()
        .args(["--config", example, "check-config"])
        .output()
        .expect("run newsvault");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("example-bangla") && stdout.contains("next 20"),
        "{stdout}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[source]]\nname = \"x\"\nurl = \"https://example.org/\"\nschedule = \"*/15 * *\"\n",
    )
    .expect("write");
    let output = newsvault()
        .arg("--config")
        .arg(&bad)
        .arg("check-config")
        .output()
        .expect("run newsvault");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("schedule") && stderr.contains("*/15 * *"),
        "{stderr}"
    );
}

#[test]
fn stats_without_an_archive_is_a_usage_error() {
    let output = newsvault()
        .args(["--database", "/nonexistent/archive.sqlite3", "stats"])
        .output()
        .expect("run newsvault");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn import_opml_appends_valid_sources_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("newsvault.toml");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/newsvault.toml"),
        &config,
    )
    .expect("copy example");
    let opml = dir.path().join("feeds.opml");
    std::fs::write(
        &opml,
        r#"<opml version="1.0"><body><outline text="News">
             <outline text="বাসস বাংলা" type="rss" xmlUrl="https://www.bssnews.net/bangla/rss.xml"/>
             <outline text="Example Bangla" type="rss" xmlUrl="http://127.0.0.1:8736/site/bangla.rss.xml"/>
           </outline></body></opml>"#,
    )
    .expect("write opml");
    let import = || {
        newsvault()
            .args(["import-opml", "--into"])
            .arg(&config)
            .arg(&opml)
            .output()
            .expect("run newsvault")
    };
    let first = import();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The feed the example already follows is not added twice.
    assert!(String::from_utf8_lossy(&first.stderr).contains("1 new feeds appended"));
    let second = import();
    assert!(String::from_utf8_lossy(&second.stderr).contains("0 new feeds appended"));
    let check = newsvault()
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .expect("run newsvault");
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stdout).contains("বাসস-বাংলা"));

    // Printing instead of appending, and a file that is not OPML.
    let printed = newsvault()
        .arg("import-opml")
        .arg(&opml)
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&printed.stdout)
            .contains("url = \"https://www.bssnews.net/bangla/rss.xml\"")
    );
    let not_opml = newsvault()
        .arg("import-opml")
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(not_opml.status.code(), Some(2));
}

#[test]
fn journald_logging_works_with_or_without_a_journal() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/newsvault.toml");
    let output = newsvault()
        .args([
            "--log-format",
            "journald",
            "--config",
            example,
            "check-config",
        ])
        .output()
        .expect("run newsvault");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let journal = std::path::Path::new("/run/systemd/journal/socket").exists();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.contains("no systemd journal"),
        !journal,
        "without a journal newsvault says so and logs as text: {stderr}"
    );
}
