//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, started
//! with `pg_ctl` on 127.0.0.1 at a free port (and a unix socket in that directory), with
//! fsync off and trust authentication (except for [`PASSWORD_USER`]), stopped when
//! dropped; a test may stop and start it again ([`TestPostgres::restart`]). Each test takes
//! a fresh database of its own from it ([`TestPostgres::create_database`]).
//!
//! The server binaries are looked for in `$NEWSVAULT_PG_BIN`, then Debian's
//! `/usr/lib/postgresql/<version>/bin` (newest first), then `PATH`. PostgreSQL refuses to
//! run as root, so a root test run starts it as the `postgres` system user (which
//! Debian's package creates) through `runuser`, with the directory given to that user.
//!
//! Without PostgreSQL binaries a test is skipped with a message ([`start`] returns
//! `None`), except in CI (`CI` set), where that is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// The role that must authenticate with a password ([`TestPostgres::add_password_user`]).
pub const PASSWORD_USER: &str = "newsvault_pw";

/// A running server; stopped (and its directory removed) on drop.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `Some("postgres")` when the server runs as that user (the tests run as root).
    run_as: Option<&'static str>,
    /// More `postgres` options (each as ` -c name=value`), kept for restarts.
    extra_options: String,
}

/// Finds the directory holding `initdb` and `pg_ctl`.
fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("NEWSVAULT_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
    })
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Starts a server, or says why the test is skipped (`None`). Panics when PostgreSQL is
/// missing or does not start in CI, and when it is installed but does not start.
pub fn start() -> Option<TestPostgres> {
    start_with(|_| String::new())
}

/// Skips a test (`None`, with a message) or, in CI, fails it.
fn skip<T>(message: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{message} (CI must not skip it)");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// Starts a server that accepts TCP connections to its databases only over TLS (a plain
/// one only to the `postgres` database, which [`TestPostgres::create_database`] uses),
/// with a self-signed certificate for 127.0.0.1 made by `openssl`. Returns the server and
/// the certificate's path (the CA to trust).
#[allow(dead_code)] // not every test crate that includes this module uses it
pub fn start_with_tls() -> Option<(TestPostgres, PathBuf)> {
    let openssl = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status();
    if !openssl.is_ok_and(|s| s.success()) {
        return skip("openssl not found: it makes the TLS test's certificate");
    }
    let mut certificate = None;
    let server = start_with(|server| {
        let dir = server.dir.path();
        let (ca, cert, key) = (
            dir.join("ca.crt"),
            dir.join("server.crt"),
            dir.join("server.key"),
        );
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .current_dir(dir)
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("run openssl");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        // A CA, and a certificate for 127.0.0.1 that it signs (a self-signed CA
        // certificate cannot serve as the server's own).
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-days", "2", "-subj", "/CN=newsvault test CA"],
                &["-keyout", "ca.key", "-out", "ca.crt"],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-subj",
                    "/CN=127.0.0.1",
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .expect("write the extensions");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ]);
        if let Some(user) = server.run_as {
            let status = Command::new("chown")
                .arg(user)
                .arg(&cert)
                .arg(&key)
                .status()
                .expect("run chown");
            assert!(status.success(), "chown the certificate");
        }
        let status = Command::new("chmod")
            .arg("600")
            .arg(&key)
            .status()
            .expect("run chmod");
        assert!(status.success(), "chmod the key");
        std::fs::write(
            server.data_dir().join("pg_hba.conf"),
            "local all all trust\n\
             host postgres all 127.0.0.1/32 trust\n\
             hostssl all all 127.0.0.1/32 trust\n",
        )
        .expect("write pg_hba.conf");
        certificate = Some(ca);
        format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            path_str(&cert),
            path_str(&key)
        )
    })?;
    Some((server, certificate.expect("the certificate was made")))
}

/// Starts a server after `configure` prepared its data directory; `configure` returns
/// more `postgres` options (each as ` -c name=value`).
fn start_with(configure: impl FnOnce(&TestPostgres) -> String) -> Option<TestPostgres> {
    let Some(bin) = find_bin() else {
        let message = "PostgreSQL server binaries (initdb, pg_ctl) not found in \
             $NEWSVAULT_PG_BIN, /usr/lib/postgresql/*/bin or PATH; install Debian's \
             `postgresql` package to run the PostgreSQL tests";
        if std::env::var_os("CI").is_some() {
            panic!("{message} (CI must not skip them)");
        }
        eprintln!("SKIPPED: {message}");
        return None;
    };
    let run_as = is_root().then_some("postgres");
    let dir = tempfile::Builder::new()
        .prefix("newsvault-pg-")
        .tempdir()
        .expect("temporary directory for PostgreSQL");
    if let Some(user) = run_as {
        let status = Command::new("chown")
            .arg(user)
            .arg(dir.path())
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {user} {}", dir.path().display());
    }
    let mut server = TestPostgres {
        port: free_port(),
        dir,
        bin,
        run_as,
        extra_options: String::new(),
    };
    let data = server.data_dir();
    server.run(
        "initdb",
        &[
            "-D",
            path_str(&data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
    );
    // One role must give its password, so that a test can present a wrong one; every
    // other connection is trusted. (A server set up for TLS writes its own rules.)
    let hba = data.join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
    std::fs::write(
        &hba,
        format!("host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n{rules}"),
    )
    .expect("write pg_hba.conf");
    server.extra_options = configure(&server);
    server.start();
    Some(server)
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// A port nobody listens on now (the server binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl TestPostgres {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(binary);
                command
            }
            None => Command::new(binary),
        }
    }

    /// Runs a server program, panicking with its output (and the server log) on failure.
    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        if !output.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            panic!(
                "{program} failed ({}):\n{}{}\nserver log:\n{log}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }

    /// Starts the server (again) on its port and data directory, and waits until it
    /// accepts connections (`pg_ctl -w`; the server's own output goes to `server.log`).
    pub fn start(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off{}",
            self.port,
            path_str(self.dir.path()),
            self.extra_options
        );
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&self.dir.path().join("server.log")),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server the way an administrator would (`pg_ctl stop -m fast`: clients
    /// are disconnected, the data is kept), and waits until it is down.
    pub fn stop(&self) {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
        );
    }

    /// Stops the server and starts it again on the same port and data.
    pub fn restart(&self) {
        self.stop();
        self.start();
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates [`PASSWORD_USER`] with `password`, allowed to use database `name`.
    pub async fn add_password_user(&self, password: &str, name: &str) {
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to the test server");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "CREATE ROLE {PASSWORD_USER} LOGIN PASSWORD '{password}';
                 GRANT ALL ON DATABASE {name} TO {PASSWORD_USER}"
            ))
            .await
            .expect("create the password role");
        drop(client);
        let _ = driver.await;
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new, empty database and returns its URL.
    pub async fn create_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to the test server");
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        drop(client);
        let _ = driver.await;
        self.url(&name)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self
            .command("pg_ctl")
            .args(["-D", path_str(&data), "-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
