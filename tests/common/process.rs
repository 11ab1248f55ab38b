//! The built binary as a child process, followed without sleeping: its log lines (JSON, on
//! stderr) and its exit arrive on one channel together with a [`TestServer`]'s events, so a
//! test can act at "the k-th request" or "the poll has finished". Also the child's peak
//! memory, from the kernel's accounting.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ServerEvent, TestServer};

/// How long a test waits for the next event before it calls the child hung.
const HANG: Duration = Duration::from_secs(120);

/// The binary, with the environment a user's shell might add taken away: no RUST_LOG, no
/// NEWSVAULT_* defaults, no proxies (a CI proxy would take requests meant for 127.0.0.1).
/// Logs are JSON so tests can read them.
pub fn newsvault() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newsvault"));
    for name in [
        "RUST_LOG",
        "NEWSVAULT_CONFIG",
        "NEWSVAULT_DATABASE",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(name);
    }
    command.args(["--log-format", "json"]);
    command
}

#[derive(Debug, Clone)]
pub enum Event {
    Server(ServerEvent),
    /// A line the child with this pid wrote to stderr.
    Line(u32, String),
    /// The child with this pid closed its stderr: it has exited (or been killed).
    Exited(u32),
}

/// One channel for everything a test waits on.
pub struct Events {
    sender: Sender<Event>,
    receiver: Receiver<Event>,
}

/// A running child and what it has written so far. Dropped unreaped (a test that failed
/// half-way), it is killed, so it cannot hold a mount busy or outlive the test.
pub struct Spawned {
    pub process: std::process::Child,
    pub pid: u32,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    reaped: bool,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}

impl Spawned {
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("stdout").clone()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy)]
pub struct Ended {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Events {
        let (sender, receiver) = channel();
        Events { sender, receiver }
    }

    /// Forwards `server`'s events to this channel from now on.
    pub fn watch(&self, server: &TestServer) {
        let (tx, rx) = channel();
        server.observe(tx);
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            for event in rx {
                if sender.send(Event::Server(event)).is_err() {
                    return;
                }
            }
        });
    }

    /// Starts `command` with its output captured; its stderr lines and exit come here.
    pub fn spawn(&self, command: &mut Command) -> Spawned {
        let mut process = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start newsvault");
        let pid = process.id();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut out = process.stdout.take().expect("piped stdout");
        let collected = Arc::clone(&stdout);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            collected.lock().expect("stdout").push_str(&text);
        });
        let err = process.stderr.take().expect("piped stderr");
        let collected = Arc::clone(&stderr);
        let sender = self.sender.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                {
                    let mut all = collected.lock().expect("stderr");
                    all.push_str(&line);
                    all.push('\n');
                }
                let _ = sender.send(Event::Line(pid, line));
            }
            let _ = sender.send(Event::Exited(pid));
        });
        Spawned {
            process,
            pid,
            stdout,
            stderr,
            reaped: false,
        }
    }

    /// The next event; panics when nothing happens for a long time (a hung child).
    pub fn next(&self) -> Event {
        match self.receiver.recv_timeout(HANG) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => panic!("nothing happened for {HANG:?}: hung?"),
            Err(RecvTimeoutError::Disconnected) => panic!("event channel closed"),
        }
    }

    /// Waits until `child` has closed its stderr, dropping other events on the way.
    pub fn wait_exited(&self, child: &Spawned) {
        loop {
            if let Event::Exited(pid) = self.next()
                && pid == child.pid
            {
                return;
            }
        }
    }

    /// Waits for a log line of `child` that contains `needle`; false if it exits first.
    pub fn wait_line(&self, child: &Spawned, needle: &str) -> bool {
        loop {
            match self.next() {
                Event::Line(pid, line) if pid == child.pid && line.contains(needle) => {
                    return true;
                }
                Event::Exited(pid) if pid == child.pid => return false,
                _ => {}
            }
        }
    }
}

/// Reaps `child`. (Not wait4's `ru_maxrss` for memory: Linux counts in it the parent's
/// pages the child shared before its exec, so a big test process inflates it; see
/// [`peak_rss_kib`].)
pub fn reap(child: &mut Spawned) -> Ended {
    use std::os::unix::process::ExitStatusExt;
    let status = child.process.wait().expect("wait for newsvault");
    child.reaped = true;
    Ended {
        code: status.code(),
        signal: status.signal(),
    }
}

/// The peak resident set size of a running child since its exec (`VmHWM`), in KiB. Read it
/// after the work to be measured and before the child exits.
pub fn peak_rss_kib(child: &Spawned) -> u64 {
    let path = format!("/proc/{}/status", child.pid);
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {path}"))
}

/// Sends SIGTERM (a graceful stop) to a child.
pub fn terminate(child: &Spawned) {
    // SAFETY: kill with a valid signal on our own child's pid.
    let sent = unsafe { libc::kill(child.pid as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0, "kill -TERM: {}", std::io::Error::last_os_error());
}
