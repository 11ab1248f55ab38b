//! The shipped systemd unit is one systemd accepts: `systemd-analyze verify` passes on it,
//! with ExecStart pointed at the binary this build made (verify checks that it exists).
//! `.ci/run` installs systemd from Debian's packages where the machine lacks it.

use std::process::Command;

#[test]
fn the_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/newsvault.service"
    ))
    .expect("read unit");
    assert!(
        unit.contains("ExecStart=/usr/local/bin/newsvault "),
        "ExecStart moved?"
    );
    assert!(unit.contains("Type=notify") && unit.contains("WatchdogSec="));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("newsvault.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/newsvault", env!("CARGO_BIN_EXE_newsvault")),
    )
    .expect("write unit");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze is installed (apt-get install systemd)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    // verify also exits 0 on some warnings; the unit should have none.
    assert!(
        !stderr.contains("newsvault.service"),
        "systemd-analyze complained about the unit:\n{stderr}"
    );
}
