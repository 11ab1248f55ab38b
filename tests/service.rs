//! `newsvault run` under a service manager: it says READY=1 once the archive is open,
//! pings the watchdog as often as WATCHDOG_USEC asks, reports STATUS lines, and on SIGTERM
//! says STOPPING=1 and exits 0. A Unix datagram socket stands in for systemd's
//! NOTIFY_SOCKET.

#![cfg(unix)]

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::Duration;

fn receive_until(socket: &UnixDatagram, wanted: &str, seen: &mut Vec<String>) {
    let mut buffer = [0u8; 4096];
    loop {
        let n = socket
            .recv(&mut buffer)
            .unwrap_or_else(|e| panic!("no {wanted:?} from newsvault (got {seen:?}): {e}"));
        let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
        let found = message.lines().any(|l| l == wanted);
        seen.push(message);
        if found {
            return;
        }
    }
}

#[test]
fn run_notifies_readiness_watchdog_and_stopping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    // A bound on every wait, so a broken daemon fails the test instead of hanging it.
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let config = dir.path().join("newsvault.toml");
    std::fs::write(
        &config,
        format!(
            "[archive]\ndatabase = {:?}\n[[source]]\nname = \"s\"\nurl = \"http://127.0.0.1:9/feed.xml\"\n",
            dir.path().join("archive.sqlite3").to_string_lossy()
        ),
    )
    .expect("write config");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_newsvault"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start newsvault run");

    let mut seen = Vec::new();
    receive_until(&socket, "READY=1", &mut seen);
    assert!(
        dir.path().join("archive.sqlite3").exists(),
        "READY before the archive was opened"
    );
    receive_until(&socket, "WATCHDOG=1", &mut seen);
    receive_until(&socket, "WATCHDOG=1", &mut seen);
    assert!(
        seen.iter().any(|m| m.contains("STATUS=1 sources")),
        "{seen:?}"
    );

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(daemon.id().to_string())
        .status()
        .expect("send SIGTERM");
    assert!(killed.success());
    receive_until(&socket, "STOPPING=1", &mut seen);
    let status = daemon.wait().expect("daemon exits");
    assert!(status.success(), "exit status {status:?}");
}
