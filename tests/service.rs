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
    // Before it: still starting, with more time asked for (opening may migrate the schema).
    assert!(
        seen[0].lines().any(|l| l == "EXTEND_TIMEOUT_USEC=60000000")
            && seen[0].lines().any(|l| l == "WATCHDOG=1")
            && seen[0].contains("STATUS=opening the archive"),
        "{seen:?}"
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

fn config_with(dir: &std::path::Path, sources: &[&str], extra: &str) -> String {
    let mut text = format!(
        "[archive]\ndatabase = {:?}\n",
        dir.join("archive.sqlite3").to_string_lossy()
    );
    for name in sources {
        text.push_str(&format!(
            "[[source]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:9/{name}.xml\"\n"
        ));
    }
    text.push_str(extra);
    text
}

#[test]
fn sighup_reloads_the_configuration_and_refuses_a_bad_one() {
    use std::io::{BufRead, BufReader};

    let dir = tempfile::tempdir().expect("tempdir");
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let config = dir.path().join("newsvault.toml");
    std::fs::write(&config, config_with(dir.path(), &["a", "b"], "")).expect("write config");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_newsvault"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .env_remove("WATCHDOG_USEC")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start newsvault run");
    let mut log = BufReader::new(daemon.stderr.take().expect("stderr"));
    let mut seen = Vec::new();
    receive_until(&socket, "READY=1", &mut seen);
    let hangup = |pid: u32| {
        let sent = Command::new("kill")
            .arg("-HUP")
            .arg(pid.to_string())
            .status()
            .expect("send SIGHUP");
        assert!(sent.success());
    };

    // Add a source, remove one.
    std::fs::write(&config, config_with(dir.path(), &["a", "c"], "")).expect("rewrite config");
    hangup(daemon.id());
    receive_until(&socket, "STATUS=2 sources, reloaded", &mut seen);

    // A broken file is refused, loudly, and the daemon carries on.
    std::fs::write(
        &config,
        config_with(dir.path(), &["a"], "[http]\nbogus = 1\n"),
    )
    .expect("rewrite config");
    hangup(daemon.id());
    let mut line = String::new();
    loop {
        line.clear();
        let n = log.read_line(&mut line).expect("read log");
        assert!(n > 0, "the daemon ended without logging the failed reload");
        if line.contains("configuration reload failed") {
            assert!(line.contains("newsvault.toml"), "{line}");
            // The parser's message, with its excerpt of the file, goes on over the next
            // lines (written at once, so reading them cannot block).
            let mut message = line.clone();
            while !message.contains("unknown field") && message.lines().count() < 20 {
                let mut next = String::new();
                if log.read_line(&mut next).unwrap_or(0) == 0 {
                    break;
                }
                message.push_str(&next);
            }
            assert!(message.contains("unknown field `bogus`"), "{message}");
            break;
        }
    }

    let stopped = Command::new("kill")
        .arg("-TERM")
        .arg(daemon.id().to_string())
        .status()
        .expect("send SIGTERM");
    assert!(stopped.success());
    // Drain the log so the daemon never blocks on a full pipe while stopping.
    let _ = std::io::copy(&mut log, &mut std::io::sink());
    assert!(daemon.wait().expect("daemon exits").success());

    let db = rusqlite::Connection::open(dir.path().join("archive.sqlite3")).expect("open");
    let enabled: Vec<(String, bool)> = db
        .prepare("SELECT name, enabled FROM sources ORDER BY name")
        .expect("query")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        enabled,
        vec![("a".into(), true), ("b".into(), false), ("c".into(), true)],
        "the refused file must not have disabled c"
    );
    // The added source was polled without waiting for a restart.
    let polled: i64 = db
        .query_row(
            "SELECT count(*) FROM fetches f JOIN sources s ON s.id = f.source_id WHERE s.name = 'c' AND f.purpose = 'feed'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(polled >= 1);
}
