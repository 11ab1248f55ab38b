//! The example configuration is complete and valid: it parses, and it sets every key the
//! parser accepts (the list comes from the parser's own unknown-key error, so a key added
//! to the code without being documented in the example fails here).

use std::path::{Path, PathBuf};

use newsvault::config::{Config, ConfigError};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/newsvault.toml")
}

/// The keys a table accepts, read from the error for an unknown key in it.
fn accepted_keys(table_header: &str) -> Vec<String> {
    let text = match table_header {
        "[[source]]" => {
            "[[source]]\nname = \"x\"\nurl = \"https://example.org/\"\nno_such_key = 1\n"
                .to_string()
        }
        header => format!("{header}\nno_such_key = 1\n"),
    };
    let message = match Config::parse(&text, Path::new("probe.toml")) {
        Err(ConfigError::Syntax { message, .. }) => message,
        other => panic!("expected an unknown-key error for {table_header}, got {other:?}"),
    };
    let expected = message
        .split("expected")
        .nth(1)
        .unwrap_or_else(|| panic!("no key list in {message:?}"));
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(!keys.is_empty(), "no keys found in {message:?}");
    keys
}

#[test]
fn example_config_is_valid() {
    let config = Config::load(&example_path()).expect("config/newsvault.toml is valid");
    assert!(!config.sources.is_empty());
    assert!(config.sources.iter().all(|s| s.enabled));
}

#[test]
fn example_config_sets_every_key() {
    let text = std::fs::read_to_string(example_path()).expect("read example");
    let example: toml::Table = toml::from_str(&text).expect("example is TOML");
    for (header, name) in [
        ("[archive]", "archive"),
        ("[http]", "http"),
        ("[run]", "run"),
        ("[metrics]", "metrics"),
        ("[cluster]", "cluster"),
        ("[stories]", "stories"),
        ("[revisit]", "revisit"),
    ] {
        let table = example
            .get(name)
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("example lacks {header}"));
        for key in accepted_keys(header) {
            assert!(table.contains_key(&key), "example {header} lacks `{key}`");
        }
    }
    let sources = example
        .get("source")
        .and_then(toml::Value::as_array)
        .expect("example has [[source]] entries");
    for key in accepted_keys("[[source]]") {
        assert!(
            sources
                .iter()
                .any(|s| s.as_table().is_some_and(|t| t.contains_key(&key))),
            "no [[source]] in the example sets `{key}`"
        );
    }
    let top: Vec<String> = accepted_keys("");
    for key in top {
        assert!(
            example.contains_key(&key),
            "example lacks the top-level `{key}`"
        );
    }
}
