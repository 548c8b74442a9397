//! A dmarcwatch working directory for end-to-end tests: a config file
//! (`dmarcwatch.toml`), the password file, the database; runs the real
//! binary in it, to completion ([`Workdir::dmarcwatch`]) or in the
//! background ([`Workdir::spawn`], e.g. `run`), and queries the views.

use super::dovecot::{Dovecot, PASSWORD};
use rusqlite::Connection;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    /// A config with one `[[mailbox]]` "reports" on `dovecot` (`tls` =
    /// none, starttls or implicit), plus `extra` TOML (keys of that
    /// mailbox, or sections), and no reverse-DNS lookups (no DNS here).
    pub fn new(dovecot: &Dovecot, tls: &str, extra: &str) -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        let password = dir.path().join("imap.password");
        std::fs::write(&password, format!("{PASSWORD}\n")).expect("password file");
        let config = format!(
            "{}{extra}\n[dns]\nreverse = false\n",
            dovecot.mailbox_toml("reports", tls, &password)
        );
        std::fs::write(dir.path().join("dmarcwatch.toml"), config).expect("config");
        Workdir { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn rewrite_config(&self, edit: impl Fn(String) -> String) {
        let path = self.path("dmarcwatch.toml");
        let text = std::fs::read_to_string(&path).expect("config");
        std::fs::write(&path, edit(text)).expect("config");
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dmarcwatch"));
        cmd.current_dir(self.dir.path())
            .env_remove("DMARCWATCH_CONFIG")
            .env_remove("RUST_LOG")
            .env_remove("NOTIFY_SOCKET")
            .args(["--config", "dmarcwatch.toml", "--db", "dmarcwatch.db"])
            .args(args);
        cmd
    }

    /// Run to completion.
    pub fn dmarcwatch(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run dmarcwatch")
    }

    /// Start in the background; its stderr goes to `NAME.log` in the directory.
    pub fn spawn(&self, name: &str, args: &[&str]) -> Background {
        self.spawn_with_env(name, args, &[])
    }

    /// [`spawn`](Self::spawn) with extra environment variables.
    pub fn spawn_with_env(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Background {
        let log = self.path(&format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = self
            .command(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start dmarcwatch");
        Background { child, log }
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.path("dmarcwatch.db")).expect("open db")
    }

    /// The first column of the first row of `sql`.
    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).expect("query")
    }
}

/// A dmarcwatch process running in the background; killed when dropped.
pub struct Background {
    child: Child,
    log: PathBuf,
}

impl Background {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Poll the log until it contains `needle` (true) or `limit` passes.
    pub fn wait_for_log(&self, needle: &str, limit: Duration) -> bool {
        super::dovecot::wait_until(limit, || self.log().contains(needle))
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Wait up to `limit` for the process to exit; its status and how long it took.
    pub fn wait(&mut self, limit: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some((status, start.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.kill9();
    }
}
