//! Shell completions and man pages are generated from the command-line definitions, so
//! they name every command the binary has.

use std::process::{Command, Output};

fn newsvault(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsvault"))
        .env_remove("RUST_LOG")
        .env_remove("NEWSVAULT_CONFIG")
        .env_remove("NEWSVAULT_DATABASE")
        .args(args)
        .output()
        .expect("run newsvault")
}

const COMMANDS: &[&str] = &[
    "run",
    "poll",
    "backfill",
    "search",
    "export",
    "reparse",
    "completions",
    "man",
];

#[test]
fn completions_name_every_command_in_every_shell() {
    let bash = newsvault(&["completions", "bash"]);
    assert!(bash.status.success());
    let script = String::from_utf8(bash.stdout).expect("UTF-8");
    assert!(
        script.contains("complete -F"),
        "not a bash completion script"
    );
    for command in COMMANDS {
        assert!(
            script.contains(&format!("newsvault,{command})")),
            "bash completion lacks {command}"
        );
    }
    // Options of the backfill command are completed too.
    assert!(script.contains("--pages") && script.contains("--feed"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let output = newsvault(&["completions", shell]);
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(
            script.contains("backfill"),
            "{shell} completion lacks backfill"
        );
    }
    let unknown = newsvault(&["completions", "tcsh"]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// The lines of a roff document that are requests or macros (start with `.`), by name.
fn macros(page: &str) -> Vec<&str> {
    page.lines()
        .filter_map(|line| line.strip_prefix('.'))
        .map(|rest| rest.split_whitespace().next().unwrap_or(""))
        .collect()
}

#[test]
fn the_man_page_is_roff_that_documents_the_commands() {
    let output = newsvault(&["man"]);
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).expect("UTF-8");
    let names = macros(&page);
    // A title first (after roff's own string definitions), then sections.
    let title = names.iter().position(|m| *m == "TH").expect("a .TH line");
    let first_section = names.iter().position(|m| *m == "SH").expect("a .SH line");
    assert!(title < first_section, "{page}");
    assert!(
        names[..title]
            .iter()
            .all(|m| matches!(*m, "ie" | "el" | "ds" | "\\\"")),
        "only string definitions may precede .TH: {:?}",
        &names[..title]
    );
    assert!(
        page.lines()
            .any(|l| l.starts_with(".TH newsvault 1") || l.starts_with(".TH NEWSVAULT 1"))
    );
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS"] {
        assert!(
            page.lines().any(|l| l == format!(".SH {section}")),
            "no {section} section"
        );
    }
    assert!(page.contains("backfill"));

    // With --out, one page per command as well.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("man1");
    let output = newsvault(&["man", "--out", &out.to_string_lossy()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let main = std::fs::read_to_string(out.join("newsvault.1")).expect("newsvault.1");
    assert_eq!(main, page);
    let backfill =
        std::fs::read_to_string(out.join("newsvault-backfill.1")).expect("newsvault-backfill.1");
    assert!(macros(&backfill).contains(&"TH"));
    assert!(backfill.contains("pages") && backfill.contains("archive_url"));
}
